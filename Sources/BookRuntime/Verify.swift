import BookProtocol
import Engine
import Foundation
import MathCheck
import Synchronization

/// Symbols a chapter binds once for several equations (`bindSymbols`), merged into every
/// `verify`; a binding passed to `verify` itself wins over these. Values are kept as closures and
/// read at each check, so a symbol is never filled in from a value the chapter has since replaced.
///
/// Kept in `BookContext.bindings`, a `Mutex`. Unchecked Sendable for the closures only: they are
/// the chapter's code, bound and called on the one thread that runs the chapter, and a check
/// copies them out of the mutex to call them with the lock released.
struct ChapterBindingTable: @unchecked Sendable {
    var values: [String: () -> any MathValue] = [:]
    var functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:]
    var indexed: [String: (Int) -> any MathValue] = [:]
}

/// Binds symbols for every later `verify` in this chapter (e.g. the model's weights, once):
/// `bindSymbols(["W_hh": { model.whh.value }, "T": { steps }])`. Each value is read when a check
/// uses it, never when it is bound, so a later check sees what the code holds then; each check's
/// message names the chapter-wide symbols it used.
public func bindSymbols(_ values: [String: () -> any MathValue],
                        functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                        indexed: [String: (Int) -> any MathValue] = [:]) {
    let more = ChapterBindingTable(values: values, functions: functions, indexed: indexed)
    BookContext.shared.bindings.withLock { table in
        table.values.merge(more.values) { $1 }
        table.functions.merge(more.functions) { $1 }
        table.indexed.merge(more.indexed) { $1 }
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
/// tolerance is relative 1e-6, or 1e-4 when any bound value is single precision; a tolerance above
/// `ToleranceCeiling.equation` needs `because:` (shown on the badge). `survivors` acknowledges
/// mutants that these values cannot tell apart from the equation (keys as `check --mutate`
/// describes them, values the reason, shown beside the equation).
/// Returns whether the check passed.
@discardableResult
public func verify(_ label: String, _ bindings: [String: any MathValue],
                   functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                   multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)] = [:],
                   indexed: [String: (Int) -> any MathValue] = [:],
                   tolerance: Double? = nil, because reason: String? = nil,
                   survivors: [String: String] = [:]) -> Bool {
    var (record, _, verdict) = equationCheck(label, bindings, functions: functions, multiFunctions: multiFunctions,
                                             indexed: indexed, tolerance: tolerance)
    if let tolerance, let problem = ToleranceCeiling.problem(.equation, tolerance: tolerance, reason: reason) {
        record.verdict = .failed
        record.message = "\(problem) (the check itself: \(record.message))"
    }
    record.toleranceReason = reason
    if record.passed, let verdict {
        // Mutants are judged as the equation was: its TeX, bindings and tolerance.
        let mutants = BookContext.shared.mutantJudge.judge(label: label, tex: verdict.tex, bindings: verdict.bindings,
                                                           tolerance: verdict.verdict.tolerance)
        let described = Set(mutants.map(\.description))
        let unknown = survivors.keys.filter { !described.contains($0) }.sorted()
        if !unknown.isEmpty {
            record.verdict = .failed
            record.message = "survivors: names \(unknown.map { "'\($0)'" }.joined(separator: ", ")), which \(unknown.count == 1 ? "is" : "are") not a mutant of \(label); its mutants are: \(mutants.map(\.description).joined(separator: "; "))"
        }
        record.mutants = mutants.map { m in
            var m = m
            if let why = survivors[m.description] { m.acknowledged = why }
            return m
        }
    } else if !survivors.isEmpty && record.passed {
        record.verdict = .failed
        record.message = "survivors: given, but \(label) has no mutants to acknowledge"
    }
    BookContext.shared.emit(.check(record))
    return record.passed
}

/// How far an erratum must be from holding, relative to the tolerance it is judged at: a slip
/// shown by values disagrees by orders of magnitude, not by rounding.
public let erratumMargin = 1000.0

/// Checks that the labelled equation `label` does NOT hold for these values: an erratum, a
/// slip shown as it was written next to its correction. The check passes only when the equation
/// evaluates and its sides disagree by value, by at least `erratumMargin` × the tolerance (which
/// may not be tighter than the default); or when a shape claim in it does not match; or when it
/// uses a set as an operand (`\mathbb{R}^{…}` where `\in` was meant), which is no statement at
/// all. It fails the build when the equation holds, and when its failure proves nothing about
/// the slip: an unbound symbol or function, a wrong number of arguments, sides of different
/// shapes, TeX outside the subset. Arguments as for `verify`. Returns whether the equation failed
/// as expected.
@discardableResult
public func verifyFails(_ label: String, _ bindings: [String: any MathValue],
                        functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                        multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)] = [:],
                        indexed: [String: (Int) -> any MathValue] = [:],
                        tolerance: Double? = nil) -> Bool {
    let (check, error, verdict) = equationCheck(label, bindings, functions: functions, multiFunctions: multiFunctions,
                                                indexed: indexed, tolerance: tolerance)
    var record = check
    record.kind = .expectError
    let tol = verdict?.verdict.tolerance ?? record.tolerance ?? defaultEquationTolerance
    let cannot = "cannot show this erratum by its values, so its failure proves nothing about the slip"
    if BookContext.shared.equation(label) == nil {
        record.verdict = .failed
    } else if let tolerance, tolerance < defaultEquationTolerance {
        record.verdict = .failed
        record.message = "an erratum is judged at a tolerance no tighter than the default \(formatTolerance(defaultEquationTolerance)); `tolerance: \(formatTolerance(tolerance))` would count rounding as the slip"
    } else if check.passed {
        record.verdict = .failed
        record.message = "expected `\(label)` not to hold (it is shown as a mistake), but it holds for these values: \(check.message)"
    } else if let error {
        if error.kind == .setAsOperand {
            record.verdict = .passed
            record.message = "fails, as expected: it is not a statement about any value: \(check.message)"
        } else {
            record.verdict = .failed
            record.message = "\(cannot) (\(error.kind == .unboundSymbol ? "a symbol or function the code did not bind" : error.kind.rawValue)): \(check.message)"
        }
    } else if let verdict = verdict?.verdict, verdict.shapeFailures > 0 {
        record.verdict = .failed
        record.message = "\(cannot) (its two sides have different shapes, so no value was compared): \(check.message)"
    } else if let verdict = verdict?.verdict, verdict.shapeClaimFailures == 0,
              !(verdict.maxRelError >= erratumMargin * tol) {
        record.verdict = .failed
        record.message = "\(cannot): its sides differ by relative \(formatTolerance(verdict.maxRelError)), less than \(Int(erratumMargin))× the tolerance \(formatTolerance(tol)); a slip shows by far more than that (\(check.message))"
    } else {
        record.verdict = .passed
        record.message = "fails, as expected: \(check.message)"
    }
    BookContext.shared.emit(.check(record))
    return record.passed
}

/// What one evaluation of an equation gave: its TeX, the verdict and the bindings it used (for mutants).
private struct EvaluatedEquation {
    var tex: String
    var verdict: EquationVerdict
    var bindings: Bindings
}

/// The finding of one equation check (not emitted), the evaluation error if there was one, and
/// the verdict when it evaluated.
private func equationCheck(_ label: String, _ bindings: [String: any MathValue],
                           functions: [String: (Tensor<Double>) -> Tensor<Double>],
                           multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)],
                           indexed: [String: (Int) -> any MathValue],
                           tolerance: Double?) -> (finding: Finding, error: MathError?, verdict: EvaluatedEquation?) {
    let context = BookContext.shared
    guard let equation = context.equation(label) else {
        let known = context.equationLabels
        return (Finding(
            kind: .equation, label: label, passed: false,
            message: "no equation labelled `\(label)` in this chapter; labelled equations: \(known.isEmpty ? "none" : known.joined(separator: ", "))",
            block: context.currentBlock), nil, nil)
    }
    let table = context.bindings.withLock { $0 }
    let (chapterValues, chapterFunctions, chapterIndexed) = (table.values, table.functions, table.indexed)
    var values = [String: any MathValue]()
    var functionTable = [String: (Tensor<Double>) -> Tensor<Double>]()
    var families = [String: (Int) -> any MathValue]()
    // Merge by canonical name so that `"W_xh"` given here replaces `"\\mathbf{W}_{xh}"` bound earlier.
    // Names that come from `bindSymbols` (read now) are kept to say which the check relied on.
    var chapterWide = Set<String>()
    for (k, v) in chapterValues { values[canonicalSymbolName(k)] = v(); chapterWide.insert(canonicalSymbolName(k)) }
    for (k, f) in chapterFunctions { functionTable[canonicalSymbolName(k)] = f; chapterWide.insert(canonicalSymbolName(k)) }
    for (k, f) in chapterIndexed { families[canonicalSymbolName(k)] = f; chapterWide.insert(canonicalSymbolName(k)) }
    for (k, v) in bindings { values[canonicalSymbolName(k)] = v; chapterWide.remove(canonicalSymbolName(k)) }
    for (k, f) in functions { functionTable[canonicalSymbolName(k)] = f; chapterWide.remove(canonicalSymbolName(k)) }
    for (k, f) in indexed { families[canonicalSymbolName(k)] = f; chapterWide.remove(canonicalSymbolName(k)) }

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
        // `shapes` names what the equation used (families as `o(·)`).
        let used = verdict.shapes.keys.map { $0.hasSuffix("(·)") ? String($0.dropLast(3)) : $0 }
        let fromChapter = used.filter { chapterWide.contains($0) }.sorted()
        let note = fromChapter.isEmpty ? "" : " [from bindSymbols, read at this check: \(fromChapter.joined(separator: ", "))]"
        record = Finding(kind: onlyShapes ? .shape : .equation, label: label, passed: verdict.passed,
                             maxAbsError: onlyShapes ? nil : verdict.maxAbsError,
                             maxRelError: onlyShapes ? nil : verdict.maxRelError,
                             tolerance: onlyShapes ? nil : tol, shapes: verdict.shapes,
                             message: verdict.message + note, line: equation.line, block: context.currentBlock)
        record.file = equation.file
        return (record, nil, EvaluatedEquation(tex: equation.tex, verdict: verdict, bindings: mathBindings))
    } catch {
        let shapes = values.mapValues { $0.mathTensor.shape }
        record = Finding(kind: .equation, label: label, passed: false, tolerance: tol, shapes: shapes,
                             message: "TeX column \(error.column): \(error.message)",
                             line: equation.line, block: context.currentBlock)
        record.file = equation.file
        return (record, error, nil)
    }
}

/// The same check, spelled with a `bindings:` label.
@discardableResult
public func verify(_ label: String, bindings: [String: any MathValue],
                   functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:],
                   multiFunctions: [String: (arguments: Int, ([Tensor<Double>]) -> Tensor<Double>)] = [:],
                   indexed: [String: (Int) -> any MathValue] = [:],
                   tolerance: Double? = nil, because reason: String? = nil,
                   survivors: [String: String] = [:]) -> Bool {
    verify(label, bindings, functions: functions, multiFunctions: multiFunctions, indexed: indexed,
           tolerance: tolerance, because: reason, survivors: survivors)
}

/// Compares the autodiff gradients of `loss` with central finite differences for every element
/// of `parameters` (in Double) and reports the verdict as a gradient check on the page.
///
/// The error measure is the engine's `gradientCheck`: per parameter, the largest
/// |a − n| / max(|n|, 1e-6 · max|n|), which has no ceiling; the default tolerance is 1e-6, and one
/// above `ToleranceCeiling.gradient` needs `because:`. A check over no parameters, or over a
/// parameter whose gradients are both zero everywhere (the loss does not depend on it: detached
/// by mistake?), fails: it would show nothing. Returns whether the check passed.
@discardableResult
public func verifyGradient(of loss: () -> Variable<Double>, wrt parameters: [Variable<Double>],
                           label: String = "gradient check", tolerance: Double = 1e-6,
                           because reason: String? = nil, epsilon: Double = 1e-5,
                           file: String = #filePath, line: Int = #line, column: Int = #column) -> Bool {
    let context = BookContext.shared
    var shapes: [String: [Int]] = [:]
    for (i, p) in parameters.enumerated() { shapes["parameter \(i)"] = p.shape }
    func emit(passed: Bool, _ message: String, _ result: GradientCheckResult? = nil) -> Bool {
        var finding = Finding(kind: .gradient, label: label, passed: passed,
                              maxAbsError: result?.maxAbsoluteError, maxRelError: result?.maxRelativeError,
                              tolerance: tolerance, shapes: shapes, message: message, block: context.currentBlock)
        finding.toleranceReason = reason
        emitCheck(finding, file: file, line: line, column: column)
        return passed
    }
    guard !parameters.isEmpty else {
        return emit(passed: false, "`wrt:` is empty: a gradient check over no parameters shows nothing; pass the parameters the loss depends on")
    }
    // gradientCheck resets gradients; chapter code reads them after checking, so keep them.
    let savedGradients = parameters.map(\.grad)
    let result = gradientCheck(of: loss, wrt: parameters, epsilon: epsilon)
    for (parameter, saved) in zip(parameters, savedGradients) { parameter.grad = saved }
    let worst = result.relativeErrors.indices.max { result.relativeErrors[$0] < result.relativeErrors[$1] }
    let detail = result.relativeErrors.enumerated()
        .map { "parameter \($0.offset) \(p(parameters[$0.offset].shape)): \(String(format: "%.3g", $0.element))" }
        .joined(separator: ", ")
    if let problem = ToleranceCeiling.problem(.gradient, tolerance: tolerance, reason: reason) {
        return emit(passed: false, "\(problem) (errors: \(detail))", result)
    }
    if !result.independentParameters.isEmpty {
        let names = result.independentParameters.map { "parameter \($0) \(p(parameters[$0].shape))" }.joined(separator: ", ")
        return emit(passed: false, "\(names): both gradients are exactly zero everywhere, so the loss does not depend on \(result.independentParameters.count == 1 ? "it" : "them") here (detached by mistake?) and agreement shows nothing; fix the loss or leave \(result.independentParameters.count == 1 ? "it" : "them") out of `wrt:`", result)
    }
    // NaN or infinite errors (a NaN gradient, a loss that overflowed) never pass.
    let passed = NumberComparison.isWithin(result.maxRelativeError, tolerance) && result.maxAbsoluteError.isFinite
    let nonFinite = !result.maxRelativeError.isFinite || !result.maxAbsoluteError.isFinite
    let message = nonFinite
        ? "a gradient is NaN or infinite (autodiff or central differences), or autodiff gives a gradient where the loss is flat: no tolerance accepts it (\(detail))"
        : passed
        ? "autodiff agrees with central differences for \(parameters.count) parameter\(parameters.count == 1 ? "" : "s"): largest relative error \(String(format: "%.3g", result.maxRelativeError)) ≤ \(String(format: "%.3g", tolerance))"
        : "autodiff differs from central differences: parameter \(worst ?? 0) has relative error \(String(format: "%.3g", result.maxRelativeError)) > tolerance \(String(format: "%.3g", tolerance)) (\(detail))"
    return emit(passed: passed, message, result)
}

private func p(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

/// Judges the mutants of a passed equation check (`rnnbook check --mutate` reports them).
///
/// Each mutant is checked against the very values the original was checked with. Only a value
/// disagreement kills it: a mutant whose evaluation throws (a shifted index whose symbol is not
/// bound, sides of different shapes) or crashes is "not judged", never killed, since the check
/// would not have caught that mistake by its numbers. Evaluating a mutant can crash the program
/// (a shifted index asks an indexed family for a step outside its array), so mutants are judged
/// in a forked child with its output discarded: a child that dies mid-way leaves the mutant it
/// was judging not judged, and a new child goes on from the next one. A mutant killed once stays
/// killed for later checks of the same label (a check inside a loop is judged at most once per
/// mutant).
final class MutantJudge: Sendable {
    /// Each label's mutants (by TeX) killed so far.
    private let killed = Mutex<[String: Set<String>]>([:])
    /// Whether mutants are judged in forked children (a chapter program) or here (a test: see
    /// `BookContext.ownsProcess`; a mutant that crashes would take the test process down).
    let judgesInChildren: Bool
    init(judgesInChildren: Bool) { self.judgesInChildren = judgesInChildren }

    /// What became of one mutant.
    enum Outcome: Equatable {
        case killed, survived
        case notJudged(String)
    }

    func judge(label: String, tex: String, bindings: Bindings, tolerance: Double) -> [MutantVerdict] {
        // Judging forks: never while another sideBySide element's thread may hold a lock the
        // child would need (its check would fail the block anyway; see `SideBySideTask`).
        if SideBySideTask.current != nil {
            failBlock("verify(\"\(label)\") inside sideBySide: check the results after sideBySide returns")
        }
        guard let mutants = try? equationMutants(of: tex) else { return [] }
        let alreadyKilled = killed.withLock { $0[label] ?? [] }
        let pending = mutants.filter { !alreadyKilled.contains($0.tex) }
        let outcomes = judgesInChildren
            ? Self.outcomes(pending, bindings: bindings, tolerance: tolerance)
            : pending.map { Self.outcome($0, bindings: bindings, tolerance: tolerance) }
        let newlyKilled = Set(zip(pending, outcomes).filter { $0.1 == .killed }.map(\.0.tex))
        killed.withLock { $0[label, default: []].formUnion(newlyKilled) }
        let byTeX = Dictionary(zip(pending.map(\.tex), outcomes), uniquingKeysWith: { a, _ in a })
        return mutants.map { m in
            let outcome = byTeX[m.tex] ?? .killed
            var notJudged: String?
            if case .notJudged(let why) = outcome { notJudged = why }
            return MutantVerdict(kind: m.kind.rawValue, description: m.description, column: m.column,
                                 survived: outcome == .survived, notJudged: notJudged)
        }
    }

    /// One mutant judged in this process: the outcome and, if not judged, why.
    static func outcome(_ mutant: EquationMutant, bindings: Bindings, tolerance: Double) -> Outcome {
        do {
            let verdict = try checkEquation(mutant.tex, bindings: bindings, tolerance: tolerance)
            if verdict.passed { return .survived }
            // Sides of different shapes were never compared by value.
            if verdict.valueFailures + verdict.shapeClaimFailures == 0 {
                return .notJudged("its sides have different shapes")
            }
            return .killed
        } catch {
            return .notJudged("its evaluation failed (\(error.kind.rawValue)): \(error.message)")
        }
    }

    /// Each mutant's outcome, judged in forked children (see the type's documentation). A child
    /// writes one line per mutant: `K`, `S`, or `N` and the reason.
    static func outcomes(_ mutants: [EquationMutant], bindings: Bindings, tolerance: Double) -> [Outcome] {
        var results: [Outcome] = []
        while results.count < mutants.count {
            var fds: [Int32] = [0, 0]
            let unjudged = Outcome.notJudged("no child process could be started to judge it")
            guard pipe(&fds) == 0 else { return results + Array(repeating: unjudged, count: mutants.count - results.count) }
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
                    let line: String
                    switch outcome(m, bindings: bindings, tolerance: tolerance) {
                    case .killed: line = "K\n"
                    case .survived: line = "S\n"
                    case .notJudged(let why): line = "N" + why.replacingOccurrences(of: "\n", with: " ").prefix(300) + "\n"
                    }
                    let bytes = Array(line.utf8)
                    var written = 0
                    while written < bytes.count {
                        let n = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress! + written, $0.count - written) }
                        if n <= 0 { if errno == EINTR { continue }; _exit(71) }
                        written += n
                    }
                }
                _exit(0)
            }
            close(fds[1])
            if pid < 0 { close(fds[0]); return results + Array(repeating: unjudged, count: mutants.count - results.count) }
            var pendingLine = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            reading: while results.count < mutants.count {
                let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress!, 4096) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                for byte in buffer[0..<n] {
                    guard byte == UInt8(ascii: "\n") else { pendingLine.append(byte); continue }
                    let text = String(decoding: pendingLine, as: UTF8.self)
                    pendingLine.removeAll()
                    switch text.first {
                    case "K": results.append(.killed)
                    case "S": results.append(.survived)
                    default: results.append(.notJudged(String(text.dropFirst())))
                    }
                    if results.count == mutants.count { break reading }
                }
            }
            close(fds[0])
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // The child died judging the next mutant: that mutant could not be judged by value.
            if results.count < mutants.count { results.append(.notJudged("evaluating it crashed the program")) }
        }
        return results
    }
}
