import Foundation

/// HTML escaping and number formatting shared by every page writer.
public enum HTMLText {
    /// Escapes text for an element body or a quoted attribute value.
    /// Everything a program prints goes through here, so `<script>` is shown, never run.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // The inline placeholder delimiters must never survive into a page.
            case "\u{E000}", "\u{E001}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// A fragment id from heading text: lower case, ASCII letters and digits, CJK kept, dashes between.
    static func slug(_ text: String) -> String {
        var out = ""
        var pendingDash = false
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber {
                if pendingDash && !out.isEmpty { out.append("-") }
                pendingDash = false
                out.append(ch)
            } else {
                pendingDash = true
            }
        }
        return out.isEmpty ? "section" : out
    }
}

/// Formats a recorded value with a Python-style spec: `.2f`, `.3e`, `.4g`, `.1%`, `,.0f`, `d`.
/// Without a spec, integers print plainly and other values with four significant digits.
public func formatValue(_ value: Double, spec: String?) -> String {
    guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
    guard var spec = spec?.trimmingCharacters(in: .whitespaces), !spec.isEmpty else {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }
    var grouping = false
    if spec.hasPrefix(",") { grouping = true; spec.removeFirst() }
    var precision: Int?
    var kind: Character = "g"
    if let last = spec.last, "fFeEgGd%".contains(last) { kind = last; spec.removeLast() }
    if spec.hasPrefix("."), let p = Int(spec.dropFirst()) { precision = p }
    var text: String
    switch kind {
    case "f", "F": text = String(format: "%.\(precision ?? 6)f", value)
    case "e", "E": text = String(format: "%.\(precision ?? 6)e", value)
    case "d": text = String(Int(value.rounded()))
    case "%": text = String(format: "%.\(precision ?? 6)f", value * 100) + "%"
    default: text = String(format: "%.\(precision ?? 6)g", value)
    }
    if grouping { text = groupThousands(text) }
    return text
}

private func groupThousands(_ text: String) -> String {
    var sign = ""
    var body = Substring(text)
    if body.hasPrefix("-") { sign = "-"; body = body.dropFirst() }
    let integerEnd = body.firstIndex(where: { !$0.isNumber }) ?? body.endIndex
    let integer = Array(body[..<integerEnd])
    var grouped = ""
    for (i, d) in integer.enumerated() {
        if i > 0 && (integer.count - i) % 3 == 0 { grouped.append(",") }
        grouped.append(d)
    }
    return sign + grouped + body[integerEnd...]
}

extension HTMLText {
    /// The link to a chapter's page: its slug percent-encoded (`ch #1?` → `ch%20%231%3F.html`),
    /// so that a `#` or `?` in a file name does not open another page; HTML-escape it as well.
    static func pageHref(_ slug: String, fragment: String? = nil) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#;/")
        let encoded = slug.addingPercentEncoding(withAllowedCharacters: allowed) ?? slug
        return encoded + ".html" + (fragment.map { "#" + $0 } ?? "")
    }
}
