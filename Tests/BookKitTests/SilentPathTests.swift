import Foundation
import Testing
@testable import BookKit

/// Author mistakes that used to be ignored while the build passed ("Nothing passes silently").
/// Each must fail the chapter with file:line:column, what was expected and what was found.
@Suite("Silent authoring paths")
struct SilentPathTests {
    let parser = ChapterParser()
    let path = "chapters/t.md"

    func error(_ source: String, baseDirectory: URL? = nil) throws -> BookError {
        try #require(throws: BookError.self) { try parser.parse(source: source, path: path, baseDirectory: baseDirectory) }
    }

    // MARK: 1. Fence languages that look like swift or output

    @Test(arguments: [
        ("Swift", "```swift```"),
        ("SWIFT", "```swift```"),
        ("swift,hide", "```swift hide```"),
        ("swift{hide}", "```swift hide```"),
        ("{.swift .hide}", "```swift hide```"),
        ("swift,norun", "```swift norun```"),
        ("swfit", "```swift```"),
        ("Output", "```output```"),
        ("output,tol=1e-3", "```output tol=1e-3```"),
    ])
    func misspelledFenceLanguageIsAnError(info: String, fix: String) throws {
        let source = "Some prose.\n\n```swift\nprint(1)\n```\n\n```\(info)\nprint(2)\n```\n"
        let e = try error(source)
        #expect(e.location == SourceLocation(file: path, line: 7, column: 1))
        #expect(e.description.hasPrefix("chapters/t.md:7:1: error: fence language '\(info.split(separator: " ")[0])'"))
        #expect(e.message.contains("write \(fix)"), "\(e.message)")
    }

    @Test func otherLanguagesStayShownOnly() throws {
        let source = "```swift\nprint(1)\n```\n\n```output\n1\n```\n\n```python\nx\n```\n\n```text\ny\n```\n\n```bash\nls\n```\n\n```\nplain\n```\n"
        let chapter = try parser.parse(source: source, path: path)
        #expect(chapter.codeBlocks.map(\.language) == ["swift", "python", "text", "bash", ""])
        #expect(chapter.codeBlocks.filter { $0.index != nil }.count == 1)
        #expect(chapter.codeBlocks[0].expected?.text == "1\n")
    }

    // MARK: 2. Swift and output blocks nested in lists and quotes

    @Test func swiftInsideListItemIsAnError() throws {
        let e = try error("Steps:\n\n- First:\n\n  ```swift\n  print(1)\n  ```\n")
        #expect(e.location == SourceLocation(file: path, line: 5, column: 3))
        #expect(e.description.hasPrefix("chapters/t.md:5:3: error: a swift block inside a list item is not run"))
        #expect(e.message.contains("move it to the top level"))
    }

    @Test func swiftInsideBlockQuoteIsAnError() throws {
        let e = try error("Intro.\n\n> Note:\n>\n> ```swift hide\n> print(1)\n> ```\n")
        #expect(e.location == SourceLocation(file: path, line: 5, column: 3))
        #expect(e.message.contains("inside a block quote is not run"))
    }

    @Test func outputInsideListItemIsAnError() throws {
        let e = try error("```swift\nprint(1)\n```\n\n1. Output:\n\n   ```output\n   1\n   ```\n")
        #expect(e.location == SourceLocation(file: path, line: 7, column: 4))
        #expect(e.message.contains("output block inside a list item is never compared"))
    }

    @Test func misspelledFenceInsideListItemIsAnError() throws {
        let e = try error("- A:\n\n  ```Swift\n  print(1)\n  ```\n")
        #expect(e.location == SourceLocation(file: path, line: 3, column: 3))
        #expect(e.message.contains("fence language 'Swift' is not run"))
    }

    @Test func nestedNorunIsShown() throws {
        let chapter = try parser.parse(source: "- A:\n\n  ```swift norun\n  let x = 1\n  ```\n\n> ```text\n> hi\n> ```\n", path: path)
        #expect(chapter.codeBlocks.isEmpty)
        guard let html = HTMLFixtures.markup(try #require(chapter.segments.first), of: chapter) else { Issue.record("expected prose"); return }
        #expect(html.contains("let x = 1"))
    }

    // MARK: 3. Claims limited to a profile that does not exist

    @Test func claimWithUnknownProfileIsAnError() throws {
        let source = "---\nparams:\n  h: 1\nprofiles:\n  quick:\n    h: 2\n---\nThe perplexity is {{ppl ≈ 1.0 ± 0.1 @defualt}}.\n"
        let e = try error(source)
        #expect(e.location == SourceLocation(file: path, line: 8, column: 19))
        #expect(e.description.hasPrefix("chapters/t.md:8:19: error:"))
        #expect(e.message.contains("profile 'defualt'"))
        #expect(e.message.contains("known profiles: default, quick"))
    }

    @Test func claimsWithKnownProfilesParse() throws {
        let source = "---\nprofiles:\n  quick: {}\n---\n{{ppl ≈ 1.0 ± 0.1 @default}}{{ppl ≈ 7 ± 1 @quick}}\n"
        let chapter = try parser.parse(source: source, path: path)
        #expect(chapter.inlines.count == 2)
    }

    // MARK: 4. Figures whose file does not exist

    func chapterFolder(figures: [String] = ["here.svg"]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-silent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("figures"), withIntermediateDirectories: true)
        for f in figures { try Data("<svg xmlns=\"http://www.w3.org/2000/svg\"/>".utf8).write(to: dir.appendingPathComponent("figures/\(f)")) }
        return dir
    }

    @Test func missingFigureIsAParseErrorAtTheImage() throws {
        let dir = try chapterFolder()
        let file = dir.appendingPathComponent("t.md")
        try Data("# T\n\n![Present](figures/here.svg)\n\n![Missing](figures/gone.svg)\n".utf8).write(to: file)
        let e = try #require(throws: BookError.self) { try parser.parse(contentsOf: file, displayPath: path) }
        #expect(e.location == SourceLocation(file: path, line: 5, column: 1))
        #expect(e.description.hasPrefix("chapters/t.md:5:1: error: figure not found"))
        #expect(e.message.contains("figures/gone.svg"))
    }

    @Test func missingInlineImageAfterMathsNamesItsColumn() throws {
        let dir = try chapterFolder()
        let source = "# 图\n\nSee $x_t$ 和 ![a](figures/here.svg) then ![b](figures/gone%20now.svg) too.\n"
        let e = try error(source, baseDirectory: dir)
        #expect(e.location == SourceLocation(file: path, line: 3, column: 41))
        #expect(e.message.contains("gone now.svg"))
    }

    @Test func missingFigureInListIsAnError() throws {
        let dir = try chapterFolder()
        let e = try error("Intro.\n\n- item ![x](figures/nope.png)\n", baseDirectory: dir)
        #expect(e.location == SourceLocation(file: path, line: 3, column: 8))
    }

    @Test func figuresThatExistOrAreRemoteParse() throws {
        let dir = try chapterFolder()
        let chapter = try parser.parse(source: "![a](figures/here.svg)\n\n![b](https://example.org/x.png)\n", path: path, baseDirectory: dir)
        #expect(chapter.segments.first == .figure(path: "figures/here.svg", caption: [.text("a")]))
        // Without a folder (sources made up in tests) images are not looked for.
        _ = try parser.parse(source: "![a](figures/none.svg)\n", path: path)
    }

    @Test func figureOutsideTheChapterFolderIsAnError() throws {
        let dir = try chapterFolder()
        #expect(try error("![a](../secret.svg)\n", baseDirectory: dir).message.contains("leaves the chapter's folder"))
        #expect(try error("![a](/etc/x.svg)\n", baseDirectory: dir).message.contains("absolute"))
        #expect(try error("![a](figures)\n", baseDirectory: dir).message.contains("figure not found"))
    }

    /// A missing figure at page time stops neither the other pages nor the index, and still fails.
    @Test func missingFigureDoesNotStopOtherPages() throws {
        let root = try HTMLFixtures.makeBookRoot()
        try FileManager.default.removeItem(at: root.appendingPathComponent("chapters/figures/rnn.svg"))
        let out = root.appendingPathComponent("out")
        let book = Array(HTMLFixtures.book.reversed()) // the broken chapter first
        #expect {
            try SiteRenderer(bookTitle: "B", bookRoot: root).render(chapters: book, to: out)
        } throws: { error in
            "\(error)".contains("chapters/02-rnn.md") && "\(error)".contains("figures/rnn.svg")
        }
        for file in ["index.html", "01-intro.html", "02-rnn.html", "figures/unrolled.svg"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
    }

    /// A chapter of this build that failed to parse is not put back on the site from its source.
    @Test func siteLeavesOutChaptersThatFailedToParse() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-silent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("chapters"), withIntermediateDirectories: true)
        try Data("# A\n\n![x](figures/gone.svg)\n".utf8).write(to: root.appendingPathComponent("chapters/01-a.md"))
        try Data("# B\n".utf8).write(to: root.appendingPathComponent("chapters/02-b.md"))
        let builder = BookBuilder(settings: BuildSettings(bookRoot: root, outputDirectory: root.appendingPathComponent("output")))
        let files = try builder.chapterFiles([])
        #expect(files.map(\.displayPath) == ["chapters/01-a.md", "chapters/02-b.md"])
        // The site is made from the book the build parsed (01-a, named, did not parse), not read again.
        let book = ParsedBook.load(selected: [files[0]], others: files)
        let failed = BookBuilder.Outcome(chapters: [], failures: ["chapters/01-a.md:3:1: error: figure not found"],
                                         builtPaths: ["chapters/01-a.md"], book: book)
        #expect(builder.siteChapters(failed).map(\.chapter.slug) == ["02-b"])
    }

    // MARK: 5. Other input that used to be ignored

    @Test(arguments: [
        ("Prose.\n\n```output\n1\n```\n", 3, "after prose"),
        ("```output\n1\n```\n", 1, "first block"),
        ("```swift norun\nx\n```\n\n```output\n1\n```\n", 5, "norun"),
        ("```swift\nprint(1)\n```\n\n```output\n1\n```\n\n```output\n1\n```\n", 9, "already has its expected output (line 6)"),
    ])
    func outputNotRightAfterARunnableBlockIsAnError(source: String, line: Int, found: String) throws {
        let e = try error(source)
        #expect(e.location == SourceLocation(file: path, line: line, column: 1))
        #expect(e.message.contains("an output block must come right after the runnable swift block"))
        #expect(e.message.contains(found), "\(e.message)")
    }

    @Test(arguments: [
        ("$$a$$ {#eq rnn}\n", 1, 7, "malformed equation label '{#eq rnn}'"),
        ("$$a$$ {#rnn-state}\n", 1, 7, "malformed equation label '{#rnn-state}'"),
        ("Text\n\n$$a$$ {#eq-a\n", 3, 7, "malformed equation label '{#eq-a'"),
        ("See $x$ {#eq-a} here.\n", 1, 9, "does not follow a display equation"),
        ("Inline $$x$$ {#eq-a} in a sentence.\n", 1, 14, "does not follow a display equation"),
    ])
    func malformedOrStrayEquationLabelIsAnError(source: String, line: Int, column: Int, says: String) throws {
        let e = try error(source)
        #expect(e.location == SourceLocation(file: path, line: line, column: column))
        #expect(e.message.contains(says), "\(e.message)")
    }

    @Test func unclosedTemplateIsAnError() throws {
        let e = try error("Perplexity {{ppl ≈ 1.0 ± 0.1} here.\n\nNext paragraph }}.\n")
        #expect(e.location == SourceLocation(file: path, line: 1, column: 12))
        #expect(e.message.contains("'{{' is not closed"))
    }

    @Test func unknownValueFormatIsAnError() throws {
        let e = try error("Perplexity {{ppl:.2q}}.\n")
        #expect(e.location == SourceLocation(file: path, line: 1, column: 12))
        #expect(e.message.contains("unknown format '.2q'"))
        _ = try parser.parse(source: "{{a:.2f}} {{a:.1e}} {{a:,.0f}} {{a:d}} {{a:.1%}} {{a:.3f ≈ 1 ± 1}}\n", path: path)
    }

    @Test(arguments: ["norun hide", "norun expect-error=run", "hide norun", "norun timeout=5"])
    func norunWithOptionsThatCannotApplyIsAnError(options: String) throws {
        let e = try error("Intro.\n\n```swift \(options)\nx\n```\n")
        #expect(e.location == SourceLocation(file: path, line: 3, column: 1))
        #expect(e.message.contains("has no effect with norun"))
    }

    @Test func unclosedFrontMatterIsAnError() throws {
        let e = try error("---\ntitle: T\nparams:\n  h: 1\n\n# Body\n")
        #expect(e.location == SourceLocation(file: path, line: 1, column: 1))
        #expect(e.message.contains("never closed"))
    }

    @Test func dataEntriesMustBeFileNames() throws {
        let e = try error("---\ndata:\n  - timemachine.txt\n  - {name: x}\n---\n")
        #expect(e.location?.line == 4)
        #expect(e.message.contains("'data' entries must be file names, found a mapping"))
    }

    @Test func paramNamesMustBeWords() throws {
        let e = try error("---\nparams:\n  [a, b]: 1\n---\n")
        #expect(e.location?.line == 3)
        #expect(e.message.contains("param name must be a plain word"))
    }
}
