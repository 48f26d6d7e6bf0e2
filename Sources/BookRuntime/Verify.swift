import BookProtocol
import Engine
import Foundation
import MathCheck

/// Symbols a chapter binds once for several equations (`bindSymbols`), merged into every
/// `verify`; a binding passed to `verify` itself wins over these.
private final class ChapterBindings: @unchecked Sendable {
    static let shared = ChapterBindings()
    let lock = NSLock()
    var values: [String: any MathValue] = [:]
    var functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:]
    var indexed: [String: (Int) -> any MathValue] = [:]
}

/// Binds symbols for every later `verify` in this chapter (e.g. the model's weights, once).
public func bindSymbols(_ values: [String: any MathValue],
                        functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                        indexed: [String: (Int) -> any MathValue] = [:]) {
    let store = ChapterBindings.shared
    store.lock.withLock {
        store.values.merge(values) { $1 }
        store.functions.merge(functions) { $1 }
        store.indexed.merge(indexed) { $1 }
    }
}

/// Checks the labelled display equation `label` against values from code, and reports the
/// verdict as a check on the page (a badge) and in the chapter's result.
///
/// Keys name symbols as the TeX does, in any spelling `canonicalSymbolName` accepts
/// (`"H_{t-1}"`, `"H_t-1"`, `"\\mathbf{H}_{t-1}"`, `"dL/dh"`); `Int` values bind integers
/// (indices, dimensions), other numbers and tensors bind values. `indexed` binds families used
/// with an integer subscript (`\mathbf{o}_{T+t-i}` looks up `indexed["o"](T+t-i)`);
/// `multiFunctions` binds functions of several arguments with their count
/// (`"f": (2, { a in … })` for `f(x_t, h_{t-1})`). The default
/// tolerance is relative 1e-6, or 1e-4 when any bound value is single precision.
/// Returns whether the check passed.
@discardableResult
public func verify(_ label: String, _ bindings: [String: any MathValue],
                   functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                   multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)] = [:],
                   indexed: [String: (Int) -> any MathValue] = [:],
                   tolerance: Double? = nil) -> Bool {
    let record = equationCheck(label, bindings, functions: functions, multiFunctions: multiFunctions,
                               indexed: indexed, tolerance: tolerance, judgeMutants: true).finding
    BookContext.shared.emit(.check(record))
    return record.passed
}

/// Checks that the labelled equation `label` does NOT hold for these values: an erratum, a
/// slip shown as it was written next to its correction. The check passes when the equation
/// fails (the page shows why, with the numbers) and fails the build when it holds. A failure
/// that proves nothing (a symbol or function the code did not bind) fails too.
/// Arguments as for `verify`. Returns whether the equation failed as expected.
@discardableResult
public func verifyFails(_ label: String, _ bindings: [String: any MathValue],
                        functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                        multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)] = [:],
                        indexed: [String: (Int) -> any MathValue] = [:],
                        tolerance: Double? = nil) -> Bool {
    let (check, error) = equationCheck(label, bindings, functions: functions, multiFunctions: multiFunctions,
                                       indexed: indexed, tolerance: tolerance, judgeMutants: false)
    var record = check
    record.kind = .expectError
    if BookContext.shared.equation(label) == nil {
        record.verdict = .failed
    } else if check.passed {
        record.verdict = .failed
        record.message = "expected `\(label)` not to hold (it is shown as a mistake), but it holds for these values: \(check.message)"
    } else if let error, error.kind == .unboundSymbol {
        record.verdict = .failed
        record.message = "could not evaluate `\(label)`, so its failure proves nothing: \(check.message)"
    } else {
        record.verdict = .passed
        record.message = "fails, as expected: \(check.message)"
    }
    BookContext.shared.emit(.check(record))
    return record.passed
}

/// The finding of one equation check (not emitted), and the evaluation error if there was one.
private func equationCheck(_ label: String, _ bindings: [String: any MathValue],
                           functions: [String: (Tensor<Double>) -> Tensor<Double>],
                           multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)],
                           indexed: [String: (Int) -> any MathValue],
                           tolerance: Double?, judgeMutants: Bool) -> (finding: Finding, error: MathError?) {
    let context = BookContext.shared
    guard let equation = context.equation(label) else {
        let known = context.equationLabels
        return (Finding(
            kind: .equation, label: label, passed: false,
            message: "no equation labelled `\(label)` in this chapter; labelled equations: \(known.isEmpty ? "none" : known.joined(separator: ", "))",
            block: context.currentBlock), nil)
    }
    let store = ChapterBindings.shared
    let (chapterValues, chapterFunctions, chapterIndexed) = store.lock.withLock { (store.values, store.functions, store.indexed) }
    var values = [String: any MathValue]()
    var functionTable = [String: (Tensor<Double>) -> Tensor<Double>]()
    var families = [String: (Int) -> any MathValue]()
    // Merge by canonical name so that `"W_xh"` given here replaces `"\\mathbf{W}_{xh}"` bound earlier.
    for (k, v) in chapterValues { values[canonicalSymbolName(k)] = v }
    for (k, v) in bindings { values[canonicalSymbolName(k)] = v }
    for (k, f) in chapterFunctions { functionTable[canonicalSymbolName(k)] = f }
    for (k, f) in functions { functionTable[canonicalSymbolName(k)] = f }
    for (k, f) in chapterIndexed { families[canonicalSymbolName(k)] = f }
    for (k, f) in indexed { families[canonicalSymbolName(k)] = f }

    var mathBindings = Bindings()
    var single = false
    for (name, value) in values {
        if let n = value as? Int { mathBindings.bind(name, integer: n); continue }
        single = single || value.isSinglePrecision
        mathBindings.bind(name, value.mathTensor)
    }
    for (name, f) in functionTable { mathBindings.bind(name, function: f) }
    for (name, f) in multiFunctions { mathBindings.bind(canonicalSymbolName(name), arguments: f.arguments, function: f.1) }
    for (name, family) in families { mathBindings.bind(name, indexed: { family($0).mathTensor }) }
    let tol = tolerance ?? (single ? singlePrecisionEquationTolerance : defaultEquationTolerance)

    var record: Finding
    do {
        let verdict = try checkEquation(equation.tex, bindings: mathBindings, tolerance: tol)
        let onlyShapes = verdict.shapeClaims == verdict.comparisons
        record = Finding(kind: onlyShapes ? .shape : .equation, label: label, passed: verdict.passed,
                             maxAbsError: onlyShapes ? nil : verdict.maxAbsError,
                             maxRelError: onlyShapes ? nil : verdict.maxRelError,
                             tolerance: onlyShapes ? nil : tol, shapes: verdict.shapes,
                             message: verdict.message, line: equation.line, block: context.currentBlock)
        record.file = equation.file
        if verdict.passed && judgeMutants {
            record.mutants = MutantJudge.shared.judge(label: label, tex: equation.tex, bindings: mathBindings, tolerance: tol)
        }
        return (record, nil)
    } catch {
        let shapes = values.mapValues { $0.mathTensor.shape }
        record = Finding(kind: .equation, label: label, passed: false, tolerance: tol, shapes: shapes,
                             message: "TeX column \(error.column): \(error.message)",
                             line: equation.line, block: context.currentBlock)
        record.file = equation.file
        return (record, error)
    }
}

/// The same check, spelled with a `bindings:` label.
@discardableResult
public func verify(_ label: String, bindings: [String: any MathValue],
                   functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                   multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)] = [:],
                   indexed: [String: (Int) -> any MathValue] = [:],
                   tolerance: Double? = nil) -> Bool {
    verify(label, bindings, functions: functions, multiFunctions: multiFunctions, indexed: indexed, tolerance: tolerance)
}

/// Compares the autodiff gradients of `loss` with central finite differences for every element
/// of `parameters` (in Double) and reports the verdict as a gradient check on the page.
///
/// The error measure is the engine's `gradientCheck`: the largest |a − n| / (|a| + |n|) per
/// parameter; the default tolerance is 1e-6. Returns whether the check passed.
@discardableResult
public func verifyGradient(of loss: () -> Variable<Double>, wrt parameters: [Variable<Double>],
                           label: String = "gradient check", tolerance: Double = 1e-6,
                           epsilon: Double = 1e-5) -> Bool {
    let context = BookContext.shared
    // gradientCheck resets gradients; chapter code reads them after checking, so keep them.
    let savedGradients = parameters.map(\.grad)
    let result = gradientCheck(of: loss, wrt: parameters, epsilon: epsilon)
    for (parameter, saved) in zip(parameters, savedGradients) { parameter.grad = saved }
    let worst = result.relativeErrors.indices.max { result.relativeErrors[$0] < result.relativeErrors[$1] }
    // NaN or infinite errors (a NaN gradient, a loss that overflowed) never pass.
    let passed = NumberComparison.isWithin(result.maxRelativeError, tolerance) && result.maxAbsoluteError.isFinite
    var shapes: [String: [Int]] = [:]
    for (i, p) in parameters.enumerated() { shapes["parameter \(i)"] = p.shape }
    let detail = result.relativeErrors.enumerated()
        .map { "parameter \($0.offset) \(p(parameters[$0.offset].shape)): \(String(format: "%.3g", $0.element))" }
        .joined(separator: ", ")
    let nonFinite = !result.maxRelativeError.isFinite || !result.maxAbsoluteError.isFinite
    let message = nonFinite
        ? "a gradient is NaN or infinite (autodiff or central differences): no tolerance accepts it (\(detail))"
        : passed
        ? "autodiff agrees with central differences for \(parameters.count) parameter\(parameters.count == 1 ? "" : "s"): largest relative error \(String(format: "%.3g", result.maxRelativeError)) ≤ \(String(format: "%.3g", tolerance))"
        : "autodiff differs from central differences: parameter \(worst ?? 0) has relative error \(String(format: "%.3g", result.maxRelativeError)) > tolerance \(String(format: "%.3g", tolerance)) (\(detail))"
    context.emit(.check(Finding(kind: .gradient, label: label, passed: passed,
                                    maxAbsError: result.maxAbsoluteError, maxRelError: result.maxRelativeError,
                                    tolerance: tolerance, shapes: shapes, message: message,
                                    block: context.currentBlock)))
    return passed
}

private func p(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

/// Judges the mutants of a passed equation check (`rnnbook check --mutate` reports them).
///
/// Each mutant is checked against the very values the original was checked with; it is killed
/// when its check fails or cannot be evaluated. Evaluating a mutant can crash the program (a
/// shifted index asks an indexed family for a step outside its array), so mutants are judged in
/// a forked child with its output discarded: a child that dies mid-way kills the mutant it was
/// judging, and a new child goes on from the next one. A mutant killed once stays killed for
/// later checks of the same label (a check inside a loop is judged at most once per mutant).
final class MutantJudge: @unchecked Sendable {
    static let shared = MutantJudge()
    private let lock = NSLock()
    private var killed: [String: Set<String>] = [:]

    func judge(label: String, tex: String, bindings: Bindings, tolerance: Double) -> [MutantVerdict] {
        guard let mutants = try? equationMutants(of: tex) else { return [] }
        let alreadyKilled = lock.withLock { killed[label] ?? [] }
        let pending = mutants.filter { !alreadyKilled.contains($0.tex) }
        let survived = Self.survivors(pending, bindings: bindings, tolerance: tolerance)
        lock.withLock {
            for (m, s) in zip(pending, survived) where !s { killed[label, default: []].insert(m.tex) }
        }
        let verdicts = Dictionary(zip(pending.map(\.tex), survived), uniquingKeysWith: { a, _ in a })
        return mutants.map { m in
            MutantVerdict(kind: m.kind.rawValue, description: m.description, column: m.column, survived: verdicts[m.tex] ?? false)
        }
    }

    /// Whether each mutant survived, judged in forked children (see the type's documentation).
    static func survivors(_ mutants: [EquationMutant], bindings: Bindings, tolerance: Double) -> [Bool] {
        var results: [Bool] = []
        while results.count < mutants.count {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return results + Array(repeating: false, count: mutants.count - results.count) }
            fflush(nil)
            let start = results.count
            let pid = fork()
            if pid == 0 {
                close(fds[0])
                // Quiet, and quick to die: no crash report, no backtrace, nothing on the page.
                let null = open("/dev/null", O_WRONLY)
                dup2(null, 1); dup2(null, 2)
                for sig in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT] { signal(sig) { _ in _exit(70) } }
                for m in mutants[start...] {
                    let passed = (try? checkEquation(m.tex, bindings: bindings, tolerance: tolerance))?.passed ?? false
                    var byte: UInt8 = passed ? 1 : 0
                    _ = write(fds[1], &byte, 1)
                }
                _exit(0)
            }
            close(fds[1])
            if pid < 0 { close(fds[0]); return results + Array(repeating: false, count: mutants.count - results.count) }
            var byte: UInt8 = 0
            while results.count < mutants.count {
                let n = read(fds[0], &byte, 1)
                if n == 1 { results.append(byte == 1); continue }
                if n < 0 && errno == EINTR { continue }
                break
            }
            close(fds[0])
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // The child died judging the next mutant: that mutant could not be evaluated, killed.
            if results.count < mutants.count { results.append(false) }
        }
        return results
    }
}
