/// Seals the side channel's lines so that only rnnbook's runtime can write them.
///
/// A chapter program reports its verdicts on an inherited file descriptor. Code inside the
/// program (a student's submission above all) can write to that descriptor as well, so each
/// line carries a tag: SipHash-2-4, keyed with 128 random bits the runner hands the runtime
/// once at start-up on a pipe that is closed right after, over the line's sequence number and
/// its JSON. A line someone else wrote has no valid tag; a line repeated or removed breaks the
/// sequence. Line format: 16 lowercase hex digits, a space, the JSON.
///
/// SipHash rather than HMAC-SHA-256 from swift-crypto: it is a keyed function designed for
/// short messages, small enough to keep here (the chapter programs link this module and
/// should not need BoringSSL), and checked below against the reference test vectors.
public struct ChannelSeal: Sendable, Equatable {
    public let key: (UInt64, UInt64)

    public init(key0: UInt64, key1: UInt64) { key = (key0, key1) }

    /// 16 key bytes, little-endian words, as the reference implementation reads them.
    public init?(keyBytes: [UInt8]) {
        guard keyBytes.count == 16 else { return nil }
        func word(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(keyBytes[at + $1]) << (8 * UInt64($1)) } }
        key = (word(0), word(8))
    }

    public var keyBytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: key.0 >> (8 * UInt64($0))) } + (0..<8).map { UInt8(truncatingIfNeeded: key.1 >> (8 * UInt64($0))) }
    }

    public static func == (a: ChannelSeal, b: ChannelSeal) -> Bool { a.key == b.key }

    /// A fresh random key (the system's generator: a secret, not a seeded experiment).
    public static func random() -> ChannelSeal {
        var g = SystemRandomNumberGenerator()
        return ChannelSeal(key0: g.next(), key1: g.next())
    }

    /// The tag of line number `sequence` (0 for the first) with JSON `body`.
    public func tag(sequence: UInt64, body: some Collection<UInt8>) -> UInt64 {
        var message = [UInt8]()
        message.reserveCapacity(8 + body.count)
        for i in 0..<8 { message.append(UInt8(truncatingIfNeeded: sequence >> (8 * UInt64(i)))) }
        message.append(contentsOf: body)
        return Self.sipHash24(key: key, message)
    }

    /// The sealed line (without its newline).
    public func seal(sequence: UInt64, body: [UInt8]) -> [UInt8] {
        Array(Self.hex(tag(sequence: sequence, body: body)).utf8) + [0x20] + body
    }

    /// The JSON of a sealed line, if its tag is right for `sequence`; nil otherwise.
    public func open(sequence: UInt64, line: some Collection<UInt8>) -> ArraySlice<UInt8>? {
        let bytes = Array(line)
        guard bytes.count > 17, bytes[16] == 0x20, let tag = UInt64(String(decoding: bytes[0..<16], as: UTF8.self), radix: 16) else { return nil }
        let body = bytes[17...]
        return self.tag(sequence: sequence, body: body) == tag ? body : nil
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// SipHash-2-4 (Aumasson and Bernstein, 2012).
    public static func sipHash24(key: (UInt64, UInt64), _ message: [UInt8]) -> UInt64 {
        var v0: UInt64 = 0x736f6d6570736575 ^ key.0
        var v1: UInt64 = 0x646f72616e646f6d ^ key.1
        var v2: UInt64 = 0x6c7967656e657261 ^ key.0
        var v3: UInt64 = 0x7465646279746573 ^ key.1
        func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }
        func round() {
            v0 &+= v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 &+= v3; v3 = rotl(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rotl(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        }
        let full = message.count / 8 * 8
        var i = 0
        while i < full {
            var m: UInt64 = 0
            for k in 0..<8 { m |= UInt64(message[i + k]) << (8 * UInt64(k)) }
            v3 ^= m; round(); round(); v0 ^= m
            i += 8
        }
        var last = UInt64(message.count & 0xff) << 56
        for k in 0..<(message.count - full) { last |= UInt64(message[full + k]) << (8 * UInt64(k)) }
        v3 ^= last; round(); round(); v0 ^= last
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

/// How the runner hands a chapter program its side channel: the channel is open on
/// `channelDescriptor` and the 16 key bytes wait on a pipe at `keyDescriptor`; the environment
/// variable `BookEnvironment.channel` says so (a program run by hand has neither, and its events
/// are dropped).
public enum ChannelHandoff {
    public static let channelDescriptor: Int32 = 3
    public static let keyDescriptor: Int32 = 4
}
