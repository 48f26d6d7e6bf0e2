@testable import BookKit
import BookProtocol
import Foundation
import Testing

@Suite("HTML parts")
struct HTMLPartsTests {
    @Test(arguments: [
        (1.034_2, ".2f", "1.03"), (0.000_123_4, ".3e", "1.234e-04"), (170_580, ",.0f", "170,580"),
        (-1_234_567.891, ",.1f", "-1,234,567.9"), (0.256, ".1%", "25.6%"), (41.6, "d", "42"),
        (3.141_59, ".3g", "3.14"), (512, "", "512"), (0.123_456_7, "", "0.1235"),
    ] as [(Double, String, String)])
    func valuesFormatLikePython(value: Double, spec: String, expected: String) {
        #expect(formatValue(value, spec: spec.isEmpty ? nil : spec) == expected)
    }

    @Test func nonFiniteValuesAreNamed() {
        #expect(formatValue(.nan, spec: ".2f") == "NaN")
        #expect(formatValue(.infinity, spec: nil) == "∞")
    }

    @Test func swiftIsColouredAndEscaped() {
        let html = SwiftHighlighter.highlight("let x: Tensor<Float> = f(\"a<b\") // 1 < 2\n@MainActor var n = 0x1F")
        #expect(html.contains("<span class=\"tok-kw\">let</span>"))
        #expect(html.contains("<span class=\"tok-type\">Tensor</span>&lt;<span class=\"tok-type\">Float</span>&gt;"))
        #expect(html.contains("<span class=\"tok-fn\">f</span>(<span class=\"tok-str\">&quot;a&lt;b&quot;</span>)"))
        #expect(html.contains("<span class=\"tok-com\">// 1 &lt; 2</span>"))
        #expect(html.contains("<span class=\"tok-attr\">@MainActor</span>"))
        #expect(html.contains("<span class=\"tok-num\">0x1F</span>"))
        // Nothing lost: the text without tags is the source.
        #expect(HTMLFixtures.plainText(fromHTML: html) == "let x: Tensor<Float> = f(\"a<b\") // 1 < 2\n@MainActor var n = 0x1F")
    }

    /// The old highlighter coloured `"n = \(x + 1)!"` as one string and `default` in backticks
    /// as a keyword; the tokenizer it shares with the submission rules knows better.
    @Test func interpolationsAreCodeAndBacktickedNamesAreNames() {
        let code = "print(\"n = \\(x + 1)!\")\nlet `default` = Tensor(2)\nlet r = #\"a\\#(f(b)) \\(c)\"#"
        let html = SwiftHighlighter.highlight(code)
        #expect(html.contains("<span class=\"tok-str\">&quot;n = \\(</span>x + <span class=\"tok-num\">1</span><span class=\"tok-str\">)!&quot;</span>"), "\(html)")
        #expect(html.contains("<span class=\"tok-kw\">let</span> `default` = <span class=\"tok-type\">Tensor</span>"), "\(html)")
        // A raw string: only `\#(` interpolates.
        #expect(html.contains("<span class=\"tok-str\">#&quot;a\\#(</span><span class=\"tok-fn\">f</span>(b)<span class=\"tok-str\">) \\(c)&quot;#</span>"), "\(html)")
        #expect(HTMLFixtures.plainText(fromHTML: html) == code)
    }

    @Test func ticksAreNiceAndCoverTheData() {
        #expect(niceTicks(0, 9.3) == [0, 2, 4, 6, 8, 10])
        #expect(niceTicks(0.13, 0.87, count: 5) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(niceTicks(0, 1.9, count: 5) == [0, 0.5, 1, 1.5, 2])
        let s = PlotScale.linear(values: [-3, 47], from: 0, to: 100)
        #expect(s.lower <= -3 && s.upper >= 47 && s.ticks.count >= 4 && s.ticks.count <= 8)
        #expect(s.label(10) == "10")
        #expect(PlotScale.linear(values: [0, 25_500], from: 0, to: 1).label(30_000) == "30,000")
        // A step of 0.0025 keeps its last digit: 1.0025 is not shown as 1.002.
        let fine = PlotScale.linear(values: [0.9935, 1.0045], from: 0, to: 1)
        #expect(fine.ticks.contains(1.0025) && fine.label(1.0025) == "1.0025" && fine.label(1) == "1.0000")
    }

    @Test func logTicksFallOnRoundNumbers() {
        let wide = PlotScale.logarithmic(values: [1e-4, 3, 200], from: 100, to: 0)
        #expect(wide.ticks == [1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100])
        let narrow = PlotScale.logarithmic(values: [1.2, 28], from: 100, to: 0)
        #expect(narrow.ticks == [1, 2, 5, 10, 20])
        #expect(abs(narrow.pixel(narrow.lower) - 100) < 1e-9 && abs(narrow.pixel(narrow.upper)) < 1e-9)
    }

    @Test func linePlotHasSeriesLegendAndLabels() throws {
        let plot = PlotOutput(kind: .lines, title: "ppl <t>", xLabel: "epoch", yLabel: "perplexity", logY: true,
                              series: [PlotSeries(name: "a&b", x: [1, 2, 3], y: [10, 5, 2]),
                                       PlotSeries(name: "c", x: [1, 2, 3], y: [12, .nan, 3])])
        let svg = PlotRenderer().svg(for: plot)
        #expect(svg.hasPrefix("<svg class=\"plot plot-lines\" xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.contains("<title>ppl &lt;t&gt;</title>"))
        #expect(svg.contains(">a&amp;b</text>") && svg.contains(">c</text>"))
        #expect(svg.contains(">epoch</text>") && svg.contains(">perplexity</text>"))
        #expect(count("class=\"series s", in: svg) == 2)
        // The NaN breaks the second line into two pieces.
        let second = try #require(svg.components(separatedBy: "class=\"series s1\"").last)
        #expect(count("M", in: second.components(separatedBy: "\"/>").first ?? "") >= 1)
        try expectWellFormed(svg)
    }

    @Test func barsAndHeatmapAreWellFormed() throws {
        for plot in [HTMLFixtures.rnnResult.blocks[1].outputs[2], HTMLFixtures.rnnResult.blocks[1].outputs[3]] {
            guard case .plot(let p) = plot else { Issue.record("fixture changed"); continue }
            let svg = PlotRenderer(idPrefix: "t").svg(for: p)
            try expectWellFormed(svg)
            if p.kind == .heatmap {
                #expect(count("<rect x=", in: svg) == 8 * 20)
                #expect(svg.contains("fill=\"url(#t-viridis)\""))
                #expect(PlotRenderer.colour(0) == "#440154" && PlotRenderer.colour(1) == "#fde725")
            } else {
                #expect(svg.contains(">rnnbook (BLAS)</text>"))
                #expect(count("<rect x=", in: svg) == 3)
            }
        }
    }

    @Test func aLogAxisOverLessThanADecadeStillHasSeveralLabelledTicks() {
        // Perplexity 10.5 to 22: 1…9 per decade would leave the single tick 20.
        let short = PlotScale.logarithmic(values: [10.5, 22], from: 100, to: 0)
        #expect(short.ticks.count >= 3)
        #expect(short.lower <= 10.5 && short.upper >= 22)
        #expect(short.ticks.allSatisfy { $0 >= short.lower && $0 <= short.upper })
        #expect(short.ticks.map { short.label($0) } == short.ticks.map { formatValue($0, spec: ".0f") })
        // Not even one 1…9 mantissa inside: 7.1 to 7.9.
        let tiny = PlotScale.logarithmic(values: [7.1, 7.9], from: 100, to: 0)
        #expect(tiny.ticks.count >= 3 && tiny.ticks.first! <= 7.1 + 1e-9 && tiny.ticks.last! >= 7.9 - 1e-9)
        #expect(Set(tiny.ticks.map { tiny.label($0) }).count == tiny.ticks.count)
    }

    @Test func zerosOnALogAxisAreMarkedNotDropped() throws {
        let plot = PlotOutput(kind: .lines, xLabel: "τ", yLabel: "bias", logY: true,
                              series: [PlotSeries(name: "regular", x: [2, 5, 35], y: [0.1, 0.04, 0]),
                                       PlotSeries(name: "randomized", x: [2, 5, 35], y: [0.2, 0.1, 0.05])])
        let svg = PlotRenderer().svg(for: plot)
        try expectWellFormed(svg)
        #expect(count("class=\"off-axis\"", in: svg) == 1)
        #expect(svg.contains("<title>regular: 35 → 0 (no place on a log axis)</title>"))
        #expect(svg.contains("a value of 0 or less, which a log axis cannot show"))
        // Without such a value there is no note and the plot keeps its height.
        let plain = PlotRenderer().svg(for: PlotOutput(kind: .lines, logY: true, series: [plot.series[1]]))
        #expect(!plain.contains("off-axis") && plain.contains("viewBox=\"0 0 640.0 380.0\""))
    }

    @Test func heatmapLabelsEveryNarrowColumnAndOutlinesMarkedCells() throws {
        let columns = (0..<28).map { String(UnicodeScalar(UInt8(97 + $0 % 26))) }
        let plot = PlotOutput(kind: .heatmap, xLabel: "next", yLabel: "step",
                              categories: (0..<6).map { "after \($0)" },
                              matrix: (0..<6).map { r in (0..<28).map { Double(r * 28 + $0) / 168 } },
                              columns: columns, marks: [[0, 3], [5, 27]], markLabel: "the label")
        let svg = PlotRenderer(idPrefix: "m").svg(for: plot)
        try expectWellFormed(svg)
        for c in columns.prefix(26) { #expect(svg.contains("text-anchor=\"middle\">\(c)</text>")) }
        #expect(count("text-anchor=\"middle\">a</text>", in: svg) == 2)   // columns 0 and 26
        #expect(count("class=\"mark\"", in: svg) == 4)                     // two rings per cell
        #expect(svg.contains(">the label</text>"))
    }

    @Test func aOneHotRowShowsEveryColumn() {
        let values = (0..<6).flatMap { r in (0..<28).map { $0 == 3 * r ? 1.0 : 0.0 } }
        let html = ChapterPage.tensor(TensorOutput(label: "X", shape: [6, 28], values: values))
        #expect(!html.contains("⋯"))
        #expect(count("<td>1</td>", in: html.markup) == 6)
        // Long numbers are still elided.
        let wide = ChapterPage.tensor(TensorOutput(label: nil, shape: [2, 28], values: (0..<56).map { Double($0) + 0.123456 }))
        #expect(wide.contains("⋯"))
    }

    @Test func comparisonClaimsShowBothSidesAndAnErratumPassesByFailing() throws {
        let source = """
        ---
        title: C
        profiles:
          quick: {}
        ---
        Sequential {{seq:.2f < rand}} beats random, {{err < 1e-12}}; unchecked {{seq > 2 @default}}.

        $$y = 2 x$$ {#eq-slip}
        """
        let chapter = try ChapterParser().parse(source: source, path: "chapters/c.md")
        var result = ResultAssemblerTests.emptyResult(chapter)
        result.profile = "quick"
        result.metrics = ["seq": 1.034, "rand": 1.52, "err": 3e-16]
        result.findings = ProseJudge.findings(for: chapter, metrics: result.metrics, profile: "quick", runCompleted: true)
        result.findings.append(Finding(kind: .expectError, label: "eq-slip", verdict: .passed, file: "chapters/c.md",
                                       line: 8, message: "fails, as expected: y differs"))
        let outline = BookOutline(title: "B", chapters: [(slug: "c", title: "C", status: "passed")],
                                  targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: result, outline: outline, position: 0)
        let html = page.render()
        #expect(html.contains("<span class=\"claim\"><span class=\"value\">1.03 &lt; 1.52</span><span class=\"badge pass\""))
        #expect(html.contains("<b>claim</b> seq &lt; rand"))
        // Against a number the bound shows too: a value alone would read as if any value passed.
        #expect(html.contains("<span class=\"value\">3e-16 &lt; 1e-12</span>"))
        #expect(html.contains("<b>claim</b> err &lt; 1e-12"))
        #expect(html.contains("<span class=\"claim other-profile\"><span class=\"value\">seq &gt; 2 under default</span>"))
        #expect(html.contains("<span class=\"badge-label\">fails, as expected</span>"))
        // The erratum's failure is said under the equation, not only in the badge.
        #expect(html.contains("</div></div><p class=\"erratum-result\">fails, as expected: y differs</p>"))
    }

    @Test func aFigureCaptionsMathsIsTeXInTheAltTextAndTypesetInTheCaption() throws {
        let chapter = try ChapterParser().parse(source: "![At step $t$ the state $\\mathbf{H}_t$](figures/f.svg)\n", path: "chapters/f.md")
        var page = ChapterPage(chapter: chapter, result: nil,
                               outline: BookOutline(title: "B", chapters: [("f", "F", "notrun")], targets: CrossReferenceTargets([chapter])),
                               position: 0)
        let html = page.render()
        #expect(html.contains("alt=\"At step t the state \\mathbf{H}_t\""))
        #expect(html.contains("<span class=\"math inline\">\\(\\mathbf{H}_t\\)</span></figcaption>"))
        #expect(!html.unicodeScalars.contains { $0 == "\u{E000}" || $0 == "\u{E001}" })
    }

    @Test func passesOfOneEquationShareABadgeAndFailuresKeepTheirOwn() throws {
        let chapter = try ChapterParser().parse(source: "$$y = 2 x$$ {#eq-loop}\n", path: "chapters/l.md")
        var result = ResultAssemblerTests.emptyResult(chapter)
        func check(_ passed: Bool, _ error: Double) -> Finding {
            Finding(kind: .equation, label: "eq-loop", passed: passed, maxRelError: error, tolerance: 1e-6,
                    message: passed ? "holds" : "differs", line: 1)
        }
        result.findings = [check(true, 1e-16), check(true, 3e-15), check(false, 0.5), check(true, 0)]
        let outline = BookOutline(title: "B", chapters: [(slug: "l", title: "L", status: "failed")],
                                  targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: result, outline: outline, position: 0)
        let html = page.render()
        let equation = try #require(MathEndToEndTests.equationHTML("eq-loop", in: html))
        #expect(count("<span class=\"badge pass\"", in: equation) == 1)
        #expect(count("<span class=\"badge fail\"", in: equation) == 1)
        #expect(equation.contains(">checked ×3</span>"))
        #expect(equation.contains("<b>checks</b> 3 passed; the numbers are the worst of them"))
        #expect(equation.contains("<b>max rel. error</b> 3e-15"))
        // The failure keeps its own id, which the banner links to.
        #expect(equation.contains("id=\"check-3\"") && html.contains("<a href=\"#check-3\">"))
    }

    @Test func tensorsShowAsMatricesWithElision() {
        let small = ChapterPage.tensor(TensorOutput(label: "W", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]))
        #expect(small.contains("<span class=\"tensor-shape\">2×3</span>"))
        #expect(small.contains("<tr><td>1</td><td>2</td><td>3</td></tr><tr><td>4</td><td>5</td><td>6</td></tr>"))
        let big = ChapterPage.tensor(TensorOutput(label: nil, shape: [2, 20, 20], values: (0..<800).map(Double.init)))
        #expect(big.contains("[0, :, :]") && big.contains("[1, :, :]"))
        #expect(big.contains("⋯") && big.contains("⋮") && big.contains("⋱"))
        #expect(big.contains("<td>399</td>") && big.contains("<td>799</td>"))
    }
}

private func count(_ needle: String, in haystack: String) -> Int { haystack.components(separatedBy: needle).count - 1 }

#if canImport(FoundationXML)
import FoundationXML
#endif

private func expectWellFormed(_ xml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let parser = XMLParser(data: Data(xml.utf8))
    let ok = parser.parse()
    #expect(ok, "SVG is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")", sourceLocation: sourceLocation)
}

/// The page writers' builder escapes what it is given unless it is markup already.
@Suite struct HTMLBuilderTests {
    @Test func textIsEscapedMarkupIsKept() {
        let name = "<script>alert('x') & \"y\"</script>"
        let cell: HTML = "<td title=\"\(name)\">\(name)</td>"
        #expect(cell.markup == "<td title=\"&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;\">&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;</td>")
        let row: HTML = "<tr>\(cell)\(3)</tr>"
        #expect(row.markup == "<tr>" + cell.markup + "3</tr>")
        #expect([cell, cell].joined(separator: " ").markup == cell.markup + " " + cell.markup)
    }

    /// A checkpoint's name comes from chapter code: it reaches the page as text.
    @Test func aCheckpointNameFromCodeIsText() throws {
        let chapter = Chapter(path: "chapters/c.md", slug: "c", title: "C")
        var result = HTMLFixtures.introResult
        result.checkpoints = [CheckpointNote(block: 0, name: "<img src=x onerror=alert(1)>", restored: false, computedAt: "2026-12-07T00:00:00Z", seconds: 1)]
        let outline = BookOutline(title: "B", chapters: [("c", "C", "passed")], targets: CrossReferenceTargets([chapter]))
        let page = ChapterPage(chapter: chapter, result: result, outline: outline, position: 0)
        let notes = page.checkpointNotes(block: 0).markup
        #expect(notes.contains("<code>&lt;img src=x onerror=alert(1)&gt;</code>"))
        #expect(!notes.contains("<img"))
    }
}
