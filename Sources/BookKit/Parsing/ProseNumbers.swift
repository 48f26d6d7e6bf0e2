import Foundation

/// A decimal number or a percentage typed into prose by hand (issue 23, item 7): the lifter finds
/// every candidate in the text it passes to cmark, and the parser keeps those that cmark shows as
/// text (not in a link's destination, raw HTML, an autolink or an indented code block).
///
/// What counts, outside maths, code, `{{…}}`, labels `{#…}`, citations and cross-references:
/// - a decimal: digits with a fraction (`0.5`, `1,000.25`), a leading-dot fraction (`.5`), or
///   scientific notation (`1e-3`, `2.5E4`);
/// - a percentage: a number followed by `%` or the word `percent` / `per cent`, with or without
///   a space (`97 %`, `97%`, `3.5 %`, `97 percent`).
///
/// Not counted: integers (`512`, `1,000`, years, dates such as `2024-01-05`), a number glued to a
/// word before it (`v1.5`, `x2.5`, `fp16`), and version-like numbers with two or more dots
/// (`6.0.3`, `0.30.2`, `05.12.2024`).
struct ProseNumber: Sendable, Equatable {
    /// As written: `0.5`, `97 %`, `1e-3`, `5 percent`.
    var text: String
    /// The number alone (`97` for `97 %`).
    var number: String
    var isPercentage: Bool
    var location: SourceLocation
    /// 0-based line of the lifted text and 1-based UTF-8 column in it, as cmark counts.
    var liftedLine: Int
    var liftedColumn: Int

    /// The input error for a number that cmark shows as prose.
    var error: BookError {
        let what = isPercentage ? "percentage" : "number"
        var value = "{{name}}", claim = "{{name ≈ \(number) ± …}}"
        if isPercentage, let v = Double(number.replacingOccurrences(of: ",", with: "")) {
            let places = number.split(separator: ".").dropFirst().first?.count ?? 0
            value = "{{name:.\(places)%}}"
            claim = "{{name:.\(places)% ≈ \(ProseNumber.plain(v / 100)) ± …}}"
        }
        return BookError("the prose quotes the \(what) \(text) by hand; show a recorded value (\(value)), claim it (\(claim)), or mark it quoted ({{quoted: \(text)}}) if it comes from elsewhere (a paper, a definition)", at: location)
    }

    private static func plain(_ v: Double) -> String {
        var s = String(format: "%.10f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}

/// The decimal or percentage that starts at `c[i]`, if one does (see `ProseNumber`); nil for an
/// integer, a version-like number, or a number glued to the word before it.
func proseNumberToken(_ c: [Character], at i: Int) -> (text: String, number: String, isPercentage: Bool)? {
    func digit(_ k: Int) -> Bool { k >= 0 && k < c.count && c[k].isASCII && c[k].isNumber }
    func wordChar(_ k: Int) -> Bool { k >= 0 && k < c.count && (c[k].isLetter || c[k].isNumber || c[k] == "_") }
    guard digit(i) || (c[i] == "." && digit(i + 1)) else { return nil }
    // Only at the start of a number: not after a word, another digit, a dot or a digit group.
    if i > 0 {
        let p = c[i - 1]
        if wordChar(i - 1) || p == "." || (p == "," && digit(i - 2)) { return nil }
    }
    var k = i
    var fraction = false
    while digit(k) { k += 1 }
    // Digit groups: 1,000 or 12,345,678 (a comma then exactly three digits).
    while k < c.count && c[k] == "," && digit(k + 1) && digit(k + 2) && digit(k + 3) && !digit(k + 4) { k += 4 }
    if k < c.count && c[k] == "." && digit(k + 1) {
        k += 1
        while digit(k) { k += 1 }
        fraction = true
        // 6.0.3, 0.30.2: a version or a date, not a quantity.
        if k < c.count && c[k] == "." && digit(k + 1) { return nil }
    }
    var exponent = false
    if k < c.count && (c[k] == "e" || c[k] == "E") {
        var e = k + 1
        if e < c.count && (c[e] == "-" || c[e] == "+" || c[e] == "−") { e += 1 }
        if digit(e) {
            while digit(e) { e += 1 }
            if !wordChar(e) { k = e; exponent = true }
        }
    }
    let number = String(c[i..<k])
    // A percentage: `%` or the word percent / per cent, after optional horizontal space.
    var p = k
    while p < c.count && (c[p] == " " || c[p] == "\u{00A0}" || c[p] == "\u{2009}" || c[p] == "\u{202F}") { p += 1 }
    if p < c.count && c[p] == "%" {
        return (String(c[i...p]), number, true)
    }
    for word in ["percent", "per cent"] {
        let w = Array(word)
        if p > k, p + w.count <= c.count, String(c[p..<(p + w.count)]).lowercased() == word, !wordChar(p + w.count) {
            return (String(c[i..<(p + w.count)]), number, true)
        }
    }
    // A number glued to the word after it by a digit (`2.5a3`) is still the decimal 2.5.
    return fraction || exponent ? (number, number, false) : nil
}

/// Where cmark shows text: the UTF-8 column ranges (1-based, inclusive) of its text nodes on one
/// line of the lifted text.
struct TextSpan: Sendable, Equatable {
    var line: Int
    var start: Int
    var end: Int
}
