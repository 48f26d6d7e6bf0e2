import BookProtocol
import Foundation
import Testing
@testable import BookKit

@Suite("Contents page and search")
struct ContentsAndSearchTests {
    static let chapterSource = """
    ---
    title: Sequences
    ---
    A sequence model reads $x_1, \\dots, x_T$ one token at a time, as in [@werbos1990].
    This second line belongs to the same paragraph.

    ## Hidden states {#sec-hidden}

    The hidden state remembers the **past**, unlike the <em>window</em> of an n-gram.

    ```swift
    let secretCodeWord = 1
    ```

    ![A figure](https://example.org/f.svg)

    After the figure.

    ## Perplexity

    Perplexity is the exponential of the cross-entropy.
    """

    func renderBook() throws -> (dir: URL, index: String, page: String) {
        let parsed = try CitationFixtures.parser.parse(source: Self.chapterSource, path: "chapters/01-seq.md")
        let summarised = try CitationFixtures.parser.parse(source: "---\ntitle: Second\nsummary: \"Why gradients <vanish> & explode.\"\n---\nBody text.\n",
                                                            path: "chapters/02-grad.md")
        let root = try HTMLFixtures.makeBookRoot()
        let out = root.appendingPathComponent("output")
        var result = HTMLFixtures.introResult
        result.seed = 7
        result.versions.engine = "abc123"
        result.versions.kernels = "avx2"
        try SiteRenderer(bookTitle: "Book", bookRoot: root).render(chapters: [(parsed, result), (summarised, nil)], to: out)
        return (out, try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8),
                try String(contentsOf: out.appendingPathComponent("01-seq.html"), encoding: .utf8))
    }

    @Test func contentsShowEachChaptersSummaryChecksAndTheBuild() throws {
        let site = try renderBook()
        defer { try? FileManager.default.removeItem(at: site.dir.deletingLastPathComponent()) }
        // The first paragraph, maths kept for KaTeX, the citation as text.
        #expect(site.index.contains("<p class=\"chapter-summary\">A sequence model reads <span class=\"math inline\">\\(x_1, \\dots, x_T\\)</span> one token at a time, as in (Werbos 1990). This second line belongs to the same paragraph.</p>"))
        // Front matter wins, escaped.
        #expect(site.index.contains("<p class=\"chapter-summary\">Why gradients &lt;vanish&gt; &amp; explode.</p>"))
        // No chapter has exercises yet: no column.
        #expect(!site.index.contains("Exercises"))
        #expect(site.index.contains("<tfoot><tr><td></td><td>The book: 2 chapters</td><td>1 passed</td>"))
        #expect(site.index.contains("<dt>seed</dt><dd>7</dd>"))
        #expect(site.index.contains("<dt>engine</dt><dd>build abc123</dd>"))
        #expect(site.index.contains("<dt>kernel path</dt><dd>avx2</dd>"))
        #expect(site.index.contains("<dt>CPU</dt><dd>2-core AMD EPYC</dd>"))
        #expect(site.index.contains("<dt>profile</dt><dd>quick</dd>"))
        #expect(site.index.contains("id=\"search-input\""))
        #expect(try brokenLinks(in: site.dir).isEmpty)
    }

    @Test func mathsInTheIndexReadsAsSymbols() {
        #expect(SearchIndex.plainTeX("P(x_t \\mid x_{t-1}, \\ldots) \\approx \\mathbf{W}_{xh}\\,\\alpha") == "P(x_t | x_t-1, …) ≈ W_xhα")
    }

    @Test func aLongFirstParagraphIsCut() throws {
        let words = (1...80).map { "w\($0)" }.joined(separator: " ")
        let chapter = try ChapterParser().parse(source: words + "\n", path: "chapters/a.md")
        let outline = BookOutline(title: "", chapters: [], targets: CrossReferenceTargets([chapter]))
        let summary = IndexPage.summaryHTML(chapter, result: nil, outline: outline, position: 0).markup
        #expect(summary.hasPrefix("w1 w2 ") && summary.hasSuffix("w60 …"))
        // One that stops before display maths says it goes on.
        let stops = try ChapterParser().parse(source: "The loss is\n\n$$L = 1$$\n", path: "chapters/b.md")
        #expect(IndexPage.summaryHTML(stops, result: nil, outline: outline, position: 0) == "The loss is …")
    }

    /// The search index is gathered from the page's tree walk: an exercise is a section of its
    /// own (a result leads to it), and verdicts and check details are not prose.
    @Test func exercisesAreSearchSectionsAndVerdictsAreNotProse() throws {
        let source = """
        # T

        ## Model

        The state is updated.

        $$h = 1$${#eq-h unchecked="only a definition"}

        ### Exercise: Longer *windows* {#ex-long}

        Count longer windows, where the value is {{ppl ≈ 2 ± 1}}.

        """
        let chapter = try ChapterParser().parse(source: source, path: "chapters/t.md")
        let outline = BookOutline(title: "B", chapters: [("t", "T", "notrun")], targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: nil, outline: outline, position: 0)
        _ = page.render()
        var index = SearchIndex()
        index.add(sections: page.searchSections, slug: "t", title: "T")
        let model = try #require(index.entries.first { $0.anchor == "model" })
        #expect(model.section == "1.1 Model" && model.text == "The state is updated.")
        let exercise = try #require(index.entries.first { $0.anchor == "ex-long" })
        #expect(exercise.section == "Exercise 1 Longer windows")
        #expect(exercise.text == "Count longer windows, where the value is 2.")
        #expect(!index.entries.contains { $0.text.contains("not checked") || $0.text.contains("Starter") })
    }

    @Test func searchIndexHoldsTheProseBySectionWithoutCode() throws {
        let site = try renderBook()
        defer { try? FileManager.default.removeItem(at: site.dir.deletingLastPathComponent()) }
        let script = try String(contentsOf: site.dir.appendingPathComponent("search-index.js"), encoding: .utf8)
        let prefix = "window.RNNBOOK_SEARCH = "
        let start = try #require(script.range(of: prefix))
        let json = script[start.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines).dropLast()  // the `;`
        let entries = try JSONDecoder().decode([SearchIndex.Entry].self, from: Data(json.utf8))
        let hidden = try #require(entries.first { $0.anchor == "sec-hidden" })
        #expect(hidden.page == "01-seq.html" && hidden.chapter == "Sequences" && hidden.section == "1.1 Hidden states")
        // Markup is gone (raw HTML in the Markdown never reaches a page).
        #expect(hidden.text.hasPrefix("The hidden state remembers the past, unlike the window of an n-gram. Figure"))
        #expect(!script.contains("secretCodeWord"))
        #expect(entries.contains { $0.text.contains("Figure 1.1. A figure After the figure.") })
        let top = try #require(entries.first { $0.page == "01-seq.html" && $0.anchor.isEmpty })
        #expect(top.text.hasPrefix("A sequence model reads x_1, …, x_T one token"))
        #expect(entries.contains { $0.anchor == "perplexity" && $0.text == "Perplexity is the exponential of the cross-entropy." })
        // The references section is searchable too; every anchor exists on its page.
        #expect(entries.contains { $0.anchor == "references" && $0.text.contains("Werbos, Paul J. 1990.") })
        for e in entries where !e.anchor.isEmpty {
            let page = try String(contentsOf: site.dir.appendingPathComponent(e.page), encoding: .utf8)
            #expect(page.contains("id=\"\(e.anchor)\""), "\(e.page)#\(e.anchor)")
        }
        // Every page has the box; the script that reads it is an asset.
        #expect(site.page.contains("<input type=\"search\" id=\"search-input\""))
        #expect(FileManager.default.fileExists(atPath: site.dir.appendingPathComponent("assets/search.js").path))
    }
}
