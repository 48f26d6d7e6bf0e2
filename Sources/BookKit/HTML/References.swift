import Foundation

/// Author-year citations in the text and the reference lists (each chapter's and the book's).
/// Everything from the bibliography file is escaped: it is text an author wrote.
enum References {
    /// The fragment id of a work in a reference list.
    static func anchor(_ key: String) -> String { "ref-" + key }

    /// "(Bengio et al. 2003, p. 33; 1994)" for `[@bengio2003neural, p. 33; -@bengio1994learning]`,
    /// "Werbos (1990)" for `@werbos1990`; each work links to its entry in the chapter's list.
    /// `plain` (inside an attribute) gives text without markup.
    static func html(_ citation: Citation, works: [BibEntry], plain: Bool, links: PageLinks = .web) -> HTML {
        if plain { return "\(text(citation, works: works))" }
        let pieces = self.pieces(citation, works: works).map { piece -> HTML in
            switch piece {
            case .text(let t): "\(t)"
            case .work(let shown, let entry):
                "<a class=\"cite\" href=\"\(links.local(anchor(entry.id)))\" title=\"\(plainEntry(entry))\">\(shown)</a>"
            case .missing(let key):
                "<span class=\"cite unresolved\" title=\"no work with id \(key) in the bibliography\">@\(key)?</span>"
            }
        }.joined()
        return citation.inText ? pieces : "<span class=\"citation\">\(pieces)</span>"
    }

    /// The citation as the words a reader sees, unescaped (for the search index, ids and attributes).
    static func text(_ citation: Citation, works: [BibEntry]) -> String {
        pieces(citation, works: works).map { piece in
            switch piece {
            case .text(let t): t
            case .work(let shown, _): shown
            case .missing(let key): "@" + key
            }
        }.joined()
    }

    /// A citation as text around the works it names: what the page and the text both render from.
    private enum Piece { case text(String), work(shown: String, entry: BibEntry), missing(key: String) }

    private static func pieces(_ citation: Citation, works: [BibEntry]) -> [Piece] {
        let byID = Dictionary(works.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        if citation.inText, let item = citation.items.first {
            guard let e = byID[item.key] else { return [.missing(key: item.key)] }
            return [.work(shown: "\(e.citationNames) (\(e.citationYear))", entry: e)]
        }
        var out: [Piece] = [.text("(")]
        for (k, item) in citation.items.enumerated() {
            if k > 0 { out.append(.text("; ")) }
            guard let e = byID[item.key] else { out.append(.missing(key: item.key)); continue }
            if !item.prefix.isEmpty { out.append(.text(item.prefix + " ")) }
            out.append(.work(shown: item.suppressAuthor ? e.citationYear : "\(e.citationNames) \(e.citationYear)", entry: e))
            if !item.locator.isEmpty { out.append(.text(", " + item.locator)) }
        }
        out.append(.text(")"))
        return out
    }

    /// One entry of a reference list, Chicago author-date style:
    /// Bengio, Yoshua, Réjean Ducharme, …, and Christian Jauvin. 2003. “A Neural …” *JMLR* 3: 1137–1155.
    static func entryHTML(_ e: BibEntry) -> HTML {
        render(e).map { run -> HTML in
            switch run {
            case .text(let t): "\(t)"
            case .italic(let t): "<i>\(t)</i>"
            case .link(let url): "<a href=\"\(url)\">\(url)</a>"
            }
        }.joined()
    }

    /// The same entry as plain text (for a link's title).
    static func plainEntry(_ e: BibEntry) -> String {
        render(e).map { run in
            switch run { case .text(let t), .italic(let t), .link(let t): t }
        }.joined()
    }

    /// An entry as runs of text, some in italics, some a link: what the page and the plain
    /// text both render from (so neither patches the other's markup).
    private enum Run { case text(String), italic(String), link(String) }

    private static func render(_ e: BibEntry) -> [Run] {
        func sentence(_ s: String) -> String { s.last.map { ".?!".contains($0) } == true ? s : s + "." }
        var runs: [Run] = []
        func add(_ text: String) { if case .text(let t)? = runs.last { runs[runs.count - 1] = .text(t + text) } else { runs.append(.text(text)) } }
        let people = e.authors.isEmpty ? e.editors : e.authors
        var names = listNames(people)
        if e.authors.isEmpty { names += people.count == 1 ? ", ed" : ", eds" }
        add(sentence(names) + " " + "\(e.citationYear).")
        let quoted = ["article-journal", "article", "article-magazine", "article-newspaper", "paper-conference", "chapter",
                      "entry", "entry-dictionary", "entry-encyclopedia", "post", "post-weblog", "webpage", "speech"].contains(e.type)
        if quoted { add(" “\(sentence(e.title))”") } else { add(" "); runs.append(.italic(sentence(e.title))) }
        let pages = e.page.map(Self.pageRange)
        var tail: [Run] = []
        func text(_ t: String) { if case .text(let x)? = tail.last { tail[tail.count - 1] = .text(x + t) } else { tail.append(.text(t)) } }
        func italic(_ t: String) { tail.append(.italic(t)) }
        switch e.type {
        case "article-journal", "article-magazine", "article-newspaper":
            if let c = e.containerTitle { italic(c) }
            if let v = e.volume { text(" " + v) }
            if let i = e.issue { text(" (\(i))") }
            if let p = pages { text(e.volume == nil && e.issue == nil ? ", \(p)" : ": \(p)") }
            if !tail.isEmpty { text(".") }
        case "paper-conference", "chapter":
            if let c = e.containerTitle { text("In "); italic(c) }
            if !e.authors.isEmpty && !e.editors.isEmpty { text(", edited by \(listNames(e.editors, invertFirst: false))") }
            if let col = e.collectionTitle { text(", " + col + (e.volume.map { " \($0)" } ?? "")) }
            if let p = pages { text(", \(p)") }
            if !tail.isEmpty { text(".") }
            if let pub = publisherText(e) { text(" " + sentence(pub)) }
        case "report", "thesis":
            let series = [e.genre, e.number].compactMap { $0 }.joined(separator: " ")
            if !series.isEmpty { text(sentence(series)) }
            if let pub = publisherText(e) { text((tail.isEmpty ? "" : " ") + sentence(pub)) }
        case "article":
            if let c = e.containerTitle { italic(c); if e.number != nil { text(" ") } }
            if let n = e.number { text(n) }
            if !tail.isEmpty { text(".") }
        default:
            if let c = e.containerTitle { italic(c); text(". ") }
            if let ed = e.edition { text(sentence("\(ed) ed") + " ") }
            if let pub = publisherText(e) { text(sentence(pub)) }
            // No trailing space after the container or the edition when nothing follows.
            if case .text(let t)? = tail.last { let trimmed = String(t.reversed().drop(while: { $0 == " " }).reversed()); if trimmed.isEmpty { tail.removeLast() } else { tail[tail.count - 1] = .text(trimmed) } }
        }
        if !tail.isEmpty { add(" "); for run in tail { if case .text(let t) = run { add(t) } else { runs.append(run) } } }
        if let note = e.note { add(" " + sentence(note)) }
        if let url = e.doi.map({ "https://doi.org/" + $0 }) ?? e.url { add(" "); runs.append(.link(url)); add(".") }
        return runs
    }

    /// Page ranges with an en dash: `1550-1560` and `1550 -- 1560` read `1550–1560`.
    private static func pageRange(_ page: String) -> String {
        var out = ""
        let chars = Array(page)
        var i = 0
        while i < chars.count {
            if chars[i] == "-" || chars[i] == " ", let before = out.last, before.isNumber {
                var j = i
                while j < chars.count && (chars[j] == " " || chars[j] == "-") { j += 1 }
                if j < chars.count, chars[j].isNumber, chars[i..<j].contains("-") { out.append("–"); i = j; continue }
            }
            out.append(chars[i]); i += 1
        }
        return out
    }

    private static func publisherText(_ e: BibEntry) -> String? {
        switch (e.publisherPlace, e.publisher) {
        case let (place?, publisher?): "\(place): \(publisher)"
        case let (nil, publisher?): publisher
        default: nil
        }
    }

    /// "Bengio, Yoshua, Patrice Simard, and Paolo Frasconi": the first name inverted (sorted lists
    /// read by family name), the rest as written.
    static func listNames(_ names: [BibName], invertFirst: Bool = true) -> String {
        let written = names.enumerated().map { i, n -> String in
            if let literal = n.literal { return literal }
            guard let given = n.given, !given.isEmpty else { return n.family ?? "" }
            return i == 0 && invertFirst ? "\(n.family ?? ""), \(given)" : "\(given) \(n.family ?? "")"
        }
        switch written.count {
        case 0: return ""
        case 1: return written[0]
        case 2: return invertFirst ? "\(written[0]), and \(written[1])" : "\(written[0]) and \(written[1])"
        default: return written.dropLast().joined(separator: ", ") + ", and " + written.last!
        }
    }

    /// An ordered list of works, each with its anchor; `cited` adds "Cited in …" links (the book's list).
    static func list(_ works: [BibEntry], cited: [String: [(slug: String, title: String)]] = [:], links: PageLinks = .web) -> HTML {
        var out: HTML = "<ol class=\"reference-list\">"
        for e in works {
            out += "<li id=\"\(links.id(anchor(e.id)))\">\(entryHTML(e))"
            if let chapters = cited[e.id], !chapters.isEmpty {
                out += " <span class=\"cited-in\">Cited in " + chapters.map {
                    "<a href=\"\(HTMLText.pageHref($0.slug))\">\($0.title)</a>" as HTML
                }.joined(separator: ", ") + ".</span>"
            }
            out += "</li>"
        }
        return out + "</ol>"
    }

    /// Every work the book cites, with the chapters citing it, for the contents page.
    static func bookSection(_ chapters: [Chapter]) -> HTML {
        var works: [String: BibEntry] = [:]
        var cited: [String: [(slug: String, title: String)]] = [:]
        for c in chapters {
            for e in c.references ?? [] {
                works[e.id] = works[e.id] ?? e
                cited[e.id, default: []].append((c.slug, c.title))
            }
        }
        guard !works.isEmpty else { return "" }
        let sorted = works.values.sorted { $0.sortKey < $1.sortKey }
        return "<section class=\"references book-references\"><h2 id=\"references\">References</h2>\(list(sorted, cited: cited))</section>"
    }
}

extension ChapterPage {
    /// The works this chapter cites, after its text; the sidebar lists the section.
    mutating func referencesSection() -> HTML {
        guard let works = chapter.references, !works.isEmpty else { return "" }
        let id = uniqueID("references")
        headings.append((2, id, "References"))
        printSections.append((links.id(id), "References"))
        searchSections.append(SearchIndex.Section(anchor: id, title: "References", text: works.map(References.plainEntry).joined(separator: " ")))
        return "<section class=\"references\"><h2 id=\"\(links.id(id))\">References</h2>\(References.list(works, links: links))</section>"
    }
}
