import BookKit
import FlyingFox
import FlyingSocks
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Answers every request of `serve`: the output folder's files (pages with the live script and,
/// for a failed chapter, its findings above the last good content), the script, the event
/// stream and the source view.
public struct BookHandler: HTTPHandler {
    public let output: URL
    public let state: LiveState
    public let hub: EventHub

    public init(output: URL, state: LiveState, hub: EventHub) {
        self.output = output; self.state = state; self.hub = hub
    }

    /// The response to `request`, with `SecurityHeaders` (the server adds them again to every
    /// response it writes, its own refusals included).
    public func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        var response = try await respond(to: request)
        SecurityHeaders.apply(to: &response.headers)
        return response
    }

    func respond(to request: HTTPRequest) async throws -> HTTPResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return text(.methodNotAllowed, "only GET and HEAD\n")
        }
        // A page elsewhere that rebinds its own host name to 127.0.0.1 must not read the book.
        if let host = request.headers[.host], !Self.isLocal(host: host) {
            return text(.forbidden, "rnnbook serve answers only requests for 127.0.0.1 or localhost\n")
        }
        guard request.method == .HEAD else { return try await answer(request) }
        // HEAD: the headers GET would send, no body (and no event stream).
        if request.path == LivePage.eventsPath {
            return HTTPResponse(statusCode: .ok, headers: headers("text/event-stream"))
        }
        var response = try await answer(request)
        let length = try await response.bodyData.count
        response.headers[.contentLength] = String(length)
        response.payload = .httpBody(HTTPBodySequence(data: Data()))
        return response
    }

    /// `127.0.0.1`, `localhost` or `[::1]`, with or without a port.
    static func isLocal(host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") { name = String(name.prefix { $0 != "]" }.dropFirst()) }
        else if let colon = name.lastIndex(of: ":") { name = String(name[..<colon]) }
        return ["127.0.0.1", "localhost", "::1"].contains(name)
    }

    func answer(_ request: HTTPRequest) async throws -> HTTPResponse {
        switch request.path {
        case LivePage.scriptPath:
            return HTTPResponse(statusCode: .ok, headers: headers("text/javascript; charset=utf-8"), body: Data(LivePage.script.utf8))
        case LivePage.stylePath:
            return HTTPResponse(statusCode: .ok, headers: headers("text/css; charset=utf-8"), body: Data(LivePage.style.utf8))
        case LivePage.eventsPath:
            let hello = ServerSentEvent(name: "hello", data: Self.json(["generations": state.generations]))
            var h = headers("text/event-stream")
            h[.cacheControl] = "no-store"
            return HTTPResponse(statusCode: .ok, headers: h,
                                body: HTTPBodySequence(from: EventStreamBody(stream: hub.subscribe(first: [hello]))))
        default:
            break
        }
        if request.path.hasPrefix(LivePage.sourcePrefix) {
            return source(String(request.path.dropFirst(LivePage.sourcePrefix.count)))
        }
        return file(request.path, asBuilt: request.query.contains { $0.name == "as-built" })
    }

    /// Only the book's own chapter files, by their exact path relative to the book root.
    func source(_ path: String) -> HTTPResponse {
        guard let chapter = state.chapter(path: path), let text = try? String(contentsOf: chapter.file, encoding: .utf8) else {
            return text(.notFound, "not a chapter of this book: \(path)\n")
        }
        let html = LivePage.inject(into: LivePage.sourceView(path: path, text: text, findings: chapter.findings),
                                   page: chapter.slug, generation: chapter.generation, panel: nil)
        return page(html)
    }

    func file(_ path: String, asBuilt: Bool) -> HTTPResponse {
        let name = path.split(separator: "/").last.map(String.init) ?? "index.html"
        guard let url = ServedPath.resolve(path, under: output) else {
            return missing(path)
        }
        guard url.pathExtension == "html" else {
            guard let data = try? Data(contentsOf: url) else { return missing(path) }
            return HTTPResponse(statusCode: .ok, headers: headers(ServedPath.contentType(of: name)), body: data)
        }
        let pageName = LivePage.pageName(forFile: url.lastPathComponent)
        let known = Set(state.all.map(\.path))
        let general = state.generalProblems
        if pageName == "index" {
            guard let html = try? String(contentsOf: url, encoding: .utf8) else { return missing(path) }
            let panel = LivePage.indexPanel(chapters: state.all, general: general, known: known)
            return page(LivePage.inject(into: html, page: "index", generation: state.generation(of: "index"), panel: panel))
        }
        guard let chapter = state.chapter(slug: pageName), url.lastPathComponent == "\(pageName).html", !asBuilt,
              !chapter.findings.isEmpty || !general.isEmpty else {
            guard let html = try? String(contentsOf: url, encoding: .utf8) else { return missing(path) }
            return page(LivePage.inject(into: html, page: pageName, generation: state.generation(of: pageName), panel: nil))
        }
        // A failed chapter: its findings, then the last version that passed when one is kept.
        let lastGood = url.deletingLastPathComponent().appendingPathComponent("\(pageName).last-good.html")
        let below: LivePage.Below
        let content: URL
        if !chapter.findings.isEmpty, FileManager.default.fileExists(atPath: lastGood.path) {
            content = lastGood
            below = .lastPassed(asBuilt: chapter.lastBuildWrotePage ? "\(pageName).html?as-built" : nil)
        } else {
            content = url
            below = chapter.findings.isEmpty || chapter.lastResultPassed == true ? .lastPassed(asBuilt: nil) : .asBuilt
        }
        guard let html = try? String(contentsOf: content, encoding: .utf8) else { return missing(path) }
        let panel = LivePage.panel(for: chapter, general: general, below: below, known: known)
        return page(LivePage.inject(into: html, page: pageName, generation: chapter.generation, panel: panel))
    }

    /// A page that does not exist: for a chapter (or the index) not yet written, a page that
    /// says why and reloads when it is; otherwise 404.
    func missing(_ path: String) -> HTTPResponse {
        let name = path.split(separator: "/").last.map(String.init) ?? "index.html"
        let trimmed = path.drop { $0 == "/" }
        guard !trimmed.contains("/"), name.hasSuffix(".html") || path == "/" else { return text(.notFound, "not found\n") }
        let pageName = path == "/" ? "index" : LivePage.pageName(forFile: name)
        if pageName == "index" {
            let html = LivePage.placeholder(title: "The book is being built; this page loads when the build finishes")
            return page(LivePage.inject(into: html, page: "index", generation: state.generation(of: "index"),
                                        panel: LivePage.indexPanel(chapters: state.all, general: state.generalProblems, known: Set(state.all.map(\.path)))),
                        status: .notFound)
        }
        guard let chapter = state.chapter(slug: pageName), name == "\(pageName).html" else { return text(.notFound, "not found\n") }
        let title = chapter.findings.isEmpty && chapter.builtAt == nil
            ? "\(chapter.path) is being built; this page loads when the build finishes" : chapter.path
        let panel = LivePage.panel(for: chapter, general: state.generalProblems, below: .nothing, known: Set(state.all.map(\.path)))
        return page(LivePage.inject(into: LivePage.placeholder(title: title), page: pageName, generation: chapter.generation, panel: panel),
                    status: .notFound)
    }

    func headers(_ type: String) -> HTTPHeaders {
        var h = HTTPHeaders()
        h[.contentType] = type
        // Every request asks again: a page can change at any build.
        h[.cacheControl] = "no-cache"
        return h
    }

    func page(_ html: String, status: HTTPStatusCode = .ok) -> HTTPResponse {
        var h = headers("text/html; charset=utf-8")
        h[.cacheControl] = "no-store"
        return HTTPResponse(statusCode: status, headers: h, body: Data(html.utf8))
    }

    func text(_ status: HTTPStatusCode, _ body: String) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: headers("text/plain; charset=utf-8"), body: Data(body.utf8))
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }
}

/// The HTTP server of `serve`, on 127.0.0.1 only: HTTP/1.1 on FlyingSocks' event loop, with the
/// request and response types of FlyingFox.
///
/// It has its own accept loop and connection handling, not FlyingFox's `HTTPServer`, whose loop
/// ends for good at the first failed accept (out of descriptors: EMFILE), accepts without limit,
/// and times out only the handler, never the reading of a request (a connection that sends half
/// a request, or nothing, is kept forever). Here a failed accept is retried with a growing pause
/// and said once on the terminal; at most `limits.maxConnections` connections are served at once
/// (the others wait in the kernel's queue); a request head that is not complete within
/// `limits.requestTimeout` of its connection's opening (or of the previous response) closes the
/// connection; and every response carries `SecurityHeaders`.
public final class LiveServer: Sendable {
    public let requestedPort: UInt16
    let handler: any HTTPHandler
    let hub: EventHub?
    public let limits: ServeLimits
    /// Where the server says that it cannot accept connections, and that it can again.
    let report: @Sendable (String) -> Void
    let slots: ConnectionSlots
    private let running = Guarded<(task: Task<Void, Never>, listener: Socket)?>(nil)

    public init(port: UInt16, handler: any HTTPHandler, hub: EventHub? = nil, limits: ServeLimits = ServeLimits(),
                report: @escaping @Sendable (String) -> Void) {
        requestedPort = port
        self.handler = handler
        self.hub = hub
        self.limits = limits
        self.report = report
        slots = ConnectionSlots(limit: limits.maxConnections)
    }

    public convenience init(port: UInt16, handler: BookHandler, report: @escaping @Sendable (String) -> Void) {
        self.init(port: port, handler: handler, hub: handler.hub, report: report)
    }

    /// Starts listening and returns the port (the one asked for, or the one the system chose for
    /// port 0); throws a clear error when the port is taken. The server then runs on Swift's
    /// concurrency threads until `stop()` or the end of the process.
    public func start() async throws -> UInt16 {
        let listener = try listen()
        let pool: some AsyncSocketPool = SocketPool.make()
        do {
            try await pool.prepare()
        } catch {
            try? listener.close()
            throw BookError("cannot serve on 127.0.0.1:\(requestedPort): \(Self.describe(error))")
        }
        var port = requestedPort
        if case .ip4(_, let actual)? = try? listener.sockname() { port = actual }
        let accepting: AsyncSocket
        do { accepting = try AsyncSocket(socket: listener, pool: pool) } catch {
            try? listener.close()
            throw BookError("cannot serve on 127.0.0.1:\(requestedPort): \(Self.describe(error))")
        }
        let task = Task.detached { [self] in await self.run(accepting, pool: pool, port: port) }
        running.set((task, listener))
        return port
    }

    /// `start()` for a caller outside Swift concurrency (the command line's main thread).
    public func startBlocking() throws -> UInt16 {
        let outcome = StartOutcome()
        Task.detached { [self] in
            do { outcome.finish(.success(try await self.start())) } catch { outcome.finish(.failure(error)) }
        }
        return try outcome.wait().get()
    }

    /// Stops accepting, closes every connection and waits until the server's tasks have ended.
    public func stop() async {
        guard let (task, listener) = running.take() else { return }
        task.cancel()
        await slots.close()
        await task.value
        try? listener.close()
    }

    /// Connections open now, and the most that were open at once.
    public var connectionCounts: (open: Int, peak: Int) {
        get async { await (slots.open, slots.peak) }
    }

    /// Returns once the accept loop waits for a connection to close (all slots taken).
    func untilFull() async { await slots.untilSomeoneWaits() }

    func listen() throws -> Socket {
        let socket: Socket
        do { socket = try Socket(domain: AF_INET) } catch {
            throw BookError("cannot serve on 127.0.0.1:\(requestedPort): \(Self.describe(error))")
        }
        do {
            Self.closeOnExec(socket)
            try socket.setValue(true, for: .localAddressReuse)
            try socket.bind(to: try sockaddr_in.inet(ip4: "127.0.0.1", port: requestedPort))
            try socket.listen()
            return socket
        } catch {
            try? socket.close()
            if case SocketError.failed(_, let code, _) = error, code == EADDRINUSE {
                throw BookError("port \(requestedPort) on 127.0.0.1 is in use (another rnnbook serve, or another server); choose another with --port N")
            }
            throw BookError("cannot serve on 127.0.0.1:\(requestedPort): \(Self.describe(error))")
        }
    }

    /// The accept loop, the socket pool's event loop, the event streams' keep-alive, and one
    /// task per connection, all ended together by `stop()`.
    func run(_ listener: AsyncSocket, pool: some AsyncSocketPool, port: UInt16) async {
        await withDiscardingTaskGroup { group in
            group.addTask { try? await pool.run() }
            if let hub {
                // A comment every 15 s: a browser that has gone is noticed at the next write.
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(nanoseconds: 15_000_000_000)
                        hub.keepAlive()
                    }
                }
            }
            var retryDelay: TimeInterval?  // set while accepting fails
            while !Task.isCancelled {
                guard await slots.acquire() else { break }
                let client: AsyncSocket
                do {
                    client = try await listener.accept()
                } catch {
                    await slots.release()
                    if Task.isCancelled { break }
                    // Out of descriptors (EMFILE, ENFILE), out of memory, or a connection that
                    // failed before it was accepted: the listening socket is still good. Once per
                    // episode on the terminal; the pause doubles up to the limit.
                    if retryDelay == nil {
                        report("serve: cannot accept connections on 127.0.0.1:\(port) (\(Self.describe(error))); "
                               + "retrying, at least every \(Self.seconds(limits.maxRetryDelay)), until it can")
                    }
                    let delay = retryDelay.map { min($0 * 2, limits.maxRetryDelay) } ?? limits.firstRetryDelay
                    retryDelay = delay
                    try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                    continue
                }
                if retryDelay != nil {
                    retryDelay = nil
                    report("serve: accepting connections on 127.0.0.1:\(port) again")
                }
                Self.closeOnExec(client.socket)
                group.addTask { [self] in
                    await self.serve(client)
                    try? client.close()
                    await self.slots.release()
                }
            }
            group.cancelAll()
        }
    }

    /// Answers the requests of one connection until it closes, fails, sends a bad or slow
    /// request, or asks to close.
    func serve(_ client: AsyncSocket) async {
        var pending: [UInt8] = []
        while !Task.isCancelled {
            let read = await RequestReader.read(from: client, pending: pending, limit: limits.maxRequestHead,
                                                timeout: limits.requestTimeout)
            switch read {
            case .closed:
                return
            case .timedOut(let partial):
                // An idle kept-alive connection just closes; half a request gets told why.
                if partial { await send(Self.plain(.requestTimeout, "the request did not arrive within \(Self.seconds(limits.requestTimeout))\n"), to: client, close: true) }
                return
            case .tooLarge:
                await send(Self.plain(.requestHeaderFieldsTooLarge, "the request head is longer than \(limits.maxRequestHead) bytes\n"), to: client, close: true)
                return
            case .malformed(let why):
                await send(Self.plain(.badRequest, "bad request: \(why)\n"), to: client, close: true)
                return
            case .request(let request, let hasBody, let rest):
                pending = rest
                let response = await answer(request)
                let close = hasBody || !RequestReader.keepsAlive(request)
                guard await send(response, to: client, close: close), !close else { return }
            }
        }
    }

    /// The handler's response, or 500 when it fails or takes longer than the limit.
    func answer(_ request: HTTPRequest) async -> HTTPResponse {
        let handler = self.handler
        do {
            return try await withDeadline(limits.handlerTimeout) { try await handler.handleRequest(request) }
        } catch is DeadlineExceeded {
            return Self.plain(.internalServerError, "the page took longer than \(Self.seconds(limits.handlerTimeout)) to make\n")
        } catch {
            return Self.plain(.internalServerError, "\(Self.describe(error))\n")
        }
    }

    /// Writes `response` (each write within the write timeout); false when the client is gone.
    @discardableResult
    func send(_ response: HTTPResponse, to client: AsyncSocket, close: Bool) async -> Bool {
        let head = Self.encodeHead(response, close: close)
        let timeout = limits.writeTimeout
        do {
            try await withDeadline(timeout) { try await client.write(head) }
            guard case .httpBody(let body) = response.payload else { return false }
            for try await chunk in body where !chunk.isEmpty {
                try await withDeadline(timeout) { try await client.write(chunk) }
            }
            return true
        } catch {
            return false
        }
    }

    /// The status line and header fields, with the security headers, the length (or chunked
    /// encoding for a body of unknown length, such as the event stream) and `Connection`.
    static func encodeHead(_ response: HTTPResponse, close: Bool) -> Data {
        var headers = response.headers
        SecurityHeaders.apply(to: &headers)
        headers.removeValue(.connection)
        headers.removeValue(.transferEncoding)
        if close { headers[.connection] = "close" }
        if case .httpBody(let body) = response.payload {
            if let count = body.count {
                if headers[.contentLength] == nil { headers[.contentLength] = String(count) }
            } else {
                headers[.contentLength] = nil
                headers[.transferEncoding] = "chunked"
            }
        }
        var lines = ["HTTP/1.1 \(response.statusCode.code) \(response.statusCode.phrase)"]
        for header in headers.keys.sorted(by: { $0.rawValue.lowercased() < $1.rawValue.lowercased() }) {
            for value in headers.values(for: header) {
                // A line break in a value would start a header of its own.
                lines.append("\(header.rawValue): \(value.filter { $0 != "\r" && $0 != "\n" && $0 != "\r\n" })")
            }
        }
        return Data((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    static func plain(_ status: HTTPStatusCode, _ body: String) -> HTTPResponse {
        var h = HTTPHeaders()
        h[.contentType] = "text/plain; charset=utf-8"
        h[.cacheControl] = "no-store"
        return HTTPResponse(statusCode: status, headers: h, body: Data(body.utf8))
    }

    /// A socket error as the system says it ("Too many open files"), anything else as described.
    static func describe(_ error: any Error) -> String {
        if case SocketError.failed(let call, let code, let message) = error { return "\(call.lowercased()): \(message) (errno \(code))" }
        if let e = error as? BookError { return e.description }
        return error.localizedDescription
    }

    static func seconds(_ s: TimeInterval) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.2g s", s)
    }

    /// Chapter programs that `serve` starts must not inherit the listening socket or a client's.
    static func closeOnExec(_ socket: Socket) {
        let fd = socket.file.rawValue
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }
}

/// The connection slots: `acquire` takes one or waits until one is released.
actor ConnectionSlots {
    let limit: Int
    private(set) var open = 0
    private(set) var peak = 0
    private var closed = false
    private var waiting: [CheckedContinuation<Bool, Never>] = []
    private var watchers: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    /// True with a slot taken; false when the server stopped.
    func acquire() async -> Bool {
        guard !closed else { return false }
        if open < limit {
            open += 1
            peak = max(peak, open)
            return true
        }
        for w in watchers { w.resume() }
        watchers = []
        // `release` hands its slot straight over, so `open` stays the same.
        return await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if !waiting.isEmpty, !closed { waiting.removeFirst().resume(returning: true) }
        else { open = max(0, open - 1) }
    }

    func close() {
        closed = true
        for w in waiting { w.resume(returning: false) }
        waiting = []
        for w in watchers { w.resume() }
        watchers = []
    }

    /// Returns once `acquire` waits (or the slots are closed).
    func untilSomeoneWaits() async {
        if !waiting.isEmpty || closed { return }
        await withCheckedContinuation { watchers.append($0) }
    }
}

/// A value behind a lock.
final class Guarded<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func set(_ v: Value) { value.withLock { $0 = v } }
    func get() -> Value { value.withLock { $0 } }
}

extension Guarded {
    func take<T>() -> T? where Value == T? {
        value.withLock { v in defer { v = nil }; return v }
    }
}

/// The outcome of `start()`, handed from its task to the calling thread.
private final class StartOutcome: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<UInt16, any Error>?>(nil)
    func finish(_ r: Result<UInt16, any Error>) {
        result.withLock { $0 = r }
        done.signal()
    }
    func wait() -> Result<UInt16, any Error> {
        done.wait()
        return result.withLock { $0! }
    }
}
