import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where `grade` runs chapter programs that hold students' code: a bubblewrap (`bwrap`)
/// container, as Flatpak uses.
///
/// Inside, the program sees a new root holding only: the system's `/usr` (and the `/lib`,
/// `/bin` links of a merged-/usr system) and `/etc`, read-only; the Swift toolchain's runtime
/// libraries and rnnbook's engine library, read-only; the data folder (`RNNBOOK_DATA`),
/// read-only; the compiled program itself, execute-only; its parameters; an empty work folder
/// of its own (its current folder, the only place it may write besides a small `/tmp`); and
/// fresh `/dev` and `/proc`. Not the chapters, the book, the cache, the reference run's files,
/// other submissions or the user's home. New PID, IPC, UTS and network namespaces: no network,
/// no view of other processes. It dies with rnnbook.
///
/// It runs as an unprivileged user: when rnnbook runs as root, bwrap sets the sandbox up
/// without a user namespace and `setpriv` drops to `nobody` (65534) with no capabilities and
/// `no_new_privs` before the program starts; as another user, bwrap maps the program to
/// `nobody` inside a user namespace (needs unprivileged user namespaces). Limits (setrlimit,
/// inherited by everything the program starts): memory (the chapter's), CPU seconds, file
/// size, open files and, as root, processes of the `nobody` user.
public struct Sandbox: Sendable, Equatable {
    public var bwrap: String
    public var setpriv: String?
    /// rnnbook runs as root: drop to `nobody` with setpriv (else: a user namespace).
    public var asRoot: Bool

    public static let user: UInt32 = 65534
    /// Limits besides memory and CPU (which come from the chapter and its timeout).
    public static let maxFileBytes: UInt64 = UInt64(maxOutputBytesPerStream) + 1024 * 1024
    public static let maxOpenFiles: UInt64 = 256
    public static let maxProcesses: UInt64 = 512
    public static let tmpBytes = 64 * 1024 * 1024

    /// Finds bwrap (and setpriv, as root) and proves that a sandbox starts here, or says why not.
    public static func probe() -> Result<Sandbox, SandboxUnavailable> {
        // BookEnvironment.bubblewrap names another bwrap (a test names a missing one to see the refusal).
        guard let bwrap = ProcessInfo.processInfo.environment[BookEnvironment.bubblewrap].map({ FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }) ?? which("bwrap") else {
            return .failure(SandboxUnavailable(reason: "bubblewrap (bwrap) is not installed; install it with `apt-get install bubblewrap`"))
        }
        // BookEnvironment.sandboxUserNamespace makes root use the user-namespace sandbox of other users (tests).
        let asRoot = geteuid() == 0 && ProcessInfo.processInfo.environment[BookEnvironment.sandboxUserNamespace] == nil
        var sandbox = Sandbox(bwrap: bwrap, setpriv: nil, asRoot: asRoot)
        if asRoot {
            guard let setpriv = which("setpriv") else {
                return .failure(SandboxUnavailable(reason: "setpriv (util-linux) is not installed; it drops the sandbox to the unprivileged user"))
            }
            sandbox.setpriv = setpriv
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-sandbox-probe-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try sandbox.prepare(workFolder: dir)
        } catch { return .failure(SandboxUnavailable(reason: "cannot prepare a work folder: \(error)")) }
        let id = which("id") ?? "/usr/bin/id"
        let command = sandbox.command(program: id, arguments: ["-u"], readOnly: [], workFolder: dir, environment: [:], bindProgramAs: nil)
        let out = dir.appendingPathComponent("probe.out").path, err = dir.appendingPathComponent("probe.err").path
        let p = Subprocess(executable: command.executable, arguments: command.arguments, environment: command.environment,
                           stdoutPath: out, stderrPath: err)
        let t = try? p.run(poll: { $0 > 30 ? .timedOut(seconds: $0) : nil })
        let said = (try? String(contentsOfFile: out, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard t?.succeeded == true, said == String(user) else {
            let why = ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return .failure(SandboxUnavailable(reason: "bwrap could not start a sandbox here (\(t?.description ?? "did not run"); ran as uid '\(said)'): \(why.isEmpty ? "no message" : why)"))
        }
        return .success(sandbox)
    }

    /// Makes `workFolder` the sandboxed program's own (as root: owned by `nobody`).
    func prepare(workFolder: URL) throws {
        try FileManager.default.createDirectory(at: workFolder, withIntermediateDirectories: true)
        if asRoot, chown(workFolder.path, Self.user, Self.user) != 0 {
            throw BookError("cannot hand \(workFolder.path) to the sandbox user: \(String(cString: strerror(errno)))")
        }
    }

    /// Where the program sits inside (execute-only) and its work folder.
    static let programPath = "/rnnbook/program"
    static let workPath = "/rnnbook/work"
    static let paramsPath = "/rnnbook/params.json"
    static let openLogLibraryPath = "/rnnbook/openlog.so"
    static let openLogDescriptor: Int32 = 5

    /// The paths a sandboxed program failed to open (the `!` lines of COpenLog's log), but for
    /// the system's own lookups: what it looked for outside its box (or did not find inside it).
    /// Sorted, at most `limit`.
    func outside(log: String, visible: [String], limit: Int = 20) -> [String] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        // The system's own lookups (libraries, locale and CPU files) are not the program's doing.
        let system = ObservedInputs.systemPrefixes + visible.map { $0.hasSuffix("/") ? $0 : $0 + "/" }
        var found = Set<String>()
        for line in text.split(separator: "\n") where line.first == "!" {
            let path = URL(fileURLWithPath: String(line.dropFirst())).standardizedFileURL.path
            if system.contains(where: { (path + "/").hasPrefix($0) }) { continue }
            found.insert(path)
        }
        return Array(found.sorted().prefix(limit))
    }

    /// The bwrap command that runs `program` (bound at `bindProgramAs`, or used from the
    /// bound system folders when nil) with `readOnly` paths visible at their own place and
    /// `workFolder` as its writable current folder. `environment` is the program's whole
    /// environment: nothing else of rnnbook's leaks in.
    func command(program: String, arguments: [String], readOnly: [String], workFolder: URL, environment: [String: String],
                 bindProgramAs: String?, extraBinds: [(String, String)] = []) -> (executable: String, arguments: [String], environment: [String: String]) {
        var a = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--die-with-parent", "--new-session"]
        if !asRoot { a += ["--unshare-user", "--uid", String(Self.user), "--gid", String(Self.user)] }
        a += ["--ro-bind", "/usr", "/usr"]
        for link in ["lib", "lib64", "bin", "sbin"] {
            let path = "/" + link
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                a += ["--symlink", target, path]
            } else if FileManager.default.fileExists(atPath: path) {
                a += ["--ro-bind", path, path]
            }
        }
        a += ["--ro-bind", "/etc", "/etc"]
        // The sandbox's own /dev, /proc and /tmp first: what is bound below may live under /tmp
        // (a checkout, the data folder), and a tmpfs mounted later would hide it.
        a += ["--dev", "/dev", "--proc", "/proc", "--size", String(Self.tmpBytes), "--tmpfs", "/tmp"]
        // Parents bwrap would create are root-only (0700); the sandbox user must pass through them.
        var made: Set<String> = ["/", "/usr", "/etc", "/tmp", "/dev", "/proc"]
        func parents(_ path: String) {
            var dir = ""
            for part in path.split(separator: "/").dropLast() {
                dir += "/" + part
                if made.insert(dir).inserted { a += ["--perms", "0755", "--dir", dir] }
            }
        }
        for path in readOnly where FileManager.default.fileExists(atPath: path) {
            parents(path)
            a += ["--ro-bind", path, path]
        }
        parents(Self.workPath)
        a += ["--bind", workFolder.path, Self.workPath, "--chdir", Self.workPath]
        for (outside, inside) in extraBinds { a += ["--ro-bind", outside, inside] }
        var target = program
        if let inside = bindProgramAs { a += ["--ro-bind", program, inside]; target = inside }
        var env = environment
        env["HOME"] = Self.workPath
        env["TMPDIR"] = "/tmp"
        env["PATH"] = "/usr/bin:/bin"
        for (k, v) in env.sorted(by: { $0.key < $1.key }) { a += ["--setenv", k, v] }
        a += ["--"]
        if asRoot, let setpriv {
            a += [setpriv, "--reuid=\(Self.user)", "--regid=\(Self.user)", "--clear-groups", "--inh-caps=-all",
                  "--bounding-set=-all", "--no-new-privs", "--"]
        }
        a += [target] + arguments
        // bwrap itself gets only what it needs to run.
        return (bwrap, a, ["PATH": "/usr/bin:/bin"])
    }

    /// The limits a sandboxed program runs under.
    func limits(memoryMB: Int, timeout: Double) -> [Subprocess.ResourceLimit] {
        let cores = UInt64(max(ProcessInfo.processInfo.activeProcessorCount, 1))
        var l: [Subprocess.ResourceLimit] = [
            .memory(bytes: UInt64(memoryMB) * 1024 * 1024),
            .cpu(seconds: UInt64(timeout.rounded(.up)) * cores + 5),
            .fileSize(bytes: Self.maxFileBytes),
            .openFiles(Self.maxOpenFiles),
        ]
        // RLIMIT_NPROC counts a real user's processes; in a user namespace that user is the
        // instructor, whose own processes would count against it.
        if asRoot { l.append(.processes(Self.maxProcesses)) }
        return l
    }
}

public struct SandboxUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
