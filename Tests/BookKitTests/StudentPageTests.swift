@testable import BookKit
import BookProtocol
import Foundation
import Testing

/// Issue 28: a page shows a student what is theirs. Build plumbing carries the class that hides
/// it until "Build details" is on; a failure never does.
enum PlumbingRule {
    /// Classes of build plumbing: cache pills, block times, checkpoint notes, the run-time column.
    static let plumbingClasses: Set<String> = ["cached", "cell-time", "checkpoints", "runtime"]
    /// Classes of failures and their places: everyone sees them.
    static let failureClasses: Set<String> = ["fail", "failed", "failures", "failure-loc", "cell-error", "error-title"]

    /// Each opening tag's name, classes and offset in `html` (our own markup: quoted attributes).
    static func tags(_ html: String) -> [(name: String, classes: Set<String>, offset: Int)] {
        let regex = try! NSRegularExpression(pattern: #"<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>"#)
        let ns = html as NSString
        return regex.matches(in: html, range: NSRange(location: 0, length: ns.length)).map { m in
            let attributes = ns.substring(with: m.range(at: 2))
            var classes: Set<String> = []
            if let r = attributes.range(of: #"class="([^"]*)""#, options: .regularExpression) {
                classes = Set(attributes[r].dropFirst(7).dropLast().split(separator: " ").map(String.init))
            }
            return (ns.substring(with: m.range(at: 1)), classes, m.range.location)
        }
    }

    /// Plumbing shown to everyone, failures hidden with the plumbing, and code cells whose Markdown
    /// location is shown although they passed or hidden although they failed (or hold a failed check).
    static func problems(in html: String) -> [String] {
        var found: [String] = []
        for tag in tags(html) {
            let hidden = tag.classes.contains(Layout.plumbing)
            if !hidden, let kind = tag.classes.intersection(plumbingClasses).sorted().first {
                found.append("<\(tag.name) class=\"\(kind)\"> at offset \(tag.offset) is plumbing shown to everyone")
            }
            if hidden, let kind = tag.classes.intersection(failureClasses).sorted().first {
                found.append("<\(tag.name) class=\"\(kind)\"> at offset \(tag.offset) is a failure hidden as plumbing")
            }
        }
        var rest = html[...]
        while let start = rest.range(of: "<section class=\"cell") {
            let end = rest[start.upperBound...].range(of: "</section>")?.upperBound ?? rest.endIndex
            let cell = String(rest[start.lowerBound..<end])
            rest = rest[end...]
            guard let head = cell.range(of: "<div class=\"cell-head\">"),
                  let loc = tags(String(cell[head.upperBound...])).first(where: { $0.classes.contains("cell-loc") }) else { continue }
            let cellClasses = tags(cell).first?.classes ?? []
            let failed = cellClasses.contains("failed") || cell.contains("class=\"badge fail\"")
            let hidden = loc.classes.contains(Layout.plumbing)
            if failed && hidden { found.append("the failed cell \(cell.prefix(60)) hides its location") }
            if !failed && !hidden { found.append("the cell \(cell.prefix(60)) shows its location to everyone") }
        }
        return found
    }
}

/// The fixture book rendered with a checkpoint note in block 1, as a build writes it.
private func renderStudentFixture() throws -> (dir: URL, index: String, rnn: String, intro: String) {
    let root = try HTMLFixtures.makeBookRoot()
    let out = root.appendingPathComponent("output")
    var book = HTMLFixtures.book
    book[1].result?.checkpoints = [CheckpointNote(block: 0, name: "model", restored: true, computedAt: "2025-01-01T11:00:00Z", seconds: 42)]
    book[1].result?.versions = VersionInfo(rnnbook: RNNBookVersion.current, runner: ChapterRunner.generatorVersion,
                                           swiftc: "Swift 6.3.1", cmark: "0.30.2", openblas: "0.3.21")
    try SiteRenderer(bookTitle: "RNNs", bookRoot: root).render(chapters: book, to: out)
    func read(_ name: String) throws -> String { try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8) }
    return (out, try read("index.html"), try read("02-rnn.html"), try read("01-intro.html"))
}

private func count(_ needle: String, in haystack: String) -> Int { haystack.components(separatedBy: needle).count - 1 }

@Suite("Pages for students")
struct StudentPageTests {
    @Test func theRuleFindsPlumbingShownAndFailuresHidden() {
        let bad = """
        <p><span class="status cached">cached</span> <span class="status cached plumbing">cached</span></p>
        <section class="cell passed" id="block-1"><div class="cell-head"><span class="cell-loc">x.md:3</span></div></section>
        <section class="cell failed" id="block-2"><div class="cell-head"><span class="cell-loc plumbing">x.md:9</span></div>\
        <div class="cell-error plumbing"><p class="error-title">✗ failed</p></div></section>
        <section class="cell passed" id="block-3"><div class="cell-head"><span class="cell-loc plumbing">x.md:20</span>\
        <span class="badge fail" tabindex="0">✗</span></div></section>
        <section class="cell passed" id="block-4"><div class="cell-head"><span class="cell-loc plumbing">x.md:30</span>\
        <span class="cell-time plumbing">0.1 s</span></div></section>
        """
        let problems = PlumbingRule.problems(in: bad)
        #expect(problems.count == 5, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("<span class=\"cached\">") && $0.hasSuffix("plumbing shown to everyone") })
        #expect(problems.contains { $0.hasPrefix("<div class=\"cell-error\">") && $0.hasSuffix("a failure hidden as plumbing") })
        #expect(problems.contains { $0.contains("id=\"block-1\"") && $0.hasSuffix("shows its location to everyone") })
        #expect(problems.contains { $0.contains("id=\"block-2\"") && $0.hasSuffix("hides its location") })
        // A cell that passed as a whole but holds a failed check keeps its location in view too.
        #expect(problems.contains { $0.contains("id=\"block-3\"") && $0.hasSuffix("hides its location") })
    }

    @Test func plumbingWaitsBehindTheSwitchAndFailuresStayInView() throws {
        let site = try renderStudentFixture()
        defer { try? FileManager.default.removeItem(at: site.dir.deletingLastPathComponent()) }
        for (name, page) in [("index", site.index), ("02-rnn", site.rnn), ("01-intro", site.intro)] {
            #expect(PlumbingRule.problems(in: page).isEmpty, "\(name): \(PlumbingRule.problems(in: page))")
            #expect(count(Layout.buildToggle.markup, in: page) == 1, "\(name) has one Build details switch")
        }
        // What the rule looks at is there: the pills, times and notes, hidden...
        #expect(site.intro.contains("<span class=\"status cached plumbing\">cached</span>"))
        #expect(site.index.contains("<span class=\"status cached plumbing\">cached</span>"))
        #expect(site.rnn.contains("<span class=\"cell-time plumbing\">0.12 s</span>"))
        #expect(site.rnn.contains("<div class=\"checkpoints plumbing\"><p class=\"checkpoint restored\">⟲ <code>model</code> restored"))
        #expect(site.rnn.contains("<span class=\"cell-loc plumbing\">chapters/02-rnn.md:22</span>"))
        // ...and the failures in view: the crashed block's location, its error, the banner with
        // each failed check's file:line.
        #expect(site.rnn.contains("<div class=\"cell-head\"><span class=\"cell-loc\">chapters/02-rnn.md:55</span>"))
        #expect(site.rnn.contains("block 3 crashed: Fatal error: Index out of range"))
        #expect(site.rnn.contains("claim <code>grad_norm</code></a> <span class=\"failure-loc\">(chapters/02-rnn.md:32)</span>: 7.21 outside 5.0 ± 0.5"))
        // The footer: version, profile and seed for everyone; the machine behind the switch.
        let footer = try #require(site.rnn.range(of: "<footer class=\"run-info\">"))
        let details = try #require(site.rnn.range(of: "<details class=\"build-details\"><summary>Build details</summary>"))
        let shown = site.rnn[footer.upperBound..<details.lowerBound], behind = site.rnn[details.upperBound...]
        #expect(shown.contains("<dt>profile</dt><dd>quick</dd>") && shown.contains("<dt>seed</dt><dd>0</dd>"))
        #expect(!shown.contains("2-core AMD EPYC") && behind.contains("<dt>machine</dt><dd>2-core AMD EPYC</dd>"))
        #expect(behind.contains("Block times:"))
        // Hidden until switched on, and never printed.
        #expect(Stylesheet.css.contains("html:not(.show-build) .plumbing { display: none !important; }"))
        let print = try #require(Stylesheet.css.range(of: "@media print {"))
        #expect(Stylesheet.css[print.upperBound...].contains(".plumbing, .build-details, .build-toggle { display: none !important; }"))
    }

    @Test func pagesShowRnnbooksVersionNotTheRunnersCacheKey() throws {
        #expect(RNNBookVersion.current.range(of: #"^[0-9]+\.[0-9]+\.[0-9]+$"#, options: .regularExpression) != nil)
        #expect(ChapterRunner.generatorVersion != RNNBookVersion.current)
        let site = try renderStudentFixture()
        defer { try? FileManager.default.removeItem(at: site.dir.deletingLastPathComponent()) }
        let version = "<dt>version</dt><dd>rnnbook \(RNNBookVersion.current)</dd>"
        #expect(site.rnn.contains(version))
        #expect(site.index.contains(version))
        // The runner's key is plumbing: only behind the switch, under its own name.
        for page in [site.rnn, site.index] {
            let details = try #require(page.range(of: "<details class=\"build-details\">"))
            #expect(!page[..<details.lowerBound].contains("rnnbook-runner"))
        }
        #expect(site.rnn.contains("· runner \(ChapterRunner.generatorVersion)</dd>"))
        // A chapter run by an earlier rnnbook says so on the contents page, behind the switch.
        #expect(site.index.contains("<dt>runs made by</dt><dd>rnnbook 0.1.0; rnnbook \(RNNBookVersion.current)</dd>"))
    }

    @Test func theVersionFlagPrintsTheVersion() throws {
        let run = try Book().run("--version")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == RNNBookVersion.current)
    }

    @Test func onAPhoneTheSearchAndTheContentsComeBeforeTheText() throws {
        let site = try renderStudentFixture()
        defer { try? FileManager.default.removeItem(at: site.dir.deletingLastPathComponent()) }
        func offset(_ needle: String, in page: String) throws -> Int {
            let r = try #require(page.range(of: needle), "\(needle)")
            return page.distance(from: page.startIndex, to: r.lowerBound)
        }
        // The skip link is the body's first element.
        let body = try #require(site.rnn.range(of: "<body>\n"))
        #expect(site.rnn[body.upperBound...].hasPrefix("<a class=\"skip\" href=\"#main\">Skip to the text</a>"))
        let order = try ["<a class=\"skip\"", "id=\"search-input\"", "<details class=\"contents-fold\" id=\"contents-fold\"><summary>Contents</summary>",
                         "<main id=\"main\">", "<h1>Recurrent Neural Networks</h1>"].map { try offset($0, in: site.rnn) }
        #expect(order == order.sorted(), "\(order)")
        // The contents start folded (the script opens them beside the text on a wide screen).
        #expect(!site.rnn.contains("<details class=\"contents-fold\" id=\"contents-fold\" open"))
        // One column puts the sidebar's area first; a wide screen keeps it at the side.
        let narrow = try #require(Stylesheet.css.range(of: "@media \(Layout.narrowQuery) {"))
        #expect(Stylesheet.css[narrow.upperBound...].prefix(120).contains("grid-template-areas: \"side\" \"main\";"))
        #expect(Stylesheet.css.contains("grid-template-areas: \"side main\";"))
        #expect(Stylesheet.script.contains("window.matchMedia(\"\(Layout.narrowQuery)\")"))
        // The contents page: skip link first, the search box before the chapters.
        let indexBody = try #require(site.index.range(of: "<body>\n"))
        #expect(site.index[indexBody.upperBound...].hasPrefix("<a class=\"skip\" href=\"#contents\">"))
        #expect(try offset("id=\"search-input\"", in: site.index) < offset("<nav id=\"contents\"", in: site.index))
    }
}
