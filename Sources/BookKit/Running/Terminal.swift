import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr. On a terminal: one status line, redrawn in place and cut to the
/// terminal's width (a line longer than the width wraps, and the redraw then leaves the wrapped
/// part behind). Elsewhere (CI logs): a plain line at most every `plainInterval` seconds, so a
/// long chapter still shows signs of life without flooding the log.
public final class Terminal: Sendable {
    private let live: Bool
    private struct Drawn {
        var shown = false
        var lastDraw = 0.0
        var lastPlain: Double
        /// "k of n" for each chapter path, so every status line says where the build is.
        var positions: [String: String] = [:]
    }
    /// Also held while writing to stderr, so that lines of two threads never interleave.
    private let drawn: Mutex<Drawn>
    /// Seconds between plain progress lines when stderr is not a terminal.
    public static let plainInterval = 10.0

    public init(live: Bool = true) {
        self.live = live && isatty(2) != 0
        drawn = Mutex(Drawn(lastPlain: Date().timeIntervalSince1970))
    }

    /// Numbers the chapters of this build: status lines about a chapter get "[k/n]" in front.
    public func number(chapters paths: [String]) {
        drawn.withLock { d in
            d.positions = [:]
            for (i, p) in paths.enumerated() { d.positions[p] = "[\(i + 1)/\(paths.count)]" }
        }
    }

    /// "[k/n] " for a line about `path`, or "".
    public func position(of path: String) -> String {
        drawn.withLock { d in d.positions[path].map { $0 + " " } ?? "" }
    }

    /// Replaces the status line (at most 10 times a second), with "[k/n]" in front when `chapter`
    /// is numbered; off a terminal, prints it as a plain line at most every `plainInterval` seconds.
    public func status(_ text: String, chapter: String? = nil) {
        let full = (chapter.map(position(of:)) ?? "") + text
        drawn.withLock { d in
            let now = Date().timeIntervalSince1970
            guard live else {
                guard now - d.lastPlain >= Self.plainInterval else { return }
                d.lastPlain = now
                FileHandle.standardError.write(Data((full + "\n").utf8))
                return
            }
            guard now - d.lastDraw > 0.1 else { return }
            d.lastDraw = now
            let width = Self.width()
            let line = Self.fitted(full, width: width)
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
            d.shown = true
        }
    }

    /// `text` cut to `width` columns less one (the last column would make some terminals wrap).
    static func fitted(_ text: String, width: Int) -> String {
        let limit = max(width - 1, 10)
        return text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }

    /// The terminal's width in columns (80 when it cannot be read).
    static func width() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Removes the status line.
    public func clear() {
        guard live else { return }
        drawn.withLock { d in
            if d.shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)); d.shown = false }
        }
    }

    /// Prints a permanent line (clearing the status line first).
    public func line(_ text: String) {
        clear()
        drawn.withLock { d in
            FileHandle.standardError.write(Data((text + "\n").utf8))
            d.lastPlain = Date().timeIntervalSince1970
        }
    }
}
