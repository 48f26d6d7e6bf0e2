import BookProtocol
import Foundation

/// Everything a page needs to know about the rest of the book.
struct BookOutline: Sendable {
    var title: String
    var chapters: [(slug: String, title: String, status: String)]
    /// Labelled equations, sections and figures of the whole book (see CrossReferences.swift).
    var targets: CrossReferenceTargets
}

/// Renders one chapter with its result into a full HTML page.
struct ChapterPage: ProseRendering {
    let chapter: Chapter
    let result: ChapterResult?
    let outline: BookOutline
    let position: Int
    /// File name of the last passing version of this page, kept beside a failed one.
    var lastGoodPage: String? = nil
    /// The student edition leaves exercise solutions out (see ExerciseHTML.swift).
    var edition: Edition = .instructor

    /// Relative image sources the page uses (figures to copy), filled while rendering.
    private(set) var imageSources: [String] = []
    /// The sidebar's entries for this page: h2 and h3 (and the references), their inner HTML without links or badges.
    var headings: [(level: Int, id: String, html: String)] = []
    /// Rendering a heading's text for the sidebar: links become their text, claims their value without a badge.
    private var sidebarText = false
    /// The page's prose for the search box, cut at its headings and exercises, gathered while
    /// rendering (see `SearchIndex`): no code, verdicts or display maths.
    var searchSections = [SearchIndex.Section(anchor: "", title: "", text: "")]
    private var usedIDs: Set<String> = []
    private var placedChecks: Set<Int> = []
    private(set) var checkIDs: [Int: String] = [:]
    /// Markdown figures rendered so far (plots of labelled blocks share their numbers: see `FigureInfo`).
    private var markdownFigureCount = 0
    private var outputCount = 0
    /// Acknowledged survivors of the equation being rendered (see `equation(_:)`).
    private var acknowledgedSurvivors: [(description: String, acknowledged: String)] = []

    /// The result's checks, in order; a check's index here names its badge (`check-N`).
    let checks: [Finding]

    /// Ids and links as the web page or the print book writes them.
    let links: PageLinks
    /// The chapter's h2 sections (id, heading without links) for the print book's contents.
    var printSections: [(id: String, html: String)] = []

    init(chapter: Chapter, result: ChapterResult?, outline: BookOutline, position: Int, links: PageLinks = .web) {
        self.chapter = chapter; self.result = result; self.outline = outline; self.position = position; self.links = links
        // Coverage findings ("no check touched eq-x") sit on their equation like its checks.
        checks = result?.findings.filter { $0.kind.isCheck || $0.kind == .coverage } ?? []
        for i in checks.indices { checkIDs[i] = links.id("check-\(i + 1)") }
    }

    // MARK: Page

    mutating func render() -> String {
        let body = renderBody()
        var page = Layout.head(title: "\(chapter.title) · \(outline.title)")
        // Skip link, then search and contents, then the text: on a phone (one column) the
        // reader finds the contents and the search box at the top, as the markup orders them.
        page += "<a class=\"skip\" href=\"#main\">Skip to the text</a>"
        page += "<div class=\"page\">" + sidebar()
        page += "<main id=\"main\">" + body
        page += navigation() + runInfo() + "</main></div>"
        return page.markup + Layout.foot
    }

    /// What the print book takes of a page: its header (title, verdicts), the failure banner if
    /// any, and the article; not the sidebar, navigation or run details.
    mutating func renderBody() -> HTML {
        var main: HTML = ""
        for (k, segment) in chapter.segments.enumerated() {
            main += calloutClosing(at: k)
            main += exerciseBoundary(at: k)
            main += calloutOpening(at: k)
            if withholds(segment: k) { continue }
            switch segment {
            case .prose(let blocks): main += prose(blocks)
            case .equation(let eq): main += equation(eq)
            case .code(let block): main += code(block)
            case .figure(let path, let caption): main += figure(path: path, caption: caption)
            }
        }
        main += calloutClosing(at: chapter.segments.count)
        main += exerciseBoundary(at: chapter.segments.count)
        main += remainingChecks()
        main += referencesSection()
        let banner = failureBanner()
        let title = chapter.title
        var body: HTML = "<header class=\"chapter-head\">"
        if !links.isPrint { body += Layout.buildToggle }
        body += "<p class=\"book-title\"><a href=\"\(links.contents)\">\(outline.title)</a></p>"
        body += "<h1>\(title)</h1>\(statusLine())</header>"
        return body + banner + "<article class=\"chapter\">" + main + "</article>"
    }

    func statusLine() -> HTML {
        guard let result else { return "<p class=\"status-line\"><span class=\"status notrun\">not run</span></p>" }
        let totals = result.checkTotals, failed = totals.ran - totals.passed
        var out: HTML = "<p class=\"status-line\"><span class=\"status \(result.status.rawValue)\">\(result.status.rawValue)</span>"
        if result.cached { out += " <span class=\"status cached \(Layout.plumbing)\">cached</span>" }
        out += " <span class=\"meta\">\(totals.passed) of \(totals.ran) checks passed in this build"
        if failed > 0 { out += ", <a href=\"\(links.local("failures"))\">\(failed) failed</a>" }
        out += " (\(CheckSummary(chapter: chapter, result: result).sentence))"
        if totals.notChecked > 0 {
            out += ", \(totals.notChecked) shown but not checked in profile \(result.profile)"
        }
        out += "<span class=\"\(Layout.plumbing)\"> · \(formatValue(result.seconds, spec: ".1f")) s · profile \(result.profile)</span></span></p>"
        return out
    }

    // MARK: Prose

    mutating func prose(_ blocks: [ProseBlock]) -> HTML {
        imageSources += ProseBlock.imageSources(blocks).filter(Self.isLocal)
        var out: HTML = ""
        for block in blocks {
            out += HTML(trusted: proseHTML([block]))
            if case .heading = block.kind { continue }  // `headingHTML` opened its search section
            searchSections[searchSections.count - 1].text += searchText(block)
        }
        return out
    }

    /// A block's words for the search index; inline maths as its symbols (`\mathbf{H}_{t-1}` reads `H_t-1`).
    func searchText(_ block: ProseBlock) -> String {
        switch block.kind {
        case .paragraph(let inlines), .heading(_, let inlines, _): searchText(inlines) + " "
        case .list(let list): list.items.map { $0.map(searchText).joined() + " " }.joined()
        case .quote(let inner): inner.map(searchText).joined() + " "
        case .code(_, let literal): literal + " "
        case .html, .thematicBreak: " "
        }
    }

    func searchText(_ inlines: [ProseInline]) -> String {
        ProseInline.plainText(inlines) { item in
            if case .math(let tex) = item { " " + SearchIndex.plainTeX(tex) + " " } else { liftedText(item) }
        }
    }

    /// The tooltip of a `{{quoted: …}}` number.
    static let quotedTitle = "quoted, not computed in this book"

    mutating func liftedHTML(_ item: InlineItem, plain: Bool) -> String { liftedMarkup(item, plain: plain).markup }

    /// A lifted item on the page; `plain`: inside an attribute (an image's alt text), text only.
    mutating func liftedMarkup(_ item: InlineItem, plain: Bool) -> HTML {
        switch item {
        case .math(let tex):
            return plain ? "\(tex)" : "<span class=\"math inline\">\\(\(tex)\\)</span>"
        case .value(let name, let format, _):
            guard let v = result?.metrics[name] else {
                return plain ? "\(name)"
                    : "<span class=\"value unresolved\" title=\"no metric named \(name) was recorded\">\(name)?</span>"
            }
            let text = formatValue(v, spec: format)
            return plain ? "\(text)" : "<span class=\"value\" title=\"\(name)\">\(text)</span>"
        case .reference(let label, _):
            guard let target = outline.targets.target(label, from: chapter.slug) else {
                return plain ? "@\(label)"
                    : "<span class=\"eqref unresolved\" title=\"no equation, section or figure labelled \(label)\">@\(label)</span>"
            }
            if plain || sidebarText { return "\(target.text)" }
            let href = target.page == chapter.slug ? links.local(label) : links.page(target.page, fragment: label)
            return "<a class=\"\(target.kind == .equation ? "eqref" : "xref")\" href=\"\(href)\">\(target.text)</a>"
        case .citation(let citation):
            return References.html(citation, works: chapter.references ?? [], plain: plain, links: links)
        case .claim(let claim) where sidebarText:
            let shown = result?.metrics[claim.metric].map { formatValue($0, spec: claim.format) } ?? claim.metric + "?"
            return "<span class=\"value\">\(shown)</span>"
        case .claim(let claim):
            return claimHTML(claim, plain: plain)
        case .quoted(let text, _):
            return plain ? "\(text)" : "<span class=\"quoted\" title=\"\(Self.quotedTitle)\">\(text)</span>"
        }
    }

    /// What a claim shows as its value: this run's value (else the claimed one); for a
    /// comparison both sides, "1.03 < 1.52" against another metric, "40 < 1000" against a number
    /// (a value alone would read as if any value passed).
    func claimShown(_ claim: Claim) -> String {
        let measured = result?.metrics[claim.metric]
        guard let bound = claim.bound else {
            return measured.map { formatValue($0, spec: claim.format) } ?? formatValue(claim.expected, spec: claim.format)
        }
        let rhs: String
        if let other = bound.metric {
            rhs = result?.metrics[other].map { formatValue($0, spec: claim.format) } ?? "\(other)?"
        } else {
            let number = bound.number ?? .nan
            rhs = formatValue(number, spec: claim.format?.hasSuffix("%") == true ? claim.format : nil)
        }
        return "\(measured.map { formatValue($0, spec: claim.format) } ?? "\(claim.metric)?") \(bound.relation.rawValue) \(rhs)"
    }

    /// A claim in prose, rendered from the runner's finding for it (the page judges nothing).
    mutating func claimHTML(_ claim: Claim, plain: Bool) -> HTML {
        let measured = result?.metrics[claim.metric]
        let shown = claimShown(claim)
        var expectedText = "\(formatValue(claim.expected, spec: claim.format)) ± \(formatValue(claim.tolerance, spec: nil))"
        if let bound = claim.bound { expectedText = "\(bound.relation.rawValue) \(bound.operandText)" }
        let claimText = claim.bound == nil ? "\(claim.metric) ≈ \(expectedText)" : claim.statement
        let found = takeCheck(where: { $0.kind == .claim && $0.label == claim.metric && $0.line == claim.location.line
                                       && ($0.column == nil || $0.column == claim.location.column) })
        let unchecked = claim.bound == nil ? "≈ \(expectedText)" : claim.statement
        if plain {
            return "\(found?.1.verdict == .notChecked ? unchecked : shown)"
        }
        var rows: [(String, String)] = [("claim", claimText)]
        guard let (i, check) = found else {
            rows.append(("not checked", result == nil ? "chapter not run" : "no verdict was recorded for this claim"))
            return "<span class=\"claim unmeasured\"><span class=\"value\">\(unchecked)</span>\(Badge.html(.unchecked, label: nil, rows: rows))</span>"
        }
        if check.verdict == .notChecked {
            // Shown as what it claims, greyed: this run's value would read as if the claim held.
            rows.append(("not checked", check.message))
            let badge = Badge.html(.unchecked, label: nil, rows: rows, id: checkIDs[i])
            let scope = claim.profile.map { " under \($0)" } ?? ""
            return "<span class=\"claim other-profile\"><span class=\"value\">\(unchecked)\(scope)</span>\(badge)</span>"
        }
        rows += Badge.rows(for: check).dropFirst()
        let badge = Badge.html(for: check, label: nil, rows: rows, id: checkIDs[i])
        let cls = measured == nil ? "claim unmeasured" : "claim"
        return "<span class=\"\(cls)\"><span class=\"value\">\(shown)</span>\(badge)</span>"
    }

    /// The chapter's number in the book: its position, from 1.
    var chapterNumber: Int { position + 1 }

    /// A heading with its id (kept unique; a numbered section's `{#sec-…}` label when it has one)
    /// and its number; h2 and h3 go to the sidebar. A level-1 heading that repeats the chapter's
    /// title is left out: the page header shows the title.
    mutating func headingHTML(level: Int, content: String, inlines: [ProseInline], section: SectionInfo?) -> String {
        let text = ProseInline.plainText(inlines) { liftedText($0) }
        if level == 1 && text.trimmingCharacters(in: .whitespaces) == chapter.title { return "" }
        var id: String
        if let label = section?.label { id = label; usedIDs.insert(label) } else { id = uniqueID(HTMLText.slug(text)) }
        let number = section.map { "<span class=\"secno\">\(CrossReferenceTargets.sectionNumber(chapter: chapterNumber, $0.path))</span> " as HTML } ?? ""
        if level >= 2 {
            searchSections.append(SearchIndex.Section(anchor: id, title: (section.map { CrossReferenceTargets.sectionNumber(chapter: chapterNumber, $0.path) + " " } ?? "") + text, text: ""))
        } else {
            searchSections[searchSections.count - 1].text += text + " "
        }
        if level <= 3 {
            sidebarText = true
            headings.append((max(level, 2), id, number.markup + inlineHTML(inlines)))
            sidebarText = false
            if level == 2 { printSections.append((links.id(id), headings[headings.count - 1].html)) }
        }
        let anchor = links.id(id)
        let heading: HTML = "<h\(level) id=\"\(anchor)\">\(number)\(HTML(trusted: content))<a class=\"anchor\" href=\"#\(anchor)\" aria-label=\"link to this section\">#</a></h\(level)>"
        return heading.markup
    }

    func linkDestination(_ destination: String) -> String { links.authored(destination) }

    /// A lifted item as the words a reader sees, without markup (for ids, the search index and
    /// the contents page's summaries): maths as its TeX, values and claims as this run's value.
    func liftedText(_ item: InlineItem) -> String {
        switch item {
        case .math(let tex): tex
        case .value(let name, let format, _): result?.metrics[name].map { formatValue($0, spec: format) } ?? name
        case .reference(let label, _): outline.targets.target(label, from: chapter.slug)?.text ?? "@" + label
        case .citation(let citation): References.text(citation, works: chapter.references ?? [])
        case .claim(let claim): claimShown(claim)
        case .quoted(let text, _): text
        }
    }

    mutating func uniqueID(_ base: String) -> String {
        // Prefixes that name labels, checks and blocks stay theirs (a heading "Fig. 2" is not #fig-2).
        let base = ["eq-", "sec-", "fig-", "ref-", "check-", "block-"].contains(where: base.hasPrefix) ? "section-" + base : base
        var id = base, k = 2
        while usedIDs.contains(id) {
            id = "\(base)-\(k)"; k += 1
        }
        usedIDs.insert(id)
        return id
    }

    // MARK: Equations, figures

    mutating func equation(_ eq: Equation) -> HTML {
        var out: HTML = "<div class=\"equation\""
        if let label = eq.label { out += " data-label=\"\(label)\"" }
        out += ">"
        out += "<div class=\"math display\""
        if let label = eq.label { out += " id=\"\(links.id(label))\"" }
        out += ">\\[\(eq.tex)\\]</div>"
        var erratum: Finding?
        out += "<div class=\"eq-side\">"
        if let number = eq.number { out += "<span class=\"eqno\">(\(chapterNumber).\(number))</span>" }
        if let label = eq.label {
            // A check inside a loop over time steps passes many times: the passes of one kind
            // share one badge ("checked ×7"), showing the worst of their numbers; every failure
            // keeps a badge of its own.
            var passes: [[(Int, Finding)]] = []
            while let (i, check) = takeCheck(where: { $0.label == label }) {
                guard check.passed else {
                    out += Badge.html(for: check, label: Self.equationBadgeLabel(check), id: checkIDs[i])
                    continue
                }
                if let k = passes.firstIndex(where: { $0[0].1.kind == check.kind }) { passes[k].append((i, check)) }
                else { passes.append([(i, check)]) }
            }
            for group in passes {
                let (i, first) = group[0]
                var seen = Set<String>()
                for m in group.flatMap({ $0.1.mutants ?? [] }) where m.survived && m.notJudged == nil {
                    if let why = m.acknowledged, seen.insert(m.description).inserted {
                        acknowledgedSurvivors.append((m.description, why))
                    }
                }
                if first.kind == .expectError { erratum = first }
                let worst = group.max { ($0.1.maxRelError ?? 0) < ($1.1.maxRelError ?? 0) }!.1
                var rows = Badge.rows(for: worst)
                var word = Self.equationBadgeLabel(first)
                if group.count > 1 {
                    rows.insert(("checks", "\(group.count) passed; the numbers are the worst of them"), at: 1)
                    word += " ×\(group.count)"
                }
                out += Badge.html(for: first, label: word, rows: rows, id: checkIDs[i])
            }
        }
        // No check is meant to touch it: a quiet mark, with the author's reason when labelled.
        if eq.label == nil || eq.unchecked != nil {
            let why = eq.unchecked.map { "not checked: \($0)" } ?? "not checked: no label, so no verify can name it"
            out += "<span class=\"eq-unchecked\" title=\"\(why)\">unchecked</span>"
        }
        out += "</div></div>"
        if let reason = eq.unchecked {
            out += "<p class=\"eq-unchecked-reason\">not checked: \(reason)</p>"
        }
        // An erratum's point is its failure: say it under the equation, not only on hover.
        if let erratum {
            out += "<p class=\"erratum-result\">\(erratum.message)</p>"
        }
        // Survivors of `check --mutate` that the author acknowledged, with the reason each cannot
        // be told apart with these values (mutants not judged are not the reader's concern).
        let acknowledged = acknowledgedSurvivors.filter { !$0.acknowledged.isEmpty }
        if !acknowledged.isEmpty {
            out += "<ul class=\"eq-survivors\">"
            for m in acknowledged {
                out += "<li>passes also if \(m.description): \(m.acknowledged)</li>"
            }
            out += "</ul>"
        }
        acknowledgedSurvivors = []
        return out
    }

    /// The word on an equation's badge: an erratum (`verifyFails`) passes by failing.
    static func equationBadgeLabel(_ check: Finding) -> String {
        switch check.kind {
        case .equation where check.verdict == .notChecked: "not checked"
        case .coverage where check.verdict == .notChecked: "not checked"
        case .coverage: check.found == "a check" ? "checked, marked unchecked" : "no check"
        case .equation: check.passed ? "checked" : "differs"
        case .expectError: check.passed ? "fails, as expected" : "expected to fail"
        default: check.kind.rawValue
        }
    }

    mutating func figure(path: String, caption: [ProseInline]) -> HTML {
        markdownFigureCount += 1
        if Self.isLocal(path) { imageSources.append(path) }
        // The caption is the image's alt text: its maths (lifted before cmark saw it) is TeX in
        // the alt attribute and typeset in the caption; emphasis and code read as their text.
        let alt = captionHTML(caption, plain: true), shown = captionHTML(caption, plain: false)
        let info = (chapter.figures ?? []).filter { $0.plot != true }.dropFirst(markdownFigureCount - 1).first
        let number = info?.number ?? markdownFigureCount
        return numberedFigure(number: number, label: info?.label, class: nil, body: "<img src=\"\(path)\" alt=\"\(alt)\">",
                              caption: shown, searchText: searchText(caption))
    }

    /// A numbered figure, Markdown's or a labelled block's plot: `body`, then "Figure N.M." and
    /// the caption; the number and caption also go to the search index.
    mutating func numberedFigure(number: Int, label: String?, class cls: String?, body: HTML, caption: HTML, searchText: String) -> HTML {
        searchSections[searchSections.count - 1].text += "Figure \(chapterNumber).\(number). " + searchText + " "
        return "<figure class=\"figure\(cls.map { " \($0)" } ?? "")\"\(label.map { " id=\"\(links.id($0))\"" as HTML } ?? "")>\(body)"
            + "<figcaption><span class=\"fig-no\">Figure \(chapterNumber).\(number).</span> \(caption)</figcaption></figure>"
    }

    /// The figure a labelled code block's one plot is (`label="fig-…" fig-cap="…"`), numbered in
    /// the chapter's sequence of figures; nil for other blocks.
    func plotFigure(of block: CodeBlock) -> (label: String, number: Int, caption: [CaptionPiece])? {
        guard let label = block.options.figureLabel, let caption = block.options.figureCaption,
              let info = chapter.figures?.first(where: { $0.label == label && $0.plot == true }) else { return nil }
        return (label, info.number, CaptionPiece.pieces(caption) ?? [.text(caption)])
    }

    /// A plot's caption: its text escaped, its `$…$` maths typeset like a Markdown figure's.
    static func captionHTML(_ pieces: [CaptionPiece]) -> HTML {
        pieces.map { piece -> HTML in
            switch piece {
            case .text(let s): "\(s)"
            case .math(let tex): "<span class=\"math inline\">\\(\(tex)\\)</span>"
            }
        }.joined()
    }

    /// `<figure>` around a labelled block's plot (`body`), numbered and captioned as a Markdown figure is.
    mutating func plotFigureMarkup(_ figure: (label: String, number: Int, caption: [CaptionPiece]), class cls: String, body: HTML) -> HTML {
        numberedFigure(number: figure.number, label: figure.label, class: cls, body: body,
                       caption: Self.captionHTML(figure.caption), searchText: CaptionPiece.plainText(figure.caption))
    }

    /// A figure's caption: its words escaped, its lifted items rendered (`plain`: as text, for the alt attribute).
    mutating func captionHTML(_ caption: [ProseInline], plain: Bool) -> HTML {
        var out: HTML = ""
        for item in caption {
            switch item {
            case .text(let s), .code(let s): out += "\(s)"
            case .softBreak, .lineBreak: out += " "
            case .html: break
            case .emphasis(let c), .strong(let c), .link(_, _, let c), .image(_, _, let c): out += captionHTML(c, plain: plain)
            case .lifted(let i): out += liftedMarkup(i, plain: plain)
            }
        }
        return out
    }

    // MARK: Callouts

    /// A callout starting at segment `k`: a `<details>` when it collapses (open in print), else an `<aside>`.
    func calloutOpening(at k: Int) -> HTML {
        var out: HTML = ""
        for c in chapter.callouts ?? [] where c.segments.lowerBound == k {
            let cls = "callout callout-\(c.kind.rawValue)"
            out += c.collapse
                ? "<details class=\"\(cls)\"\(links.isPrint ? " open" : "")><summary>\(c.heading)</summary>"
                : "<aside class=\"\(cls)\"><p class=\"callout-title\">\(c.heading)</p>"
        }
        return out
    }

    func calloutClosing(at k: Int) -> HTML {
        var out: HTML = ""
        for c in chapter.callouts ?? [] where c.segments.upperBound == k { out += c.collapse ? "</details>" : "</aside>" }
        return out
    }

    // MARK: Code blocks

    mutating func code(_ block: CodeBlock) -> HTML {
        let blockResult = block.index.flatMap { i in result?.blocks.first { $0.index == i } }
        let isSwift = block.language.lowercased() == "swift"
        var cls = "cell"
        if let status = blockResult?.status { cls += " \(status.rawValue)" }
        if !block.options.showCode { cls += " hidden-code" }
        var out: HTML = "<section class=\"\(cls)\""
        if let i = block.index { out += " id=\"\(links.id("block-\(i + 1)"))\"" }
        out += ">"
        // Head: where it is in the Markdown, how long it ran (plumbing), and its verdicts. A block
        // that failed, or holds a failed check, keeps its location in view.
        var head: HTML = ""
        var failedHere = blockResult?.status == .failed || !failuresInside(block).isEmpty
        if isSwift {
            if !block.options.run { head += "<span class=\"tag\">not run</span>" }
            if block.options.expectError {
                head += "<span class=\"tag\">" + (block.options.expectErrorStage == .compile ? "expected not to compile" : "expected to fail when run") + "</span>"
            }
            if let r = blockResult {
                if r.status == .failed { head += "<span class=\"tag failed\">failed</span>" }
                if r.status == .notRun { head += "<span class=\"tag\">not run</span>" }
                else { head += "<span class=\"cell-time \(Layout.plumbing)\">\(formatValue(r.seconds, spec: r.seconds < 10 ? ".2f" : ".1f")) s</span>" }
            }
        } else {
            head += "<span class=\"tag\">\(block.language.isEmpty ? "text" : block.language)</span>"
        }
        if let index = block.index {
            let labels = equationLabels
            while let (i, check) = takeCheck(where: { $0.block == index && $0.kind != .claim && !labels.contains($0.label) }) {
                head += Badge.html(for: check, label: check.kind == .output ? "output" : check.label, id: checkIDs[i])
                if check.failed { failedHere = true }
            }
        }
        let place: HTML = "<span class=\"cell-loc\(failedHere ? "" : " " + Layout.plumbing)\">\(chapter.path):\(block.location.line)</span>"
        out += "<div class=\"cell-head\">\(place)\(head)</div>"
        if block.options.showCode {
            if isSwift {
                let code: HTML = "<pre class=\"code\"><code class=\"language-swift\">\(SwiftHighlighter.markup(block.code))</code></pre>"
                out += block.options.foldCode
                    ? "<details class=\"code-fold\"\(links.isPrint || blockResult?.status == .failed ? " open" : "")><summary>Code, \(block.lineCount) lines</summary>\(code)</details>"
                    : code
            } else {
                let lang = block.language.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "+" }
                out += "<pre class=\"code\"><code class=\"\(lang.isEmpty ? "nohighlight" : "language-\(lang)")\">\(block.code)</code></pre>"
            }
        }
        if let r = blockResult {
            var output: HTML = ""
            if !r.stdout.isEmpty { output += "<pre class=\"stdout\">\(Self.trimmedOutput(r.stdout))</pre>" }
            if !r.stderr.isEmpty { output += "<pre class=\"stderr\" title=\"standard error\">\(Self.trimmedOutput(r.stderr))</pre>" }
            // A labelled block's one plot is its figure; with none or several, the block's failure says so.
            let figure = plotFigure(of: block)
            let plots = r.outputs.filter(Self.isPlot).count
            for o in r.outputs { output += rich(o, figure: plots == 1 && Self.isPlot(o) ? figure : nil) }
            if !output.isEmpty { out += "<div class=\"cell-output\">\(output)</div>" }
            out += checkpointNotes(block: r.index)
            if let error = r.error, r.status == .failed || !error.isEmpty {
                out += errorBox(error, line: block.location)
            }
        }
        for failure in failuresInside(block) { out += errorBox(failure.description, line: failure.location ?? block.location) }
        return out + "</section>"
    }

    /// Which values of this block were restored from a checkpoint (and when they were
    /// computed) or computed in this build and stored.
    func checkpointNotes(block index: Int) -> HTML {
        let notes = (result?.checkpoints ?? []).filter { $0.block == index }
        guard !notes.isEmpty else { return "" }
        var out: HTML = "<div class=\"checkpoints \(Layout.plumbing)\">"
        for n in notes {
            let name: HTML = "<code>\(n.name)</code>"
            let took = formatSeconds(n.seconds)
            out += n.restored
                ? "<p class=\"checkpoint restored\">⟲ \(name) restored from checkpoint, computed \(shortDate(n.computedAt)) (took \(took)); not recomputed in this build</p>"
                : "<p class=\"checkpoint\">\(name) computed in this build, \(shortDate(n.computedAt)) (took \(took))\(n.note.map { "; " + $0 } ?? "; stored as a checkpoint")</p>"
        }
        return out + "</div>"
    }

    func errorBox(_ message: String, line: SourceLocation) -> HTML {
        "<div class=\"cell-error\" role=\"alert\"><p class=\"error-title\">✗ This block failed "
            + "<span class=\"cell-loc\">(\(line.file.isEmpty ? chapter.path : line.file):\(line.line))</span></p>"
            + "<pre>\(message)</pre></div>"
    }

    /// Drops one trailing newline so the box has no empty last line.
    static func trimmedOutput(_ s: String) -> String { s.hasSuffix("\n") ? String(s.dropLast()) : s }

    var equationLabels: Set<String> { Set(chapter.equations.compactMap(\.label)) }

    /// Chapter-level problems (not tied to a block) whose line falls inside this block's code.
    func failuresInside(_ block: CodeBlock) -> [Finding] {
        let lines = block.code.split(separator: "\n", omittingEmptySubsequences: false).count
        return problems.filter { f in
            guard f.block == nil, let line = f.line else { return false }
            return (f.file == nil || f.file == chapter.path) && line >= block.location.line && line < block.location.line + max(lines, 1)
        }
    }

    /// Failed findings that are not checks: compile errors, crashes, timeouts, input mistakes.
    var problems: [Finding] { (result?.failures ?? []).filter { !$0.kind.isCheck } }

    /// Problems not shown in a block: the banner lists them.
    var unplacedFailures: [Finding] {
        let blocks = chapter.codeBlocks
        return problems.filter { f in f.block == nil && !blocks.contains { failuresInside($0).contains(f) } }
    }

    // MARK: Rich outputs

    /// A plot or a drawing: what a block labelled as a figure must show exactly one of.
    static func isPlot(_ output: RichOutput) -> Bool {
        switch output {
        case .plot, .svg: true
        case .table, .tensor: false
        }
    }

    /// One thing a block showed; a plot or drawing that is the block's labelled figure is
    /// numbered and captioned (`figure`), its own title kept above it.
    mutating func rich(_ output: RichOutput, figure: (label: String, number: Int, caption: [CaptionPiece])? = nil) -> HTML {
        outputCount += 1
        switch output {
        case .table(let t): return Self.table(t)
        case .tensor(let t): return Self.tensor(t)
        case .plot(let p):
            let svg = PlotRenderer(idPrefix: links.id("out\(outputCount)")).markup(for: p)
            if let figure {
                let title = p.title.map { "<p class=\"plot-title\">\($0)</p>" as HTML } ?? ""
                return plotFigureMarkup(figure, class: "plot-figure", body: title + svg)
            }
            let caption = p.title.map { "<figcaption>\($0)</figcaption>" as HTML } ?? ""
            return "<figure class=\"plot-figure\">\(svg)\(caption)</figure>"
        case .svg(let markup, let caption):
            // As an <img>, SVG from chapter code can never run script or reach the page.
            let data = Data(Self.standaloneSVG(markup).utf8).base64EncodedString()
            if let figure {
                // The drawing's own caption becomes its alt text; the figure's caption is shown.
                let alt = caption ?? CaptionPiece.plainText(figure.caption)
                return plotFigureMarkup(figure, class: "diagram", body: "<img src=\"data:image/svg+xml;base64,\(data)\" alt=\"\(alt)\">")
            }
            let alt = caption ?? "diagram"
            let cap = caption.map { "<figcaption>\($0)</figcaption>" as HTML } ?? ""
            return "<figure class=\"diagram\"><img src=\"data:image/svg+xml;base64,\(data)\" alt=\"\(alt)\">\(cap)</figure>"
        }
    }

    /// An SVG that renders as an image needs its namespace declared.
    static func standaloneSVG(_ markup: String) -> String {
        guard !markup.contains("xmlns=\"http://www.w3.org/2000/svg\""), !markup.contains("xmlns='http://www.w3.org/2000/svg'"),
              let r = markup.range(of: "<svg") else { return markup }
        return markup.replacingCharacters(in: r, with: "<svg xmlns=\"http://www.w3.org/2000/svg\"")
    }

    static func isNumeric(_ s: String) -> Bool {
        let t = s.trimmingCharacters(in: .whitespaces)
        return !t.isEmpty && (Double(t) != nil || ["nan", "inf", "-inf"].contains(t.lowercased()))
    }

    static func table(_ t: TableOutput) -> HTML {
        var out: HTML = "<div class=\"table-wrap\"><table class=\"data\">"
        if let c = t.caption { out += "<caption>\(c)</caption>" }
        let columns = max(t.header.count, t.rows.map(\.count).max() ?? 0)
        let numeric = (0..<columns).map { c in !t.rows.isEmpty && t.rows.allSatisfy { c >= $0.count || isNumeric($0[c]) } }
        if !t.header.isEmpty {
            out += "<thead><tr>"
            for (c, h) in t.header.enumerated() { out += "<th\(numeric[c] ? " class=\"num\"" as HTML : "")>\(h)</th>" }
            out += "</tr></thead>"
        }
        out += "<tbody>"
        for row in t.rows {
            out += "<tr>"
            for (c, cell) in row.enumerated() { out += "<td\(numeric[c] ? " class=\"num\"" as HTML : "")>\(cell)</td>" }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// A tensor as a bracketed matrix: 1-D as a row, 2-D as is, higher ranks as their first slices;
    /// long sides elided in the middle.
    static func tensor(_ t: TensorOutput) -> HTML {
        let shape = t.shape
        let shapeText = shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "×")
        var out: HTML = "<figure class=\"tensor\"><figcaption>"
        if let l = t.label { out += "<span class=\"tensor-label\">\(l)</span> " }
        out += "<span class=\"tensor-shape\">\(shapeText)</span></figcaption>"
        let rows = shape.count >= 2 ? shape[shape.count - 2] : 1
        let cols = shape.last ?? 1
        let sliceSize = max(rows * cols, 1)
        let slices = max(t.values.count / sliceSize, 1)
        func pick(_ n: Int, _ limit: Int) -> [Int?] {
            n <= limit ? Array(0..<n) : Array(0..<(limit / 2)) + [nil] + Array((n - limit / 2)..<n)
        }
        // Every column when the row stays short (a one-hot row of 28 zeros and ones fits;
        // eliding its middle would hide where the 1 is), else the first and last five.
        let widest = t.values.prefix(4096).map { formatValue($0, spec: ".4g").count }.max() ?? 1
        let columnLimit = cols <= 40 && cols * (widest + 1) <= 60 ? cols : 10
        for s in pick(slices, 4) {
            guard let s else { out += "<p class=\"tensor-gap\">⋮</p>"; continue }
            if shape.count > 2 {
                var idx: [Int] = []
                var rest = s
                for d in shape.dropLast(2).reversed() { idx.insert(rest % d, at: 0); rest /= d }
                out += "<p class=\"tensor-index\">[\(idx.map(String.init).joined(separator: ", ")), :, :]</p>"
            }
            out += "<table class=\"matrix\"><tbody>"
            for r in pick(rows, 10) {
                out += "<tr>"
                for c in pick(cols, columnLimit) {
                    if let r, let c {
                        let i = s * sliceSize + r * cols + c
                        let v = i < t.values.count ? formatValue(t.values[i], spec: ".4g") : ""
                        out += "<td>\(v)</td>"
                    } else {
                        out += "<td class=\"gap\">\(r == nil && c == nil ? "⋱" : r == nil ? "⋮" : "⋯")</td>"
                    }
                }
                out += "</tr>"
            }
            out += "</tbody></table>"
        }
        return out + "</figure>"
    }

    // MARK: Checks not placed elsewhere, failures

    /// Takes the first check not yet shown that matches, marking it shown.
    mutating func takeCheck(where match: (Finding) -> Bool) -> (Int, Finding)? {
        for (i, c) in checks.enumerated() where !placedChecks.contains(i) && match(c) {
            placedChecks.insert(i)
            return (i, c)
        }
        return nil
    }

    mutating func remainingChecks() -> HTML {
        var items: HTML = ""
        while let (i, check) = takeCheck(where: { _ in true }) {
            items += "<li>\(Badge.html(for: check, label: check.label, id: checkIDs[i])) <span class=\"check-msg\">\(check.message)</span></li>"
        }
        guard !items.isEmpty else { return "" }
        printSections.append((links.id("other-checks"), "Other checks"))
        return "<section class=\"other-checks\"><h2 id=\"\(links.id("other-checks"))\">Other checks</h2><ul>\(items)</ul></section>"
    }

    /// At the top of a failed page: what failed, with links to where.
    func failureBanner() -> HTML {
        guard let result, result.status == .failed || !result.failures.isEmpty else { return "" }
        var items: HTML = ""
        for (i, c) in checks.enumerated() where c.failed {
            let place: HTML = failurePlace(c).map { " <span class=\"failure-loc\">(\($0))</span>" } ?? ""
            items += "<li><a href=\"#\(checkIDs[i]!)\">\(c.kind.rawValue) <code>\(c.label)</code></a>\(place): \(c.message)</li>"
        }
        for b in result.blocks where b.status == .failed {
            items += "<li><a href=\"\(links.local("block-\(b.index + 1)"))\">block \(b.index + 1)</a> failed</li>"
        }
        for f in unplacedFailures { items += "<li><pre>\(f.description)</pre></li>" }
        let lastGood = lastGoodPage.map { " <a href=\"\(HTMLText.pageHref(String($0.dropLast(".html".count))))\">The last version that passed</a> is kept." as HTML } ?? ""
        return "<aside class=\"failures\" id=\"\(links.id("failures"))\" role=\"alert\"><p><strong>This chapter did not pass.</strong>\(lastGood)</p><ul>\(items)</ul></aside>"
    }

    /// Where a failed check is in the Markdown, `file:line:column` (the chapter's file when the
    /// finding names none); nil when it has no line.
    func failurePlace(_ check: Finding) -> String? {
        guard let line = check.line else { return nil }
        return "\(check.file ?? chapter.path):\(line)" + (check.column.map { ":\($0)" } ?? "")
    }

    // MARK: Navigation, footer, sidebar

    func navigation() -> HTML {
        var out: HTML = "<nav class=\"prevnext\" aria-label=\"chapters\">"
        if position > 0 {
            let p = outline.chapters[position - 1]
            out += "<a class=\"prev\" rel=\"prev\" href=\"\(HTMLText.pageHref(p.slug))\"><span>← Previous</span>\(p.title)</a>"
        } else {
            out += "<a class=\"prev\" href=\"index.html\"><span>← Contents</span>\(outline.title)</a>"
        }
        if position + 1 < outline.chapters.count {
            let n = outline.chapters[position + 1]
            out += "<a class=\"next\" rel=\"next\" href=\"\(HTMLText.pageHref(n.slug))\"><span>Next →</span>\(n.title)</a>"
        }
        return out + "</nav>"
    }

    func runInfo() -> HTML {
        guard let r = result else {
            return "<footer class=\"run-info\"><p>This chapter has not been run; code is shown without output.</p></footer>"
        }
        // For every reader: the version, profile, seed and parameters the numbers come from.
        var out: HTML = "<footer class=\"run-info\"><h2>About this run</h2><dl>"
        func row(_ k: String, _ v: String) { out += "<dt>\(k)</dt><dd>\(v)</dd>" }
        row("version", "rnnbook \(r.versions.rnnbook)")
        row("profile", r.profile)
        if let seed = r.seed { row("seed", "\(seed)") }
        out += "</dl>"
        if !r.params.isEmpty {
            out += "<table class=\"params\"><caption>Parameters</caption><tbody>"
            for k in r.params.keys.sorted() {
                out += "<tr><th>\(k)</th><td class=\"num\">\(r.params[k]!.description)</td></tr>"
            }
            out += "</tbody></table>"
        }
        out += Self.buildDetails { row in
            row("run time", "\(formatValue(r.seconds, spec: ".2f")) s (compile \(formatValue(r.compileSeconds, spec: ".2f")) s)\(r.origin == .rerendered ? ", run from cache, page judged again" : r.cached ? ", from cache" : "")")
            row("started", r.startedAt)
            row("machine", r.machine)
            if let engine = r.versions.engine { row("engine", "build \(engine)") }
            row("versions", "\(r.versions.swiftc) · cmark \(r.versions.cmark) · OpenBLAS \(r.versions.openblas)\(r.versions.kernels.map { " · products: \($0)" } ?? "")\(r.versions.runner.map { " · runner \($0)" } ?? "")")
        } after: {
            let timed = r.blocks.filter { $0.status == .passed || $0.status == .failed }
            guard !timed.isEmpty else { return "" }
            return "<p class=\"block-times\">Block times: " + timed.map {
                "<a href=\"#block-\($0.index + 1)\">\($0.index + 1)</a>&nbsp;\(formatValue($0.seconds, spec: ".2f"))&nbsp;s"
            }.joined(separator: " · ") + "</p>"
        }
        return out + "</footer>"
    }

    /// The build's plumbing at the foot of a page: with the script, shown whole when "Build
    /// details" is on and not at all when off; without it, a closed `<details>` a reader can open.
    static func buildDetails(_ rows: ((String, String) -> Void) -> Void, after: () -> HTML = { "" }) -> HTML {
        var out: HTML = "<details class=\"build-details\"><summary>Build details</summary><dl>"
        rows { k, v in out += "<dt>\(k)</dt><dd>\(v)</dd>" }
        return out + "</dl>" + after() + "</details>"
    }

    /// The book's title, the search box and the chapters (this one's sections under it). The
    /// chapter list folds under "Contents": closed above the text on a phone; beside the text on
    /// a wide screen it shows whole (the stylesheet, where browsers style `::details-content`,
    /// else book.js opens it).
    func sidebar() -> HTML {
        var out: HTML = "<nav class=\"sidebar\" id=\"contents\" aria-label=\"contents\"><p class=\"sidebar-title\"><a href=\"index.html\">\(outline.title)</a></p>\(HTML(trusted: SearchIndex.box))"
        out += "<details class=\"contents-fold\" id=\"contents-fold\"><summary>Contents</summary><ol>"
        for (i, c) in outline.chapters.enumerated() {
            let current = i == position
            out += "<li class=\"\(current ? "current " : "")\(c.status)\"><a href=\"\(HTMLText.pageHref(c.slug))\"\(current ? " aria-current=\"page\"" as HTML : "")>\(c.title)</a>"
            if current && !headings.isEmpty {
                out += "<ul class=\"sections\">"
                for h in headings {
                    out += "<li class=\"h\(h.level)\"><a href=\"#\(h.id)\">\(HTML(trusted: h.html))</a></li>"
                }
                out += "</ul>"
            }
            out += "</li>"
        }
        return out + "</ol></details></nav>"
    }

    // MARK: Helpers

    static func isLocal(_ src: String) -> Bool {
        !(src.isEmpty || src.hasPrefix("#") || src.hasPrefix("/") || src.contains("://") || src.hasPrefix("data:")
          || src.hasPrefix("mailto:"))
    }
}
