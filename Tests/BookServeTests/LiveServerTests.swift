@testable import BookKit
import FlyingFox
import Foundation
import Synchronization
import Testing
@testable import BookServe
#if canImport(Glibc)
import Glibc
#endif

/// A TCP client of 127.0.0.1 with blocking calls. Tests run them through `onThread`, never on
/// Swift's concurrency threads: the server under test needs those.
final class RawClient: Sendable {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BookError("socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw BookError("connect to 127.0.0.1:\(port): \(why)")
        }
    }

    deinit { Glibc.close(fd) }

    /// False once the server has closed the connection.
    @discardableResult func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Closes the client's side at once.
    func shut() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Reads until the server closes the connection (`closed`), or `limit` seconds pass
    /// without a byte (a bound for a test that fails, never a wait a passing test sits out).
    func readUntilClosed(limit: TimeInterval) -> (text: String, closed: Bool) {
        var out: [UInt8] = []
        while true {
            guard let chunk = read(limit: limit) else { return (String(decoding: out, as: UTF8.self), false) }
            if chunk.isEmpty { return (String(decoding: out, as: UTF8.self), true) }
            out += chunk
        }
    }

    /// One response (head and Content-Length body); nil if the connection closes first or no
    /// byte comes for `limit` seconds.
    func readResponse(limit: TimeInterval) -> String? {
        var out: [UInt8] = []
        while true {
            let text = String(decoding: out, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound]
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text[..<end.upperBound].utf8.count >= length { return text }
            }
            guard let chunk = read(limit: limit), !chunk.isEmpty else { return nil }
            out += chunk
        }
    }

    /// Bytes, [] at the end of the stream, nil after `limit` seconds without any.
    private func read(limit: TimeInterval) -> [UInt8]? {
        var tv = timeval(tv_sec: Int(limit), tv_usec: Int((limit - limit.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        if n > 0 { return Array(buffer[..<n]) }
        if n == 0 || errno == ECONNRESET { return [] }
        return nil
    }
}

/// `body` on a thread of its own.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// What a server said on the terminal.
final class Reports: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// Answers every request with its path.
struct EchoHandler: HTTPHandler {
    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: Data("ok \(request.path)\n".utf8))
    }
}

/// A started server on a free port, stopped after `body` whatever it does.
func withServer(_ handler: any HTTPHandler = EchoHandler(), limits: ServeLimits = ServeLimits(),
                _ body: (LiveServer, UInt16, Reports) async throws -> Void) async throws {
    let reports = Reports()
    let server = LiveServer(port: 0, handler: handler, limits: limits, report: { reports.add($0) })
    let port = try await server.start()
    do { try await body(server, port, reports) } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

@Suite("serve: the server stays up", .serialized)
struct LiveServerTests {
    @Test func answersRequestsOnAKeptAliveConnectionIncludingPipelinedOnes() async throws {
        // A long request deadline: in a full test run the server may wait for a thread for a while.
        try await withServer(limits: ServeLimits(requestTimeout: 300)) { _, port, _ in
            let client = try RawClient(port: port)
            // Two requests in one write; the second asks to close.
            client.send("GET /a?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let (text, closed) = await onThread { client.readUntilClosed(limit: 120) }
            #expect(closed)
            let a = try #require(text.range(of: "ok /a\n")), b = try #require(text.range(of: "ok /b\n"))
            #expect(a.upperBound <= b.lowerBound)
            #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
        }
    }

    /// Slowloris: the head comes a line every 100 ms and never ends. Only a deadline for the
    /// whole head closes it (a timeout between reads never fires).
    @Test func aHalfSentRequestIsClosedAfterTheTimeout() async throws {
        try await withServer(limits: ServeLimits(requestTimeout: 0.5)) { _, port, _ in
            let client = try RawClient(port: port)
            client.send("GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            let stop = Counter()
            Thread {
                for i in 0..<100 where stop.value == 0 {
                    Thread.sleep(forTimeInterval: 0.1)
                    if !client.send("X-Slow-\(i): 1\r\n") { return }
                }
            }.start()
            let (text, closed) = await onThread { client.readUntilClosed(limit: 120) }
            stop.add(1)
            #expect(closed, "the connection is still open 120 s after the last byte; the server sent: \(text)")
            #expect(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(text)")
            #expect(text.contains("Connection: close\r\n"))
        }
    }

    /// A connection that never sends a byte is closed without an answer (a browser's idle
    /// kept-alive connection must not get an unasked-for 408).
    @Test func anIdleConnectionIsClosedWithoutAnAnswer() async throws {
        try await withServer(limits: ServeLimits(requestTimeout: 0.3)) { _, port, _ in
            let client = try RawClient(port: port)
            let (text, closed) = await onThread { client.readUntilClosed(limit: 120) }
            #expect(closed && text.isEmpty, "closed: \(closed), sent: \(text)")
        }
    }

    /// Two connections held open fill a cap of two: the server waits for one to close before it
    /// accepts another, then serves every waiting one, never more than two at once.
    @Test func theConnectionCapHolds() async throws {
        try await withServer(limits: ServeLimits(maxConnections: 2, requestTimeout: 300)) { server, port, _ in
            var held: [RawClient] = []
            for i in 1...2 {
                let c = try RawClient(port: port)
                c.send("GET /held\(i) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let response = await onThread { c.readResponse(limit: 120) }
                #expect(response?.contains("ok /held\(i)") == true)
                held.append(c)
            }
            do {
                try await withDeadline(120) { await server.untilFull() }
            } catch {
                Issue.record("with two connections open the accept loop never waited for a slot: no cap")
            }
            let waiting = try (3...6).map { i in
                let c = try RawClient(port: port)
                c.send("GET /waiting\(i) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return (i, c)
            }
            #expect(await server.connectionCounts.open == 2)
            for c in held { c.shut() }
            await withTaskGroup(of: Void.self) { group in
                for (i, c) in waiting {
                    group.addTask {
                        let (text, closed) = await onThread { c.readUntilClosed(limit: 120) }
                        #expect(closed && text.contains("ok /waiting\(i)"), "connection \(i): \(text)")
                    }
                }
            }
            #expect(await server.connectionCounts.peak == 2)
        }
    }

    /// Every response, the server's own refusals included, says `nosniff` and the policy.
    @Test func everyResponseCarriesNosniffAndThePolicy() async throws {
        let dir = try TempFolder()
        try dir.write("output/index.html", "<!DOCTYPE html>\n<html><head></head>\n<body><p>contents</p></body></html>")
        try dir.write("output/assets/book.css", "body {}")
        let handler = BookHandler(output: dir.url.appendingPathComponent("output"), state: LiveState(), hub: EventHub())
        // Complete requests get a long deadline (in a full test run the server may wait for a
        // thread) and ask to close, so that the client reads to the end at once; only the
        // half-sent one, on a second server, meets a short deadline.
        func check(_ requests: [(String, String)], timeout: Double) async throws {
          try await withServer(handler, limits: ServeLimits(requestTimeout: timeout, maxRequestHead: 1024)) { _, port, _ in
            for (request, status) in requests {
                let client = try RawClient(port: port)
                client.send(request)
                let (text, _) = await onThread { client.readUntilClosed(limit: 120) }
                let head = text.components(separatedBy: "\r\n\r\n")[0]
                #expect(head.hasPrefix("HTTP/1.1 \(status) "), "\(request.prefix(40)): \(head)")
                #expect(head.contains("\r\nX-Content-Type-Options: nosniff"), "\(request.prefix(40)): \(head)")
                #expect(head.contains("\r\nContent-Security-Policy: \(SecurityHeaders.contentSecurityPolicy)"), "\(request.prefix(40)): \(head)")
            }
          }
        }
        try await check([
                ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "200"),
                ("GET /assets/book.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "200"),
                ("GET /_rnnbook/live.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "200"),
                ("HEAD /_rnnbook/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "200"),
                ("GET /missing.css HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "404"),
                ("GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", "403"),
                ("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nab", "405"),
                ("NOT HTTP\r\n\r\n", "400"),
                ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(String(repeating: "a", count: 2000))\r\n\r\n", "431"),
        ], timeout: 300)
        try await check([
                ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", "408")
        ], timeout: 0.5)
    }

    /// The policy lets the pages' own assets load and nothing inline run, except the search box's
    /// one handler, allowed by the hash of its exact text.
    @Test func thePolicyAllowsOnlyThePagesOwnAssets() throws {
        let csp = SecurityHeaders.contentSecurityPolicy
        let directives = Dictionary(uniqueKeysWithValues: csp.split(separator: ";").map { d -> (String, String) in
            let words = d.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            return (String(words[0]), words.count > 1 ? String(words[1]) : "")
        })
        #expect(directives["default-src"] == "'self'")
        #expect(directives["script-src"] == "'self' 'unsafe-hashes' '\(SecurityHeaders.searchBoxHandlerHash)'")
        #expect(directives["style-src"] == "'self'")
        #expect(directives["img-src"] == "'self' data:")
        #expect(directives["font-src"] == "'self'" && directives["connect-src"] == "'self'")
        #expect(directives["object-src"] == "'none'" && directives["frame-ancestors"] == "'none'")
        #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("*"))
        // The hash is of this handler's text; if the page's search box changes, so must the hash.
        #expect(SecurityHeaders.searchBoxHandler == "return false")
        #expect(SearchIndex.box.contains("onsubmit=\"\(SecurityHeaders.searchBoxHandler)\""))
        // The injected panel styles come from a file, not an inline <style>.
        let page = LivePage.inject(into: "<html><head></head><body><p>x</p></body></html>", page: "a", generation: 1, panel: nil)
        #expect(!page.contains("<style") && page.contains("href=\"\(LivePage.stylePath)\""))
    }

    /// The rest of the accept-recovery story is in `DescriptorExhaustionTests`: it needs a
    /// process of its own.
    @Test func requestHeadsAreParsedFromBytes() throws {
        guard case .request(let r, let hasBody, let rest) = RequestReader.parse(Array("GET /a%20b?q=1&r=2 HTTP/1.1\r\nHost: h\r\nX-A:  v \r\n\r\n".utf8), rest: [1]) else {
            Issue.record("not parsed"); return
        }
        #expect(r.method == .GET && r.path == "/a b" && r.query.map(\.name) == ["q", "r"])
        #expect(r.headers[HTTPHeader("x-a")] == "v" && !hasBody && rest == [1])
        let bad: [(String, String)] = [
            ("GET /\r\n\r\n", "request line"),
            ("GET http://evil/ HTTP/1.1\r\nHost: h\r\n\r\n", "not a path"),
            ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", "unsupported version"),
            ("GET / HTTP/1.1\r\n\r\n", "Host"),
            ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", "Name: value"),
            ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
        ]
        for (text, why) in bad {
            guard case .malformed(let message) = RequestReader.parse(Array(text.utf8), rest: []) else {
                Issue.record("accepted: \(text.debugDescription)"); continue
            }
            #expect(message.contains(why), "\(text.debugDescription): \(message)")
        }
    }
}
