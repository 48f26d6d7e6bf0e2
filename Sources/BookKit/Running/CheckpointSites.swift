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
