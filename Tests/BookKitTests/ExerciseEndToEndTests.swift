import Foundation
import Testing
@testable import BookKit
import BookProtocol
import TestSupport

/// Exercises through the built `rnnbook`: both editions, a wrong solution, a starter that does
/// not fit its checks, `grade` with right and wrong submissions, and the printed book.
@Suite("Exercises end to end", .serialized)
struct ExerciseEndToEndTests {
    /// Text that appears only in the fixture's solutions or in what they print and record.
    static let secrets = ["SECRET_STEP", "SECRET_MEAN", "solution says", "27.99999"]

    func book() throws -> Book {
        let book = try Book()
        try book.write("05-ex.md", ExerciseFixtures.chapter)
        return book
    }

    /// The student edition's cache goes under `$XDG_CACHE_HOME`: keep it inside the test's book.
    func env(_ book: Book) -> [String: String] { ["XDG_CACHE_HOME": book.root.appendingPathComponent("xdg").path] }

    /// Every file under `folder` whose bytes contain `text`.
    static func files(under folder: URL, containing text: String) -> [String] {
        guard let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var hits: [String] = []
        for case let url as URL in e where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            if let data = try? Data(contentsOf: url), data.range(of: Data(text.utf8)) != nil { hits.append(url.path) }
        }
        return hits
    }

    @Test func instructorEditionRunsSolutionsAndShowsThemCollapsed() throws {
        let book = try book()
        let run = try book.run("build", environment: env(book))
        #expect(run.status == 0, "\(run.stderr)")
        let r = try book.result("05-ex")
        #expect(r.status == .passed)
        let names = r.checks.filter { $0.kind == .expect }.map(\.label)
        #expect(names == ["shape", "bounded by tanh", "uniform over 28", "certain model", "two tokens"])
        #expect(r.checks.contains { $0.kind == .equation && $0.label == "eq-rnn-state" && $0.passed })
        // The expect call's own Markdown line, not just its block's.
        #expect(r.checks.first { $0.label == "two tokens" }?.line == 77)
        #expect(r.metrics["uniform_ppl"].map { abs($0 - 28) < 1e-9 } == true)
        #expect(r.blocks[1].stdout.hasPrefix("solution says"))
        let html = try String(contentsOf: book.root.appendingPathComponent("output/05-ex.html"), encoding: .utf8)
        #expect(html.contains("<details class=\"solution\"><summary>Solution"))
        #expect(html.contains("SECRET_STEP"))
        #expect(html.contains("<section class=\"exercise\" id=\"ex-uniform\">"))
        #expect(html.contains("Exercise 2</span> Perplexity of a uniform model"))
        #expect(html.contains("todo"))
    }

    @Test func studentEditionHoldsNoSolutionTextAnywhereInTheOutputFolder() throws {
        let book = try book()
        let run = try book.run("build", "--edition", "student", "-o", "student", environment: env(book))
        #expect(run.status == 0, "\(run.stderr)")
        let out = book.root.appendingPathComponent("student")
        for secret in Self.secrets {
            #expect(Self.files(under: out, containing: secret).isEmpty, "\(secret) is in the student edition")
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".cache").path))
        // The run was the same: every check ran with the reference solution and is shown by name.
        let r = try resultDecoder().decode(ChapterResult.self, from: Data(contentsOf: out.appendingPathComponent("05-ex.json")))
        #expect(r.status == .passed)
        #expect(r.checks.filter { $0.kind == .expect }.map(\.label) == ["shape", "bounded by tanh", "uniform over 28", "certain model", "two tokens"])
        #expect(r.checks.allSatisfy { $0.passed })
        #expect(r.metrics["uniform_ppl"] == nil)
        let html = try String(contentsOf: out.appendingPathComponent("05-ex.html"), encoding: .utf8)
        #expect(!html.contains("<details class=\"solution\""))
        #expect(html.contains("not part of the student edition"))
        #expect(HTMLFixtures.plainText(fromHTML: html).contains("todo(\"tanh of X W_xh + H W_hh + b_h\")"), "the starter is shown")
        #expect(html.contains("uniform over 28"))
        #expect(html.contains("```swift submission ex-uniform```"))
        // The full results sit in the private cache, outside the published folder.
        #expect(!Self.files(under: book.root.appendingPathComponent("xdg"), containing: "SECRET_MEAN").isEmpty)
        // Building the student edition into the instructor's folder would leave solutions behind.
        #expect(try book.run("build", environment: env(book)).status == 0)
        let mixed = try book.run("build", "--edition", "student", environment: env(book))
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("holds the instructor edition"))
    }

    @Test func aWrongSolutionFailsTheBookNamingTheCheck() throws {
        let book = try Book()
        try book.write("05-ex.md", ExerciseFixtures.chapter.replacingOccurrences(
            of: "return Foundation.exp(SECRET_MEAN)", with: "return Foundation.exp(-SECRET_MEAN)"))
        let run = try book.run("check", environment: env(book))
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/05-ex.md:75:7: uniform over 28: found 0.0357"), "\(run.stderr)")
        #expect(run.stderr.contains("chapters/05-ex.md:77:7: two tokens:"))
        #expect(!run.stderr.contains("certain model:"))
    }

    @Test func aStarterThatDoesNotFitItsChecksFailsTheBook() throws {
        let book = try Book()
        // The starter names the function differently from what the checks call.
        try book.write("05-ex.md", ExerciseFixtures.chapter.replacingOccurrences(
            of: "func perplexity(_ probabilities: [Double]) -> Double {\n    todo()", with: "func perplexty(_ probabilities: [Double]) -> Double {\n    todo()"))
        let run = try book.run("check", environment: env(book))
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/05-ex.md:75:"), "\(run.stderr)")
        #expect(run.stderr.contains("the starter of exercise ex-uniform does not compile in place of its solution"))
        // The checks call `perplexity(_:)`, which the starter no longer defines (the engine's
        // `perplexity(meanCrossEntropy:)` does not fit either).
        #expect(run.stderr.contains("chapters/05-ex.md:75:27: error: global function 'perplexity(meanCrossEntropy:)'"))
        // The reference solution still ran and passed its checks.
        let r = try book.run("build", environment: env(book))
        #expect(r.status == 1)
    }

    @Test func gradePassesARightSubmissionAndNamesTheFailedChecksOfAWrongOne() throws {
        let book = try book()
        let subs = book.root.appendingPathComponent("subs")
        try FileManager.default.createDirectory(at: subs, withIntermediateDirectories: true)
        try ExerciseFixtures.rightSubmission.write(to: subs.appendingPathComponent("alice.md"), atomically: true, encoding: .utf8)
        try ExerciseFixtures.wrongSubmission.write(to: subs.appendingPathComponent("bob.md"), atomically: true, encoding: .utf8)

        let right = try book.run("grade", "chapters/05-ex.md", "--submission", "subs/alice.md")
        #expect(right.status == 0, "\(right.stdout)\(right.stderr)")
        #expect(right.stdout.contains("1 of 1 submission passed every check (subs/alice.md 6/6)"))

        let wrong = try book.run("grade", "chapters/05-ex.md", "--submission", "subs/bob.md")
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("FAILED   uniform over 28  found 0.0357"), "\(wrong.stdout)")
        #expect(wrong.stdout.contains("FAILED   two tokens"))
        #expect(wrong.stdout.contains("passed   certain model"))
        #expect(wrong.stdout.contains("(chapters/05-ex.md:75:7)"))

        // A folder grades each file; --json says the same for a program.
        let folder = try book.run("grade", "chapters/05-ex.md", "--submission", "subs", "--json")
        #expect(folder.status == 1)
        let report = try JSONDecoder().decode(Grader.Report.self, from: Data(folder.stdout.utf8))
        #expect(report.submissions.map(\.file) == ["subs/alice.md", "subs/bob.md"])
        #expect(report.submissions.map(\.allPassed) == [true, false])
        let bob = try #require(report.submissions.last?.exercises.first { $0.id == "ex-uniform" })
        #expect(bob.checks.map(\.name) == ["uniform over 28", "certain model", "two tokens"])
        #expect(bob.checks.map(\.verdict) == [.failed, .passed, .failed])
        #expect(report.reference.allSatisfy { $0.allPassed })
    }

    @Test func gradeLocatesASubmissionThatDoesNotCompileAndOneLeftUnfilled() throws {
        let book = try book()
        try "// submission: ex-uniform\nfunc perplexity(_ p: [Double]) -> Double {\n    return undefinedName\n}\n"
            .write(to: book.root.appendingPathComponent("carol.swift"), atomically: true, encoding: .utf8)
        let broken = try book.run("grade", "chapters/05-ex.md", "--submission", "carol.swift", "--exercise", "ex-uniform")
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("carol.swift:3:12: error: cannot find 'undefinedName' in scope"), "\(broken.stdout)")
        #expect(broken.stdout.contains("NOT RUN  uniform over 28"))
        #expect(!broken.stdout.contains("ex-step"))

        let template = try book.run("grade", "chapters/05-ex.md", "--template")
        #expect(template.status == 0)
        try template.stdout.write(to: book.root.appendingPathComponent("dave.md"), atomically: true, encoding: .utf8)
        let unfilled = try book.run("grade", "chapters/05-ex.md", "--submission", "dave.md")
        #expect(unfilled.status == 1)
        #expect(unfilled.stdout.contains("dave.md:7: not filled in yet (todo: tanh of X W_xh + H W_hh + b_h)"), "\(unfilled.stdout)")

        let unknown = try book.run("grade", "chapters/05-ex.md", "--submission", "dave.md", "--exercise", "ex-nope")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("exercises: ex-step, ex-uniform"))
    }

    static func which(_ tool: String) -> String? {
        ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    /// The PDF is printed by Chromium and read back with pdftotext (package poppler-utils).
    static var canPrintAndRead: Bool { (try? PDFPrinter.locate()) != nil && which("pdftotext") != nil }

    @Test(.enabled(if: canPrintAndRead, "needs headless Chromium and pdftotext (poppler-utils)"))
    func theBookPrintsToOnePDFWithContentsMathsAndPageNumbers() throws {
        let book = try book()
        try book.write("01-intro.md", "# Introduction\n\nSequences $x_1, \\dots, x_T$ and \\(\\mathbf{W}_{xh}\\).\n\n## Why recurrence\n\nText.\n")
        let run = try book.run("build", "--pdf", environment: env(book))
        #expect(run.status == 0, "\(run.stderr)")
        let pdf = book.root.appendingPathComponent("output/book.pdf")
        let data = try Data(contentsOf: pdf)
        #expect(data.starts(with: Array("%PDF-".utf8)))
        let html = try String(contentsOf: book.root.appendingPathComponent("output/book-print.html"), encoding: .utf8)
        #expect(html.contains("<nav class=\"print-toc\" id=\"contents\"><h2>Contents</h2>"))
        #expect(html.contains("href=\"#ch-05-ex\""))
        #expect(html.contains("id=\"05-ex--ex-uniform\""))
        #expect(html.contains("<details class=\"solution\" open>"))
        let text = try Self.capture(try #require(Self.which("pdftotext")), ["-layout", pdf.path, "-"])
        #expect(text.contains("Contents"))
        #expect(text.contains("Hidden States, Practised"))
        #expect(text.range(of: #"Exercise 2\s+Perplexity of a uniform model"#, options: .regularExpression) != nil)
        #expect(text.contains("SECRET_MEAN"), "the instructor edition prints its solutions")
        // KaTeX ran before printing: no TeX source is left on the pages.
        #expect(!text.contains("\\mathbf"))
        #expect(!text.contains("\\("))
        // Page numbers in the footer: "2 / N" on the contents page.
        #expect(text.range(of: #"\b2\s*/\s*\d+\b"#, options: .regularExpression) != nil)
    }

    @Test(.enabled(if: canPrintAndRead, "needs headless Chromium and pdftotext (poppler-utils)"))
    func theStudentPDFHasNoSolutions() throws {
        let book = try book()
        let run = try book.run("build", "--edition", "student", "--pdf", "-o", "student", environment: env(book))
        #expect(run.status == 0, "\(run.stderr)")
        let out = book.root.appendingPathComponent("student")
        for secret in Self.secrets { #expect(Self.files(under: out, containing: secret).isEmpty, "\(secret)") }
        let text = try Self.capture(try #require(Self.which("pdftotext")), [out.appendingPathComponent("book.pdf").path, "-"])
        #expect(text.contains("Student edition"))
        #expect(text.contains("uniform over 28"))
        for secret in Self.secrets { #expect(!text.contains(secret), "\(secret) printed") }
    }

    @Test func pdfWithoutChromiumFailsBeforeBuilding() throws {
        let book = try book()
        let run = try book.run("build", "--pdf", environment: env(book).merging(["RNNBOOK_CHROMIUM": "/nonexistent/chromium"]) { $1 })
        #expect(run.status == 1)
        #expect(run.stderr.contains("RNNBOOK_CHROMIUM=/nonexistent/chromium is not an executable file"))
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/05-ex.html").path))
    }

    /// What `tool arguments…` prints on stdout.
    static func capture(_ tool: String, _ arguments: [String]) throws -> String {
        try Program(tool, arguments).run().stdout
    }
}
