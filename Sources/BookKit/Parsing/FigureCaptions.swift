import Foundation

/// A plot's caption (`fig-cap="…"` on its code block) as text and inline maths: `$…$` is maths,
/// `\$` a literal dollar sign. The page escapes the text and typesets the maths like a Markdown
/// figure's caption; other Markdown in it is shown as written.
enum CaptionPiece: Sendable, Equatable {
    case text(String)
    case math(String)

    /// The pieces of `caption`; nil when a `$` opens maths that no `$` closes (or encloses nothing).
    static func pieces(_ caption: String) -> [CaptionPiece]? {
        var out: [CaptionPiece] = []
        var text = "", math: String? = nil
        var chars = caption.makeIterator()
        while let c = chars.next() {
            if c == "\\" {
                guard let next = chars.next() else { if math != nil { math! += "\\" } else { text.append(c) }; break }
                if next == "$" && math == nil { text.append("$"); continue }
                if math != nil { math! += String([c, next]) } else { text += String([c, next]) }
                continue
            }
            if c == "$" {
                if let m = math {
                    guard !m.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
                    out.append(.math(m)); math = nil
                } else {
                    if !text.isEmpty { out.append(.text(text)); text = "" }
                    math = ""
                }
                continue
            }
            if math != nil { math!.append(c) } else { text.append(c) }
        }
        if math != nil { return nil }
        if !text.isEmpty { out.append(.text(text)) }
        return out
    }

    /// The caption as words (maths as its TeX), for the search index.
    static func plainText(_ pieces: [CaptionPiece]) -> String {
        pieces.map { piece in
            switch piece {
            case .text(let s): s
            case .math(let tex): tex
            }
        }.joined()
    }
}
