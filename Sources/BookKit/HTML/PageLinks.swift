/// How a chapter page names its anchors and links. A web page uses them as they are; in the
/// print book (every chapter in one document) each id gets its chapter's slug in front (every
/// page has its own `check-1`, `block-1`) and links between chapters become links inside the
/// document. The page asks here for every id and link it writes, so nothing rewrites its HTML.
struct PageLinks: Sendable {
    /// `slug--` in the print book; nil on the web.
    private(set) var idPrefix: String?
    /// The chapters of the print book: links to them stay inside it.
    private(set) var printed: Set<String> = []

    static let web = PageLinks()

    /// The links of chapter `slug` inside the print book of the chapters `slugs`.
    static func print(slug: String, slugs: Set<String>) -> PageLinks {
        PageLinks(idPrefix: slug + "--", printed: slugs)
    }

    var isPrint: Bool { idPrefix != nil }

    /// An element's id.
    func id(_ id: String) -> String { (idPrefix ?? "") + id }

    /// A link to `id` on this page.
    func local(_ id: String) -> String { "#" + self.id(id) }

    /// A link to chapter `slug` (at `fragment`, an id on its page).
    func page(_ slug: String, fragment: String? = nil) -> String {
        guard isPrint, printed.contains(slug) else { return HTMLText.pageHref(slug, fragment: fragment) }
        return fragment.map { "#\(slug)--\($0)" } ?? "#" + PrintBook.chapterID(slug)
    }

    /// The contents: the index page, or the print book's table of contents.
    var contents: String { isPrint ? "#contents" : "index.html" }

    /// A link the author wrote in the Markdown, before escaping: `#x` is on this page, `02-rnn.html#x`
    /// a chapter, `index.html` the contents; anything else is left as written.
    func authored(_ destination: String) -> String {
        guard isPrint else { return destination }
        if destination.hasPrefix("#") { return local(String(destination.dropFirst())) }
        let parts = destination.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let file = String(parts[0])
        if file == "index.html" { return contents }
        guard file.hasSuffix(".html"), !file.contains("/"), !file.contains(":"),
              let slug = String(file.dropLast(5)).removingPercentEncoding, printed.contains(slug) else { return destination }
        return page(slug, fragment: parts.count == 2 ? String(parts[1]) : nil)
    }
}
