import Foundation

/// The book's front page: title and a table of contents with each chapter's verdict.
enum IndexPage {
    static func render(title: String, chapters: [(chapter: Chapter, result: ChapterResult?)]) -> String {
        let results = chapters.compactMap(\.result)
        let passed = results.filter { $0.status == .passed }.count
        let checks = results.flatMap(\.checks)
        var out = Layout.head(title: title)
        out += "<div class=\"page index-page\"><main id=\"main\"><header class=\"book-head\">"
        out += "<h1>\(HTMLText.escape(title))</h1>"
        out += "<p class=\"lede\">An executable book: every chapter's code was run to make these pages, and every claim its maths makes was checked against the numbers the code produced.</p>"
        out += "<p class=\"summary\">\(passed) of \(chapters.count) chapters passed · \(checks.filter(\.passed).count) of \(checks.count) checks passed"
        let profiles = Set(results.map(\.profile))
        if !profiles.isEmpty { out += " · profile \(HTMLText.escape(profiles.sorted().joined(separator: ", ")))" }
        out += "</p></header>"
        out += "<nav aria-label=\"contents\"><table class=\"toc\"><thead><tr><th class=\"num\">#</th><th>Chapter</th><th>Status</th><th class=\"num\">Run time</th><th class=\"num\">Checks</th></tr></thead><tbody>"
        for (i, item) in chapters.enumerated() {
            let c = item.chapter
            out += "<tr><td class=\"num\">\(i + 1)</td><td><a href=\"\(HTMLText.escape(c.slug)).html\">\(HTMLText.escape(c.title))</a></td>"
            if let r = item.result {
                let ok = r.checks.filter(\.passed).count, bad = r.checks.count - ok
                out += "<td><span class=\"status \(r.status.rawValue)\">\(r.status.rawValue)</span>"
                if r.cached { out += " <span class=\"status cached\">cached</span>" }
                out += "</td><td class=\"num\">\(formatValue(r.seconds, spec: ".1f")) s</td>"
                out += "<td class=\"num\"><span class=\"count pass\" title=\"checks passed\">✓ \(ok)</span>"
                out += bad > 0 ? " <span class=\"count fail\" title=\"checks failed\">✗ \(bad)</span>" : ""
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
