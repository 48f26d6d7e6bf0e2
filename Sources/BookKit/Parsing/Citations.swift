import Foundation

/// A citation in prose, Pandoc's syntax: `@key` in the text ("Werbos (1990)") or a bracketed
/// group `[see @a, p. 33; -@b]` ("(see Werbos 1990, p. 33; 1994)").
public struct Citation: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var key: String
        /// Text before the key inside brackets (`see`).
        public var prefix: String
        /// Text after the key (`p. 33` from `, p. 33`).
        public var locator: String
        /// `-@key`: the year only.
        public var suppressAuthor: Bool
        /// Where the `@` is.
        public var location: SourceLocation
        public init(key: String, prefix: String = "", locator: String = "", suppressAuthor: Bool = false, location: SourceLocation) {
            self.key = key; self.prefix = prefix; self.locator = locator; self.suppressAuthor = suppressAuthor; self.location = location
        }
    }
    public var items: [Item]
    /// `@key` in running text rather than `[@key]`.
    public var inText: Bool
    public init(items: [Item], inText: Bool) { self.items = items; self.inText = inText }
}

/// What `@` followed by a name can be: a cross-reference (`@eq-…`, `@sec-…`, `@fig-…`) or a citation.
enum AtReference {
    /// Prefixes of cross-references this book resolves (Quarto's spelling).
    static let crossReferencePrefixes = ["eq-", "sec-", "fig-"]
    /// Quarto's other cross-reference kinds: written by mistake, they would read as unknown citations.
    static let unsupportedPrefixes = ["tbl-", "lst-", "thm-", "lem-", "cor-", "prp-", "cnj-", "def-", "exm-", "exr-", "sol-", "rem-", "alg-"]

    static func isCrossReference(_ key: String) -> Bool { crossReferencePrefixes.contains { key.hasPrefix($0) } }

    /// Characters a citation key may hold inside (Pandoc: alphanumerics and `:.#$%&-+?<>~/`).
    static func isKeyCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || ":.#$%&-+?<>~/".contains(c) }

    /// The key starting at `c[start]` (just after the `@`), without trailing punctuation; nil when
    /// no key starts there. Returns the index after the key.
    static func key(in c: [Character], from start: Int) -> (String, Int)? {
        guard start < c.count, c[start].isLetter || c[start].isNumber || c[start] == "_" else { return nil }
        var k = start
        while k < c.count && isKeyCharacter(c[k]) { k += 1 }
        while k > start + 1 && !(c[k - 1].isLetter || c[k - 1].isNumber || c[k - 1] == "_") { k -= 1 }
        return (String(c[start..<k]), k)
    }

    /// True when an `@` at `i` can start a reference: not inside a word, an e-mail address or a URL.
    static func canStart(_ c: [Character], at i: Int) -> Bool {
        i == 0 || !(c[i - 1].isLetter || c[i - 1].isNumber || "_@./:".contains(c[i - 1]))
    }
}

/// Scans one citation at `c[i]` (a `@` or a `[`) for the Markdown lifter. `location(k)` gives the
/// file place of `c[k]`. Returns the citation and the index after it, nil when there is none.
/// Cross-references are left to the lifter's own branch; a bracket holding only cross-references
/// or no `@key` is not a citation.
func scanCitation(_ c: [Character], at i: Int, location: (Int) -> SourceLocation) throws -> (Citation, Int)? {
    if c[i] == "@" {
        guard AtReference.canStart(c, at: i), let (key, end) = AtReference.key(in: c, from: i + 1) else { return nil }
        if AtReference.isCrossReference(key) { return nil }
        try rejectUnsupportedCrossReference(key, at: location(i))
        return (Citation(items: [.init(key: key, location: location(i))], inText: true), end)
    }
    guard c[i] == "[", i == 0 || c[i - 1] != "!" else { return nil }
    // The closing bracket in the same paragraph, with no bracket nested inside.
    var k = i + 1
    while k < c.count && c[k] != "]" {
        if c[k] == "[" { return nil }
        if c[k] == "\n" {
            var j = k + 1
            while j < c.count && (c[j] == " " || c[j] == "\t") { j += 1 }
            if j >= c.count || c[j] == "\n" { return nil }
        }
        k += 1
    }
    guard k < c.count else { return nil }
    let close = k
    // `[text](url)`, `[text][ref]` and `[label]: url` are links, not citations; a link's label is
    // defined only at the start of a line (at most 3 spaces in), so mid-sentence `[@key]:` is a citation.
    var lineStart = i
    while lineStart > 0 && c[lineStart - 1] != "\n" { lineStart -= 1 }
    let startsLine = i - lineStart <= 3 && c[lineStart..<i].allSatisfy { $0 == " " }
    if close + 1 < c.count && (c[close + 1] == "(" || c[close + 1] == "[" || (c[close + 1] == ":" && startsLine)) { return nil }
    guard c[(i + 1)..<close].contains("@") else { return nil }
    // Items separated by `;`, each `prefix -@key, locator`.
    var items: [Citation.Item] = []
    var start = i + 1
    var crossReferences = 0
    for end in Array((i + 1)..<close).filter({ c[$0] == ";" }) + [close] {
        let part = Array(c[start..<end])
        guard let at = part.indices.first(where: { part[$0] == "@" && AtReference.canStart(part, at: $0) }),
              let (key, keyEnd) = AtReference.key(in: part, from: at + 1) else { return nil }
        let suppress = at > 0 && part[at - 1] == "-"
        let prefixEnd = suppress ? at - 1 : at
        if suppress && prefixEnd > 0 && !part[prefixEnd - 1].isWhitespace { return nil }
        if AtReference.isCrossReference(key) { crossReferences += 1 }
        let prefix = String(part[..<prefixEnd]).trimmingCharacters(in: .whitespacesAndNewlines)
        var rest = String(part[keyEnd...]).trimmingCharacters(in: .whitespacesAndNewlines)
        if rest.hasPrefix(",") { rest = String(rest.dropFirst()).trimmingCharacters(in: .whitespacesAndNewlines) }
        // Another `@` in the same item means it is not one citation: leave the bracket as text.
        if rest.contains("@") || prefix.contains("@") { return nil }
        items.append(.init(key: key, prefix: prefix.replacingOccurrences(of: "\n", with: " "),
                           locator: rest.replacingOccurrences(of: "\n", with: " "),
                           suppressAuthor: suppress, location: location(start + at)))
        start = end + 1
    }
    if crossReferences == items.count { return nil }
    if crossReferences > 0 {
        throw BookError("a bracketed citation mixes citations and cross-references (@eq-, @sec-, @fig-); write the cross-reference outside the brackets", at: location(i))
    }
    for item in items { try rejectUnsupportedCrossReference(item.key, at: item.location) }
    return (Citation(items: items, inText: false), close + 1)
}

private func rejectUnsupportedCrossReference(_ key: String, at location: SourceLocation) throws {
    if let p = AtReference.unsupportedPrefixes.first(where: { key.hasPrefix($0) }) {
        throw BookError("@\(key): cross-references of kind '\(p)' are not supported; this book numbers equations (@eq-), sections (@sec-) and figures (@fig-). To write a literal @, escape it: \\@", at: location)
    }
}

extension Bibliography {
    /// Checks that every key `citations` use is in this bibliography; returns the cited entries
    /// in reference-list order.
    func resolve(_ citations: [Citation]) throws -> [BibEntry] {
        var cited: [String: BibEntry] = [:]
        for item in citations.flatMap(\.items) {
            guard let entry = entries[item.key] else {
                throw BookError("unknown citation key '@\(item.key)': \(path) has no item with id '\(item.key)'\(Bibliography.suggestion(for: item.key, among: Array(entries.keys))). To write a literal @, escape it: \\@", at: item.location)
            }
            cited[item.key] = entry
        }
        return cited.values.sorted { $0.sortKey < $1.sortKey }
    }

    /// "; did you mean 'x'?" for a key one or two edits from a known one, else the known keys when few.
    static func suggestion(for key: String, among keys: [String]) -> String {
        let close = keys.filter { editDistance($0.lowercased(), key.lowercased()) <= 2 }.sorted()
        if let best = close.first { return "; did you mean '\(best)'?" }
        let sorted = keys.sorted()
        return sorted.isEmpty ? "" : sorted.count <= 12 ? "; known ids: \(sorted.joined(separator: ", "))" : ""
    }
}

/// " (did you mean 'x'?)" for the name of `names` closest to `name`, one or two edits away; else "".
func didYouMean(_ name: String, among names: some Collection<String>) -> String {
    names.map { ($0, editDistance($0, name)) }.filter { $0.1 <= 2 }.min { ($0.1, $0.0) < ($1.1, $1.0) }
        .map { " (did you mean '\($0.0)'?)" } ?? ""
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    var previous = Array(0...y.count)
    for i in 1...x.count {
        var current = [i] + Array(repeating: 0, count: y.count)
        for j in 1..<(y.count + 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[y.count]
}
