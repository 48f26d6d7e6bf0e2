import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr. On a terminal: one status line per lane (a chapter, or a point of a grid,
/// running side by side with others), redrawn in place, each cut to the terminal's width (a line
/// longer than the width wraps, and the redraw then leaves the wrapped part behind). Elsewhere
/// (CI logs): a plain line per lane at most every `plainInterval` seconds, so a long chapter
/// still shows signs of life without flooding the log.
public final class Terminal: Sendable {
    private let live: Bool
    private struct Drawn {
        /// Lines on screen below the last permanent line.
        var shownLines = 0
        var lastDraw = 0.0
        /// Each lane's status, in the order the lanes first spoke.
        var lanes: [(id: String, line: StatusLine)] = []
        var lastPlain: [String: Double] = [:]
        var started: Double
        /// "k of n" for each chapter path, so every status line says where the build is.
        var positions: [String: String] = [:]
    }
    /// Also held while writing, so that lines of two threads never interleave.
    private let drawn: Mutex<Drawn>
    private let sink: @Sendable (String) -> Void
    private let fixedWidth: Int?
    /// Seconds between plain progress lines when stderr is not a terminal.
    public static let plainInterval = 10.0

    public init(live: Bool = true) {
        self.live = live && isatty(2) != 0
        sink = { FileHandle.standardError.write(Data($0.utf8)) }
        fixedWidth = nil
        drawn = Mutex(Drawn(started: Date().timeIntervalSince1970))
    }

    /// A terminal that writes to `sink` as if to a terminal `width` columns wide (`live`), or to
    /// a log (tests).
    init(live: Bool, width: Int, sink: @escaping @Sendable (String) -> Void) {
        self.live = live
        self.sink = sink
        fixedWidth = width
        drawn = Mutex(Drawn(started: Date().timeIntervalSince1970))
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
    /// The line is the chapter's lane when `chapter` is given, so chapters built side by side
    /// each keep a line.
    public func status(_ text: String, chapter: String? = nil) {
        status(StatusLine(text), chapter: chapter)
    }

    /// The same for a line in parts, which a narrow terminal shortens part by part.
    public func status(_ line: StatusLine, chapter: String? = nil) {
        status(line, lane: chapter ?? "", prefix: chapter.map(position(of:)) ?? "")
    }

    /// A view of this terminal whose status lines are one lane, each starting with `prefix`
    /// (a point of a grid: `[2/4] num_hiddens=64 `): runs side by side each keep their line.
    public func lane(_ id: String, prefix: String) -> Lane { Lane(terminal: self, id: id, prefix: prefix) }

    public struct Lane: Sendable {
        let terminal: Terminal
        let id: String
        let prefix: String
        public func status(_ text: String) { status(StatusLine(text)) }
        public func status(_ line: StatusLine) { terminal.status(line, lane: id, prefix: prefix) }
        public func clear() { terminal.clear(lane: id) }
    }

    func status(_ line: StatusLine, lane: String, prefix: String) {
        let full = StatusLine(prefix) + line
        drawn.withLock { d in
            let now = Date().timeIntervalSince1970
            guard live else {
                guard now - (d.lastPlain[lane] ?? d.started) >= Self.plainInterval else { return }
                d.lastPlain[lane] = now
                sink(full.text + "\n")
                return
            }
            if let i = d.lanes.firstIndex(where: { $0.id == lane }) { d.lanes[i].line = full } else { d.lanes.append((lane, full)) }
            guard now - d.lastDraw > 0.1 else { return }
            redraw(&d, now: now)
        }
    }

    /// Erases the lines on screen and draws every lane's (caller holds the lock).
    private func redraw(_ d: inout Drawn, now: Double, before text: String = "") {
        let width = fixedWidth ?? Self.width()
        var out = ""
        if d.shownLines > 0 {
            out += "\r\u{1B}[2K" + String(repeating: "\u{1B}[1A\u{1B}[2K", count: d.shownLines - 1)
        }
        out += text
        let lines = d.lanes.map { $0.line.fitted(width: width) }
        out += lines.joined(separator: "\n")
        d.shownLines = lines.count
        d.lastDraw = now
        if !out.isEmpty { sink(out) }
    }

    /// `text` cut to `width` columns less one (the last column would make some terminals wrap).
    static func fitted(_ text: String, width: Int) -> String {
        StatusLine(text).fitted(width: width)
    }

    /// The terminal's width in columns (80 when it cannot be read).
    static func width() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Removes the status line (the unnamed lane's, or `chapter`'s).
    public func clear(chapter: String? = nil) { clear(lane: chapter ?? "") }

    func clear(lane: String) {
        drawn.withLock { d in
            guard let i = d.lanes.firstIndex(where: { $0.id == lane }) else { return }
            d.lanes.remove(at: i)
            d.lastPlain[lane] = nil
            if live { redraw(&d, now: Date().timeIntervalSince1970) }
        }
    }

    /// Prints a permanent line above the status lines, which stay.
    public func line(_ text: String) {
        drawn.withLock { d in
            let now = Date().timeIntervalSince1970
            if live {
                redraw(&d, now: now, before: text + "\n")
            } else {
                sink(text + "\n")
                for key in d.lastPlain.keys { d.lastPlain[key] = now }
                d.started = now
            }
        }
    }
}

/// A status line in parts. Each part says how readily it goes when the line is too wide for the
/// terminal: the parts of highest `drop` go first (the last of equals first), parts of `drop` 0
/// never go, and only what is still too wide is cut with "…". A chapter's progress keeps its
/// numbers (epoch, perplexity, time left) and lets the folder and file name go.
public struct StatusLine: Sendable, Equatable {
    public struct Part: Sendable, Equatable {
        public var text: String
        public var drop: Int
        public init(_ text: String, drop: Int = 0) { self.text = text; self.drop = drop }
    }
    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts.filter { !$0.text.isEmpty } }
    /// One part that never goes.
    public init(_ text: String) { self.init(parts: [Part(text)]) }

    /// The whole line.
    public var text: String { parts.map(\.text).joined() }

    public static func + (lhs: StatusLine, rhs: StatusLine) -> StatusLine { StatusLine(parts: lhs.parts + rhs.parts) }

    /// The line in at most `width` columns less one (the last column would make some terminals wrap).
    public func fitted(width: Int) -> String {
        let limit = max(width - 1, 10)
        var kept = parts
        while kept.reduce(0, { $0 + $1.text.count }) > limit,
              let most = kept.map(\.drop).max(), most > 0,
              let i = kept.lastIndex(where: { $0.drop == most }) {
            kept.remove(at: i)
        }
        let text = kept.map(\.text).joined()
        return text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
    }
}
