import Foundation

/// A param's value from front matter or `--set`, typed from its YAML form: the one type the
/// runner, the results and the program use. In results it is the plain JSON value (`512`, `0.1`,
/// `true`, `"x"`), so they read naturally; in the params file it carries its type (`ParamsFile`).
public enum ParamValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case int(Int), double(Double), bool(Bool), string(String)

    /// The YAML type's name, as messages say it: `int`, `double`, `bool`, `string`.
    public var typeName: String {
        switch self { case .int: "int"; case .double: "double"; case .bool: "bool"; case .string: "string" }
    }

    /// The value as the YAML would write it (a string without quotes).
    public var description: String {
        switch self {
        case .int(let v): "\(v)"
        case .double(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .string(let v): v
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) }
        else { self = .string(try c.decode(String.self)) }
    }
}

/// The chapter's resolved params as the runner hands them to the program (front matter defaults,
/// profile, `--set`, `--seed`), in the file `BookEnvironment.params` names.
///
/// Each value keeps its YAML type, so `1.0` stays a Double, `1` an Int and `true` a Bool, and
/// crosses as a JSON number, not as text to parse again: a Double arrives bit for bit (JSON
/// numbers are written in their shortest round-trip form, `-0` and subnormals included).
public struct ParamsFile: Codable, Sendable, Equatable {
    public typealias Value = ParamValue

    /// One value as the file writes it: a one-key object naming the type, `{"double": 0.1}`,
    /// `{"int": 3}` (a plain JSON number could not tell `1.0` from `1`: the encoder writes both as `1`).
    private struct Tagged: Codable {
        var value: ParamValue
        init(_ value: ParamValue) { self.value = value }
        private enum Key: String, CodingKey { case int, double, bool, string }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            switch value {
            case .int(let v): try c.encode(v, forKey: .int)
            case .double(let v): try c.encode(v, forKey: .double)
            case .bool(let v): try c.encode(v, forKey: .bool)
            case .string(let v): try c.encode(v, forKey: .string)
            }
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            guard c.allKeys.count == 1, let key = c.allKeys.first else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: c.codingPath,
                    debugDescription: "expected one of the keys int, double, bool, string; found \(c.allKeys.map(\.stringValue).sorted())"))
            }
            switch key {
            case .int: value = .int(try c.decode(Int.self, forKey: key))
            case .double: value = .double(try c.decode(Double.self, forKey: key))
            case .bool: value = .bool(try c.decode(Bool.self, forKey: key))
            case .string: value = .string(try c.decode(String.self, forKey: key))
            }
        }
    }

    private enum CodingKeys: String, CodingKey { case values }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(values.mapValues(Tagged.init), forKey: .values)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        values = try c.decode([String: Tagged].self, forKey: .values).mapValues(\.value)
    }

    /// Param name → value.
    public var values: [String: Value]

    public init(_ values: [String: Value]) { self.values = values }

    /// The file's bytes (keys sorted, so the same params give the same bytes).
    public func encoded() throws -> Data {
        let encoder = ChannelCoding.encoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    public init(decoding data: Data) throws {
        self = try ChannelCoding.decoder().decode(Self.self, from: data)
    }
}

/// What the runner tells the program about checkpoints, in the file `BookEnvironment.checkpoints`
/// names (see `checkpoint(_:_:)` in BookRuntime). Absent in a sandbox and when run by hand: every
/// checkpoint then simply runs its closure.
public struct CheckpointConfiguration: Codable, Sendable, Equatable {
    /// Folder of this chapter's checkpoints.
    public var directory: String
    /// Block index (as text) → key of everything up to and including that block.
    public var blockKeys: [String: String]
    /// `"block:line"` of a `checkpoint(` call (its Markdown line) → key of everything up to the
    /// end of that call.
    public var callKeys: [String: String]
    /// False under `--force`: compute every checkpoint again (and store the new values).
    public var restore: Bool
    /// Most stored values kept per checkpoint name; the least recently used go first.
    public var keepPerName: Int

    public init(directory: String, blockKeys: [String: String], callKeys: [String: String] = [:], restore: Bool, keepPerName: Int) {
        self.directory = directory; self.blockKeys = blockKeys; self.callKeys = callKeys
        self.restore = restore; self.keepPerName = keepPerName
    }

    /// The key of the `checkpoint(` call at Markdown `line` in `block`: the call's own key when
    /// the runner found the call, else its block's; nil when neither is known.
    public func key(block: Int, line: Int) -> String? {
        callKeys["\(block):\(line)"] ?? blockKeys[String(block)]
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    public init(decoding data: Data) throws {
        self = try JSONDecoder().decode(Self.self, from: data)
    }
}
