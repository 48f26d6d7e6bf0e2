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

    /// Blocks that show a plot or a drawing (`show(plot:` or `show(svg:` in their code) without
    /// `label="fig-…" fig-cap="…"`: such a plot would have no number and no caption. An exercise's
    /// starter, solution and check cannot be figures (the student edition leaves them or their
    /// output out, and figure numbers must be the same in both editions), so they are not asked.
    static func uncaptionedPlots(in chapter: Chapter) -> [String] {
        chapter.codeBlocks.compactMap { block in
            guard block.language == "swift", block.options.role == nil,
                  block.code.contains("show(plot:") || block.code.contains("show(svg:") else { return nil }
            return block.options.figureLabel == nil || block.options.figureCaption == nil ? "\(chapter.path):\(block.location.line)" : nil
        }
    }

    @Test func everyPlotIsANumberedFigureWithACaption() throws {
        let folder = CitationFixtures.chaptersFolder
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") && $0 != "README.md" }.sorted()
        var plots = 0
        for file in files {
            let chapter = try ChapterParser().parse(contentsOf: folder.appendingPathComponent(file), displayPath: "chapters/\(file)")
            plots += chapter.figures?.filter { $0.plot == true }.count ?? 0
            let bare = Self.uncaptionedPlots(in: chapter)
            #expect(bare.isEmpty, "give these blocks label=\"fig-…\" fig-cap=\"what the reader sees\" on the fence: \(bare.joined(separator: "; "))")
        }
        #expect(plots >= 10, "the book's chapters show \(plots) captioned plots")
    }

    @Test func thePlotRuleSeesABlockWithoutACaption() throws {
        let parser = ChapterParser()
        let bare = try parser.parse(source: "Text.\n\n```swift hide\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n", path: "chapters/t.md")
        #expect(Self.uncaptionedPlots(in: bare) == ["chapters/t.md:4"])
        let drawing = try parser.parse(source: "```swift\nshow(svg: s)\n```\n", path: "chapters/t.md")
        #expect(Self.uncaptionedPlots(in: drawing) == ["chapters/t.md:2"])
        // A solution's plot is not asked for a caption (it cannot have one).
        let solution = try parser.parse(source: "### Exercise: E {#ex-e}\n\nQ.\n\n```swift solution\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n\n```swift check\nexpect(\"x\", true)\n```\n", path: "chapters/t.md")
        #expect(Self.uncaptionedPlots(in: solution).isEmpty)
        let captioned = try parser.parse(source: "```swift hide label=\"fig-a\" fig-cap=\"Two points.\"\nshow(plot: .lines([\"a\": [1, 2]]))\n```\n", path: "chapters/t.md")
        #expect(Self.uncaptionedPlots(in: captioned).isEmpty)
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
