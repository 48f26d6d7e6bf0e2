import BookProtocol

/// Prose as value types, in the style of swift-markdown: copied out of cmark's tree in one place
/// (`readMarkdownBlocks`), with the maths, values, claims, references and citations the lifter
/// took out before cmark ran put back as typed inlines. The page, the search index, the print
/// book and the contents page all walk this tree; nothing reads back HTML that rnnbook wrote.
public struct ProseBlock: Codable, Sendable, Equatable {
    public indirect enum Kind: Codable, Sendable, Equatable {
        case paragraph([ProseInline])
        /// `section`: the heading's number and `{#sec-…}` label (levels 2 and below; the parser
        /// numbers them, see `ChapterOutline`), nil for a level-1 heading and nested headings.
        case heading(level: Int, content: [ProseInline], section: SectionInfo?)
        case list(ProseList)
        case quote([ProseBlock])
        /// Code that cmark nested in a list item or a block quote: shown, never run (top-level
        /// code is a `Segment.code`).
        case code(info: String, literal: String)
        /// Raw HTML written in the Markdown: never passed through to a page.
        case html(String)
        case thematicBreak
    }
    public var kind: Kind
    /// Where the block starts in the chapter file.
    public var location: SourceLocation
    public init(_ kind: Kind, at location: SourceLocation) { self.kind = kind; self.location = location }
}

/// A bulleted (`ordered == false`) or numbered list; each item is a list of blocks.
public struct ProseList: Codable, Sendable, Equatable {
    public var ordered: Bool
    /// The first number of an ordered list.
    public var start: Int
    /// A tight list's paragraphs are not wrapped in `<p>`.
    public var tight: Bool
    public var items: [[ProseBlock]]
    public init(ordered: Bool, start: Int, tight: Bool, items: [[ProseBlock]]) {
        self.ordered = ordered; self.start = start; self.tight = tight; self.items = items
    }
}

/// Inline prose.
public indirect enum ProseInline: Codable, Sendable, Equatable {
    case text(String)
    case code(String)
    case emphasis([ProseInline])
    case strong([ProseInline])
    case link(destination: String, title: String, content: [ProseInline])
    case image(source: String, title: String, alt: [ProseInline])
    case softBreak
    case lineBreak
    /// Raw inline HTML written in the Markdown: never passed through to a page.
    case html(String)
    /// What the lifter took out before cmark ran: maths, a value, a claim, a cross-reference,
    /// a citation or a quoted number (see `InlineItem`).
    case lifted(InlineItem)
}

extension ProseInline {
    /// The words a reader sees, without markup: text and code as written, breaks as spaces,
    /// lifted items through `lifted`; images are pictures, not words.
    static func plainText(_ inlines: [ProseInline], lifted: (InlineItem) -> String) -> String {
        var out = ""
        func walk(_ items: [ProseInline]) {
            for item in items {
                switch item {
                case .text(let s), .code(let s): out += s
                case .softBreak, .lineBreak: out += " "
                case .emphasis(let c), .strong(let c), .link(_, _, let c): walk(c)
                case .html, .image: break
                case .lifted(let i): out += lifted(i)
                }
            }
        }
        walk(inlines)
        return out
    }

    /// Every image source in `inlines`, in order.
    static func imageSources(_ inlines: [ProseInline]) -> [String] {
        inlines.flatMap { item -> [String] in
            switch item {
            case .image(let source, _, let alt): [source] + imageSources(alt)
            case .emphasis(let c), .strong(let c), .link(_, _, let c): imageSources(c)
            default: []
            }
        }
    }
}

extension ProseBlock {
    /// Every block in `blocks` and inside them (list items, quotes), in document order.
    static func flattened(_ blocks: [ProseBlock]) -> [ProseBlock] {
        blocks.flatMap { block -> [ProseBlock] in
            switch block.kind {
            case .list(let list): [block] + list.items.flatMap(flattened)
            case .quote(let inner): [block] + flattened(inner)
            default: [block]
            }
        }
    }

    /// The inlines of a paragraph or heading (empty for other blocks).
    var inlines: [ProseInline] {
        switch kind {
        case .paragraph(let c), .heading(_, let c, _): c
        default: []
        }
    }

    /// Local and remote image sources anywhere in `blocks`.
    static func imageSources(_ blocks: [ProseBlock]) -> [String] {
        flattened(blocks).flatMap { ProseInline.imageSources($0.inlines) }
    }
}
