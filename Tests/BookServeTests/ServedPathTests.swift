import Foundation
import Testing
@testable import BookServe

@Suite("serve: only files inside the output folder")
struct ServedPathTests {
    /// An output folder with a page, an asset, hidden files, and a secret beside it.
    func folder() throws -> (TempFolder, URL) {
        let dir = try TempFolder()
        try dir.write("secret.txt", "outside\n")
        try dir.write("output/index.html", "<html></html>")
        try dir.write("output/02-rnn.html", "<html></html>")
        try dir.write("output/assets/book.css", "body {}")
        try dir.write("output/.cache/02-rnn.failed.json", "{}")
        try dir.write("output/.rnnbook-lock", "1\n")
        return (dir, dir.url.appendingPathComponent("output"))
    }

    @Test func servesPagesAndAssetsAndTheRootAsTheIndex() throws {
        let (dir, out) = try folder()
        _ = dir
        #expect(ServedPath.resolve("/02-rnn.html", under: out)?.lastPathComponent == "02-rnn.html")
        #expect(ServedPath.resolve("/assets/book.css", under: out)?.lastPathComponent == "book.css")
        #expect(ServedPath.resolve("/", under: out)?.lastPathComponent == "index.html")
        #expect(ServedPath.resolve("//assets//book.css", under: out)?.lastPathComponent == "book.css")
    }

    @Test(arguments: [
        "/../secret.txt", "/assets/../../secret.txt", "/..", "/./index.html", "/.cache/02-rnn.failed.json",
        "/.rnnbook-lock", "/assets", "/missing.html", "", "index.html", "/index.html\0.png",
        "/assets/%2e%2e/%2e%2e/secret.txt",
    ])
    func refuses(_ path: String) throws {
        let (dir, out) = try folder()
        _ = dir
        #expect(ServedPath.resolve(path, under: out) == nil, "\(path) must not be served")
    }

    @Test func refusesALinkThatLeadsOutsideButFollowsOneThatStaysInside() throws {
        let (dir, out) = try folder()
        try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent("escape.txt").path,
                                                   withDestinationPath: dir.path("secret.txt"))
        try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent("figures").path,
                                                   withDestinationPath: dir.url.path)
        try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent("same.css").path,
                                                   withDestinationPath: out.appendingPathComponent("assets/book.css").path)
        #expect(ServedPath.resolve("/escape.txt", under: out) == nil)
        #expect(ServedPath.resolve("/figures/secret.txt", under: out) == nil)
        #expect(ServedPath.resolve("/same.css", under: out)?.lastPathComponent == "book.css")
    }

    @Test func namesContentTypes() {
        #expect(ServedPath.contentType(of: "a.html") == "text/html; charset=utf-8")
        #expect(ServedPath.contentType(of: "katex.min.js") == "text/javascript; charset=utf-8")
        #expect(ServedPath.contentType(of: "KaTeX_Main-Regular.woff2") == "font/woff2")
        #expect(ServedPath.contentType(of: "f.SVG") == "image/svg+xml")
        #expect(ServedPath.contentType(of: "blob") == "application/octet-stream")
    }
}
