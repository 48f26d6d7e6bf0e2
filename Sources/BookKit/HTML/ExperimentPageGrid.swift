import BookProtocol
import Foundation

/// A grid experiment's part of the page: one table with a row per point (and the book's run
/// first), each plotted metric against each varied param, and each point in full under a
/// `<details>`.
extension ExperimentPage {
    func grid(_ part: Part, index c: Int) -> HTML {
        let varied = report.variedAxes
        let runs = part.points.filter { $0.state == .completed }.compactMap(\.run)
        var every = Set(part.book?.metrics.keys.map { $0 } ?? [])
        for p in part.points { every.formUnion(p.run?.metrics.keys.map { $0 } ?? []) }
        let all = every.sorted()
        // The plotted metrics, then the ones that differ from point to point, up to the cap.
        var shown = report.plotted.filter { every.contains($0) }
        let differing = all.filter { m in !shown.contains(m) && runs.contains { !Self.same($0.metrics[m], runs[0].metrics[m]) } }
        shown += differing.prefix(max(0, Self.gridMetricColumns - shown.count))

        var out: HTML = ""
        // The params every point sets alike, beside the book's values.
        let fixed = report.axes.filter { !$0.varied }.map { a -> HTML in
            let book = part.book?.params[a.key].map { " (the book's run: \($0.description))" as HTML } ?? ""
            return "<code>\(a.key) = \(a.values.first ?? "")</code>\(book)"
        }
        if !fixed.isEmpty { out += "<p class=\"params-diff\">Every point sets \(fixed.joined(separator: ", ")).</p>" }
        let named = varied.isEmpty ? report.axes : varied
        out += "<h3>Points</h3>"
        out += gridTable(part, index: c, varied: varied, metrics: shown)
        if all.count > shown.count {
            out += "<details class=\"all-metrics\"><summary>All \(all.count) metrics</summary>"
            out += gridTable(part, index: c, varied: varied, metrics: all) + "</details>"
        }
        let failed = part.points.filter { $0.state != .completed }
        if !failed.isEmpty {
            out += "<h3>Failures</h3>"
            for (i, p) in part.points.enumerated() where p.state != .completed {
                out += failureBox(p, label: "\(i + 1) (\(p.label(axes: named)))", id: "c\(c)-failure\(i + 1)")
            }
        }
        if report.plotted.isEmpty {
            out += "<p class=\"note\">No metric was chosen to plot against the params.</p>"
        } else if !varied.isEmpty {
            out += "<h3>Plots</h3>"
            // A metric's plots side by side on a wide screen.
            for (m, metric) in report.plotted.enumerated() {
                out += "<div class=\"plot-row\">"
                for (a, axis) in varied.enumerated() {
                    out += gridPlot(part, metric: metric, axis: axis, id: "c\(c)-m\(m)-a\(a)")
                }
                out += "</div>"
            }
        }
        out += "<h3>Each point beside the book's run</h3>"
        for (i, p) in part.points.enumerated() {
            let summary: HTML = "<span class=\"point-no\">\(i + 1)</span> \(p.label(axes: named)) · "
                + stateText(p) + (p.outcomes.isEmpty ? "" : " · " + claimCounts(p.outcomes))
            out += "<details class=\"point\" id=\"c\(c)-point\(i + 1)\"><summary>\(summary)</summary>"
            if p.state != .completed {
                out += "<p class=\"note\"><a href=\"#c\(c)-failure\(i + 1)\">What failed</a> is shown under Failures.</p>"
            }
            out += pointBody(part, p, id: "c\(c)p\(i)", level: 4, showFailures: false) + "</details>"
        }
        return out
    }

    /// A row per point after the book's: the varied params, the state, the metrics (with the
    /// change from the book's run), the outcome verdicts counted.
    func gridTable(_ part: Part, index c: Int, varied: [ExperimentReport.Axis], metrics: [String]) -> HTML {
        var head: HTML = "<tr><th scope=\"col\">#</th>"
        for a in varied { head += "<th scope=\"col\" class=\"axis-col\">\(a.key)</th>" }
        head += "<th scope=\"col\">state</th>"
        for m in metrics { head += "<th scope=\"col\" class=\"num\">\(m)</th>" }
        head += "<th scope=\"col\">claims</th></tr>"

        let book = part.book
        var rows: HTML = "<tr class=\"book-row\"><th scope=\"row\">book</th>"
        for a in varied { rows += "<td class=\"axis-col\">\(book?.params[a.key]?.description ?? "—")</td>" }
        rows += "<td class=\"state\">\(book.map { "profile \($0.profile)" } ?? "no run")</td>"
        for m in metrics { rows += Self.valueCell(book?.metrics[m], missing: "not recorded in the book's run") }
        rows += "<td class=\"muted\">—</td></tr>"

        for (i, p) in part.points.enumerated() {
            rows += "<tr class=\"point \(p.state.rawValue)\"><th scope=\"row\">\(i + 1)</th>"
            for a in varied { rows += "<td class=\"axis-col\">\(p.values[a.key] ?? "—")</td>" }
            let state = p.state == .completed ? stateText(p) : "<a href=\"#c\(c)-failure\(i + 1)\">\(stateText(p))</a>"
            rows += "<td class=\"state\">\(state)</td>"
            for m in metrics {
                guard p.state == .completed, let run = p.run else { rows += "<td class=\"num missing\">—</td>"; continue }
                guard let v = run.metrics[m] else { rows += Self.valueCell(nil, missing: "not recorded in this run"); continue }
                var cell: HTML = "<td class=\"num\(HTML(trusted: v.isFinite ? "" : " nonfinite"))\">\(Self.number(v))"
                if let b = book?.metrics[m], b.isFinite, v.isFinite, b != v, b != 0 {
                    cell += "<span class=\"delta\" title=\"change from the book's run\">\(Self.percent((v - b) / abs(b) * 100))</span>"
                }
                rows += cell + "</td>"
            }
            rows += "<td class=\"claims\">\(p.outcomes.isEmpty ? "—" : claimCounts(p.outcomes, prefix: false))</td></tr>"
        }
        return """
        <div class="table-wrap"><table class="data grid-table"><thead>\(head)</thead>
        <tbody>\(rows)</tbody></table></div>
        """
    }

    func stateText(_ p: Point) -> HTML {
        switch p.state {
        case .completed: p.run?.cached == true ? "completed <span class=\"muted\">(cached)</span>" : "completed"
        case .failed: "<span class=\"status failed\">failed</span>"
        case .lost: "<span class=\"status failed\">lost</span>"
        }
    }

    /// "claims: 3 hold, 1 differs, 2 not checked" (the table's column is headed "claims").
    func claimCounts(_ outcomes: [Outcome], prefix: Bool = true) -> HTML {
        let holds = outcomes.filter { $0.verdict == .holds }.count
        let differs = outcomes.filter { $0.verdict == .differs }.count
        let unchecked = outcomes.filter { $0.verdict == .notChecked }.count
        var parts: [HTML] = []
        if holds > 0 { parts.append("<span class=\"good\">\(holds) \(holds == 1 ? "holds" : "hold")</span>") }
        if differs > 0 { parts.append("<span class=\"warn\">\(differs) \(differs == 1 ? "differs" : "differ")</span>") }
        if unchecked > 0 { parts.append("<span class=\"muted\">\(unchecked) not checked</span>") }
        return (prefix ? "claims: " : "") + parts.joined(separator: ", ")
    }

    // MARK: Plots against a param

    /// `metric` against the values of `axis`: a line for each combination of the other varied
    /// params' values, the book's run as a dashed horizontal line at its value (first series,
    /// styled by `.grid-plot.has-book`). A param whose values are not all numbers gets bars, a
    /// bar per value, the book's run as the first bar.
    func gridPlot(_ part: Part, metric: String, axis: ExperimentReport.Axis, id: String) -> HTML {
        let others = report.variedAxes.filter { $0.key != axis.key }
        var combos: [[String: String]] = [[:]]
        for o in others { combos = combos.flatMap { c in o.values.map { v in c.merging([o.key: v]) { $1 } } } }
        func label(_ combo: [String: String]) -> String {
            others.map { "\($0.key)=\(combo[$0.key] ?? "")" }.joined(separator: ", ")
        }
        func value(_ axisValue: String, _ combo: [String: String]) -> Double {
            let p = part.points.first { p in p.values[axis.key] == axisValue && combo.allSatisfy { p.values[$0.key] == $0.value } }
            guard let p, p.state == .completed, let v = p.run?.metrics[metric] else { return .nan }
            return v
        }
        let values = combos.map { combo in axis.values.map { value($0, combo) } }
        guard values.joined().contains(where: \.isFinite) else {
            return "<p class=\"note\">No point recorded a finite <code>\(metric)</code>: no plot against <code>\(axis.key)</code>.</p>"
        }
        let bookValue = part.book?.metrics[metric].flatMap { $0.isFinite ? $0 : nil }
        let bookParams = report.variedAxes.compactMap { a in part.book?.params[a.key].map { "\(a.key)=\($0.description)" } }
        let bookName = bookParams.isEmpty ? "book" : "book (\(bookParams.joined(separator: ", ")))"
        let title = "\(metric) against \(axis.key)"
        let numbers = axis.values.map { Double($0) }
        var series: [PlotSeries] = []
        let plot: PlotOutput
        var caption: HTML
        if numbers.allSatisfy({ $0?.isFinite == true }) {
            let xs = numbers.map { $0! }
            let order = xs.indices.sorted { xs[$0] < xs[$1] }
            if let bookValue, let lo = xs.min(), let hi = xs.max() {
                series.append(PlotSeries(name: bookName, x: [lo, hi], y: [bookValue, bookValue]))
            }
            for (k, combo) in combos.enumerated() {
                series.append(PlotSeries(name: others.isEmpty ? "this experiment" : label(combo),
                                         x: order.map { xs[$0] }, y: order.map { values[k][$0] }))
            }
            plot = PlotOutput(kind: .lines, title: title, xLabel: axis.key, yLabel: metric, series: series)
            caption = "<strong>\(metric)</strong> against <strong>\(axis.key)</strong>"
            if let bookValue { caption += "; dashed: the book's run, \(Self.number(bookValue))" }
            caption += ". A failed point leaves a gap."
        } else {
            var categories = axis.values
            if let bookValue {
                categories.insert("book", at: 0)
                series.append(PlotSeries(name: bookName, x: [], y: [bookValue] + axis.values.map { _ in .nan }))
            }
            for (k, combo) in combos.enumerated() {
                series.append(PlotSeries(name: others.isEmpty ? metric : label(combo),
                                         x: [], y: (bookValue == nil ? [] : [.nan]) + values[k]))
            }
            plot = PlotOutput(kind: .bars, title: title, xLabel: axis.key, yLabel: metric, series: series, categories: categories)
            caption = "<strong>\(metric)</strong> for each value of <strong>\(axis.key)</strong> (not a number: bars)"
            if bookValue != nil { caption += "; the first bar is the book's run" }
            caption += "."
        }
        let svg = Self.renderer(id).markup(for: plot)
        let cls: HTML = bookValue == nil ? "plot-figure grid-plot" : "plot-figure grid-plot has-book"
        return "<figure class=\"\(cls)\" id=\"\(id)\">\(svg)<figcaption>\(caption)</figcaption></figure>"
    }
}
