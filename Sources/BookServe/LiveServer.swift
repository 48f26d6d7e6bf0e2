import BookKit
import FlyingFox
import FlyingSocks
import Foundation
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

    public func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
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

/// The HTTP server of `serve`, on 127.0.0.1 only.
public final class LiveServer: Sendable {
    let server: HTTPServer
    public let requestedPort: UInt16
    let hub: EventHub

    public init(port: UInt16, handler: BookHandler) throws {
        requestedPort = port
        hub = handler.hub
        server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: port), timeout: 30, logger: .disabled, handler: handler)
    }

    /// Starts listening and returns the port (the one asked for, or the one the system chose for
    /// port 0); throws a clear error when the port is taken. The server then runs on Swift's
    /// concurrency threads until the process ends.
    public func start() throws -> UInt16 {
        let outcome = StartOutcome()
        let server = self.server
        Task.detached {
            do { try await server.run() } catch { outcome.finish(.failure(error)) }
        }
        Task.detached {
            do {
                try await server.waitUntilListening(timeout: 10)
                if case .ip4(_, let port)? = await server.listeningAddress { outcome.finish(.success(port)) }
                else { outcome.finish(.success(self.requestedPort)) }
            } catch {
                outcome.finish(.failure(error))
            }
        }
        switch outcome.wait() {
        case .success(let port):
            let hub = self.hub
            // A comment every 15 s: a browser that has gone is noticed at the next write.
            Task.detached {
                while true {
                    try? await Task.sleep(nanoseconds: 15_000_000_000)
                    hub.keepAlive()
                }
            }
            return port
        case .failure(let error):
            if case SocketError.failed(_, let code, _) = error, code == EADDRINUSE {
                throw BookError("port \(requestedPort) on 127.0.0.1 is in use (another rnnbook serve, or another server); choose another with --port N")
            }
            throw BookError("cannot serve on 127.0.0.1:\(requestedPort): \(error.localizedDescription)")
        }
    }
}

/// The first of "listening" or "failed", handed from the server's tasks to the calling thread.
private final class StartOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<UInt16, any Error>?
    func finish(_ r: Result<UInt16, any Error>) {
        let first = lock.withLock { () -> Bool in
            guard result == nil else { return false }
            result = r
            return true
        }
        if first { done.signal() }
    }
    func wait() -> Result<UInt16, any Error> {
        done.wait()
        return lock.withLock { result! }
    }
}
