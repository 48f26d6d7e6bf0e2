import Foundation
import Synchronization
import Testing
@testable import BookKit

/// A book in a temporary folder, built in process through `BookPipeline`, with a parser that
/// counts the parses of each chapter. Its chapters have no runnable Swift, so nothing compiles.
final class PipelineBook {
    let root: URL
    let parses = ParseCount()
    deinit { try? FileManager.default.removeItem(at: root) }

    init(_ chapters: [String: String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("chapters"), withIntermediateDirectories: true)
        for (name, text) in chapters { try write(name, text) }
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: root.appendingPathComponent("chapters/\(name)"))
    }

    /// How many times each chapter (by path) was parsed since the last call.
    func takeParses() -> [String: Int] { parses.take() }

    /// A pipeline over `paths` (default: the whole book) whose parser counts, and, with
    /// `rename`, renames each parsed `sec-` label to `<label>-parsed` (what the text never says,
    /// so that only a stage that uses the parsed chapter can find it).
    func pipeline(_ paths: [String] = [], pages: Bool = true, profile: String = "default", rename: Bool = false) -> BookPipeline {
        var settings = BuildSettings(bookRoot: root, outputDirectory: root.appendingPathComponent("output"))
        settings.profile = profile
        settings.liveProgress = false
        var request = BookRequest(settings: settings)
        request.paths = paths.map { root.appendingPathComponent($0).path }
        request.pages = pages
        var pipeline = BookPipeline(request)
        let parses = self.parses
        pipeline.parser = ChapterParsing { source, file in
            parses.add(file.displayPath)
            var chapter = try ChapterParsing.standard.parse(source, file)
            if rename {
                chapter.sections = chapter.sections?.map { s in
                    var s = s
                    s.label = s.label.map { $0 + "-parsed" }
                    return s
                }
            }
            return chapter
        }
        return pipeline
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent("output/\(name)").path) }
    func data(_ name: String) throws -> Data { try Data(contentsOf: root.appendingPathComponent("output/\(name)")) }
}

/// Parses per chapter path, counted from the build's threads.
final class ParseCount: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func add(_ path: String) { counts.withLock { $0[path, default: 0] += 1 } }
    func take() -> [String: Int] { counts.withLock { c in defer { c = [:] }; return c } }
}

@Suite("the build as stages over one parsed book", .serialized)
struct PipelineTests {
    static let a = "---\ntitle: A\nparams:\n  steps: 3\nprofiles:\n  quick:\n    steps: 1\n---\n# A\n\n## Part {#sec-a}\n\nSome prose.\n"
    static let b = "---\ntitle: B\n---\n# B\n\n## Part {#sec-b}\n\nMore prose.\n"
    static let brokenB = "---\ntitle: [unclosed\n---\n# B\n\n## Part {#sec-b}\n"

    /// One chapter does not parse: the other still builds (with the profile only it defines),
    /// the broken one is reported once at its location, and each chapter is parsed once.
    @Test func aChapterThatDoesNotParseIsReportedOnceAndTheOtherBuilds() throws {
        let book = try PipelineBook(["01-a.md": Self.a, "02-b.md": Self.brokenB])
        let pipeline = book.pipeline(profile: "quick")
        let outcome = try pipeline.build(try pipeline.chapterFiles(), terminal: Terminal(live: false))
        #expect(book.takeParses() == ["chapters/01-a.md": 1, "chapters/02-b.md": 1])

        #expect(outcome.failures.count == 1, "\(outcome.failures)")
        let error = try #require(outcome.parseErrors["chapters/02-b.md"])
        #expect(error.location?.file == "chapters/02-b.md")
        #expect((error.location?.line ?? 0) >= 1)
        #expect(error.message.contains("malformed YAML front matter"), "\(error.message)")
        #expect(outcome.failures[0] == error.description)
        #expect(outcome.failures[0].hasPrefix("chapters/02-b.md:\(error.location!.line):\(error.location!.column): error: "))

        #expect(outcome.chapters.map(\.chapter.slug) == ["01-a"])
        #expect(outcome.chapters.first?.result?.status == .passed)
        #expect(outcome.chapters.first?.result?.profile == "quick")
        #expect(book.exists("01-a.html") && book.exists("01-a.json"))
        #expect(!book.exists("02-b.html") && !book.exists("02-b.json"))
        #expect(pipeline.report(outcome, terminal: Terminal(live: false)) == .failed)
    }

    /// A build of one chapter reads the book's other chapter once, and both the references and
    /// the site take it from that parse: the label only the parsed chapter has resolves.
    @Test func aPartialBuildParsesTheOtherChapterOnceForReferencesAndTheSite() throws {
        let book = try PipelineBook(["01-a.md": Self.a + "\nSee @sec-b-parsed.\n", "02-b.md": Self.b])
        let pipeline = book.pipeline(["chapters/01-a.md"], rename: true)
        var site: [String] = []
        let outcome = try pipeline.build(try pipeline.chapterFiles(), terminal: Terminal(live: false)) { outcome in
            let chapters = pipeline.builder.siteChapters(outcome)
            site = chapters.map(\.chapter.slug)
            return chapters
        }
        #expect(book.takeParses() == ["chapters/01-a.md": 1, "chapters/02-b.md": 1])
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        #expect(outcome.builtPaths == ["chapters/01-a.md"])
        #expect(site == ["01-a", "02-b"])
        #expect(book.exists("02-b.html"))
        #expect(!book.exists("02-b.json"), "02-b was not run")
    }

    /// A chapter that stops parsing keeps its last good page and JSON, and its failure is reported.
    @Test func aChapterThatStopsParsingKeepsItsLastGoodPage() throws {
        let book = try PipelineBook(["01-a.md": Self.a, "02-b.md": Self.b])
        let pipeline = book.pipeline()
        let first = try pipeline.build(try pipeline.chapterFiles(), terminal: Terminal(live: false))
        #expect(first.failures.isEmpty, "\(first.failures)")
        let page = try book.data("02-b.html"), json = try book.data("02-b.json")

        try book.write("02-b.md", Self.brokenB)
        let second = try pipeline.build(try pipeline.chapterFiles(), terminal: Terminal(live: false))
        #expect(second.failures.count == 1)
        #expect(second.parseErrors.keys.sorted() == ["chapters/02-b.md"])
        #expect(try book.data("02-b.html") == page)
        #expect(try book.data("02-b.json") == json)
    }

    /// Another chapter that does not parse still lends its labels (from a scan of its text), and
    /// a build of one chapter does not report the other's error.
    @Test func anotherChapterThatDoesNotParseStillGivesItsLabels() throws {
        let book = try PipelineBook(["01-a.md": Self.a + "\nSee @sec-b.\n", "02-b.md": Self.brokenB])
        let pipeline = book.pipeline(["chapters/01-a.md"], pages: false)
        let outcome = try pipeline.build(try pipeline.chapterFiles(), terminal: Terminal(live: false))
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        #expect(book.takeParses() == ["chapters/01-a.md": 1, "chapters/02-b.md": 1])
        // `check` writes nothing.
        #expect(!book.exists("01-a.json") && !book.exists("index.html"))
    }

    /// A reference only a chapter of this build that did not parse could resolve says why it is unknown.
    @Test func aReferenceIntoAChapterOfThisBuildThatDidNotParseSaysWhy() throws {
        let book = try PipelineBook(["01-a.md": Self.a + "\nSee @sec-b.\n", "02-b.md": Self.brokenB])
        let pipeline = book.pipeline(pages: false)
        let outcome = try pipeline.build(try pipeline.chapterFiles(), terminal: Terminal(live: false))
        #expect(outcome.failures.count == 2, "\(outcome.failures)")
        let reference = try #require(outcome.parseErrors["chapters/01-a.md"])
        #expect(reference.location == SourceLocation(file: "chapters/01-a.md", line: 15, column: 5))
        #expect(reference.message.contains("chapters/02-b.md did not parse"), "\(reference.message)")
    }

    // MARK: What the commands used to check themselves

    @Test func anEmptySelectionIsAUsageError() throws {
        let book = try PipelineBook([:])
        let error = try #require(throws: UsageError.self) { try book.pipeline().chapterFiles() }
        #expect(error.description == "no chapters found in chapters/")
        #expect(throws: UsageError.self) { try book.pipeline(["chapters/nope.md"]).chapterFiles() }
    }

    @Test func aSetThatNoChapterHasIsAUsageErrorBeforeAnythingRuns() throws {
        let book = try PipelineBook(["01-a.md": Self.a])
        var pipeline = book.pipeline(pages: false)
        pipeline.builder.settings.overrides = ["nope": "1"]
        let error = try #require(throws: UsageError.self) {
            try pipeline.build(try pipeline.chapterFiles(), terminal: Terminal(live: false))
        }
        #expect(error.description.contains("--set nope=…: no chapter has a param 'nope'; valid params: steps"), "\(error.description)")
    }

    @Test func gradingAChapterThatIsNotThereOrHasNoExercisesIsAUsageError() throws {
        let book = try PipelineBook(["01-a.md": Self.a])
        var request = GradeRequest(bookRoot: book.root, chapter: "chapters/gone.md")
        request.template = true
        #expect(throws: UsageError.self) { try Grading.run(request, terminal: Terminal(live: false)) }
        request.chapter = "chapters/01-a.md"
        let error = try #require(throws: UsageError.self) { try Grading.run(request, terminal: Terminal(live: false)) }
        #expect(error.description == "chapters/01-a.md has no exercise with a solution and checks")
        request.template = false
        request.submissions = [book.root.appendingPathComponent("chapters").path + "/none"]
        #expect(throws: UsageError.self) { try Grading.run(request, terminal: Terminal(live: false)) }
    }

    @Test func listingFailsOnAChapterThatDoesNotParseAndParsesEachOnce() throws {
        let book = try PipelineBook(["01-a.md": Self.a, "02-b.md": Self.brokenB])
        let pipeline = book.pipeline()
        #expect(try BookPipeline.list(paths: [book.root.appendingPathComponent("chapters").path], bookRoot: book.root,
                                      parser: pipeline.parser) == .failed)
        #expect(book.takeParses() == ["chapters/01-a.md": 1, "chapters/02-b.md": 1])
    }
}
