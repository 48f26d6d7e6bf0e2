import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// Hidden checks (```` ```swift check hide ````) keep their names out of the student edition:
/// they appear there as "hidden check 1…n" per exercise, or under the block's `public="…"` name.
@Suite("Hidden check names", .serialized)
struct HiddenCheckTests {
    /// The exercises fixture with hidden checks whose names give the answer away (each holds
    /// GIVEAWAY), one hidden block in the first exercise, two in the second (one with a public name).
    static let chapter = ExerciseFixtures.chapter
        .replacingOccurrences(of: """
            verify("eq-rnn-state", ["X_t": Xt, "W_xh": Wxh, "H_{t-1}": Hprev, "W_hh": Whh, "b_h": bh, "H_t": mine],
                   functions: ["phi": { $0.map { Foundation.tanh($0) } }])
            ```
            """, with: """
            verify("eq-rnn-state", ["X_t": Xt, "W_xh": Wxh, "H_{t-1}": Hprev, "W_hh": Whh, "b_h": bh, "H_t": mine],
                   functions: ["phi": { $0.map { Foundation.tanh($0) } }])
            ```

            ```swift check hide
            expect("first row is tanh of row 0 GIVEAWAY_ROW", rnnStep(Xt, Hprev)[0, 0] == mine[0, 0], "same input, same step")
            ```
            """)
        .replacingOccurrences(of: """
            expect("certain model", perplexity([1, 1, 1]), near: 1, tolerance: 1e-12)
            expect("two tokens", perplexity([0.5, 0.25]), near: Foundation.sqrt(8), tolerance: 1e-9)
            ```
            """, with: """
            ```

            ```swift check hide
            expect("certain model is 1 GIVEAWAY_ONE", perplexity([1, 1, 1]), near: 1, tolerance: 1e-12)
            expect("two tokens give sqrt 8 GIVEAWAY_EIGHT", perplexity([0.5, 0.25]), near: Foundation.sqrt(8), tolerance: 1e-9)
            ```

            ```swift check hide public="order of the tokens"
            expect("reversed is also sqrt 8 GIVEAWAY_ORDER", perplexity([0.25, 0.5]), near: Foundation.sqrt(8), tolerance: 1e-9)
            ```
            """)

    func env(_ book: Book) -> [String: String] { ["XDG_CACHE_HOME": book.root.appendingPathComponent("xdg").path] }

    @Test func theStudentEditionNamesHiddenChecksByNumberOrPublicNameAndNowhereByTheirOwn() throws {
        #expect(Self.chapter.contains("GIVEAWAY_ROW") && Self.chapter.contains("GIVEAWAY_ORDER"), "the fixture was edited")
        let book = try Book()
        try book.write("05-ex.md", Self.chapter)
        let run = try book.run("build", "--edition", "student", "-o", "student", environment: env(book))
        #expect(run.status == 0, "\(run.stderr)")
        let out = book.root.appendingPathComponent("student")
        // Every file: pages, JSON, the search index, the print book's assets.
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("search-index.js").path))
        #expect(ExerciseEndToEndTests.files(under: out, containing: "GIVEAWAY").isEmpty)
        let r = try resultDecoder().decode(ChapterResult.self, from: Data(contentsOf: out.appendingPathComponent("05-ex.json")))
        #expect(r.checks.filter { $0.kind == .expect }.map(\.label) == [
            "shape", "bounded by tanh", "hidden check 1", "uniform over 28", "hidden check 1", "hidden check 2", "order of the tokens",
        ])
        #expect(r.checks.allSatisfy { $0.passed })
        let html = try String(contentsOf: out.appendingPathComponent("05-ex.html"), encoding: .utf8)
        #expect(html.contains("<span class=\"badge-label\">hidden check 2</span>"))
        #expect(html.contains("<span class=\"badge-label\">order of the tokens</span>"))

        // The instructor edition keeps the names the author wrote.
        let instructor = try book.run("build", environment: env(book))
        #expect(instructor.status == 0, "\(instructor.stderr)")
        let full = try book.result("05-ex")
        #expect(full.checks.filter { $0.kind == .expect }.map(\.label).contains("two tokens give sqrt 8 GIVEAWAY_EIGHT"))
        #expect(!full.checks.contains { $0.label.hasPrefix("hidden check") })
        let page = try String(contentsOf: book.root.appendingPathComponent("output/05-ex.html"), encoding: .utf8)
        #expect(page.contains("reversed is also sqrt 8 GIVEAWAY_ORDER"))
    }

    @Test func aFailedHiddenCheckGivesNothingAwayInTheStudentEdition() throws {
        let book = try Book()
        // A wrong solution: every perplexity check fails, and the failure banner lists them.
        try book.write("05-ex.md", Self.chapter.replacingOccurrences(
            of: "return Foundation.exp(SECRET_MEAN)", with: "return Foundation.exp(-SECRET_MEAN)"))
        let run = try book.run("build", "--edition", "student", "-o", "student", environment: env(book))
        #expect(run.status == 1)
        // The terminal is the instructor's: it names the real check.
        #expect(run.stderr.contains("GIVEAWAY_EIGHT"), "\(run.stderr)")
        let out = book.root.appendingPathComponent("student")
        #expect(ExerciseEndToEndTests.files(under: out, containing: "GIVEAWAY").isEmpty)
        let html = try String(contentsOf: out.appendingPathComponent("05-ex.html"), encoding: .utf8)
        #expect(html.contains("expect <code>hidden check 2</code>"), "the failure banner names it by number")
    }

    @Test(arguments: [
        ("```swift check public=\"speed\"\nexpect(\"x\", true)\n```\n", "write it on a ```swift check hide``` block"),
        ("```swift hide public=\"speed\"\nprint(1)\n```\n", "write it on a ```swift check hide``` block"),
        ("```swift solution public=\"speed\"\nlet y = 1\n```\n", "cannot go with 'solution'"),
        ("```swift check hide public=\"\"\nexpect(\"x\", true)\n```\n", "public=\"\" is empty"),
        ("```swift check hide public=speed\nexpect(\"x\", true)\n```\n", "public= takes a double-quoted text"),
    ])
    func aPublicNameGoesOnlyOnAHiddenCheckBlock(block: String, says: String) throws {
        let source = "# T\n\n### Exercise: E {#ex-e}\n\n```swift solution\nlet x = 1\n```\n\n" + block
        let error = try #require(throws: BookError.self) { try ChapterParser().parse(source: source, path: "chapters/01-x.md") }
        #expect(error.location?.line == 9, "\(error)")
        #expect(error.message.contains(says), "\(error)")
    }

    @Test func aPublicNameIsParsedOnAHiddenCheckBlock() throws {
        let source = "# T\n\n### Exercise: E {#ex-e}\n\n```swift solution\nlet x = 1\n```\n\n```swift check hide public=\"the sum of both\"\nexpect(\"x is one\", x == 1)\n```\n"
        let chapter = try ChapterParser().parse(source: source, path: "chapters/01-x.md")
        let check = try #require(chapter.codeBlocks.first { $0.options.role == .check })
        #expect(check.options.publicName == "the sum of both")
        #expect(!check.options.showCode)
    }
}
