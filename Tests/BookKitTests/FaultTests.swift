import Foundation
import Testing
@testable import BookKit
import BookProtocol
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The runner under faults: nothing a build starts outlives it, and output is bounded.
/// End to end, on the built `rnnbook` (see `Book` in EndToEndTests.swift).
@Suite("rnnbook under faults", .serialized)
struct FaultTests {
    /// A marker no other process on the machine carries: `sleep 781.<n>` and the like.
    static func marker() -> String { String(Int.random(in: 100_000...999_999)) }

    /// Pids of live processes whose command line contains `text`, or whose environment does
    /// (`environ` is ours to read only for our own processes, which is all that matters).
    static func processes(containing text: String) -> [pid_t] {
        let me = getpid()
        let needle = Data(text.utf8)
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = pid_t(entry), pid != me else { return nil }
            for file in ["cmdline", "environ"] {
                if let data = FileManager.default.contents(atPath: "/proc/\(entry)/\(file)"), data.range(of: needle) != nil { return pid }
            }
            return nil
        }
    }

    /// Polls `condition` every 50 ms for up to `seconds`: for states that no event announces
    /// (processes coming and going, a file filling).
    static func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    /// Starts `rnnbook` in the book without waiting.
    static func start(_ book: Book, _ arguments: [String], environment extra: [String: String]) throws -> RunningProgram {
        try Program(Book.binary.path, arguments, environment: extra, workingDirectory: book.root.path).start()
    }

    @Test func processChildrenThatLeaveTheGroupDieWithTheBlock() throws {
        let book = try Book()
        let m = Self.marker()
        try book.write("escape.md", """
        # Escape

        ```swift
        // A Process child (its own session), a setsid grandchild, a double fork, a plain background job.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "setsid sleep 781.\(m) & sleep 782.\(m) & (setsid sh -c 'sleep 783.\(m) &'); exit 0"]
        // Not waitUntilExit: Foundation's Process waits until every process holding its
        // monitoring socket (the background sleeps too) is gone.
        try! p.run()
        let q = Process()
        q.executableURL = URL(fileURLWithPath: "/bin/sleep")
        q.arguments = ["784.\(m)"]
        try! q.run()
        // Until all four sleeps run (sh starts them in its own time), so that each has left
        // the group before the block ends; a minute at most.
        func sleeping(_ n: Int) -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).contains { entry in
                let args = ((try? String(contentsOfFile: "/proc/\\(entry)/cmdline", encoding: .utf8)) ?? "").split(separator: "\\0")
                return args.count == 2 && args[0].hasSuffix("sleep") && args[1] == "\\(n).\(m)"
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while !(781...784).allSatisfy(sleeping) && Date() < deadline { usleep(10_000) }
        print((781...784).allSatisfy(sleeping) ? "started" : "not started")
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try book.result("escape").blocks.first?.stdout == "started\n")
        #expect(Self.eventually(5) { Self.processes(containing: ".\(m)").isEmpty },
                "left behind: \(Self.processes(containing: ".\(m)"))")
    }

    static let good = """
    # Good

    ```swift
    print("good")
    ```
    """

    static func slow(_ m: String) -> String {
        """
        # Slow

        ```swift
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "setsid sleep 785.\(m) &"]
        try! p.run()
        print("sleeping")
        Thread.sleep(forTimeInterval: 300)
        ```
        """
    }

    @Test(arguments: [SIGTERM, SIGHUP, SIGINT, SIGKILL])
    func signalToRNNBookLeavesNoProcessAndKeepsThePreviousOutput(_ signalNumber: Int32) throws {
        let book = try Book()
        try book.write("good.md", Self.good)
        #expect(try book.run("build").status == 0)
        let page = book.root.appendingPathComponent("output/good.html"), json = book.root.appendingPathComponent("output/good.json")
        let goodPage = try Data(contentsOf: page), goodJSON = try Data(contentsOf: json)

        let m = Self.marker()
        try book.write("slow.md", Self.slow(m))
        let envMarker = "RNNBOOK_FAULT_TEST=\(m)"
        // Only the slow chapter: the good one's files must not be touched by anything.
        let p = try Self.start(book, ["build", "chapters/slow.md"], environment: ["RNNBOOK_FAULT_TEST": m])
        defer { p.send(SIGKILL) }
        // The block has started once the setsid'd sleep exists (compiling takes a while here).
        let channel = book.root.appendingPathComponent("output/.cache/build/slow/channel.jsonl").path
        #expect(Self.eventually(180) {
            (try? String(contentsOfFile: channel, encoding: .utf8))?.contains("blockStart") == true
                && !Self.processes(containing: "785.\(m)").isEmpty
        }, "the block never started")
        p.send(signalNumber)
        #expect(p.waitForExit(seconds: 20))
        if signalNumber == SIGKILL {
            #expect(p.termination == .signaled(SIGKILL))
            // Only what had the keeper on its parent chain dies with it: the chapter program
            // (its parent-death signal) and the keeper. A setsid'd grandchild is reparented to
            // init and survives a SIGKILL (no cgroup or PID namespace here); clean it up.
            let escaped = Set(Self.processes(containing: "785.\(m)"))
            #expect(Self.eventually(5) { Set(Self.processes(containing: envMarker)).subtracting(escaped).isEmpty },
                    "left behind: \(Set(Self.processes(containing: envMarker)).subtracting(escaped))")
            for pid in Self.processes(containing: "785.\(m)") { kill(pid, SIGKILL) }
        } else {
            #expect(p.termination == .exited(128 + signalNumber))
            #expect(Self.eventually(5) { Self.processes(containing: envMarker).isEmpty && Self.processes(containing: "785.\(m)").isEmpty },
                    "left behind: \(Self.processes(containing: envMarker) + Self.processes(containing: "785.\(m)"))")
        }
        #expect(try Data(contentsOf: page) == goodPage)
        #expect(try Data(contentsOf: json) == goodJSON)
    }

    @Test func interruptDuringCompilationStopsTheCompiler() throws {
        let book = try Book()
        // Enough code that the compiler is still busy when the signal comes.
        let body = (0..<400).map { "let v\($0) = [\($0), \($0 + 1)].map { Double($0) * 2.5 }.reduce(0, +)\nprint(v\($0))" }.joined(separator: "\n")
        try book.write("big.md", "# Big\n\n```swift\n\(body)\n```\n")
        let m = Self.marker()
        let envMarker = "RNNBOOK_FAULT_TEST=\(m)"
        let p = try Self.start(book, ["build"], environment: ["RNNBOOK_FAULT_TEST": m])
        defer { p.send(SIGKILL) }
        func frontends() -> [pid_t] {
            Self.processes(containing: envMarker).filter {
                (FileManager.default.contents(atPath: "/proc/\($0)/cmdline")).map { let c = String(decoding: $0, as: UTF8.self); return c.contains("swift-frontend") && c.contains("main.swift") } ?? false
            }
        }
        #expect(Self.eventually(120) { !frontends().isEmpty }, "no swift-frontend seen")
        p.send(SIGINT)
        #expect(p.waitForExit(seconds: 20))
        #expect(p.termination == .exited(130))
        #expect(Self.eventually(5) { Self.processes(containing: envMarker).isEmpty },
                "left behind: \(Self.processes(containing: envMarker))")
    }

    @Test func hugeOutputIsStoppedAndNeverReadWhole() throws {
        let book = try Book()
        try book.write("loud.md", """
        # Loud

        ```swift
        for i in 0..<20_000 { print("line \\(i) of the first block, long enough to pass 256 KB of output in all") }
        print("END-A")
        ```

        ```swift
        print("second")
        let line = String(repeating: "x", count: 1000)
        for _ in 0..<100_000 { print(line) }
        ```

        ```swift
        print("never")
        ```
        """)
        let p = try Self.start(book, ["build"], environment: [:])
        defer { p.send(SIGKILL) }
        var peakKB = 0
        let status = "/proc/\(p.pid)/status"
        // Only once the process is rnnbook: between fork and exec it is a copy of this test
        // process, whose peak (the whole test run's) a sample then would take for rnnbook's.
        func isRNNBook() -> Bool {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p.pid)/exe"))?.hasSuffix("/rnnbook") == true
        }
        #expect(Self.eventually(300) {
            if isRNNBook(), let text = try? String(contentsOfFile: status, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kb = Int(line.split(separator: " ").dropFirst().first ?? "") { peakKB = max(peakKB, kb) }
            return !p.isRunning
        })
        #expect(p.termination == .exited(1))
        // The 100 MB never entered rnnbook: it idles near 32 MB and holds a few hundred KB of the output.
        #expect(peakKB > 0 && peakKB < 80 * 1024, "rnnbook's peak resident memory: \(peakKB) KB")
        let r = try book.result("loud")
        #expect(r.blocks.map(\.status) == [.passed, .failed, .notRun])
        #expect(r.blocks[1].error?.contains("block 2 failed: it printed more than 64 MB on stdout; stopped") == true, "\(r.blocks[1].error ?? "")")
        // Slicing by block still holds on the shortened streams: heads, tails and the gap.
        #expect(r.blocks[0].stdout.hasPrefix("line 0 of the first block"))
        #expect(r.blocks[0].stdout.hasSuffix("END-A\n"))
        #expect(r.blocks[0].stdout.contains("bytes not kept"))
        #expect(r.blocks[0].stdout.utf8.count <= 256 * 1024 + 100)
        #expect(r.blocks[1].stdout.hasPrefix("second\nxxxx"))
        #expect(r.blocks[1].stdout.contains("bytes not kept"))
        #expect(r.blocks[1].stdout.utf8.count <= 256 * 1024 + 100)
        // The working files are gone and the cache stays small.
        let work = book.root.appendingPathComponent("output/.cache/build/loud")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("stdout").path))
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("stderr").path))
        var cacheBytes = 0
        if let files = FileManager.default.enumerator(atPath: book.root.appendingPathComponent("output/.cache").path) {
            for case let file as String in files where !file.hasSuffix("/chapter") && file != "chapter" && !file.contains("build/loud/chapter") {
                cacheBytes += fileSize(book.root.appendingPathComponent("output/.cache/\(file)").path)
            }
        }
        #expect(cacheBytes < 8 * 1024 * 1024, "the cache holds \(cacheBytes) bytes besides the program")
    }
}
