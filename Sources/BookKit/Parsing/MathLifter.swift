import Foundation

/// A display equation found by the lifter before cmark runs.
struct LiftedDisplay: Sendable, Equatable {
    var tex: String
    var label: String?
    var location: SourceLocation
    /// `{#eq-x unchecked="reason"}`: why no check touches this numbered equation.
    var unchecked: String? = nil
}

/// The Markdown body with maths, templates and references replaced by private-use placeholders,
/// so that cmark never sees (and never mangles) `_`, `*` or `\` inside them.
struct LiftedText: Sendable {
    /// Text for cmark.
    var text: String
    /// Original (file) line of each line of `text`, 0-based index.
    var originalLine: [Int]
    var inlines: [InlineItem]
    var displays: [LiftedDisplay]
    /// `{#sec-…}` and `{#fig-…}` labels, taken out of the text.
    var attributes: [AttributeLabel] = []
    /// Decimals and percentages left in the text (see `ProseNumber`); the parser keeps those cmark shows as text.
    var numbers: [ProseNumber] = []
}

enum Placeholder {
    static let inlineOpen: Character = "\u{E000}"
    static let inlineClose: Character = "\u{E001}"
    static let displayOpen: Character = "\u{E002}"
    static let displayClose: Character = "\u{E003}"
    static func inline(_ n: Int) -> String { "\(inlineOpen)\(n)\(inlineClose)" }
    static func display(_ n: Int) -> String { "\(displayOpen)\(n)\(displayClose)" }
}

/// A cmark text node's literal with its placeholders turned back into what the lifter took out:
/// an inline placeholder is its item, a display placeholder that cmark put inside something
/// else (a list item, a quote) is inline maths. A delimiter without a valid number stays as
/// U+FFFD, never as a private-use character on a page.
func liftedInlines(_ literal: String, lifted: LiftedText) -> [ProseInline] {
    guard literal.unicodeScalars.contains(where: { $0.value >= 0xE000 && $0.value <= 0xE003 }) else { return [.text(literal)] }
    var out: [ProseInline] = []
    var text = ""
    var scalars = literal.unicodeScalars[...]
    while let c = scalars.popFirst() {
        let open = Character(c)
        guard open == Placeholder.inlineOpen || open == Placeholder.displayOpen else {
            text.unicodeScalars.append(c.value >= 0xE000 && c.value <= 0xE003 ? "\u{FFFD}" : c)
            continue
        }
        let close = open == Placeholder.inlineOpen ? Placeholder.inlineClose : Placeholder.displayClose
        let digits = String(String.UnicodeScalarView(scalars.prefix { Character($0) != close }))
        let item: InlineItem? = Int(digits).flatMap { n in
            open == Placeholder.inlineOpen ? (n < lifted.inlines.count ? lifted.inlines[n] : nil)
                : (n < lifted.displays.count ? .math(tex: lifted.displays[n].tex) : nil)
        }
        guard let item, scalars.count > digits.unicodeScalars.count else { text += "\u{FFFD}"; continue }
        scalars = scalars.dropFirst(digits.unicodeScalars.count + 1)
        if !text.isEmpty { out.append(.text(text)); text = "" }
        out.append(.lifted(item))
    }
    if !text.isEmpty { out.append(.text(text)) }
    return out
}

/// Lifts maths out of `body`, whose first line is line `firstLine` of `file`.
func liftMath(from body: String, file: String, firstLine: Int = 1) throws -> LiftedText {
    var lifter = Lifter(file: file)
    let lines = body.components(separatedBy: "\n")
    var i = 0
    var chunk: [String] = []
    var chunkStart = firstLine
    func flushChunk() throws {
        if !chunk.isEmpty { try lifter.scanText(chunk.joined(separator: "\n"), firstLine: chunkStart) }
        chunk = []
    }
    while i < lines.count {
        let line = lines[i]
        if let fence = fenceOpening(line) {
            try flushChunk()
            // Copy the fenced block verbatim: maths inside code is code.
            lifter.emitVerbatimLine(line, originalLine: firstLine + i)
            i += 1
            while i < lines.count {
                let l = lines[i]
                lifter.emitVerbatimLine(l, originalLine: firstLine + i)
                i += 1
                if isFenceClosing(l, fence: fence) { break }
            }
            chunkStart = firstLine + i
            continue
        }
        if chunk.isEmpty { chunkStart = firstLine + i }
        chunk.append(line)
        i += 1
    }
    try flushChunk()
    return LiftedText(text: lifter.out, originalLine: lifter.lineMap, inlines: lifter.inlines, displays: lifter.displays,
                      attributes: lifter.attributes, numbers: lifter.numbers)
}

private func fenceOpening(_ line: String) -> (char: Character, count: Int)? {
    let indent = line.prefix(while: { $0 == " " }).count
    guard indent <= 3 else { return nil }
    let rest = line.dropFirst(indent)
    guard let c = rest.first, c == "`" || c == "~" else { return nil }
    let n = rest.prefix(while: { $0 == c }).count
    guard n >= 3 else { return nil }
    if c == "`" && rest.dropFirst(n).contains("`") { return nil }
    return (c, n)
}

private func isFenceClosing(_ line: String, fence: (char: Character, count: Int)) -> Bool {
    let indent = line.prefix(while: { $0 == " " }).count
    guard indent <= 3 else { return false }
    let rest = line.dropFirst(indent)
    let n = rest.prefix(while: { $0 == fence.char }).count
    return n >= fence.count && rest.dropFirst(n).allSatisfy { $0 == " " || $0 == "\t" }
}

private struct Lifter {
    let file: String
    var out = ""
    var lineMap: [Int] = []
    var inlines: [InlineItem] = []
    var displays: [LiftedDisplay] = []
    var attributes: [AttributeLabel] = []
    var numbers: [ProseNumber] = []
    /// UTF-8 offset in `out` where its last line starts.
    var lineStart = 0

    init(file: String) { self.file = file }

    mutating func newOutputLine(originalLine: Int) {
        if lineMap.isEmpty { lineMap.append(originalLine); return }
        out.append("\n")
        lineMap.append(originalLine)
        lineStart = out.utf8.count
    }

    mutating func emitVerbatimLine(_ line: String, originalLine: Int) {
        newOutputLine(originalLine: originalLine)
        out += line
    }

    /// Scans consecutive non-fence lines.
    mutating func scanText(_ text: String, firstLine: Int) throws {
        let c = Array(text)
        var i = 0
        var line = firstLine
        var column = 1
        // Text before this index is not prose (the inside of a `{#…}` label).
        var quietUntil = 0
        newOutputLine(originalLine: line)

        func loc(_ l: Int, _ col: Int) -> SourceLocation { SourceLocation(file: file, line: l, column: col) }
        // Advances over c[from..<to], tracking line and column, without emitting.
        func skip(_ from: Int, _ to: Int, line: inout Int, column: inout Int) {
            for k in from..<to { if c[k] == "\n" { line += 1; column = 1 } else { column += 1 } }
        }
        func find(_ pattern: String, from: Int, stopAtBlankLine: Bool = true) -> Int? {
            let p = Array(pattern)
            var k = from
            while k + p.count <= c.count {
                if stopAtBlankLine && c[k] == "\n" {
                    var j = k + 1
                    while j < c.count && (c[j] == " " || c[j] == "\t") { j += 1 }
                    if j < c.count && c[j] == "\n" { return nil }
                }
                if c[k] == "\\" && p != ["\\", ")"] && p != ["\\", "]"] { k += 2; continue }
                if Array(c[k..<(k + p.count)]) == p { return k }
                k += 1
            }
            return nil
        }
        func atParagraphStart(_ k: Int) -> Bool {
            var j = k - 1
            while j >= 0 && (c[j] == " " || c[j] == "\t") { j -= 1 }
            if j < 0 { return true }
            guard c[j] == "\n" else { return false }
            j -= 1
            while j >= 0 && (c[j] == " " || c[j] == "\t") { j -= 1 }
            return j < 0 || c[j] == "\n"
        }

        while i < c.count {
            let ch = c[i]
            if ch == "\n" {
                line += 1; column = 1; i += 1
                newOutputLine(originalLine: line)
                continue
            }
            // Code spans are code: copy through the matching backtick run.
            if ch == "`" {
                let n = c[i...].prefix(while: { $0 == "`" }).count
                var k = i + n
                var close: Int?
                while k < c.count {
                    if c[k] == "`" {
                        let m = c[k...].prefix(while: { $0 == "`" }).count
                        if m == n { close = k; break }
                        k += m
                    } else { k += 1 }
                }
                let end = close.map { $0 + n } ?? (i + n)
                for k in i..<end {
                    if c[k] == "\n" { line += 1; column = 1; newOutputLine(originalLine: line) } else { out.append(c[k]); column += 1 }
                }
                i = end
                continue
            }
            if ch == "\\" && i + 1 < c.count {
                if c[i + 1] == "(", let close = find("\\)", from: i + 2) {
                    let tex = String(c[(i + 2)..<close])
                    out += Placeholder.inline(inlines.count)
                    inlines.append(.math(tex: tex))
                    skip(i, close + 2, line: &line, column: &column)
                    i = close + 2
                    continue
                }
                out.append(c[i]); out.append(c[i + 1]); column += 2; i += 2
                continue
            }
            if ch == "$" && i + 1 < c.count && c[i + 1] == "$" {
                if let close = find("$$", from: i + 2, stopAtBlankLine: true) {
                    let tex = String(c[(i + 2)..<close])
                    var after = close + 2
                    // Optional Quarto label right after the closing $$.
                    var label: String?
                    var unchecked: String?
                    var k = after
                    while k < c.count && (c[k] == " " || c[k] == "\t") { k += 1 }
                    if k + 1 < c.count && c[k] == "{" && c[k + 1] == "#" {
                        var labelLine = line, labelColumn = column
                        skip(i, k, line: &labelLine, column: &labelColumn)
                        // The closing brace is the first one outside a quoted attribute value.
                        var end: Int?
                        var quoted = false
                        var e = k + 2
                        while e < c.count && c[e] != "\n" {
                            if c[e] == "\"" { quoted.toggle() } else if c[e] == "}" && !quoted { end = e; break }
                            e += 1
                        }
                        let inner = end.map { String(c[(k + 2)..<$0]) } ?? String(c[(k + 2)...].prefix(while: { $0 != "\n" }))
                        let candidate = String(inner.prefix(while: { !$0.isWhitespace }))
                        guard let end, isValidLabel(candidate) else {
                            throw BookError("malformed equation label '{#\(inner)\(end == nil ? "" : "}")'; expected {#eq-NAME} with NAME made of letters, digits, '-' and '_' (so that @eq-NAME can refer to it)\(quoted ? ", and a closed quote in unchecked=\"reason\"" : "")", at: loc(labelLine, labelColumn))
                        }
                        let attribute = inner.dropFirst(candidate.count).trimmingCharacters(in: .whitespaces)
                        if !attribute.isEmpty {
                            guard let m = attribute.wholeMatch(of: #/unchecked="([^"]*)"/#) else {
                                throw BookError("equation label '{#\(inner)}': unknown attribute '\(attribute)'; the one attribute is unchecked=\"why no check touches this equation\"", at: loc(labelLine, labelColumn))
                            }
                            let reason = String(m.1).trimmingCharacters(in: .whitespaces)
                            guard !reason.isEmpty else {
                                throw BookError("equation label '{#\(inner)}': unchecked=\"\" gives no reason; say why no check touches \(candidate)", at: loc(labelLine, labelColumn))
                            }
                            unchecked = reason
                        }
                        label = candidate
                        after = end + 1
                    }
                    var rest = after
                    while rest < c.count && (c[rest] == " " || c[rest] == "\t") { rest += 1 }
                    let endsParagraph = rest == c.count || (c[rest] == "\n" && {
                        var j = rest + 1
                        while j < c.count && (c[j] == " " || c[j] == "\t") { j += 1 }
                        return j == c.count || c[j] == "\n"
                    }())
                    if atParagraphStart(i) && endsParagraph {
                        displays.append(LiftedDisplay(tex: tex.trimmingCharacters(in: .whitespacesAndNewlines), label: label, location: loc(line, column),
                                                      unchecked: unchecked))
                        out += Placeholder.display(displays.count - 1)
                        skip(i, rest, line: &line, column: &column)
                        i = rest
                        continue
                    }
                    // GitBook style: $$x_t$$ inside a sentence is inline maths; a label there is kept as text.
                    out += Placeholder.inline(inlines.count)
                    inlines.append(.math(tex: tex))
                    skip(i, close + 2, line: &line, column: &column)
                    i = close + 2
                    continue
                }
            }
            if ch == "$" && i + 1 < c.count && !c[i + 1].isWhitespace && c[i + 1] != "$" {
                var k = i + 1
                var close: Int?
                while k < c.count {
                    if c[k] == "\\" { k += 2; continue }
                    if c[k] == "\n" && k + 1 < c.count && c[k + 1] == "\n" { break }
                    if c[k] == "$" {
                        if !c[k - 1].isWhitespace && !(k + 1 < c.count && c[k + 1].isNumber) { close = k }
                        break
                    }
                    k += 1
                }
                if let close {
                    out += Placeholder.inline(inlines.count)
                    inlines.append(.math(tex: String(c[(i + 1)..<close])))
                    skip(i, close + 1, line: &line, column: &column)
                    i = close + 1
                    continue
                }
            }
            if ch == "{" && i + 1 < c.count && c[i + 1] == "{" && find("}}", from: i + 2) == nil {
                throw BookError("'{{' is not closed by '}}' in its paragraph; a value or claim is written {{name}} or {{name ≈ value ± tolerance}} on consecutive lines", at: loc(line, column))
            }
            // A label anywhere but right after a display equation would be shown as text and label nothing.
            if ch == "{" && i + 1 < c.count && c[i + 1] == "#" && c[(i + 2)...].starts(with: "eq-") {
                throw BookError("equation label '\(String(c[i...].prefix(while: { $0 != "}" && $0 != "\n" })))}' does not follow a display equation; a label goes right after $$…$$ written as a paragraph of its own", at: loc(line, column))
            }
            if ch == "{" && i + 1 < c.count && c[i + 1] == "{", let close = find("}}", from: i + 2) {
                let inner = String(c[(i + 2)..<close])
                let item = try parseTemplate(inner, at: loc(line, column))
                out += Placeholder.inline(inlines.count)
                inlines.append(item)
                skip(i, close + 2, line: &line, column: &column)
                i = close + 2
                continue
            }
            // `{#sec-…}` after a heading, `{#fig-…}` after a figure: kept aside for the parser.
            if ch == "{" && i + 1 < c.count && c[i + 1] == "#", let (label, end) = try attributeLabel(c, at: i, location: loc(line, column)) {
                attributes.append(label)
                skip(i, end, line: &line, column: &column)
                i = end
                continue
            }
            if ch == "@" && (i == 0 || !(c[i - 1].isLetter || c[i - 1].isNumber || c[i - 1] == "_")),
               let prefix = AtReference.crossReferencePrefixes.first(where: { c[(i + 1)...].starts(with: $0) }) {
                let first = i + 1 + prefix.count
                var k = first
                while k < c.count && (c[k].isLetter || c[k].isNumber || c[k] == "-" || c[k] == "_") && c[k].isASCII { k += 1 }
                while k > first && c[k - 1] == "-" { k -= 1 }
                if k > first {
                    let label = String(c[(i + 1)..<k])
                    out += Placeholder.inline(inlines.count)
                    inlines.append(.reference(label: label, location: loc(line, column)))
                    skip(i, k, line: &line, column: &column)
                    i = k
                    continue
                }
            }
            if ch == "@" || ch == "[" {
                let (startLine, startColumn) = (line, column)
                let at = { (k: Int) -> SourceLocation in
                    var l = startLine, col = startColumn
                    skip(i, k, line: &l, column: &col)
                    return loc(l, col)
                }
                if let (citation, end) = try scanCitation(c, at: i, location: at) {
                    out += Placeholder.inline(inlines.count)
                    inlines.append(.citation(citation))
                    skip(i, end, line: &line, column: &column)
                    i = end
                    continue
                }
            }
            // `{#ex-…}` and other labels stay in the text for the parser, but are not prose.
            if ch == "{" && i + 1 < c.count && c[i + 1] == "#" {
                var k = i + 2
                while k < c.count && c[k] != "}" && c[k] != "\n" { k += 1 }
                quietUntil = max(quietUntil, k)
            }
            if i >= quietUntil, let token = proseNumberToken(c, at: i) {
                numbers.append(ProseNumber(text: token.text, number: token.number, isPercentage: token.isPercentage,
                                           location: loc(line, column), liftedLine: lineMap.count - 1,
                                           liftedColumn: out.utf8.count - lineStart + 1))
            }
            out.append(ch)
            column += 1
            i += 1
        }
    }
}

/// `{{name:.2f ≈ 1 ± 0.15 because N ≤ 30 draws @default}}`: metric, format, expected, tolerance,
/// `%`, then an optional reason (after the word `because`, up to the `@profile` or the end) and
/// an optional profile.
nonisolated(unsafe) private let claimPattern = #/^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?::\s*([^\s≈~]+))?\s*(?:≈|~)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(?:±|\+-|\+/-)\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)(%?)(?:\s+because\s+(\S.*?))?\s*(?:@([A-Za-z0-9_-]+))?\s*$/#
/// `{{name < other}}`, `{{name:.2f > 0.5 @quick}}`: a metric compared with another metric or a number.
nonisolated(unsafe) private let comparisonPattern = #/^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?::\s*([^\s≈~<>]+))?\s*([<>])\s*(?:([A-Za-z_][A-Za-z0-9_.]*)|([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?))\s*(?:@([A-Za-z0-9_-]+))?\s*$/#
nonisolated(unsafe) private let valuePattern = #/^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?::\s*(\S+))?\s*$/#

nonisolated(unsafe) private let formatPattern = #/,?(?:\.[0-9]+)?[fFeEgGd%]?/#

/// An equation label that `@eq-…` references can name: `eq-` then ASCII letters, digits, `-`, `_`, not ending in `-`.
func isValidLabel(_ label: String) -> Bool {
    guard label.hasPrefix("eq-"), label.count > 3, label.last != "-" else { return false }
    return label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
}

/// A format spec the page understands, or an error naming what it found.
private func checkFormat(_ format: Substring?, in inner: String, at location: SourceLocation) throws {
    guard let format, format.wholeMatch(of: formatPattern) == nil else { return }
    throw BookError("'{{\(inner)}}': unknown format '\(format)'; expected something like .2f, .3e, .4g, d, .1% or ,.0f", at: location)
}

/// `{{quoted: TEXT}}`: the word `quoted`, a colon, then the text as it is shown (trimmed; runs of
/// whitespace, line breaks included, read as one space).
nonisolated(unsafe) private let quotedPattern = #/^\s*quoted\s*:(.*)$/#.dotMatchesNewlines()

/// `{{name}}`, `{{name:.2f}}`, `{{name ≈ 1.0 ± 0.1 @default}}`, `{{name < other}}` or `{{quoted: 97 %}}`.
func parseTemplate(_ inner: String, at location: SourceLocation) throws -> InlineItem {
    if let m = inner.wholeMatch(of: quotedPattern) {
        let text = m.1.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard !text.isEmpty else {
            throw BookError("'{{\(inner)}}' quotes nothing; write the number as the source gives it, with its unit: {{quoted: 97 %}}", at: location)
        }
        guard text.contains(where: { $0.isASCII && $0.isNumber }) else {
            throw BookError("'{{\(inner)}}' has no number in it; {{quoted: …}} marks a number quoted from elsewhere (write other text as plain prose)", at: location)
        }
        guard !text.contains("{{") && !text.contains("}}") else {
            throw BookError("'{{\(inner)}}': a quoted number cannot hold a value or claim", at: location)
        }
        return .quoted(text: text, location: location)
    }
    if let m = inner.wholeMatch(of: claimPattern) {
        try checkFormat(m.2, in: inner, at: location)
        guard let expected = Double(m.3), var tolerance = Double(m.4) else {
            throw BookError("claim '{{\(inner)}}': numbers do not parse", at: location)
        }
        if m.5 == "%" { tolerance = abs(expected) * tolerance / 100 }
        return .claim(Claim(metric: String(m.1), expected: expected, tolerance: tolerance,
                            profile: m.7.map(String.init), format: m.2.map(String.init), location: location,
                            toleranceReason: m.6.map(String.init)))
    }
    if let m = inner.wholeMatch(of: comparisonPattern) {
        try checkFormat(m.2, in: inner, at: location)
        let relation: ClaimBound.Relation = m.3 == "<" ? .less : .greater
        let bound: ClaimBound
        if let other = m.4 {
            guard other != m.1 else {
                throw BookError("claim '{{\(inner)}}' compares '\(other)' with itself; compare it with another metric or a number", at: location)
            }
            bound = ClaimBound(relation, metric: String(other))
        } else {
            guard let number = m.5.flatMap({ Double($0) }), number.isFinite else {
                throw BookError("claim '{{\(inner)}}': the number on the right does not parse", at: location)
            }
            bound = ClaimBound(relation, number: number)
        }
        return .claim(Claim(metric: String(m.1), bound: bound, profile: m.6.map(String.init),
                            format: m.2.map(String.init), location: location))
    }
    if let m = inner.wholeMatch(of: valuePattern) {
        try checkFormat(m.2, in: inner, at: location)
        return .value(name: String(m.1), format: m.2.map(String.init), location: location)
    }
    if inner.contains("≈") || inner.contains("~") {
        throw BookError("claim '{{\(inner)}}' does not parse; expected '{{name ≈ value ± tolerance}}' with an optional 'because reason' after the tolerance and an optional '@profile' at the end", at: location)
    }
    if inner.contains("<") || inner.contains(">") || inner.contains("≤") || inner.contains("≥") {
        throw BookError("claim '{{\(inner)}}' does not parse; expected a comparison '{{name < other}}' or '{{name > number}}' (a metric on the left; '<' or '>' only) with an optional '@profile'", at: location)
    }
    throw BookError("'{{\(inner)}}' does not parse; expected '{{name}}', '{{name:.2f}}', a claim '{{name ≈ value ± tolerance}}' or a comparison '{{name < other}}'", at: location)
}
