import BookProtocol
import Engine
import Foundation

/// The result of checking one equation against bound values.
///
/// Errors are relative to the larger side: for each comparison `maxRelError` is
/// `max|lhs − rhs| / max(max|lhs|, max|rhs|)` (0 when both sides are exactly 0), so elements near
/// zero do not blow the ratio up. A check passes when every comparison has equal shapes (leading
/// extents of 1 ignored: a `[1, h]` row is an `[h]` vector, a `[h, 1]` column is not) and `maxRelError ≤ tolerance`, and every `\in \mathbb{R}^{…}` claim matches the
/// value's shape exactly (rank and order: a `[6, 1]` column is not in `\mathbb{R}^{1 \times 6}`).
public struct EquationVerdict: Sendable, Equatable {
    public var passed: Bool
    /// Largest `|lhs − rhs|` over all comparisons (0 for shape claims alone).
    public var maxAbsError: Double
    /// Largest relative error over all comparisons (see the type's documentation).
    public var maxRelError: Double
    public var tolerance: Double
    /// Shapes of the bound symbols the equation used; index families as `o(·)`.
    public var shapes: [String: [Int]]
    /// Value comparisons and shape claims made.
    public var comparisons: Int
    /// How many of the comparisons were `\in \mathbb{R}^{…}` shape claims.
    public var shapeClaims: Int
    /// What was expected and what was found (the first failure), or a summary when passed.
    public var message: String
    /// Failed comparisons by cause: values beyond the tolerance (same shapes), sides of
    /// different shapes, shape claims that do not match. An erratum is shown only by values
    /// (or a shape claim), never by two sides that cannot even be compared.
    public var valueFailures = 0
    public var shapeFailures = 0
    public var shapeClaimFailures = 0
}

/// The default relative tolerance for values computed in Double.
public let defaultEquationTolerance = 1e-6
/// The default when some bound value was computed in Float: rounding alone reaches ~1e-6 after a
/// few hundred accumulations, while the mistakes checks exist for (a transpose, an index) are O(1).
public let singlePrecisionEquationTolerance = 1e-4

/// A parsed equation, for callers that only want to know it is inside the subset (the build
/// checks every labelled equation before running code).
public struct ParsedEquation: Sendable {
    public let tex: String
    let statements: [Statement]
    /// Parses `tex`; throws a `MathError` with a column for malformed or unsupported TeX.
    public init(_ tex: String) throws(MathError) {
        self.tex = tex
        var parser = try Parser(tex: tex)
        statements = try parser.parseEquation()
        guard statements.contains(where: { !$0.relations.isEmpty }) else {
            throw MathError(.unsupported, column: 1, "nothing to check: the equation has no `=`, `\\approx`, `\\leftarrow` or `\\in`")
        }
    }
}

/// Evaluates both sides of every relation in `tex` with `bindings` and compares them.
///
/// Chains `a = b = c` compare each later side with the first; `\approx` and `\leftarrow` read as
/// `=`; `X \in \mathbb{R}^{n \times d}` checks the shape of `X` against the bound integers.
/// Throws `MathError` (with a column into `tex`) when the equation cannot be evaluated: unbound
/// symbols, shape mismatches inside an expression, TeX outside the subset.
public func checkEquation(_ tex: String, bindings: Bindings,
                          tolerance: Double = defaultEquationTolerance) throws(MathError) -> EquationVerdict {
    let equation = try ParsedEquation(tex)
    var evaluator = Evaluator(bindings: bindings)
    var maxAbs = 0.0, maxRel = 0.0, count = 0, claims = 0
    var valueFailures = 0, shapeFailures = 0, shapeClaimFailures = 0
    var failures: [String] = []
    var summaries: [String] = []
    for statement in equation.statements {
        var first: (value: Value, text: String)?
        var previous: (value: Value, text: String)?
        for (i, side) in statement.sides.enumerated() {
            let relation = i == 0 ? nil : statement.relations[i - 1]
            switch side {
            case .expression(let node):
                let v = try evaluator.evaluate(node)
                if i == 0 { first = (v, node.text) } else if let f = first {
                    count += 1
                    let c = compare(expected: f.value.tensor, got: v.tensor)
                    // A NaN difference must stay NaN in the report, not vanish under max().
                    maxAbs = maxKeepingNaN(maxAbs, c.abs)
                    maxRel = maxKeepingNaN(maxRel, c.rel)
                    if let problem = c.shapeProblem {
                        shapeFailures += 1
                        failures.append("`\(node.text)` has shape \(format(v.shape)), but `\(f.text)` has shape \(format(f.value.shape))\(problem)")
                    } else if !NumberComparison.isWithin(c.rel, tolerance) {
                        valueFailures += 1
                        failures.append("`\(node.text)` differs from `\(f.text)`: max |Δ| = \(format(c.abs)) at \(format(c.worst)) (expected \(format(c.expected)), got \(format(c.got))), relative \(format(c.rel)) > tolerance \(format(tolerance))")
                    } else {
                        summaries.append("`\(f.text)` = `\(node.text)`")
                    }
                }
                previous = (v, node.text)
            case .space(let dimensions, let column, let text):
                guard relation == nil, let subject = previous else {
                    throw MathError(.unsupported, column: column, "`\(text)` must follow `\\in` after an expression")
                }
                var dims: [Int] = []
                for d in dimensions { dims.append(try evaluator.integer(d)) }
                count += 1; claims += 1
                let claim = "\\mathbb{R}^{\(dimensions.map(\.text).joined(separator: " \\times "))} = \(format(dims))"
                // Rank and order count: a [6, 1] column is not in ℝ^{1×6}, a [6] vector not in ℝ^{1×6}.
                if subject.value.shape == dims {
                    summaries.append("`\(subject.text)` has shape \(format(subject.value.shape)) ∈ `\(claim)`")
                } else {
                    shapeClaimFailures += 1
                    failures.append("`\(subject.text)` has shape \(format(subject.value.shape)), but the equation claims `\(claim)`")
                }
                previous = nil
            }
        }
    }
    let passed = failures.isEmpty
    let errors = count > claims ? " (max |Δ| = \(format(maxAbs)), relative \(format(maxRel)), tolerance \(format(tolerance)))" : ""
    let message = passed
        ? "\(count == 1 ? "holds" : "all \(count) hold"): \(summaries.joined(separator: "; "))\(errors)"
        : failures.joined(separator: "; ")
    return EquationVerdict(passed: passed, maxAbsError: maxAbs, maxRelError: maxRel, tolerance: tolerance,
                           shapes: evaluator.shapes, comparisons: count, shapeClaims: claims, message: message,
                           valueFailures: valueFailures, shapeFailures: shapeFailures, shapeClaimFailures: shapeClaimFailures)
}

private func leadingOnesDropped(_ shape: [Int]) -> [Int] { Array(shape.drop { $0 == 1 }) }

private struct Comparison {
    var abs = 0.0, rel = 0.0
    var worst: [Int] = []
    var expected = 0.0, got = 0.0
    var shapeProblem: String?
}

private func compare(expected: Tensor<Double>, got: Tensor<Double>) -> Comparison {
    var c = Comparison()
    // A `[1, h]` row and an `[h]` vector hold the same numbers in the same order; a `[h, 1]`
    // column is another shape (leading 1s only are dropped).
    guard leadingOnesDropped(expected.shape) == leadingOnesDropped(got.shape) else {
        c.shapeProblem = ""
        c.abs = .infinity; c.rel = .infinity
        return c
    }
    var worstFlat = 0
    var scale = 0.0
    for i in 0..<expected.count {
        let a = expected.scalars[i], b = got.scalars[i]
        scale = max(scale, Swift.abs(a), Swift.abs(b))
        let d = Swift.abs(a - b)
        // NaN compares false; count it as the worst element.
        if d > c.abs || d.isNaN && !c.abs.isNaN { c.abs = d; worstFlat = i }
    }
    c.rel = c.abs == 0 ? 0 : c.abs / scale
    if expected.count > 0 {
        c.expected = expected.scalars[worstFlat]; c.got = got.scalars[worstFlat]
        var rest = worstFlat
        for s in Tensor<Double>.strides(of: expected.shape) { c.worst.append(rest / s); rest %= s }
    }
    return c
}

/// A value chapter code can bind to a symbol: tensors of either precision, numbers, variables.
public protocol MathValue {
    /// The value in Double, the precision checks run in.
    var mathTensor: Tensor<Double> { get }
    /// Whether the value was computed in single precision (checks then default to a looser tolerance).
    var isSinglePrecision: Bool { get }
}

extension Tensor: MathValue {
    public var mathTensor: Tensor<Double> { Scalar.self == Double.self ? self as! Tensor<Double> : Tensor<Double>(self) }
    public var isSinglePrecision: Bool { Scalar.self == Float.self }
}
extension Double: MathValue {
    public var mathTensor: Tensor<Double> { Tensor(self) }
    public var isSinglePrecision: Bool { false }
}
extension Float: MathValue {
    public var mathTensor: Tensor<Double> { Tensor(Double(self)) }
    public var isSinglePrecision: Bool { true }
}
extension Int: MathValue {
    public var mathTensor: Tensor<Double> { Tensor(Double(self)) }
    public var isSinglePrecision: Bool { false }
}
extension Variable: MathValue {
    /// The variable's current value (its gradient is bound separately, e.g. as `dL/dW`).
    public var mathTensor: Tensor<Double> { value.mathTensor }
    public var isSinglePrecision: Bool { value.isSinglePrecision }
}
