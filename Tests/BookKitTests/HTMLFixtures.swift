@testable import BookKit
import BookProtocol
import Foundation

/// A small book that exercises every part of a page: maths, references, values, claims that pass
/// and fail, code with hostile output, rich outputs, a failed block and a figure.
enum HTMLFixtures {
    static func ph(_ n: Int) -> String { "\u{E000}\(n)\u{E001}" }

    /// A page's text as a reader sees it: tags removed, the entities the pages use decoded.
    static func plainText(fromHTML html: String) -> String {
        var out = ""
        var inTag = false
        for ch in html {
            if ch == "<" { inTag = true } else if ch == ">" { inTag = false } else if !inTag { out.append(ch) }
        }
        return out.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// A chapter's prose as libcmark's HTML with each lifted item as its placeholder `ph(n)`
    /// (n: its place in `chapter.inlines`), so tests can look at what cmark made of the text.
    static func markup(_ segment: Segment, of chapter: Chapter) -> String? {
        struct Placeholders: ProseRendering {
            var inlines: [InlineItem]
            mutating func liftedHTML(_ item: InlineItem, plain: Bool) -> String {
                inlines.firstIndex(of: item).map { HTMLFixtures.ph($0) } ?? (item == .math(tex: "") ? "" : "[\(item)]")
            }
        }
        guard case .prose(let blocks) = segment else { return nil }
        var renderer = Placeholders(inlines: chapter.inlines)
        return renderer.proseHTML(blocks)
    }

    /// Markdown whose placeholders `ph(n)` stand for `inlines[n]`, as the parser's prose tree.
    static func prose(_ markdown: String, _ inlines: [InlineItem]) -> Segment {
        let lifted = LiftedText(text: markdown, originalLine: [], inlines: inlines, displays: [])
        return .prose(readMarkdownBlocks(markdown, copy: MarkdownCopy(text: { liftedInlines($0, lifted: lifted) })).map(\.content))
    }

    static let path = "chapters/02-rnn.md"
    static func loc(_ line: Int) -> SourceLocation { SourceLocation(file: path, line: line) }

    static var rnnChapter: Chapter {
        let inlines: [InlineItem] = [
            .math(tex: "\\mathbf{H}_t \\in \\mathbb{R}^{n \\times h}"),                          // 0
            .reference(label: "eq-rnn-state", location: loc(14)),                                 // 1
            .math(tex: "W_{xh}"),                                                                 // 2
            .value(name: "ppl_sequential", format: ".2f", location: loc(30)),                     // 3
            .claim(Claim(metric: "ppl_sequential", expected: 1.0, tolerance: 0.1, profile: nil, format: ".2f", location: loc(31))), // 4
            .claim(Claim(metric: "grad_norm", expected: 5.0, tolerance: 0.5, profile: nil, format: ".2f", location: loc(32))),      // 5
            .reference(label: "eq-output", location: loc(33)),                                    // 6
            .math(tex: "a < b \\land c > d"),                                                         // 7
            .reference(label: "eq-missing", location: loc(34)),                                   // 8
            .value(name: "tokens", format: ",.0f", location: loc(35)),                            // 9
            // Same metric and line as #4 but for another profile (chapters write one claim per profile).
            .claim(Claim(metric: "ppl_sequential", expected: 1.0, tolerance: 0.1, profile: "default", format: ".2f", location: loc(31))), // 10
        ]
        let segments: [Segment] = [
            prose("""
            ## Hidden states 隐状态

            The hidden state \(ph(0)) summarises the sequence so far (中文: 隐状态). It is updated by \(ph(1)), where \(ph(2)) maps inputs to hidden units; note \(ph(7)).
            """, inlines),
            .equation(Equation(tex: "\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh} + \\mathbf{b}_h)",
                               label: "eq-rnn-state", number: 1, location: loc(14))),
            prose("The output layer reads the hidden state:", inlines),
            .equation(Equation(tex: "\\mathbf{O}_t = \\mathbf{H}_t \\mathbf{W}_{hq} + \\mathbf{b}_q", label: "eq-output", number: 2, location: loc(18))),
            .equation(Equation(tex: "\\operatorname{ppl} = \\exp\\Big(-\\frac{1}{n}\\sum_{t=1}^n \\log P(x_t \\mid x_{t-1},\\dots,x_1)\\Big)", label: nil, number: nil, location: loc(20))),
            .code(CodeBlock(language: "swift", code: """
            // One step of the recurrence, eq-rnn-state
            let X = Tensor<Float>(randomNormal: [3, 4], seed: 7)
            let H = tanh(X.matmul(Wxh) + Hprev.matmul(Whh) + bh)
            print("H has shape \\(H.shape)")   // <script>alert(1)</script>
            """, options: BlockOptions(), index: 0, location: loc(22))),
            prose("## Training\n\nAfter training on \(ph(9)) tokens the perplexity is \(ph(3)); we claimed \(ph(4))\(ph(10)). The gradient norm claim \(ph(5)) does not hold. The output \(ph(6)) is linear. A dangling reference: \(ph(8)).\n\n![unrolled \(ph(2))](figures/unrolled.svg)\n", inlines),
            .code(CodeBlock(language: "swift", code: "show(plot: .lines([\"seq\": a, \"random\": b]))\nshow(table: rows)", options: BlockOptions(), index: 1, location: loc(40))),
            .figure(path: "figures/rnn.svg", caption: [.text("An RNN with a hidden state <b>")]),
            .code(CodeBlock(language: "python", code: "import torch\nprint('d2l')", options: { var o = BlockOptions(); o.run = false; return o }(), index: nil, location: loc(50))),
            .code(CodeBlock(language: "swift", code: "let bad = [1, 2][5]\nprint(bad)", options: BlockOptions(), index: 2, location: loc(55))),
            .code(CodeBlock(language: "swift", code: "print(\"never\")", options: BlockOptions(), index: 3, location: loc(60))),
        ]
        return Chapter(path: path, slug: "02-rnn", title: "Recurrent Neural Networks",
                       params: ["num_hiddens": .int(512)], segments: segments, inlines: inlines)
    }

    static var introChapter: Chapter {
        let inlines: [InlineItem] = [.reference(label: "eq-rnn-state", location: SourceLocation(file: "chapters/01-intro.md", line: 3)),
                                     .math(tex: "x_1, \\dots, x_T")]
        return Chapter(path: "chapters/01-intro.md", slug: "01-intro", title: "Sequences",
                       segments: [prose("See \(ph(0)) in the next chapter and \(ph(1)).", inlines)], inlines: inlines)
    }

    static let versions = VersionInfo(rnnbook: "0.1.0", swiftc: "Swift 6.3.1", cmark: "0.30.2", openblas: "0.3.21")

    static var epochs: [Double] { (1...30).map(Double.init) }

    static var rnnResult: ChapterResult {
        let e = epochs
        let plot = PlotOutput(kind: .lines, title: "Perplexity while training", xLabel: "epoch", yLabel: "perplexity", logY: true,
                              series: [PlotSeries(name: "sequential partitioning", x: e, y: e.map { 1 + 27 * exp(-$0 / 6) }),
                                       PlotSeries(name: "random sampling", x: e, y: e.map { 1.3 + 26 * exp(-$0 / 8) })])
        let bars = PlotOutput(kind: .bars, title: "Tokens per second", xLabel: "implementation", yLabel: "tokens / s",
                              series: [PlotSeries(name: "tokens/s", x: [0, 1, 2], y: [21000, 25500, 9800])],
                              categories: ["PyTorch", "rnnbook (BLAS)", "rnnbook (naive)"])
        let heat = PlotOutput(kind: .heatmap, title: "Gradient norm by time lag", xLabel: "time lag k", yLabel: "step", logY: true,
                              matrix: (0..<8).map { r in (0..<20).map { k in pow(0.7, Double(k)) * Double(r + 1) } },
                              columns: (0..<20).map(String.init), categoryRows: (0..<8).map { "t=\($0)" })
        let table = TableOutput(caption: "Parameters per time step <i>", header: ["matrix", "shape", "count"],
                                rows: [["W_xh", "28 × 512", "14336"], ["W_hh", "512 × 512", "262144"], ["b_h", "512", "512"]])
        let tensor = TensorOutput(label: "H", shape: [3, 4], values: (0..<12).map { sin(Double($0)) })
        let hostileSVG = "<svg viewBox='0 0 100 40'><script>alert(2)</script><rect width='100' height='40' fill='#eee' onclick='alert(3)'/><text x='8' y='25'>h₀ → h₁</text></svg>"
        let blocks = [
            BlockResult(index: 0, status: .passed, stdout: "H has shape [3, 4]\n<script>alert(1)</script> & done\n", stderr: "warning: slow path\n",
                        seconds: 0.12, outputs: [.tensor(tensor)]),
            BlockResult(index: 1, status: .passed, stdout: "", seconds: 4.2,
                        outputs: [.plot(plot), .table(table), .plot(bars), .plot(heat), .svg(hostileSVG, caption: "Unrolled RNN")]),
            BlockResult(index: 2, status: .failed, stderr: "Fatal error: Index out of range\n", seconds: 0.01,
                        error: "chapters/02-rnn.md:55:18: block 3 crashed: Fatal error: Index out of range"),
            BlockResult(index: 3, status: .notRun),
        ]
        let checks = [
            Finding(kind: .equation, label: "eq-rnn-state", passed: true, maxAbsError: 2.4e-7, maxRelError: 1.1e-7, tolerance: 1e-6,
                        shapes: ["X_t": [3, 4], "W_xh": [4, 5], "H_t": [3, 5]], message: "right side matches H_t", line: 14, block: 0),
            Finding(kind: .equation, label: "eq-output", passed: false, maxAbsError: 0.31, tolerance: 1e-6,
                        message: "right side differs from O_t: max |Δ| = 0.31", line: 18, block: 1),
            Finding(kind: .claim, label: "ppl_sequential", passed: true, tolerance: 0.1, message: "1.03 within 1.0 ± 0.1", line: 31),
            Finding(kind: .claim, label: "grad_norm", passed: false, tolerance: 0.5, message: "7.21 outside 5.0 ± 0.5", line: 32),
            Finding(kind: .gradient, label: "gradient of loss", passed: true, maxRelError: 3e-9, tolerance: 1e-6, message: "autodiff matches finite differences", block: 1),
            Finding(kind: .output, label: "block 1 output", passed: true, message: "stdout matches", block: 0),
            Finding(kind: .shape, label: "free-standing <check>", passed: true, message: "shapes agree"),
            Finding(kind: .claim, label: "ppl_sequential", verdict: .notChecked, line: 31,
                    message: "not checked in this build: the claim applies to profile default; this build used quick"),
        ]
        return ChapterResult(chapter: path, title: "Recurrent Neural Networks", status: .failed, profile: "quick",
                             params: ["num_hiddens": .int(64), "lr": .double(1.0)], seed: 0, blocks: blocks, findings: checks,
                             metrics: ["ppl_sequential": 1.0342, "grad_norm": 7.2113, "tokens": 170580],
                             versions: versions, machine: "2-core AMD EPYC", startedAt: "2025-01-01T12:00:00Z",
                             seconds: 5.3, compileSeconds: 0.8, cached: false)
    }

    static var introResult: ChapterResult {
        ChapterResult(chapter: "chapters/01-intro.md", title: "Sequences", status: .passed, profile: "quick", params: [:], seed: nil,
                      blocks: [], findings: [], metrics: [:], versions: versions, machine: "2-core AMD EPYC",
                      startedAt: "2025-01-01T12:00:00Z", seconds: 0.4, compileSeconds: 0.3, cached: true)
    }

    static var book: [(chapter: Chapter, result: ChapterResult?)] {
        [(introChapter, introResult), (rnnChapter, rnnResult)]
    }

    /// A temporary book root with the figures the fixture references.
    static func makeBookRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-html-\(UUID().uuidString)")
        let figures = root.appendingPathComponent("chapters/figures")
        try FileManager.default.createDirectory(at: figures, withIntermediateDirectories: true)
        let svg = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 80"><rect x="5" y="20" width="60" height="40" rx="6" fill="#cde"/>\
        <text x="20" y="45">h₁</text><path d="M65 40H120" stroke="#333"/><rect x="120" y="20" width="60" height="40" rx="6" fill="#cde"/>\
        <text x="135" y="45">h₂</text></svg>
        """
        try Data(svg.utf8).write(to: figures.appendingPathComponent("rnn.svg"))
        try Data(svg.utf8).write(to: figures.appendingPathComponent("unrolled.svg"))
        return root
    }
}

extension PlotOutput {
    /// Heatmap fixture helper: row labels go in `categories`.
    init(kind: Kind, title: String?, xLabel: String, yLabel: String, logY: Bool, matrix: [[Double]], columns: [String], categoryRows: [String]) {
        self.init(kind: kind, title: title, xLabel: xLabel, yLabel: yLabel, logY: logY, categories: categoryRows, matrix: matrix, columns: columns)
    }
}

extension HTML {
    /// Tests look into markup as text.
    func contains(_ text: String) -> Bool { markup.contains(text) }
    func hasPrefix(_ text: String) -> Bool { markup.hasPrefix(text) }
    func hasSuffix(_ text: String) -> Bool { markup.hasSuffix(text) }
}
