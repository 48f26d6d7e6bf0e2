import Foundation

/// The book's prose cut into sections for the search box, written as `search-index.js` (a script
/// that sets a global, because `fetch` of a local JSON file fails from `file://`).
struct SearchIndex {
    struct Entry: Codable, Equatable {
        /// Page file (`02-rnn.html`) and section anchor (empty: the top of the page).
        var page: String
        var anchor: String
        var chapter: String
        var section: String
        var text: String
    }
    private(set) var entries: [Entry] = []

    /// A part of a page a search result leads to: the text under one heading (or exercise).
    struct Section {
        /// The heading's id (empty: the top of the page).
        var anchor: String
        /// The heading as the reader sees it, with its number.
        var title: String
        var text: String
    }

    /// Adds a chapter page's prose as the page gathered it while rendering (`ChapterPage.searchSections`):
    /// its text without code, verdicts or display maths, cut at every heading that has an id.
    mutating func add(sections: [Section], slug: String, title: String) {
        let page = HTMLText.pageHref(slug)
        for s in sections {
            let text = Self.squeeze(s.text)
            if !text.isEmpty { entries.append(Entry(page: page, anchor: s.anchor, chapter: title, section: Self.squeeze(s.title), text: text)) }
        }
    }

    /// `window.RNNBOOK_SEARCH = [...]`: a script, so the pages can load it from `file://`.
    var javascript: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(entries)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return "// Search index of the book's prose, written by rnnbook build.\nwindow.RNNBOOK_SEARCH = \(json);\n"
    }

    static func squeeze(_ s: String) -> String {
        s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// TeX without commands and braces, for matching and snippets: `\mathbf{W}_{xh}` → `W_xh`,
    /// `\mid` → `|`, `\alpha` → `α`. (A scan of the author's TeX, not of any HTML.)
    static func plainTeX(_ tex: String) -> String {
        var out = ""
        var chars = tex[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "\\" else { if c != "{" && c != "}" { out.append(c) }; continue }
            let name = chars.prefix { $0.isASCII && $0.isLetter }
            if name.isEmpty {
                // `\,` `\;` `\!` are spacing; any other escaped character is itself.
                if let next = chars.first { chars = chars.dropFirst(); if !",;!".contains(next) && next != "{" && next != "}" { out.append(next) } }
                continue
            }
            chars = chars.dropFirst(name.count)
            if Self.dropped.contains(String(name)) { continue }
            out += Self.symbols[String(name)] ?? String(name)
        }
        return out
    }

    /// Commands that only style or space what follows.
    static let dropped: Set<String> = ["left", "right", "mathbf", "mathrm", "operatorname", "boldsymbol", "mathbb", "mathcal",
                                       "text", "big", "Big", "bigg", "Bigg", "quad", "qquad"]

    static let symbols: [String: String] = [
        "mid": "|", "ldots": "…", "dots": "…", "cdots": "⋯", "approx": "≈", "in": "∈", "times": "×", "cdot": "·",
        "sum": "∑", "prod": "∏", "partial": "∂", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "to": "→",
        "infty": "∞", "nabla": "∇", "top": "⊤", "odot": "⊙", "log": "log", "exp": "exp", "min": "min", "max": "max",
        "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ",
        "mu": "μ", "pi": "π", "sigma": "σ", "tau": "τ", "phi": "φ", "xi": "ξ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ",
    ]

    /// The search box every page carries; `book.js`'s search part (CourseAssets.script) fills the list.
    static let box = """
    <form class="search" role="search" onsubmit="return false"><input type="search" id="search-input" \
    placeholder="Search the book" aria-label="Search the book" autocomplete="off"></form>\
    <div id="search-results" class="search-results" aria-live="polite" hidden></div>
    """
}
