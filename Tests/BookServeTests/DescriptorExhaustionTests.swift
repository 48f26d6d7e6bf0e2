import Foundation
import Testing
@testable import BookServe

/// `rnnbook serve` in a process of its own, with a low limit on open files (`ulimit -n`), so
/// that running it out of descriptors touches no other test.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    private let condition = NSCondition()
    private var stderr = ""

    /// The rnnbook binary sits next to the test bundle in SwiftPM's products folder.
    static var binary: URL? {
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var dir = exe.deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("rnnbook")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    init(binary: URL, book: URL, openFiles: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -n \(openFiles) && exec \"$0\" serve --port 0", binary.path]
        process.currentDirectoryURL = book
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.condition.lock()
            self.stderr += String(decoding: data, as: UTF8.self)
            self.condition.broadcast()
            self.condition.unlock()
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        try process.run()
    }

    var output: String { condition.lock(); defer { condition.unlock() }; return stderr }

    /// Waits (on the condition, woken by each write to stderr) until stderr holds `text`; false
    /// after `limit` seconds, or when the process has ended without saying it.
    func waitFor(_ text: String, limit: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: limit)
        condition.lock()
        defer { condition.unlock() }
        while !stderr.contains(text) {
            if !process.isRunning { return false }
            if !condition.wait(until: min(deadline, Date(timeIntervalSinceNow: 1))) && Date() >= deadline { return false }
        }
        return true
    }

    /// Ctrl-C, as a user stops it; then waits for it to end.
    func stop() {
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
    }
}

@Suite("serve: accepting again after running out of descriptors", .serialized)
struct DescriptorExhaustionTests {
    /// `serve` under `ulimit -n 64` (it holds about 15 descriptors when idle): 60 idle
    /// connections use up the rest, so accepting fails with EMFILE. The server says so once,
    /// keeps retrying, and answers again when the connections close.
    @Test func serveAnswersAgainAfterRunningOutOfDescriptors() async throws {
        let binary = try #require(ServeProcess.binary, "no rnnbook binary next to the test bundle; run swift build --build-tests")
        let book = try TempFolder()
        try book.write("chapters/a.md", "---\ntitle: A\n---\n\n# A\n\nProse only: nothing to compile.\n")
        let serve = try ServeProcess(binary: binary, book: book.url, openFiles: 64)
        defer { serve.stop() }
        let ready = await onThread { serve.waitFor("watching", limit: 120) }
        try #require(ready, "serve did not finish its first build:\n\(serve.output)")
        let port = try #require(serve.output.firstMatch(of: /http:\/\/127\.0\.0\.1:(\d+)\//).flatMap { UInt16($0.1) })

        var idle: [RawClient] = []
        for _ in 0..<60 { idle.append(try RawClient(port: port)) }
        let exhausted = await onThread { serve.waitFor("cannot accept connections", limit: 120) }
        #expect(exhausted, "60 idle connections under ulimit -n 64 and serve did not say it cannot accept:\n\(serve.output)")
        #expect(serve.output.contains("Too many open files"), "\(serve.output)")

        for c in idle { c.shut() }
        idle = []
        let recovered = await onThread { serve.waitFor("accepting connections on 127.0.0.1:\(port) again", limit: 120) }
        #expect(recovered, "serve did not say it accepts again:\n\(serve.output)")
        let client = try RawClient(port: port)
        client.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let (text, _) = await onThread { client.readUntilClosed(limit: 120) }
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.contains("<title>"), "after the connections closed: \(text.prefix(200))\n\(serve.output)")
        // Once per episode, not once per failed accept: each "cannot accept" line is followed by
        // an "accepting again" before the next. (A second episode is real: connections still in
        // the kernel's queue when accepting resumes can use the descriptors up once more.)
        let said = serve.output.split(separator: "\n").compactMap { line -> String? in
            line.contains("cannot accept connections") ? "cannot" : line.contains("accepting connections on 127.0.0.1:\(port) again") ? "again" : nil
        }
        #expect(!said.isEmpty && said.enumerated().allSatisfy { $0.element == ($0.offset.isMultiple(of: 2) ? "cannot" : "again") }
                && said.last == "again", "\(said)\n\(serve.output)")
    }
}
