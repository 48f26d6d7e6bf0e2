import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Why a program could not be started (not how it ended: that is a `Termination`).
public struct SpawnError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    /// As rnnbook prints an error that has no place in the book.
    public var description: String { "error: \(message)" }
}

/// How a child process ended.
public enum Termination: Sendable, Equatable, Codable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    case timedOut(seconds: Double)
    /// Stopped for printing more than `bytes` on one stream (a property of the program, not of
    /// how busy the machine was).
    case outputLimit(stream: String, bytes: Int)

    public var succeeded: Bool { self == .exited(0) }
    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(signalName(signal)))"
        case .timedOut(let s): "timed out after \(formatSeconds(s))"
        case .outputLimit(let stream, let bytes): "was stopped for printing more than \(bytes / (1024 * 1024)) MB on \(stream)"
        }
    }
}

/// A signal's name, and for a trap what it means in Swift.
public func signalName(_ signal: Int32) -> String {
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

/// Seconds as a person reads them: "1.25 s" under ten seconds, "42 s" above.
public func formatSeconds(_ s: Double) -> String { s < 10 ? String(format: "%.2f s", s) : String(format: "%.0f s", s) }

/// Runs a program with stdout and stderr going to files (or to descriptors of the caller's, see
/// `inherited`), so that nothing it starts outlives it.
///
/// Containment: the program is not our child but our grandchild. We fork a tiny *keeper*
/// process (a fork of this process, rnnbook or a test, that never execs and makes only system
/// calls) which
/// - asks for SIGKILL when our forking thread dies (`PR_SET_PDEATHSIG`), and
/// - becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`), then forks the program in a new
///   process group, itself with `PR_SET_PDEATHSIG` = SIGKILL, and execs it.
/// Every orphan below the program (a `Process` child, something that called `setsid` or
/// `setpgid`, a daemonising double fork) is reparented to the keeper, never to init, so each
/// live descendant of the program always has the keeper on its parent chain. The keeper reaps
/// whatever it is given and exits only when it has no child left (`waitpid` says ECHILD): its
/// exit means the whole tree is gone. To stop a run we kill the program's group, then kill
/// the keeper's children (read from /proc) round after round until the keeper exits. Each
/// run has its own keeper, so with `--jobs 2` stopping one chapter never touches the other.
/// As it never execs, a keeper holds a copy of every descriptor we had open when it was forked,
/// close-on-exec or not, until it exits: a pipe's write end shared with another run's keeper
/// does not show end of file when we close ours.
///
/// With `containment = .programOnly` (for tests of a program that must contain its own
/// children, such as rnnbook itself) the keeper is no subreaper and nothing but the program is
/// killed: orphans go where they would go without us, so a test can see what the program left.
///
/// `fork` rather than posix_spawn, since posix_spawn cannot set the parent-death signal; after
/// `fork` in this multithreaded process both children only make system calls on memory
/// prepared before the fork (no allocation, no locks) until `execve`.
public struct Subprocess: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    public var workingDirectory: String?
    public var stdoutPath: String
    public var stderrPath: String
    /// Descriptors of ours the program gets, at the numbers given (they are close-on-exec here).
    /// Applied after stdout and stderr are opened, so `(fd, 1)` and `(fd, 2)` replace them.
    public var inherited: [(descriptor: Int32, as: Int32)] = []
    /// Set on the program before it starts (inherited by all it starts).
    public var limits: [ResourceLimit] = []
    /// What is stopped with the program when it ends or is stopped.
    public var containment = Containment.wholeTree

    public enum Containment: Sendable {
        /// The program and everything it started, wherever it went (see the type's summary).
        case wholeTree
        /// Only the program: what it leaves behind is its own business.
        case programOnly
    }

    public init(executable: String, arguments: [String], environment: [String: String], workingDirectory: String? = nil,
                stdoutPath: String, stderrPath: String) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// Gives the program this process's own standard error: the descriptor itself, through
    /// `inherited`. Naming `/dev/stderr` as `stderrPath` instead would reopen the file it points
    /// to with O_TRUNC and empty a log the caller is writing (`run` refuses such paths).
    public mutating func passStandardError() {
        stderrPath = "/dev/null"
        inherited.append((2, 2))
    }

    /// Paths that name one of this process's own descriptors: opened for the program's output,
    /// they would truncate the file behind it.
    static func namesOwnDescriptor(_ path: String) -> Bool {
        ["/dev/stdout", "/dev/stderr", "/dev/stdin"].contains(path) || path.hasPrefix("/dev/fd/") || path.hasPrefix("/proc/self/fd/")
    }

    /// A limit `setrlimit` sets (soft and hard alike).
    public struct ResourceLimit: Equatable, Sendable {
        public var resource: Int32
        public var value: UInt64
        public init(resource: Int32, value: UInt64) { self.resource = resource; self.value = value }
        public static func memory(bytes: UInt64) -> ResourceLimit { ResourceLimit(resource: Int32(RLIMIT_DATA.rawValue), value: bytes) }
        public static func cpu(seconds: UInt64) -> ResourceLimit { ResourceLimit(resource: Int32(RLIMIT_CPU.rawValue), value: seconds) }
        public static func fileSize(bytes: UInt64) -> ResourceLimit { ResourceLimit(resource: Int32(RLIMIT_FSIZE.rawValue), value: bytes) }
        public static func processes(_ n: UInt64) -> ResourceLimit { ResourceLimit(resource: 6, value: n) }  // RLIMIT_NPROC (Linux; not imported by Glibc's overlay)
        public static func openFiles(_ n: UInt64) -> ResourceLimit { ResourceLimit(resource: Int32(RLIMIT_NOFILE.rawValue), value: n) }
    }

    /// How the run ended, and the largest resident set of the program or anything it waited for.
    public struct Outcome: Sendable { public var termination: Termination; public var peakResidentBytes: Int? }

    /// Starts the process and polls until it ends. `poll` runs every 50 ms with the elapsed
    /// seconds and returns a reason to stop it (a timeout), or nil to keep going.
    ///
    /// The forking thread stays in this call until the keeper has exited, so the keeper's
    /// parent-death signal fires only when this thread ends.
    public func run(poll: (Double) -> Termination? = { _ in nil }) throws -> Termination {
        try runMeasured(poll: poll).termination
    }

    /// `run`, with the program's peak memory; `started` is called with the program's pid (also
    /// its process group) as soon as it exists.
    public func runMeasured(poll: (Double) -> Termination? = { _ in nil }, started: (pid_t) -> Void = { _ in }) throws -> Outcome {
        guard let prctl = prctlFunction else { throw SpawnError("cannot start \(executable): prctl not found") }
        for path in [stdoutPath, stderrPath] where Self.namesOwnDescriptor(path) {
            throw SpawnError("cannot start \(executable): its output path \(path) names one of rnnbook's own descriptors, which opening would truncate; pass the descriptor with `inherited` (passStandardError())")
        }
        // Everything the children touch is prepared here, before the fork.
        let path = strdup(executable)!
        let args = [executable] + arguments
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: args.count + 1)
        for (i, a) in args.enumerated() { argv[i] = strdup(a) }
        argv[args.count] = nil
        let envList = environment.map { "\($0.key)=\($0.value)" }
        let envp = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: envList.count + 1)
        for (i, e) in envList.enumerated() { envp[i] = strdup(e) }
        envp[envList.count] = nil
        let out = strdup(stdoutPath)!, err = strdup(stderrPath)!, devNull = strdup("/dev/null")!
        let cwd = workingDirectory.map { strdup($0)! }
        // Copies above every target number, so that moving one into place never overwrites another.
        let copies = try inherited.map { m -> Int32 in
            let c = fcntl(m.descriptor, F_DUPFD_CLOEXEC, 64)
            if c < 0 { throw SpawnError("cannot start \(executable): cannot pass descriptor \(m.descriptor): \(String(cString: strerror(errno)))") }
            return c
        }
        defer { for c in copies { close(c) } }
        let moves = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * inherited.count + 1)
        for (i, m) in inherited.enumerated() { moves[2 * i] = copies[i]; moves[2 * i + 1] = m.as }
        let rlimits = UnsafeMutablePointer<(Int32, rlimit)>.allocate(capacity: limits.count + 1)
        for (i, l) in limits.enumerated() { rlimits[i] = (l.resource, rlimit(rlim_cur: rlim_t(l.value), rlim_max: rlim_t(l.value))) }
        defer {
            moves.deallocate(); rlimits.deallocate()
            for i in 0..<args.count { free(argv[i]) }
            for i in 0..<envList.count { free(envp[i]) }
            argv.deallocate(); envp.deallocate()
            free(path); free(out); free(err); free(devNull)
            if let cwd { free(cwd) }
        }
        var fds: [Int32] = [0, 0]
        // Close-on-exec from the start: another build thread may fork at any moment.
        guard let pipe2 = pipe2Function, pipe2(&fds, O_CLOEXEC) == 0 else { throw SpawnError("cannot start \(executable): pipe: \(String(cString: strerror(errno)))") }
        let plan = KeeperPlan(prctl: prctl, parent: getpid(), subreaper: containment == .wholeTree, report: fds[1], path: path, argv: argv, envp: envp,
                              stdin: devNull, stdout: out, stderr: err, cwd: cwd,
                              moves: moves, moveCount: inherited.count, limits: rlimits, limitCount: limits.count)
        let keeper = fork()
        if keeper == 0 { keeperMain(plan) }
        close(fds[1])
        let reader = fds[0]
        defer { close(reader) }
        guard keeper > 0 else { throw SpawnError("cannot start \(executable): fork: \(String(cString: strerror(errno)))") }

        // The keeper reports the program's pid (its process group), then its wait status.
        var program: Int32 = 0
        guard readInt32(reader, &program), program > 0 else {
            var s: Int32 = 0
            while waitpid(keeper, &s, 0) < 0 && errno == EINTR {}
            throw SpawnError("cannot start \(executable): the keeper process failed")
        }
        let run = ChildRegistry.Run(keeper: keeper, group: program)
        ChildRegistry.shared.add(run)
        defer { ChildRegistry.shared.remove(run) }
        started(program)

        let start = Date()
        var status: Int32 = 0
        while true {
            var pfd = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&pfd, 1, 0) > 0 {
                // Either the status, or end of file: the keeper died without reporting (killed
                // from outside); the program died with it (its parent-death signal).
                if !readInt32(reader, &status) { status = SIGKILL }
                break
            }
            if let stop = poll(Date().timeIntervalSince(start)) {
                end(run, programReaped: false)
                return Outcome(termination: stop, peakResidentBytes: nil)
            }
            usleep(50_000)
        }
        var peakKB: Int32 = -1
        if !readInt32(reader, &peakKB) { peakKB = -1 }
        end(run, programReaped: true)
        let peak = peakKB >= 0 ? Int(peakKB) * 1024 : nil
        if status & 0x7f == 0 { return Outcome(termination: .exited((status >> 8) & 0xff), peakResidentBytes: peak) }
        return Outcome(termination: .signaled(status & 0x7f), peakResidentBytes: peak)
    }

    /// Stops what `containment` says (whole tree: the program's group and every leftover of
    /// it; program only: the program, unless the keeper has reaped it already, when its pid
    /// may belong to someone else) and reaps the keeper.
    private func end(_ run: ChildRegistry.Run, programReaped: Bool) {
        switch containment {
        case .wholeTree:
            stopTree(run, ownKeeper: true)
        case .programOnly:
            // The keeper reaps the program and then exits (as no subreaper, it is given no orphans).
            if !programReaped { kill(run.group, SIGKILL) }
            var status: Int32 = 0
            while waitpid(run.keeper, &status, 0) < 0 && errno == EINTR {}
        }
    }
}

/// A pipe whose ends are closed on exec (another thread may start a program at any moment).
public func closeOnExecPipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard let pipe2 = pipe2Function, pipe2(&fds, O_CLOEXEC) == 0 else { throw SpawnError("pipe: \(String(cString: strerror(errno)))") }
    return (fds[0], fds[1])
}

/// Reads exactly 4 bytes (blocking); false at end of file.
private func readInt32(_ fd: Int32, _ value: inout Int32) -> Bool {
    var v: Int32 = 0, got = 0
    while got < 4 {
        let n = withUnsafeMutableBytes(of: &v) { read(fd, $0.baseAddress! + got, 4 - got) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        got += n
    }
    value = v
    return true
}

private typealias PrctlFunction = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
/// `prctl` is variadic in C, so Swift does not import it; all its arguments here are integers.
private let prctlFunction: PrctlFunction? = dlsym(nil, "prctl").map { unsafeBitCast($0, to: PrctlFunction.self) }
private typealias Pipe2Function = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
/// Glibc's Swift overlay lacks `pipe2`.
private let pipe2Function: Pipe2Function? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: Pipe2Function.self) }
private let PR_SET_PDEATHSIG: Int32 = 1
private let PR_SET_CHILD_SUBREAPER: Int32 = 36

/// What the keeper and the program need, all allocated before the fork.
private struct KeeperPlan {
    var prctl: PrctlFunction
    var parent: pid_t
    /// Whether orphans below the program are handed to the keeper (`Containment.wholeTree`).
    var subreaper: Bool
    var report: Int32
    var path: UnsafeMutablePointer<CChar>
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    var envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    var stdin: UnsafeMutablePointer<CChar>
    var stdout: UnsafeMutablePointer<CChar>
    var stderr: UnsafeMutablePointer<CChar>
    var cwd: UnsafeMutablePointer<CChar>?
    /// Pairs (ours, theirs) of descriptors to move into place.
    var moves: UnsafeMutablePointer<Int32>
    var moveCount: Int
    var limits: UnsafeMutablePointer<(Int32, rlimit)>
    var limitCount: Int
}

/// The keeper, in the child of `fork`: system calls only, on memory prepared by the parent.
private func keeperMain(_ plan: KeeperPlan) -> Never {
    _ = plan.prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
    if getppid() != plan.parent { _exit(125) }  // our process died before the line above
    if plan.subreaper { _ = plan.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
    // Out of our process group (a terminal's Ctrl-C is ours to handle), deaf to the signals
    // we handle; SIGCHLD at its default so that waitpid sees children.
    setpgid(0, 0)
    signal(SIGINT, SIG_IGN); signal(SIGTERM, SIG_IGN); signal(SIGHUP, SIG_IGN); signal(SIGPIPE, SIG_IGN)
    signal(SIGCHLD, SIG_DFL)
    var empty = sigset_t(); sigemptyset(&empty)
    sigprocmask(SIG_SETMASK, &empty, nil)
    let keeper = getpid()
    let program = fork()
    if program == 0 {
        setpgid(0, 0)
        _ = plan.prctl(PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0)
        if getppid() != keeper { _exit(125) }
        signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL); signal(SIGHUP, SIG_DFL); signal(SIGPIPE, SIG_DFL)
        let i = open(plan.stdin, O_RDONLY, 0)
        let o = open(plan.stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let e = open(plan.stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if i < 0 || o < 0 || e < 0 { _exit(127) }
        dup2(i, 0); dup2(o, 1); dup2(e, 2)
        if i > 2 { close(i) }
        if o > 2 { close(o) }
        if e > 2 { close(e) }
        for k in 0..<plan.moveCount {
            let (from, to) = (plan.moves[2 * k], plan.moves[2 * k + 1])
            // dup2 clears close-on-exec on the copy; a descriptor already in place keeps it otherwise.
            if from == to { _ = fcntl(to, F_SETFD, 0) } else if dup2(from, to) < 0 { _exit(127) }
        }
        for k in 0..<plan.limitCount {
            var l = plan.limits[k].1
            if setrlimit(__rlimit_resource_t(UInt32(plan.limits[k].0)), &l) != 0 { _exit(127) }
        }
        if let cwd = plan.cwd, chdir(cwd) != 0 { _exit(127) }
        execve(plan.path, plan.argv, plan.envp)
        _exit(127)
    }
    if program < 0 { _exit(126) }
    var pid = program
    _ = write(plan.report, &pid, 4)
    while true {
        var status: Int32 = 0
        var usage = rusage()
        let r = wait4(-1, &status, 0, &usage)
        if r == program {
            _ = write(plan.report, &status, 4)
            // Kilobytes; the program's own peak or that of anything it waited for (a sandbox's child).
            var peak = Int32(clamping: usage.ru_maxrss)
            _ = write(plan.report, &peak, 4)
            close(plan.report)
        } else if r < 0 {
            if errno == EINTR { continue }
            break  // ECHILD: nothing below us is alive any more (or, as no subreaper, the program is reaped)
        }
    }
    _exit(0)
}

/// The processes whose parent is `pid`, from /proc (zombies included: they are gone once reaped).
public func childProcesses(of pid: pid_t) -> [pid_t] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var out: [pid_t] = []
    for entry in entries {
        guard let candidate = pid_t(entry), candidate != pid else { continue }
        let fd = open("/proc/\(entry)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { continue }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = read(fd, &buffer, buffer.count)
        close(fd)
        guard n > 0 else { continue }
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
        guard let paren = buffer[0..<n].lastIndex(of: UInt8(ascii: ")")) else { continue }
        let fields = buffer[(paren + 1)..<n].split(separator: UInt8(ascii: " "))
        if fields.count > 1, let ppid = pid_t(String(decoding: fields[1], as: UTF8.self)), ppid == pid { out.append(candidate) }
    }
    return out
}

/// Kills a run's program group, then the keeper's children round after round (killing one
/// hands its children to the keeper) until none is left. With `ownKeeper` (the thread that
/// forked the keeper) it also waits for the keeper to exit, which it does once nothing below
/// it is alive; the interrupt handler, which must not reap it, stops when the keeper has no
/// children left.
func stopTree(_ run: ChildRegistry.Run, ownKeeper: Bool) {
    kill(-run.group, SIGKILL)
    let deadline = Date().addingTimeInterval(10)
    var status: Int32 = 0
    while true {
        if ownKeeper {
            let r = waitpid(run.keeper, &status, WNOHANG)
            if r == run.keeper || (r < 0 && errno == ECHILD) { return }
        }
        let children = childProcesses(of: run.keeper)
        if !ownKeeper && children.isEmpty { return }
        for child in children { kill(child, SIGKILL) }
        if Date() > deadline {
            // Something forks faster than we kill: give up on containment for this run.
            kill(run.keeper, SIGKILL)
            if ownKeeper { while waitpid(run.keeper, &status, 0) < 0 && errno == EINTR {} }
            return
        }
        usleep(1_000)
    }
}

/// Runs we started, so that Ctrl-C, SIGTERM or SIGHUP to this process (see
/// `installInterruptHandler`) kills them rather than orphaning them.
final class ChildRegistry: Sendable {
    struct Run: Hashable { var keeper: pid_t; var group: pid_t }
    static let shared = ChildRegistry()
    private let runs = Mutex<Set<Run>>([])
    func add(_ run: Run) { runs.withLock { _ = $0.insert(run) } }
    func remove(_ run: Run) { runs.withLock { _ = $0.remove(run) } }
    func killAll() {
        let all = runs.withLock { $0 }
        for run in all { kill(-run.group, SIGKILL) }
        for run in all { stopTree(run, ownKeeper: false) }
    }
}

/// What an interrupt (Ctrl-C, SIGTERM, SIGHUP) must do before rnnbook exits, besides stopping
/// its own children: work it started elsewhere (a Slurm job array) is cancelled there.
public final class InterruptActions: Sendable {
    public static let shared = InterruptActions()
    private let actions = Mutex<[Int: @Sendable () -> Void]>([:])
    private let next = Mutex(0)
    /// Registers `action`; returns its number, for `remove`.
    public func add(_ action: @escaping @Sendable () -> Void) -> Int {
        let n = next.withLock { $0 += 1; return $0 }
        actions.withLock { $0[n] = action }
        return n
    }
    public func remove(_ n: Int) { _ = actions.withLock { $0.removeValue(forKey: n) } }
    func runAll() {
        let all = actions.withLock { a in defer { a = [:] }; return a }
        for (_, action) in all.sorted(by: { $0.key < $1.key }) { action() }
    }
}

/// Runs a short command and returns its stdout (for `swiftc --version`, `pkg-config`).
public func captureOutput(_ executable: String, _ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
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
public func which(_ name: String) -> String? {
    if name.contains("/") { return name }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// On Ctrl-C, SIGTERM or SIGHUP: kill everything started through `Subprocess` (the programs
/// run in their own process groups, so the terminal's SIGINT does not reach them) and exit
/// 128 + the signal, doing nothing else (a build's earlier pages are left as they are).
public func installInterruptHandler() {
    for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            InterruptActions.shared.runAll()
            ChildRegistry.shared.killAll()
            FileHandle.standardError.write(Data("\ninterrupted\n".utf8))
            exit(128 + signalNumber)
        }
        source.resume()
        interruptSources.append(source)
    }
}

nonisolated(unsafe) private var interruptSources: [DispatchSourceSignal] = []
