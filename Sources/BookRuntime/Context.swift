import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A labelled display equation of the running chapter, registered by the generated program
/// so that `verify` can find its LaTeX and report the Markdown line.
public struct EquationSource: Sendable {
    public var label: String
    public var tex: String
    public var file: String
    public var line: Int
    public init(label: String, tex: String, file: String, line: Int) {
        self.label = label; self.tex = tex; self.file = file; self.line = line
    }
}

/// The running chapter's state: which block runs, the side channel, the equations.
/// One per process; chapter code runs on the main thread, so a lock is enough.
public final class BookContext: @unchecked Sendable {
    public static let shared = BookContext()

    private let lock = NSLock()
    private var channel: FileHandle?
    private var seal: ChannelSeal?
    private var sequence: UInt64 = 0
    private var _currentBlock = -1
    private var _equations: [String: EquationSource] = [:]
    /// Events recorded for the `checkpoint` closures now running (innermost last).
    private var recordings: [[ChannelEvent]] = []

    private init() {
        // The runner hands over the channel as an open descriptor and its sealing key on a pipe
        // (see `ChannelHandoff`); without them (a chapter program run by hand) events are dropped.
        if ProcessInfo.processInfo.environment[ChannelHandoff.environmentVariable] != nil {
            unsetenv(ChannelHandoff.environmentVariable)
            var key = [UInt8](repeating: 0, count: 16)
            var got = 0
            while got < 16 {
                let n = key.withUnsafeMutableBytes { read(ChannelHandoff.keyDescriptor, $0.baseAddress! + got, 16 - got) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                got += n
            }
            close(ChannelHandoff.keyDescriptor)
            if got == 16, let seal = ChannelSeal(keyBytes: key) {
                self.seal = seal
                // Not inherited by what the chapter starts (a shell, a child process).
                _ = fcntl(ChannelHandoff.channelDescriptor, F_SETFD, FD_CLOEXEC)
                channel = FileHandle(fileDescriptor: ChannelHandoff.channelDescriptor, closeOnDealloc: false)
            }
        }
    }

    /// Index of the block now running (-1 before the first).
    public var currentBlock: Int {
        get { lock.withLock { _currentBlock } }
        set { lock.withLock { _currentBlock = newValue } }
    }

    public func register(equations: [EquationSource]) {
        lock.withLock { for e in equations { _equations[e.label] = e } }
    }

    public func equation(_ label: String) -> EquationSource? { lock.withLock { _equations[label] } }

    /// Where each metric was first recorded (a replayed checkpoint's metrics count as recorded
    /// at the checkpoint's block). A second value under one name is an error: a claim would be
    /// judged against whichever came last, not the one its sentence is about.
    private var metricPlaces: [String: String] = [:]

    /// Notes that `name` is recorded at `place`; returns where it was recorded before, if it was.
    func noteMetric(_ name: String, at place: String) -> String? {
        lock.withLock {
            if let first = metricPlaces[name] { return first }
            metricPlaces[name] = place
            return nil
        }
    }
    public var equationLabels: [String] { lock.withLock { _equations.keys.sorted() } }

    /// Writes one event as a JSON line on the side channel.
    public func emit(_ event: ChannelEvent) {
        let data: Data
        do {
            data = try ChannelCoding.encoder().encode(event)
        } catch {
            // Never lose a verdict silently: report what could not be sent instead.
            let fallback = ChannelEvent.failure(block: currentBlock, message: "rnnbook runtime could not encode an event: \(error)")
            guard let d = try? ChannelCoding.encoder().encode(fallback) else { return }
            data = d
        }
        lock.withLock {
            if let channel, let seal {
                channel.write(Data(seal.seal(sequence: sequence, body: Array(data)) + [0x0A]))
                sequence += 1
            }
            // Live progress is not worth replaying; everything else a checkpoint keeps.
            if case .progress = event { return }
            for i in recordings.indices { recordings[i].append(event) }
        }
    }

    /// Starts keeping the events emitted from now on (for a `checkpoint` closure).
    func beginRecording() { lock.withLock { recordings.append([]) } }

    /// Stops the innermost recording and returns what it kept.
    func endRecording() -> [ChannelEvent] { lock.withLock { recordings.popLast() ?? [] } }
}
