import Foundation
import Testing
@testable import BookKit

/// The prose tree renders exactly as libcmark does: what the pages showed before the tree
/// existed, they show now, and every construct the tree copies out is covered here.
@Suite struct ProseTreeTests {
    func treeHTML(_ markdown: String) -> String {
        var plain = PlainProse()
        return plain.proseHTML(readMarkdownBlocks(markdown).map(\.content))
    }

    static let corpus: [String] = [
        "Plain *emphasis*, **strong**, `code`, and a [link](https://example.org/a b \"Title & more\").",
        "Line one\nline two  \nhard break\\\nthird",
        "# Heading 1\n\n## Heading *two*\n\n###### Six",
        "- tight\n- list\n  - nested\n  - more\n- end",
        "1. loose\n\n2. list\n\n   second paragraph\n\n3. three",
        "3) starts at three\n4) four",
        "> quote\n> > nested quote\n\n> - list in quote",
        "- item\n\n  ```python\n  print(\"<x>\")\n  ```\n- item two",
        "> ```\n> no info <b>\n> ```",
        "<div>raw block</div>\n\ntext <span>raw inline</span> & more",
        "---\n\n***",
        "![alt *text* `code`](figures/a.svg \"t\") and ![](x.png)",
        "[js](javascript:alert(1)) [vb](VBScript:x) [file](file:///etc/passwd) [data](data:text/html,x) ![img](data:image/png;base64,AAA)",
        "[chars](<a b>) [q](a'b&c\"d) [u](ü/é?x=1&y=2#frag) [brackets](a[b]c) [misc](a{b}c|d^e`f\\g)",
        "Entities: &amp; &lt; &copy; &#35; and \"quotes\" 'single' <3 5 > 4",
        "Setext\n=======\n\nAnother\n-------",
        "    indented code <tag>\n    more",
        "Autolink <https://example.org/x?a=1&b=2> and <mail@example.org>.",
        "- [link in list](#a)\n\n  > quote in item\n\n- two",
        "* a\n* b\n\n  c\n* d",
        "Text with trailing backslash\\",
        "Unicode: αβγ 中文 — “quotes” … 🙂",
    ]

    @Test func everyConstructRendersAsLibcmarkDoes() {
        for (i, markdown) in Self.corpus.enumerated() {
            #expect(treeHTML(markdown) == commonMarkHTML(markdown), "corpus entry \(i): \(markdown)")
        }
    }

    /// Every printable ASCII character in a link target and an image source is escaped as
    /// libcmark escapes it (the percent-encoding table is ours, so it is checked against cmark's).
    @Test func linkTargetsEscapeEveryCharacterAsLibcmark() {
        for byte in UInt8(0x21)...UInt8(0x7E) where byte != UInt8(ascii: ">") && byte != UInt8(ascii: "\\") {
            let ch = String(UnicodeScalar(byte))
            let markdown = "[x](<a\(ch)b>) ![y](<c\(ch)d>)"
            #expect(treeHTML(markdown) == commonMarkHTML(markdown), "character \(ch)")
        }
    }

    /// The chapters themselves, block by block, with their maths and values lifted as the
    /// parser lifts them (the placeholders then pass through cmark as text).
    @Test func theBooksChaptersRenderAsLibcmark() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("chapters")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") && $0 != "README.md" }
        #expect(files.count >= 4)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let lifted = try liftMath(from: text, file: file)
            #expect(treeHTML(lifted.text) == commonMarkHTML(lifted.text), "\(file)")
        }
    }

    /// The check above can fail: a renderer that differs in one place is caught.
    @Test func aRendererThatDiffersIsCaught() {
        struct Wrong: ProseRendering {
            mutating func liftedHTML(_ item: InlineItem, plain: Bool) -> String { "" }
            mutating func headingHTML(level: Int, content: String, inlines: [ProseInline], section: SectionInfo?) -> String {
                "<h\(level) id=\"x\">\(content)</h\(level)>"
            }
        }
        var wrong = Wrong()
        let markdown = "## Title\n\ntext"
        #expect(wrong.proseHTML(readMarkdownBlocks(markdown).map(\.content)) != commonMarkHTML(markdown))
    }

    @Test func treeKeepsStructureAndLocations() {
        let blocks = readMarkdownBlocks("## A *b*\n\n- one\n- two\n\n> q", copy: MarkdownCopy(location: {
            SourceLocation(file: "c.md", line: $0 + 10, column: $1)
        })).map(\.content)
        #expect(blocks.count == 3)
        #expect(blocks[0].kind == .heading(level: 2, content: [.text("A "), .emphasis([.text("b")])], section: nil))
        #expect(blocks[0].location == SourceLocation(file: "c.md", line: 11, column: 1))
        guard case .list(let list) = blocks[1].kind else { Issue.record("expected a list"); return }
        #expect(list.tight && !list.ordered && list.items.count == 2)
        #expect(list.items[1].first?.location.line == 14)
        guard case .quote(let quoted) = blocks[2].kind else { Issue.record("expected a quote"); return }
        #expect(quoted.first?.kind == .paragraph([.text("q")]))
    }
}
