@testable import BookKit
import BookProtocol
import Foundation
import Testing

/// Renders the fixture book into a fresh directory and returns it with the pages' text.
private func renderFixtureBook() throws -> (dir: URL, index: String, rnn: String, intro: String) {
    let root = try HTMLFixtures.makeBookRoot()
    let out = root.appendingPathComponent("output")
    try SiteRenderer(bookTitle: "RNNs <executed>", bookRoot: root).render(chapters: HTMLFixtures.book, to: out)
    func read(_ name: String) throws -> String { try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8) }
    return (out, try read("index.html"), try read("02-rnn.html"), try read("01-intro.html"))
}

private func count(_ needle: String, in haystack: String) -> Int { haystack.components(separatedBy: needle).count - 1 }

@Suite("HTML pages")
struct HTMLPageTests {
    @Test func programOutputIsEscaped() throws {
        let site = try renderFixtureBook()
        #expect(site.rnn.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; done"))
        #expect(!site.rnn.contains("<script>alert"))
        // Only the four asset scripts are real script elements (`serve`'s policy runs no inline script).
        #expect(count("<script", in: site.rnn) == 4)
        // Comments in code are escaped too.
        #expect(site.rnn.contains("// &lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(site.rnn.contains("<pre class=\"stderr\" title=\"standard error\">warning: slow path</pre>"))
        // Captions and titles from code and front matter.
        #expect(site.rnn.contains("Parameters per time step &lt;i&gt;"))
        #expect(site.index.contains("<h1>RNNs &lt;executed&gt;</h1>"))
        #expect(site.rnn.contains("An RNN with a hidden state &lt;b&gt;"))
        #expect(site.rnn.contains("free-standing &lt;check&gt;"))
    }

    @Test func rawSVGFromCodeCannotRunScript() throws {
        let site = try renderFixtureBook()
        #expect(!site.rnn.contains("onclick"))
        #expect(!site.rnn.contains("alert(2)"))
        #expect(site.rnn.contains("<figure class=\"diagram\"><img src=\"data:image/svg+xml;base64,"))
        // The namespace is added so the image renders.
        #expect(ChapterPage.standaloneSVG("<svg viewBox='0 0 1 1'/>").hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
    }

    @Test func mathsReachesThePageUntouched() throws {
        let site = try renderFixtureBook()
        #expect(site.rnn.contains("<span class=\"math inline\">\\(W_{xh}\\)</span>"))
        #expect(site.rnn.contains("\\[\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh} + \\mathbf{b}_h)\\]"))
        #expect(site.rnn.contains("\\(a &lt; b \\land c &gt; d\\)"))
        #expect(!site.rnn.contains("<em>xh"))
        // Inside an attribute a placeholder becomes plain text, never markup.
        #expect(site.rnn.contains("alt=\"unrolled W_{xh}\""))
        #expect(!site.rnn.contains("\u{E000}") && !site.rnn.contains("\u{E001}"))
    }

    @Test func equationsAreLabelledNumberedAndReferenced() throws {
        let site = try renderFixtureBook()
        #expect(site.rnn.contains("<div class=\"math display\" id=\"eq-rnn-state\">"))
        // Numbered by chapter (the second chapter's first equation is 2.1), the same from every page.
        #expect(site.rnn.contains("<span class=\"eqno\">(2.1)</span>"))
        #expect(site.rnn.contains("<span class=\"eqno\">(2.2)</span>"))
        #expect(site.rnn.contains("<a class=\"eqref\" href=\"#eq-rnn-state\">(2.1)</a>"))
        #expect(site.rnn.contains("<a class=\"eqref\" href=\"#eq-output\">(2.2)</a>"))
        #expect(site.intro.contains("<a class=\"eqref\" href=\"02-rnn.html#eq-rnn-state\">(2.1)</a>"))
        #expect(site.rnn.contains("class=\"eqref unresolved\" title=\"no equation, section or figure labelled eq-missing\">@eq-missing</span>"))
        // The unlabelled equation has no number.
        #expect(count("class=\"eqno\"", in: site.rnn) == 2)
    }

    @Test func valuesAndClaimsShowMeasurementsAndVerdicts() throws {
        let site = try renderFixtureBook()
        #expect(site.rnn.contains("<span class=\"value\" title=\"ppl_sequential\">1.03</span>"))
        #expect(site.rnn.contains("<span class=\"value\" title=\"tokens\">170,580</span>"))
        #expect(site.rnn.contains("<span class=\"claim\"><span class=\"value\">1.03</span><span class=\"badge pass\" tabindex=\"0\" id=\"check-3\""))
        #expect(site.rnn.contains("<span class=\"claim\"><span class=\"value\">7.21</span><span class=\"badge fail\" tabindex=\"0\" id=\"check-4\""))
        #expect(site.rnn.contains("<b>claim</b> grad_norm ≈ 5.00 ± 0.5"))
        // A claim for another profile shows what it claims, unchecked, and does not take the other claim's verdict.
        #expect(site.rnn.contains("<span class=\"claim other-profile\"><span class=\"value\">≈ 1.00 ± 0.1 under default</span><span class=\"badge unchecked\""))
    }

    @Test func everyCheckIsShownOnceNextToWhatItConcerns() throws {
        let site = try renderFixtureBook()
        for i in 1...7 { #expect(count("id=\"check-\(i)\"", in: site.rnn) == 1, "check-\(i)") }
        // Equation checks sit in their equation's side column.
        let eq1 = try #require(site.rnn.range(of: "id=\"eq-rnn-state\""))
        let eq2 = try #require(site.rnn.range(of: "id=\"eq-output\""))
        let badge1 = try #require(site.rnn.range(of: "id=\"check-1\""))
        let badge2 = try #require(site.rnn.range(of: "id=\"check-2\""))
        #expect(eq1.upperBound < badge1.lowerBound && badge1.lowerBound < eq2.lowerBound)
        #expect(eq2.upperBound < badge2.lowerBound)
        #expect(site.rnn[badge2.lowerBound...].prefix(4000).contains("max |Δ|</b> 0.31"))
        // Block checks in their block's head.
        let block1 = try #require(site.rnn.range(of: "id=\"block-1\""))
        let block2 = try #require(site.rnn.range(of: "id=\"block-2\""))
        let output = try #require(site.rnn.range(of: "id=\"check-6\""))
        let gradient = try #require(site.rnn.range(of: "id=\"check-5\""))
        #expect(block1.upperBound < output.lowerBound && output.lowerBound < block2.lowerBound)
        #expect(block2.upperBound < gradient.lowerBound)
        // Checks with no place land in the list at the end; the failures banner links to failures.
        #expect(site.rnn.contains("<h2 id=\"other-checks\">Other checks</h2>"))
        #expect(site.rnn.contains("<a href=\"#check-2\">"))
        #expect(site.rnn.contains("<a href=\"#check-4\">"))
    }

    @Test func failedBlockShowsItsErrorInPlace() throws {
        let site = try renderFixtureBook()
        let block3 = try #require(site.rnn.range(of: "<section class=\"cell failed\" id=\"block-3\">"))
        let rest = site.rnn[block3.upperBound...]
        let end = try #require(rest.range(of: "</section>"))
        let cell = rest[..<end.lowerBound]
        #expect(cell.contains("chapters/02-rnn.md:55"))
        #expect(cell.contains("block 3 crashed: Fatal error: Index out of range"))
        #expect(site.rnn.contains("<section class=\"cell notRun\" id=\"block-4\">"))
    }

    @Test func compileErrorLandsInTheBlockItPointsAt() throws {
        var result = HTMLFixtures.rnnResult
        result.findings += [
            Finding(.compile, "program", at: SourceLocation(file: "chapters/02-rnn.md", line: 56, column: 3),
                    message: "error: cannot find 'W_hq' in scope"),
            Finding(.program, "program", at: nil, message: "linker: something else"),
        ]
        let outline = BookOutline(title: "B", chapters: [("02-rnn", "R", "failed")], targets: CrossReferenceTargets([]))
        var page = ChapterPage(chapter: HTMLFixtures.rnnChapter, result: result, outline: outline, position: 0)
        let html = page.render()
        let block3 = try #require(html.range(of: "id=\"block-3\""))
        let block4 = try #require(html.range(of: "id=\"block-4\""))
        let compile = try #require(html.range(of: "cannot find &#39;W_hq&#39; in scope"))
        #expect(block3.upperBound < compile.lowerBound && compile.upperBound < block4.lowerBound)
        let banner = try #require(html.range(of: "id=\"failures\""))
        #expect(html[banner.upperBound...].prefix(3000).contains("linker: something else"))
    }

    @Test func indexListsChaptersWithStatusTimeAndChecks() throws {
        let site = try renderFixtureBook()
        #expect(site.index.contains("<a href=\"01-intro.html\">Sequences</a>"))
        #expect(site.index.contains("<a href=\"02-rnn.html\">Recurrent Neural Networks</a>"))
        #expect(site.index.contains("<span class=\"status failed\">failed</span>"))
        #expect(site.index.contains("<span class=\"status cached plumbing\">cached</span>"))
        #expect(site.index.contains("5.3 s"))
        #expect(site.index.contains("✓ 5</span> <span class=\"count fail\" title=\"checks failed\">✗ 2</span>"))
    }

    @Test func footerNavigationAndSidebar() throws {
        let site = try renderFixtureBook()
        #expect(site.rnn.contains("<dt>profile</dt><dd>quick</dd>"))
        #expect(site.rnn.contains("<dt>seed</dt><dd>0</dd>"))
        #expect(site.rnn.contains("<tr><th>num_hiddens</th><td class=\"num\">64</td></tr>"))
        #expect(site.rnn.contains("OpenBLAS 0.3.21"))
        #expect(site.rnn.contains("rel=\"prev\" href=\"01-intro.html\""))
        #expect(site.intro.contains("rel=\"next\" href=\"02-rnn.html\""))
        #expect(site.rnn.contains("<li class=\"h2\"><a href=\"#hidden-states-隐状态\">Hidden states 隐状态</a></li>"))
        #expect(site.rnn.contains("<h2 id=\"training\">Training<a class=\"anchor\""))
    }

    @Test func assetsAndFiguresAreCopied() throws {
        let site = try renderFixtureBook()
        let fm = FileManager.default
        for file in ["assets/katex/katex.min.js", "assets/katex/katex.min.css", "assets/highlight/highlight.min.js",
                     "assets/book.css", "assets/book.js", "figures/rnn.svg", "figures/unrolled.svg"] {
            #expect(fm.fileExists(atPath: site.dir.appendingPathComponent(file).path), "\(file)")
        }
        let fonts = try fm.contentsOfDirectory(atPath: site.dir.appendingPathComponent("assets/katex/fonts").path)
        #expect(fonts.contains("KaTeX_Main-Regular.woff2"))
        // Real files, not links back into /usr/share.
        let attrs = try fm.attributesOfItem(atPath: site.dir.appendingPathComponent("assets/katex/katex.min.js").path)
        #expect(attrs[.type] as? FileAttributeType == .typeRegular)
    }

    @Test func missingDebianPackageIsNamed() throws {
        let root = try HTMLFixtures.makeBookRoot()
        let renderer = SiteRenderer(bookTitle: "B", bookRoot: root, assetSources: AssetSources(
            katexDirectory: root.appendingPathComponent("no-katex"), highlightDirectory: AssetSources.debian.highlightDirectory))
        #expect {
            try renderer.render(chapters: HTMLFixtures.book, to: root.appendingPathComponent("out"))
        } throws: { error in
            "\(error)".contains("libjs-katex") && "\(error)".contains("no-katex/katex.min.js")
        }
    }

    @Test func missingFigureSaysWhichChapter() throws {
        let root = try HTMLFixtures.makeBookRoot()
        try FileManager.default.removeItem(at: root.appendingPathComponent("chapters/figures/rnn.svg"))
        #expect {
            try SiteRenderer(bookTitle: "B", bookRoot: root).render(chapters: HTMLFixtures.book, to: root.appendingPathComponent("out"))
        } throws: { error in
            "\(error)".contains("chapters/02-rnn.md") && "\(error)".contains("figures/rnn.svg")
        }
    }

    /// Every relative href/src (and CSS url()) resolves to a file; every `#fragment` to an id.
    @Test func everyRelativeLinkResolves() throws {
        let site = try renderFixtureBook()
        if let demo = ProcessInfo.processInfo.environment["RNNBOOK_DEMO_OUTPUT"] {
            // For looking at the pages in a browser: `RNNBOOK_DEMO_OUTPUT=/tmp/demo swift test --filter HTML`.
            let root = try HTMLFixtures.makeBookRoot()
            try SiteRenderer(bookTitle: "Recurrent Neural Networks, executed", bookRoot: root)
                .render(chapters: HTMLFixtures.book, to: URL(fileURLWithPath: demo))
        }
        let problems = try brokenLinks(in: site.dir)
        #expect(problems.isEmpty, "\(problems)")
    }
}

/// Relative references in the site's HTML and CSS that do not resolve.
func brokenLinks(in dir: URL) throws -> [String] {
    let fm = FileManager.default
    var problems: [String] = []
    let files = fm.enumerator(atPath: dir.path)?.compactMap { $0 as? String } ?? []
    func ids(_ html: String) -> Set<String> {
        Set(matches(of: "\\sid=\"([^\"]*)\"", in: html))
    }
    var idCache: [String: Set<String>] = [:]
    for file in files where file.hasSuffix(".html") || file.hasSuffix(".css") {
        let url = dir.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        let refs = file.hasSuffix(".css") ? matches(of: "url\\(['\"]?([^'\")]+)['\"]?\\)", in: text)
            : matches(of: "\\s(?:href|src)=\"([^\"]*)\"", in: text)
        for raw in refs {
            let ref = raw.replacingOccurrences(of: "&amp;", with: "&")
            if ref.hasPrefix("data:") || ref.contains("://") || ref.hasPrefix("mailto:") { continue }
            let parts = ref.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let pathPart = parts[0].split(separator: "?").first.map(String.init) ?? ""
            let target = pathPart.isEmpty ? url : url.deletingLastPathComponent().appendingPathComponent(pathPart.removingPercentEncoding ?? pathPart)
            guard fm.fileExists(atPath: target.path) else { problems.append("\(file): \(ref)"); continue }
            if parts.count == 2, target.pathExtension == "html" {
                let key = target.standardizedFileURL.path
                if idCache[key] == nil { idCache[key] = ids(try String(contentsOf: target, encoding: .utf8)) }
                if !idCache[key]!.contains(parts[1]) { problems.append("\(file): \(ref) (no such id)") }
            }
        }
    }
    return problems
}

private func matches(of pattern: String, in text: String) -> [String] {
    let regex = try! NSRegularExpression(pattern: pattern)
    let ns = text as NSString
    return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) }
}

/// The print book is rendered with print links, not rewritten from the pages: every id is
/// unique in the one document and every link and SVG reference inside it lands on one.
@Suite("Print book")
struct PrintBookTests {
    @Test func everyInternalLinkAndSVGReferenceLandsOnAUniqueID() throws {
        let root = try HTMLFixtures.makeBookRoot()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("output")
        var renderer = SiteRenderer(bookTitle: "B", bookRoot: root)
        renderer.printBook = true
        try renderer.render(chapters: HTMLFixtures.book, to: out)
        let html = try String(contentsOf: out.appendingPathComponent(PrintBook.fileName), encoding: .utf8)
        let ids = html.matches(of: #/ id="([^"]+)"/#).map { String($0.1) }
        #expect(Set(ids).count == ids.count, "duplicate ids: \(Dictionary(grouping: ids, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted())")
        let targets = html.matches(of: #/href="#([^"]+)"/#).map { String($0.1) } + html.matches(of: #/url\(#([^)]+)\)/#).map { String($0.1) }
        #expect(!targets.isEmpty)
        for target in Set(targets) { #expect(ids.contains(target), "#\(target) has no element") }
        // The first chapter's reference to the second's equation stays inside the document.
        #expect(html.contains("href=\"#02-rnn--eq-rnn-state\""))
        #expect(!html.contains("href=\"02-rnn.html"))
        // The heatmap's colour bar finds its gradient (its id and reference are both the chapter's).
        #expect(html.contains("fill=\"url(#02-rnn--out"))
        // The contents' entries are links without links inside them.
        let toc = try #require(html.firstMatch(of: #/<nav class="print-toc"(?s:.*?)</nav>/#))
        for entry in String(toc.0).matches(of: #/<li><a href="#[^"]*">((?s:.*?))</a>/#) { #expect(!entry.1.contains("<a ")) }
    }
}
