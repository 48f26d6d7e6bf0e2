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

    /// Adds the prose of a rendered chapter page: its article without code cells, badges and
    /// display maths, cut at every heading that has an id.
    mutating func add(pageHTML html: String, slug: String, title: String) {
        guard let start = html.range(of: "<article class=\"chapter\">"),
              let end = html.range(of: "</article>", options: .backwards), start.upperBound <= end.lowerBound else { return }
        var body = String(html[start.upperBound..<end.lowerBound])
        for pattern in [
            #"(?s)<section class="cell[^"]*"[^>]*>.*?</section>"#,             // code and its output
            #"(?s)<section class="other-checks">.*?</section>"#,
            #"(?s)<span class="badge[^"]*"[^>]*>.*?</span></span>"#,            // verdict badges and their details
            #"(?s)<div class="equation"[^>]*>.*?</div></div>"#,                // display maths
            #"<a class="anchor"[^>]*>#</a>"#,
        ] {
            body = body.replacingOccurrences(of: pattern, with: " ", options: [.regularExpression])
        }
        // Blocks end in a space, so a caption and the next paragraph do not run together.
        body = body.replacingOccurrences(of: #"</(p|li|figcaption|h[1-6]|div|td|th|blockquote|pre|figure|tr)>"#, with: "$0 ", options: .regularExpression)
        // Inline maths reads as its symbols: \(\mathbf{H}_{t-1}\) becomes H_t-1.
        body = Self.replace(#"<span class="math inline">\\\((.*?)\\\)</span>"#, in: body) { tex in
            " " + Self.plainTeX(HTMLText.plainText(fromHTML: tex)) + " "
        }
        let page = HTMLText.pageHref(slug)
        let headings = try! NSRegularExpression(pattern: #"<h[2-6] id="([^"]+)">(.*?)</h[2-6]>"#, options: [.dotMatchesLineSeparators])
        let ns = body as NSString
        var anchor = "", section = ""
        var last = 0
        func flush(upTo location: Int) {
            let text = Self.squeeze(HTMLText.plainText(fromHTML: ns.substring(with: NSRange(location: last, length: location - last))))
            if !text.isEmpty { entries.append(Entry(page: page, anchor: anchor, chapter: title, section: section, text: text)) }
        }
        for m in headings.matches(in: body, range: NSRange(location: 0, length: ns.length)) {
            flush(upTo: m.range.location)
            anchor = ns.substring(with: m.range(at: 1))
            section = Self.squeeze(HTMLText.plainText(fromHTML: ns.substring(with: m.range(at: 2))))
            last = m.range.location + m.range.length
        }
        flush(upTo: ns.length)
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
    /// `\mid` → `|`, `\alpha` → `α`.
    static func plainTeX(_ tex: String) -> String {
        var s = tex.replacingOccurrences(of: #"\\(left|right|mathbf|mathrm|operatorname|boldsymbol|mathbb|mathcal|text|big|Big|bigg|Bigg|quad|qquad|,|;|!)(?![A-Za-z])"#, with: "", options: .regularExpression)
        s = Self.replace(#"\\([A-Za-z]+)"#, in: s) { Self.symbols[$0] ?? $0 }
        return s.filter { $0 != "{" && $0 != "}" }
    }

    static let symbols: [String: String] = [
        "mid": "|", "ldots": "…", "dots": "…", "cdots": "⋯", "approx": "≈", "in": "∈", "times": "×", "cdot": "·",
        "sum": "∑", "prod": "∏", "partial": "∂", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "to": "→",
        "infty": "∞", "nabla": "∇", "top": "⊤", "odot": "⊙", "log": "log", "exp": "exp", "min": "min", "max": "max",
        "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ",
        "mu": "μ", "pi": "π", "sigma": "σ", "tau": "τ", "phi": "φ", "xi": "ξ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ",
    ]

    private static func replace(_ pattern: String, in text: String, with transform: (String) -> String) -> String {
        let regex = try! NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators])
        let ns = text as NSString
        var out = "", last = 0
        for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
            out += transform(ns.substring(with: m.range(at: 1)))
            last = m.range.location + m.range.length
        }
        return out + ns.substring(from: last)
    }

    /// The search box every page carries; `book.js`'s search part (CourseAssets.script) fills the list.
    static let box = """
    <form class="search" role="search" onsubmit="return false"><input type="search" id="search-input" \
    placeholder="Search the book" aria-label="Search the book" autocomplete="off"></form>\
    <div id="search-results" class="search-results" aria-live="polite" hidden></div>
    """
}
