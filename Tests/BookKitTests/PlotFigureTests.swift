import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// Plots shown by code are figures too: ```` ```swift label="fig-…" fig-cap="…" ```` numbers the
/// block's one plot in the chapter's sequence of figures, captions it, and lets `@fig-…` refer to it.
@Suite("Captioned, numbered plots")
struct PlotFigureTests {
    let parser = ChapterParser()

    /// Markdown figures and plot blocks, interleaved: one sequence, in document order.
    static let interleaved = """
    ---
    title: Plots
    ---
    ![First drawing](https://example.org/a.svg){#fig-drawing}

    ```swift label="fig-ppl" fig-cap="Perplexity of <b>two</b> models; $x_t$ is the input."
    show(plot: .lines(["a": [3, 2, 1]], x: "epoch", y: "perplexity"))
    ```

    ![Unlabelled drawing](https://example.org/b.svg)

    ```swift hide label="fig-grid" fig-cap="A grid of values."
    show(plot: .heatmap([[1, 2], [3, 4]]))
    ```

    As @fig-ppl and @fig-grid show, after @fig-drawing.
    """

    @Test func plotsAndMarkdownFiguresShareOneSequence() throws {
        let chapter = try parser.parse(source: Self.interleaved, path: "chapters/01-plots.md")
        let figures = try #require(chapter.figures)
        #expect(figures.map(\.number) == [1, 2, 3, 4])
        #expect(figures.map(\.label) == ["fig-drawing", "fig-ppl", nil, "fig-grid"])
        #expect(figures.map { $0.plot == true } == [false, true, false, true])
        // A plot figure is where its fence is.
        #expect(figures[1].location == SourceLocation(file: "chapters/01-plots.md", line: 6, column: 1))
        let blocks = chapter.codeBlocks
        #expect(blocks.map(\.options.figureLabel) == ["fig-ppl", "fig-grid"])
        #expect(blocks[0].options.figureCaption == "Perplexity of <b>two</b> models; $x_t$ is the input.")
        #expect(blocks[1].options.showCode == false)
    }

    @Test func referencesToAPlotResolveAndATypoIsToldTheLabel() throws {
        let chapter = try parser.parse(source: Self.interleaved, path: "chapters/01-plots.md")
        try CrossReferences.check(chapter, in: [chapter])
        let targets = CrossReferenceTargets([chapter])
        #expect(targets.target("fig-ppl", from: "01-plots")?.text == "Figure 1.2")
        #expect(targets.target("fig-grid", from: "01-plots")?.text == "Figure 1.4")
        #expect(targets.target("fig-drawing", from: "01-plots")?.text == "Figure 1.1")
        let typo = try parser.parse(source: Self.interleaved.replacingOccurrences(of: "As @fig-ppl", with: "As @fig-pll"), path: "chapters/01-plots.md")
        let error = try #require(throws: BookError.self) { try CrossReferences.check(typo, in: [typo]) }
        #expect(error.location == SourceLocation(file: "chapters/01-plots.md", line: 16, column: 4))
        #expect(error.message.contains("@fig-pll refers to no labelled figure"))
        #expect(error.message.contains("did you mean 'fig-ppl'?"))
    }

    /// Another chapter's labels are read without parsing it (a partial build): the plot's label is among them.
    @Test func scanningAChapterFindsItsPlotLabels() throws {
        let labels = try ChapterLabels(scanning: Self.interleaved, path: "chapters/01-plots.md").labels
        #expect(labels["fig-ppl"]?.line == 6)
        #expect(labels["fig-grid"]?.line == 12)
        #expect(labels["fig-drawing"] != nil)
        // A fence inside another block's code is code, not a block.
        let nested = "````markdown\n```swift label=\"fig-inner\" fig-cap=\"x\"\n```\n````\n"
        #expect(try ChapterLabels(scanning: nested, path: "chapters/n.md").labels["fig-inner"] == nil)
    }

    static let exercise = "### Exercise: Plot it {#ex-plot}\n\nQuestion.\n\n"

    /// Each mistake, at the fence (line 3 of `"Intro.\n\n" + fence`), saying what was expected.
    @Test(arguments: [
        ("```swift label=\"fig-a\"", "needs a caption; expected fig-cap="),
        ("```swift fig-cap=\"A plot.\"", "this block has no label; expected label=\"fig-NAME\""),
        ("```swift label=\"ppl\" fig-cap=\"A plot.\"", "label=\"ppl\" is not a figure label; expected label=\"fig-NAME\""),
        ("```swift label=\"fig-a b\" fig-cap=\"A plot.\"", "label=\"fig-a b\" is not a figure label"),
        ("```swift label=fig-a fig-cap=\"A plot.\"", "label= takes a double-quoted text"),
        ("```swift label=\"fig-a\" fig-cap=\"\"", "fig-cap=\"\" is empty"),
        ("```swift label=\"fig-a\" fig-cap=\"Cost $O(n\"", "opens inline maths with '$' that no '$' closes"),
        ("```swift label=\"fig-a\" label=\"fig-b\" fig-cap=\"A plot.\"", "label= is given twice"),
        ("```swift norun label=\"fig-a\" fig-cap=\"A plot.\"", "a norun block is never run and shows none"),
        ("```swift expect-error=run label=\"fig-a\" fig-cap=\"A plot.\"", "cannot go on an expect-error block"),
    ])
    func aMistakeIsAnErrorAtTheFence(fence: String, expected: String) throws {
        let source = "Intro.\n\n\(fence)\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n"
        let error = try #require(throws: BookError.self) { try parser.parse(source: source, path: "chapters/t.md") }
        #expect(error.location == SourceLocation(file: "chapters/t.md", line: 3, column: 1))
        #expect(error.message.contains(expected), "\(error.message)")
    }

    /// The student edition leaves out solutions and check output and never runs starters: a
    /// figure there would be numbered in one edition only.
    @Test(arguments: ["starter", "solution", "check"])
    func anExercisePartCannotBeAFigure(role: String) throws {
        let source = Self.exercise + "```swift \(role) label=\"fig-a\" fig-cap=\"A plot.\"\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n"
        let error = try #require(throws: BookError.self) { try parser.parse(source: source, path: "chapters/t.md") }
        #expect(error.location == SourceLocation(file: "chapters/t.md", line: 5, column: 1))
        #expect(error.message.contains("cannot go on a swift \(role) block: the student edition leaves out solutions"), "\(error.message)")
    }

    @Test func anExercisesSetupBlockMayShowAFigure() throws {
        let source = Self.exercise + "```swift label=\"fig-a\" fig-cap=\"A plot.\"\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n"
        let chapter = try parser.parse(source: source, path: "chapters/t.md")
        #expect(chapter.figures?.map(\.label) == ["fig-a"])
    }

    @Test func aLabelIsUniqueAmongMarkdownFiguresAndPlots() throws {
        let block = "```swift label=\"fig-a\" fig-cap=\"A plot.\"\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n"
        let image = "![A drawing](https://example.org/a.svg){#fig-a}\n"
        // The plot second: the error is at its fence.
        let late = try #require(throws: BookError.self) { try parser.parse(source: image + "\n" + block, path: "chapters/t.md") }
        #expect(late.location == SourceLocation(file: "chapters/t.md", line: 3, column: 1))
        #expect(late.message.contains("label 'fig-a' is already used at line 1"))
        // The figure second: the error is at its label.
        let early = try #require(throws: BookError.self) { try parser.parse(source: block + "\n" + image, path: "chapters/t.md") }
        #expect(early.location?.line == 5)
        #expect(early.message.contains("label 'fig-a' is already used at line 1"))
        // Two plots.
        let twice = try #require(throws: BookError.self) { try parser.parse(source: block + "\n" + block, path: "chapters/t.md") }
        #expect(twice.location == SourceLocation(file: "chapters/t.md", line: 5, column: 1))
    }

    /// The caption is read from the fence as written: CommonMark would take `\|` for an escaped `|`.
    @Test func theCaptionIsReadAsWritten() throws {
        let source = "```swift label=\"fig-n\" fig-cap=\"Norm $\\|h\\|$ costs \\$1 &amp; more.\"\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n"
        let chapter = try parser.parse(source: source, path: "chapters/t.md")
        let caption = try #require(chapter.codeBlocks.first?.options.figureCaption)
        #expect(caption == "Norm $\\|h\\|$ costs \\$1 &amp; more.")
        #expect(CaptionPiece.pieces(caption) == [.text("Norm "), .math("\\|h\\|"), .text(" costs $1 &amp; more.")])
        #expect(ChapterPage.captionHTML(CaptionPiece.pieces(caption)!).markup
                == "Norm <span class=\"math inline\">\\(\\|h\\|\\)</span> costs $1 &amp;amp; more.")
    }

    @Test func captionPiecesSplitMathsAndKeepEscapedDollars() {
        #expect(CaptionPiece.pieces("Cost \\$5 for $x_t$.") == [.text("Cost $5 for "), .math("x_t"), .text(".")])
        #expect(CaptionPiece.pieces("Open $x") == nil)
        #expect(CaptionPiece.pieces("Empty $ $ maths") == nil)
        #expect(CaptionPiece.pieces("Plain") == [.text("Plain")])
    }

    // MARK: Render time

    static func plot(_ name: String) -> RichOutput {
        .plot(PlotOutput(kind: .lines, series: [PlotSeries(name: name, x: [1, 2, 3], y: [3, 2, 1])]))
    }
    static let heatmap = RichOutput.plot(PlotOutput(kind: .heatmap, categories: ["0", "1"], matrix: [[1, 2], [3, 4]], columns: ["0", "1"]))

    /// The chapter `interleaved` assembled from a run in which its first block showed `outputs`.
    static func assembled(firstBlockShows outputs: [RichOutput]) throws -> (Chapter, ChapterResult) {
        let chapter = try ChapterParser().parse(source: interleaved, path: "chapters/01-plots.md")
        var run = RunOutcome()
        run.termination = .exited(0)
        var events: [ChannelEvent] = [.blockStart(index: 0, stdoutOffset: 0, stderrOffset: 0)]
        events += outputs.map { ChannelEvent.output(block: 0, $0) }
        events += [.blockEnd(index: 0, seconds: 0.1), .blockStart(index: 1, stdoutOffset: 0, stderrOffset: 0)]
        events += [.output(block: 1, heatmap), .blockEnd(index: 1, seconds: 0.1)]
        run.events = events
        var result = ResultAssemblerTests.emptyResult(chapter)
        ResultAssembler(chapter: chapter, profile: "default").assemble(&result, compile: CompileVerdict(), run: run)
        return (chapter, result)
    }

    @Test func aLabelledBlockShowingOnePlotPasses() throws {
        let (_, result) = try Self.assembled(firstBlockShows: [.table(TableOutput(caption: nil, header: ["a"], rows: [["1"]])), Self.plot("a")])
        #expect(result.status == .passed)
        #expect(result.failures.isEmpty)
        #expect(result.isReproducible)
    }

    @Test(arguments: [0, 2])
    func aLabelledBlockShowingNoneOrSeveralFailsAtItsLine(count: Int) throws {
        let (chapter, result) = try Self.assembled(firstBlockShows: (0..<count).map { Self.plot("p\($0)") })
        #expect(result.status == .failed)
        #expect(result.blocks.map(\.status) == [.failed, .passed])
        let finding = try #require(result.failures.first)
        #expect(result.failures.count == 1)
        #expect(finding.kind == .figure && finding.label == "fig-ppl" && finding.block == 0)
        #expect(finding.location == SourceLocation(file: "chapters/01-plots.md", line: 7, column: 1))
        #expect(finding.message.contains("must show exactly one plot"))
        #expect(finding.message.contains(count == 0 ? "showed none" : "showed 2"))
        #expect(finding.found == "\(count) plots")
        // Judged from the source and the run alone: the run may be kept in the cache.
        #expect(result.isReproducible)
        // Red on the page, in the block.
        let outline = BookOutline(title: "B", chapters: [("01-plots", "Plots", "failed")], targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: result, outline: outline, position: 0)
        let html = page.render()
        #expect(html.contains("<div class=\"cell-error\" role=\"alert\"><p class=\"error-title\">✗ This block failed <span class=\"cell-loc\">(chapters/01-plots.md:7)</span></p><pre>chapters/01-plots.md:7:1: block 1 is labelled fig-ppl"))
        // No caption sits on nothing (or on one of several plots).
        #expect(!html.contains("id=\"fig-ppl\""))
    }

    @Test func thePlotIsAFigureWithItsNumberAndItsCaptionEscaped() throws {
        let (chapter, result) = try Self.assembled(firstBlockShows: [Self.plot("a")])
        let outline = BookOutline(title: "B", chapters: [("01-plots", "Plots", "passed")], targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: result, outline: outline, position: 0)
        let html = page.render()
        #expect(html.contains("<figure class=\"figure plot-figure\" id=\"fig-ppl\"><svg"))
        #expect(html.contains("<figcaption><span class=\"fig-no\">Figure 1.2.</span> Perplexity of &lt;b&gt;two&lt;/b&gt; models; <span class=\"math inline\">\\(x_t\\)</span> is the input.</figcaption></figure>"))
        #expect(!html.contains("<b>two</b>"))
        #expect(html.contains("<figure class=\"figure plot-figure\" id=\"fig-grid\">"))
        #expect(html.contains("<span class=\"fig-no\">Figure 1.4.</span> A grid of values."))
        // Markdown figures keep their places in the sequence.
        #expect(html.contains("<span class=\"fig-no\">Figure 1.1.</span> First drawing"))
        #expect(html.contains("<span class=\"fig-no\">Figure 1.3.</span> Unlabelled drawing"))
        #expect(html.contains("As <a class=\"xref\" href=\"#fig-ppl\">Figure 1.2</a> and <a class=\"xref\" href=\"#fig-grid\">Figure 1.4</a> show"))
        // The search box finds the caption under its number.
        #expect(page.searchSections.contains { $0.text.contains("Figure 1.2. Perplexity of <b>two</b> models; x_t is the input.") })
    }

    @Test func aDrawingIsAFigureAndItsOwnCaptionBecomesItsAltText() throws {
        let source = "```swift label=\"fig-d\" fig-cap=\"Where the cuts fall.\"\nshow(svg: s, caption: \"boxes\")\n```\n"
        let chapter = try parser.parse(source: source, path: "chapters/d.md")
        var run = RunOutcome()
        run.termination = .exited(0)
        run.events = [.blockStart(index: 0, stdoutOffset: 0, stderrOffset: 0), .output(block: 0, .svg("<svg></svg>", caption: "boxes")),
                      .blockEnd(index: 0, seconds: 0)]
        var result = ResultAssemblerTests.emptyResult(chapter)
        ResultAssembler(chapter: chapter, profile: "default").assemble(&result, compile: CompileVerdict(), run: run)
        #expect(result.status == .passed)
        var page = ChapterPage(chapter: chapter, result: result, outline: BookOutline(title: "B", chapters: [("d", "D", "passed")], targets: CrossReferenceTargets([chapter])), position: 0)
        let html = page.render()
        #expect(html.contains("<figure class=\"figure diagram\" id=\"fig-d\"><img src=\"data:image/svg+xml;base64,"))
        #expect(html.contains("alt=\"boxes\"><figcaption><span class=\"fig-no\">Figure 1.1.</span> Where the cuts fall.</figcaption>"))
    }
}
