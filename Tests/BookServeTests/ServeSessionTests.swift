import BookProtocol
import Foundation
import Testing
@testable import BookKit
@testable import BookServe

/// A book whose "build" is faked: a chapter whose text says BROKEN does not parse, one that says
/// FAIL fails with a compile error on line 2, any other passes. Records what each build built.
final class FakeBook {
    let dir: TempFolder
    var builds: [[String]] = []
    var sites: [[String]] = []
    /// Runs inside the next build (an edit made while a build runs).
    var duringBuild: (() throws -> Void)?
    let state = LiveState()
    let hub = EventHub()
    var session: ServeSession!

    init(_ chapters: [String: String]) throws {
        dir = try TempFolder()
        for (name, text) in chapters { try dir.write("chapters/\(name)", text) }
        let chapters = dir.url.appendingPathComponent("chapters")
        let hooks = ServeSession.Hooks(
            chapterFiles: {
                try FileManager.default.contentsOfDirectory(atPath: chapters.path).filter { $0.hasSuffix(".md") }.sorted().map {
                    ChapterFile(url: chapters.appendingPathComponent($0), displayPath: "chapters/\($0)")
                }
            },
            build: { [unowned self] files, _, site in
                self.builds.append(files.map(\.displayPath))
                if let edit = self.duringBuild { self.duringBuild = nil; try edit() }
                var outcome = BookBuilder.Outcome(chapters: [], failures: [], builtPaths: Set(files.map(\.displayPath)))
                for f in files {
                    let text = try String(contentsOf: f.url, encoding: .utf8)
                    let slug = f.url.deletingPathExtension().lastPathComponent
                    if text.contains("BROKEN") {
                        let error = BookError("front matter is never closed", at: SourceLocation(file: f.displayPath, line: 1))
                        outcome.parseErrors[f.displayPath] = error
                        outcome.failures.append(error.description)
                        continue
                    }
                    let fails = text.contains("FAIL")
                    let findings = fails ? [Finding(.compile, "block 1", at: SourceLocation(file: f.displayPath, line: 2, column: 7), message: "error: cannot find 'x' in scope")] : []
                    let result = ChapterResult(chapter: f.displayPath, title: slug, status: fails ? .failed : .passed, profile: "default",
                                               params: [:], seed: nil, blocks: [], findings: findings, metrics: [:],
                                               versions: VersionInfo(rnnbook: "t", swiftc: "t", cmark: "t", openblas: "t"),
                                               machine: "t", startedAt: "t", seconds: 0, compileSeconds: 0, cached: false)
                    outcome.chapters.append((Chapter(path: f.displayPath, slug: slug, title: slug), result))
                    outcome.failures += result.failures.map(\.description)
                }
                self.sites.append(site(outcome).map(\.chapter.slug))
                return outcome
            },
            fullSite: { outcome in outcome.chapters },
            inputFiles: { [dir] chapter in chapter.slug == "a" ? [dir.url.appendingPathComponent("chapters/figures/f.svg")] : [] })
        session = ServeSession(hooks: hooks, state: state, hub: hub, terminal: Terminal(live: false), folders: [chapters])
    }

    func path(_ name: String) -> String { dir.path("chapters/\(name)") }
}

@Suite("serve: what is rebuilt, and what the pages are told", .serialized)
struct ServeSessionTests {
    @Test func rebuildsOnlyTheChapterThatChangedAndTellsItsPagesAndTheIndex() async throws {
        let book = try FakeBook(["a.md": "# A\n", "b.md": "# B\n"])
        _ = book.session.buildAll()
        #expect(book.builds == [["chapters/a.md", "chapters/b.md"]])
        let bGeneration = book.state.generation(of: "b")
        var events = EventStreamBody(stream: book.hub.subscribe()).makeAsyncIterator()

        try book.dir.write("chapters/a.md", "# A\nFAIL\n")
        book.session.rebuild(changed: [book.path("a.md")])
        #expect(book.builds.last == ["chapters/a.md"])
        #expect(book.state.chapter(slug: "a")?.findings == [ShownFinding(location: SourceLocation(file: "chapters/a.md", line: 2, column: 7), message: "error: cannot find 'x' in scope")])
        #expect(book.state.chapter(slug: "b")?.findings == [])
        #expect(book.state.generation(of: "b") == bGeneration)
        // The site written keeps b (from memory), with a's new result.
        #expect(book.sites.last == ["a", "b"])

        var text = ""
        while !text.contains("event: reload") {
            text += String(decoding: try #require(try await events.nextBuffer(suggested: 4096)), as: UTF8.self)
        }
        #expect(text.contains("event: building\ndata: {\"pages\":[\"a\",\"index\"],\"paths\":[\"chapters\\/a.md\"]}"))
        #expect(text.contains("event: reload\ndata: {\"pages\":[\"a\",\"index\"],\"paths\":[\"chapters\\/a.md\"]}"))
    }

    @Test func aFigureChangeRebuildsTheChapterThatShowsIt() throws {
        let book = try FakeBook(["a.md": "# A\n", "b.md": "# B\n"])
        _ = book.session.buildAll()
        let figure = book.dir.path("chapters/figures/f.svg")
        #expect(book.session.watchedFiles.contains(figure))
        book.session.rebuild(changed: [figure])
        #expect(book.builds.last == ["chapters/a.md"])
    }

    @Test func aChapterThatNoLongerParsesKeepsItsPlaceAndShowsTheError() throws {
        let book = try FakeBook(["a.md": "# A\n", "b.md": "# B\n"])
        _ = book.session.buildAll()
        try book.dir.write("chapters/a.md", "BROKEN\n")
        book.session.rebuild(changed: [book.path("a.md")])
        #expect(book.sites.last == ["a", "b"])
        let a = try #require(book.state.chapter(slug: "a"))
        #expect(a.findings.map(\.location?.description) == ["chapters/a.md:1:1"])
        #expect(a.lastResultPassed == true)
        // The fix clears it.
        try book.dir.write("chapters/a.md", "# A again\n")
        book.session.rebuild(changed: [book.path("a.md")])
        #expect(book.state.chapter(slug: "a")?.findings == [])
    }

    @Test func aNewChapterIsBuiltAndADeletedOneLeaves() throws {
        let book = try FakeBook(["a.md": "# A\n", "b.md": "# B\n"])
        _ = book.session.buildAll()
        try book.dir.write("chapters/c.md", "# C\n")
        book.session.rebuild(changed: [book.path("c.md")])
        #expect(book.builds.last == ["chapters/c.md"])
        try FileManager.default.removeItem(atPath: book.path("b.md"))
        book.session.rebuild(changed: [book.path("b.md")])
        // Nothing to build, but the contents are written again without it.
        #expect(book.builds.last == [])
        #expect(book.sites.last == ["a", "c"])
        #expect(book.state.chapter(slug: "b") == nil)
        #expect(book.state.all.map(\.slug) == ["a", "c"])
    }

    /// The watch loop: an edit is built once; an edit made while that build runs queues exactly
    /// one more build. Bounded by polls, not by a clock.
    @Test func theWatchLoopBuildsAnEditAndQueuesOneMoreForAnEditDuringTheBuild() throws {
        let book = try FakeBook(["a.md": "# A\n", "b.md": "# B\n"])
        let baseline = book.session.buildAll()
        try book.dir.write("chapters/a.md", "# A, edited\n")
        book.duringBuild = { try book.dir.write("chapters/b.md", "# B, edited during the build of a\n") }
        var polls = 0
        book.session.watch(from: baseline, poll: 0.01, quiet: 0.02, maxWait: 1) {
            polls += 1
            // Stop once both builds ran (plus a few polls to catch an extra one), or give up.
            return polls < 2000 && !(book.builds.count >= 3 && polls > 50)
        }
        #expect(book.builds == [["chapters/a.md", "chapters/b.md"], ["chapters/a.md"], ["chapters/b.md"]], "\(book.builds) after \(polls) polls")
    }

    @Test func theAffectedChapters() {
        let files = [ChapterFile(url: URL(fileURLWithPath: "/b/chapters/a.md"), displayPath: "chapters/a.md"),
                     ChapterFile(url: URL(fileURLWithPath: "/b/chapters/b.md"), displayPath: "chapters/b.md"),
                     ChapterFile(url: URL(fileURLWithPath: "/b/chapters/c.md"), displayPath: "chapters/c.md")]
        let inputs: [String: Set<String>] = ["chapters/a.md": ["/b/chapters/a.md", "/data/x.txt"], "chapters/b.md": ["/b/chapters/b.md", "/data/x.txt"]]
        let previous: Set<String> = ["chapters/a.md", "chapters/b.md", "chapters/c.md"]
        func names(_ changed: Set<String>, previous: Set<String> = previous) -> [String] {
            ServeSession.affected(by: changed, files: files, inputs: inputs, previous: previous).map(\.displayPath)
        }
        #expect(names(["/b/chapters/b.md"]) == ["chapters/b.md"])
        #expect(names(["/data/x.txt"]) == ["chapters/a.md", "chapters/b.md"])
        #expect(names(["/elsewhere"]) == [])
        // c.md is watched through its folder even before it has inputs.
        #expect(names(["/b/chapters/c.md"]) == ["chapters/c.md"])
        #expect(names([], previous: ["chapters/a.md", "chapters/b.md"]) == ["chapters/c.md"])
    }
}
