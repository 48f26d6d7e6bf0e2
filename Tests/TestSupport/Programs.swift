import Foundation
import ProcessRunner
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The rnnbook binary SwiftPM built beside the test bundle, in the products folder (nil when
/// it was not built: `swift build --build-tests` builds it).
public let rnnbookBinary: URL? = {
    let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    var dir = exe.deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("rnnbook")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}()

/// How a program run from a test ended, and everything it printed.
public struct ProgramResult: Sendable {
    public var termination: Termination
    public var stdout: String
    public var stderr: String
    /// The exit status, or 128 + the signal that killed it (as a shell reports it).
    public var status: Int32 {
        switch termination {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        case .timedOut, .outputLimit: -1
        }
    }
}

/// A program for a test to run: the test suites' one way to start one (through ProcessRunner's
/// `Subprocess`, so with its limits and timeouts). Both output streams are read as they come, so
/// a program that fills one pipe while the test waits on the other cannot stall.
///
/// Only the program itself is stopped with the run (`Subprocess.Containment.programOnly`):
/// tests of rnnbook check that rnnbook leaves nothing behind, which a runner that cleaned up
/// after it would hide.
public struct Program: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    public var workingDirectory: String?
    public var limits: [Subprocess.ResourceLimit] = []

    /// `executable arguments…`, with this process's environment and `environment` over it.
    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], workingDirectory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        self.workingDirectory = workingDirectory
    }

    /// Runs the program to its end (or `timeout` seconds: then it is killed).
    public func run(timeout: Double? = nil) throws -> ProgramResult {
        try start(timeout: timeout).result()
    }

    /// Starts the program and returns at once.
    public func start(timeout: Double? = nil) throws -> RunningProgram {
        try RunningProgram(self, timeout: timeout)
    }
}

/// A program started by `Program.start`: what it has printed so far, and waits on its output
/// and its end (each woken by the change it waits for, not by a clock).
public final class RunningProgram: Sendable {
    /// The program's process id (also its process group's).
    public let pid: pid_t
    private let shared = Shared()

    fileprivate struct State {
        var stdout = Data()
        var stderr = Data()
        var termination: Termination?
        /// Both streams read to their end.
        var drained = false
    }

    /// What the runner, the reader and the test's thread share.
    private final class Shared: Sendable {
        let state = Mutex(State())
        /// Broadcast after every change of `state`; waiters hold it while they test and wait.
        let changed = NSCondition()

        func update(_ body: (inout State) -> Void) {
            state.withLock { body(&$0) }
            // Under the condition's lock, so that a waiter between testing and waiting cannot
            // miss the wake-up.
            changed.lock(); changed.broadcast(); changed.unlock()
        }

        /// Waits until `condition` holds, for at most `seconds` (nil: no limit); returns whether it held.
        func wait(seconds: Double?, until condition: (State) -> Bool) -> Bool {
            let deadline = seconds.map { Date(timeIntervalSinceNow: $0) }
            changed.lock()
            defer { changed.unlock() }
            while !state.withLock({ condition($0) }) {
                // No `wait(until: .distantFuture)`: Foundation on Linux traps converting it to a timespec.
                guard let deadline else { changed.wait(); continue }
                if !changed.wait(until: deadline) { return state.withLock { condition($0) } }
            }
            return true
        }
    }

    fileprivate init(_ program: Program, timeout: Double?) throws {
        let out = try closeOnExecPipe(), err = try closeOnExecPipe(), wake = try closeOnExecPipe()
        var process = Subprocess(executable: program.executable, arguments: program.arguments, environment: program.environment,
                                 workingDirectory: program.workingDirectory, stdoutPath: "/dev/null", stderrPath: "/dev/null")
        process.inherited = [(out.write, 1), (err.write, 2)]
        process.limits = program.limits
        process.containment = .programOnly
        let start = StartHandoff()
        // A thread of its own: it stays in `runMeasured` for the whole run (the keeper's
        // parent-death signal is tied to the thread that forked it).
        let runner = Thread { [process, shared] in
            let outcome = Result {
                try process.runMeasured(poll: { elapsed in timeout.flatMap { elapsed > $0 ? .timedOut(seconds: $0) : nil } }) { pid in
                    // The run holds its own copies until it returns; ours would keep the
                    // streams open after the program ended.
                    close(out.write); close(err.write)
                    start.finish(.success(pid))
                }
            }
            switch outcome {
            case .success(let o):
                shared.update { $0.termination = o.termination }
                // A byte, not a close: a keeper forked meanwhile by another run in this process
                // holds a copy of every descriptor we have, this one's write end included. The
                // reader closes no end of this pipe (a write with no reader left is a SIGPIPE);
                // both are closed here once it is done.
                var byte: UInt8 = 1
                _ = write(wake.write, &byte, 1)
                _ = shared.wait(seconds: nil) { $0.drained }
                close(wake.read)
            case .failure(let error):
                close(out.write); close(err.write)
                start.finish(.failure(error))
            }
            close(wake.write)
        }
        runner.start()
        switch start.wait() {
        case .success(let pid): self.pid = pid
        case .failure(let error):
            for fd in [out.read, err.read, wake.read] { close(fd) }  // the runner closed the write ends
            throw error
        }
        let drainer = Thread { [shared] in Self.drain(stdout: out.read, stderr: err.read, ended: wake.read, into: shared) }
        drainer.start()
    }

    /// Reads both streams as data comes (one `poll` on both, so neither can fill while we wait
    /// on the other) until each ends, or the program has ended and nothing more is waiting:
    /// something the program left running may still hold the streams open.
    private static func drain(stdout: Int32, stderr: Int32, ended: Int32, into shared: Shared) {
        var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0), pollfd(fd: stderr, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: ended, events: Int16(POLLIN), revents: 0)]
        var programEnded = false
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while fds[0].fd >= 0 || fds[1].fd >= 0 {
            let ready = poll(&fds, 3, programEnded ? 0 : -1)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 {
                    let chunk = Data(buffer[0..<n])
                    shared.update { if i == 0 { $0.stdout += chunk } else { $0.stderr += chunk } }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    fds[i].fd = -1  // poll skips negative descriptors
                }
            }
            if fds[2].fd >= 0 && fds[2].revents != 0 { programEnded = true; fds[2].fd = -1 }
        }
        for fd in [fds[0].fd, fds[1].fd] where fd >= 0 { close(fd) }
        shared.update { $0.drained = true }
    }

    public var stdout: String { shared.state.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    public var stderr: String { shared.state.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
    /// How the program ended; nil while it runs.
    public var termination: Termination? { shared.state.withLock { $0.termination } }
    public var isRunning: Bool { termination == nil }

    /// Sends `signal` to the program, unless it is known to have ended.
    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits until the program has ended and all it printed is read; false after `seconds`.
    @discardableResult
    public func waitForExit(seconds: Double? = nil) -> Bool {
        shared.wait(seconds: seconds) { $0.termination != nil && $0.drained }
    }

    /// Waits until stderr holds `text`; false after `seconds`, or when the program ended without printing it.
    public func waitForStderr(containing text: String, seconds: Double) -> Bool {
        let needle = Data(text.utf8)
        return shared.wait(seconds: seconds) { $0.stderr.range(of: needle) != nil || ($0.termination != nil && $0.drained) }
            && shared.state.withLock { $0.stderr.range(of: needle) != nil }
    }

    /// Waits for the end and returns it with all the program printed.
    public func result() -> ProgramResult {
        waitForExit()
        return shared.state.withLock {
            ProgramResult(termination: $0.termination!, stdout: String(decoding: $0.stdout, as: UTF8.self),
                          stderr: String(decoding: $0.stderr, as: UTF8.self))
        }
    }
}

/// The program's pid, or why it could not start, handed from the runner thread to the starter.
private final class StartHandoff: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let outcome = Mutex<Result<pid_t, any Error>?>(nil)
    func finish(_ r: Result<pid_t, any Error>) {
        outcome.withLock { $0 = r }
        done.signal()
    }
    func wait() -> Result<pid_t, any Error> {
        done.wait()
        return outcome.withLock { $0! }
    }
}

