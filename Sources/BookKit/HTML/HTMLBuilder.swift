/// Markup rnnbook writes. Text interpolated into it is escaped unless it is itself `HTML`, so a
/// page writer escapes by default and says so when it means markup:
///
///     let cell: HTML = "<td title=\"\(name)\">\(value)</td>"   // name, value: String, escaped
///     let row: HTML = "<tr>\(cell)</tr>"                       // cell: HTML, kept as markup
///
/// String literals are the writer's own markup and are taken as written.
public struct HTML: Sendable, Equatable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var markup: String

    /// Markup made elsewhere and already safe: the CommonMark renderer's output, an SVG plot
    /// built from numbers, the syntax highlighter's spans.
    public init(trusted markup: String) { self.markup = markup }

    public init(stringLiteral value: String) { markup = value }

    public init(stringInterpolation: StringInterpolation) { markup = stringInterpolation.markup }

    public static let empty = HTML(trusted: "")

    public var isEmpty: Bool { markup.isEmpty }
    public var description: String { markup }

    public static func + (a: HTML, b: HTML) -> HTML { HTML(trusted: a.markup + b.markup) }
    public static func += (a: inout HTML, b: HTML) { a.markup += b.markup }

    public struct StringInterpolation: StringInterpolationProtocol {
        public var markup = ""
        public init(literalCapacity: Int, interpolationCount: Int) { markup.reserveCapacity(literalCapacity + 16 * interpolationCount) }
        public mutating func appendLiteral(_ literal: String) { markup += literal }
        /// Text: escaped.
        public mutating func appendInterpolation(_ text: String) { markup += HTMLText.escape(text) }
        public mutating func appendInterpolation(_ text: Substring) { markup += HTMLText.escape(String(text)) }
        /// Markup: as it is.
        public mutating func appendInterpolation(_ html: HTML) { markup += html.markup }
        /// A number: its digits.
        public mutating func appendInterpolation<N: BinaryInteger>(_ number: N) { markup += String(number) }
    }
}

extension Sequence where Element == HTML {
    public func joined(separator: HTML = .empty) -> HTML {
        HTML(trusted: map(\.markup).joined(separator: separator.markup))
    }
}
