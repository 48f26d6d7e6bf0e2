import FlyingFox
import FlyingSocks
import Foundation
import Synchronization

/// What reading one request from a connection gave.
enum RequestRead: Sendable {
    /// A whole request head, and the bytes that came after it.
    case request(HTTPRequest, hasBody: Bool, rest: [UInt8])
    /// The client closed the connection (or it failed) before a request began.
    case closed
    /// The head did not arrive in time; `partial` when some of it had.
    case timedOut(partial: Bool)
    /// The head grew past the limit before it ended.
    case tooLarge
    /// Not an HTTP/1.x request head; the text says what was wrong.
    case malformed(String)
}

/// Thrown by `withDeadline` when the time is up.
struct DeadlineExceeded: Error {}

/// `body`'s result, or `DeadlineExceeded` as soon as `seconds` have passed. `body` runs in a
/// task of its own that is then cancelled (a read or write waiting on a socket ends at once); the
/// caller does not wait for it, so a body that ignores cancellation cannot hold the caller past
/// the deadline.
func withDeadline<T: Sendable>(_ seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = Race<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.wait(with: continuation)
            race.add(Task {
                do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
            })
            race.add(Task {
                try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
                race.finish(.failure(DeadlineExceeded()))
            })
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first result of a body and its deadline; the other task is cancelled.
final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    func wait(with c: CheckedContinuation<T, any Error>) {
        let done = state.withLock { s -> Result<T, any Error>? in
            if s.result == nil { s.continuation = c }
            return s.result
        }
        if let done { c.resume(with: done) }
    }

    func add(_ task: Task<Void, Never>) {
        let finished = state.withLock { s -> Bool in
            if s.result == nil { s.tasks.append(task) }
            return s.result != nil
        }
        if finished { task.cancel() }
    }

    func finish(_ r: Result<T, any Error>) {
        let (c, running) = state.withLock { s -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard s.result == nil else { return (nil, []) }
            s.result = r
            defer { s.continuation = nil; s.tasks = [] }
            return (s.continuation, s.tasks)
        }
        for t in running { t.cancel() }
        c?.resume(with: r)
    }
}

/// Reads request heads of HTTP/1.0 and 1.1 from a connection. Only the head is read: `serve`
/// answers GET and HEAD, so a request that announces a body is answered and its connection
/// closed (the body is never read, and never taken for the next request).
enum RequestReader {
    /// The next request on `socket`: `pending` holds bytes already read past the previous one.
    /// The whole head must arrive within `timeout` seconds, however it is spread out.
    static func read(from socket: AsyncSocket, pending: [UInt8], limit: Int, timeout: TimeInterval) async -> RequestRead {
        let received = Counter(pending.count)
        do {
            return try await withDeadline(timeout) {
                var buffer = pending
                while true {
                    // Empty lines before a request line are ignored (RFC 9112 §2.2).
                    if let start = buffer.firstIndex(where: { $0 != 13 && $0 != 10 }), start > 0 { buffer.removeFirst(start) }
                    else if !buffer.isEmpty, buffer.allSatisfy({ $0 == 13 || $0 == 10 }) { buffer.removeAll() }
                    if let end = headEnd(in: buffer, limit: limit) {
                        return parse(Array(buffer[..<end]), rest: Array(buffer[end...]))
                    }
                    if buffer.count > limit { return .tooLarge }
                    let chunk: [UInt8]
                    do { chunk = try await socket.read(atMost: 4096) } catch is CancellationError { throw CancellationError() } catch {
                        return .closed
                    }
                    buffer += chunk
                    received.add(chunk.count)
                }
            }
        } catch {
            return .timedOut(partial: received.value > 0)
        }
    }

    /// The index just past the blank line that ends a head in `bytes` (CRLF CRLF, or bare LFs),
    /// looking no further than `limit` bytes.
    static func headEnd(in bytes: [UInt8], limit: Int) -> Int? {
        var i = 0
        let n = min(bytes.count, limit + 4)
        while i < n {
            if bytes[i] == 10 {
                if i + 1 < n, bytes[i + 1] == 10 { return i + 2 }
                if i + 2 < n, bytes[i + 1] == 13, bytes[i + 2] == 10 { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    /// The request a head (its bytes up to and including the blank line) makes.
    static func parse(_ head: [UInt8], rest: [UInt8]) -> RequestRead {
        // Split as bytes: in a Swift String "\r\n" is one Character, not "\r" then "\n".
        var lines: [Substring] = []
        for raw in head.split(separator: 10, omittingEmptySubsequences: false) {
            let bytes = raw.last == 13 ? raw.dropLast() : raw
            guard let line = String(bytes: bytes, encoding: .utf8) else { return .malformed("the request head is not UTF-8") }
            lines.append(Substring(line))
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { return .malformed("no request line") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenCharacter) else {
            return .malformed("the request line is not `METHOD /path HTTP/1.1`: \(requestLine.prefix(100))")
        }
        let version = String(parts[2])
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .malformed("unsupported version \(version.prefix(20))") }
        let target = parts[1]
        // Only the origin form (`/path?query`): an absolute URL or `*` names nothing here.
        guard target.hasPrefix("/"), !target.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 32 || $0 == 127 } ?? false }) else {
            return .malformed("the request target is not a path: \(target.prefix(100))")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            // A folded line (obsolete) or a field without a name is refused (RFC 9112 §5.2).
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  line[..<colon].allSatisfy(isTokenCharacter) else {
                return .malformed("a header line is not `Name: value`: \(line.prefix(100))")
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.addValue(value, for: HTTPHeader(String(line[..<colon])))
        }
        if version == "HTTP/1.1", headers.values(for: .host).count != 1 {
            return .malformed("an HTTP/1.1 request needs exactly one Host header")
        }
        let lengths = headers.values(for: .contentLength)
        var hasBody = headers[.transferEncoding] != nil
        if !lengths.isEmpty {
            guard lengths.count == 1, let length = Int(lengths[0]), length >= 0 else {
                return .malformed("Content-Length is not one number: \(lengths.joined(separator: ", ").prefix(40))")
            }
            hasBody = hasBody || length > 0
        }
        let split = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let request = HTTPRequest(method: HTTPMethod(String(parts[0])), version: HTTPVersion(version),
                                  target: HTTPRequest.Target(path: String(split[0]), query: split.count > 1 ? String(split[1]) : ""),
                                  headers: headers, body: HTTPBodySequence(data: Data()))
        return .request(request, hasBody: hasBody, rest: rest)
    }

    /// A character of an HTTP token (method, header name).
    static func isTokenCharacter(_ c: Character) -> Bool {
        guard let a = c.asciiValue, a > 32, a < 127 else { return false }
        return !"\"(),/:;<=>?@[\\]{}".contains(c)
    }

    /// Whether the connection stays open after answering `request`: HTTP/1.1 unless it says
    /// `close`, HTTP/1.0 only if it says `keep-alive`.
    static func keepsAlive(_ request: HTTPRequest) -> Bool {
        let tokens = request.headers.values(for: .connection)
            .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if request.version == .http11 { return !tokens.contains("close") }
        return tokens.contains("keep-alive")
    }
}

/// A count shared between a reading task and the one that gives up on it.
final class Counter: Sendable {
    private let count: Atomic<Int>
    init(_ start: Int = 0) { count = Atomic(start) }
    func add(_ n: Int) { count.wrappingAdd(n, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
