import Foundation

/// The book's front page: what each chapter is about and how its build went, the book's totals,
/// what the build ran on, a search box and the works the book cites.
enum IndexPage {
    /// How many exercises a chapter has (the column shows when any chapter has one).
    static func exerciseCount(of chapter: Chapter) -> Int? { chapter.exercises.isEmpty ? nil : chapter.exercises.count }

    static func render(title: String, chapters: [(chapter: Chapter, result: ChapterResult?)]) -> String {
        let results = chapters.compactMap(\.result)
        let passed = results.filter { $0.status == .passed }.count
        let totals = results.map(\.checkTotals)
        let ran = totals.reduce(0) { $0 + $1.ran }, passedChecks = totals.reduce(0) { $0 + $1.passed }
        let notChecked = totals.reduce(0) { $0 + $1.notChecked }
        let allRan = results.count == chapters.count
        var out = Layout.head(title: title)
        out += "<a class=\"skip\" href=\"#contents\">Skip to the chapters</a>"
        out += "<div class=\"page index-page\"><main id=\"main\"><header class=\"book-head\">" + Layout.buildToggle
        out += "<h1>\(title)</h1>"
        // Say exactly what was checked, by kind, and what was not: never "every claim".
        let summary = chapters.reduce(CheckSummary()) { sum, item in
            item.result == nil ? sum : sum + CheckSummary(chapter: item.chapter, result: item.result)
        }
        var lede = allRan ? "An executable book: every chapter's code was run to make these pages" : "An executable book: the chapters' code was run to make these pages"
        lede += ", and the numbers it produced checked what the maths and prose say: \(summary.sentence); \(passedChecks) of \(ran) checks passed"
        if notChecked > 0 { lede += "; \(notChecked) shown but not checked in this build (each says why on its page)" }
        if !allRan { lede += "; \(chapters.count - results.count) chapter\(chapters.count - results.count == 1 ? " was" : "s were") not run" }
        lede += "."
        out += "<p class=\"lede\">\(lede)</p>"
        out += "<p class=\"summary\">\(passed) of \(chapters.count) chapters passed · \(passedChecks) of \(ran) checks passed"
        if notChecked > 0 { out += " · \(notChecked) not checked in this build" }
        let profiles = Set(results.map(\.profile))
        if !profiles.isEmpty { out += "<span class=\"\(Layout.plumbing)\"> · profile \(profiles.sorted().joined(separator: ", "))</span>" }
        out += "</p>" + HTML(trusted: SearchIndex.box) + "</header>"
        out += contents(chapters)
        out += buildInfo(results)
        out += References.bookSection(chapters.map(\.chapter))
        out += "</main></div>"
        return out.markup + Layout.foot
    }

    /// One row per chapter (title, summary, verdict, checks, exercises, run time) and the book's totals.
    static func contents(_ chapters: [(chapter: Chapter, result: ChapterResult?)]) -> HTML {
        let exercises = chapters.map { exerciseCount(of: $0.chapter) }
        let showExercises = exercises.contains { $0 != nil }
        let outline = BookOutline(title: "", chapters: chapters.map { ($0.chapter.slug, $0.chapter.title, $0.result?.status.rawValue ?? "notrun") },
                                  targets: CrossReferenceTargets(chapters.map(\.chapter)))
        var out: HTML = "<nav id=\"contents\" aria-label=\"contents\"><table class=\"toc\"><thead><tr><th class=\"num\">#</th><th>Chapter</th><th>Status</th>"
        out += "<th class=\"num\">Checks</th>" + (showExercises ? "<th class=\"num exercises\">Exercises</th>" as HTML : "") + "<th class=\"num runtime \(Layout.plumbing)\">Run time</th></tr></thead><tbody>"
        for (i, item) in chapters.enumerated() {
            let c = item.chapter
            out += "<tr><td class=\"num\">\(i + 1)</td><td><a href=\"\(HTMLText.pageHref(c.slug))\">\(c.title)</a>"
            let summary = summaryHTML(c, result: item.result, outline: outline, position: i)
            if !summary.isEmpty { out += "<p class=\"chapter-summary\">\(summary)</p>" }
            out += "</td>"
            if let r = item.result {
                out += "<td><span class=\"status \(r.status.rawValue)\">\(r.status.rawValue)</span>"
                if r.cached { out += " <span class=\"status cached \(Layout.plumbing)\">cached</span>" }
                out += "</td><td class=\"num\" title=\"\(CheckSummary(chapter: c, result: r).sentence)\">\(counts(r.checkTotals))</td>"
            } else {
                out += "<td><span class=\"status notrun\">not run</span></td><td class=\"num\">–</td>"
            }
            if showExercises { out += "<td class=\"num exercises\">\(exercises[i].map(String.init) ?? "–")</td>" }
            out += "<td class=\"num runtime \(Layout.plumbing)\">\(item.result.map { "\(formatValue($0.seconds, spec: ".1f")) s" } ?? "–")</td></tr>"
        }
        out += "</tbody>"
        // The book's totals.
        let results = chapters.compactMap(\.result)
        var sum = (ran: 0, passed: 0, notChecked: 0)
        for t in results.map(\.checkTotals) { sum.ran += t.ran; sum.passed += t.passed; sum.notChecked += t.notChecked }
        let seconds = results.reduce(0) { $0 + $1.seconds }
        let cached = results.filter(\.cached).count
        out += "<tfoot><tr><td></td><td>The book: \(chapters.count) chapter\(chapters.count == 1 ? "" : "s")</td><td>\(results.filter { $0.status == .passed }.count) passed</td>"
        out += "<td class=\"num\">\(results.isEmpty ? "–" : counts(sum))</td>"
        if showExercises { out += "<td class=\"num exercises\">\(exercises.compactMap { $0 }.reduce(0, +))</td>" }
        let cachedNote = cached == 0 ? "" : "\(cached) result\(cached == 1 ? "" : "s") from the cache: their times are those of the run that made them"
        out += "<td class=\"num runtime \(Layout.plumbing)\" title=\"\(cachedNote)\">\(formatValue(seconds, spec: ".1f")) s</td></tr></tfoot>"
        return out + "</table></nav>"
    }

    static func counts(_ totals: (ran: Int, passed: Int, notChecked: Int)) -> HTML {
        let bad = totals.ran - totals.passed
        var out: HTML = "<span class=\"count pass\" title=\"checks passed\">✓ \(totals.passed)</span>"
        out += bad > 0 ? " <span class=\"count fail\" title=\"checks failed\">✗ \(bad)</span>" : ""
        out += totals.notChecked > 0 ? " <span class=\"count unchecked\" title=\"shown but not checked in this build\">– \(totals.notChecked)</span>" : ""
        return out
    }

    /// The chapter's front matter `summary:`, else its first paragraph as text with its inline
    /// maths kept (KaTeX sets it), cut at about 60 words.
    static func summaryHTML(_ chapter: Chapter, result: ChapterResult?, outline: BookOutline, position: Int) -> HTML {
        if let summary = chapter.summary { return "\(summary)" }
        guard let paragraph = firstParagraph(chapter) else { return .empty }
        let page = ChapterPage(chapter: chapter, result: result, outline: outline, position: position)
        // Words made of text and maths: a formula glued to a comma stays one word with it.
        enum Piece { case text(String), math(String) }
        var words: [[Piece]] = [[]]
        func add(_ text: String) {
            for ch in text {
                if ch.isWhitespace { if !(words.last?.isEmpty ?? true) { words.append([]) }; continue }
                if case .text(let t)? = words[words.count - 1].last { words[words.count - 1][words[words.count - 1].count - 1] = .text(t + String(ch)) }
                else { words[words.count - 1].append(.text(String(ch))) }
            }
        }
        func walk(_ inlines: [ProseInline]) {
            for item in inlines {
                switch item {
                case .text(let t), .code(let t): add(t)
                case .softBreak, .lineBreak: add(" ")
                case .html, .image: break
                case .emphasis(let c), .strong(let c), .link(_, _, let c): walk(c)
                case .lifted(.math(let tex)): words[words.count - 1].append(.math(tex))
                case .lifted(let other): add(page.liftedText(other))
                }
            }
        }
        walk(paragraph)
        if words.last?.isEmpty == true { words.removeLast() }
        // Cut at 60 words; a paragraph that stops mid-sentence (before display maths) says so.
        let lastCharacter: Character? = { if case .text(let t)? = words.last?.last { t.last } else { nil } }()
        let cut = words.count > 60 || (words.last?.last).map { _ in lastCharacter.map { !".!?。！？)”".contains($0) } ?? true } == true
        if words.count > 60 { words = Array(words.prefix(60)) }
        let text = words.map { word in
            word.map { piece in
                switch piece {
                case .text(let t): "\(t)" as HTML
                case .math(let tex): "<span class=\"math inline\">\\(\(tex)\\)</span>"
                }
            }.joined()
        }.joined(separator: " ")
        return text + (cut ? " …" : "")
    }

    /// The first paragraph of the chapter's prose (in a list or a quote too) that has words.
    static func firstParagraph(_ chapter: Chapter) -> [ProseInline]? {
        for segment in chapter.segments {
            guard case .prose(let blocks) = segment else { continue }
            for block in ProseBlock.flattened(blocks) {
                guard case .paragraph(let inlines) = block.kind else { continue }
                let words = ProseInline.plainText(inlines) { if case .math(let tex) = $0 { tex } else { "x" } }
                if !words.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return inlines }
            }
        }
        return nil
    }

    /// What the pages were built with: for every reader the version, profile and seed; behind
    /// "Build details" the engine, CPU and kernel path, the tools' versions, when, the cache.
    static func buildInfo(_ results: [ChapterResult]) -> HTML {
        guard let first = results.first else { return "" }
        func distinct(_ values: [String?]) -> String {
            let set = Array(Set(values.compactMap { $0 })).sorted()
            return set.isEmpty ? "–" : set.joined(separator: "; ")
        }
        let rows: [(String, String)] = [
            ("version", "rnnbook \(RNNBookVersion.current)"),
            ("profile", distinct(results.map(\.profile))),
            ("seed", distinct(results.map { $0.seed.map(String.init) ?? "from each chapter's params" })),
        ]
        var out: HTML = "<footer class=\"run-info build-info\"><h2>About this build</h2><dl>"
        for (k, v) in rows { out += "<dt>\(k)</dt><dd>\(v)</dd>" }
        out += "</dl>"
        return out + ChapterPage.buildDetails { row in
            row("engine", distinct(results.map { $0.versions.engine.map { "build \($0)" } }))
            row("CPU", distinct(results.map(\.machine)))
            row("kernel path", distinct(results.map(\.versions.kernels)))
            // Chapters kept from an earlier build may have been run by another rnnbook.
            let ranBy = Set(results.map(\.versions.rnnbook))
            if ranBy != [RNNBookVersion.current] { row("runs made by", ranBy.sorted().map { "rnnbook \($0)" }.joined(separator: "; ")) }
            row("versions", "\(first.versions.swiftc) · cmark \(first.versions.cmark) · OpenBLAS \(first.versions.openblas)")
            let started = results.map(\.startedAt).sorted()
            if let from = started.first, let to = started.last { row("run", from == to ? from : "\(from) to \(to)") }
            let cached = results.filter(\.cached).count
            if cached > 0 { row("cache", "\(cached) of \(results.count) results come from an earlier run with the same inputs") }
        } + "</footer>"
    }
}
