import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// Issue 23: a wrong chapter never passes green. Each rule is broken in a small chapter and must
/// fail for the right reason at the Markdown file:line:column; the honest form passes.
enum Wrong {
    static let path = "chapters/w.md"
    static func parse(_ source: String) throws -> Chapter { try ChapterParser().parse(source: source, path: path) }
    static func error(_ source: String) throws -> BookError {
        try #require(throws: BookError.self) { try parse(source) }
    }
    static func at(_ line: Int, _ column: Int = 1) -> BookKit.SourceLocation { BookKit.SourceLocation(file: path, line: line, column: column) }

    /// Assembles a result as the runner would, from a made-up run in which every block ended.
    static func assemble(_ chapter: Chapter, stdout: [String] = [], stderr: [String] = [], events extra: [Int: [ChannelEvent]] = [:],
                         compile: CompileVerdict = CompileVerdict(), metrics: [String: Double] = [:]) -> ChapterResult {
        var run = RunOutcome()
        run.termination = .exited(0)
        var out = 0, err = 0
        let blocks = chapter.codeBlocks.compactMap(\.index)
        for i in blocks {
            run.events.append(.blockStart(index: i, stdoutOffset: out, stderrOffset: err))
            for (name, value) in metrics where i == blocks.last { run.events.append(.metric(block: i, name: name, value: value)) }
            run.events += extra[i] ?? []
            run.events.append(.blockEnd(index: i, seconds: 0.01))
            let o = i < stdout.count ? stdout[i] : "", e = i < stderr.count ? stderr[i] : ""
            run.stdout += Data(o.utf8); run.stderr += Data(e.utf8)
            out += o.utf8.count; err += e.utf8.count
        }
        var result = ResultAssemblerTests.emptyResult(chapter)
        ResultAssembler(chapter: chapter, profile: "default").assemble(&result, compile: compile, run: run)
        return result
    }
}

@Suite("Wrong chapters: output blocks")
struct WrongOutputBlockTests {
    @Test func aLooseToleranceWithoutAReasonFailsAtTheFence() throws {
        let e = try Wrong.error("# W\n\n```swift\nprint(1)\n```\n\n```output tol=0.01\n1\n```\n")
        #expect(e.location == Wrong.at(7))
        #expect(e.message.contains("tolerance 0.01 is above the ceiling 0.001 for output checks, and no reason is given"))
        #expect(e.message.contains("because=\"why\""))
    }

    @Test func aReasonOnATightToleranceIsAnError() throws {
        let e = try Wrong.error("# W\n\n```swift\nprint(1)\n```\n\n```output tol=1e-6 because=\"habit\"\n1\n```\n")
        #expect(e.location == Wrong.at(7))
        #expect(e.message.contains("a reason is given for tolerance 1e-06 (\"habit\"), but it is within the ceiling"))
    }

    @Test func anUnclosedQuoteIsAnErrorAtTheFence() throws {
        let e = try Wrong.error("# W\n\n```swift\nprint(1)\n```\n\n```output tol=0.01 because=\"sums in a different order\n1\n```\n")
        #expect(e.location == Wrong.at(7))
        #expect(e.message.contains("never closed"))
    }

    @Test func aLooseToleranceWithAReasonPassesAndTheFindingCarriesTheReason() throws {
        let chapter = try Wrong.parse("# W\n\n```swift\nprint(1.005)\n```\n\n```output tol=0.01 because=\"sums in a different order on each kernel path\"\n1\n```\n")
        let expected = try #require(chapter.codeBlocks.first?.expected)
        #expect(expected.relativeTolerance == 0.01)
        #expect(expected.toleranceReason == "sums in a different order on each kernel path")
        let result = Wrong.assemble(chapter, stdout: ["1.005\n"])
        let output = try #require(result.findings.first { $0.kind == .output })
        #expect(output.passed)
        #expect(output.toleranceReason == "sums in a different order on each kernel path")
        #expect(output.tolerance == 0.01)
    }

    @Test func aNaNInTheExpectedBlockFailsUnlessTheFenceSaysNonfinite() throws {
        let e = try Wrong.error("# W\n\n```swift\nprint(\"loss\", Double.nan)\n```\n\n```output\nloss 1.0\nloss nan\n```\n")
        #expect(e.location == Wrong.at(9, 6))
        #expect(e.message.contains("contains 'nan'") && e.message.contains("```output nonfinite```"))
        // Said on purpose, it matches only a printed nan.
        let chapter = try Wrong.parse("# W\n\n```swift\nprint(\"loss\", Double.nan)\n```\n\n```output nonfinite\nloss nan\n```\n")
        #expect(chapter.codeBlocks[0].expected?.expectsNonFinite == true)
        #expect(Wrong.assemble(chapter, stdout: ["loss nan\n"]).status == .passed)
        #expect(Wrong.assemble(chapter, stdout: ["loss 1.0\n"]).status == .failed)
        // `nonfinite` with no nan or inf in the block says something untrue.
        let extra = try Wrong.error("# W\n\n```swift\nprint(1)\n```\n\n```output nonfinite\n1\n```\n")
        #expect(extra.location == Wrong.at(7) && extra.message.contains("no nan or inf"))
    }

    @Test func wordsThatStartLikeNaNOrInfAreText() throws {
        let chapter = try Wrong.parse("# W\n\n```swift\nprint(1)\n```\n\n```output\ninference took 3 nanoseconds, info\n```\n")
        #expect(chapter.codeBlocks[0].expected != nil)
        #expect(OutputComparison.nonFiniteToken(in: "inference, nano, info") == nil)
        #expect(OutputComparison.nonFiniteToken(in: "loss -inf")?.column == 6)
        #expect(!OutputComparison(expected: "information", actual: "inf", relativeTolerance: 1e-6).matches)
    }

    @Test func aPrintedNaNNeverMatchesWithoutNonfinite() {
        #expect(!OutputComparison(expected: "loss nan", actual: "loss nan", relativeTolerance: 1e-6).matches)
        #expect(OutputComparison(expected: "loss nan", actual: "loss nan", relativeTolerance: 1e-6, expectsNonFinite: true).matches)
    }

    @Test func indentationCountsButTrailingWhitespaceDoesNot() throws {
        let chapter = try Wrong.parse("# W\n\n```swift\nprint(\"a\")\n```\n\n```output\nx\n  y 1.0\n```\n")
        let wrong = Wrong.assemble(chapter, stdout: ["x\ny 1.0\n"])
        let output = try #require(wrong.findings.first { $0.kind == .output })
        #expect(!output.passed)
        #expect(output.location == Wrong.at(8))
        #expect(output.message.contains("line 2: (indented differently: expected 2, got 0 leading spaces or tabs)"))
        #expect(Wrong.assemble(chapter, stdout: ["x   \n  y 1.0\n\n"]).status == .passed)
    }
}

@Suite("Wrong chapters: expect-error names its stage")
struct WrongExpectErrorTests {
    @Test func aBareExpectErrorMustNameItsStage() throws {
        let e = try Wrong.error("# W\n\n```swift expect-error\nfatalError()\n```\n")
        #expect(e.location == Wrong.at(3))
        #expect(e.message.contains("expect-error=compile") && e.message.contains("expect-error=run"))
        let m = try Wrong.error("# W\n\n```swift message=\"x\"\nprint(1)\n```\n")
        #expect(m.location == Wrong.at(3) && m.message.contains("has no expect-error"))
        let options = try Wrong.parse("# W\n\n```swift expect-error=run message=\"Index out of range\"\nfatalError()\n```\n").codeBlocks[0].options
        #expect(options.expectError && options.expectErrorStage == .run && options.expectErrorMessage == "Index out of range")
    }

    static func compileFailure(_ stage: String, message: String = "") throws -> ChapterResult {
        let chapter = try Wrong.parse("# W\n\n```swift expect-error=\(stage)\(message)\nlet x: Int = \"text\"\n```\n\n```swift\nprint(2)\n```\n")
        var compile = CompileVerdict()
        compile.expectedFailures[0] = "chapters/w.md:4:14: error: cannot convert value of type 'String' to specified type 'Int'"
        return Wrong.assemble(chapter, stdout: ["", "2\n"], compile: compile)
    }

    @Test func runStageThatFailsToCompileFails() throws {
        let r = try Self.compileFailure("run")
        let check = try #require(r.findings.first { $0.kind == .expectError })
        #expect(!check.passed && check.location == Wrong.at(4))
        #expect(check.message.contains("is marked expect-error=run but failed to compile instead of raising the runtime error"))
        #expect(r.blocks.map(\.status) == [.failed, .passed])
        #expect(try Self.compileFailure("compile").status == .passed)
    }

    @Test func compileMessageMustBeInTheDiagnostic() throws {
        #expect(try Self.compileFailure("compile", message: " message=\"cannot convert\"").status == .passed)
        let r = try Self.compileFailure("compile", message: " message=\"cannot find\"")
        let check = try #require(r.findings.first { $0.kind == .expectError })
        #expect(!check.passed && check.location == Wrong.at(4))
        #expect(check.message.contains("does not contain \"cannot find\"; it says:\nchapters/w.md:4:14: error: cannot convert"))
    }

    static func ranAndFailed(_ stage: String, message: String = "", stderr: String) throws -> ChapterResult {
        let chapter = try Wrong.parse("# W\n\n```swift expect-error=\(stage)\(message)\nfatalError(\"on purpose\")\n```\n")
        let verdict = ChannelEvent.check(Finding(kind: .expectError, label: "block 1", passed: true,
                                                 message: "the block failed as expected (stopped by signal 4)", block: 0))
        return Wrong.assemble(chapter, stderr: [stderr], events: [0: [verdict]])
    }

    @Test func compileStageThatCompilesFails() throws {
        let r = try Self.ranAndFailed("compile", stderr: "Fatal error: on purpose\n")
        let check = try #require(r.findings.first { $0.kind == .expectError })
        #expect(!check.passed && check.location == Wrong.at(4))
        #expect(check.message.contains("is marked expect-error=compile but it compiled, then failed when run"))
        #expect(r.status == .failed)
    }

    @Test func runMessageMustBeInTheFailure() throws {
        #expect(try Self.ranAndFailed("run", message: " message=\"on purpose\"", stderr: "Fatal error: on purpose\n").status == .passed)
        let r = try Self.ranAndFailed("run", message: " message=\"Index out of range\"", stderr: "Fatal error: on purpose\n")
        let check = try #require(r.findings.first { $0.kind == .expectError })
        #expect(!check.passed && check.location == Wrong.at(4))
        #expect(check.message.contains("failed when run, but not with \"Index out of range\"; it said:\nFatal error: on purpose"))
        // The fragment printed by the block before it failed some other way is not its failure.
        let chapter = try Wrong.parse("# W\n\n```swift expect-error=run message=\"Index out of range\"\nprint(\"Index out of range\")\nfatalError(\"on purpose\")\n```\n")
        let verdict = ChannelEvent.check(Finding(kind: .expectError, label: "block 1", passed: true, message: "the block failed as expected", block: 0))
        let printed = Wrong.assemble(chapter, stdout: ["Index out of range\n"], stderr: ["Fatal error: on purpose\n"], events: [0: [verdict]])
        #expect(printed.findings.first { $0.kind == .expectError }?.passed == false)
    }
}

@Suite("Wrong chapters: claims")
struct WrongClaimTests {
    static func claim(_ text: String, value: Double = 1.05) throws -> Finding {
        let chapter = try Wrong.parse("# W\n\nThe ratio is \(text).\n")
        return try #require(ProseJudge.findings(for: chapter, metrics: ["x": value], profile: "default", runCompleted: true).first)
    }

    @Test func aWideBandWithoutAReasonFails() throws {
        let f = try Self.claim("{{x:.2f ≈ 1 ± 0.15}}")
        #expect(!f.passed && f.location == Wrong.at(3, 14))
        #expect(f.message.contains("tolerance 0.15 is above the ceiling 0.1 for claim checks, and no reason is given"))
        // Even for a claim of another profile: the band is wrong in the source.
        let chapter = try Wrong.parse("---\ntitle: W\nprofiles:\n  quick: {}\n---\nThe ratio is {{x ≈ 1 ± 0.15 @quick}}.\n")
        let other = ProseJudge.findings(for: chapter, metrics: [:], profile: "default", runCompleted: true)
        #expect(other.map(\.verdict) == [.failed])
        #expect(other.first?.location == Wrong.at(6, 14))
    }

    @Test func aWideBandWithAReasonPassesAndSaysWhy() throws {
        let f = try Self.claim("{{x:.2f ≈ 1 ± 0.15 because N ≤ 30 draws}}")
        #expect(f.passed)
        #expect(f.toleranceReason == "N ≤ 30 draws")
        let chapter = try Wrong.parse("---\ntitle: W\nprofiles:\n  quick: {}\n---\nThe ratio is {{x ≈ 1 ± 0.15 because few draws @quick}}.\n")
        guard case .claim(let c)? = chapter.inlines.first(where: { if case .claim = $0 { true } else { false } }) else {
            Issue.record("no claim"); return
        }
        #expect(c.toleranceReason == "few draws" && c.profile == "quick")
    }

    @Test func aReasonOnATightBandFails() throws {
        let f = try Self.claim("{{x ≈ 1 ± 0.05 because habit}}")
        #expect(!f.passed && f.message.contains("within the ceiling"))
    }

    @Test func aComparisonWithANumberShowsTheBound() throws {
        let chapter = try Wrong.parse("# W\n\n```swift\nprint(1)\n```\n\nSmall: {{err:.0f < 1000}}; ordered: {{err:.0f < big}}.\n")
        let r = Wrong.assemble(chapter, metrics: ["err": 40, "big": 50])
        let outline = BookOutline(title: "B", chapters: [(chapter.slug, chapter.title, "passed")], targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: r, outline: outline, position: 0)
        let html = page.render()
        #expect(html.contains("<span class=\"value\">40 &lt; 1000</span>"))
        #expect(html.contains("<span class=\"value\">40 &lt; 50</span>"))
    }
}

@Suite("Wrong chapters: equation coverage")
struct WrongEquationCoverageTests {
    static let source = """
    # W

    $$y = 2x$$ {#eq-double}

    $$z = 3x$$ {#eq-triple unchecked="the code never computes z"}

    $$w = x$$

    ```swift
    print(1)
    ```
    """

    @Test func anUntouchedLabelledEquationFailsAtItsPlace() throws {
        let chapter = try Wrong.parse(Self.source)
        #expect(chapter.equations.map(\.unchecked) == [nil, "the code never computes z", nil])
        let r = Wrong.assemble(chapter)
        #expect(r.status == .failed)
        let f = try #require(r.failures.first)
        #expect(r.failures.count == 1)
        // A finding of its own kind: about a check that did not happen, never counted as a check,
        // and determined by the chapter alone (so the cache keeps it).
        #expect(f.kind == .coverage && f.label == "eq-double" && f.location == Wrong.at(3))
        #expect(!f.kind.isCheck && r.checks.isEmpty && r.isReproducible)
        #expect(f.found == "no check")
        #expect(f.message == "eq-double is numbered like a checked equation but no verify/verifyFails touched it; check it or mark it `{#eq-double unchecked=\"reason\"}`")
    }

    @Test func aTouchedEquationPassesAndAStoppedRunLeavesItNotChecked() throws {
        let chapter = try Wrong.parse(Self.source)
        let verified = ChannelEvent.check(Finding(kind: .equation, label: "eq-double", verdict: .passed, file: Wrong.path, line: 3,
                                                   message: "holds", block: 0))
        #expect(Wrong.assemble(chapter, events: [0: [verified]]).status == .passed)
        var compile = CompileVerdict()
        compile.blockErrors[0] = .init(text: "error", location: Wrong.at(10))
        let stopped = Wrong.assemble(chapter, compile: compile)
        #expect(stopped.findings.first { $0.label == "eq-double" }?.verdict == .notChecked)
    }

    @Test func anEquationMarkedUncheckedThatACheckTouchedFails() throws {
        let chapter = try Wrong.parse(Self.source)
        let events: [ChannelEvent] = ["eq-double", "eq-triple"].map {
            .check(Finding(kind: .equation, label: $0, verdict: .passed, file: Wrong.path, line: 3, message: "holds", block: 0))
        }
        let r = Wrong.assemble(chapter, events: [0: events])
        let f = try #require(r.failures.first)
        #expect(f.kind == .coverage && f.label == "eq-triple" && f.location == Wrong.at(5) && f.message.contains("is marked unchecked"))
        #expect(f.found == "a check" && ChapterPage.equationBadgeLabel(f) == "checked, marked unchecked")
    }

    @Test func malformedUncheckedAttributes() throws {
        let unknown = try Wrong.error("# W\n\n$$y$$ {#eq-y skip=\"x\"}\n")
        #expect(unknown.location == Wrong.at(3, 7) && unknown.message.contains("unknown attribute"))
        let empty = try Wrong.error("# W\n\n$$y$$ {#eq-y unchecked=\"\"}\n")
        #expect(empty.message.contains("gives no reason"))
        let open = try Wrong.error("# W\n\n$$y$$ {#eq-y unchecked=\"x}\n")
        #expect(open.message.contains("malformed equation label"))
    }
}

@Suite("Wrong chapters: what the page says was checked")
struct CheckedSummaryPageTests {
    /// The coverage chapter, with an output block and a claim that each carry a reason.
    static let source = WrongEquationCoverageTests.source.replacingOccurrences(of: "print(1)", with: "print(1.005)")
        + "\n\n```output tol=0.01 because=\"sums in a different order\"\n1\n```\n\nRatio {{x:.2f ≈ 1 ± 0.15 because few draws}}."

    func page() throws -> (html: String, index: String) {
        let chapter = try Wrong.parse(Self.source)
        var double = Finding(kind: .equation, label: "eq-double", verdict: .passed, file: Wrong.path, line: 3,
                             maxRelError: 1e-9, tolerance: 1e-6, message: "holds", block: 0)
        double.mutants = [MutantVerdict(kind: "sign", description: "y = -2x", column: 5, survived: true,
                                        acknowledged: "x is 0 in this example"),
                          MutantVerdict(kind: "swap", description: "y = 2y", column: 6, survived: false,
                                        notJudged: "unbound symbol y")]
        let r = Wrong.assemble(chapter, stdout: ["1.005\n"], events: [0: [.check(double)]], metrics: ["x": 1.1])
        #expect(r.status == .passed, "\(r.failures)")
        let outline = BookOutline(title: "B", chapters: [(chapter.slug, chapter.title, "passed")], targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: r, outline: outline, position: 0)
        return (page.render(), IndexPage.render(title: "B", chapters: [(chapter: chapter, result: Optional(r))]))
    }

    @Test func countsByKindNeverMore() throws {
        let (html, index) = try page()
        let sentence = "1 equation, 1 claim, 1 output checked; 2 display equations not checked"
        #expect(html.contains("3 of 3 checks passed in this build (\(sentence))"))
        #expect(index.contains(sentence))
        #expect(!index.contains("every claim"))
    }

    @Test func badgesShowTolerancesAndReasons() throws {
        let (html, _) = try page()
        #expect(html.contains("<b>tolerance</b> 0.01, because sums in a different order"))
        #expect(html.contains("<span class=\"badge-label\">output ±0.01</span>"))
        #expect(html.contains("<b>tolerance</b> 0.15, because few draws"))
    }

    @Test func uncheckedEquationsAndAcknowledgedSurvivorsAreShown() throws {
        let (html, _) = try page()
        #expect(html.contains("<p class=\"eq-unchecked-reason\">not checked: the code never computes z</p>"))
        #expect(html.components(separatedBy: "<span class=\"eq-unchecked\"").count - 1 == 2)
        #expect(html.contains("<li>passes also if y = -2x: x is 0 in this example</li>"))
        #expect(!html.contains("y = 2y"))
    }
}
