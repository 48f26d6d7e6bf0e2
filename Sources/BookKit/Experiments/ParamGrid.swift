import BookProtocol
import Foundation

/// The params an experiment sets, from `--set` (`KEY=VALUE`, `KEY=V1,V2,…`, ranges): each key an
/// axis with its values in the order given, and the grid their every combination.
///
/// A value list is split at commas (`\,` is a comma inside a value). A range is
/// `FROM..TO+STEP` (add STEP until past TO: `10..50+10` is 10, 20, 30, 40, 50) or
/// `FROM..TO*FACTOR` (multiply: `32..256*2` is 32, 64, 128, 256); TO is included when the steps
/// land on it. Ranges and values mix: `lr=0.1,0.5..2+0.5`.
public struct ParamGrid: Sendable, Equatable {
    public struct Axis: Sendable, Equatable {
        public var key: String
        public var values: [String]
    }
    public var axes: [Axis]

    /// Most points one grid may have: a typo in a range must not start a million runs.
    public static let maxPoints = 1000

    public init(axes: [Axis]) { self.axes = axes }

    /// Parses `--set` assignments. Throws a `UsageError` that quotes the assignment for a missing
    /// `=`, an empty key or value, a key given twice, a malformed or empty range, or a grid of
    /// more than `maxPoints` points.
    public init(assignments: [String]) throws {
        var axes: [Axis] = []
        for assignment in assignments {
            guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
                throw UsageError("--set expects KEY=VALUE, got '\(assignment)'")
            }
            let key = String(assignment[..<eq]), spec = String(assignment[assignment.index(after: eq)...])
            if axes.contains(where: { $0.key == key }) {
                throw UsageError("--set \(key) is given twice; give its values once, separated by commas (--set \(key)=A,B)")
            }
            axes.append(Axis(key: key, values: try Self.values(of: spec, key: key)))
        }
        self.axes = axes
        let count = axes.reduce(1) { $0 * $1.values.count }
        if count > Self.maxPoints {
            throw UsageError("--set makes a grid of \(count) points (\(axes.map { "\($0.values.count) \($0.key)" }.joined(separator: " × "))); at most \(Self.maxPoints)")
        }
    }

    /// The values `spec` lists for `key`.
    static func values(of spec: String, key: String) throws -> [String] {
        // An empty value stays what it always was: an empty string (for a string param).
        if spec.isEmpty { return [""] }
        var items: [String] = []
        var current = ""
        for c in spec {
            // `\,` is a comma inside a value; any other backslash is the value's own.
            if c == ",", current.last == "\\" { current.removeLast(); current.append(",") }
            else if c == "," { items.append(current); current = "" }
            else { current.append(c) }
        }
        items.append(current)
        var out: [String] = []
        for item in items {
            if item.isEmpty {
                throw UsageError("--set \(key)=\(spec): an empty value in the list; give each value, separated by commas")
            }
            if let range = try range(item, key: key) { out += range } else { out.append(item) }
        }
        return out
    }

    /// The values of a range item, or nil when `item` is not one (it has no `..`).
    static func range(_ item: String, key: String) throws -> [String]? {
        guard let dots = item.range(of: "..") else { return nil }
        let from = String(item[..<dots.lowerBound]), rest = String(item[dots.upperBound...])
        let geometric = rest.contains("*")
        let parts = rest.split(separator: geometric ? "*" : "+", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let usage = "--set \(key)=\(item): a range is FROM..TO+STEP or FROM..TO*FACTOR (10..50+10, 32..256*2)"
        guard parts.count == 2, let a = Double(from), let b = Double(parts[0]), let s = Double(parts[1]),
              a.isFinite, b.isFinite, s.isFinite else { throw UsageError(usage) }
        let integral = [from, parts[0], parts[1]].allSatisfy { Int($0) != nil }
        if geometric {
            guard s > 1, a > 0 else { throw UsageError("\(usage); the FACTOR must be above 1 and FROM above 0, got \(parts[1]) and \(from)") }
        } else {
            guard s > 0 else { throw UsageError("\(usage); the STEP must be above 0, got \(parts[1])") }
        }
        guard a <= b else { throw UsageError("--set \(key)=\(item): the range is empty (\(from) is above \(parts[0]))") }
        var values: [String] = []
        var k = 0
        while true {
            let v = geometric ? a * pow(s, Double(k)) : a + s * Double(k)
            // A step that lands on TO up to rounding (0.1..0.3+0.1) includes it.
            guard v <= b + abs(b) * 1e-9 else { break }
            values.append(integral ? String(Int(v.rounded())) : Self.shortest(v))
            k += 1
            if values.count > maxPoints {
                throw UsageError("--set \(key)=\(item): the range has more than \(maxPoints) values")
            }
        }
        return values
    }

    /// `v` with at most 12 significant digits, in the shortest form that reads back the same
    /// (0.1 + 0.2 is written 0.3).
    static func shortest(_ v: Double) -> String {
        let rounded = Double(String(format: "%.12g", v)) ?? v
        return "\(rounded)"
    }

    /// The axes with more than one value.
    public var varied: [Axis] { axes.filter { $0.values.count > 1 } }

    /// Every combination of the axes' values, the first axis varying slowest.
    public var points: [[String: String]] {
        axes.reduce([[:]]) { partial, axis in
            partial.flatMap { point in axis.values.map { value in point.merging([axis.key: value]) { _, new in new } } }
        }
    }

    /// The assignments of one value per key, as `BuildSettings.overrides` takes them (nil when an axis varies).
    public var single: [String: String]? {
        guard varied.isEmpty else { return nil }
        return Dictionary(uniqueKeysWithValues: axes.map { ($0.key, $0.values[0]) })
    }
}
