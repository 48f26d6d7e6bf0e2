import BookProtocol
import Foundation

/// `rnnbook check --mutate`: how many small mistakes in the book's checked maths and claims the
/// checks would catch. Equation mutants are judged by the chapter program against the values
/// the run bound (`MutantJudge` in BookRuntime) and recorded in the result; claim mutants are
/// judged here against the recorded metric. Both come from results, so a cached book's
/// mutation test takes no rerun.
///
/// Only a value disagreement kills a mutant; one whose evaluation threw or crashed is "not
/// judged" and counts neither way. The command fails on a checked equation with no mutant
/// killed, on an equation mutant that survived without the chapter acknowledging it
/// (`verify(…, survivors: ["description": "reason"])`), and on an acknowledgement of a mutant
/// that was in fact killed (the reason would be false). Checks whose tolerance still passes
/// ten times their measured error are listed as wider than their evidence.
public struct MutationReport: Sendable {
    /// One mutant of one check.
    public struct Mutant: Sendable, Equatable {
        public var description: String
        public var survived: Bool
        /// Why it could not be judged by value (its evaluation threw or crashed), if so.
        public var notJudged: String? = nil
        /// The chapter's reason for a survivor it acknowledges.
        public var acknowledged: String? = nil
        public var killed: Bool { !survived && notJudged == nil }
    }

    /// One checked equation or claim and its mutants.
    public struct Target: Sendable {
        public var kind: Finding.Kind
        public var label: String
        public var location: String
        public var mutants: [Mutant]
        public var killed: Int { mutants.filter(\.killed).count }
        public var notJudged: Int { mutants.filter { $0.notJudged != nil }.count }
        /// No mutant killed (or none made): the check cannot fail for any mistake tried.
        public var vacuous: Bool { killed == 0 }
    }

    public struct ChapterScore: Sendable {
        public var chapter: String
        public var targets: [Target]
        public var total: Int { targets.reduce(0) { $0 + $1.mutants.count } }
        public var killed: Int { targets.reduce(0) { $0 + $1.killed } }
    }

    /// A passed check whose tolerance would still accept ten times the error it measured.
    public struct WideTolerance: Sendable, Equatable {
        public var label: String
        public var location: String
        public var error: Double
        public var tolerance: Double
        public var reason: String?
    }

    public var chapters: [ChapterScore]
    public var wideTolerances: [WideTolerance]

    /// Checked equations with no mutant killed: `check --mutate` fails on these.
    public var vacuousEquations: [Target] {
        chapters.flatMap(\.targets).filter { $0.kind != .claim && $0.vacuous }
    }

    /// Equation mutants that survived with no reason in the chapter: `check --mutate` fails.
    public var unexplainedSurvivors: [(target: Target, mutant: Mutant)] {
        chapters.flatMap(\.targets).filter { $0.kind != .claim }.flatMap { t in
            t.mutants.filter { $0.survived && $0.acknowledged == nil }.map { (t, $0) }
        }
    }

    /// Acknowledged survivors that were killed after all: the reason in the chapter is false.
    public var falseAcknowledgements: [(target: Target, mutant: Mutant)] {
        chapters.flatMap(\.targets).flatMap { t in t.mutants.filter { !$0.survived && $0.acknowledged != nil }.map { (t, $0) } }
    }

    /// Whether `check --mutate` fails.
    public var failed: Bool { !vacuousEquations.isEmpty || !unexplainedSurvivors.isEmpty || !falseAcknowledgements.isEmpty }

    public init(results: [ChapterResult]) {
        chapters = results.map { r in ChapterScore(chapter: r.chapter, targets: Self.equationTargets(r) + Self.claimTargets(r)) }
        wideTolerances = results.flatMap(Self.wideTolerances)
    }

    /// The tolerance mutant: each passed check with a tolerance the author chose (a claim, an
    /// `expect`, an `output` block, a check with a reason, or any tolerance other than the kind's
    /// default) is judged again with its error multiplied by ten; if it would still pass, its
    /// tolerance is wider than the evidence it has.
    static func wideTolerances(_ r: ChapterResult) -> [WideTolerance] {
        r.findings.filter { $0.passed && $0.kind.isCheck }.compactMap { f in
            guard let t = f.tolerance, t > 0 else { return nil }
            let error: Double?
            switch f.kind {
            case .equation, .output: error = f.maxRelError
            case .gradient: error = f.maxRelError
            case .claim, .expect: error = f.maxAbsError
            default: error = nil
            }
            guard let error, error.isFinite else { return nil }
            let defaults: Set<Double> = f.kind == .equation ? [1e-6, 1e-4] : f.kind == .gradient || f.kind == .output ? [1e-6] : []
            let chosen = f.toleranceReason != nil || !defaults.contains(t)
            guard chosen, 10 * error <= t else { return nil }
            return WideTolerance(label: f.label, location: f.locationText ?? r.chapter, error: error, tolerance: t,
                                 reason: f.toleranceReason)
        }
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
                let mutant = Mutant(description: text, survived: v.survived, notJudged: v.notJudged, acknowledged: v.acknowledged)
                guard let i = target.mutants.firstIndex(where: { $0.description == text }) else {
                    target.mutants.append(mutant)
                    continue
                }
                // Killed in any check of the label: killed. Else survived in any: survived.
                // Else not judged in every check.
                var merged = target.mutants[i]
                if merged.killed || mutant.killed {
                    merged.survived = false; merged.notJudged = nil
                } else if merged.survived || mutant.survived {
                    merged.survived = true; merged.notJudged = nil
                }
                merged.acknowledged = merged.acknowledged ?? mutant.acknowledged
                target.mutants[i] = merged
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
                let unjudged = ts.reduce(0) { $0 + $1.notJudged }, judged = total - unjudged
                guard total > 0 else { return "none" }
                let share = judged == 0 ? "" : " (\(Int((100 * Double(killed) / Double(judged)).rounded()))%)"
                return "\(killed)/\(judged) judged killed\(share)" + (unjudged > 0 ? ", \(unjudged) not judged" : "")
            }
            out.append("\(c.chapter): equations \(score(equations)) over \(equations.count) checked; claims \(score(claims)) over \(claims.count)")
            for t in c.targets {
                if t.mutants.isEmpty { out.append("  \(t.location): \(t.label): no mutant could be made; the check is not mutation-tested") }
                for m in t.mutants where m.survived {
                    if let why = m.acknowledged {
                        out.append("  acknowledged  \(t.location): \(t.label): \(m.description): \(why)")
                    } else {
                        out.append("  survived  \(t.location): \(t.label): \(m.description)")
                    }
                }
                for m in t.mutants { if let why = m.notJudged { out.append("  not judged  \(t.location): \(t.label): \(m.description): \(why)") } }
            }
        }
        let total = chapters.reduce(0) { $0 + $1.total }, killed = chapters.reduce(0) { $0 + $1.killed }
        let unjudged = chapters.reduce(0) { $0 + $1.targets.reduce(0) { $0 + $1.notJudged } }
        out.append("book: \(killed)/\(total - unjudged) judged mutants killed" + (unjudged > 0 ? "; \(unjudged) not judged (their evaluation threw or crashed, so the checks' numbers were never compared)" : ""))
        if !wideTolerances.isEmpty {
            out.append("tolerances wider than their evidence (ten times the measured error would still pass):")
            for w in wideTolerances {
                out.append("  \(w.location): \(w.label): error \(formatTolerance(w.error)), tolerance \(formatTolerance(w.tolerance))" + (w.reason.map { " (because \($0))" } ?? ""))
            }
        }
        for t in vacuousEquations {
            out.append("error: \(t.location): \(t.label): no mutant of this checked equation was killed by value; the check cannot fail")
        }
        for (t, m) in unexplainedSurvivors {
            out.append("error: \(t.location): \(t.label): the mutant '\(m.description)' survived: these values cannot tell it from the equation; choose values that can, or acknowledge it with `survivors: [\"\(m.description.replacingOccurrences(of: #" \(TeX column \d+\)$"#, with: "", options: .regularExpression))\": \"why\"]` in the verify call")
        }
        for (t, m) in falseAcknowledgements {
            out.append("error: \(t.location): \(t.label): the chapter acknowledges '\(m.description)' as a survivor (\(m.acknowledged ?? "")), but the check kills it; remove the acknowledgement")
        }
        return out.joined(separator: "\n")
    }
}
