import Foundation
import Testing
@testable import BookKit

@Suite("Cross-references")
struct CrossReferenceTests {
    let parser = ChapterParser()

    static let first = """
    ---
    title: Sequences
    ---
    The first paragraph is about $x_t$ and sequences.

    ## Data {#sec-data}

    Text.

    ### Tokens

    $$y = x$$ {#eq-identity unchecked="a definition"}

    ## Models {#sec-models}

    ![An unrolled network](https://example.org/rnn.svg){#fig-unrolled}

    ![Unlabelled](https://example.org/x.svg)

    See @sec-data, @fig-unrolled and @eq-identity; later @sec-grads and @eq-state.
    """

    static let second = """
    ---
    title: Gradients
    ---
    ## Gradients vanish {#sec-grads}

    $$h = f(h)$$ {#eq-state unchecked="a definition"}

    Back to @sec-models, @fig-unrolled and @eq-identity; here @eq-state.
    """

    func book() throws -> [Chapter] {
        [try parser.parse(source: Self.first, path: "chapters/01-seq.md"), try parser.parse(source: Self.second, path: "chapters/02-grad.md")]
    }

    @Test func headingsAndFiguresAreNumberedAndLabelled() throws {
        let chapter = try book()[0]
        let sections = try #require(chapter.sections)
        #expect(sections.map(\.path) == [[1], [1, 1], [2]])
        #expect(sections.map(\.label) == ["sec-data", nil, "sec-models"])
        #expect(sections.map(\.title) == ["Data", "Tokens", "Models"])
        #expect(sections[0].location.line == 6)
        #expect(chapter.figures?.map(\.label) == ["fig-unrolled", nil])
        #expect(chapter.figures?.first?.location.line == 16)
        // The label left the heading's text and the figure stays a figure.
        guard case .prose(let blocks) = chapter.segments[0] else { Issue.record("expected prose"); return }
        #expect(blocks.contains { $0.kind == .heading(level: 2, content: [.text("Data")], section: sections[0]) })
        #expect(!(HTMLFixtures.markup(chapter.segments[0], of: chapter) ?? "").contains("{#"))
        #expect(chapter.segments.filter { if case .figure = $0 { true } else { false } }.count == 2)
        #expect(chapter.crossReferences.map(\.label) == ["sec-data", "fig-unrolled", "eq-identity", "sec-grads", "eq-state"])
        #expect(chapter.crossReferences[3].location == SourceLocation(file: "chapters/01-seq.md", line: 20, column: 54))
    }

    @Test func referencesResolveAcrossTheBook() throws {
        let book = try book()
        for chapter in book { try CrossReferences.check(chapter, in: book) }
        // Alone, a chapter's references to another chapter do not resolve.
        let error = try #require(throws: BookError.self) { try CrossReferences.check(book[1], in: [book[1]]) }
        #expect(error.location == SourceLocation(file: "chapters/02-grad.md", line: 8, column: 9))
        #expect(error.message.contains("@sec-models refers to no labelled section"))
        #expect(error.message.contains("did you mean 'sec-grads'?") == false)
    }

    @Test func unknownTargetIsAnErrorWithASuggestion() throws {
        let book = try book()
        let typo = try parser.parse(source: "Intro.\n\nSee @sec-modles.\n", path: "chapters/03-x.md")
        let error = try #require(throws: BookError.self) { try CrossReferences.check(typo, in: book + [typo], unparsed: ["chapters/04-y.md"]) }
        #expect(error.location == SourceLocation(file: "chapters/03-x.md", line: 3, column: 5))
        #expect(error.message.contains("did you mean 'sec-models'?"))
        #expect(error.message.contains("chapters/04-y.md did not parse"))
    }

    @Test func ambiguousTargetIsAnErrorNamingBothDefinitions() throws {
        let a = try parser.parse(source: "$$a$$ {#eq-loss}\n", path: "chapters/01-a.md")
        let b = try parser.parse(source: "$$b$$ {#eq-loss}\n", path: "chapters/02-b.md")
        let c = try parser.parse(source: "Text.\n\nUses @eq-loss.\n", path: "chapters/03-c.md")
        let error = try #require(throws: BookError.self) { try CrossReferences.check(c, in: [a, b, c]) }
        #expect(error.location == SourceLocation(file: "chapters/03-c.md", line: 3, column: 6))
        #expect(error.message.contains("ambiguous"))
        #expect(error.message.contains("chapters/01-a.md:1:1") && error.message.contains("chapters/02-b.md:1:1"))
        // A chapter's own label wins over another chapter's.
        let own = try parser.parse(source: "$$c$$ {#eq-loss}\n\nUses @eq-loss.\n", path: "chapters/04-d.md")
        try CrossReferences.check(own, in: [a, b, own])
        #expect(CrossReferenceTargets([a, b, own]).target("eq-loss", from: "04-d")?.number == "3.1")
        #expect(CrossReferenceTargets([a, b, own]).target("eq-loss", from: "05-e") == nil)
    }

    @Test(arguments: [
        ("Text {#sec-x} here.\n", 1, 6, "is not at the end of a heading"),
        ("## A\n\nA picture ![x](https://e.org/a.png){#fig-x} in text.\n", 3, 36, "does not follow a figure"),
        ("## A {#sec-a b}\n", 1, 6, "malformed label '{#sec-a b}'"),
        ("## A {#sec-a\n", 1, 6, "not closed"),
        ("## A {#sec-a}\n\n## B {#sec-a}\n", 3, 6, "already used at line 1"),
        ("# Title {#sec-t}\n", 1, 1, "level-1 heading"),
        ("## A {#fig-a}\n", 1, 6, "does not follow a figure"),
        ("## A {#sec-a}{#sec-b}\n", 1, 14, "a second label"),
    ])
    func misplacedOrMalformedLabelsAreErrors(source: String, line: Int, column: Int, says: String) throws {
        let error = try #require(throws: BookError.self) { try parser.parse(source: source, path: "chapters/t.md") }
        #expect(error.location == SourceLocation(file: "chapters/t.md", line: line, column: column), "\(error)")
        #expect(error.message.contains(says), "\(error)")
    }

    @Test func pagesNumberSectionsFiguresAndEquationsByChapter() throws {
        let book = try book()
        let root = try HTMLFixtures.makeBookRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("output")
        try SiteRenderer(bookRoot: root).render(chapters: book.map { ($0, nil) }, to: out)
        let one = try String(contentsOf: out.appendingPathComponent("01-seq.html"), encoding: .utf8)
        let two = try String(contentsOf: out.appendingPathComponent("02-grad.html"), encoding: .utf8)
        #expect(one.contains("<h2 id=\"sec-data\"><span class=\"secno\">1.1</span> Data<a class=\"anchor\" href=\"#sec-data\""))
        #expect(one.contains("<h3 id=\"tokens\"><span class=\"secno\">1.1.1</span> Tokens"))
        #expect(one.contains("<figure class=\"figure\" id=\"fig-unrolled\">"))
        #expect(one.contains("<span class=\"fig-no\">Figure 1.1.</span> An unrolled network"))
        #expect(one.contains("<span class=\"fig-no\">Figure 1.2.</span> Unlabelled"))
        #expect(one.contains("<span class=\"eqno\">(1.1)</span>"))
        #expect(one.contains("See <a class=\"xref\" href=\"#sec-data\">Section 1.1</a>, <a class=\"xref\" href=\"#fig-unrolled\">Figure 1.1</a> and <a class=\"eqref\" href=\"#eq-identity\">(1.1)</a>"))
        #expect(one.contains("later <a class=\"xref\" href=\"02-grad.html#sec-grads\">Section 2.1</a> and <a class=\"eqref\" href=\"02-grad.html#eq-state\">(2.1)</a>"))
        #expect(two.contains("Back to <a class=\"xref\" href=\"01-seq.html#sec-models\">Section 1.2</a>, <a class=\"xref\" href=\"01-seq.html#fig-unrolled\">Figure 1.1</a> and <a class=\"eqref\" href=\"01-seq.html#eq-identity\">(1.1)</a>"))
        #expect(two.contains("<h2 id=\"sec-grads\"><span class=\"secno\">2.1</span> Gradients vanish"))
        // The sidebar shows the numbers too.
        #expect(two.contains("<li class=\"h2\"><a href=\"#sec-grads\"><span class=\"secno\">2.1</span> Gradients vanish</a></li>"))
    }

    @Test func headingIDsNeverTakeALabelPrefix() throws {
        let chapter = try parser.parse(source: "## Fig. 2 again\n\n## Eq. 1\n\n## Fig 2 again\n", path: "chapters/t.md")
        let outline = BookOutline(title: "B", chapters: [("t", "T", "notrun")], targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: nil, outline: outline, position: 0)
        let html = page.render()
        #expect(html.contains("<h2 id=\"section-fig-2-again\">"))
        #expect(html.contains("<h2 id=\"section-eq-1\">"))
        #expect(html.contains("<h2 id=\"section-fig-2-again-2\">"))
    }

    @Test func aPartialBuildResolvesLinksToTheOtherChapters() throws {
        let book = try Book()
        try book.write("01-seq.md", Self.first)
        try book.write("02-grad.md", Self.second)
        let run = try book.run("build", "chapters/02-grad.md")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let page = try String(contentsOf: book.root.appendingPathComponent("output/02-grad.html"), encoding: .utf8)
        #expect(page.contains("href=\"01-seq.html#sec-models\">Section 1.2</a>"))
        // A typo in a reference fails that chapter at its place.
        try book.write("02-grad.md", Self.second.replacingOccurrences(of: "@sec-models", with: "@sec-model"))
        let bad = try book.run("build", "chapters/02-grad.md")
        #expect(bad.status == 1)
        #expect((bad.stdout + bad.stderr).contains("chapters/02-grad.md:8:9: error: @sec-model refers to no labelled section"))
    }
}
