import BookProtocol
import Foundation

/// A type a chapter parameter can be read as: Int, Double, Float, Bool or String.
public protocol ParamRepresentable: Sendable {
    /// The param's value as this type, or nil when a param of that YAML type cannot be read as it.
    init?(param value: ParamsFile.Value)
    static var paramTypeName: String { get }
}

extension Int: ParamRepresentable {
    public init?(param value: ParamsFile.Value) {
        guard case .int(let v) = value else { return nil }
        self = v
    }
    public static var paramTypeName: String { "Int" }
}
extension Double: ParamRepresentable {
    /// An int param reads as a Double too (`lr: 1` and `lr: 1.0` mean the same rate).
    public init?(param value: ParamsFile.Value) {
        switch value {
        case .int(let v): self = Double(v)
        case .double(let v): self = v
        default: return nil
        }
    }
    public static var paramTypeName: String { "Double" }
}
extension Float: ParamRepresentable {
    /// Rounded to the nearest Float.
    public init?(param value: ParamsFile.Value) {
        guard let v = Double(param: value) else { return nil }
        self = Float(v)
    }
    public static var paramTypeName: String { "Float" }
}
extension Bool: ParamRepresentable {
    public init?(param value: ParamsFile.Value) {
        guard case .bool(let v) = value else { return nil }
        self = v
    }
    public static var paramTypeName: String { "Bool" }
}
extension String: ParamRepresentable {
    /// Any param reads as a String: its value as the YAML writes it.
    public init?(param value: ParamsFile.Value) { self = value.description }
    public static var paramTypeName: String { "String" }
}

/// Why a param could not be read as the chapter code asked.
struct ParamError: Error, Equatable, CustomStringConvertible {
    var description: String
}

extension BookContext {
    /// The param `name` as `T`, `defaultValue` when run by hand (and for `seed`, which a chapter
    /// need not declare); an error when the runner's params lack it (a misspelt name would
    /// silently ignore the front matter and `--set`), hold another type, or could not be read.
    func param<T: ParamRepresentable>(_ name: String, default defaultValue: T) -> Result<T, ParamError> {
        let values: [String: ParamsFile.Value]
        switch params {
        case .byHand: return .success(defaultValue)
        case .unreadable(let why): return .failure(ParamError(description: "param '\(name)': \(why)"))
        case .runner(let file): values = file.values
        }
        guard let value = values[name] else {
            if name == "seed" { return .success(defaultValue) }
            return .failure(ParamError(description: "param '\(name)' is not declared in the front matter's params (declared: \(values.keys.sorted().joined(separator: ", ")))"))
        }
        guard let typed = T(param: value) else {
            return .failure(ParamError(description: "param '\(name)' is the \(value.typeName) \(value) but the code reads it as \(T.paramTypeName)"))
        }
        return .success(typed)
    }
}

/// The chapter parameter `name` as resolved by the runner, or `defaultValue` when the chapter
/// runs by hand: `let h = param("num_hiddens", default: 512)`. A name the front matter does not
/// declare, or a value the code reads as another type, fails the block at the call.
public func param<T: ParamRepresentable>(_ name: String, default defaultValue: T,
                                         file: String = #filePath, line: Int = #line, column: Int = #column) -> T {
    switch BookContext.shared.param(name, default: defaultValue) {
    case .success(let value): return value
    case .failure(let error): failBlock(place(file, line, column) + error.description)
    }
}

/// The run's seed: `--seed`, else the `seed` param, else 0.
public var bookSeed: Int { param("seed", default: 0) }
