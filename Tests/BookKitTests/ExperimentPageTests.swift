@testable import BookKit
import BookProtocol
import Foundation
import Testing

/// Hand-built experiment reports: a chapter with a language model's metrics and curves.
enum ExperimentFixtures {
    typealias R = ExperimentReport

    static func curve(_ series: String, epochs: Int, start: Double, plot: String = "Perplexity") -> R.Curve {
        let x = (1...epochs).map(Double.init)
        return R.Curve(block: 2, plot: plot, series: series, xLabel: "epoch", yLabel: "perplexity", logY: false,
                       x: x, y: x.map { start * pow(0.97, $0) + 1.5 })
    }

    static let bookParams: [String: ParamValue] = ["num_epochs": .int(100), "num_hiddens": .int(128), "lr": .double(1), "seed": .int(0)]

    static var book: R.Run {
        R.Run(profile: "default", params: bookParams,
              metrics: ["ppl_train": 2.0, "ppl_val": 8.0, "acc": 0.5, "tokens": 170_580, "grad_norm": 1.0, "loss": 0.25, "log_lik": -2],
              curves: [curve("train", epochs: 100, start: 20), curve("val", epochs: 100, start: 22),
                       curve("lr", epochs: 100, start: 1, plot: "Learning rate")],
              seconds: 41.2, cached: true)
    }

    static let outcomes: [R.Outcome] = [
        R.Outcome(kind: "claim", label: "ppl_train", location: "chapters/03-char-lm.md:88:12", statement: "ppl_train < 2.5",
                  book: "2", found: "1.5", verdict: .holds, message: "1.5 < 2.5"),
        R.Outcome(kind: "claim", label: "ppl_random", location: "chapters/03-char-lm.md:90:3", statement: "ppl_random ≈ 28",
                  book: nil, found: nil, verdict: .notChecked, message: "written for the profile full"),
        R.Outcome(kind: "output", label: "block 7", location: "chapters/03-char-lm.md:120:1", statement: "time traveller\nfor so it will",
                  book: "time traveller\nfor so it will", found: "the the the", verdict: .differs, message: "the output differs"),
    ]

    /// `--set num_epochs=50 --seed 3`: one point.
    static var single: R {
        let run = R.Run(profile: "default",
                        params: bookParams.merging(["num_epochs": .int(50), "seed": .int(3)]) { $1 },
                        metrics: ["ppl_train": 1.5, "ppl_val": 8.0, "acc": 0.6, "tokens": 170_580, "grad_norm": .nan,
                                  "loss": .infinity, "only_here": 3.25, "log_lik": -1],
                        curves: [curve("train", epochs: 50, start: 20), curve("val", epochs: 50, start: 25)],
                        seconds: 20.5, cached: false)
        let point = R.Point(values: ["num_epochs": "50", "seed": "3"], state: .completed, run: run, outcomes: outcomes, failures: [])
        return R(name: "short-run", command: "rnnbook build chapters/03-char-lm.md --set num_epochs=50 --seed 3",
                 createdAt: "2026-12-07T08:30:00Z", profile: "default", executor: "local, 2 at a time",
                 axes: [R.Axis(key: "num_epochs", values: ["50"]), R.Axis(key: "seed", values: ["3"])],
                 chapters: [R.ChapterPart(path: "chapters/03-char-lm.md", slug: "03-char-lm", title: "A character language model",
                                          book: book, bookNote: "from the cache of the last build", points: [point])])
    }

    /// `--set num_epochs=50 --set num_hiddens=32,64 --set lr=0.5,1`: a 2×2 grid whose last point failed.
    static var grid: R {
        var points: [R.Point] = []
        for (h, nh) in ["32", "64"].enumerated() {
            for (l, lr) in ["0.5", "1"].enumerated() {
                let ppl = 3.0 - Double(h) * 0.5 - Double(l) * 0.25
                let run = R.Run(profile: "default",
                                params: bookParams.merging(["num_epochs": .int(50), "num_hiddens": .int(Int(nh)!), "lr": .double(Double(lr)!)]) { $1 },
                                metrics: ["ppl_train": ppl, "ppl_val": ppl * 3, "acc": 0.4 + 0.05 * Double(h + l), "tokens": 170_580,
                                          "grad_norm": 1.0 + Double(l), "loss": log(ppl)],
                                curves: [curve("train", epochs: 100, start: 20 + ppl), curve("val", epochs: 100, start: 22 + ppl)],
                                seconds: 30 + Double(h + l), cached: false)
                let failed = h == 1 && l == 1
                points.append(R.Point(values: ["num_epochs": "50", "num_hiddens": nh, "lr": lr], state: failed ? .failed : .completed,
                                      run: failed ? nil : run, outcomes: failed ? [] : outcomes,
                                      failures: failed ? ["chapters/03-char-lm.md:64:5: gradient check failed\n  max |Δ| 0.3 > 1e-4"] : []))
            }
        }
        return R(name: "width-and-rate", command: "rnnbook build chapters/03-char-lm.md --set num_epochs=50 --set num_hiddens=32,64 --set lr=0.5,1",
                 createdAt: "2026-12-07T09:00:00Z", profile: "default", executor: "Slurm job 42 (partition debug)",
                 axes: [R.Axis(key: "num_epochs", values: ["50"]), R.Axis(key: "num_hiddens", values: ["32", "64"]), R.Axis(key: "lr", values: ["0.5", "1"])],
                 plotted: ["ppl_train", "ppl_val"],
                 chapters: [R.ChapterPart(path: "chapters/03-char-lm.md", slug: "03-char-lm", title: "A character language model",
                                          book: book, bookNote: "from the cache of the last build", points: points)])
    }
}

private func count(_ needle: String, in haystack: String) -> Int { haystack.components(separatedBy: needle).count - 1 }

/// The text from `start` (included) to the first `end` after it.
private func slice(_ html: String, from start: String, to end: String) throws -> String {
    let lower = try #require(html.range(of: start), "no \(start)").lowerBound
    let upper = try #require(html.range(of: end, range: lower..<html.endIndex), "no \(end) after \(start)").upperBound
    return String(html[lower..<upper])
}

/// The metrics table's row of `metric`.
private func row(_ metric: String, in html: String) throws -> String {
    let table = try slice(html, from: "<table class=\"data metrics\">", to: "</table>")
    let cell = try #require(table.range(of: "<th scope=\"row\"><code>\(metric)</code></th>"), "no row \(metric)")
    let start = try #require(table.range(of: "<tr", options: .backwards, range: table.startIndex..<cell.lowerBound)).lowerBound
    let end = try #require(table.range(of: "</tr>", range: cell.upperBound..<table.endIndex)).upperBound
    return String(table[start..<end])
}

/// The texts of a row's `<td>` cells, tags removed.
private func cells(_ row: String) -> [String] {
    row.components(separatedBy: "<td").dropFirst().map { piece in
        let body = String(piece.drop { $0 != ">" }.dropFirst())
        return HTMLFixtures.plainText(fromHTML: body.components(separatedBy: "</td>")[0])
    }
}

@Suite("Experiment page")
struct ExperimentPageTests {
    @Test func numbersReadWell() {
        #expect(ExperimentPage.number(3) == "3")
        #expect(ExperimentPage.number(-0.0) == "0")
        #expect(ExperimentPage.number(170_580) == "170,580")
        #expect(ExperimentPage.number(0.123_456_7) == "0.12346")
        #expect(ExperimentPage.number(12_345.678) == "12,345.7")
        #expect(ExperimentPage.number(.nan) == "NaN")
        #expect(ExperimentPage.number(-.infinity) == "-inf")
        #expect(ExperimentPage.percent(-25) == "-25%")
        #expect(ExperimentPage.percent(3.14159) == "+3.14%")
        #expect(ExperimentPage.percent(250.4) == "+250%")
    }

    @Test func singlePointComparesEveryMetricWithTheBook() throws {
        let html = ExperimentPage(report: ExperimentFixtures.single).render()
        // A fall: absolute and relative, with its sign; the row is highlighted.
        let train = try row("ppl_train", in: html)
        #expect(cells(train) == ["2", "1.5", "-0.5", "-25%"])
        #expect(train.hasPrefix("<tr class=\"changed\">"))
        // A rise.
        #expect(cells(try row("acc", in: html)) == ["0.5", "0.6", "+0.1", "+20%"])
        // Relative to the book's size: from -2 to -1 is a rise of 50%.
        #expect(cells(try row("log_lik", in: html)) == ["-2", "-1", "+1", "+50%"])
        // Unchanged: not highlighted, no difference.
        let val = try row("ppl_val", in: html)
        #expect(cells(val) == ["8", "8", "same", ""])
        #expect(!val.contains("changed"))
        #expect(cells(try row("tokens", in: html)) == ["170,580", "170,580", "same", ""])
        // NaN and inf are named and never given a difference.
        let grad = try row("grad_norm", in: html)
        #expect(cells(grad) == ["1", "NaN", "—", "—"])
        #expect(grad.contains("changed"))
        #expect(cells(try row("loss", in: html)) == ["0.25", "inf", "—", "—"])
        // Missing in the book's run: a dash, never 0.
        #expect(cells(try row("only_here", in: html)) == ["—", "3.25", "—", "—"])
        #expect(html.contains("6 of 8 metrics changed"))
        // The params the point changed, and the heading's overrides.
        #expect(html.contains("<code>num_epochs</code> 100 → 50") && html.contains("<code>seed</code> 0 → 3"))
        #expect(html.contains("<code>num_epochs = 50</code>, <code>seed = 3</code>"))
        #expect(html.contains("<h1>Experiment short-run</h1>"))
        #expect(html.contains("<code class=\"command\">rnnbook build chapters/03-char-lm.md --set num_epochs=50 --seed 3</code>"))
        #expect(html.contains("1 point, completed") && html.contains("1 claim differs from the text"))
        #expect(html.contains("<footer class=\"experiment-foot\"><p>The book's pages are not changed by an experiment.</p></footer>"))
    }

    @Test func aMetricMissingFromThisRunIsADash() throws {
        var report = ExperimentFixtures.single
        report.chapters[0].points[0].run!.metrics["acc"] = nil
        let html = ExperimentPage(report: report).render()
        #expect(cells(try row("acc", in: html)) == ["0.5", "—", "—", "—"])
    }

    @Test func curvesOverlayTheBooksRunAndThisOne() throws {
        let html = ExperimentPage(report: ExperimentFixtures.single).render()
        let figure = try slice(html, from: "<figure class=\"plot-figure curve paired\">", to: "</figure>")
        for name in ["train (book)", "train (this run)", "val (book)", "val (this run)"] {
            #expect(figure.contains(">\(name)</text>"), "legend lacks \(name)")
        }
        // Interleaved so each pair sits side by side in the legend.
        let order = ["train (book)", "train (this run)", "val (book)", "val (this run)"].map { figure.range(of: ">\($0)</text>")!.lowerBound }
        #expect(order == order.sorted())
        #expect(figure.contains("<figcaption>Perplexity <span class=\"muted\">(dashed: the book's run; solid: this run)</span></figcaption>"))
        // One axis for 100 epochs and 50: the ticks reach 100.
        #expect(figure.contains(">100</text>"))
        // Only plots this run drew: the book's learning-rate plot is not drawn.
        #expect(count("<figure class=\"plot-figure curve", in: html) == 1)
        #expect(!html.contains("Learning rate"))
    }

    /// The pairs' style (one colour a pair, the book's dashed) holds only when every series is in both runs.
    @Test func curvesNotInTheBooksRunAreNotPaired() throws {
        var report = ExperimentFixtures.single
        report.chapters[0].points[0].run!.curves.append(ExperimentFixtures.curve("grad", epochs: 50, start: 3, plot: "Gradient norm"))
        report.chapters[0].points[0].run!.curves.append(ExperimentFixtures.curve("test", epochs: 50, start: 3))
        let html = ExperimentPage(report: report).render()
        let perplexity = try slice(html, from: "<figure class=\"plot-figure curve\">", to: "</figure>")
        #expect(perplexity.contains(">test (this run)</text>") && !perplexity.contains("test (book)"))
        let grad = try slice(html, from: "<title>Gradient norm</title>", to: "</figure>")
        #expect(grad.contains("(the book's run has no such plot)"))
        #expect(!html.contains("curve paired"))
    }

    @Test func outcomesDifferingComeFirstWithTheirBadges() throws {
        let html = ExperimentPage(report: ExperimentFixtures.single).render()
        let table = try slice(html, from: "<table class=\"data outcomes\">", to: "</table>")
        let differs = try #require(table.range(of: "<span class=\"badge-label\">differs from the text</span>")).lowerBound
        let holds = try #require(table.range(of: "<span class=\"badge-label\">holds</span>")).lowerBound
        let unchecked = try #require(table.range(of: "<span class=\"badge-label\">not checked in this profile</span>")).lowerBound
        #expect(differs < holds && holds < unchecked)
        // Amber, not the red of a failure.
        #expect(table.contains("<span class=\"badge differs\">") && !table.contains("badge fail"))
        #expect(table.contains("<span class=\"badge pass\">") && table.contains("<span class=\"badge unchecked\">"))
        #expect(table.contains("<code>chapters/03-char-lm.md:88:12</code>"))
        #expect(table.contains("<code>ppl_train &lt; 2.5</code>"))
        #expect(table.contains("<pre class=\"text\">time traveller\nfor so it will</pre>"))
        #expect(table.contains("<div class=\"check-msg\">the output differs</div>"))
    }

    @Test func aFailedPointShowsItsFailuresInARedBox() throws {
        var report = ExperimentFixtures.single
        report.chapters[0].points[0].state = .failed
        report.chapters[0].points[0].run = nil
        report.chapters[0].points[0].outcomes = []
        report.chapters[0].points[0].failures = ["chapters/03-char-lm.md:64:5: the program crashed\n  signal 11"]
        report.chapters[0].points[0].reason = "OUT_OF_MEMORY"
        let html = ExperimentPage(report: report).render()
        let box = try slice(html, from: "<div class=\"failures point-failures\" role=\"alert\">", to: "</div>")
        #expect(box.contains("This point FAILED"))
        #expect(box.contains("<pre>chapters/03-char-lm.md:64:5: the program crashed\n  signal 11</pre>"))
        #expect(box.contains("<code>OUT_OF_MEMORY</code>"))
        #expect(html.contains("<p class=\"verdict failed\"><span class=\"bad\">The point FAILED</span>"))
        #expect(!html.contains("<table class=\"data metrics\">"))
        // A completed report has no red box.
        #expect(!ExperimentPage(report: ExperimentFixtures.single).render().contains("<div class=\"failures point-failures\""))
    }

    @Test func aGridHasARowPerPointAfterTheBooksRun() throws {
        let html = ExperimentPage(report: ExperimentFixtures.grid).render()
        let table = try slice(html, from: "<table class=\"data grid-table\">", to: "</table>")
        #expect(count("<tr class=\"point ", in: table) == 4)
        #expect(count("<tr class=\"book-row\">", in: table) == 1)
        #expect(table.range(of: "book-row")!.lowerBound < table.range(of: "<tr class=\"point ")!.lowerBound)
        // Columns: #, each varied param, state, the plotted metrics, then those that differ across points; claims.
        let head = try slice(table, from: "<thead>", to: "</thead>")
        let columns = HTMLFixtures.plainText(fromHTML: head.replacingOccurrences(of: "</th>", with: "|")).split(separator: "|").map(String.init)
        #expect(columns == ["#", "num_hiddens", "lr", "state", "ppl_train", "ppl_val", "acc", "grad_norm", "loss", "claims"])
        // tokens is the same everywhere, log_lik only in the book's run: only in the table of all metrics.
        #expect(html.contains("<summary>All 7 metrics</summary>"))
        // The param every point sets alike is said once, beside the book's value.
        #expect(html.contains("<p class=\"params-diff\">Every point sets <code>num_epochs = 50</code> (the book's run: 100).</p>"))
        // The book's row shows its own values of the varied params.
        let bookRow = try slice(table, from: "<tr class=\"book-row\">", to: "</tr>")
        #expect(cells(bookRow).prefix(3) == ["128", "1.0", "profile default"])
        // The failed point: red state, dashes for metrics, its failure in a box.
        let failed = try slice(table, from: "<tr class=\"point failed\">", to: "</tr>")
        #expect(failed.contains("<span class=\"status failed\">failed</span>"))
        #expect(cells(failed).dropFirst(3).prefix(5).allSatisfy { $0 == "—" })
        #expect(failed.contains("<a href=\"#c0-failure4\"><span class=\"status failed\">failed</span></a>"))
        let box = try slice(html, from: "<div class=\"failures point-failures\" role=\"alert\" id=\"c0-failure4\">", to: "</div>")
        #expect(box.contains("Point 4 (num_hiddens=64, lr=1) FAILED"))
        #expect(box.contains("<pre>chapters/03-char-lm.md:64:5: gradient check failed\n  max |Δ| 0.3 &gt; 1e-4</pre>"))
        #expect(count("<div class=\"failures point-failures\"", in: html) == 1)
        #expect(html.contains("<p class=\"verdict failed\"><span class=\"bad\">1 of 4 points FAILED</span>"))
        // A point's cell: its value and the change from the book's 2.
        let first = try slice(table, from: "<tr class=\"point completed\">", to: "</tr>")
        #expect(first.contains("<td class=\"num\">3<span class=\"delta\" title=\"change from the book's run\">+50%</span></td>"))
        #expect(first.contains("<td class=\"claims\"><span class=\"good\">1 holds</span>, <span class=\"warn\">1 differs</span>, <span class=\"muted\">1 not checked</span>"))
        // Every point in full, under its own <details>.
        #expect(count("<details class=\"point\"", in: html) == 4)
        #expect(html.contains("<summary><span class=\"point-no\">1</span> num_hiddens=32, lr=0.5 · completed · claims: "))
    }

    @Test func aGridPlotsEachMetricAgainstEachVariedParam() throws {
        let html = ExperimentPage(report: ExperimentFixtures.grid).render()
        #expect(count("<figure class=\"plot-figure grid-plot", in: html) == 4)
        for metric in ["ppl_train", "ppl_val"] {
            let byWidth = try slice(html, from: "<title>\(metric) against num_hiddens</title>", to: "</svg>")
            #expect(byWidth.contains(">lr=0.5</text>") && byWidth.contains(">lr=1</text>"))
            #expect(!byWidth.contains(">num_hiddens=32</text>"))
            let byRate = try slice(html, from: "<title>\(metric) against lr</title>", to: "</svg>")
            #expect(byRate.contains(">num_hiddens=32</text>") && byRate.contains(">num_hiddens=64</text>"))
        }
        // The book's run: the first series (drawn dashed by the page's style), a level across the axis.
        let plot = try slice(html, from: "<figure class=\"plot-figure grid-plot has-book\" id=\"c0-m0-a0\">", to: "</figure>")
        let firstSeries = try slice(plot, from: "<g class=\"axis\"", to: "</title>")
        #expect(firstSeries.hasSuffix("<g class=\"series s0\" stroke=\"#0072b2\" fill=\"#0072b2\"><title>book (num_hiddens=128, lr=1.0)</title>"))
        #expect(plot.contains("dashed: the book's run, 2."))
        // Markers on the points: lr=0.5 has both widths, lr=1 lost num_hiddens=64 (failed).
        let lrHalf = try slice(plot, from: "<title>lr=0.5</title>", to: "</g>")
        let lrOne = try slice(plot, from: "<title>lr=1</title>", to: "</g>")
        #expect(count("<circle", in: lrHalf) == 2 && count("<circle", in: lrOne) == 1)
    }

    @Test func aParamThatIsNotANumberGetsBars() throws {
        var report = ExperimentFixtures.grid
        report.axes[2] = .init(key: "use_bias", values: ["true", "false"])
        for i in report.chapters[0].points.indices {
            let lr = report.chapters[0].points[i].values.removeValue(forKey: "lr")!
            report.chapters[0].points[i].values["use_bias"] = lr == "1" ? "true" : "false"
        }
        let html = ExperimentPage(report: report).render()
        let bars = try slice(html, from: "<title>ppl_train against use_bias</title>", to: "</svg>")
        #expect(html.contains("<svg class=\"plot plot-bars\""))
        #expect(bars.contains(">book</text>") && bars.contains(">true</text>") && bars.contains(">false</text>"))
        #expect(bars.contains(">num_hiddens=32</text>"))
        // The numeric param still gets lines.
        #expect(try slice(html, from: "<title>ppl_train against num_hiddens</title>", to: "</svg>").contains(">use_bias=true</text>"))
    }

    @Test func everyStringOfTheReportIsText() throws {
        let evil = "<script>alert(1)</script> & co"
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
        for var report in [ExperimentFixtures.single, ExperimentFixtures.grid] {
            report.name = evil; report.command = evil; report.executor = evil; report.profile = evil
            // A varied param in the grid (its legends, its column), the override in the single point.
            let ax = report.axes.firstIndex(where: \.varied) ?? 0
            let key = report.axes[ax].key
            report.axes[ax].key = evil
            report.axes[ax].values[0] = evil
            report.plotted = report.plotted.isEmpty ? [] : [evil]
            var part = report.chapters[0]
            part.title = evil; part.path = evil; part.bookNote = evil
            part.book!.metrics[evil] = 1
            part.book!.params[evil] = .string(evil)
            for i in part.points.indices {
                let value = part.points[i].values.removeValue(forKey: key)!
                part.points[i].values[evil] = value == report.axes[ax].values.last ? value : evil
                part.points[i].run?.metrics[evil] = 2
                part.points[i].run?.curves[0].series = evil
                part.points[i].outcomes = [ExperimentReport.Outcome(kind: evil, label: evil, location: evil, statement: evil,
                                                                   book: evil, found: evil, verdict: .differs, message: evil)]
                if i == 0 {
                    part.points[i].failures = [evil]
                    part.points[i].reason = evil
                    part.points[i].state = .failed
                }
            }
            report.chapters[0] = part
            let html = ExperimentPage(report: report).render()
            #expect(!html.contains("<script"))
            #expect(!html.contains("alert(1)</"))
            #expect(count(escaped, in: html) > 10)
            #expect(html.contains("<h1>Experiment \(escaped)</h1>"))
            #expect(html.contains("<code class=\"command\">\(escaped)</code>"))
            #expect(html.contains("<pre>\(escaped)</pre>"))
            #expect(html.contains("<code>\(escaped)</code>"))
            if !report.variedAxes.isEmpty {
                // In a plot's legend and title, and as a column of the grid.
                #expect(html.contains(">\(escaped)=64</text>"))
                #expect(html.contains("<title>\(escaped) against lr</title>"))
                #expect(html.contains("<th scope=\"col\" class=\"axis-col\">\(escaped)</th>"))
            }
        }
    }

    @Test func thePageNeedsNothingElse() {
        let html = ExperimentPage(report: ExperimentFixtures.grid).render()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<style>") && html.contains("prefers-color-scheme: dark"))
        #expect(!html.contains("<script") && !html.contains("<link") && !html.contains("src=\"") && !html.contains("url("))
        #expect(html.hasSuffix("</html>\n"))
    }

    /// Writes the fixtures' pages where `RNNBOOK_SAMPLE_REPORTS` says, to look at them in a browser.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["RNNBOOK_SAMPLE_REPORTS"] != nil))
    func writeSamplePages() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["RNNBOOK_SAMPLE_REPORTS"]!)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try ExperimentPage(report: ExperimentFixtures.grid).render().write(to: dir.appendingPathComponent("grid.html"), atomically: true, encoding: .utf8)
        try ExperimentPage(report: ExperimentFixtures.single).render().write(to: dir.appendingPathComponent("single.html"), atomically: true, encoding: .utf8)
    }
}
