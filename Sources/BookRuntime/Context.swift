import BookProtocol
import Foundation
import Synchronization
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

/// The running chapter's state: which block runs, the side channel, its params and checkpoint
/// configuration, the equations and the symbols bound for them.
///
/// A chapter program has one, `BookContext.shared`, made from what the runner hands over (see
/// `init(environment:)`). Tests make their own with `init(channel:params:checkpoints:…)` and run
/// the chapter-facing API inside `BookContext.$injected.withValue(context) { … }`; both are
/// internal, so chapter code (which imports this module without `@testable`, and a release build
/// of it allows no other) cannot redirect its verdicts; a real run's channel is sealed with the
/// key read from the runner's pipe, as before.
public final class BookContext: Sendable {
    /// Where sealed lines go: the key and a writer of whole lines (each with its newline).
    struct Channel: Sendable {
        var seal: ChannelSeal
        /// Returns false when the line could not be written whole.
        var write: @Sendable ([UInt8]) -> Bool
    }

    /// Where the params came from.
    enum ParamSource: Sendable, Equatable {
        /// A program run by hand: every `param` gives its default.
        case byHand
        case runner(ParamsFile)
        /// The runner named a params file that could not be read: every `param` fails, saying why.
        case unreadable(String)
    }

    private struct State {
        var sequence: UInt64 = 0
        var currentBlock = -1
        /// When the running block started (monotonic seconds), for its duration.
        var blockStarted: Double?
        var equations: [String: EquationSource] = [:]
        /// Where each metric was first recorded (see `noteMetric`).
        var metricPlaces: [String: String] = [:]
        /// Events recorded for the `checkpoint` closures now running (innermost last).
        var recordings: [[ChannelEvent]] = []
        /// `checkpoint` calls so far, per name (a checkpoint in a loop keeps one value per call).
        var checkpointCalls: [String: Int] = [:]
        /// In the forked child of an `expect-error` block: where it tells its parent how far it
        /// took the sequence (see `reportSequence(to:)`).
        var sequenceReport: Int32?
    }

    private let channel: Channel?
    let params: ParamSource
    /// Nil when the runner gave none (a sandbox, a program run by hand): checkpoints then run
    /// their closures. `checkpointProblem` says why one named by the runner was not read.
    let checkpoints: CheckpointConfiguration?
    let checkpointProblem: String?
    /// Whether `checkpoint` keeps and replays what its closure printed (the captured stdout and
    /// stderr files of a real run) and mutants are judged in forked children. Off in tests:
    /// their streams are the test runner's, and forking a multi-threaded test process is unsafe.
    let ownsProcess: Bool
    private let state = Mutex(State())
    /// Symbols bound with `bindSymbols`, read at each `verify`.
    let bindings = Mutex(ChapterBindingTable())
    /// Judges the mutants of passed equation checks, and remembers which it killed.
    let mutantJudge: MutantJudge

    /// The context of this process's chapter: the injected one in a test, else the one made from
    /// the environment the runner set.
    public static var shared: BookContext { injected ?? process }

    /// A test's own context for the chapter-facing API it calls (see the type's documentation).
    @TaskLocal static var injected: BookContext?

    private static let process = BookContext(environment: ProcessInfo.processInfo.environment)

    /// A context for tests: events sealed with `channel.seal` and handed to `channel.write`.
    init(channel: Channel?, params: ParamSource = .byHand, checkpoints: CheckpointConfiguration? = nil,
         checkpointProblem: String? = nil, ownsProcess: Bool = false) {
        self.channel = channel
        self.params = params
        self.checkpoints = checkpoints
        self.checkpointProblem = checkpointProblem
        self.ownsProcess = ownsProcess
        mutantJudge = MutantJudge(judgesInChildren: ownsProcess)
    }

    /// The context the runner handed over: the side channel open on `ChannelHandoff`'s
    /// descriptor and its sealing key on a pipe (read once, then closed), the params file and
    /// the checkpoint configuration named by `BookEnvironment`. Without the channel variable (a
    /// chapter program run by hand) events are dropped and params take their defaults.
    private convenience init(environment: [String: String]) {
        var channel: Channel?
        if environment[BookEnvironment.channel] != nil {
            unsetenv(BookEnvironment.channel)
            if let seal = Self.readKey() {
                // Not inherited by what the chapter starts (a shell, a child process).
                _ = fcntl(ChannelHandoff.channelDescriptor, F_SETFD, FD_CLOEXEC)
                channel = Channel(seal: seal, write: { writeAll(ChannelHandoff.channelDescriptor, $0) })
            }
        }
        let files = Self.runnerFiles(environment)
        self.init(channel: channel, params: files.params, checkpoints: files.checkpoints,
                  checkpointProblem: files.checkpointProblem, ownsProcess: true)
    }

    /// The params and checkpoint configuration in the files the environment names; a file named
    /// but unreadable is kept as why, for the call that needs it to report.
    static func runnerFiles(_ environment: [String: String])
        -> (params: ParamSource, checkpoints: CheckpointConfiguration?, checkpointProblem: String?) {
        var params = ParamSource.byHand
        if let path = environment[BookEnvironment.params] {
            do { params = .runner(try ParamsFile(decoding: try Data(contentsOf: URL(fileURLWithPath: path)))) }
            catch { params = .unreadable("the runner's params file \(path) could not be read (\(error))") }
        }
        var checkpoints: CheckpointConfiguration?
        var problem: String?
        if let path = environment[BookEnvironment.checkpoints] {
            do { checkpoints = try CheckpointConfiguration(decoding: try Data(contentsOf: URL(fileURLWithPath: path))) }
            catch { problem = "the checkpoint configuration \(path) could not be read (\(error))" }
        }
        return (params, checkpoints, problem)
    }

    /// The 16 key bytes from the runner's pipe, which is closed after.
    private static func readKey() -> ChannelSeal? {
        var key = [UInt8](repeating: 0, count: 16)
        var got = 0
        while got < 16 {
            let n = key.withUnsafeMutableBytes { read(ChannelHandoff.keyDescriptor, $0.baseAddress! + got, 16 - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        close(ChannelHandoff.keyDescriptor)
        return got == 16 ? ChannelSeal(keyBytes: key) : nil
    }

    /// Index of the block now running (-1 before the first).
    public var currentBlock: Int {
        get { state.withLock { $0.currentBlock } }
        set { state.withLock { $0.currentBlock = newValue } }
    }

    /// Makes `index` the running block; returns when the previous block started, if one ran.
    func startBlock(_ index: Int, at now: Double) -> (block: Int, started: Double)? {
        state.withLock { s in
            defer { s.currentBlock = index; s.blockStarted = now }
            guard let started = s.blockStarted, s.currentBlock >= 0 else { return nil }
            return (s.currentBlock, started)
        }
    }

    /// Ends the running block; returns it and when it started, if one ran.
    func stopBlock() -> (block: Int, started: Double)? {
        state.withLock { s in
            defer { s.blockStarted = nil }
            guard let started = s.blockStarted, s.currentBlock >= 0 else { return nil }
            return (s.currentBlock, started)
        }
    }

    public func register(equations: [EquationSource]) {
        state.withLock { for e in equations { $0.equations[e.label] = e } }
    }

    public func equation(_ label: String) -> EquationSource? { state.withLock { $0.equations[label] } }

    public var equationLabels: [String] { state.withLock { $0.equations.keys.sorted() } }

    /// Notes that metric `name` is recorded at `place`; returns where it was recorded before, if
    /// it was. A second value under one name is an error: a claim would be judged against
    /// whichever came last, not the one its sentence is about. (A replayed checkpoint's metrics
    /// count as recorded at the checkpoint's block.)
    func noteMetric(_ name: String, at place: String) -> String? {
        state.withLock { s in
            if let first = s.metricPlaces[name] { return first }
            s.metricPlaces[name] = place
            return nil
        }
    }

    /// Counts a call of `checkpoint(name)`; returns how many came before it.
    func nextCheckpointCall(_ name: String) -> Int {
        state.withLock { s in
            let call = s.checkpointCalls[name, default: 0]
            s.checkpointCalls[name] = call + 1
            return call
        }
    }

    /// Writes one event as a sealed JSON line on the side channel.
    public func emit(_ event: ChannelEvent) {
        // What a sideBySide element emits would land in the order its core finished.
        if SideBySideTask.current != nil, let problem = SideBySideTask.problem(emitting: event) { failBlock(problem) }
        let data: Data
        do {
            data = try ChannelCoding.encoder().encode(event)
        } catch {
            // Never lose a verdict silently: report what could not be sent instead.
            let fallback = ChannelEvent.failure(block: currentBlock, message: "rnnbook runtime could not encode an event: \(error)")
            guard let d = try? ChannelCoding.encoder().encode(fallback) else { return }
            data = d
        }
        state.withLock { s in
            // Under the lock: lines reach the channel in the order of their sequence numbers.
            if let channel {
                guard channel.write(channel.seal.seal(sequence: s.sequence, body: Array(data)) + [0x0A]) else {
                    // A verdict that cannot be sent must not go missing unseen: stop, saying why.
                    let why = "rnnbook runtime: cannot write the result channel (\(String(cString: strerror(errno)))); stopping\n"
                    writeAll(2, Array(why.utf8))
                    _exit(70)
                }
                s.sequence += 1
                if let fd = s.sequenceReport {
                    writeAll(fd, (0..<8).map { UInt8(truncatingIfNeeded: s.sequence >> (8 * UInt64($0))) })
                }
            }
            // Live progress is not worth replaying; everything else a checkpoint keeps.
            if case .progress = event { return }
            for i in s.recordings.indices { s.recordings[i].append(event) }
        }
    }

    /// In the forked child that runs an `expect-error` block: after each line, write the next
    /// sequence number (8 bytes, little-endian) on `fd`. The child's lines are on the channel
    /// with the sequence numbers that follow the parent's; the parent must go on after them, or
    /// its next line repeats a number and the reader takes the run for tampered.
    func reportSequence(to fd: Int32) { state.withLock { $0.sequenceReport = fd } }

    /// In the parent, once the child ended: the sequence goes on from where the child left it.
    func continueSequence(from next: UInt64) { state.withLock { $0.sequence = Swift.max($0.sequence, next) } }

    /// Starts keeping the events emitted from now on (for a `checkpoint` closure).
    func beginRecording() { state.withLock { $0.recordings.append([]) } }

    /// Stops the innermost recording and returns what it kept.
    func endRecording() -> [ChannelEvent] { state.withLock { $0.recordings.popLast() ?? [] } }
}

/// Writes all of `bytes` to `fd`, retrying after a signal and after a short write; false when
/// the descriptor took less.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        written += n
    }
    return true
}
