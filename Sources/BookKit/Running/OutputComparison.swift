import BookProtocol
import Foundation

/// Compares printed output with an `output` block: each line's leading whitespace exactly (an
/// indented table is part of what the block shows), then text token by token and numbers within a
/// relative tolerance (|a-b| <= tol * max(|a|,|b|), or both tiny) by `NumberComparison`. Trailing
/// whitespace and trailing empty lines do not count. A printed nan or inf never matches, unless the
/// block expects one (```` ```output nonfinite ````): then it matches only the same nan or inf.
public struct OutputComparison: Sendable, Equatable {
    public var matches: Bool
    /// A readable diff (expected vs got, line by line) when it does not match.
    public var diff: String
    public var maxRelativeError: Double

    public init(expected: String, actual: String, relativeTolerance: Double, expectsNonFinite: Bool = false) {
        let e = Self.lines(expected), a = Self.lines(actual)
        var worst = 0.0
        var report: [String] = []
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? e[i] : nil, al = i < a.count ? a[i] : nil
            var same = false
            var note = ""
            if let el, let al {
                let (ok, rel) = Self.compareLine(el, al, tolerance: relativeTolerance, expectsNonFinite: expectsNonFinite)
                same = ok
                worst = max(worst, rel)
                if ok, Self.indentation(el) != Self.indentation(al) {
                    same = false
                    note = " (indented differently: expected \(Self.indentation(el).count), got \(Self.indentation(al).count) leading spaces or tabs)"
                }
            }
            if !same {
                report.append("  line \(i + 1):\(note)")
                report.append("  - expected: \(el ?? "(no line)")")
                report.append("  + got:      \(al ?? "(no line)")")
            }
        }
        matches = report.isEmpty
        maxRelativeError = worst
        diff = report.joined(separator: "\n")
    }

    /// Lines without trailing whitespace or trailing empty lines; leading whitespace is kept.
    static func lines(_ text: String) -> [String] {
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
            .map { String($0.reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed()) }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines
    }

    static func indentation(_ line: String) -> Substring { line.prefix(while: { $0 == " " || $0 == "\t" }) }

    /// The first `nan` or `inf` a line would compare as a number: its 1-based column and spelling.
    public static func nonFiniteToken(in line: String) -> (column: Int, word: String)? {
        let chars = Array(line)
        var i = 0
        while i < chars.count {
            if let (value, end) = number(at: i, in: chars) {
                if !value.isFinite { return (i + 1, String(chars[i..<end])) }
                i = end; continue
            }
            i += 1
        }
        return nil
    }

    /// Splits into numbers and the text between them.
    static func tokens(_ line: String) -> [Token] {
        var out: [Token] = []
        var text = ""
        let chars = Array(line)
        var i = 0
        while i < chars.count {
            if let (value, end) = number(at: i, in: chars) {
                if !text.isEmpty { out.append(.text(text)); text = "" }
                out.append(.number(value)); i = end; continue
            }
            if !chars[i].isWhitespace { text.append(chars[i]) } else if !text.isEmpty, text.last != " " { text.append(" ") }
            i += 1
        }
        if !text.isEmpty { out.append(.text(text)) }
        return out.map { if case .text(let t) = $0 { .text(t.trimmingCharacters(in: .whitespaces)) } else { $0 } }
            .filter { if case .text(let t) = $0 { !t.isEmpty } else { true } }
    }

    enum Token: Equatable { case text(String), number(Double) }

    private static func number(at start: Int, in c: [Character]) -> (Double, Int)? {
        // A number starts a token: not glued to a letter before it (x1 is text).
        if start > 0, c[start - 1].isLetter || c[start - 1] == "_" { return nil }
        var i = start
        if i < c.count, c[i] == "-" || c[i] == "+" { i += 1 }
        let digitsStart = i
        while i < c.count, c[i].isASCII, c[i].isNumber { i += 1 }
        if i < c.count, c[i] == "." { i += 1; while i < c.count, c[i].isASCII, c[i].isNumber { i += 1 } }
        guard i > digitsStart, c[digitsStart..<i].contains(where: \.isNumber) else {
            // nan / inf are numbers too.
            // Only as a word of its own: "inference" and "nano" are text.
            let end = digitsStart + 3
            let wordEnds = end >= c.count || !(c[end].isLetter || c[end].isNumber || c[end] == "_")
            for word in ["nan", "inf"] where wordEnds && String(c[digitsStart..<min(c.count, end)]).lowercased() == word {
                let sign: Double = start < digitsStart && c[start] == "-" ? -1 : 1
                return (word == "nan" ? .nan : sign * .infinity, digitsStart + 3)
            }
            return nil
        }
        if i < c.count, c[i] == "e" || c[i] == "E" {
            var j = i + 1
            if j < c.count, c[j] == "-" || c[j] == "+" { j += 1 }
            let expStart = j
            while j < c.count, c[j].isASCII, c[j].isNumber { j += 1 }
            if j > expStart { i = j }
        }
        guard let v = Double(String(c[start..<i])) else { return nil }
        return (v, i)
    }

    static func compareLine(_ e: String, _ a: String, tolerance: Double, expectsNonFinite: Bool = false) -> (Bool, Double) {
        let et = tokens(e), at = tokens(a)
        guard et.count == at.count else { return (false, 0) }
        var worst = 0.0
        for (x, y) in zip(et, at) {
            switch (x, y) {
            case (.text(let s), .text(let t)): if s != t { return (false, worst) }
            case (.number(let u), .number(let v)):
                // The book's one rule: a printed nan or inf matches only an expected nan or inf
                // written in the block (the author expects it); numbers match within the tolerance.
                let c = NumberComparison(found: v, expected: u, tolerance: .relative(tolerance), expectsNonFinite: expectsNonFinite && !u.isFinite)
                if u.isFinite && v.isFinite { worst = max(worst, c.relativeError) }
                if !c.passed && !(u.isFinite && v.isFinite && abs(u - v) <= 1e-300) { return (false, worst) }
            default: return (false, worst)
            }
        }
        return (true, worst)
    }
}
