import Foundation
import Testing
@testable import BookKit

/// Rules the book's own chapters keep for their readers (issue 27, "A student's text").
@Suite("The book's chapters read as a student's text")
struct BookStyleTests {
    static let maxVisibleLines = 40

    /// Lines of each code block a reader sees open on the page: shown, not folded, and not a
    /// solution (which is collapsed, and absent from the student edition).
    static func longVisibleBlocks(in chapter: Chapter) -> [String] {
        chapter.codeBlocks.compactMap { block in
            guard block.options.showCode, !block.options.foldCode, block.options.role != .solution else { return nil }
            return block.lineCount > maxVisibleLines ? "\(chapter.path):\(block.location.line): \(block.lineCount) lines" : nil
        }
    }

    @Test func noVisibleCodeBlockIsLongerThanFortyLines() throws {
        let folder = CitationFixtures.chaptersFolder
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") && $0 != "README.md" }.sorted()
        #expect(files.count >= 4)
        for file in files {
            let chapter = try ChapterParser().parse(contentsOf: folder.appendingPathComponent(file), displayPath: "chapters/\(file)")
            let long = Self.longVisibleBlocks(in: chapter)
            #expect(long.isEmpty, "fold or hide these (```swift fold```), or split them: \(long.joined(separator: "; "))")
        }
    }

    @Test func theRuleSeesALongBlockAndNotAFoldedOne() throws {
        let body = (1 ... 41).map { "let v\($0) = \($0)" }.joined(separator: "\n")
        let parser = ChapterParser()
        let open = try parser.parse(source: "```swift\n\(body)\n```\n", path: "chapters/t.md")
        #expect(Self.longVisibleBlocks(in: open) == ["chapters/t.md:2: 41 lines"])
        let folded = try parser.parse(source: "```swift fold\n\(body)\n```\n", path: "chapters/t.md")
        #expect(Self.longVisibleBlocks(in: folded).isEmpty)
    }
}
