import BookProtocol

/// A Quarto callout: a box around Markdown, written
///
///     ::: {.callout-note collapse="true" title="How this page is checked"}
///     Markdown, equations, code blocks …
///     :::
///
/// Collapsed callouts are a `<details>` the reader opens (open in print). They hold prose,
/// equations, figures and plain code; not headings (sections are numbered and listed in the
/// contents) and not exercise parts (starter, solution, check), whose own boxes they would cross.
public struct Callout: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case note, tip, warning, important, caution }
    public var kind: Kind
    /// `title="…"`; nil: the kind's name ("Note").
    public var title: String?
    /// `collapse="true"`: closed until the reader opens it.
    public var collapse: Bool
    /// The opening `:::` line.
    public var location: SourceLocation
    /// The chapter's segments inside the callout.
    public var segments: Range<Int>

    /// What the box's head reads.
    public var heading: String { title ?? kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst() }
}

/// The callouts of a chapter body, found before cmark runs: their fence lines are blanked (so
/// line numbers are kept and the Markdown either side parses as it would alone).
struct CalloutScan {
    var text: String
    /// Each callout with its fence lines (1-based, in the file); `segments` is filled in by the parser.
    var found: [(callout: Callout, openLine: Int, closeLine: Int)]

    init(body: String, file: String) throws {
        var lines = body.components(separatedBy: "\n")
        found = []
        var fence: (character: Character, count: Int)? = nil
        var open: (callout: Callout, line: Int)? = nil
        for i in lines.indices {
            let line = lines[i]
            let indent = line.prefix(while: { $0 == " " }).count
            let rest = line.dropFirst(indent)
            // Fenced code (``` or ~~~, at most 3 spaces in) is code: a ':::' in it is text.
            if indent <= 3, let c = rest.first, c == "`" || c == "~" {
                let run = rest.prefix(while: { $0 == c }).count
                if run >= 3 {
                    if let f = fence {
                        if c == f.character, run >= f.count, rest.dropFirst(run).allSatisfy({ $0 == " " || $0 == "\t" }) { fence = nil }
                    } else {
                        fence = (c, run)
                    }
                    continue
                }
            }
            guard fence == nil, line.hasPrefix(":::") else { continue }
            let at = SourceLocation(file: file, line: i + 1, column: 1)
            let afterColons = line.drop(while: { $0 == ":" })
            if afterColons.allSatisfy({ $0 == " " || $0 == "\t" }) {
                guard let o = open else {
                    throw BookError("':::' closes a callout, but none is open; expected an opening line such as ::: {.callout-note title=\"…\"} before it", at: at)
                }
                found.append((o.callout, o.line, i + 1))
                open = nil
            } else {
                if let o = open {
                    throw BookError("callouts do not nest: the callout opened at line \(o.line) is still open; close it with a line ':::' first", at: at)
                }
                let callout = try Self.parseOpening(String(afterColons), at: at)
                open = (callout, i + 1)
            }
            lines[i] = ""
        }
        if let o = open {
            throw BookError("callout is never closed; expected a line ':::' after its content", at: o.callout.location)
        }
        text = lines.joined(separator: "\n")
    }

    /// ` {.callout-note collapse="true" title="…"}` after the colons.
    static func parseOpening(_ s: String, at: SourceLocation) throws -> Callout {
        let kinds = Callout.Kind.allCases.map { ".callout-\($0.rawValue)" }.joined(separator: ", ")
        let body = s.trimmingCharacters(in: .whitespaces)
        guard body.hasPrefix("{"), body.hasSuffix("}"), body.count >= 2 else {
            throw BookError("a callout opens with ::: {.callout-note} (attributes in braces: one of \(kinds), optionally collapse=\"true\" and title=\"…\"), found '::: \(body)'", at: at)
        }
        var kind: Callout.Kind? = nil, title: String? = nil, collapse = false
        var rest = Substring(body.dropFirst().dropLast())
        func skipSpaces() { rest = rest.drop(while: { $0 == " " || $0 == "\t" }) }
        skipSpaces()
        while !rest.isEmpty {
            if rest.first == "." {
                let word = String(rest.prefix(while: { $0 != " " && $0 != "\t" }))
                rest = rest.dropFirst(word.count)
                guard word.hasPrefix(".callout-"), let k = Callout.Kind(rawValue: String(word.dropFirst(9))) else {
                    throw BookError("unknown callout class '\(word)'; expected one of \(kinds)", at: at)
                }
                guard kind == nil else { throw BookError("a callout has one kind; found a second class '\(word)'", at: at) }
                kind = k
            } else {
                let key = String(rest.prefix(while: { $0 != "=" && $0 != " " && $0 != "\t" }))
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else {
                    throw BookError("callout attribute '\(key)' needs a quoted value, as in \(key)=\"…\"", at: at)
                }
                rest = rest.dropFirst(2)
                guard let end = rest.firstIndex(of: "\"") else {
                    throw BookError("callout attribute \(key)=\"… is not closed by a '\"'", at: at)
                }
                let value = String(rest[..<end])
                rest = rest[rest.index(after: end)...]
                switch key {
                case "title":
                    guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                        throw BookError("callout title=\"\" is empty; give the words its box shows, or leave title out", at: at)
                    }
                    title = value
                case "collapse":
                    guard value == "true" || value == "false" else {
                        throw BookError("callout collapse=\"\(value)\" must be \"true\" or \"false\"", at: at)
                    }
                    collapse = value == "true"
                default:
                    throw BookError("unknown callout attribute '\(key)'; expected title=\"…\" or collapse=\"true\"", at: at)
                }
            }
            skipSpaces()
        }
        guard let kind else {
            throw BookError("a callout needs its kind as a class: one of \(kinds), found '::: \(body)'", at: at)
        }
        return Callout(kind: kind, title: title, collapse: collapse, location: at, segments: 0 ..< 0)
    }
}
