import BookKit
import FlyingFox
import Foundation
import Testing
@testable import BookServe

@Suite("serve: what pages get on their way out")
struct LivePageTests {
    let page = "<!DOCTYPE html>\n<html>\n<head><title>t</title></head>\n<body>\n<main>content</main>\n</body>\n</html>\n"

    /// The page is served as written, the additions after it (the browser test in
    /// `.ci/serve-browser.mjs` checks that the panel ends up first in the body).
    @Test func theAdditionsFollowThePageUntouched() throws {
        let html = LivePage.inject(into: page, page: "02-rnn", generation: 7, panel: "<aside id=\"rnnbook-findings\">P</aside>")
        #expect(html.hasPrefix(page))
        #expect(String(html.dropFirst(page.count)) == LivePage.styleTag + "<aside id=\"rnnbook-findings\">P</aside>"
                + "<script src=\"/_rnnbook/live.js\" data-page=\"02-rnn\" data-generation=\"7\"></script>\n")
        // The script puts the panel first: it looks for it by the id the panel is written with.
        #expect(LivePage.script.contains("getElementById('rnnbook-findings')"))
    }

    @Test func aPageNameIsEscapedInTheScriptTag() {
        let html = LivePage.inject(into: page, page: "a\"><script>x", generation: 1, panel: nil)
        #expect(!html.contains("a\"><script>x"))
        #expect(html.contains("data-page=\"a&quot;&gt;&lt;script&gt;x\""))
    }

    @Test func pageNamesOfFiles() {
        #expect(LivePage.pageName(forFile: "02-rnn.html") == "02-rnn")
        #expect(LivePage.pageName(forFile: "02-rnn.last-good.html") == "02-rnn")
        #expect(LivePage.pageName(forFile: "index.html") == "index")
    }

    func failed() -> LiveChapter {
        var c = LiveChapter(path: "chapters/02-rnn.md", file: URL(fileURLWithPath: "/book/chapters/02-rnn.md"), slug: "02-rnn")
        c.findings = [
            ShownFinding(location: SourceLocation(file: "chapters/02-rnn.md", line: 12, column: 3), message: "error: cannot find 'W_hq' in scope <b>"),
            ShownFinding(location: SourceLocation(file: "<generated>", line: 4), message: "elsewhere"),
            ShownFinding(location: nil, message: "no place"),
        ]
        return c
    }

    @Test func thePanelLinksEachFindingToItsLineAndEscapesTheMessage() throws {
        let panel = try #require(LivePage.panel(for: failed(), general: [], below: .lastPassed(asBuilt: "02-rnn.html?as-built"),
                                                known: ["chapters/02-rnn.md"]))
        #expect(panel.contains("<a class=\"loc\" href=\"/_rnnbook/source/chapters/02-rnn.md#L12\">chapters/02-rnn.md:12:3</a>"))
        #expect(panel.contains("cannot find &#39;W_hq&#39; in scope &lt;b&gt;"))
        #expect(!panel.contains("<b>"))
        // A place outside the book's chapters is shown, not linked.
        #expect(panel.contains("<span class=\"loc\">&lt;generated&gt;:4:1</span>"))
        #expect(panel.contains("no place"))
        #expect(panel.contains("the last version of this chapter that passed"))
        #expect(panel.contains("href=\"02-rnn.html?as-built\""))
    }

    @Test func noPanelForAPassingChapter() {
        let c = LiveChapter(path: "chapters/a.md", file: URL(fileURLWithPath: "/a.md"), slug: "a")
        #expect(LivePage.panel(for: c, general: [], below: .asBuilt, known: []) == nil)
        #expect(LivePage.indexPanel(chapters: [c], general: [], known: []) == nil)
        #expect(LivePage.indexPanel(chapters: [c, failed()], general: [], known: [])?.contains("1 chapter failed") == true)
    }

    @Test func theSourceViewNumbersLinesAndShowsFindingsUnderThem() {
        let html = LivePage.sourceView(path: "chapters/02-rnn.md", text: "# T\n<b>x</b>\nthird\n", findings: failed().findings)
        #expect(html.contains("<li id=\"L1\"># T</li>"))
        #expect(html.contains("<li id=\"L2\">&lt;b&gt;x&lt;/b&gt;</li>"))
        #expect(html.contains("<li id=\"L12\">") == false)
        #expect(!html.contains("<li id=\"L4\">"))
        let withFinding = LivePage.sourceView(path: "chapters/02-rnn.md", text: String(repeating: "line\n", count: 12), findings: failed().findings)
        #expect(withFinding.contains("<li id=\"L12\">line\n<span class=\"finding\">✗ chapters/02-rnn.md:12:3: error: cannot find &#39;W_hq&#39; in scope &lt;b&gt;</span></li>"))
    }
}

@Suite("serve: answering requests", .serialized)
struct HandlerTests {
    /// An output folder as a build leaves it after chapter `a` passed and then failed.
    func served() throws -> (TempFolder, BookHandler) {
        let dir = try TempFolder()
        let head = "<!DOCTYPE html>\n<html><head></head>\n<body>\n"
        try dir.write("chapters/a.md", "# A\n\nline 3\n")
        try dir.write("secret.txt", "outside\n")
        try dir.write("output/index.html", head + "<p>contents</p>\n</body></html>")
        try dir.write("output/a.html", head + "<p>BROKEN RENDER</p>\n</body></html>")
        try dir.write("output/a.last-good.html", head + "<p>GOOD CONTENT</p>\n</body></html>")
        try dir.write("output/b.html", head + "<p>page b</p>\n</body></html>")
        try dir.write("output/assets/book.css", "body { color: red }")
        try dir.write("output/.cache/a.failed.json", "{}")
        let state = LiveState()
        state.setChapters([("chapters/a.md", dir.url.appendingPathComponent("chapters/a.md"), "a"),
                           ("chapters/b.md", dir.url.appendingPathComponent("chapters/b.md"), "b")])
        state.finished("b", findings: [], passed: true)
        state.finished("a", findings: [ShownFinding(location: SourceLocation(file: "chapters/a.md", line: 3, column: 5), message: "error: boom")], passed: false)
        return (dir, BookHandler(output: dir.url.appendingPathComponent("output"), state: state, hub: EventHub()))
    }

    func get(_ handler: BookHandler, _ path: String, query: [HTTPRequest.QueryItem] = [], method: HTTPMethod = .GET,
             host: String = "127.0.0.1:8000") async throws -> (Int, String, String?) {
        let request = HTTPRequest(method: method, version: .http11, path: path, query: query, headers: HTTPHeaders([.host: host]),
                                  body: HTTPBodySequence(data: Data()))
        let response = try await handler.handleRequest(request)
        return (response.statusCode.code, String(decoding: try await response.bodyData, as: UTF8.self), response.headers[.contentType])
    }

    @Test func headGivesTheLengthWithoutTheBody() async throws {
        let (dir, handler) = try served()
        _ = dir
        let request = HTTPRequest(method: .HEAD, version: .http11, path: "/assets/book.css", query: [],
                                  headers: HTTPHeaders([.host: "localhost:8000"]), body: HTTPBodySequence(data: Data()))
        let response = try await handler.handleRequest(request)
        #expect(response.statusCode.code == 200 && response.headers[.contentLength] == "19")
        #expect(try await response.bodyData.isEmpty)
    }

    /// DNS rebinding: a page at evil.example whose name now points to 127.0.0.1.
    @Test func onlyRequestsForTheLocalHost() async throws {
        let (dir, handler) = try served()
        _ = dir
        #expect(try await get(handler, "/b.html", host: "evil.example:8000").0 == 403)
        #expect(try await get(handler, "/b.html", host: "localhost").0 == 200)
        #expect(try await get(handler, "/b.html", host: "[::1]:8000").0 == 200)
        #expect(try await get(handler, "/b.html", host: "127.0.0.1.evil.example").0 == 403)
    }

    @Test func aFailedChapterShowsItsFindingsAboveTheLastGoodContent() async throws {
        let (dir, handler) = try served()
        _ = dir
        let (status, body, type) = try await get(handler, "/a.html")
        #expect(status == 200 && type == "text/html; charset=utf-8")
        let panel = try #require(body.range(of: "id=\"rnnbook-findings\""))
        let good = try #require(body.range(of: "GOOD CONTENT"))
        // The panel follows the page as served; the live script moves it to the top (the
        // browser test, .ci/serve-browser.mjs, checks it is first on the page).
        #expect(good.upperBound <= panel.lowerBound)
        #expect(!body.contains("BROKEN RENDER"))
        #expect(body.contains("href=\"/_rnnbook/source/chapters/a.md#L3\">chapters/a.md:3:5</a>"))
        #expect(body.contains("data-page=\"a\""))
        // The failed build's own page is one click away, without the panel.
        let (_, asBuilt, _) = try await get(handler, "/a.html", query: [.init(name: "as-built", value: "")])
        #expect(asBuilt.contains("BROKEN RENDER") && !asBuilt.contains("id=\"rnnbook-findings\"") && asBuilt.contains("/_rnnbook/live.js"))
    }

    @Test func aPassingChapterAndTheIndexGetTheScriptAndTheIndexListsFailures() async throws {
        let (dir, handler) = try served()
        _ = dir
        let (_, b, _) = try await get(handler, "/b.html")
        #expect(b.contains("page b") && b.contains("data-page=\"b\"") && !b.contains("id=\"rnnbook-findings\""))
        let (_, index, _) = try await get(handler, "/")
        #expect(index.contains("contents") && index.contains("data-page=\"index\"") && index.contains("1 chapter failed"))
    }

    @Test func assetsAreServedAsTheyAre() async throws {
        let (dir, handler) = try served()
        _ = dir
        let (status, css, type) = try await get(handler, "/assets/book.css")
        #expect(status == 200 && css == "body { color: red }" && type == "text/css; charset=utf-8")
    }

    @Test(arguments: ["/../secret.txt", "/.cache/a.failed.json", "/assets/../../secret.txt", "/nothing.css"])
    func nothingOutsideTheFolderOrHidden(_ path: String) async throws {
        let (dir, handler) = try served()
        _ = dir
        let (status, body, _) = try await get(handler, path)
        #expect(status == 404)
        #expect(!body.contains("outside") && !body.contains("{}"))
    }

    @Test func theSourceViewServesOnlyTheBooksChapters() async throws {
        let (dir, handler) = try served()
        _ = dir
        let (status, body, _) = try await get(handler, "/_rnnbook/source/chapters/a.md")
        #expect(status == 200 && body.contains("<li id=\"L3\">line 3\n<span class=\"finding\">"))
        for path in ["/_rnnbook/source/secret.txt", "/_rnnbook/source/../secret.txt", "/_rnnbook/source/chapters/../secret.txt"] {
            let (s, b, _) = try await get(handler, path)
            #expect(s == 404 && !b.contains("outside"), "\(path)")
        }
    }

    @Test func onlyGetAndHead() async throws {
        let (dir, handler) = try served()
        _ = dir
        #expect(try await get(handler, "/b.html", method: .POST).0 == 405)
    }

    @Test func aChapterWithoutAPageYetGetsAPlaceholderThatReloads() async throws {
        let (dir, handler) = try served()
        try FileManager.default.removeItem(at: dir.url.appendingPathComponent("output/b.html"))
        let (status, body, _) = try await get(handler, "/b.html")
        #expect(status == 404 && body.contains("chapters/b.md") && body.contains("data-page=\"b\""))
        #expect(try await get(handler, "/zzz.html").0 == 404)
    }

    @Test func theScriptIsServed() async throws {
        let (dir, handler) = try served()
        _ = dir
        let (status, body, type) = try await get(handler, "/_rnnbook/live.js")
        #expect(status == 200 && type == "text/javascript; charset=utf-8" && body.contains("new EventSource('/_rnnbook/events')"))
    }
}
