import Testing
@testable import BookKit

@Suite("Program generation")
struct ProgramGeneratorTests {
    let chapter: Chapter

    init() throws {
        chapter = try ChapterParser().parse(source: """
        $$a = "\\#b"$$ {#eq-odd}

        ```swift
        let x = 1
        ```

        ```swift norun
        shown only
        ```

        ```swift expect-error=run
        fatalError()
        ```

        ```swift
        print(x)
        ```
        """, path: "chapters/g.md")
    }

    @Test func blocksRunAtTopLevelWithMarkdownLines() {
        let program = ProgramGenerator().program(for: chapter)
        let lines = program.split(separator: "\n").map(String.init)
        // Each runnable block: a start marker, then a #sourceLocation naming the Markdown line of its first code line.
        let start0 = lines.firstIndex(of: "_bookBlockStart(0)")!
        #expect(lines[start0 + 1] == "#sourceLocation(file: \"chapters/g.md\", line: 4)")
        #expect(lines[start0 + 2] == "let x = 1")
        #expect(!program.contains("shown only"))
        // Shared state: no block is wrapped in a scope, except the expect-error one (run in a child).
        #expect(lines.contains("if _bookExpectErrorBegin(1) {"))
        #expect(!lines.contains("do {"))
        let start2 = lines.firstIndex(of: "_bookBlockStart(2)")!
        #expect(lines[start2 + 1] == "#sourceLocation(file: \"chapters/g.md\", line: 16)")
        #expect(lines.last == "_bookChapterEnd()")
    }

    @Test func equationsAreRegisteredVerbatim() {
        let program = ProgramGenerator().program(for: chapter)
        #expect(program.contains("BookContext.shared.register(equations: ["))
        // The TeX holds `"\#`, so the raw literal needs two hashes to keep it verbatim.
        #expect(program.contains("##\"\"\"\na = \"\\#b\"\n\"\"\"##"))
    }

    @Test func omittedBlocksKeepTheirStartMarker() {
        let program = ProgramGenerator().program(for: chapter, omitting: [1])
        #expect(program.contains("_bookBlockStart(1)\n_bookBlockStart(2)"))
        #expect(!program.contains("fatalError"))
    }
}
