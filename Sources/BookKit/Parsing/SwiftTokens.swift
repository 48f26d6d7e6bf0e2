/// Swift source cut into tokens as the compiler reads it: comments; string literals, whose text
/// is cut at each interpolation (`"\(x)"`, `#"\#(x)"#`) so that the code inside is tokens again;
/// numbers; names, also in backticks (`` `default` `` is the name `default`, never a keyword);
/// and names with their sigil (`@_silgen_name`, `#sourceLocation`, `$name`; in `$0` the `0` is a
/// number). What lies between tokens (spaces, operators, punctuation) is no token. Lines and
/// columns count from 1, columns in characters.
///
/// One tokenizer for two readers. The submission rules (`identifiers(in:)`), where a name
/// hidden from a simpler scan would be a way around a rule, so it errs on the side of seeing
/// code: an unterminated string or comment runs to the end (the compiler would refuse the file
/// anyway). And the highlighter of the pages (`SwiftHighlighter`).
enum SwiftTokens {
    enum Kind: Equatable {
        case comment
        /// A piece of a string literal: from its opening quote (or the `)` ending an
        /// interpolation) to its closing quote (or the `\(` starting an interpolation).
        case string
        case number
        case name
        /// `` `name` ``, backticks included in the token's text.
        case backtickedName
        /// `@name`, `#name` or `$name`, sigil included.
        case sigilName
    }

    struct Token: Equatable {
        var kind: Kind
        /// Offsets into the source's Unicode scalars.
        var range: Range<Int>
        var line: Int
        var column: Int
    }

    struct Identifier: Equatable {
        var name: String
        var line: Int
        var column: Int
    }

    /// The names the compiler sees in `code`: names, backticked names without their backticks,
    /// and names with their sigil.
    static func identifiers(in code: String) -> [Identifier] {
        let s = Array(code.unicodeScalars)
        return tokens(in: s).compactMap { t in
            var name = ""
            switch t.kind {
            case .name, .sigilName: name.unicodeScalars.append(contentsOf: s[t.range])
            case .backtickedName:
                name.unicodeScalars.append(contentsOf: s[(t.range.lowerBound + 1)..<t.range.upperBound].prefix { $0 != "`" })
            case .comment, .string, .number: return nil
            }
            return name.isEmpty ? nil : Identifier(name: name, line: t.line, column: t.column)
        }
    }

    static func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
    static func isIdent(_ c: Unicode.Scalar) -> Bool {
        isIdentStart(c) || c.properties.numericType != nil || c.properties.generalCategory == .nonspacingMark
    }

    /// The tokens of `s` (a source's Unicode scalars), in order.
    static func tokens(in s: [Unicode.Scalar]) -> [Token] {
        var out: [Token] = []
        var i = 0, line = 1, lineStart = 0
        func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
        func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { ("0"..."9").contains($0) } ?? false }
        func advance() { if s[i] == "\n" { line += 1; lineStart = i + 1 }; i += 1 }
        /// A token of `kind` from `start` (on `startLine` at `startColumn`) to `i`.
        func token(_ kind: Kind, from start: Int, line startLine: Int, column startColumn: Int) {
            if i > start { out.append(Token(kind: kind, range: start..<i, line: startLine, column: startColumn)) }
        }
        // Interpolations nest; each entry is the paren depth at which the interpolation ends and
        // the string it returns to (its hash count and whether it is multi-line).
        var resume: [(parens: Int, hashes: Int, multiline: Bool)] = []
        var parens = 0
        /// Skips string text from `i` to the closing quote (`i` after it), or stops at an
        /// interpolation (returns true, `i` after its `(`).
        func stringText(hashes: Int, multiline: Bool) -> Bool {
            while i < s.count {
                if s[i] == "\\" {
                    var k = i + 1, n = 0
                    while n < hashes, at(k) == "#" { k += 1; n += 1 }
                    if n == hashes, at(k) == "(" {
                        while i <= k { advance() }
                        return true
                    }
                    advance()
                    if n == hashes, i < s.count { advance() }  // the escaped character
                    continue
                }
                if s[i] == "\"" {
                    let quotes = multiline ? 3 : 1
                    var k = i, q = 0
                    while q < quotes, at(k) == "\"" { k += 1; q += 1 }
                    var n = 0
                    while q == quotes, n < hashes, at(k) == "#" { k += 1; n += 1 }
                    if q == quotes && n == hashes {
                        while i < k { advance() }
                        return false
                    }
                }
                if s[i] == "\n" && !multiline { return false }
                advance()
            }
            return false
        }
        /// String text from `i` as one token; an interpolation that starts it is remembered.
        func stringPiece(from start: Int, line startLine: Int, column startColumn: Int, hashes: Int, multiline: Bool) {
            let interpolates = stringText(hashes: hashes, multiline: multiline)
            token(.string, from: start, line: startLine, column: startColumn)
            if interpolates {
                parens += 1
                resume.append((parens, hashes, multiline))
            }
        }
        while i < s.count {
            let c = s[i]
            let start = i, startLine = line, startColumn = i - lineStart + 1
            if c == "/" && at(i + 1) == "/" {
                while i < s.count && s[i] != "\n" { advance() }
                token(.comment, from: start, line: startLine, column: startColumn)
            } else if c == "/" && at(i + 1) == "*" {
                advance(); advance()
                var depth = 1
                while i < s.count && depth > 0 {
                    if s[i] == "/" && at(i + 1) == "*" { depth += 1; advance(); advance() }
                    else if s[i] == "*" && at(i + 1) == "/" { depth -= 1; advance(); advance() }
                    else { advance() }
                }
                token(.comment, from: start, line: startLine, column: startColumn)
            } else if c == "\"" || (c == "#" && { var k = i; while at(k) == "#" { k += 1 }; return at(k) == "\"" }()) {
                var hashes = 0
                while at(i) == "#" { hashes += 1; advance() }
                let multiline = at(i) == "\"" && at(i + 1) == "\"" && at(i + 2) == "\""
                for _ in 0..<(multiline ? 3 : 1) { advance() }
                stringPiece(from: start, line: startLine, column: startColumn, hashes: hashes, multiline: multiline)
            } else if c == "(" {
                parens += 1; advance()
            } else if c == ")" {
                if let r = resume.last, r.parens == parens {
                    // Back into the string the interpolation was in.
                    resume.removeLast()
                    parens -= 1
                    advance()
                    stringPiece(from: start, line: startLine, column: startColumn, hashes: r.hashes, multiline: r.multiline)
                } else {
                    parens -= 1; advance()
                }
            } else if c == "`" {
                advance()
                while i < s.count && s[i] != "`" && s[i] != "\n" { advance() }
                if at(i) == "`" { advance() }
                token(.backtickedName, from: start, line: startLine, column: startColumn)
            } else if isIdentStart(c) || ((c == "@" || c == "#" || c == "$") && at(i + 1).map(isIdentStart) == true) {
                advance()
                while i < s.count && isIdent(s[i]) { advance() }
                token(isIdentStart(c) ? .name : .sigilName, from: start, line: startLine, column: startColumn)
            } else if isDigit(c) {
                // With its letters and its fraction and exponent: 0x1F, 2_000, 1.5e-3 (not the
                // dot of `1...n` or `x.0.description`).
                advance()
                while i < s.count && (isIdent(s[i]) || (s[i] == "." && isDigit(at(i + 1)))
                                      || ((s[i] == "-" || s[i] == "+") && (s[i - 1] == "e" || s[i - 1] == "E"))) {
                    advance()
                }
                token(.number, from: start, line: startLine, column: startColumn)
            } else {
                advance()
            }
        }
        return out
    }
}
