import Foundation
import Testing
@testable import BookKit

/// A small bibliography for parser tests (CSL-YAML).
enum CitationFixtures {
    static let yaml = """
    - id: werbos1990
      type: article-journal
      title: "Backpropagation Through Time: What It Does and How to Do It"
      author: [{family: Werbos, given: Paul J.}]
      issued: {date-parts: [[1990]]}
      container-title: Proceedings of the IEEE
      volume: 78
      issue: 10
      page: 1550-1560
      DOI: 10.1109/5.58337
    - id: bengio2003neural
      type: article-journal
      title: A Neural Probabilistic Language Model
      author: [{family: Bengio, given: Yoshua}, {family: Ducharme, given: Réjean}, {family: Vincent, given: Pascal}]
      issued: 2003
      container-title: Journal of Machine Learning Research
      volume: 3
      page: 1137-1155
    - id: tallec2017unbiasing
      type: article
      title: Unbiasing Truncated Backpropagation Through Time
      author: [{family: Tallec, given: Corentin}, {family: Ollivier, given: Yann}]
      issued: {date-parts: [[2017]]}
      number: arXiv:1705.08209
      URL: https://arxiv.org/abs/1705.08209
    - id: hostile
      type: book
      title: "<script>alert(1)</script> & Co"
      author: [{family: "O'Brien <b>", given: Ann}]
      issued: 2001
      publisher: "A & B <i>Press</i>"
    """
    static var bibliography: Bibliography { try! Bibliography.parse(yaml: yaml, path: "chapters/references.yaml") }

    static var parser: ChapterParser {
        var p = ChapterParser()
        p.bibliography = bibliography
        return p
    }

    static func citations(_ chapter: Chapter) -> [Citation] {
        chapter.inlines.compactMap { if case .citation(let c) = $0 { c } else { nil } }
    }

    /// The repository's chapters folder.
    static var chaptersFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("chapters")
    }
}

@Suite("Citations")
struct CitationParsingTests {
    let parser = CitationFixtures.parser
    let path = "chapters/t.md"

    @Test func bracketedAndInTextCitationsParseWithTheirPlaces() throws {
        let source = "Language models [@bengio2003neural] and BPTT, after @werbos1990.\n\nBoth [see @werbos1990, p. 33; -@bengio2003neural].\n"
        let chapter = try parser.parse(source: source, path: path)
        let c = CitationFixtures.citations(chapter)
        #expect(c.count == 3)
        #expect(!c[0].inText && c[0].items.map(\.key) == ["bengio2003neural"])
        #expect(c[0].items[0].location == SourceLocation(file: path, line: 1, column: 18))
        // The sentence's full stop is not part of the key.
        #expect(c[1].inText && c[1].items.map(\.key) == ["werbos1990"])
        #expect(c[1].items[0].location == SourceLocation(file: path, line: 1, column: 53))
        #expect(c[2].items.map(\.key) == ["werbos1990", "bengio2003neural"])
        #expect(c[2].items[0].prefix == "see" && c[2].items[0].locator == "p. 33" && !c[2].items[0].suppressAuthor)
        #expect(c[2].items[1].suppressAuthor && c[2].items[1].prefix.isEmpty)
        #expect(c[2].items[1].location == SourceLocation(file: path, line: 3, column: 32))
        // The cited works, in reference-list order (by name).
        #expect(chapter.references?.map(\.id) == ["bengio2003neural", "werbos1990"])
    }

    @Test func whatIsNotACitationStaysText() throws {
        let source = """
        Write to me@example.org or `@werbos1990` or \\@werbos1990; maths $a@b$ and [a link](https://x.org) and [plain text].
        A profile https://social.example/@someone is no citation either.

        ```swift
        print("@werbos1990 [@bengio2003neural]")
        ```
        """
        let chapter = try parser.parse(source: source, path: path)
        #expect(CitationFixtures.citations(chapter).isEmpty)
        #expect(chapter.references == nil)
        guard let html = HTMLFixtures.markup(chapter.segments[0], of: chapter) else { Issue.record("expected prose"); return }
        #expect(html.contains("me@example.org"))
        #expect(html.contains("<code>@werbos1990</code>"))
        #expect(html.contains("or @werbos1990;"))
    }

    @Test func aBracketedCitationBeforeAColonIsACitationUnlessItStartsALine() throws {
        // Mid-sentence `[@key]:` was once taken for a link definition and shown as "[Bengio et al. (2003)]".
        let chapter = try parser.parse(source: "Three ways of computing it [@bengio2003neural]:\n\n[@werbos1990]: https://example.org\n", path: path)
        let c = CitationFixtures.citations(chapter)
        #expect(c.first.map { !$0.inText && $0.items.map(\.key) == ["bengio2003neural"] } == true, "\(c)")
        // At the start of a line the bracket is a link label, not a bracketed citation.
        #expect(!c.contains { !$0.inText && $0.items.map(\.key) == ["werbos1990"] }, "\(c)")
    }

    @Test func crossReferencesAreNotCitations() throws {
        let chapter = try parser.parse(source: "$$a$$ {#eq-a}\n\nSee @eq-a and [@eq-a].\n", path: path)
        #expect(CitationFixtures.citations(chapter).isEmpty)
        #expect(chapter.crossReferences.count == 2)
    }

    @Test func unknownKeyIsAnErrorAtItsPlaceWithASuggestion() throws {
        let error = try #require(throws: BookError.self) {
            try parser.parse(source: "Intro.\n\nAs shown [@bengio2003neurl; @werbos1990].\n", path: path)
        }
        #expect(error.location == SourceLocation(file: path, line: 3, column: 11))
        #expect(error.message.contains("unknown citation key '@bengio2003neurl'"))
        #expect(error.message.contains("chapters/references.yaml"))
        #expect(error.message.contains("did you mean 'bengio2003neural'?"))
    }

    @Test func inTextUnknownKeyIsAnError() throws {
        let error = try #require(throws: BookError.self) { try parser.parse(source: "Ask @nobody2020 about it.\n", path: path) }
        #expect(error.location == SourceLocation(file: path, line: 1, column: 5))
        #expect(error.message.contains("'@nobody2020'"))
        #expect(error.message.contains("\\@"))
    }

    @Test func aCitationWithoutABibliographyIsAnError() throws {
        let error = try #require(throws: BookError.self) { try ChapterParser().parse(source: "See @werbos1990.\n", path: path) }
        #expect(error.location == SourceLocation(file: path, line: 1, column: 5))
        #expect(error.message.contains("no bibliography"))
    }

    @Test func otherQuartoCrossReferenceKindsAreRejected() throws {
        let error = try #require(throws: BookError.self) { try parser.parse(source: "See @tbl-sizes.\n", path: path) }
        #expect(error.location?.column == 5)
        #expect(error.message.contains("'tbl-'"))
    }

    @Test func bibliographyBesideTheChapterOrNamedInFrontMatterIsRead() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-cite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try CitationFixtures.yaml.write(to: folder.appendingPathComponent("references.yaml"), atomically: true, encoding: .utf8)
        let found = try ChapterParser().parse(source: "After @werbos1990.\n", path: "chapters/t.md", baseDirectory: folder)
        #expect(found.references?.map(\.id) == ["werbos1990"])
        // Named in the front matter: another file, in CSL-JSON.
        let json = #"[{"id": "other", "type": "book", "title": "Other", "author": [{"literal": "The Team"}], "issued": {"date-parts": [[2020]]}}]"#
        try json.write(to: folder.appendingPathComponent("more.json"), atomically: true, encoding: .utf8)
        let named = try ChapterParser().parse(source: "---\nbibliography: more.json\n---\nBy @other.\n", path: "chapters/t.md", baseDirectory: folder)
        #expect(named.references?.first?.citationNames == "The Team")
        let missing = try #require(throws: BookError.self) {
            try ChapterParser().parse(source: "---\nbibliography: nope.yaml\n---\nBy @other.\n", path: "chapters/t.md", baseDirectory: folder)
        }
        #expect(missing.location?.line == 2)
        #expect(missing.message.contains("bibliography not found"))
    }
}

@Suite("Bibliography files")
struct BibliographyTests {
    @Test func theBooksBibliographyHasEveryWorkTheChaptersCite() throws {
        let url = CitationFixtures.chaptersFolder.appendingPathComponent("references.yaml")
        let bib = try Bibliography.load(contentsOf: url, displayPath: "chapters/references.yaml")
        let keys = ["zhang2023dive", "bengio2003neural", "werbos1990", "tallec2017unbiasing", "elman1990",
                    "bengio1994learning", "pascanu2013difficulty", "shannon1948", "jaeger2002tutorial", "williams1990efficient"]
        #expect(Set(bib.entries.keys) == Set(keys))
        let labels = keys.map { k in bib.entries[k].map { "\($0.citationNames) \($0.citationYear)" } ?? "?" }
        #expect(labels == ["Zhang et al. 2023", "Bengio et al. 2003", "Werbos 1990", "Tallec and Ollivier 2017", "Elman 1990",
                           "Bengio et al. 1994", "Pascanu et al. 2013", "Shannon 1948", "Jaeger 2002", "Williams and Peng 1990"])
        let werbos = try #require(bib.entries["werbos1990"])
        #expect(werbos.containerTitle == "Proceedings of the IEEE" && werbos.volume == "78" && werbos.issue == "10" && werbos.page == "1550-1560")
        #expect(bib.entries["bengio2003neural"]?.authors.map(\.family) == ["Bengio", "Ducharme", "Vincent", "Jauvin"])
        #expect(bib.entries["shannon1948"]?.page == "379-423")
        #expect(bib.entries["jaeger2002tutorial"]?.number == "159")
        let williams = try #require(bib.entries["williams1990efficient"])
        #expect(williams.containerTitle == "Neural Computation" && williams.volume == "2" && williams.issue == "4" && williams.page == "490-501")
    }

    @Test(arguments: [
        // (file, line, message)
        ("- id: a\n  type: book\n  title: T: U: V\n", 3, "malformed bibliography YAML"),
        ("- id: a\n  type: book\n  title: T\n  author: [{family: X}]\n  issued: 2001\n  tittle: T\n", 6, "unknown CSL field 'tittle'"),
        ("- id: a\n  type: book\n  title: T\n  author: [{family: X}]\n", 1, "no 'issued'"),
        ("- id: a\n  type: bok\n  title: T\n  author: [{family: X}]\n  issued: 2001\n", 2, "unknown CSL type 'bok'"),
        ("- id: a\n  type: book\n  title: T\n  issued: 2001\n", 1, "no author or editor"),
        ("- id: a\n  type: book\n  title: T\n  author: [{family: X}]\n  issued: {date-parts: [[x]]}\n", 5, "cannot read a year"),
        ("- id: a\n  type: book\n  title: T\n  author: [{family: X}]\n  issued: 2001\n- id: a\n  type: book\n  title: U\n  author: [{family: Y}]\n  issued: 2002\n", 6, "used twice (first at line 1)"),
        ("- id: a b\n  type: book\n  title: T\n  author: [{family: X}]\n  issued: 2001\n", 1, "cannot be cited"),
        ("title: not a list\n", 1, "without 'references'"),
        ("- id: a\n  type: book\n  title: T\n  author: Smith\n  issued: 2001\n", 4, "must be a list of names"),
    ])
    func malformedYAMLIsAnErrorAtItsLine(text: String, line: Int, message: String) throws {
        let error = try #require(throws: BookError.self) { try Bibliography.parse(yaml: text, path: "chapters/references.yaml") }
        #expect(error.location?.file == "chapters/references.yaml")
        #expect(error.location?.line == line, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test func cslJSONParsesAndItsErrorsNameALine() throws {
        let good = """
        [
          {"id": "elman1990", "type": "article-journal", "title": "Finding Structure in Time",
           "author": [{"family": "Elman", "given": "Jeffrey L."}], "issued": {"date-parts": [[1990]]},
           "container-title": "Cognitive Science", "volume": 14, "issue": 2, "page": "179-211"}
        ]
        """
        let bib = try Bibliography.parse(json: good, path: "refs.json")
        #expect(bib.entries["elman1990"]?.volume == "14")
        #expect(bib.entries["elman1990"]?.citationNames == "Elman")
        let syntax = try #require(throws: BookError.self) { try Bibliography.parse(json: "[\n  {\"id\": \"a\",\n  \"type\" \"book\"}\n]", path: "refs.json") }
        #expect(syntax.message.contains("malformed bibliography JSON"))
        #expect(syntax.location?.line == 3, "\(syntax) \(String(describing: syntax))")
        let missing = try #require(throws: BookError.self) {
            try Bibliography.parse(json: "[\n  {\"type\": \"book\", \"id\": \"a\", \"title\": \"T\",\n   \"author\": [{\"family\": \"X\"}]}\n]", path: "refs.json")
        }
        #expect(missing.location?.line == 2 && missing.message.contains("no 'issued'"))
    }

    @Test func worksThatWouldCiteAlikeGetYearSuffixes() throws {
        let yaml = """
        - {id: b, type: book, title: Zebra, author: [{family: Bengio}], issued: 2003}
        - {id: a, type: book, title: Apple, author: [{family: Bengio}], issued: 2003}
        - {id: c, type: book, title: Other, author: [{family: Bengio}], issued: 2004}
        """
        let bib = try Bibliography.parse(yaml: yaml, path: "r.yaml")
        #expect(bib.entries["a"]?.citationYear == "2003a")
        #expect(bib.entries["b"]?.citationYear == "2003b")
        #expect(bib.entries["c"]?.citationYear == "2004")
    }
}

@Suite("Citations on the page")
struct CitationRenderingTests {
    let works = Array(CitationFixtures.bibliography.entries.values)
    func item(_ key: String, prefix: String = "", locator: String = "", suppress: Bool = false) -> Citation.Item {
        Citation.Item(key: key, prefix: prefix, locator: locator, suppressAuthor: suppress, location: SourceLocation(file: "t.md", line: 1))
    }

    @Test func authorYearInTheText() {
        let inText = References.html(Citation(items: [item("werbos1990")], inText: true), works: works, plain: false)
        #expect(inText.hasPrefix("<a class=\"cite\" href=\"#ref-werbos1990\" title=\"Werbos, Paul J. 1990."))
        #expect(inText.hasSuffix(">Werbos (1990)</a>"))
        let group = References.html(Citation(items: [item("bengio2003neural", prefix: "see", locator: "p. 33"), item("werbos1990", suppress: true),
                                                    item("tallec2017unbiasing")], inText: false), works: works, plain: true)
        #expect(group == "(see Bengio et al. 2003, p. 33; 1990; Tallec and Ollivier 2017)")
    }

    @Test func referenceEntriesReadAsChicagoAuthorDate() throws {
        let bib = CitationFixtures.bibliography.entries
        #expect(References.plainEntry(bib["werbos1990"]!)
                == "Werbos, Paul J. 1990. “Backpropagation Through Time: What It Does and How to Do It.” Proceedings of the IEEE 78 (10): 1550–1560. https://doi.org/10.1109/5.58337.")
        #expect(References.plainEntry(bib["bengio2003neural"]!)
                == "Bengio, Yoshua, Réjean Ducharme, and Pascal Vincent. 2003. “A Neural Probabilistic Language Model.” Journal of Machine Learning Research 3: 1137–1155.")
        #expect(References.plainEntry(bib["tallec2017unbiasing"]!)
                == "Tallec, Corentin, and Yann Ollivier. 2017. “Unbiasing Truncated Backpropagation Through Time.” arXiv:1705.08209. https://arxiv.org/abs/1705.08209.")
        #expect(References.entryHTML(bib["werbos1990"]!).contains("<i>Proceedings of the IEEE</i> 78 (10): 1550–1560."))
    }

    /// An italic title that ends in its own question mark takes no full stop after it (the
    /// entry was built as text and not patched afterwards: "Why?." was the old result).
    @Test func anItalicTitleEndingInAQuestionMarkEndsThere() throws {
        var book = try #require(CitationFixtures.bibliography.entries["hostile"])
        book.title = "Why Recurrence?"
        let entry = References.entryHTML(book)
        #expect(entry.contains("<i>Why Recurrence?</i> "), "\(entry)")
        #expect(!entry.contains("?.") && !entry.contains("?</i>."))
        book.title = "Recurrence"
        #expect(References.entryHTML(book).contains("<i>Recurrence.</i> "))
    }

    @Test func bibliographyTextIsEscaped() throws {
        let hostile = try #require(CitationFixtures.bibliography.entries["hostile"])
        let entry = References.entryHTML(hostile)
        #expect(!entry.contains("<script>") && !entry.contains("<b>") && !entry.contains("<i>Press"))
        #expect(entry.contains("O&#39;Brien &lt;b&gt;, Ann. 2001. <i>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co.</i> A &amp; B &lt;i&gt;Press&lt;/i&gt;."))
        let cite = References.html(Citation(items: [item("hostile")], inText: true), works: [hostile], plain: false)
        #expect(!cite.contains("<script>") && !cite.contains("<b>"))
        #expect(cite.contains("title=\"O&#39;Brien &lt;b&gt;, Ann. 2001. &lt;script&gt;"))
    }

    @Test func chapterAndBookListTheWorksCited() throws {
        let chapter = try CitationFixtures.parser.parse(source: "## Intro\n\nAs @werbos1990 showed [@bengio2003neural].\n", path: "chapters/02-rnn.md")
        let other = try CitationFixtures.parser.parse(source: "Again @werbos1990.\n", path: "chapters/01-seq.md")
        let root = try HTMLFixtures.makeBookRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("output")
        try SiteRenderer(bookRoot: root).render(chapters: [(other, nil), (chapter, nil)], to: out)
        let page = try String(contentsOf: out.appendingPathComponent("02-rnn.html"), encoding: .utf8)
        #expect(page.contains("As <a class=\"cite\" href=\"#ref-werbos1990\""))
        #expect(page.contains("<span class=\"citation\">(<a class=\"cite\" href=\"#ref-bengio2003neural\""))
        #expect(page.contains("<h2 id=\"references\">References</h2><ol class=\"reference-list\"><li id=\"ref-bengio2003neural\">"))
        #expect(page.contains("<li class=\"h2\"><a href=\"#references\">References</a></li>"))
        let index = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains("<li id=\"ref-werbos1990\">"))
        #expect(index.contains("Cited in <a href=\"01-seq.html\">01-seq</a>, <a href=\"02-rnn.html\">Intro</a>.</span>"))
    }
}
