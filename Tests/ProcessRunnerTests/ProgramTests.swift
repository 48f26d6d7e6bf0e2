import Foundation
import ProcessRunner
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Pids of live processes whose command line contains `text`.
func processes(containing text: String) -> [pid_t] {
    let needle = Data(text.utf8)
    return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
        guard let pid = pid_t(entry), pid != getpid(),
              let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), data.range(of: needle) != nil else { return nil }
        return pid
    }
}

/// Polls `condition` (every 20 ms) until it holds or `seconds` pass; for states no event announces.
func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

@Suite("Programs run from tests")
struct ProgramTests {
    /// A program that fills the stderr pipe before writing stdout: a helper that read stdout
    /// to its end first would wait for good once 64 KB sat unread in stderr.
    @Test func aMegabyteOnEachStreamIsReadWhole() throws {
        let megabyte = 1 << 20
        let script = "head -c \(megabyte) /dev/zero | tr '\\0' e >&2; head -c \(megabyte) /dev/zero | tr '\\0' o"
        // The timeout turns a stall into a failure rather than a hung suite.
        let run = try Program("/bin/sh", ["-c", script]).run(timeout: 120)
        #expect(run.termination == .exited(0))
        #expect(run.stdout.utf8.count == megabyte && run.stdout.utf8.allSatisfy { $0 == UInt8(ascii: "o") })
        #expect(run.stderr.utf8.count == megabyte && run.stderr.utf8.allSatisfy { $0 == UInt8(ascii: "e") })
    }

    @Test func exitStatusEnvironmentAndFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-program-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Program("/bin/sh", ["-c", "echo \"$GREETING\"; pwd; echo oops >&2; exit 3"],
                              environment: ["GREETING": "hello"], workingDirectory: folder.path).run()
        #expect(run.termination == .exited(3))
        #expect(run.status == 3)
        #expect(run.stdout == "hello\n\(folder.resolvingSymlinksInPath().path)\n")
        #expect(run.stderr == "oops\n")
    }

    @Test func waitsForTextOnStderrThenSignals() throws {
        let running = try Program("/bin/sh", ["-c", "echo ready >&2; exec sleep 600"]).start()
        defer { running.send(SIGKILL) }
        #expect(running.waitForStderr(containing: "ready", seconds: 60))
        #expect(running.isRunning)
        running.send(SIGTERM)
        #expect(running.waitForExit(seconds: 60))
        #expect(running.termination == .signaled(SIGTERM))
        #expect(running.result().status == 128 + SIGTERM)
    }

    @Test func waitingForTextAProgramNeverPrintsEndsWithIt() throws {
        let running = try Program("/bin/sh", ["-c", "echo something else >&2"]).start()
        #expect(!running.waitForStderr(containing: "ready", seconds: 60))
        #expect(running.termination == .exited(0))
    }

    @Test func aTimeoutStopsTheProgram() throws {
        let run = try Program("/bin/sleep", ["600"]).run(timeout: 0.5)
        #expect(run.termination == .timedOut(seconds: 0.5))
    }

    @Test func aMissingProgramSaysSo() throws {
        let run = try Program("/nonexistent/program").run()
        #expect(run.termination == .exited(127))
    }

    @Test func theRNNBookBinaryIsFound() throws {
        let binary = try #require(rnnbookBinary)
        #expect(binary.lastPathComponent == "rnnbook")
        #expect(FileManager.default.isExecutableFile(atPath: binary.path))
    }
}

@Suite("Subprocess containment")
struct ContainmentTests {
    /// A program that leaves a sleep of its own session behind, with `marker` on its command line.
    static func leaver(_ marker: String) -> Subprocess {
        Subprocess(executable: "/bin/sh", arguments: ["-c", "setsid sleep \(marker) & exit 0"],
                   environment: ProcessInfo.processInfo.environment, stdoutPath: "/dev/null", stderrPath: "/dev/null")
    }

    static func marker() -> String { "9\(Int.random(in: 100_000...999_999)).5" }

    @Test func theWholeTreeGoesWithTheProgram() throws {
        let m = Self.marker()
        #expect(try Self.leaver(m).run() == .exited(0))
        #expect(eventually(10) { processes(containing: m).isEmpty }, "left behind: \(processes(containing: m))")
    }

    @Test func programOnlyLeavesWhatTheProgramLeft() throws {
        let m = Self.marker()
        var process = Self.leaver(m)
        process.containment = .programOnly
        #expect(try process.run() == .exited(0))
        // The sleep is its own process, so it may not have exec'd yet when sh exits.
        #expect(eventually(10) { !processes(containing: m).isEmpty }, "the sleep did not outlive sh")
        for pid in processes(containing: m) { kill(pid, SIGKILL) }
    }
}

/// `bench --concurrent` gave its copies `/dev/stderr` as a path: reopened with O_TRUNC, it emptied
/// the CI log that rnnbook's stderr was written to (the log kept 347 KB of zero bytes).
@Suite("Subprocess output paths")
struct OutputPathTests {
    @Test func passingStandardErrorAppendsToTheCallersLogInsteadOfEmptyingIt() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-log-\(UUID().uuidString)")
        try "written before\n".write(to: log, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: log) }
        let fd = open(log.path, O_WRONLY | O_APPEND)
        #expect(fd >= 0)
        defer { close(fd) }
        var program = Subprocess(executable: "/bin/sh", arguments: ["-c", "echo from the program >&2"], environment: [:],
                                 stdoutPath: "/dev/null", stderrPath: "/dev/null")
        program.passStandardError()
        program.inherited = [(fd, 2)]  // stands in for rnnbook's own stderr, redirected to the log
        #expect(try program.run() == .exited(0))
        #expect(try String(contentsOf: log, encoding: .utf8) == "written before\nfrom the program\n")
    }

    @Test func aPathNamingOurOwnDescriptorIsRefused() {
        for path in ["/dev/stderr", "/dev/stdout", "/dev/fd/2", "/proc/self/fd/1"] {
            let program = Subprocess(executable: "/bin/true", arguments: [], environment: [:], stdoutPath: "/dev/null", stderrPath: path)
            #expect(throws: SpawnError.self, "\(path)") { try program.run() }
        }
    }
}
