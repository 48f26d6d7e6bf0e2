import Foundation
import Testing
@testable import BookServe
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `rnnbook serve` in a process of its own, with a low limit on open files (RLIMIT_NOFILE, as
/// `ulimit -n` sets it), so that running it out of descriptors touches no other test.
struct ServeProcess {
    let running: RunningProgram

    init(binary: URL, book: URL, openFiles: Int) throws {
        var program = Program(binary.path, ["serve", "--port", "0"], workingDirectory: book.path)
        program.limits = [.openFiles(UInt64(openFiles))]
        running = try program.start()
    }

    var output: String { running.stderr }

    /// Waits (woken by each write to stderr) until stderr holds `text`; false after `limit`
    /// seconds, or when the process has ended without saying it.
    func waitFor(_ text: String, limit: TimeInterval) -> Bool {
        running.waitForStderr(containing: text, seconds: limit)
    }

    /// Ctrl-C, as a user stops it; then waits for it to end.
    func stop() {
        running.send(SIGINT)
        running.waitForExit()
    }
}

@Suite("serve: accepting again after running out of descriptors", .serialized)
struct DescriptorExhaustionTests {
    /// `serve` with at most 64 open files (it holds about 15 descriptors when idle): 60 idle
    /// connections use up the rest, so accepting fails with EMFILE. The server says so once,
    /// keeps retrying, and answers again when the connections close.
    @Test func serveAnswersAgainAfterRunningOutOfDescriptors() async throws {
        let binary = try #require(rnnbookBinary, "no rnnbook binary next to the test bundle; run swift build --build-tests")
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
        #expect(exhausted, "60 idle connections with at most 64 open files and serve did not say it cannot accept:\n\(serve.output)")
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
