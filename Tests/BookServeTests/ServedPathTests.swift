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

    /// A link with a visible name that leads to a hidden one: into `.cache/`, into any other
    /// dot-folder (inside the output folder or beside it), to a hidden file, or out of the folder.
    @Test func refusesALinkThatLeadsToAHiddenNameOrOutside() throws {
        let (dir, out) = try folder()
        try dir.write("output/.git/config", "[core]\n")
        try dir.write(".secrets/token", "t0ken\n")
        let links = [
            "failed.json": out.appendingPathComponent(".cache/02-rnn.failed.json").path,
            "cache": out.appendingPathComponent(".cache").path,
            "git": out.appendingPathComponent(".git").path,
            "lock.txt": out.appendingPathComponent(".rnnbook-lock").path,
            "secrets": dir.path(".secrets"),
            "outside": dir.url.path,
        ]
        for (name, target) in links {
            try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent(name).path, withDestinationPath: target)
        }
        for path in ["/failed.json", "/cache/02-rnn.failed.json", "/git/config", "/lock.txt", "/secrets/token",
                     "/outside/secret.txt", "/outside/output/.cache/02-rnn.failed.json"] {
            #expect(ServedPath.resolve(path, under: out) == nil, "\(path) must not be served")
        }
        // The same files by visible paths inside the folder are still served.
        try dir.write("output/figures/plot.svg", "<svg/>")
        try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent("plots").path,
                                                   withDestinationPath: out.appendingPathComponent("figures").path)
        #expect(ServedPath.resolve("/plots/plot.svg", under: out)?.lastPathComponent == "plot.svg")
    }

    /// The output folder itself may sit below a hidden folder (`~/.local/book/output`): only the
    /// part of the path below it counts.
    @Test func anOutputFolderInsideAHiddenFolderIsServed() throws {
        let dir = try TempFolder()
        try dir.write(".hidden/output/index.html", "<html></html>")
        let out = dir.url.appendingPathComponent(".hidden/output")
        #expect(ServedPath.resolve("/", under: out)?.lastPathComponent == "index.html")
    }

    @Test func namesContentTypes() {
        #expect(ServedPath.contentType(of: "a.html") == "text/html; charset=utf-8")
        #expect(ServedPath.contentType(of: "katex.min.js") == "text/javascript; charset=utf-8")
        #expect(ServedPath.contentType(of: "KaTeX_Main-Regular.woff2") == "font/woff2")
        #expect(ServedPath.contentType(of: "f.SVG") == "image/svg+xml")
        #expect(ServedPath.contentType(of: "blob") == "application/octet-stream")
    }
}
