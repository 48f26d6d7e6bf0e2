import BookProtocol

/// What a page puts where the prose tree has a lifted item or a heading; everything else in
/// the tree renders as CommonMark's HTML (byte for byte what libcmark writes, tested against it).
protocol ProseRendering {
    /// A lifted item; `plain`: inside an attribute (an image's alt text), escaped text only.
    mutating func liftedHTML(_ item: InlineItem, plain: Bool) -> String
    /// A heading without its trailing newline; `content` is its rendered inlines.
    mutating func headingHTML(level: Int, content: String, inlines: [ProseInline], section: SectionInfo?) -> String
    /// Where a link the author wrote goes (before escaping); the print book keeps it inside the document.
    func linkDestination(_ destination: String) -> String
}

extension ProseRendering {
    mutating func headingHTML(level: Int, content: String, inlines: [ProseInline], section: SectionInfo?) -> String {
        "<h\(level)>\(content)</h\(level)>"
    }

    func linkDestination(_ destination: String) -> String { destination }

    /// `blocks` as HTML, as libcmark renders them (raw HTML omitted, unsafe link targets emptied).
    mutating func proseHTML(_ blocks: [ProseBlock]) -> String {
        var out = ""
        for block in blocks { render(block, tight: false, into: &out) }
        return out
    }

    /// Inlines as HTML (what goes between `<p>` and `</p>`).
    mutating func inlineHTML(_ inlines: [ProseInline]) -> String {
        var out = ""
        for item in inlines { render(item, into: &out) }
        return out
    }

    private mutating func render(_ block: ProseBlock, tight: Bool, into out: inout String) {
        func cr() { if let last = out.last, last != "\n" { out += "\n" } }
        switch block.kind {
        case .paragraph(let inlines):
            if tight { out += inlineHTML(inlines); return }
            cr(); out += "<p>" + inlineHTML(inlines) + "</p>\n"
        case .heading(let level, let inlines, let section):
            cr()
            out += headingHTML(level: level, content: inlineHTML(inlines), inlines: inlines, section: section) + "\n"
        case .list(let list):
            cr()
            let tag = list.ordered ? "ol" : "ul"
            out += list.ordered && list.start != 1 ? "<ol start=\"\(list.start)\">\n" : "<\(tag)>\n"
            for item in list.items {
                cr(); out += "<li>"
                for inner in item { render(inner, tight: list.tight, into: &out) }
                out += "</li>\n"
            }
            out += "</\(tag)>\n"
        case .quote(let inner):
            cr(); out += "<blockquote>\n"
            for b in inner { render(b, tight: false, into: &out) }
            cr(); out += "</blockquote>\n"
        case .code(let info, let literal):
            cr(); out += "<pre><code"
            let language = info.prefix { $0 != " " && $0 != "\t" }
            if !language.isEmpty { out += " class=\"language-\(CommonMarkEscape.text(String(language)))\"" }
            out += ">" + CommonMarkEscape.text(literal) + "</code></pre>\n"
        case .html:
            cr(); out += "<!-- raw HTML omitted -->"; cr()
        case .thematicBreak:
            cr(); out += "<hr />\n"
        }
    }

    private mutating func render(_ inline: ProseInline, into out: inout String) {
        switch inline {
        case .text(let s): out += CommonMarkEscape.text(s)
        case .code(let s): out += "<code>" + CommonMarkEscape.text(s) + "</code>"
        case .softBreak: out += "\n"
        case .lineBreak: out += "<br />\n"
        case .html: out += "<!-- raw HTML omitted -->"
        case .emphasis(let c): out += "<em>" + inlineHTML(c) + "</em>"
        case .strong(let c): out += "<strong>" + inlineHTML(c) + "</strong>"
        case .link(let destination, let title, let content):
            out += "<a href=\"" + CommonMarkEscape.href(linkDestination(destination)) + "\""
            if !title.isEmpty { out += " title=\"" + CommonMarkEscape.text(title) + "\"" }
            out += ">" + inlineHTML(content) + "</a>"
        case .image(let source, let title, let alt):
            out += "<img src=\"" + CommonMarkEscape.href(source) + "\" alt=\"" + altText(alt) + "\""
            if !title.isEmpty { out += " title=\"" + CommonMarkEscape.text(title) + "\"" }
            out += " />"
        case .lifted(let item): out += liftedHTML(item, plain: false)
        }
    }

    /// An image's alt text: its inlines as plain, escaped text.
    mutating func altText(_ inlines: [ProseInline]) -> String {
        var out = ""
        for item in inlines {
            switch item {
            case .text(let s), .code(let s): out += CommonMarkEscape.text(s)
            case .softBreak, .lineBreak: out += " "
            case .html: break
            case .emphasis(let c), .strong(let c), .link(_, _, let c), .image(_, _, let c): out += altText(c)
            case .lifted(let i): out += liftedHTML(i, plain: true)
            }
        }
        return out
    }
}

/// libcmark's escaping (`houdini_escape_html0` without `secure`, and `houdini_escape_href`).
enum CommonMarkEscape {
    /// Text and attribute values: `&`, `<`, `>` and `"`.
    static func text(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// A link target: empty when it is a script or file URL (CMARK_OPT_UNSAFE is off), else
    /// percent-encoded outside the characters URLs allow, with `&` and `'` as entities.
    static func href(_ url: String) -> String {
        if isDangerous(url) { return "" }
        var out = ""
        let hex = Array("0123456789ABCDEF")
        for byte in url.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out += "&amp;"
            case UInt8(ascii: "'"): out += "&#x27;"
            case _ where safe(byte): out.unicodeScalars.append(Unicode.Scalar(byte))
            default: out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    private static func safe(_ b: UInt8) -> Bool {
        if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) { return true }
        return "-_.+!*(),%#@?=;:/$~".utf8.contains(b)
    }

    /// `javascript:`, `vbscript:`, `file:`, and `data:` other than a PNG, GIF, JPEG or WebP image.
    private static func isDangerous(_ url: String) -> Bool {
        let lower = url.lowercased()
        if lower.hasPrefix("javascript:") || lower.hasPrefix("vbscript:") || lower.hasPrefix("file:") { return true }
        guard lower.hasPrefix("data:") else { return false }
        return !["png", "gif", "jpeg", "webp"].contains { lower.hasPrefix("data:image/" + $0) }
    }
}

/// Renders prose as libcmark would, lifted items as placeholders' plain text: for tests and
/// for text that has no page around it.
struct PlainProse: ProseRendering {
    mutating func liftedHTML(_ item: InlineItem, plain: Bool) -> String {
        switch item {
        case .math(let tex): CommonMarkEscape.text(tex)
        case .value(let name, _, _): CommonMarkEscape.text(name)
        case .claim(let c): CommonMarkEscape.text(c.statement)
        case .reference(let label, _): "@" + CommonMarkEscape.text(label)
        case .citation(let c): CommonMarkEscape.text(c.items.map { "@" + $0.key }.joined(separator: "; "))
        case .quoted(let text, _): CommonMarkEscape.text(text)
        }
    }
}
