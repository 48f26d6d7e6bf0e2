import Foundation
import Testing
@testable import BookKit
@testable import BookServe

/// `serve` builds through `BookPipeline` itself: a real (prose-only, so nothing compiles) book
/// in a temporary folder, built and rebuilt in process.
@Suite("serve: builds through the pipeline", .serialized)
struct ServePipelineTests {
    @Test func aChapterThatStopsParsingShowsItsErrorOnceAndKeepsItsLastGoodPage() throws {
        let dir = try TempFolder()
        try dir.write("chapters/01-a.md", "# A\n\n## Part {#sec-a}\n\nSee @sec-b.\n")
        try dir.write("chapters/02-b.md", "# B\n\n## Part {#sec-b}\n")
        let chapters = dir.url.appendingPathComponent("chapters")
        var request = BookRequest(settings: BuildSettings(bookRoot: dir.url, outputDirectory: dir.url.appendingPathComponent("output")))
        request.paths = [chapters.path]
        let state = LiveState()
        let session = ServeSession(pipeline: BookPipeline(request), state: state, hub: EventHub(),
                                   terminal: Terminal(live: false), folders: [chapters])
        _ = session.buildAll()
        #expect(state.chapter(slug: "01-a")?.findings == [])
        #expect(state.chapter(slug: "01-a")?.lastResultPassed == true)
        #expect(state.chapter(slug: "02-b")?.lastResultPassed == true)
        let page = try Data(contentsOf: dir.url.appendingPathComponent("output/02-b.html"))

        try dir.write("chapters/02-b.md", "---\ntitle: [unclosed\n---\n# B\n\n## Part {#sec-b}\n")
        session.rebuild(changed: [dir.path("chapters/02-b.md")])
        let b = try #require(state.chapter(slug: "02-b"))
        #expect(b.findings.count == 1)
        #expect(b.findings.first?.location?.file == "chapters/02-b.md", "\(b.findings)")
        #expect(b.findings.first?.message.contains("malformed YAML front matter") == true, "\(b.findings)")
        #expect(b.lastResultPassed == true)
        #expect(try Data(contentsOf: dir.url.appendingPathComponent("output/02-b.html")) == page)
        // 01-a was not rebuilt, and its reference still resolves (the scan of the broken chapter's text).
        #expect(state.chapter(slug: "01-a")?.findings == [])
    }
}
