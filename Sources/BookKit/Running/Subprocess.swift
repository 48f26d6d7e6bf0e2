import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    case timedOut(seconds: Double)

    public var succeeded: Bool { self == .exited(0) }
    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(signalName(signal)))"
        case .timedOut(let s): "timed out after \(formatSeconds(s))"
        }
    }
}

func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGILL: "SIGILL: a Swift runtime trap"
    case SIGTRAP: "SIGTRAP: a Swift runtime trap"
    case SIGSEGV: "SIGSEGV"
    case SIGBUS: "SIGBUS"
    case SIGABRT: "SIGABRT"
    case SIGFPE: "SIGFPE"
    case SIGKILL: "SIGKILL"
    case SIGTERM: "SIGTERM"
    default: "signal \(signal)"
    }
}

func formatSeconds(_ s: Double) -> String { s < 10 ? String(format: "%.2f s", s) : String(format: "%.0f s", s) }

/// Runs a program in its own process group with stdout and stderr going to files, so that a
/// timeout can kill everything the program started. Uses posix_spawn (no fork of this
/// multithreaded process) with POSIX_SPAWN_SETPGROUP.
struct Subprocess {
    var executable: String
    var arguments: [String]
    var environment: [String: String]
    var workingDirectory: String?
    var stdoutPath: String
    var stderrPath: String

    /// Starts the process and polls until it ends. `poll` runs every 50 ms with the elapsed
    /// seconds and returns a reason to stop it (a timeout), or nil to keep going.
    func run(poll: (Double) -> Termination? = { _ in nil }) throws -> Termination {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // The child should not inherit signals we ignore or block.
        var defaults = sigset_t(); sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t(); sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        // Glibc's Swift overlay lacks posix_spawn_file_actions_addchdir_np; `env -C` changes
        // directory and then execs the program in the same process (and so the same group).
        var program = executable, args = [executable] + arguments
        if let workingDirectory {
            program = "/usr/bin/env"
            args = ["env", "-C", workingDirectory, executable] + arguments
        }
        let argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw BookError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        ChildRegistry.shared.add(pid)
        defer { ChildRegistry.shared.remove(pid) }

        let start = Date()
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { throw BookError("waitpid failed: \(String(cString: strerror(errno)))") }
            if let stop = poll(Date().timeIntervalSince(start)) {
                // Kill the whole group: the program and anything it started.
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return stop
            }
            usleep(50_000)
        }
        // Leftover children of the program (same group) go too.
        kill(-pid, SIGKILL)
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(status & 0x7f)
    }
}

/// Process groups we started, so that Ctrl-C on rnnbook kills them rather than orphaning them.
final class ChildRegistry: @unchecked Sendable {
    static let shared = ChildRegistry()
    private let lock = NSLock()
    private var pids: Set<pid_t> = []
    func add(_ pid: pid_t) { lock.withLock { _ = pids.insert(pid) } }
    func remove(_ pid: pid_t) { lock.withLock { _ = pids.remove(pid) } }
    func killAll() { lock.withLock { for pid in pids { kill(-pid, SIGKILL) } } }
}

/// Runs a short command and returns its stdout (for `swiftc --version`, `pkg-config`).
func captureOutput(_ executable: String, _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-\(getpid())-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out").path, err = dir.appendingPathComponent("err").path
    let p = Subprocess(executable: executable, arguments: arguments, environment: environment,
                       stdoutPath: out, stderrPath: err)
    guard let t = try? p.run(poll: { $0 > 30 ? .timedOut(seconds: $0) : nil }), t.succeeded else { return nil }
    return (try? String(contentsOfFile: out, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Finds `name` on PATH.
func which(_ name: String) -> String? {
    if name.contains("/") { return name }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// On Ctrl-C, kill the chapter programs (they run in their own process groups, so the
/// terminal's SIGINT does not reach them) and exit 130.
public func installInterruptHandler() {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        ChildRegistry.shared.killAll()
        FileHandle.standardError.write(Data("\ninterrupted\n".utf8))
        exit(130)
    }
    source.resume()
    interruptSource = source
}

nonisolated(unsafe) private var interruptSource: DispatchSourceSignal?
