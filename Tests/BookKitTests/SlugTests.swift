import Foundation
import Testing
@testable import BookKit

/// A slug names a chapter's page and JSON: it must be unique, not `index`, and linked encoded.
@Suite("Chapter slugs", .serialized)
struct SlugTests {
    @Test func twoChaptersWithOneSlugAreAnErrorNamingBoth() throws {
        let book = try Book()
        for dir in ["x", "y"] {
            try FileManager.default.createDirectory(at: book.root.appendingPathComponent("chapters/\(dir)"), withIntermediateDirectories: true)
            try book.write("\(dir)/intro.md", "# \(dir)\n")
        }
        let run = try book.run("check", "chapters/x", "chapters/y")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/x/intro.md and chapters/y/intro.md would both be written as intro.html"), "\(run.stderr)")
    }

    @Test func aChapterNamedIndexIsAnError() throws {
        let book = try Book()
        try book.write("index.md", "# I\n")
        let run = try book.run("check")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/index.md: a chapter named 'index' would be overwritten"), "\(run.stderr)")
    }

    @Test func linksToAPageWhoseNameNeedsEscapingAreEncoded() throws {
        #expect(HTMLText.pageHref("ch #1?") == "ch%20%231%3F.html")
        #expect(HTMLText.pageHref("02-rnn", fragment: "eq-a") == "02-rnn.html#eq-a")
        let book = try Book()
        try book.write("ch #1?.md", "# One\n")
        try book.write("ch 2.md", "# Two\n")
        #expect(try book.run("build").status == 0)
        let index = try String(contentsOf: book.root.appendingPathComponent("output/index.html"), encoding: .utf8)
        #expect(index.contains("href=\"ch%20%231%3F.html\""))
        let second = try String(contentsOf: book.root.appendingPathComponent("output/ch 2.html"), encoding: .utf8)
        #expect(second.contains("href=\"ch%20%231%3F.html\""))
        #expect(FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/ch #1?.html").path))
    }
}
