/// Markup rnnbook writes. Text interpolated into it is escaped unless it is itself `HTML`, so a
/// page writer escapes by default and says so when it means markup:
///
///     let cell: HTML = "<td title=\"\(name)\">\(value)</td>"   // name, value: String, escaped
///     let row: HTML = "<tr>\(cell)</tr>"                       // cell: HTML, kept as markup
///
/// String literals are the writer's own markup and are taken as written.
struct HTML: Sendable, Equatable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    private(set) var markup: String

    /// Markup made elsewhere and already safe: the CommonMark renderer's output, an SVG plot
    /// built from numbers, the syntax highlighter's spans.
    init(trusted markup: String) { self.markup = markup }

    init(stringLiteral value: String) { markup = value }

    init(stringInterpolation: StringInterpolation) { markup = stringInterpolation.markup }

    static let empty = HTML(trusted: "")

    var isEmpty: Bool { markup.isEmpty }
    var description: String { markup }

    static func + (a: HTML, b: HTML) -> HTML { HTML(trusted: a.markup + b.markup) }
    static func += (a: inout HTML, b: HTML) { a.markup += b.markup }

    struct StringInterpolation: StringInterpolationProtocol {
        var markup = ""
        init(literalCapacity: Int, interpolationCount: Int) { markup.reserveCapacity(literalCapacity + 16 * interpolationCount) }
        mutating func appendLiteral(_ literal: String) { markup += literal }
        /// Text: escaped.
        mutating func appendInterpolation(_ text: String) { markup += HTMLText.escape(text) }
        mutating func appendInterpolation(_ text: Substring) { markup += HTMLText.escape(String(text)) }
        /// Markup: as it is.
        mutating func appendInterpolation(_ html: HTML) { markup += html.markup }
        /// A number: its digits.
        mutating func appendInterpolation<N: BinaryInteger>(_ number: N) { markup += String(number) }
    }
}

extension Sequence where Element == HTML {
    func joined(separator: HTML = .empty) -> HTML {
        HTML(trusted: map(\.markup).joined(separator: separator.markup))
    }
}
