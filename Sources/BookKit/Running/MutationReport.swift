import BookProtocol
import Foundation

/// `rnnbook check --mutate`: how many small mistakes in the book's checked maths and claims the
/// checks would catch. Equation mutants are judged by the chapter program against the values
/// the run bound (`MutantJudge` in BookRuntime) and recorded in the result; claim mutants are
/// judged here against the recorded metric. Both come from results, so a cached book's
/// mutation test takes no rerun.
public struct MutationReport: Sendable {
    /// One mutant of one check.
    public struct Mutant: Sendable, Equatable {
        public var description: String
        public var survived: Bool
    }

    /// One checked equation or claim and its mutants.
    public struct Target: Sendable {
        public var kind: Finding.Kind
        public var label: String
        public var location: String
        public var mutants: [Mutant]
        public var killed: Int { mutants.filter { !$0.survived }.count }
        /// No mutant killed (or none made): the check cannot fail for any mistake tried.
        public var vacuous: Bool { killed == 0 }
    }

    public struct ChapterScore: Sendable {
        public var chapter: String
        public var targets: [Target]
        public var total: Int { targets.reduce(0) { $0 + $1.mutants.count } }
        public var killed: Int { targets.reduce(0) { $0 + $1.killed } }
    }

    public var chapters: [ChapterScore]

    /// Checked equations with no mutant killed: `check --mutate` fails on these.
    public var vacuousEquations: [Target] {
        chapters.flatMap(\.targets).filter { $0.kind != .claim && $0.vacuous }
    }

    public init(results: [ChapterResult]) {
        chapters = results.map { r in ChapterScore(chapter: r.chapter, targets: Self.equationTargets(r) + Self.claimTargets(r)) }
    }

    /// Passed equation checks, merged by label: a mutant survives only if it survived every
    /// check of that label (a check in a loop over time steps is one equation).
    static func equationTargets(_ r: ChapterResult) -> [Target] {
        var order: [String] = []
        var byLabel: [String: Target] = [:]
        for f in r.findings where (f.kind == .equation || f.kind == .shape) && f.passed {
            guard let verdicts = f.mutants else { continue }
            if byLabel[f.label] == nil {
                order.append(f.label)
                byLabel[f.label] = Target(kind: f.kind, label: f.label, location: f.locationText ?? r.chapter, mutants: [])
            }
            var target = byLabel[f.label]!
            for v in verdicts {
                let text = "\(v.description) (TeX column \(v.column))"
                if let i = target.mutants.firstIndex(where: { $0.description == text }) {
                    target.mutants[i].survived = target.mutants[i].survived && v.survived
                } else {
                    target.mutants.append(Mutant(description: text, survived: v.survived))
                }
            }
            byLabel[f.label] = target
        }
        return order.map { byLabel[$0]! }
    }

    /// Passed claims, each with the claimed number moved just outside its tolerance (both ways),
    /// to zero, and doubled; judged by the same rule against the recorded value. A survivor is a
    /// claim whose number could be that different and still pass.
    /// A passed comparison claim (`a < b`, `a > 0.5`) has one mutant, the reversed comparison.
    static func claimTargets(_ r: ChapterResult) -> [Target] {
        r.findings.filter { $0.kind == .claim && $0.passed }.compactMap { f in
            if let target = comparisonTarget(f, r) { return target }
            guard let value = r.metrics[f.label], let t = f.tolerance, let expected = Self.claimedNumber(f) else { return nil }
            // Just outside: 1% beyond the tolerance, and at least one step of Double beyond it
            // (a claim with tolerance 0 must reject the next representable number).
            var moved: [(String, Double)] = [("claimed \(expected) + \(t) (just outside the tolerance)", (expected + t * 1.01).nextUp),
                                             ("claimed \(expected) − \(t) (just outside the tolerance)", (expected - t * 1.01).nextDown)]
            if expected != 0 { moved += [("claimed 0 instead of \(expected)", 0), ("claimed \(2 * expected) (twice \(expected))", 2 * expected)] }
            let mutants = moved.map { text, c in
                Mutant(description: text, survived: NumberComparison(found: value, expected: c, tolerance: .absolute(t)).passed)
            }
            return Target(kind: .claim, label: f.label, location: f.locationText ?? r.chapter, mutants: mutants)
        }
    }

    /// The reversed comparison of a passed comparison claim, whose finding's `expected` reads
    /// `"< other"` or `"> 0.5"`; nil for any other claim.
    static func comparisonTarget(_ f: Finding, _ r: ChapterResult) -> Target? {
        guard f.tolerance == nil, let text = f.expected, let first = text.first,
              let relation = ClaimBound.Relation(rawValue: String(first)), let lhs = r.metrics[f.label] else { return nil }
        let operand = text.dropFirst().trimmingCharacters(in: .whitespaces)
        guard let rhs = r.metrics[operand] ?? Double(operand) else { return nil }
        let mutant = Mutant(description: "claimed \(f.label) \(relation.reversed.rawValue) \(operand) instead",
                            survived: relation.reversed.holds(lhs, rhs))
        return Target(kind: .claim, label: f.label, location: f.locationText ?? r.chapter, mutants: [mutant])
    }

    /// The claimed number, from the finding's `expected` (`"1.0 ± 0.1"`).
    static func claimedNumber(_ f: Finding) -> Double? {
        f.expected.flatMap { $0.split(separator: " ").first }.flatMap { Double($0) }
    }

    /// The report as the terminal prints it: a score per chapter, then every survivor.
    public var text: String {
        var out: [String] = []
        for c in chapters {
            let equations = c.targets.filter { $0.kind != .claim }, claims = c.targets.filter { $0.kind == .claim }
            func score(_ ts: [Target]) -> String {
                let total = ts.reduce(0) { $0 + $1.mutants.count }, killed = ts.reduce(0) { $0 + $1.killed }
                return total == 0 ? "none" : "\(killed)/\(total) killed (\(Int((100 * Double(killed) / Double(total)).rounded()))%)"
            }
            out.append("\(c.chapter): equations \(score(equations)) over \(equations.count) checked; claims \(score(claims)) over \(claims.count)")
            for t in c.targets {
                if t.mutants.isEmpty { out.append("  \(t.location): \(t.label): no mutant could be made; the check is not mutation-tested") }
                for m in t.mutants where m.survived { out.append("  survived  \(t.location): \(t.label): \(m.description)") }
            }
        }
        let total = chapters.reduce(0) { $0 + $1.total }, killed = chapters.reduce(0) { $0 + $1.killed }
        out.append("book: \(killed)/\(total) mutants killed")
        for t in vacuousEquations {
            out.append("error: \(t.location): \(t.label): no mutant of this checked equation was killed; the check cannot fail")
        }
        return out.joined(separator: "\n")
    }
}
