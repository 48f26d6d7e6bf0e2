import BookData
import Foundation
import Testing
@testable import BookKit

/// Issue 25: a chapter's data comes from its front matter (`data:`) and nowhere else.
@Suite("Chapter data: declared in front matter, verified, handed over")
struct ChapterDataTests {
    let parser = ChapterParser()
    let path = "chapters/t.md"

    func parse(_ source: String) throws -> Chapter { try parser.parse(source: source, path: path, baseDirectory: nil) }
    func error(_ source: String) throws -> BookError {
        try #require(throws: BookError.self) { try parser.parse(source: source, path: path, baseDirectory: nil) }
    }

    @Test(arguments: [
        ("timemachine", 3, "did you mean 'timemachine.txt'?"),
        ("TimeMachine.txt", 3, "did you mean 'timemachine.txt'?"),
        ("time_machine.txt", 3, "did you mean 'timemachine.txt'?"),
        ("penn-treebank.txt", 3, "unknown data file 'penn-treebank.txt' (a chapter may declare: timemachine.txt"),
    ])
    func anUnknownDataNameIsAnErrorAtItsEntry(name: String, line: Int, says: String) throws {
        let e = try error("---\ndata:\n  - \(name)\n---\n# T\n")
        #expect(e.location?.file == path && e.location?.line == line && e.location?.column == 5, "\(e)")
        #expect(e.message.contains("unknown data file '\(name)'"), "\(e.message)")
        #expect(e.message.contains(says), "\(e.message)")
    }

    @Test func aSingleNameAndAListAreBothDeclarations() throws {
        #expect(try parse("---\ndata: timemachine.txt\n---\n# T\n").dataFiles == ["timemachine.txt"])
        #expect(try parse("---\ndata: [timemachine.txt]\n---\n# T\n").dataFiles == ["timemachine.txt"])
        let e = try error("---\ntitle: T\ndata: timemachin.txt\n---\n# T\n")
        #expect(e.location?.line == 3 && e.message.contains("did you mean 'timemachine.txt'?"), "\(e)")
    }

    static let undeclared = """
    ---
    title: Reads
    ---
    # Reads

    ```swift
    // CharacterCorpus.timeMachine() in a comment is no call
    let note = "TimeMachine.loadText() in a string is none either"
    let corpus = try CharacterCorpus.timeMachine(maxTokens: 100)
    ```
    """

    /// The code calls a loader, the front matter does not declare its file: an error at the
    /// call, naming the key to add. Comments and strings are not calls.
    @Test func aLoaderCallWithoutTheDeclarationIsAnErrorAtTheCall() throws {
        let errors = undeclaredDataReads(in: try parse(Self.undeclared))
        #expect(errors.count == 1)
        let e = try #require(errors.first)
        #expect(e.location == SourceLocation(file: path, line: 9, column: 18), "\(e)")
        #expect(e.message.contains("'CharacterCorpus.timeMachine' reads timemachine.txt"), "\(e.message)")
        #expect(e.message.contains("add `data: timemachine.txt` to the chapter's front matter"), "\(e.message)")
        // Declared, the same code is fine.
        let declared = Self.undeclared.replacingOccurrences(of: "title: Reads", with: "title: Reads\ndata: timemachine.txt")
        #expect(undeclaredDataReads(in: try parse(declared)).isEmpty)
    }

    @Test func callsAreWholeNamesOutsideCommentsAndStrings() {
        let code = """
        let a = TimeMachine.loadText() /* TimeMachine.loadText() */
        let b = MyTimeMachine.loadText(); let c = TimeMachine.loadTextual()
        let d = \"\"\"
        TimeMachine.loadText()
        \"\"\"; let e = BookRuntime.TimeMachine.loadText()
        """
        let found = calls(to: DataFile.timeMachine.readers, in: code)
        #expect(found.map { "\($0.1):\($0.2)" } == ["0:9", "4:26"], "\(found)")
    }

    @Test func theDataKeyIsFoundInTheFrontMatter() {
        let source = "---\ntitle: T\nparams:\n  data: 1\ndata: timemachine.txt\n---\n# data: no\n"
        #expect(frontMatterKeyLocation("data", in: source, file: path) == SourceLocation(file: path, line: 5))
        #expect(frontMatterKeyLocation("data", in: "# T\n", file: path) == SourceLocation(file: path, line: 1))
    }

    /// End to end: the build stops before compiling and prints where to add the declaration.
    @Test func theBuildNamesTheCallAndTheKey() throws {
        let book = try Book()
        try book.write("01-reads.md", Self.undeclared)
        let run = try book.run("build")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/01-reads.md:9:18"), "\(run.stderr)")
        #expect(run.stderr.contains("add `data: timemachine.txt`"), "\(run.stderr)")
    }

    /// Chapter compiles need only the C module maps of the engine's public imports: swift-numerics'
    /// `_NumericsShims`, none of BoringSSL's (Engine imports no Crypto).
    @Test func chapterCompilesPassOnlyTheNumericsShimsModuleMap() throws {
        let bin = Book.binary.deletingLastPathComponent()
        let maps = Toolchain.dependencyModuleMaps(bin: bin)
        #expect(maps.count == 1 && maps[0].hasSuffix("swift-numerics/Sources/_NumericsShims/include/module.modulemap"), "\(maps)")
        #expect(!maps.contains { $0.contains("BoringSSL") })
    }
}
