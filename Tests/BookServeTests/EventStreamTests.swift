import Foundation
import Testing
@testable import BookServe

@Suite("serve: server-sent events")
struct EventStreamTests {
    @Test func framesANamedEventWithOneDataLinePerLine() {
        #expect(ServerSentEvent(name: "reload", data: #"{"pages":["a"]}"#).encoded == "event: reload\ndata: {\"pages\":[\"a\"]}\n\n")
        #expect(ServerSentEvent(data: "one\ntwo").encoded == "data: one\ndata: two\n\n")
        // CR and CRLF end lines for EventSource too: each must become its own data line, or a
        // bare CR would cut the event short.
        #expect(ServerSentEvent(data: "a\r\nb\rc").encoded == "data: a\ndata: b\ndata: c\n\n")
        #expect(ServerSentEvent(data: "").encoded == "data: \n\n")
        #expect(ServerSentEvent(data: "x\n").encoded == "data: x\ndata: \n\n")
        // A line break in a name cannot start a field of its own.
        #expect(ServerSentEvent(name: "re\nload", data: "x").encoded == "event: reload\ndata: x\n\n")
        #expect(ServerSentEvent.keepAlive.hasPrefix(":") && ServerSentEvent.keepAlive.hasSuffix("\n\n"))
    }

    @Test func aSubscriberGetsTheRetryTheGreetingThenEveryBroadcastInOrder() async throws {
        let hub = EventHub()
        let stream = hub.subscribe(first: [ServerSentEvent(name: "hello", data: "{}")])
        #expect(hub.count == 1)
        hub.broadcast(ServerSentEvent(name: "building", data: "1"))
        hub.broadcast(ServerSentEvent(name: "reload", data: "2"))
        var iterator = EventStreamBody(stream: stream).makeAsyncIterator()
        var text = ""
        while !text.hasSuffix("data: 2\n\n") {
            let chunk = try #require(try await iterator.nextBuffer(suggested: 4096))
            text += String(decoding: chunk, as: UTF8.self)
        }
        #expect(text == "retry: 1000\n\nevent: hello\ndata: {}\n\nevent: building\ndata: 1\n\nevent: reload\ndata: 2\n\n")
    }

    @Test func aSmallBufferGetsAnEventInPiecesWithoutLosingBytes() async throws {
        let hub = EventHub()
        var iterator = EventStreamBody(stream: hub.subscribe()).makeAsyncIterator()
        hub.broadcast(ServerSentEvent(name: "reload", data: "abcdef"))
        var bytes: [UInt8] = []
        let expected = Array("retry: 1000\n\nevent: reload\ndata: abcdef\n\n".utf8)
        while bytes.count < expected.count {
            let chunk = try #require(try await iterator.nextBuffer(suggested: 5))
            #expect(chunk.count <= 5)
            bytes += chunk
        }
        #expect(bytes == expected)
    }

    @Test func aClosedStreamLeavesTheHub() async throws {
        let hub = EventHub()
        do {
            let stream = hub.subscribe()
            #expect(hub.count == 1)
            _ = stream
        }
        // The stream is gone (its connection closed): the hub forgets it.
        #expect(hub.count == 0)
    }
}
