import Foundation
import Testing
import TestSupport
import Yams
@testable import BookKit

/// Inputs a build reads are bounded: YAML aliases may add only so many nodes, chapter files and
/// bibliographies only so many bytes, and a chapter that is not built is read only for its labels.
@Suite("Bounded inputs", .serialized)
struct BoundedInputTests {
    /// "Billion laughs": nine anchors, each a list of nine aliases of the one before (9^9 leaves
    /// once expanded). `levels` anchors; `keyAlias` adds a mapping whose key is the last alias,
    /// which Yams hashes in full while composing.
    static func bomb(levels: Int, indent: String = "", keyAlias: Bool = false) -> String {
        let names = (0..<levels).map { "l\($0)" }
        var lines = ["\(indent)\(names[0]): &\(names[0]) [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]"]
        for k in 1..<levels {
            lines.append("\(indent)\(names[k]): &\(names[k]) [" + Array(repeating: "*\(names[k - 1])", count: 9).joined(separator: ",") + "]")
        }
        if keyAlias { lines.append("\(indent)? *\(names[levels - 1])\n\(indent): 1") }
        return lines.joined(separator: "\n") + "\n"
    }

    static let item = "- id: a\n  type: book\n  title: T\n  author: [{family: X}]\n  issued: 2001\n"

    @Test func anAliasBombInTheBibliographyIsRefusedAtTheAliasThatPassesTheBudget() throws {
        let yaml = Self.bomb(levels: 9) + "references:\n" + Self.item.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        let error = try #require(throws: BookError.self) { try Bibliography.parse(yaml: yaml, path: "chapters/references.yaml") }
        // l0 is 10 nodes, l1 91, l2 820, l3 7381; their aliases add 90 + 819 + 7380 = 8289, and
        // the first *l3 of l4 adds 7381 more.
        #expect(error.location == SourceLocation(file: "chapters/references.yaml", line: 5, column: 10), "\(error)")
        #expect(error.message.contains("YAML alias *l3 expands to 7381 nodes"), "\(error)")
        #expect(error.message.contains("at most 10000 nodes to the bibliography YAML (InputLimits.yamlAliasNodes)"), "\(error)")
    }

    /// `rnnbook ARGUMENTS…` in `book` under a 1 GB address-space limit (`ulimit -v`).
    static func runLimited(_ book: Book, _ arguments: [String]) throws -> Book.Run {
        try book.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", "ulimit -v 1000000 && exec \"$0\" \"$@\"", Book.binary.path] + arguments)
    }

    @Test func anAliasBombInReferencesIsRefusedUnderASmallMemoryLimit() throws {
        // Expanded, the bomb would need gigabytes: before the budget, the build died of it.
        let book = try Book()
        try book.write("01-a.md", "# A\n\nAs @a shows.\n")
        try book.write("references.yaml", Self.bomb(levels: 9) + "references:\n" + Self.item.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n")
        let run = try Self.runLimited(book, ["check", "chapters/01-a.md"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("chapters/references.yaml:5:10: error: YAML alias *l3 expands to 7381 nodes"), "\(run.stderr)")
    }

    @Test func anAliasBombUsedAsAMappingKeyInFrontMatterIsRefusedBeforeYamsHashesIt() throws {
        // Composing hashes every key of a mapping; the key *l6 is 9^6 lists deep in aliases.
        let source = "---\n" + Self.bomb(levels: 7, keyAlias: true) + "---\n# T\n"
        let error = try #require(throws: BookError.self) { try ChapterParser().parse(source: source, path: "chapters/01-x.md") }
        #expect(error.location == SourceLocation(file: "chapters/01-x.md", line: 6, column: 10), "\(error)")
        #expect(error.message.contains("YAML alias *l3 expands to 7381 nodes"), "\(error)")
        #expect(error.message.contains("YAML front matter"), "\(error)")
    }

    @Test func theBudgetCountsEachAliasAsTheNodesItExpandsTo() throws {
        // &p is a mapping of two pairs: 5 nodes. Two aliases add 10.
        let yaml = "a: &p {x: 1, y: 2}\nb: *p\nc: [*p]\n"
        let place = { (mark: Yams.Mark?) in SourceLocation(file: "f.yaml", line: mark?.line ?? 1, column: mark?.column ?? 1) }
        #expect(try composeBoundedYAML(yaml, what: "test YAML", aliasBudget: 10, at: place)?.mapping?["c"]?.sequence?.first?.mapping?["y"]?.int == 2)
        let error = try #require(throws: BookError.self) { try composeBoundedYAML(yaml, what: "test YAML", aliasBudget: 9, at: place) }
        #expect(error.location == SourceLocation(file: "f.yaml", line: 3, column: 5))
        #expect(error.message.contains("*p expands to 5 nodes, and with the aliases before it to 10; aliases may add at most 9 nodes"), "\(error)")
    }

    @Test func starsThatAreNotAliasesAreTextAndCostNothing() throws {
        let yaml = """
        a: &a [1, 2, 3]
        quoted: "*a and *a"
        single: '*a'
        plain: 2*a *a
        block: |
          *a
          *a
        # *a *a *a
        alias: *a
        """
        let place = { (mark: Yams.Mark?) in SourceLocation(file: "f.yaml", line: mark?.line ?? 1, column: mark?.column ?? 1) }
        // Only `alias: *a` is an alias: 4 nodes, within a budget of 4.
        let node = try #require(try composeBoundedYAML(yaml, what: "test YAML", aliasBudget: 4, at: place)?.mapping)
        #expect(node["quoted"]?.string == "*a and *a")
        #expect(node["single"]?.string == "*a")
        #expect(node["plain"]?.string == "2*a *a")
        #expect(node["block"]?.string == "*a\n*a\n")
        #expect(node["alias"]?.sequence?.count == 3)
        #expect(throws: BookError.self) { try composeBoundedYAML(yaml, what: "test YAML", aliasBudget: 3, at: place) }
    }

    @Test func aBibliographyAndFrontMatterWithLegitimateAliasesStillLoad() throws {
        let yaml = """
        - id: a
          type: book
          title: First
          author: &team [{family: Smith, given: Ann}, {family: Jones, given: Bo}]
          issued: 2001
          publisher: &press MIT Press
        - id: b
          type: book
          title: Second
          author: *team
          issued: 2002
          publisher: *press
        """
        let bib = try Bibliography.parse(yaml: yaml, path: "chapters/references.yaml")
        #expect(bib.entries["b"]?.authors.map(\.family) == ["Smith", "Jones"])
        #expect(bib.entries["b"]?.publisher == "MIT Press")
        let chapter = try ChapterParser().parse(source: "---\nparams: &p {n: 3}\nprofiles:\n  quick: *p\n---\n# T\n", path: "chapters/01-x.md")
        #expect(chapter.profiles["quick"]?["n"] == .int(3))
    }

    @Test func aBibliographyOverTheSizeLimitIsRefusedFromItsSize() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-bounded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("references.yaml")
        // A valid bibliography padded with a comment to one byte over the limit.
        let padding = InputLimits.maxFileBytes + 1 - Self.item.utf8.count - 2
        try (Self.item + "#" + String(repeating: "x", count: padding) + "\n").write(to: url, atomically: true, encoding: .utf8)
        let error = try #require(throws: BookError.self) { try Bibliography.load(contentsOf: url, displayPath: "chapters/references.yaml") }
        #expect(error.location == SourceLocation(file: "chapters/references.yaml", line: 1))
        #expect(error.message == "bibliography chapters/references.yaml is 4.0 MB (4194305 bytes), over the 4 MB limit for bibliography files (InputLimits.maxFileBytes); split it into smaller files")
        // One byte less is read.
        try (Self.item + "#" + String(repeating: "x", count: padding - 1) + "\n").write(to: url, atomically: true, encoding: .utf8)
        #expect(try Bibliography.load(contentsOf: url, displayPath: "chapters/references.yaml").entries.count == 1)
    }

    /// A chapter file of `bytes` bytes that takes no disk space (a sparse file of NULs).
    static func hugeFile(_ url: URL, bytes: UInt64) throws {
        #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: bytes)
        try handle.close()
    }

    static let chapterA = """
    ---
    title: A
    ---
    # A

    ## Start {#sec-start}

    ```swift
    print("a")
    ```
    """

    @Test func aChapterOverTheSizeLimitIsRefusedWithItsSizeAndTheLimit() throws {
        let book = try Book()
        try Self.hugeFile(book.root.appendingPathComponent("chapters/02-big.md"), bytes: 50_000_000)
        let run = try book.run("check", "chapters/02-big.md")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/02-big.md:1:1: error: chapter chapters/02-big.md is 47.7 MB (50000000 bytes), over the 4 MB limit for chapter files"), "\(run.stderr)")
    }

    /// `--profile`'s help names the chapters' profiles: it reads their heads only, so a huge
    /// chapter (here 50 MB) costs help nothing (reading it whole made help take minutes).
    @Test func helpReadsOnlyTheHeadOfAHugeChapter() throws {
        let book = try Book()
        try book.write("01-a.md", "---\nprofiles: {tiny: {n: 1}}\nparams: {n: 2}\n---\n# A\n")
        try Self.hugeFile(book.root.appendingPathComponent("chapters/02-big.md"), bytes: 50_000_000)
        let run = try Program(Book.binary.path, ["check", "--help"], workingDirectory: book.root.path).run(timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("in ./chapters: tiny"), "\(run.stdout)")
    }

    @Test func aBuildOfOneChapterIsNotHeldUpByAHugeChapterBesideIt() throws {
        let book = try Book()
        try book.write("01-a.md", Self.chapterA)
        try Self.hugeFile(book.root.appendingPathComponent("chapters/02-big.md"), bytes: 50_000_000)
        // Writing pages reads the other chapters too (for the contents): the huge one is left out.
        let run = try book.run("build", "chapters/01-a.md")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try book.result("01-a").status == .passed)
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/02-big.html").path))
        // A reference that only the huge chapter could resolve says why its labels are unknown.
        try book.write("01-a.md", Self.chapterA + "\n\nSee @sec-big.\n")
        let failed = try book.run("check", "chapters/01-a.md")
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("chapters/01-a.md:12:5: error: @sec-big refers to no labelled section"), "\(failed.stderr)")
        #expect(failed.stderr.contains("(chapters/02-big.md could not be read (chapter chapters/02-big.md is 47.7 MB (50000000 bytes), over the 4 MB limit for chapter files"), "\(failed.stderr)")
    }

    @Test func anotherChapterIsReadOnlyForItsLabels() throws {
        // Its front matter and code are not parsed: a broken front matter does not stop a
        // reference to its section from resolving (its own build reports the front matter).
        let book = try Book()
        try book.write("01-a.md", Self.chapterA + "\n\nSee @sec-b and @eq-b.\n")
        try book.write("02-b.md", "---\ntitle: [unclosed\n---\n# B\n\n## Part {#sec-b}\n\n$$x = 1$$ {#eq-b}\n")
        let run = try book.run("check", "chapters/01-a.md")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try book.run("check", "chapters/02-b.md").stderr.contains("malformed YAML front matter"))
    }

    @Test func scanningForLabelsFindsWhatTheParserDefinesInEveryChapterOfTheBook() throws {
        let folder = CitationFixtures.chaptersFolder
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") && $0 != "README.md" }.sorted()
        var labels = 0
        for name in names {
            let url = folder.appendingPathComponent(name)
            let source = try String(contentsOf: url, encoding: .utf8)
            let parsed = try ChapterParser().parse(source: source, path: "chapters/\(name)", baseDirectory: folder)
            let scanned = try ChapterLabels(scanning: source, path: "chapters/\(name)")
            labels += parsed.definedLabels.count
            #expect(scanned.labels == parsed.definedLabels, "\(name)")
            #expect(scanned.slug == parsed.slug)
        }
        #expect(labels > 0)
    }
}
