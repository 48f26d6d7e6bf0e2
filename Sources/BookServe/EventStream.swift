import FlyingFox
import FlyingSocks
import Foundation
import Synchronization

/// One server-sent event, framed as the EventSource specification reads it: an `event:` line,
/// one `data:` line per line of data (a bare CR or CRLF also ends a line there, so every line
/// break becomes its own `data:` line), and a blank line.
public struct ServerSentEvent: Equatable, Sendable {
    public var name: String?
    public var data: String

    public init(name: String? = nil, data: String) { self.name = name; self.data = data }

    public var encoded: String {
        var out = ""
        if let name {
            // A line break in the name would start a field of its own.
            out += "event: \(name.filter { $0 != "\n" && $0 != "\r" && $0 != "\r\n" })\n"
        }
        let lines = data.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        for line in lines { out += "data: \(line)\n" }
        return out + "\n"
    }

    /// A comment line: ignored by EventSource, but it keeps the connection (and its proxies)
    /// alive, and a write to a browser that has gone shows the connection is dead.
    public static let keepAlive = ": keep-alive\n\n"
}

/// The open event streams (one per open page) and what is broadcast to them.
public final class EventHub: Sendable {
    private let clients = Mutex<[UUID: AsyncStream<Data>.Continuation]>([:])

    public init() {}

    /// A new stream for one page; it ends when the connection closes.
    public func subscribe(first: [ServerSentEvent] = []) -> AsyncStream<Data> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingNewest(64))
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        // EventSource reconnects after `retry` milliseconds when the server restarts.
        continuation.yield(Data("retry: 1000\n\n".utf8))
        for event in first { continuation.yield(Data(event.encoded.utf8)) }
        clients.withLock { $0[id] = continuation }
        return stream
    }

    private func remove(_ id: UUID) { _ = clients.withLock { $0.removeValue(forKey: id) } }

    public var count: Int { clients.withLock { $0.count } }

    public func broadcast(_ event: ServerSentEvent) { send(Data(event.encoded.utf8)) }

    public func keepAlive() { send(Data(ServerSentEvent.keepAlive.utf8)) }

    private func send(_ data: Data) {
        for client in clients.withLock({ Array($0.values) }) { client.yield(data) }
    }
}

/// An event stream as a response body: FlyingFox sends each element as one HTTP chunk as soon as
/// it is yielded.
struct EventStreamBody: AsyncBufferedSequence, Sendable {
    typealias Element = UInt8
    let stream: AsyncStream<Data>

    func makeAsyncIterator() -> Iterator { Iterator(base: stream.makeAsyncIterator()) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        var base: AsyncStream<Data>.Iterator
        var leftover: [UInt8] = []

        mutating func next() async throws -> UInt8? {
            guard let buffer = try await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        /// The next event's bytes (or as many as `count` asks for); nil when the stream ended.
        mutating func nextBuffer(suggested count: Int) async throws -> [UInt8]? {
            while leftover.isEmpty {
                guard let data = await base.next() else { return nil }
                leftover = Array(data)
            }
            let n = Swift.max(1, Swift.min(count, leftover.count))
            defer { leftover.removeFirst(n) }
            return Array(leftover.prefix(n))
        }
    }
}
