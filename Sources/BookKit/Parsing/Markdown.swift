import CCmark
import Foundation

/// A top-level Markdown block copied out of cmark's tree into Swift values.
struct MarkdownBlock: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case paragraph, heading, codeBlock, other }
    var kind: Kind
    /// 1-based line and column in the text given to cmark.
    var line: Int
    var column: Int
    /// The block as a prose tree (see ProseTree.swift).
    var content: ProseBlock
    /// Fenced code: info string and content.
    var info: String?
    var literal: String?
    var fenced: Bool = false
    /// A paragraph that holds only an image: its destination and alt text.
    var image: (url: String, alt: String)? { imageURL.map { ($0, imageAlt ?? "") } }
    var imageURL: String?
    var imageAlt: String?
    /// A paragraph that holds only plain text (used to find display-equation markers).
    var plainText: String?
    /// Code blocks cmark nested inside this block (a list or a block quote); they are not run.
    var nestedCode: [NestedCodeBlock] = []
    /// Every image anywhere inside this block, in document order.
    var images: [MarkdownImage] = []
    /// Where the block shows text (cmark's text nodes, not an autolink's address), in the text given to cmark.
    var textSpans: [TextSpan] = []
}

/// A code block inside a list item or a block quote.
struct NestedCodeBlock: Sendable, Equatable {
    /// 1-based line and column (UTF-8 bytes, as cmark counts) of the fence in the text given to cmark.
    var line: Int
    var column: Int
    var info: String
    /// "list item" or "block quote": the innermost container.
    var container: String
}

/// An image (`![alt](url)`) and where cmark saw it; `line` is 0 when cmark gave no position.
struct MarkdownImage: Sendable, Equatable {
    var url: String
    var line: Int
    var column: Int
}

/// How cmark's text and positions become the tree's: `text` splits a text node's literal into
/// inlines (the parser puts lifted maths and values back there), `location` turns cmark's line
/// and byte column into the chapter file's.
struct MarkdownCopy {
    var text: (String) -> [ProseInline] = { [.text($0)] }
    var location: (_ line: Int, _ column: Int) -> SourceLocation = { SourceLocation(file: "", line: $0, column: $1) }
}

/// libcmark's own HTML for `text` with the options rnnbook parses with: the reference
/// `ProseHTML` is tested against, never used for a page.
func commonMarkHTML(_ text: String) -> String {
    guard let raw = text.withCString({ cmark_markdown_to_html($0, strlen($0), CMARK_OPT_DEFAULT) }) else { return "" }
    defer { free(raw) }
    return String(cString: raw)
}

/// Parses `text` with libcmark and copies the top-level blocks out; all C memory is freed here.
func readMarkdownBlocks(_ text: String, copy: MarkdownCopy = MarkdownCopy()) -> [MarkdownBlock] {
    let options = CMARK_OPT_DEFAULT // raw HTML is never passed through: CMARK_OPT_UNSAFE is off on purpose
    guard let document = text.withCString({ cmark_parse_document($0, strlen($0), options) }) else { return [] }
    defer { cmark_node_free(document) }

    func string(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
    func children(_ node: OpaquePointer) -> [OpaquePointer] {
        var out: [OpaquePointer] = []
        var child = cmark_node_first_child(node)
        while let c = child { out.append(c); child = cmark_node_next(c) }
        return out
    }
    func location(_ node: OpaquePointer) -> SourceLocation {
        copy.location(Int(cmark_node_get_start_line(node)), Int(cmark_node_get_start_column(node)))
    }
    /// The inlines under `node`, adjacent text merged (cmark splits text at brackets and the like).
    func inlines(_ node: OpaquePointer) -> [ProseInline] {
        var out: [ProseInline] = []
        func append(_ items: [ProseInline]) {
            for item in items {
                if case .text(let b) = item, case .text(let a)? = out.last { out[out.count - 1] = .text(a + b) } else { out.append(item) }
            }
        }
        for child in children(node) {
            let literal = string(cmark_node_get_literal(child)) ?? ""
            switch cmark_node_get_type(child) {
            case CMARK_NODE_TEXT: append(copy.text(literal))
            case CMARK_NODE_CODE: append([.code(literal)])
            case CMARK_NODE_SOFTBREAK: append([.softBreak])
            case CMARK_NODE_LINEBREAK: append([.lineBreak])
            case CMARK_NODE_HTML_INLINE: append([.html(literal)])
            case CMARK_NODE_EMPH: append([.emphasis(inlines(child))])
            case CMARK_NODE_STRONG: append([.strong(inlines(child))])
            case CMARK_NODE_LINK:
                append([.link(destination: string(cmark_node_get_url(child)) ?? "", title: string(cmark_node_get_title(child)) ?? "",
                              content: inlines(child))])
            case CMARK_NODE_IMAGE:
                append([.image(source: string(cmark_node_get_url(child)) ?? "", title: string(cmark_node_get_title(child)) ?? "",
                               alt: inlines(child))])
            default: append(inlines(child))
            }
        }
        return out
    }
    /// `node` (a block) as a prose block.
    func tree(_ node: OpaquePointer) -> ProseBlock {
        let kind: ProseBlock.Kind
        switch cmark_node_get_type(node) {
        case CMARK_NODE_PARAGRAPH: kind = .paragraph(inlines(node))
        case CMARK_NODE_HEADING: kind = .heading(level: Int(cmark_node_get_heading_level(node)), content: inlines(node), section: nil)
        case CMARK_NODE_LIST:
            kind = .list(ProseList(ordered: cmark_node_get_list_type(node) == CMARK_ORDERED_LIST,
                                   start: Int(cmark_node_get_list_start(node)), tight: cmark_node_get_list_tight(node) != 0,
                                   items: children(node).map { children($0).map(tree) }))
        case CMARK_NODE_BLOCK_QUOTE: kind = .quote(children(node).map(tree))
        case CMARK_NODE_CODE_BLOCK:
            kind = .code(info: string(cmark_node_get_fence_info(node)) ?? "", literal: string(cmark_node_get_literal(node)) ?? "")
        case CMARK_NODE_HTML_BLOCK: kind = .html(string(cmark_node_get_literal(node)) ?? "")
        case CMARK_NODE_THEMATIC_BREAK: kind = .thematicBreak
        default: kind = .html("")
        }
        return ProseBlock(kind, at: location(node))
    }
    func flatText(_ node: OpaquePointer) -> String {
        let type = cmark_node_get_type(node)
        if type == CMARK_NODE_TEXT || type == CMARK_NODE_CODE { return string(cmark_node_get_literal(node)) ?? "" }
        if type == CMARK_NODE_SOFTBREAK || type == CMARK_NODE_LINEBREAK { return " " }
        return children(node).map(flatText).joined()
    }

    let sourceLines = text.split(separator: "\n", omittingEmptySubsequences: false)

    /// The text nodes under `node`. cmark 0.30 counts the columns of a paragraph's later lines from
    /// the paragraph's first column, not from where the line's text starts (`  more` after a line
    /// `text` reads one column 1): each line's shift is found by matching the longest text node whose
    /// literal is its source (no entity or escape) against the line.
    func textSpans(_ node: OpaquePointer) -> [TextSpan] {
        var found: [(span: TextSpan, literal: [UInt8])] = []
        func collect(_ parent: OpaquePointer) {
            for child in children(parent) {
                let t = cmark_node_get_type(child)
                if t == CMARK_NODE_TEXT {
                    let line = Int(cmark_node_get_start_line(child))
                    let literal = Array((string(cmark_node_get_literal(child)) ?? "").utf8)
                    // An autolink's text is its address.
                    let text = String(decoding: literal, as: UTF8.self)
                    if cmark_node_get_type(parent) == CMARK_NODE_LINK, let url = string(cmark_node_get_url(parent)),
                       url == text || url == "mailto:" + text { continue }
                    guard line > 0, Int(cmark_node_get_end_line(child)) == line else { continue }
                    found.append((TextSpan(line: line, start: Int(cmark_node_get_start_column(child)),
                                           end: Int(cmark_node_get_end_column(child))), literal))
                }
                collect(child)
            }
        }
        collect(node)
        var shift: [Int: Int] = [:]
        for (span, literal) in found.sorted(by: { $0.literal.count > $1.literal.count }) where shift[span.line] == nil {
            guard literal.count == span.end - span.start + 1, !literal.isEmpty,
                  span.line - 1 < sourceLines.count else { continue }
            let bytes = Array(sourceLines[span.line - 1].utf8)
            for distance in 0..<max(bytes.count, 1) {
                let d = [distance, -distance].first { d in
                    let from = span.start - 1 + d
                    return from >= 0 && from + literal.count <= bytes.count && Array(bytes[from..<(from + literal.count)]) == literal
                }
                if let d { shift[span.line] = d; break }
            }
        }
        return found.map { TextSpan(line: $0.span.line, start: $0.span.start + (shift[$0.span.line] ?? 0),
                                    end: $0.span.end + (shift[$0.span.line] ?? 0)) }
    }

    var blocks: [MarkdownBlock] = []
    for node in children(document) {
        let type = cmark_node_get_type(node)
        var block = MarkdownBlock(kind: .other, line: Int(cmark_node_get_start_line(node)),
                                  column: Int(cmark_node_get_start_column(node)), content: tree(node))
        switch type {
        case CMARK_NODE_PARAGRAPH:
            block.kind = .paragraph
            let kids = children(node).filter {
                !(cmark_node_get_type($0) == CMARK_NODE_TEXT
                  && (string(cmark_node_get_literal($0)) ?? "").allSatisfy(\.isWhitespace))
                && cmark_node_get_type($0) != CMARK_NODE_SOFTBREAK
            }
            if kids.count == 1, cmark_node_get_type(kids[0]) == CMARK_NODE_IMAGE {
                block.imageURL = string(cmark_node_get_url(kids[0])) ?? ""
                block.imageAlt = flatText(kids[0])
            }
            if children(node).allSatisfy({ cmark_node_get_type($0) == CMARK_NODE_TEXT }) {
                block.plainText = flatText(node)
            }
        case CMARK_NODE_HEADING:
            block.kind = .heading
            block.plainText = flatText(node)
        case CMARK_NODE_CODE_BLOCK:
            block.kind = .codeBlock
            block.info = string(cmark_node_get_fence_info(node)) ?? ""
            block.literal = string(cmark_node_get_literal(node)) ?? ""
            // libcmark 0.30 has no cmark_node_get_fenced: look at the block's first line instead.
            let first = block.line - 1
            if first >= 0 && first < sourceLines.count {
                let trimmed = sourceLines[first].drop(while: { $0 == " " })
                block.fenced = trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~")
            }
        default:
            break
        }
        // Look inside the block for what cmark nested there: images anywhere, code in lists and quotes.
        func walk(_ parent: OpaquePointer, container: String?) {
            for child in children(parent) {
                let t = cmark_node_get_type(child)
                if t == CMARK_NODE_IMAGE {
                    block.images.append(MarkdownImage(url: string(cmark_node_get_url(child)) ?? "",
                                                      line: Int(cmark_node_get_start_line(child)),
                                                      column: Int(cmark_node_get_start_column(child))))
                } else if t == CMARK_NODE_CODE_BLOCK, let container {
                    block.nestedCode.append(NestedCodeBlock(line: Int(cmark_node_get_start_line(child)),
                                                            column: Int(cmark_node_get_start_column(child)),
                                                            info: string(cmark_node_get_fence_info(child)) ?? "",
                                                            container: container))
                }
                let inner = t == CMARK_NODE_ITEM ? "list item" : t == CMARK_NODE_BLOCK_QUOTE ? "block quote" : container
                walk(child, container: inner)
            }
        }
        walk(node, container: type == CMARK_NODE_BLOCK_QUOTE ? "block quote" : nil)
        block.textSpans = textSpans(node)
        blocks.append(block)
    }
    return blocks
}

/// The version of the linked libcmark, for results.
public var cmarkVersion: String { String(cString: cmark_version_string()) }

extension MarkdownBlock {
    static func == (a: MarkdownBlock, b: MarkdownBlock) -> Bool {
        a.kind == b.kind && a.line == b.line && a.content == b.content && a.literal == b.literal
    }
}
