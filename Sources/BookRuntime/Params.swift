import Foundation

/// A type a chapter parameter can have: Int, Double, Bool or String, as typed in the YAML.
public protocol ParamRepresentable: Sendable {
    /// Converts the runner's text form (`type` is int, double, bool or string).
    static func fromParam(type: String, text: String) -> Self?
    static var paramTypeName: String { get }
}

extension Int: ParamRepresentable {
    public static func fromParam(type: String, text: String) -> Int? { type == "int" ? Int(text) : nil }
    public static var paramTypeName: String { "Int" }
}
extension Double: ParamRepresentable {
    public static func fromParam(type: String, text: String) -> Double? { type == "int" || type == "double" ? Double(text) : nil }
    public static var paramTypeName: String { "Double" }
}
extension Float: ParamRepresentable {
    public static func fromParam(type: String, text: String) -> Float? { type == "int" || type == "double" ? Float(text) : nil }
    public static var paramTypeName: String { "Float" }
}
extension Bool: ParamRepresentable {
    public static func fromParam(type: String, text: String) -> Bool? { type == "bool" ? Bool(text) : nil }
    public static var paramTypeName: String { "Bool" }
}
extension String: ParamRepresentable {
    public static func fromParam(type: String, text: String) -> String? { text }
    public static var paramTypeName: String { "String" }
}

/// The resolved parameters the runner passes (front matter defaults, profile, `--set`).
final class ParamStore: @unchecked Sendable {
    static let shared = ParamStore()
    /// name -> [type, text]: typed by the runner, so 1.0 stays a Double and `true` a Bool.
    let values: [String: [String]]
    /// True when the runner passed params (not a program run by hand).
    let fromRunner: Bool
    private init() {
        var values: [String: [String]] = [:]
        var fromRunner = false
        if let path = ProcessInfo.processInfo.environment["RNNBOOK_PARAMS"],
           let data = FileManager.default.contents(atPath: path),
           let object = try? JSONDecoder().decode([String: [String]].self, from: data) {
            values = object
            fromRunner = true
        }
        self.values = values
        self.fromRunner = fromRunner
    }
}

/// The chapter parameter `name` as resolved by the runner, or `defaultValue` when the chapter
/// runs by hand or does not declare it: `let h = param("num_hiddens", default: 512)`.
public func param<T: ParamRepresentable>(_ name: String, default defaultValue: T) -> T {
    let store = ParamStore.shared
    guard let raw = store.values[name], raw.count == 2 else {
        // A misspelt name would silently ignore the front matter and --set; say so instead.
        if store.fromRunner && name != "seed" {
            failBlock("param '\(name)' is not declared in the front matter's params (declared: \(store.values.keys.sorted().joined(separator: ", ")))")
        }
        return defaultValue
    }
    guard let value = T.fromParam(type: raw[0], text: raw[1]) else {
        failBlock("param '\(name)' is the \(raw[0]) \(raw[1]) but the code reads it as \(T.paramTypeName)")
    }
    return value
}

/// The run's seed: `--seed`, else the `seed` param, else 0.
public var bookSeed: Int { param("seed", default: 0) }
