/// Colours Swift source on the server, so code reads in colour with JavaScript off.
/// Not a parser: it colours the tokens of `SwiftTokens` (the tokenizer the submission rules
/// use), so strings stop where their interpolations start and the code inside is coloured as
/// code, and a backticked keyword is a name.
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

    /// HTML for `code`: escaped text with `<span class="tok-…">` around tokens. A name is a
    /// keyword (`kw`, not after a dot: `.self`), a type (`type`, capitalised) or a called
    /// function (`fn`, a `(` right after it); other names stay plain.
    public static func highlight(_ code: String) -> String { markup(code).markup }

    static func markup(_ code: String) -> HTML {
        let s = Array(code.unicodeScalars)
        var out: HTML = ""
        var plainStart = 0
        /// `s[from..<to]` escaped, in a span of class `cls` unless it is nil.
        func emit(_ cls: String?, _ from: Int, _ to: Int) {
            guard to > from else { return }
            var text = ""
            text.unicodeScalars.append(contentsOf: s[from..<to])
            if let cls { out += "<span class=\"tok-\(cls)\">\(text)</span>" } else { out += "\(text)" }
        }
        func coloured(_ cls: String, _ range: Range<Int>) {
            emit(nil, plainStart, range.lowerBound)
            emit(cls, range.lowerBound, range.upperBound)
            plainStart = range.upperBound
        }
        /// The class of the name in `range` (nil: plain); `end` is where its token ends (a
        /// backticked name's closing backtick is not part of the name), `keyword` whether it
        /// may be a keyword.
        func nameClass(_ range: Range<Int>, end: Int, keyword: Bool) -> String? {
            var word = ""
            word.unicodeScalars.append(contentsOf: s[range])
            let afterDot = range.lowerBound > 0 && s[range.lowerBound - 1] == "."
            if keyword && keywords.contains(word) && !afterDot { return "kw" }
            if let f = word.unicodeScalars.first, f.properties.isUppercase { return "type" }
            if end < s.count && s[end] == "(" { return "fn" }
            return nil
        }
        for t in SwiftTokens.tokens(in: s) {
            switch t.kind {
            case .comment: coloured("com", t.range)
            case .string: coloured("str", t.range)
            case .number: coloured("num", t.range)
            case .name:
                if let cls = nameClass(t.range, end: t.range.upperBound, keyword: true) { coloured(cls, t.range) }
            case .backtickedName:
                // The name inside is coloured (never as a keyword), the backticks are not.
                let inside = (t.range.lowerBound + 1)..<(s[t.range.upperBound - 1] == "`" && t.range.count > 1 ? t.range.upperBound - 1 : t.range.upperBound)
                if let cls = nameClass(inside, end: t.range.upperBound, keyword: false) { coloured(cls, inside) }
            case .sigilName:
                if s[t.range.lowerBound] == "$" {
                    // `$name` (a projected value): the name is coloured, the `$` is not.
                    let name = (t.range.lowerBound + 1)..<t.range.upperBound
                    if let cls = nameClass(name, end: t.range.upperBound, keyword: true) { coloured(cls, name) }
                } else {
                    coloured("attr", t.range)
                }
            }
        }
        emit(nil, plainStart, s.count)
        return out
    }
}
