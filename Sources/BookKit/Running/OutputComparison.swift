import BookProtocol
import Foundation

/// Compares printed output with an `output` block: text must match token by token, numbers
/// within a relative tolerance (|a-b| <= tol * max(|a|,|b|), or both tiny) by `NumberComparison`;
/// a printed nan or inf matches only a nan or the same inf written in the expected block.
public struct OutputComparison: Sendable, Equatable {
    public var matches: Bool
    /// A readable diff (expected vs got, line by line) when it does not match.
    public var diff: String
    public var maxRelativeError: Double

    public init(expected: String, actual: String, relativeTolerance: Double) {
        let e = Self.lines(expected), a = Self.lines(actual)
        var worst = 0.0
        var report: [String] = []
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? e[i] : nil, al = i < a.count ? a[i] : nil
            var same = false
            if let el, let al {
                let (ok, rel) = Self.compareLine(el, al, tolerance: relativeTolerance)
                same = ok
                worst = max(worst, rel)
            }
            if !same {
                report.append("  line \(i + 1):")
                report.append("  - expected: \(el ?? "(no line)")")
                report.append("  + got:      \(al ?? "(no line)")")
            }
        }
        matches = report.isEmpty
        maxRelativeError = worst
        diff = report.joined(separator: "\n")
    }

    static func lines(_ text: String) -> [String] {
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines
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
            for word in ["nan", "inf"] where String(c[digitsStart..<min(c.count, digitsStart + 3)]).lowercased() == word {
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

    static func compareLine(_ e: String, _ a: String, tolerance: Double) -> (Bool, Double) {
        let et = tokens(e), at = tokens(a)
        guard et.count == at.count else { return (false, 0) }
        var worst = 0.0
        for (x, y) in zip(et, at) {
            switch (x, y) {
            case (.text(let s), .text(let t)): if s != t { return (false, worst) }
            case (.number(let u), .number(let v)):
                // The book's one rule: a printed nan or inf matches only an expected nan or inf
                // written in the block (the author expects it); numbers match within the tolerance.
                let c = NumberComparison(found: v, expected: u, tolerance: .relative(tolerance), expectsNonFinite: !u.isFinite)
                if u.isFinite && v.isFinite { worst = max(worst, c.relativeError) }
                if !c.passed && !(u.isFinite && v.isFinite && abs(u - v) <= 1e-300) { return (false, worst) }
            default: return (false, worst)
            }
        }
        return (true, worst)
    }
}
