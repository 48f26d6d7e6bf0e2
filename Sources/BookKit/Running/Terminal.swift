import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The live status line on stderr; silent when stderr is not a terminal.
public final class Terminal: @unchecked Sendable {
    private let lock = NSLock()
    private let live: Bool
    private var shown = false
    private var lastDraw = 0.0

    public init(live: Bool = true) { self.live = live && isatty(2) != 0 }

    /// Replaces the status line (at most 10 times a second).
    public func status(_ text: String) {
        guard live else { return }
        lock.withLock {
            let now = Date().timeIntervalSince1970
            guard now - lastDraw > 0.1 else { return }
            lastDraw = now
            let width = 119
            let line = text.count > width ? String(text.prefix(width - 1)) + "…" : text
            FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
            shown = true
        }
    }

    /// Removes the status line.
    public func clear() {
        guard live else { return }
        lock.withLock {
            if shown { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)); shown = false }
        }
    }

    /// Prints a permanent line (clearing the status line first).
    public func line(_ text: String) {
        clear()
        lock.withLock { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }
}
