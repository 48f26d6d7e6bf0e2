import BookProtocol
import Foundation

/// The page of an experiment (`output/experiments/<name>/index.html`): what changed when the
/// reader changed the params, each point beside the book's own run.
///
/// One self-contained HTML5 document: the book's stylesheet and this page's rules inline, no
/// script, no assets, so the folder reads the same from `file://` anywhere. Every string of the
/// report (names, params, metrics, messages, the command) is text: it reaches the page only
/// through `HTML` interpolation.
public struct ExperimentPage: Sendable {
    public var report: ExperimentReport

    public init(report: ExperimentReport) { self.report = report }

    /// The complete document.
    public func render() -> String { document().markup }

    /// The grid table shows at most this many metric columns (the plotted ones always); every
    /// metric is in the table under "All metrics".
    static let gridMetricColumns = 6

    typealias Run = ExperimentReport.Run
    typealias Point = ExperimentReport.Point
    typealias Outcome = ExperimentReport.Outcome
    typealias Part = ExperimentReport.ChapterPart

    func document() -> HTML {
        var body = header()
        if report.chapters.isEmpty { body += "<p class=\"note\">This experiment touched no chapter.</p>" }
        for (c, part) in report.chapters.enumerated() { body += chapter(part, index: c) }
        body += "<footer class=\"experiment-foot\"><p>The book's pages are not changed by an experiment.</p></footer>"
        return Self.document(title: "Experiment \(report.name)", body: body)
    }

    /// A complete page around `body`: the book's stylesheet and this page's rules inline.
    static func document(title: String, body: HTML) -> HTML {
        Layout.opening(title: title) + """
        <style>
        \(HTML(trusted: Stylesheet.css))
        \(HTML(trusted: Self.css))
        </style>
        </head>
        <body>
        <main class="experiment">
        \(body)
        </main>
        </body>
        </html>

        """
    }

    /// `output/experiments/index.html`: every experiment of the folder, newest first, with its
    /// command and verdict, linking to its report.
    public static func index(_ reports: [ExperimentReport]) -> String {
        var body: HTML = "<header class=\"experiment-head\"><p class=\"book-title\">Experiments</p><h1>Experiments in this folder</h1></header>"
        if reports.isEmpty { body += "<p class=\"note\">No experiment yet: rnnbook build --set NAME=VALUE runs one.</p>" }
        body += "<ul class=\"experiment-list\">"
        for report in reports.sorted(by: { $0.createdAt > $1.createdAt }) {
            let link = report.name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? report.name
            body += "<li><a href=\"\(link)/index.html\">\(report.name)</a> \(ExperimentPage(report: report).verdict())"
            body += "<br><code class=\"command\">\(report.command)</code> <span class=\"muted\">\(report.createdAt)</span></li>"
        }
        body += "</ul><footer class=\"experiment-foot\"><p>The book's pages are not changed by an experiment.</p></footer>"
        return document(title: "Experiments", body: body).markup
    }

    // MARK: Heading

    func header() -> HTML {
        var out: HTML = "<header class=\"experiment-head\"><p class=\"book-title\">Experiment report</p>"
        out += "<h1>Experiment \(report.name)</h1>"
        out += verdict()
        out += "<dl class=\"meta\">"
        out += "<dt>Command</dt><dd><code class=\"command\">\(report.command)</code></dd>"
        out += "<dt>When</dt><dd><time datetime=\"\(report.createdAt)\">\(report.createdAt)</time></dd>"
        out += "<dt>Profile</dt><dd>\(report.profile)</dd>"
        out += "<dt>Executor</dt><dd>\(report.executor)</dd>"
        let fixed = report.axes.filter { !$0.varied }
        if !fixed.isEmpty {
            let items = fixed.map { a -> HTML in "<code>\(a.key) = \(a.values.first ?? "")</code>" }
            out += "<dt>Set</dt><dd>\(items.joined(separator: ", "))</dd>"
        }
        let varied = report.variedAxes
        if !varied.isEmpty {
            let items = varied.map { a -> HTML in
                "<code>\(a.key) = \(a.values.joined(separator: ", "))</code> <span class=\"muted\">(\(a.values.count) values)</span>"
            }
            let shape = varied.map { String($0.values.count) }.joined(separator: " × ")
            out += "<dt>Varied</dt><dd>\(items.joined(separator: "<br>"))<br><span class=\"muted\">a grid of \(shape) points</span></dd>"
        }
        return out + "</dl></header>"
    }

    /// Counts over every chapter's points, for the verdict line.
    struct Tally {
        var points = 0, failed = 0, lost = 0, holds = 0, differs = 0, notChecked = 0, withoutBook = 0
        init(_ report: ExperimentReport) {
            for part in report.chapters {
                if part.book == nil { withoutBook += 1 }
                for p in part.points {
                    points += 1
                    if p.state == .failed { failed += 1 }
                    if p.state == .lost { lost += 1 }
                    for o in p.outcomes {
                        switch o.verdict { case .holds: holds += 1; case .differs: differs += 1; case .notChecked: notChecked += 1 }
                    }
                }
            }
        }
    }

    /// One line up top: did every point complete, and how many claims differ from the text.
    func verdict() -> HTML {
        let t = Tally(report)
        var parts: [HTML] = []
        if t.points == 0 {
            parts.append("<span class=\"bad\">No point ran</span>")
        } else if t.failed + t.lost == 0 {
            parts.append("<span class=\"good\">\(Self.plural(t.points, "point")), \(t.points == 1 ? "completed" : "all completed")</span>")
        } else if t.points == 1 {
            parts.append(t.failed > 0 ? "<span class=\"bad\">The point FAILED</span>" : "<span class=\"bad\">The point was LOST (not run)</span>")
        } else {
            if t.failed > 0 { parts.append("<span class=\"bad\">\(t.failed) of \(t.points) points FAILED</span>") }
            if t.lost > 0 {
                parts.append(t.failed > 0 ? "<span class=\"bad\">\(t.lost) lost (not run)</span>"
                                          : "<span class=\"bad\">\(t.lost) of \(t.points) points LOST (not run)</span>")
            }
        }
        if t.differs > 0 {
            parts.append("<span class=\"warn\">\(Self.plural(t.differs, "claim")) \(t.differs == 1 ? "differs" : "differ") from the text</span>")
        } else if t.holds > 0 {
            parts.append("every claim checked holds")
        }
        if t.withoutBook > 0 {
            parts.append("no book run to compare with for \(Self.plural(t.withoutBook, "chapter"))")
        }
        let state = t.failed + t.lost > 0 || t.points == 0 ? "failed" : "completed"
        return "<p class=\"verdict \(state)\">\(parts.joined(separator: "; "))</p>"
    }

    // MARK: A chapter

    func chapter(_ part: Part, index c: Int) -> HTML {
        var out: HTML = "<section class=\"chapter-part\" id=\"chapter-\(c + 1)\">"
        out += "<h2>\(part.title)</h2><p class=\"chapter-path\"><code>\(part.path)</code></p>"
        out += "<p class=\"book-note\"><strong>The book's run:</strong> \(part.bookNote)</p>"
        if part.points.isEmpty {
            out += "<p class=\"note\">No point of the experiment ran this chapter.</p>"
        } else if report.variedAxes.isEmpty && part.points.count == 1 {
            out += pointBody(part, part.points[0], id: "c\(c)p0", level: 3)
        } else {
            out += grid(part, index: c)
        }
        return out + "</section>"
    }

    /// Everything about one point beside the book's run: failures, params, metrics, curves, outcomes.
    func pointBody(_ part: Part, _ point: Point, id: String, level: Int, showFailures: Bool = true) -> HTML {
        var out: HTML = ""
        if showFailures && point.state != .completed { out += failureBox(point, label: nil) }
        out += runLine(book: part.book, point: point)
        let h = HTML(trusted: "h\(level)")
        if let run = point.run {
            out += "<\(h)>Metrics</\(h)>" + metricsTable(book: part.book, run: run)
            if !run.curves.isEmpty { out += "<\(h)>Curves</\(h)>" + curves(book: part.book, run: run, id: id) }
        } else {
            out += "<p class=\"note\">No metrics: this point has no run.</p>"
        }
        if !point.outcomes.isEmpty { out += "<\(h)>Outcomes</\(h)>" + outcomesTable(point.outcomes) }
        return out
    }

    /// The params that differ from the book's run, and how long each run took.
    func runLine(book: Run?, point: Point) -> HTML {
        var out: HTML = ""
        if let book, let run = point.run {
            let keys = Set(book.params.keys).union(run.params.keys).sorted()
            let changed = keys.compactMap { k -> HTML? in
                let b = book.params[k]?.description, r = run.params[k]?.description
                guard b != r else { return nil }
                return "<code>\(k)</code> \(b ?? "—") → \(r ?? "—")"
            }
            if !changed.isEmpty { out += "<p class=\"params-diff\">Params changed from the book's run: \(changed.joined(separator: ", "))</p>" }
        }
        var runs: [HTML] = []
        switch (book, point.run) {
        case let (b?, r?) where b.profile == r.profile: runs.append("Profile <code>\(r.profile)</code>")
        case let (b?, r?): runs.append("Profiles: book <code>\(b.profile)</code>, this run <code>\(r.profile)</code>")
        case let (nil, r?): runs.append("Profile <code>\(r.profile)</code>")
        default: break
        }
        if let book { runs.append("book: \(Self.runTime(book))") }
        if let run = point.run { runs.append("this run: \(Self.runTime(run))") }
        if !runs.isEmpty { out += "<p class=\"run-times\">\(runs.joined(separator: " · "))</p>" }
        return out
    }

    static func runTime(_ run: Run) -> String {
        if run.cached { return "from the cache" }
        return run.seconds < 100 ? String(format: "%.1f s", run.seconds) : String(format: "%.0f s", run.seconds)
    }

    // MARK: Metrics

    /// metric | book | this run | difference | relative, for every metric in either run.
    func metricsTable(book: Run?, run: Run) -> HTML {
        let names = Set(run.metrics.keys).union(book.map { Array($0.metrics.keys) } ?? []).sorted()
        if names.isEmpty { return "<p class=\"note\">Neither run recorded a metric.</p>" }
        var rows: HTML = ""
        var changed = 0
        for name in names {
            let b = book?.metrics[name], r = run.metrics[name]
            let isChanged = book != nil && !Self.same(b, r)
            if isChanged { changed += 1 }
            let d = Self.difference(book: b, run: r)
            rows += "<tr\(HTML(trusted: isChanged ? " class=\"changed\"" : ""))><th scope=\"row\"><code>\(name)</code></th>"
            rows += Self.valueCell(b, missing: "not recorded in the book's run") + Self.valueCell(r, missing: "not recorded in this run")
            rows += "<td class=\"num diff\">\(d.absolute)</td><td class=\"num diff\">\(d.relative)</td></tr>"
        }
        let summary: HTML = book == nil
            ? "<p class=\"table-note\">\(Self.plural(names.count, "metric")); no book run to compare with.</p>"
            : "<p class=\"table-note\">\(changed) of \(Self.plural(names.count, "metric")) changed (highlighted).</p>"
        return summary + """
        <div class="table-wrap"><table class="data metrics"><thead><tr><th scope="col">metric</th><th scope="col" class="num">book</th>\
        <th scope="col" class="num">this run</th><th scope="col" class="num">difference</th><th scope="col" class="num">relative</th></tr></thead>
        <tbody>\(rows)</tbody></table></div>
        """
    }

    static func valueCell(_ v: Double?, missing: String) -> HTML {
        guard let v else { return "<td class=\"num missing\" title=\"\(missing)\">—</td>" }
        return "<td class=\"num\(HTML(trusted: v.isFinite ? "" : " nonfinite"))\">\(number(v))</td>"
    }

    /// Whether two recorded values are the same: both absent, both NaN, or equal.
    static func same(_ a: Double?, _ b: Double?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case let (x?, y?): x == y || (x.isNaN && y.isNaN)
        default: false
        }
    }

    /// This run minus the book's, and relative to the book's size; "—" when either is missing
    /// or not finite (a NaN has no difference), "same" when equal.
    static func difference(book: Double?, run: Double?) -> (absolute: String, relative: String) {
        guard let b = book, let r = run, b.isFinite, r.isFinite else { return ("—", "—") }
        if b == r { return ("same", "") }
        let d = r - b
        let absolute = d > 0 ? "+" + number(d) : number(d)
        guard b != 0 else { return (absolute, "—") }
        return (absolute, percent(d / abs(b) * 100))
    }

    /// A value as a reader wants it: integers without decimals, others to 5 significant digits;
    /// NaN and infinities by name, never as numbers.
    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        let a = abs(v)
        if v == v.rounded() && a < 1e15 { return a >= 1e4 ? formatValue(v, spec: ",.0f") : String(Int(v)) }
        if a >= 1e4 && a < 1e12 { return formatValue(v, spec: ",.1f") }
        if a >= 1e-4 && a < 1e4 { return String(format: "%.5g", v) }
        return String(format: "%.4e", v)
    }

    /// A relative difference in percent, its sign always shown.
    static func percent(_ p: Double) -> String {
        let sign = p > 0 ? "+" : "-"
        let a = abs(p)
        if a < 0.01 { return sign + "<0.01%" }
        return sign + (a >= 100 ? formatValue(a, spec: ",.0f") : String(format: "%.3g", a)) + "%"
    }

    // MARK: Curves

    /// One plot per plot of this run (matched to the book's by block and title), the book's
    /// series and this run's overlaid.
    func curves(book: Run?, run: Run, id: String) -> HTML {
        struct Key: Hashable { var block: Int; var plot: String }
        var order: [Key] = []
        for c in run.curves where !order.contains(Key(block: c.block, plot: c.plot)) { order.append(Key(block: c.block, plot: c.plot)) }
        var out: HTML = ""
        for (k, key) in order.enumerated() {
            let mine = run.curves.filter { $0.block == key.block && $0.plot == key.plot }
            let theirs = book?.curves.filter { $0.block == key.block && $0.plot == key.plot } ?? []
            var names: [String] = []
            for c in mine + theirs where !names.contains(c.series) { names.append(c.series) }
            var series: [PlotSeries] = []
            for name in names {
                if let c = theirs.first(where: { $0.series == name }) { series.append(PlotSeries(name: "\(name) (book)", x: c.x, y: c.y)) }
                if let c = mine.first(where: { $0.series == name }) { series.append(PlotSeries(name: "\(name) (this run)", x: c.x, y: c.y)) }
            }
            let first = mine[0]
            let plot = PlotOutput(kind: .lines, title: key.plot, xLabel: first.xLabel, yLabel: first.yLabel, logY: first.logY, series: series)
            let svg = Self.renderer("\(id)-curve\(k)").markup(for: plot)
            // Each series in both runs: the pairs sit at 2k (book) and 2k + 1 (this run), and the
            // style gives a pair one colour, the book's dashed.
            let paired = series.count == 2 * names.count
            var caption: HTML = "\(key.plot)"
            if theirs.isEmpty { caption += " <span class=\"muted\">(the book's run has no such plot)</span>" }
            else if paired { caption += " <span class=\"muted\">(dashed: the book's run; solid: this run)</span>" }
            out += "<figure class=\"plot-figure curve\(HTML(trusted: paired ? " paired" : ""))\">\(svg)<figcaption>\(caption)</figcaption></figure>"
        }
        return out
    }

    // MARK: Outcomes

    /// Where, what the text states, the book's value, this run's, and the verdict: differs first.
    func outcomesTable(_ outcomes: [Outcome]) -> HTML {
        func rank(_ v: Outcome.Verdict) -> Int { switch v { case .differs: 0; case .holds: 1; case .notChecked: 2 } }
        let sorted = outcomes.enumerated().sorted { (rank($0.element.verdict), $0.offset) < (rank($1.element.verdict), $1.offset) }.map(\.element)
        var rows: HTML = ""
        for o in sorted {
            rows += "<tr class=\"outcome \(o.verdict.rawValue)\"><td class=\"verdict-cell\">\(Self.badge(o.verdict))"
            if !o.message.isEmpty { rows += "<div class=\"check-msg\">\(o.message)</div>" }
            rows += "</td><td class=\"statement\">\(Self.textBlock(o.statement))<div class=\"muted small\">\(o.kind) · \(o.label)</div></td>"
            rows += "<td>\(o.book.map(Self.textBlock) ?? "—")</td><td>\(o.found.map(Self.textBlock) ?? "—")</td><td class=\"where\">"
            rows += o.location.map { "<code>\($0)</code>" as HTML } ?? "—"
            rows += "</td></tr>"
        }
        // The verdict first: on a phone it is what shows before the table scrolls.
        return """
        <div class="table-wrap"><table class="data outcomes"><thead><tr><th scope="col">verdict</th><th scope="col">what the text states</th>\
        <th scope="col">book</th><th scope="col">this run</th><th scope="col">where</th></tr></thead>
        <tbody>\(rows)</tbody></table></div>
        """
    }

    /// Short text as code, several lines (an expected output) as a block.
    static func textBlock(_ text: String) -> HTML {
        text.contains("\n") ? "<pre class=\"text\">\(text)</pre>" : "<code>\(text)</code>"
    }

    static func badge(_ verdict: Outcome.Verdict) -> HTML {
        switch verdict {
        case .holds:
            "<span class=\"badge pass\"><span class=\"badge-mark\" aria-hidden=\"true\">✓</span><span class=\"badge-label\">holds</span></span>"
        case .differs:
            "<span class=\"badge differs\"><span class=\"badge-mark\" aria-hidden=\"true\">≠</span><span class=\"badge-label\">differs from the text</span></span>"
        case .notChecked:
            "<span class=\"badge unchecked\"><span class=\"badge-mark\" aria-hidden=\"true\">–</span><span class=\"badge-label\">not checked in this profile</span></span>"
        }
    }

    // MARK: Failures

    /// The red box of a point that failed or was lost: its located failures and the executor's word.
    func failureBox(_ point: Point, label: String?, id: String? = nil) -> HTML {
        let what: HTML = point.state == .lost ? "was lost: it did not run" : "FAILED"
        var out: HTML = "<div class=\"failures point-failures\" role=\"alert\"\(id.map { " id=\"\($0)\"" as HTML } ?? "")><p><strong>"
        out += label.map { "Point \($0) \(what)" as HTML } ?? "This point \(what)"
        out += "</strong></p>"
        if let reason = point.reason { out += "<p class=\"reason\">Executor: <code>\(reason)</code></p>" }
        for f in point.failures { out += "<pre>\(f)</pre>" }
        if point.failures.isEmpty && point.reason == nil { out += "<p class=\"reason\">No message was recorded.</p>" }
        return out + "</div>"
    }
}

extension ExperimentPage {
    /// Plots drawn narrower than the book's (480 units, not 640), so their text stays readable
    /// two to a row and on a phone.
    static func renderer(_ idPrefix: String) -> PlotRenderer {
        var r = PlotRenderer(idPrefix: idPrefix)
        r.width = 480; r.height = 320
        return r
    }

    /// "1 point", "3 points".
    static func plural(_ n: Int, _ word: String) -> String { n == 1 ? "1 \(word)" : "\(n) \(word)s" }

    /// This page's rules, after the book's stylesheet (whose colours, tables, badges, failure
    /// boxes and plot classes it uses).
    static let css = #"""
/* Experiment report */
main.experiment { max-width: 68rem; padding: 2rem 2rem 3rem; }
.experiment h1 { overflow-wrap: anywhere; margin-bottom: .8rem; }
.experiment h2 { overflow-wrap: anywhere; }
.experiment h4 { font-size: 1rem; margin: 1.4rem 0 .5rem; }
.muted { color: var(--muted); } .small { font-size: .78rem; }
.good { color: var(--pass); } .warn { color: var(--warn); } .bad { color: var(--fail); font-weight: 700; }
.verdict { font: 600 1.02rem/1.45 var(--sans); padding: .6rem .9rem; border-radius: 8px; margin: 0 0 1rem;
           border: 1px solid var(--rule); background: var(--side-bg); }
.verdict.failed { border-color: color-mix(in srgb, var(--fail) 55%, transparent); background: var(--fail-bg); }
.meta { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .25rem 1rem; margin: 0 0 1.5rem; font: .9rem/1.5 var(--sans); }
.meta dt { color: var(--muted); font-weight: 600; } .meta dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.meta code.command { white-space: pre-wrap; overflow-wrap: anywhere; }
.chapter-path { margin: -.4rem 0 .6rem; font: .85rem var(--sans); color: var(--muted); overflow-wrap: anywhere; }
.book-note, .params-diff, .run-times, .note, .table-note { font: .9rem/1.5 var(--sans); overflow-wrap: anywhere; }
.run-times, .table-note, .note { color: var(--muted); }
.experiment-list { list-style: none; padding: 0; }
.experiment-list li { margin: 0 0 1rem; font: .95rem/1.5 var(--sans); overflow-wrap: anywhere; }
.experiment-list a { font-weight: 600; margin-right: .5rem; }
.table-note { margin: 0 0 .3rem; }
.experiment .table-wrap { margin: 0 0 1.2rem; max-width: 100%; }
.experiment table.data { min-width: 100%; }
.experiment table.data th, .experiment table.data td { vertical-align: top; }
.experiment table.data td.num, .experiment table.data th.num { white-space: nowrap; }
.experiment table.data th code, .experiment table.data td code { white-space: nowrap; }
.experiment td.statement code, .experiment td code { white-space: pre-wrap; overflow-wrap: anywhere; }
table.data tr.changed td, table.data tr.changed th { background: color-mix(in srgb, var(--accent) 9%, transparent); }
table.data tr:not(.changed) td.diff { color: var(--muted); }
td.missing, td.nonfinite { color: var(--muted); }
td.nonfinite { font-style: italic; }
.delta { display: block; font-size: .74rem; color: var(--muted); }
table.grid-table tr.book-row th, table.grid-table tr.book-row td { background: var(--side-bg); font-style: italic; border-bottom: 2px solid var(--rule); }
table.grid-table tr.failed td, table.grid-table tr.lost td { color: var(--muted); }
table.grid-table td.claims { white-space: nowrap; font-size: .8rem; }
table.grid-table td.state { white-space: nowrap; }
table.outcomes td.where code { white-space: nowrap; font-size: .78rem; }
/* The values of both runs wrap, so that "this run" is in view beside "book" on a laptop. */
.experiment table.outcomes td:not(.where) code { white-space: pre-wrap; overflow-wrap: break-word; }
table.outcomes .verdict-cell { max-width: 18rem; }
table.outcomes pre.text { font-size: .78rem; white-space: pre-wrap; margin: 0; }
.verdict-cell { min-width: 9rem; }
.check-msg { font-size: .76rem; color: var(--muted); margin-top: .2rem; overflow-wrap: anywhere; }
.experiment .badge { cursor: default; margin-left: 0; }
.badge.differs { color: var(--warn); background: color-mix(in srgb, var(--warn) 16%, transparent);
                 outline: 1px solid color-mix(in srgb, var(--warn) 40%, transparent); }
.point-failures p.reason { color: var(--fg); }
.point-failures pre { font-size: .8rem; overflow-wrap: anywhere; margin: .3rem 0; }
.experiment figure.plot-figure { margin: .8rem 0 1.6rem; }
.experiment svg.plot { max-width: 36rem; }
.plot-row { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 26rem), 1fr)); gap: 0 1.5rem; }
/* A curve plot whose series come in pairs (book's, this run's): one colour a pair, the book's dashed. */
.paired svg.plot .s0, .paired svg.plot .s1 { stroke: var(--s0); fill: var(--s0); }
.paired svg.plot .s2, .paired svg.plot .s3 { stroke: var(--s1); fill: var(--s1); }
.paired svg.plot .s4, .paired svg.plot .s5 { stroke: var(--s2); fill: var(--s2); }
.paired svg.plot .s6, .paired svg.plot .s7 { stroke: var(--s3); fill: var(--s3); }
.paired svg.plot g.series:is(.s0, .s2, .s4, .s6) path, .paired svg.plot .legend line:is(.s0, .s2, .s4, .s6) { stroke-dasharray: 6 4; }
.paired svg.plot g.series:is(.s0, .s2, .s4, .s6) circle { display: none; }
/* The book's run in a grid plot is its first series (the one right after the axes): a grey dashed
   level without markers, and so is its legend swatch; as a bar, grey. */
.grid-plot.has-book svg.plot g.axis + g.series { stroke: var(--muted); fill: var(--muted); }
.grid-plot.has-book svg.plot-lines g.axis + g.series path { stroke-dasharray: 7 5; }
.grid-plot.has-book svg.plot-lines g.axis + g.series circle { display: none; }
.grid-plot.has-book svg.plot .legend > g:first-child line, .grid-plot.has-book svg.plot .legend > g:first-child rect { stroke: var(--muted); fill: var(--muted); }
.grid-plot.has-book svg.plot .legend > g:first-child line { stroke-dasharray: 5 3; }
details { margin: .5rem 0; border: 1px solid var(--rule); border-radius: 8px; padding: .4rem .8rem; }
details > summary { cursor: pointer; font: 600 .9rem/1.5 var(--sans); overflow-wrap: anywhere; }
details[open] > summary { margin-bottom: .5rem; }
.point-no { display: inline-block; min-width: 1.6em; color: var(--muted); }
.experiment-foot { margin-top: 3rem; padding-top: 1rem; border-top: 1px solid var(--rule); font: .85rem var(--sans); color: var(--muted); }
/* The point's number stays in view while a wide grid scrolls sideways. */
.experiment table.grid-table { border-collapse: separate; border-spacing: 0; }
table.grid-table tr > :first-child { position: sticky; left: 0; background: var(--bg); z-index: 1; }
table.grid-table tr.book-row > :first-child { background: var(--side-bg); }
@media (max-width: 860px) {
  main.experiment { padding: 1.2rem .9rem 2rem; }
  .experiment table.data th, .experiment table.data td { padding: .3rem .45rem; }
  .experiment h1 { font-size: 1.6rem; }
  .meta { grid-template-columns: 1fr; gap: 0; } .meta dd { margin-bottom: .4rem; }
}
"""#
}
