import Foundation
import Testing
@testable import BookKit
import BookProtocol

@Suite("Mutation report")
struct MutationReportTests {
    static func result(_ findings: [Finding], metrics: [String: Double] = [:]) -> ChapterResult {
        var r = ResultAssemblerTests.emptyResult(Chapter(path: "chapters/m.md", slug: "m", title: "M"))
        r.findings = findings
        r.metrics = metrics
        return r
    }

    static func equation(_ label: String, line: Int, _ mutants: [(String, Bool)]) -> Finding {
        var f = Finding(kind: .equation, label: label, verdict: .passed, file: "chapters/m.md", line: line, message: "holds")
        f.mutants = mutants.enumerated().map { MutantVerdict(kind: "flipSign", description: $0.element.0, column: $0.offset + 1, survived: $0.element.1) }
        return f
    }

    static func claim(_ metric: String, _ expected: Double, _ tolerance: Double) -> Finding {
        var f = Finding(kind: .claim, label: metric, verdict: .passed, file: "chapters/m.md", line: 9, column: 3,
                        message: "ok")
        f.expected = "\(expected) ± \(tolerance)"
        f.tolerance = tolerance
        return f
    }

    @Test func aMutantKilledInAnyCheckOfTheLabelIsKilled() {
        // One label checked twice (in a loop): "a" killed only in the second check, "b" never.
        let r = Self.result([Self.equation("eq-a", line: 5, [("a", true), ("b", true)]),
                             Self.equation("eq-a", line: 5, [("a", false), ("b", true)])])
        let report = MutationReport(results: [r])
        let target = try! #require(report.chapters[0].targets.first)
        #expect(target.mutants.map(\.survived) == [false, true])
        #expect(report.vacuousEquations.isEmpty)
        #expect(report.text.contains("survived  chapters/m.md:5: eq-a: b (TeX column 2)"))
    }

    @Test func aCheckedEquationWithNoMutantKilledFailsTheReport() {
        let r = Self.result([Self.equation("eq-vacuous", line: 7, [("drop tanh", true)]),
                             Self.equation("eq-none", line: 8, []),
                             Self.equation("eq-good", line: 9, [("x", false)])])
        let report = MutationReport(results: [r])
        #expect(report.vacuousEquations.map(\.label) == ["eq-vacuous", "eq-none"])
        #expect(report.text.contains("error: chapters/m.md:7: eq-vacuous: no mutant of this checked equation was killed"))
        #expect(report.text.contains("eq-none: no mutant could be made"))
    }

    @Test func aMutantThatThrowsIsNotJudgedAndNeverKilled() {
        // "shift" threw (its symbol was unbound) in both checks: before, that counted as killed.
        var first = Self.equation("eq-a", line: 5, [("shift", false), ("flip", false)])
        first.mutants![0].notJudged = "its evaluation failed (unboundSymbol)"
        var second = Self.equation("eq-a", line: 5, [("shift", false)])
        second.mutants![0].notJudged = "evaluating it crashed the program"
        let report = MutationReport(results: [Self.result([first, second])])
        let target = try! #require(report.chapters[0].targets.first)
        #expect(target.killed == 1 && target.notJudged == 1)
        #expect(report.text.contains("not judged  chapters/m.md:5: eq-a: shift (TeX column 1)"))
        #expect(report.text.contains("1/1 judged killed (100%), 1 not judged"))
        // Every mutant not judged: nothing was killed by value, so the check is vacuous.
        var only = Self.equation("eq-b", line: 6, [("shift", false)])
        only.mutants![0].notJudged = "its evaluation failed (unboundSymbol)"
        #expect(MutationReport(results: [Self.result([only])]).vacuousEquations.map(\.label) == ["eq-b"])
    }

    @Test func survivorsMustBeAcknowledgedAndAcknowledgementsTrue() {
        var f = Self.equation("eq-a", line: 5, [("drop tanh", true), ("flip", false), ("shift", true), ("swap", false)])
        f.mutants![0].acknowledged = "the state is zero here, as the text says"
        f.mutants![3].acknowledged = "a stale reason"
        let report = MutationReport(results: [Self.result([f])])
        #expect(report.unexplainedSurvivors.map(\.mutant.description) == ["shift (TeX column 3)"])
        #expect(report.falseAcknowledgements.map(\.mutant.description) == ["swap (TeX column 4)"])
        #expect(report.failed)
        #expect(report.text.contains("acknowledged  chapters/m.md:5: eq-a: drop tanh (TeX column 1): the state is zero here"))
        #expect(report.text.contains("error: chapters/m.md:5: eq-a: the mutant 'shift (TeX column 3)' survived"))
        #expect(report.text.contains("`survivors: [\"shift\": \"why\"]`"))
        #expect(report.text.contains("error: chapters/m.md:5: eq-a: the chapter acknowledges 'swap (TeX column 4)'"))
        var fixed = f
        fixed.mutants![2].acknowledged = "a reason"; fixed.mutants![3].acknowledged = nil
        #expect(!MutationReport(results: [Self.result([fixed])]).failed)
    }

    @Test func aToleranceTenTimesItsErrorIsWiderThanItsEvidence() {
        func check(_ kind: Finding.Kind, _ label: String, error: Double, tolerance: Double, reason: String? = nil) -> Finding {
            var f = Finding(kind: kind, label: label, verdict: .passed, file: "chapters/m.md", line: 3, message: "ok")
            if kind == .claim || kind == .expect { f.maxAbsError = error } else { f.maxRelError = error }
            f.tolerance = tolerance; f.toleranceReason = reason
            return f
        }
        let r = Self.result([check(.equation, "default", error: 1e-16, tolerance: 1e-6),      // the default: not chosen
                             check(.equation, "reasoned", error: 1e-5, tolerance: 1e-3, reason: "float32 sums"),
                             check(.gradient, "tight", error: 2e-5, tolerance: 1e-4),          // ×10 = 2e-4 fails
                             check(.claim, "loose claim", error: 0.01, tolerance: 0.1),        // ×10 = 0.1 passes
                             check(.output, "output", error: 1e-9, tolerance: 1e-3)])
        let wide = MutationReport(results: [r]).wideTolerances
        #expect(wide.map(\.label) == ["reasoned", "loose claim", "output"])
        #expect(wide.first?.reason == "float32 sums")
        #expect(!MutationReport(results: [r]).failed)  // reported, not failed
    }

    @Test func claimsAreMovedJustOutsideTheirTolerance() {
        let r = Self.result([Self.claim("centred", 1.0, 0.1), Self.claim("edge", 1.0, 0.1), Self.claim("loose", 0.001, 1.8),
                             Self.claim("exact", 170580, 0)],
                            metrics: ["centred": 1.0, "edge": 1.08, "loose": 0.001, "exact": 170580])
        let targets = MutationReport(results: [r]).chapters[0].targets
        func survivors(_ label: String) -> [String] {
            targets.first { $0.label == label }!.mutants.filter(\.survived).map(\.description)
        }
        #expect(survivors("centred").isEmpty)
        // 1.08 lies within 0.1 of 1.101: the claim barely pins the value from above.
        #expect(survivors("edge") == ["claimed 1.0 + 0.1 (just outside the tolerance)"])
        // A tolerance 1,800 times the value accepts 0 and twice the value.
        #expect(survivors("loose").contains("claimed 0 instead of 0.001"))
        #expect(survivors("loose").contains("claimed 0.002 (twice 0.001)"))
        // Tolerance 0 rejects the neighbouring Double.
        #expect(survivors("exact").isEmpty)
        #expect(MutationReport(results: [r]).vacuousEquations.isEmpty)  // claims do not fail the command
    }

    @Test func aComparisonClaimsMutantIsTheReversedComparison() {
        func comparison(_ metric: String, _ expected: String) -> Finding {
            var f = Finding(kind: .claim, label: metric, verdict: .passed, file: "chapters/m.md", line: 4, message: "ok")
            f.expected = expected
            return f
        }
        let r = Self.result([comparison("seq", "< rand"), comparison("err", "< 1e-12"), comparison("tie", "> 0.5")],
                            metrics: ["seq": 1.03, "rand": 1.52, "err": 3e-16, "tie": 0.5000001])
        let targets = MutationReport(results: [r]).chapters[0].targets
        #expect(targets.map(\.label) == ["seq", "err", "tie"])
        #expect(targets.map { $0.mutants.map(\.description) } == [["claimed seq > rand instead"],
                                                                  ["claimed err > 1e-12 instead"],
                                                                  ["claimed tie < 0.5 instead"]])
        #expect(targets.allSatisfy { $0.mutants.allSatisfy { !$0.survived } })
    }
}

/// The chapter program judges mutants against the run's own values; the CLI reports them.
@Suite("Mutation test end to end", .serialized)
struct MutationEndToEndTests {
    static let chapter = """
    # Mutants

    $$\\mathbf{Y} = \\mathbf{X} \\mathbf{W}^\\top$$ {#eq-product}

    $$\\mathbf{y} = \\tanh(\\mathbf{x})$$ {#eq-vacuous}

    ```swift
    let x = Tensor<Double>(randomNormal: [3, 4], seed: 1)
    let w = Tensor<Double>(randomNormal: [5, 4], seed: 2)
    verify("eq-product", ["X": x, "W": w, "Y": x.matmul(w, transposeOther: true)])
    // tanh(0) = 0: dropping tanh cannot be seen.
    let z = Tensor<Double>(zeros: [2, 2])
    verify("eq-vacuous", ["x": z, "y": z.map { Foundation.tanh($0) }])
    ```
    """

    @Test func aPlantedMutantIsKilledAndAPlantedVacuousCheckIsReported() throws {
        let book = try Book()
        try book.write("m.md", Self.chapter)
        let run = try book.run("check", "--mutate")
        #expect(run.status == 1, "\(run.stderr)")
        // Both checks pass as checks; only the mutation test finds the vacuous one.
        #expect(run.stderr.contains("passed  chapters/m.md"))
        #expect(!run.stderr.contains("survived  chapters/m.md:3"), "\(run.stderr)")
        #expect(run.stderr.contains("survived  chapters/m.md:5:1: eq-vacuous: "))
        #expect(run.stderr.contains("error: chapters/m.md:5:1: eq-vacuous: no mutant of this checked equation was killed"))
        // eq-product: every mutant (the dropped transpose, the swapped factors) is killed.
        #expect(run.stderr.contains("chapters/m.md: equations "))
        #expect(run.stderr.contains("over 2 checked"))
    }
}
