import Engine
import Foundation

// Named checks: what an exercise's ```swift check``` blocks say (they also work anywhere in a
// chapter). Each call reports one check through the side channel, with its name, verdict and
// the Markdown line of the call; the build counts it, and `rnnbook grade` prints it per
// submission. A failed check does not stop the block: later checks still run.

/// Checks that `condition` holds; `explanation` says what it means when it does not.
@discardableResult
public func expect(_ name: String, _ condition: Bool, _ explanation: @autoclosure () -> String = "",
                   file: String = #filePath, line: Int = #line, column: Int = #column) -> Bool {
    let detail = condition ? "" : explanation()
    return report(name, passed: condition, expected: "true", found: "\(condition)",
                  message: condition ? "holds" : "does not hold" + (detail.isEmpty ? "" : ": \(detail)"),
                  file: file, line: line, column: column)
}

/// Checks that `found` is within `tolerance` of `expected` (absolute); NaN and infinities never pass.
/// A tolerance above `ToleranceCeiling.ceiling(.claim, expected:)` (a tenth of `expected`) needs
/// `because:`, shown with the check.
@discardableResult
public func expect<T: BinaryFloatingPoint>(_ name: String, _ found: T, near expected: Double, tolerance: Double,
                                           because reason: String? = nil,
                                           file: String = #filePath, line: Int = #line, column: Int = #column) -> Bool {
    let value = Double(found)
    let comparison = NumberComparison(found: value, expected: expected, tolerance: .absolute(tolerance))
    var message = comparison.problem
        ?? "found \(value), expected \(expected) ± \(tolerance) (|Δ| = \(String(format: "%.3g", comparison.absoluteError)))"
    let ceiling = ToleranceCeiling.problem(.claim, tolerance: tolerance, expected: expected, reason: reason)
    if let ceiling { message = "\(ceiling) (\(message))" }
    return report(name, passed: comparison.passed && ceiling == nil, expected: "\(expected) ± \(tolerance)", found: "\(value)",
                  maxAbsError: comparison.absoluteError, tolerance: tolerance, reason: reason, message: message,
                  file: file, line: line, column: column)
}

/// Checks that `found` has the shape of `expected` and every element is within `tolerance` of
/// it (absolute); NaN and infinities never pass.
@discardableResult
public func expect<S: TensorScalar>(_ name: String, _ found: Tensor<S>, near expected: Tensor<S>, tolerance: Double,
                                    because reason: String? = nil,
                                    file: String = #filePath, line: Int = #line, column: Int = #column) -> Bool {
    let shapeText = { (s: [Int]) in "[" + s.map(String.init).joined(separator: ", ") + "]" }
    guard found.shape == expected.shape else {
        return report(name, passed: false, expected: "shape \(shapeText(expected.shape))", found: "shape \(shapeText(found.shape))",
                      message: "found shape \(shapeText(found.shape)), expected \(shapeText(expected.shape))", file: file, line: line, column: column)
    }
    // The first element outside the tolerance, else the largest difference.
    var worst = 0.0, worstIndex = 0
    var failing: (index: Int, error: Double)?
    for (i, (f, e)) in zip(found.scalars, expected.scalars).enumerated() {
        let c = NumberComparison(found: Double(f), expected: Double(e), tolerance: .absolute(tolerance))
        if !c.passed { if failing == nil { failing = (i, c.absoluteError) } }
        else if c.absoluteError > worst { worst = c.absoluteError; worstIndex = i }
    }
    let scale = expected.scalars.reduce(0.0) { Swift.max($0, Swift.abs(Double($1))) }
    let ceiling = ToleranceCeiling.problem(.claim, tolerance: tolerance, expected: scale, reason: reason)
    let passed = failing == nil && ceiling == nil
    if let failing { worstIndex = failing.index; worst = failing.error }
    let at = unravel(worstIndex, shape: found.shape)
    var message = failing == nil
        ? "all \(found.scalars.count) elements within \(tolerance); largest |Δ| = \(String(format: "%.3g", worst))"
        : "element \(at) is \(Double(found.scalars[worstIndex])), expected \(Double(expected.scalars[worstIndex])) ± \(tolerance)"
    if let ceiling { message = "\(ceiling) (\(message))" }
    return report(name, passed: passed, expected: "shape \(shapeText(expected.shape)), each element ± \(tolerance)",
                  found: failing == nil ? "largest |Δ| \(String(format: "%.3g", worst))" : "|Δ| \(String(format: "%.3g", worst)) at \(at)",
                  maxAbsError: worst, tolerance: tolerance, reason: reason, message: message, file: file, line: line, column: column)
}

/// Checks that `found == expected` (integers, strings, shapes, arrays …).
@discardableResult
public func expect<T: Equatable>(_ name: String, _ found: T, equals expected: T,
                                 file: String = #filePath, line: Int = #line, column: Int = #column) -> Bool {
    let passed = found == expected
    let f = shortened(String(describing: found)), e = shortened(String(describing: expected))
    return report(name, passed: passed, expected: e, found: f,
                  message: passed ? "equals \(e)" : "found \(f), expected \(e)", file: file, line: line, column: column)
}

/// A placeholder in an exercise's starter code: `let loss: Double = todo("the mean of …")`.
/// It compiles as any type, so the starter type-checks with the exercise's checks; run, it fails
/// its block saying which placeholder was left.
public func todo<T>(_ hint: String = "", file: String = #filePath, line: Int = #line) -> T {
    failBlock("\(file):\(line): not filled in yet (todo\(hint.isEmpty ? "" : ": \(hint)"))")
}

private func report(_ name: String, passed: Bool, expected: String?, found: String?, maxAbsError: Double? = nil,
                    tolerance: Double? = nil, reason: String? = nil, message: String, file: String, line: Int, column: Int) -> Bool {
    checkPrecondition(!name.trimmingCharacters(in: .whitespaces).isEmpty, "expect needs a check name (the first argument), found an empty one")
    let context = BookContext.shared
    var finding = Finding(kind: .expect, label: name, passed: passed, maxAbsError: maxAbsError, tolerance: tolerance,
                          message: message, block: context.currentBlock)
    finding.expected = expected
    finding.found = found
    finding.toleranceReason = reason
    emitCheck(finding, file: file, line: line, column: column)
    return passed
}

/// Emits a check at the place it was called from: `#sourceLocation` makes a caller's `#filePath`,
/// `#line` and `#column` the Markdown file, line and column of the call.
func emitCheck(_ finding: Finding, file: String, line: Int, column: Int) {
    var finding = finding
    finding.file = file
    finding.line = line
    finding.column = column
    BookContext.shared.emit(.check(finding))
}

private func shortened(_ s: String) -> String { s.count > 200 ? String(s.prefix(200)) + "…" : s }

private func unravel(_ flat: Int, shape: [Int]) -> String {
    var rest = flat
    var index: [Int] = []
    for d in shape.reversed() { index.insert(d > 0 ? rest % d : 0, at: 0); rest = d > 0 ? rest / d : 0 }
    return "[" + index.map(String.init).joined(separator: ", ") + "]"
}
