/// Colours Swift source on the server, so code reads in colour with JavaScript off.
/// A small tokenizer, not a parser: comments, strings, numbers, keywords, types, attributes.
public enum SwiftHighlighter {
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
        "inout", "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static",
        "struct", "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do",
        "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while",
        "as", "catch", "false", "is", "nil", "super", "self", "Self", "throw", "throws", "true", "try",
        "async", "await", "some", "any", "mutating", "nonmutating", "lazy", "final", "override", "convenience",
        "required", "weak", "unowned", "indirect", "get", "set", "willSet", "didSet", "sending", "consuming",
        "borrowing", "actor", "nonisolated", "isolated",
    ]

    /// HTML for `code`: escaped text with `<span class="tok-…">` around tokens.
    public static func highlight(_ code: String) -> String {
        let s = Array(code.unicodeScalars)
        var out = ""
        var i = 0
        func emit(_ cls: String?, _ from: Int, _ to: Int) {
            var text = ""
            text.unicodeScalars.append(contentsOf: s[from..<to])
            let escaped = HTMLText.escape(text)
            if let cls { out += "<span class=\"tok-\(cls)\">\(escaped)</span>" } else { out += escaped }
        }
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || ("0"..."9").contains(c) }
        var plainStart = 0
        func flushPlain(_ upTo: Int) { if upTo > plainStart { emit(nil, plainStart, upTo) } }
        while i < s.count {
            let c = s[i]
            let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
            var tokenEnd: Int?
            var cls = ""
            if c == "/" && next == "/" {
                var j = i
                while j < s.count && s[j] != "\n" { j += 1 }
                tokenEnd = j; cls = "com"
            } else if c == "/" && next == "*" {
                var j = i + 2, depth = 1
                while j < s.count && depth > 0 {
                    if s[j] == "/" && j + 1 < s.count && s[j + 1] == "*" { depth += 1; j += 2 }
                    else if s[j] == "*" && j + 1 < s.count && s[j + 1] == "/" { depth -= 1; j += 2 }
                    else { j += 1 }
                }
                tokenEnd = j; cls = "com"
            } else if c == "\"" {
                let triple = i + 2 < s.count && s[i + 1] == "\"" && s[i + 2] == "\""
                var j = i + (triple ? 3 : 1)
                while j < s.count {
                    if s[j] == "\\" { j += 2; continue }
                    if triple {
                        if s[j] == "\"" && j + 2 < s.count && s[j + 1] == "\"" && s[j + 2] == "\"" { j += 3; break }
                    } else if s[j] == "\"" { j += 1; break } else if s[j] == "\n" { break }
                    j += 1
                }
                tokenEnd = min(j, s.count); cls = "str"
            } else if ("0"..."9").contains(c) && (i == 0 || !isIdent(s[i - 1])) {
                var j = i + 1
                while j < s.count, isIdent(s[j]) || s[j] == "." && j + 1 < s.count && ("0"..."9").contains(s[j + 1])
                    || (s[j] == "-" || s[j] == "+") && (s[j - 1] == "e" || s[j - 1] == "E") {
                    j += 1
                }
                tokenEnd = j; cls = "num"
            } else if (c == "@" || c == "#"), let n = next, isIdentStart(n) {
                var j = i + 1
                while j < s.count && isIdent(s[j]) { j += 1 }
                tokenEnd = j; cls = "attr"
            } else if isIdentStart(c) && (i == 0 || !isIdent(s[i - 1])) {
                var j = i
                while j < s.count && isIdent(s[j]) { j += 1 }
                var word = ""
                word.unicodeScalars.append(contentsOf: s[i..<j])
                let afterDot = i > 0 && s[i - 1] == "."
                if keywords.contains(word) && !afterDot { cls = "kw" }
                else if let f = word.unicodeScalars.first, f.properties.isUppercase { cls = "type" }
                else if j < s.count && s[j] == "(" { cls = "fn" }
                else { cls = "" }
                tokenEnd = j
            }
            if let end = tokenEnd {
                if cls.isEmpty {
                    i = end
                    continue
                }
                flushPlain(i)
                emit(cls, i, end)
                i = end
                plainStart = end
            } else {
                i += 1
            }
        }
        flushPlain(s.count)
        return out
    }
}
