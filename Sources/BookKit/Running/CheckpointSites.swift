/// Where `checkpoint(…) { … }` calls sit in a block's code, so that a checkpoint's key covers
/// the block only up to the end of its closure: an edit to the lines after the training in the
/// same block does not train again.
///
/// A light scan, not a parser: it skips string literals and comments and matches brackets.
/// When it cannot find the end of a call (unbalanced brackets), the call is not listed and the
/// checkpoint is keyed by the whole block, which is never wrong, only slower.
struct CheckpointSite: Equatable {
    /// 0-based line in the block's code where `checkpoint(` stands.
    var line: Int
    /// The code up to and including the end of the call (its trailing closure, if any).
    var prefix: Substring
}

func checkpointSites(in code: String) -> [CheckpointSite] {
    let chars = Array(code.unicodeScalars)
    var sites: [CheckpointSite] = []
    let token = Array("checkpoint(".unicodeScalars)
    var i = 0, line = 0
    func isIdentifier(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c) }
    while i < chars.count {
        if let skipped = skipTrivia(chars, i) { line += chars[i..<skipped].filter { $0 == "\n" }.count; i = skipped; continue }
        if chars[i] == "\n" { line += 1 }
        if chars[i] == "c", i + token.count <= chars.count, Array(chars[i..<(i + token.count)]) == token,
           i == 0 || !(isIdentifier(chars[i - 1]) || chars[i - 1] == ".") {
            if let close = matching(chars, i + token.count - 1) {
                var end = close + 1
                var j = end
                while j < chars.count, chars[j] == " " || chars[j] == "\t" || chars[j] == "\n" { j += 1 }
                if j < chars.count, chars[j] == "{" { end = matching(chars, j).map { $0 + 1 } ?? -1 }
                if end > 0 {
                    let scalars = String.UnicodeScalarView(chars[0..<end])
                    sites.append(CheckpointSite(line: line, prefix: Substring(String(scalars))))
                }
            }
        }
        i += 1
    }
    return sites
}

/// The index just past a string literal or comment starting at `i`, or nil.
private func skipTrivia(_ c: [Unicode.Scalar], _ i: Int) -> Int? {
    func at(_ k: Int, _ s: String) -> Bool {
        let t = Array(s.unicodeScalars)
        return k + t.count <= c.count && Array(c[k..<(k + t.count)]) == t
    }
    if at(i, "//") { var k = i; while k < c.count && c[k] != "\n" { k += 1 }; return k }
    if at(i, "/*") { var k = i + 2; while k < c.count && !at(k, "*/") { k += 1 }; return min(k + 2, c.count) }
    if at(i, "\"\"\"") { var k = i + 3; while k < c.count && !at(k, "\"\"\"") { k += c[k] == "\\" ? 2 : 1 }; return min(k + 3, c.count) }
    if c[i] == "\"" {
        var k = i + 1
        while k < c.count && c[k] != "\"" && c[k] != "\n" { k += c[k] == "\\" ? 2 : 1 }
        return min(k + 1, c.count)
    }
    return nil
}

/// The index of the bracket closing the one at `open`, skipping strings and comments.
private func matching(_ c: [Unicode.Scalar], _ open: Int) -> Int? {
    var depth = 0, i = open
    while i < c.count {
        if let skipped = skipTrivia(c, i) { i = skipped; continue }
        switch c[i] {
        case "(", "{", "[": depth += 1
        case ")", "}", "]":
            depth -= 1
            if depth == 0 { return i }
        default: break
        }
        i += 1
    }
    return nil
}

/// The top-level declarations in a block's code that a closure elsewhere in the program can call
/// (`func`, `struct`, `class`, `enum`, `actor`, `protocol`, `extension`, `typealias`), each as its
/// whole text. Swift makes top-level declarations visible before the line that declares them, so a
/// `checkpoint` closure can reach a function defined in a later block: its key must cover them.
///
/// The same light scan as `checkpointSites`: strings and comments skipped, brackets matched;
/// only declarations at bracket depth 0 count (those inside a function are not reachable from
/// outside it). A declaration whose body does not close is taken to the end of the code.
func topLevelDeclarations(in code: String) -> [Substring] {
    let chars = Array(code.unicodeScalars)
    let keywords: Set<String> = ["func", "struct", "class", "enum", "actor", "protocol", "extension", "typealias"]
    let modifiers: Set<String> = ["private", "fileprivate", "internal", "public", "final", "indirect", "static",
                                  "nonisolated", "mutating", "override", "convenience", "prefix", "postfix", "infix"]
    func isIdentifier(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c) }
    func text(_ range: Range<Int>) -> Substring { Substring(String(String.UnicodeScalarView(chars[range]))) }
    var declarations: [Substring] = []
    var i = 0, depth = 0
    var statementStart = true
    while i < chars.count {
        if let skipped = skipTrivia(chars, i) { i = skipped; continue }
        let c = chars[i]
        switch c {
        case "(", "{", "[": depth += 1; i += 1; statementStart = false; continue
        case ")", "}", "]": depth -= 1; i += 1; statementStart = depth == 0; continue
        case "\n", ";": statementStart = true; i += 1; continue
        case " ", "\t", "\r": i += 1; continue
        default: break
        }
        guard depth == 0, statementStart else { i += 1; continue }
        statementStart = false
        // Read attributes and modifiers, then the keyword.
        let start = i
        var k = i
        var keyword: String?
        while k < chars.count {
            while k < chars.count, chars[k] == " " || chars[k] == "\t" || chars[k] == "\n" { k += 1 }
            guard k < chars.count else { break }
            if chars[k] == "@" {
                k += 1
                while k < chars.count, isIdentifier(chars[k]) { k += 1 }
                if k < chars.count, chars[k] == "(" { k = (matching(chars, k) ?? chars.count - 1) + 1 }
                continue
            }
            var e = k
            while e < chars.count, isIdentifier(chars[e]) { e += 1 }
            let word = String(String.UnicodeScalarView(chars[k..<e]))
            if keywords.contains(word) { keyword = word; k = e; break }
            if modifiers.contains(word) { k = e; continue }
            break
        }
        guard let keyword else { i += 1; continue }
        // The declaration runs to the end of its body (the first `{` outside its parameter list);
        // a `typealias` has none and ends with its line.
        var j = k, end = chars.count
        while j < chars.count {
            if let skipped = skipTrivia(chars, j) { j = skipped; continue }
            if chars[j] == "{" { end = (matching(chars, j) ?? chars.count - 1) + 1; break }
            if chars[j] == "(" || chars[j] == "[" { j = (matching(chars, j) ?? chars.count - 1) + 1; continue }
            if chars[j] == "\n" && keyword == "typealias" { end = j; break }
            j += 1
        }
        declarations.append(text(start..<min(end, chars.count)))
        i = min(end, chars.count)
        statementStart = true
    }
    return declarations
}
