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
        #expect(HTMLText.plainText(fromHTML: html) == "let x: Tensor<Float> = f(\"a<b\") // 1 < 2\n@MainActor var n = 0x1F")
    }

    @Test func ticksAreNiceAndCoverTheData() {
        #expect(niceTicks(0, 9.3) == [0, 2, 4, 6, 8, 10])
        #expect(niceTicks(0.13, 0.87, count: 5) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(niceTicks(0, 1.9, count: 5) == [0, 0.5, 1, 1.5, 2])
        let s = PlotScale.linear(values: [-3, 47], from: 0, to: 100)
        #expect(s.lower <= -3 && s.upper >= 47 && s.ticks.count >= 4 && s.ticks.count <= 8)
        #expect(s.label(10) == "10")
        #expect(PlotScale.linear(values: [0, 25_500], from: 0, to: 1).label(30_000) == "30,000")
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
