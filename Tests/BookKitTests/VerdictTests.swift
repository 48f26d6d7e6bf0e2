import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// The one comparison: NaN and infinity fail on either side unless the check expects them.
@Suite("Verdicts: one NaN-proof comparison")
struct ComparisonTests {
    @Test(arguments: [
        (1.0, 1.0, true), (1.0, 1.05, true), (1.0, 1.2, false),
        (Double.nan, 1.0, false), (1.0, Double.nan, false), (Double.nan, Double.nan, false),
        (Double.infinity, 1.0, false), (1.0, Double.infinity, false), (Double.infinity, Double.infinity, false),
        (-Double.infinity, -Double.infinity, false),
    ])
    func absoluteComparisonRejectsNonFiniteSides(found: Double, expected: Double, passes: Bool) {
        let c = NumberComparison(found: found, expected: expected, tolerance: .absolute(0.1))
        #expect(c.passed == passes, "found \(found), expected \(expected)")
        if !found.isFinite || !expected.isFinite { #expect(c.problem != nil) }
    }

    @Test func relativeComparisonScalesWithTheLargerSide() {
        #expect(NumberComparison(found: 1000.5, expected: 1000, tolerance: .relative(1e-3)).passed)
        #expect(!NumberComparison(found: 1002, expected: 1000, tolerance: .relative(1e-3)).passed)
        #expect(NumberComparison(found: 0, expected: 0, tolerance: .relative(0)).passed)
        // A NaN or infinite tolerance accepts nothing.
        #expect(!NumberComparison(found: 1, expected: 1, tolerance: .relative(.nan)).passed)
        #expect(!NumberComparison(found: 1, expected: 2, tolerance: .absolute(.infinity)).passed)
        #expect(!NumberComparison(found: 1, expected: 1, tolerance: .absolute(-1)).passed)
    }

    @Test func aNonFiniteValueMatchesOnlyWhenExpectedOnPurpose() {
        #expect(NumberComparison(found: .nan, expected: .nan, tolerance: .relative(1e-6), expectsNonFinite: true).passed)
        #expect(NumberComparison(found: .infinity, expected: .infinity, tolerance: .relative(1e-6), expectsNonFinite: true).passed)
        #expect(!NumberComparison(found: -.infinity, expected: .infinity, tolerance: .relative(1e-6), expectsNonFinite: true).passed)
        #expect(!NumberComparison(found: 1, expected: .nan, tolerance: .relative(1e-6), expectsNonFinite: true).passed)
        #expect(!NumberComparison(found: .nan, expected: .infinity, tolerance: .relative(1e-6), expectsNonFinite: true).passed)
    }

    @Test func errorMeasuresThatAreNotFiniteNeverPass() {
        #expect(NumberComparison.isWithin(0.5, 1))
        #expect(!NumberComparison.isWithin(.nan, 1))
        #expect(!NumberComparison.isWithin(.infinity, .infinity))
        #expect(!NumberComparison.isWithin(0, .nan))
    }

    @Test(arguments: [
        ("loss 1.0", "loss nan", false), ("loss 1.0", "loss inf", false), ("loss 1.0", "loss -inf", false),
        ("loss nan", "loss nan", true), ("loss inf", "loss inf", true), ("loss inf", "loss -inf", false),
        ("loss nan", "loss 1.0", false), ("loss 1.0", "loss 1.0000001", true), ("loss 1.0", "loss 1.1", false),
    ])
    func outputBlocksUseTheSameRule(expected: String, printed: String, matches: Bool) {
        // The fence says `nonfinite` when the block expects a nan or inf (the parser insists).
        let c = OutputComparison(expected: expected, actual: printed, relativeTolerance: 1e-6,
                                 expectsNonFinite: expected.contains("nan") || expected.contains("inf"))
        #expect(c.matches == matches, "expected `\(expected)`, printed `\(printed)`")
    }
}

/// Claims and shown values are judged once, by the runner, into findings.
@Suite("Verdicts: prose judged against the run")
struct ProseJudgeTests {
    static let source = """
    ---
    title: J
    params:
      n: 0
    profiles:
      quick:
        n: 1
    ---
    Loss {{loss ≈ 2.0 ± 0.1}}, quick {{loss ≈ 5.0 ± 0.1 @quick}}, and {{lost}} shown.

    Default only: {{ppl ≈ 3.0 ± 0.3 @default}}.
    """

    func chapter() throws -> Chapter { try ChapterParser().parse(source: Self.source, path: "chapters/j.md") }

    @Test func claimsPassFailAndSayWhere() throws {
        let findings = ProseJudge.findings(for: try chapter(), metrics: ["loss": 2.05, "ppl": 9, "lost": 1],
                                           profile: "default", runCompleted: true)
        #expect(findings.map(\.verdict) == [.passed, .notChecked, .failed])
        #expect(findings[0].location == SourceLocation(file: "chapters/j.md", line: 9, column: 6))
        #expect(findings[1].message.contains("applies to profile quick; this build used default"))
        #expect(findings[2].message == "expected 3.0 ± 0.3, got 9.0")
        #expect(findings[2].expected == "3.0 ± 0.3" && findings[2].found == "9.0")
        #expect(findings[2].description.hasPrefix("chapters/j.md:11:"))
    }

    @Test func aNaNMetricFailsEveryClaimOnIt() throws {
        let findings = ProseJudge.findings(for: try chapter(), metrics: ["loss": .nan, "ppl": .infinity, "lost": 1],
                                           profile: "quick", runCompleted: true)
        #expect(findings.map(\.verdict) == [.failed, .failed, .notChecked])
        #expect(findings[0].message.contains("cannot hold"))
    }

    @Test func aShownValueTheRunNeverRecordedFailsTheChapter() throws {
        let findings = ProseJudge.findings(for: try chapter(), metrics: ["loss": 2, "ppl": 3], profile: "default",
                                           runCompleted: true)
        let typo = try #require(findings.first { $0.kind == .value })
        #expect(typo.failed && typo.label == "lost" && typo.line == 9)
        #expect(typo.message.contains("{{lost}}") && typo.message.contains("recorded: loss, ppl"))
    }

    @Test func claimsAfterAStoppedRunAreNotCheckedRatherThanPassed() throws {
        let findings = ProseJudge.findings(for: try chapter(), metrics: [:], profile: "default", runCompleted: false)
        #expect(findings.allSatisfy { $0.verdict == .notChecked })
    }

    static let comparisons = """
    ---
    title: C
    ---
    Sequential {{seq:.2f < rand}} beats random; the error is {{err < 1e-12}}; the rate is {{rate > 0.5}}.
    """

    func comparisonFindings(_ metrics: [String: Double], completed: Bool = true) throws -> [Finding] {
        let chapter = try ChapterParser().parse(source: Self.comparisons, path: "chapters/c.md")
        return ProseJudge.findings(for: chapter, metrics: metrics, profile: "quick", runCompleted: completed)
    }

    @Test func comparisonsHoldOnlyWhenTheRelationDoes() throws {
        let good = try comparisonFindings(["seq": 1.03, "rand": 1.52, "err": 3e-16, "rate": 0.51])
        #expect(good.map(\.verdict) == [.passed, .passed, .passed])
        #expect(good[0].message == "seq = 1.03, rand = 1.52: seq < rand holds")
        #expect(good[0].expected == "< rand" && good[0].tolerance == nil)
        #expect(good[1].message == "err = 3e-16: err < 1e-12 holds")
        // Equal sides do not satisfy a strict comparison; the wrong way round fails.
        let bad = try comparisonFindings(["seq": 1.52, "rand": 1.52, "err": 1e-12, "rate": 0.4])
        #expect(bad.map(\.verdict) == [.failed, .failed, .failed])
        #expect(bad[2].message == "rate = 0.4: the claim rate > 0.5 does not hold")
        #expect(bad[0].description.hasPrefix("chapters/c.md:4:12: seq: "))
    }

    @Test func aComparisonWithANaNOrAMissingSideFails() throws {
        let f = try comparisonFindings(["seq": .nan, "err": .infinity, "rate": 1])
        #expect(f.map(\.verdict) == [.failed, .failed, .passed])
        #expect(f[0].message.contains("the code recorded no such metric") && f[0].message.contains("'rand'"))
        #expect(f[1].message.contains("a NaN or infinite value cannot satisfy the claim err < 1e-12"))
        let nan = try comparisonFindings(["seq": .nan, "rand": 1, "err": 0, "rate": 1])
        #expect(nan[0].failed && nan[0].message.contains("NaN"))
        // A run that stopped before recording the right side leaves the claim unchecked, not failed.
        let stopped = try comparisonFindings(["seq": 1, "err": 0, "rate": 1], completed: false)
        #expect(stopped[0].verdict == .notChecked)
    }
}

@Suite("Verdicts: the result assembled from events")
struct ResultAssemblerTests {
    static let source = """
    # A

    ```swift
    print("sum 6")
    ```

    ```output
    sum 6
    ```

    ```swift
    print("loss nan")
    ```

    ```output
    loss 1.0
    ```

    Total {{total ≈ 6 ± 0.5}}.
    """

    static func emptyResult(_ chapter: Chapter) -> ChapterResult {
        ChapterResult(chapter: chapter.path, title: chapter.title, status: .passed, profile: "default", params: [:], seed: nil,
                      blocks: [], findings: [], metrics: [:],
                      versions: VersionInfo(rnnbook: "t", swiftc: "t", cmark: "t", openblas: "t"),
                      machine: "m", startedAt: "s", seconds: 0, compileSeconds: 0, cached: false)
    }

    @Test func aPrintedNaNFailsItsOutputBlockAndEveryFindingIsLocated() throws {
        let chapter = try ChapterParser().parse(source: Self.source, path: "chapters/a.md")
        var run = RunOutcome()
        run.termination = .exited(0)
        let out1 = "sum 6\n", out2 = "loss nan\n"
        run.stdout = Data((out1 + out2).utf8)
        run.events = [
            .blockStart(index: 0, stdoutOffset: 0, stderrOffset: 0), .metric(block: 0, name: "total", value: 6),
            .check(Finding(kind: .gradient, label: "grad", passed: true, message: "ok", block: 0)),
            .blockEnd(index: 0, seconds: 0.1),
            .blockStart(index: 1, stdoutOffset: out1.utf8.count, stderrOffset: 0), .blockEnd(index: 1, seconds: 0.1),
        ]
        var result = Self.emptyResult(chapter)
        ResultAssembler(chapter: chapter, profile: "default").assemble(&result, compile: CompileVerdict(), run: run)
        #expect(result.status == .failed)
        #expect(result.blocks.map(\.status) == [.passed, .failed])
        let outputs = result.findings.filter { $0.kind == .output }
        #expect(outputs.map(\.verdict) == [.passed, .failed])
        #expect(outputs[1].line == 16 && outputs[1].file == "chapters/a.md")
        // The program's check gets its block's place; the claim is judged once, here.
        let grad = try #require(result.findings.first { $0.kind == .gradient })
        #expect(grad.location == SourceLocation(file: "chapters/a.md", line: 4, column: 1))
        #expect(result.findings.first { $0.kind == .claim }?.verdict == .passed)
        #expect(result.failures.count == 1)

        // Findings round-trip through the result JSON unchanged, NaN included.
        result.findings.append(Finding(kind: .equation, label: "eq", verdict: .failed, file: "chapters/a.md", line: 3, column: 2,
                                       expected: "H", found: "nan", maxAbsError: .nan, maxRelError: .infinity,
                                       tolerance: 1e-6, shapes: ["H": [2, 3]], message: "differs", block: 0))
        let data = try resultEncoder().encode(result)
        let back = try resultDecoder().decode(ChapterResult.self, from: data)
        #expect(back.findings.count == result.findings.count)
        for (a, b) in zip(back.findings, result.findings) {
            #expect(a.kind == b.kind && a.verdict == b.verdict && a.location == b.location && a.message == b.message)
            #expect(a.maxAbsError?.isNaN == b.maxAbsError?.isNaN && (a.maxAbsError?.isNaN == true || a.maxAbsError == b.maxAbsError))
            #expect(a.maxRelError == b.maxRelError && a.shapes == b.shapes && a.expected == b.expected && a.found == b.found)
        }
    }

    @Test func aCrashIsOneLocatedFindingAndLaterBlocksAreNotRun() throws {
        let chapter = try ChapterParser().parse(source: Self.source, path: "chapters/a.md")
        var run = RunOutcome()
        run.termination = .signaled(4)
        run.stderr = Data("Fatal error: Index out of range\n".utf8)
        run.events = [.blockStart(index: 0, stdoutOffset: 0, stderrOffset: 0)]
        var result = Self.emptyResult(chapter)
        ResultAssembler(chapter: chapter, profile: "default").assemble(&result, compile: CompileVerdict(), run: run)
        #expect(result.blocks.map(\.status) == [.failed, .notRun])
        let crash = try #require(result.failures.first)
        #expect(crash.kind == .crash && crash.block == 0 && crash.line == 4)
        #expect(crash.message.contains("Index out of range"))
        // The claim's metric was never recorded: not checked, and not a second failure.
        #expect(result.findings.first { $0.kind == .claim }?.verdict == .notChecked)
        #expect(result.failures.count == 1)
    }
}

@Suite("Only failures the inputs determine are cached")
struct ReproducibleResultTests {
    static func result(_ findings: [Finding]) -> ChapterResult {
        var r = ResultAssemblerTests.emptyResult(Chapter(path: "chapters/r.md", slug: "r", title: "R"))
        r.findings = findings
        return r
    }

    @Test func checksAndCompileErrorsAreCachedCrashesAndTimeoutsAreNot() {
        let at = SourceLocation(file: "chapters/r.md", line: 3)
        #expect(Self.result([Finding(kind: .claim, label: "x", passed: true, message: "ok")]).isReproducible)
        #expect(Self.result([Finding(kind: .claim, label: "x", passed: false, message: "off")]).isReproducible)
        #expect(Self.result([Finding(.compile, "block 1", at: at, message: "error")]).isReproducible)
        for kind in [Finding.Kind.crash, .timeout, .program, .input] {
            #expect(!Self.result([Finding(kind, "block 1", at: at, message: "x")]).isReproducible, "\(kind)")
        }
    }

    @Test func aChapterThatFailedForWantOfAFileRunsAgainOnceItIsThere() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-env-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: marker) }
        let book = try Book()
        try book.write("env.md", """
        # Env

        ```swift
        guard let text = try? String(contentsOfFile: "\(marker.path)", encoding: .utf8) else { fatalError("data not found") }
        print(text)
        ```
        """)
        let first = try book.run("build")
        #expect(first.status == 1 && first.stderr.contains("data not found"), "\(first.stderr)")
        try "here".write(to: marker, atomically: true, encoding: .utf8)
        let second = try book.run("build")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stderr.contains("cached"))
    }
}
