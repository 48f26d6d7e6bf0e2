import Foundation

/// Author-year citations in the text and the reference lists (each chapter's and the book's).
/// Everything from the bibliography file is escaped: it is text an author wrote.
enum References {
    /// The fragment id of a work in a reference list.
    static func anchor(_ key: String) -> String { "ref-" + key }

    /// "(Bengio et al. 2003, p. 33; 1994)" for `[@bengio2003neural, p. 33; -@bengio1994learning]`,
    /// "Werbos (1990)" for `@werbos1990`; each work links to its entry in the chapter's list.
    /// `plain` (inside an attribute) gives text without markup.
    static func html(_ citation: Citation, works: [BibEntry], plain: Bool, links: PageLinks = .web) -> String {
        render(citation, works: works, plain: plain, escape: HTMLText.escape, links: links)
    }

    /// The citation as the words a reader sees, unescaped (for the search index and ids).
    static func text(_ citation: Citation, works: [BibEntry]) -> String {
        render(citation, works: works, plain: true, escape: { $0 }, links: .web)
    }

    private static func render(_ citation: Citation, works: [BibEntry], plain: Bool, escape: (String) -> String, links: PageLinks) -> String {
        let byID = Dictionary(works.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func link(_ text: String, _ entry: BibEntry) -> String {
            plain ? escape(text)
                : "<a class=\"cite\" href=\"\(HTMLText.escape(links.local(anchor(entry.id))))\" title=\"\(HTMLText.escape(plainEntry(entry)))\">\(HTMLText.escape(text))</a>"
        }
        func missing(_ key: String) -> String {
            plain ? "@\(escape(key))" : "<span class=\"cite unresolved\" title=\"no work with id \(HTMLText.escape(key)) in the bibliography\">@\(HTMLText.escape(key))?</span>"
        }
        if citation.inText, let item = citation.items.first {
            guard let e = byID[item.key] else { return missing(item.key) }
            return link("\(e.citationNames) (\(e.citationYear))", e)
        }
        let parts = citation.items.map { item -> String in
            guard let e = byID[item.key] else { return missing(item.key) }
            var out = item.prefix.isEmpty ? "" : escape(item.prefix) + " "
            out += link(item.suppressAuthor ? e.citationYear : "\(e.citationNames) \(e.citationYear)", e)
            if !item.locator.isEmpty { out += ", " + escape(item.locator) }
            return out
        }
        let inner = "(" + parts.joined(separator: "; ") + ")"
        return plain ? inner : "<span class=\"citation\">\(inner)</span>"
    }

    /// One entry of a reference list, Chicago author-date style:
    /// Bengio, Yoshua, Réjean Ducharme, …, and Christian Jauvin. 2003. “A Neural …” *JMLR* 3: 1137–1155.
    static func entryHTML(_ e: BibEntry) -> String { render(e, html: true) }

    /// The same entry as plain text (for a link's title).
    static func plainEntry(_ e: BibEntry) -> String { render(e, html: false) }

    private static func render(_ e: BibEntry, html: Bool) -> String {
        func esc(_ s: String) -> String { html ? HTMLText.escape(s) : s }
        func italic(_ s: String) -> String { html ? "<i>\(HTMLText.escape(s))</i>" : s }
        func sentence(_ s: String) -> String { s.last.map { ".?!".contains($0) } == true ? s : s + "." }
        var parts: [String] = []
        let people = e.authors.isEmpty ? e.editors : e.authors
        var names = listNames(people)
        if e.authors.isEmpty { names += people.count == 1 ? ", ed" : ", eds" }
        parts.append(esc(sentence(names)))
        parts.append(esc("\(e.citationYear)."))
        let quoted = ["article-journal", "article", "article-magazine", "article-newspaper", "paper-conference", "chapter",
                      "entry", "entry-dictionary", "entry-encyclopedia", "post", "post-weblog", "webpage", "speech"].contains(e.type)
        if quoted {
            parts.append(esc("“\(sentence(e.title))”"))
        } else {
            parts.append(italic(sentence(e.title)))
        }
        let pages = e.page.map { $0.replacingOccurrences(of: #"(?<=\d)\s*-+\s*(?=\d)"#, with: "–", options: .regularExpression) }
        var tail = ""
        switch e.type {
        case "article-journal", "article-magazine", "article-newspaper":
            if let c = e.containerTitle { tail += italic(c) }
            if let v = e.volume { tail += " " + esc(v) }
            if let i = e.issue { tail += esc(" (\(i))") }
            if let p = pages { tail += esc(e.volume == nil && e.issue == nil ? ", \(p)" : ": \(p)") }
            if !tail.isEmpty { tail += "." }
        case "paper-conference", "chapter":
            if let c = e.containerTitle { tail += "In " + italic(c) }
            if !e.authors.isEmpty && !e.editors.isEmpty { tail += esc(", edited by \(listNames(e.editors, invertFirst: false))") }
            if let col = e.collectionTitle { tail += esc(", ") + esc(col) + (e.volume.map { esc(" \($0)") } ?? "") }
            if let p = pages { tail += esc(", \(p)") }
            if !tail.isEmpty { tail += "." }
            if let pub = publisherText(e) { tail += " " + esc(sentence(pub)) }
        case "report", "thesis":
            let series = [e.genre, e.number].compactMap { $0 }.joined(separator: " ")
            if !series.isEmpty { tail += esc(sentence(series)) }
            if let pub = publisherText(e) { tail += (tail.isEmpty ? "" : " ") + esc(sentence(pub)) }
        case "article":
            if let c = e.containerTitle { tail += italic(c) + " " }
            if let n = e.number { tail += esc(n) }
            tail = tail.trimmingCharacters(in: .whitespaces)
            if !tail.isEmpty { tail += "." }
        default:
            if let c = e.containerTitle { tail += italic(c) + ". " }
            if let ed = e.edition { tail += esc(sentence("\(ed) ed")) + " " }
            if let pub = publisherText(e) { tail += esc(sentence(pub)) }
            tail = tail.trimmingCharacters(in: .whitespaces)
        }
        if !tail.isEmpty { parts.append(tail) }
        if let note = e.note { parts.append(esc(sentence(note))) }
        if let doi = e.doi {
            let url = "https://doi.org/" + doi
            parts.append(html ? "<a href=\"\(HTMLText.escape(url))\">\(HTMLText.escape(url))</a>." : url + ".")
        } else if let url = e.url {
            parts.append(html ? "<a href=\"\(HTMLText.escape(url))\">\(HTMLText.escape(url))</a>." : url + ".")
        }
        return parts.joined(separator: " ")
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
    static func list(_ works: [BibEntry], cited: [String: [(slug: String, title: String)]] = [:], links: PageLinks = .web) -> String {
        var out = "<ol class=\"reference-list\">"
        for e in works {
            out += "<li id=\"\(HTMLText.escape(links.id(anchor(e.id))))\">\(entryHTML(e))"
            if let chapters = cited[e.id], !chapters.isEmpty {
                out += " <span class=\"cited-in\">Cited in " + chapters.map {
                    "<a href=\"\(HTMLText.escape(HTMLText.pageHref($0.slug)))\">\(HTMLText.escape($0.title))</a>"
                }.joined(separator: ", ") + ".</span>"
            }
            out += "</li>"
        }
        return out + "</ol>"
    }

    /// Every work the book cites, with the chapters citing it, for the contents page.
    static func bookSection(_ chapters: [Chapter]) -> String {
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
        return "<section class=\"references\"><h2 id=\"\(links.id(id))\">References</h2>\(HTML(trusted: References.list(works, links: links)))</section>"
    }
}
