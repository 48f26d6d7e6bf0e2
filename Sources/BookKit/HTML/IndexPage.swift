import Foundation

/// The book's front page: title and a table of contents with each chapter's verdict.
enum IndexPage {
    static func render(title: String, chapters: [(chapter: Chapter, result: ChapterResult?)]) -> String {
        let results = chapters.compactMap(\.result)
        let passed = results.filter { $0.status == .passed }.count
        let totals = results.map(\.checkTotals)
        let ran = totals.reduce(0) { $0 + $1.ran }, passedChecks = totals.reduce(0) { $0 + $1.passed }
        let notChecked = totals.reduce(0) { $0 + $1.notChecked }
        let allRan = results.count == chapters.count
        var out = Layout.head(title: title)
        out += "<div class=\"page index-page\"><main id=\"main\"><header class=\"book-head\">"
        out += "<h1>\(HTMLText.escape(title))</h1>"
        // Say "every claim was checked" only when it is true of the pages the reader sees.
        var lede = "An executable book: every chapter's code was run to make these pages"
        if allRan && notChecked == 0 && passedChecks == ran && ran > 0 {
            lede += ", and every claim its maths and prose make was checked against the numbers the code produced."
        } else {
            lede += ", and its maths and prose were checked against the numbers the code produced: \(passedChecks) of \(ran) checks passed"
            if notChecked > 0 { lede += "; \(notChecked) claim\(notChecked == 1 ? " is" : "s are") shown but not checked in this build (each says why on its page)" }
            if !allRan { lede += "; \(chapters.count - results.count) chapter\(chapters.count - results.count == 1 ? " was" : "s were") not run" }
            lede += "."
        }
        out += "<p class=\"lede\">\(HTMLText.escape(lede))</p>"
        out += "<p class=\"summary\">\(passed) of \(chapters.count) chapters passed · \(passedChecks) of \(ran) checks passed"
        if notChecked > 0 { out += " · \(notChecked) not checked in this build" }
        let profiles = Set(results.map(\.profile))
        if !profiles.isEmpty { out += " · profile \(HTMLText.escape(profiles.sorted().joined(separator: ", ")))" }
        out += "</p></header>"
        out += "<nav aria-label=\"contents\"><table class=\"toc\"><thead><tr><th class=\"num\">#</th><th>Chapter</th><th>Status</th><th class=\"num\">Run time</th><th class=\"num\">Checks</th></tr></thead><tbody>"
        for (i, item) in chapters.enumerated() {
            let c = item.chapter
            out += "<tr><td class=\"num\">\(i + 1)</td><td><a href=\"\(HTMLText.escape(HTMLText.pageHref(c.slug)))\">\(HTMLText.escape(c.title))</a></td>"
            if let r = item.result {
                let totals = r.checkTotals
                let ok = totals.passed, bad = totals.ran - totals.passed
                out += "<td><span class=\"status \(r.status.rawValue)\">\(r.status.rawValue)</span>"
                if r.cached { out += " <span class=\"status cached\">cached</span>" }
                out += "</td><td class=\"num\">\(formatValue(r.seconds, spec: ".1f")) s</td>"
                out += "<td class=\"num\"><span class=\"count pass\" title=\"checks passed\">✓ \(ok)</span>"
                out += bad > 0 ? " <span class=\"count fail\" title=\"checks failed\">✗ \(bad)</span>" : ""
                out += totals.notChecked > 0 ? " <span class=\"count unchecked\" title=\"claims shown but not checked in this profile\">– \(totals.notChecked)</span>" : ""
                out += "</td>"
            } else {
                out += "<td><span class=\"status notrun\">not run</span></td><td class=\"num\">–</td><td class=\"num\">–</td>"
            }
            out += "</tr>"
        }
        out += "</tbody></table></nav>"
        if let r = results.first {
            out += "<footer class=\"run-info\"><p>Built with rnnbook \(HTMLText.escape(r.versions.rnnbook)) · \(HTMLText.escape(r.versions.swiftc)) · on \(HTMLText.escape(r.machine))</p></footer>"
        }
        out += "</main></div>" + Layout.foot
        return out
    }
}
