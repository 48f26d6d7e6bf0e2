import Foundation
import Testing
@testable import BookKit
import BookProtocol

@Suite("Exercises: parsing, programs, submissions, editions")
struct ExerciseTests {
    let parser = ChapterParser()
    let path = "chapters/05-ex.md"

    func fixture() throws -> Chapter { try parser.parse(source: ExerciseFixtures.chapter, path: path) }

    @Test func exercisesAndTheirPartsAreFound() throws {
        let chapter = try fixture()
        #expect(chapter.exercises.map(\.id) == ["ex-step", "ex-uniform"])
        #expect(chapter.exercises.map(\.title) == ["One step by hand", "Perplexity of a uniform model"])
        #expect(chapter.exercises.map(\.number) == [1, 2])
        #expect(chapter.exercises.map(\.level) == [3, 3])
        #expect(chapter.exercises[0].location == SourceLocation(file: path, line: 29, column: 1))
        // The heading is the exercise's, not prose: it is not in any segment.
        for segment in chapter.segments {
            if let html = HTMLFixtures.markup(segment, of: chapter) { #expect(!html.contains("{#ex-")) }
        }
        // "## After the exercises" (a higher level) ends the second exercise.
        let after = try #require(chapter.codeBlocks.last)
        #expect(after.exercise == nil)
        #expect(!chapter.exercises[1].segments.contains(chapter.segments.count - 1))

        let step = chapter.blocks(ofExercise: "ex-step").map(\.block)
        #expect(step.map(\.options.role) == [.starter, .solution, .check])
        #expect(step.allSatisfy { $0.exercise == "ex-step" })
        // A starter is shown and never run; solutions and checks are runnable blocks.
        #expect(step[0].index == nil && !step[0].options.run)
        #expect(step[1].index == 1 && step[2].index == 2)
        #expect(step[0].location.line == 34)
        #expect(chapter.gradableExercises.count == 2)
    }

    @Test func hiddenChecksAndTimeoutsAreOptionsOfTheirRoles() throws {
        let chapter = try parser.parse(source: Self.exerciseHead + "```swift solution timeout=5\nlet s = 3\n```\n\n```swift check hide\nexpect(\"s\", s, equals: 3)\n```\n", path: path)
        let blocks = chapter.blocks(ofExercise: "ex-sum").map(\.block)
        #expect(blocks.map(\.options.role) == [.solution, .check])
        #expect(blocks[0].options.timeout == 5 && blocks[0].options.showCode)
        #expect(!blocks[1].options.showCode && blocks[1].options.run)
    }

    /// A check block's printed text is the submission's to forge: no output block may judge it.
    /// After a solution, one still may.
    @Test func anOutputBlockCannotJudgeACheckBlock() throws {
        let source = Self.exerciseHead + "```swift solution\nlet s = 3\nprint(s)\n```\n\n```output\n3\n```\n\n```swift check\nprint(s == 3)\n```\n\n```output\ntrue\n```\n"
        #expect(throws: BookError.self) { try parser.parse(source: source, path: path) }
        do { _ = try parser.parse(source: source, path: path) } catch let error as BookError {
            #expect(error.location == SourceLocation(file: path, line: 20, column: 1))
            #expect(error.message.contains("an output block cannot judge a ```swift check``` block"))
        }
        let allowed = source.replacingOccurrences(of: "\n\n```output\ntrue\n```\n", with: "\n")
        let chapter = try parser.parse(source: allowed, path: path)
        #expect(chapter.codeBlocks.first?.expected?.text == "3\n")
    }

    @Test func headingTextAndInlineMathsStayInTheTitle() throws {
        let chapter = try parser.parse(source: "## Exercise: The *sum* of $x_t$ {#ex-sum}\n\nWhy?\n", path: path)
        let exercise = try #require(chapter.exercises.first)
        #expect(exercise.titleContent == [.text("The "), .emphasis([.text("sum")]), .text(" of "), .lifted(.math(tex: "x_t"))])
        #expect(exercise.level == 2)
        // A question without code is an exercise too (nothing to run or grade).
        #expect(chapter.gradableExercises.isEmpty)
    }

    static let exerciseHead = "# T\n\n### Exercise: Sum {#ex-sum}\n\nAdd.\n\n"

    @Test(arguments: [
        // (source, line, column, part of the message)
        ("# T\n\n```swift solution\nlet x = 1\n```\n", 3, 1, "must be inside an exercise"),
        ("# T\n\n```swift check\nexpect(\"x\", true)\n```\n", 3, 1, "```swift check``` block must be inside an exercise"),
        (exerciseHead + "```swift solutoin\nlet x = 1\n```\n", 7, 1, "unknown swift block option 'solutoin'"),
        ("# T\n\n### Exercise: Sum\n\nAdd.\n", 3, 1, "exercise heading has no id"),
        ("# T\n\n### Exercise: Sum {#ex-}\n\nAdd.\n", 3, 19, "malformed exercise id '{#ex-}'"),
        ("# T\n\n### Task: Sum {#ex-sum}\n", 3, 1, "must start with 'Exercise:'"),
        ("# T\n\n### exercise: Sum {#ex-sum}\n", 3, 1, "must start with 'Exercise:' exactly"),
        (exerciseHead + "### Exercise: Again {#ex-sum}\n", 7, 21, "exercise id 'ex-sum' is already used at line 3"),
        (exerciseHead + "#### Exercise: Inner {#ex-inner}\n", 7, 1, "starts inside exercise ex-sum"),
        (exerciseHead + "```swift solution\nlet s = 1 + 2\n```\n\n## Next\n", 3, 1, "has a solution but no ```swift check``` block"),
        (exerciseHead + "```swift starter\nlet s: Int = todo()\n```\n", 3, 1, "has a starter but no ```swift solution``` block"),
        (exerciseHead + "```swift check\nexpect(\"s\", s, equals: 3)\n```\n", 7, 1, "a check block must come after the exercise's solution blocks"),
        (exerciseHead + "```swift solution\nlet s = 3\n```\n\n```swift check\nexpect(\"s\", s, equals: 3)\n```\n\n```swift starter\nlet s = 0\n```\n",
         15, 1, "a starter block must come before the exercise's solution (line 7)"),
        (exerciseHead + "```swift solution\nlet a = 1\n```\n\nThen:\n\n```swift solution\nlet s = a + 2\n```\n", 13, 1, "must follow one another"),
        (exerciseHead + "```swift starter hide\nlet s = 0\n```\n", 7, 1, "option 'hide' cannot go with 'starter'"),
        (exerciseHead + "```swift solution check\nlet s = 0\n```\n", 7, 1, "one exercise role; found 'solution' and 'check'"),
        (exerciseHead + "```swift starter\nlet s = 0\n```\n\n```output\n0\n```\n", 11, 1, "a swift starter block, which is never run"),
        (exerciseHead + "- step one\n\n  ```swift starter\n  let s = 0\n  ```\n", 9, 3, "swift starter block inside a list item would not be part of its exercise"),
    ])
    func authorMistakesFailAtTheirPlace(source: String, line: Int, column: Int, message: String) {
        do {
            _ = try parser.parse(source: source, path: path)
            Issue.record("parsed without an error; expected \(message)")
        } catch let error as BookError {
            #expect(error.location == SourceLocation(file: path, line: line, column: column), "\(error)")
            #expect(error.message.contains(message), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func eachExerciseRunsInItsOwnScopeAndStartersAreNotInTheProgram() throws {
        let chapter = try fixture()
        let program = ProgramGenerator().program(for: chapter)
        let lines = program.components(separatedBy: "\n")
        let open = try #require(lines.firstIndex(of: "do { // exercise ex-step"))
        let close = try #require(lines.firstIndex(of: "} // end of exercise ex-step"))
        let next = try #require(lines.firstIndex(of: "do { // exercise ex-uniform"))
        let end = try #require(lines.firstIndex(of: "} // end of exercise ex-uniform"))
        #expect(open < close && close < next && next < end)
        // The solution and checks of ex-step are inside its scope; the block after the exercises is not.
        let solution = try #require(lines.firstIndex { $0.contains("let SECRET_STEP") })
        #expect(open < solution && solution < close)
        let last = try #require(lines.firstIndex { $0.contains("print(\"h =\", h)") })
        #expect(last > end)
        #expect(!program.contains("todo("))
    }

    @Test func substitutingASolutionCutsTheChapterAfterItsExercise() throws {
        let chapter = try fixture()
        let answer = CodeBlock(language: "swift", code: "func perplexity(_ p: [Double]) -> Double { 1 }\n", options: BlockOptions(),
                               index: nil, location: SourceLocation(file: "alice.md", line: 4))
        let graded = chapter.substitutingSolutions(["ex-uniform": [answer]], endingAfter: "ex-uniform")
        let runnable = graded.codeBlocks.filter { $0.index != nil }
        #expect(runnable.map(\.index) == Array(0..<runnable.count).map(Optional.init))
        // Setup, ex-step's solution and check, the answer in place of ex-uniform's solution, its check; nothing after.
        #expect(runnable.map { $0.options.role } == [nil, .solution, .check, .solution, .check])
        #expect(runnable[3].location.file == "alice.md" && runnable[3].exercise == "ex-uniform")
        #expect(!graded.codeBlocks.contains { $0.options.role == .starter })
        #expect(!graded.codeBlocks.contains { $0.code.contains("print(\"h =\", h)") })
        #expect(!ProgramGenerator().program(for: graded).contains("SECRET_MEAN"))
    }

    // MARK: Submissions

    @Test func markdownSubmissionsNameTheirExercises() throws {
        let s = try Submission.parse(markdown: ExerciseFixtures.rightSubmission, path: "subs/alice.md")
        #expect(s.order == ["ex-step", "ex-uniform"])
        let step = try #require(s.parts["ex-step"]?.first)
        #expect(step.location == SourceLocation(file: "subs/alice.md", line: 6))
        #expect(step.code.hasPrefix("func rnnStep("))
        try s.validate(against: try fixture(), gradable: ["ex-step", "ex-uniform"])
    }

    @Test func swiftSubmissionsUseMarkerLines() throws {
        let s = try Submission.parse(swift: "// Alice\n// submission: ex-uniform\nfunc perplexity(_ p: [Double]) -> Double { 1 }\n\n// submission: ex-step\nlet x = 1\n", path: "a.swift")
        #expect(s.order == ["ex-uniform", "ex-step"])
        #expect(s.parts["ex-uniform"]?.first?.location.line == 3)
        #expect(s.parts["ex-uniform"]?.first?.code == "func perplexity(_ p: [Double]) -> Double { 1 }\n")
        #expect(s.parts["ex-step"]?.first?.location.line == 6)
    }

    @Test(arguments: [
        ("md", "Notes.\n\n```swift\nlet x = 1\n```\n", 3, 1, "must be ```swift submission ex-name```"),
        ("md", "```swift submission ex_bad\nlet x = 1\n```\n", 1, 1, "malformed exercise id 'ex_bad'"),
        ("md", "```swift submission\nlet x = 1\n```\n", 1, 1, "must be ```swift submission ex-name```"),
        ("md", "Only notes.\n", 1, 1, "no ```swift submission ex-name``` block found"),
        ("md", "- my answer:\n\n  ```swift submission ex-step\n  let x = 1\n  ```\n", 3, 3, "inside a list item is not part of the submission"),
        ("swift", "let early = 1\n// submission: ex-step\n", 1, 1, "code before the first '// submission: ex-name' line"),
        ("swift", "// submission: step\nlet x = 1\n", 1, 1, "malformed exercise id 'step'"),
    ])
    func submissionMistakesAreLocated(kind: String, text: String, line: Int, column: Int, message: String) {
        do {
            _ = kind == "md" ? try Submission.parse(markdown: text, path: "s.\(kind)") : try Submission.parse(swift: text, path: "s.\(kind)")
            Issue.record("parsed; expected \(message)")
        } catch let error as BookError {
            #expect(error.location == SourceLocation(file: "s.\(kind)", line: line, column: column), "\(error)")
            #expect(error.message.contains(message), "\(error)")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func aSubmissionForAnExerciseTheChapterLacksIsRefused() throws {
        let s = try Submission.parse(markdown: "\n```swift submission ex-steps\nlet x = 1\n```\n", path: "bob.md")
        #expect(throws: BookError.self) { try s.validate(against: try fixture(), gradable: ["ex-step", "ex-uniform"]) }
        do { try s.validate(against: try fixture(), gradable: ["ex-step", "ex-uniform"]) } catch let error as BookError {
            #expect(error.location == SourceLocation(file: "bob.md", line: 2))
            #expect(error.message.contains("has no exercise 'ex-steps'; exercises to submit: ex-step, ex-uniform"))
        }
    }

    @Test func aSubmissionMayNotReportChecksThroughTheRuntimesInternals() throws {
        let s = try Submission.parse(markdown: "```swift submission ex-uniform\nfunc perplexity(_ p: [Double]) -> Double { 28 }\n_bookBlockStart(4); expect(\"uniform over 28\", true)\n```\n", path: "eve.md")
        do {
            try s.validate(against: try fixture(), gradable: ["ex-step", "ex-uniform"])
            Issue.record("a submission calling _bookBlockStart was accepted")
        } catch let error as BookError {
            #expect(error.location == SourceLocation(file: "eve.md", line: 3, column: 1))
            #expect(error.message.contains("may not use '_bookBlockStart'"))
        }
    }

    /// Each way a submission could report a check itself, or reach what reports them, is
    /// refused at its place; the same words in a comment or a string's text are not code.
    @Test(arguments: [
        ("expect(\"uniform over 28\", true)", "expect", 1),
        ("let f = { `expect`(\"x\", true) }", "expect", 11),
        ("print(\"\\(expect(\"x\", true))\")", "expect", 10),
        ("print(#\"\\#(verify(\"eq\", [:]))\"#)", "verify", 12),
        ("BookContext.shared.emit(.failure(block: 0, message: \"\"))", "BookContext", 1),
        ("enum BookRuntime { static func expect() {} }", "BookRuntime", 6),
        ("@_silgen_name(\"swift_x\") func f()", "@_silgen_name", 1),
        ("let h = dlsym(nil, \"x\")", "dlsym", 9),
        ("let fd = getenv(\"RNNBOOK_CHANNEL_FD\")", "RNNBOOK_CHANNEL_FD", 18),
    ])
    func forbiddenNamesAreRefusedWhereTheyAre(code: String, name: String, column: Int) throws {
        let s = try Submission.parse(markdown: "```swift submission ex-uniform\nfunc perplexity(_ p: [Double]) -> Double { 28 }\n\(code)\n```\n", path: "eve.md")
        do {
            try s.validate(against: try fixture(), gradable: ["ex-step", "ex-uniform"])
            Issue.record("accepted: \(code)")
        } catch let error as BookError {
            #expect(error.location == SourceLocation(file: "eve.md", line: 3, column: column), "\(code)")
            #expect(error.message.contains("may not use '\(name)'"), "\(error.message)")
        }
    }

    @Test func theWordsInCommentsAndStringTextAreNotCode() throws {
        let code = """
        // expect("x", true) would be refused as code
        /* verify /* nested */ BookContext */
        let note = "I expect 28, and \\(1 + 1) is not verify"
        let raw = #"expect "quoted" \\(verify)"#
        let block = \"\"\"
            expect(BookRuntime)
            \"\"\"
        func perplexity(_ p: [Double]) -> Double { 28 }
        """
        let s = try Submission.parse(markdown: "```swift submission ex-uniform\n\(code)\n```\n", path: "ok.md")
        try s.validate(against: try fixture(), gradable: ["ex-step", "ex-uniform"])
        let names = SwiftTokens.identifiers(in: code).map(\.name)
        #expect(!names.contains("expect") && !names.contains("verify") && !names.contains("BookContext") && !names.contains("BookRuntime"))
        #expect(names.contains("perplexity") && names.contains("note"))
    }

    @Test func theTemplateHoldsEachStarter() throws {
        let template = try fixture().submissionTemplate
        let s = try Submission.parse(markdown: template, path: "t.md")
        #expect(s.order == ["ex-step", "ex-uniform"])
        #expect(s.parts["ex-uniform"]?.first?.code.contains("todo()") == true)
    }

    // MARK: Student edition

    /// A result as the runner would write it for the fixture (solution blocks printed and recorded).
    func fullResult(_ chapter: Chapter) -> ChapterResult {
        let blocks = (0..<6).map { i in
            BlockResult(index: i, status: .passed, stdout: i == 1 ? "solution says 0.7659\n" : i == 5 ? "h = 4\n" : "",
                        outputs: i == 3 ? [.table(TableOutput(header: ["SECRET_TABLE"], rows: []))] : [])
        }
        var check = Finding(kind: .expect, label: "uniform over 28", verdict: .passed, file: path, line: 75,
                            expected: "28.0 ± 1e-09", found: "27.999999999999986", message: "found 27.999999999999986, expected 28.0", block: 4)
        check.maxAbsError = 1.4e-14
        let claim = Finding(kind: .claim, label: "uniform_ppl", verdict: .passed, file: path, line: 58, found: "27.999999999999986",
                            message: "expected 28 ± 0.01, got 27.999999999999986")
        let crash = Finding(kind: .compile, label: "block 2", verdict: .failed, file: path, line: 41,
                            message: "let SECRET_STEP = rnnStep(Xt, Hprev)")
        var r = ChapterResult(chapter: path, title: chapter.title, status: .passed, profile: "default", params: [:], seed: nil,
                              blocks: blocks, findings: [check, claim, crash], metrics: ["uniform_ppl": 27.999999999999986, "other": 1],
                              versions: VersionInfo(rnnbook: "t", swiftc: "s", cmark: "c", openblas: "o"), machine: "m",
                              startedAt: "now", seconds: 1, compileSeconds: 1, cached: false)
        r.metricBlocks = ["uniform_ppl": 3, "other": 0]
        r.checkpoints = [CheckpointNote(block: 3, name: "SECRET_CHECKPOINT", restored: false, computedAt: "now", seconds: 2),
                         CheckpointNote(block: 5, name: "chapter-training", restored: true, computedAt: "then", seconds: 9)]
        return r
    }

    @Test func theStudentViewKeepsVerdictsAndDropsWhatSolutionsProduced() throws {
        let chapter = try fixture()
        let full = fullResult(chapter)
        #expect(Edition.instructor.view(of: full, chapter: chapter) == full)
        let student = try #require(Edition.student.view(of: full, chapter: chapter))
        let json = String(decoding: try JSONEncoder().encode(student), as: UTF8.self)
        for secret in ["solution says", "SECRET", "27.9999"] { #expect(!json.contains(secret), "\(secret) in \(json)") }
        #expect(student.metrics == ["other": 1])
        // A checkpoint a solution made is named in the solution: only the chapter's own stays.
        #expect(student.checkpoints?.map(\.name) == ["chapter-training"])
        #expect(student.blocks[5].stdout == "h = 4\n")
        #expect(student.findings.map(\.verdict) == full.findings.map(\.verdict))
        #expect(student.findings.map(\.label) == full.findings.map(\.label))
        #expect(student.findings[0].message.contains("passed with the reference solution"))
    }
}
