import BookProtocol
import Foundation
import Testing
@testable import BookKit

/// NaN and infinities are rejected wherever a number comes in: they compare false with every
/// bound, so `timeout <= 0` let `--timeout nan` turn every timeout off.
@Suite("Options and params reject NaN and infinity")
struct OptionValidationTests {
    @Test(arguments: ["nan", "NaN", "inf", "-inf", "infinity", "1e400"])
    func setRejectsNonFiniteDoubles(text: String) {
        #expect(parseParamValue(text, like: .double(0.1)) == nil)
    }

    @Test func setStillTakesFiniteDoubles() {
        #expect(parseParamValue("2.5e-3", like: .double(0.1)) == .double(2.5e-3))
    }

    @Test(arguments: [".nan", ".inf", "-.inf"])
    func frontMatterRejectsNonFiniteParamsAndTimeouts(value: String) {
        for source in ["---\ntitle: T\nparams:\n  lr: \(value)\n---\n# T\n", "---\ntitle: T\ntimeout: \(value)\n---\n# T\n"] {
            #expect(throws: BookError.self) { try ChapterParser().parse(source: source, path: "chapters/t.md") }
        }
    }

    @Test(arguments: ["nan", "inf", "-1", "0"])
    func timeoutOptionRejectsNonPositiveAndNonFinite(value: String) throws {
        let book = try Book()
        try book.write("t.md", "# T\n")
        let run = try book.run("check", "--timeout=\(value)")
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("--timeout must be a positive number of seconds"))
    }
}

@Suite("Terminal progress")
struct TerminalTests {
    @Test func statusLinesFitTheTerminal() {
        let long = String(repeating: "x", count: 300)
        #expect(Terminal.fitted(long, width: 80).count == 79)
        #expect(Terminal.fitted(long, width: 80).hasSuffix("…"))
        #expect(Terminal.fitted("short", width: 80) == "short")
    }

    @Test func chaptersAreNumbered() {
        let t = Terminal(live: false)
        t.number(chapters: ["chapters/a.md", "chapters/b.md"])
        #expect(t.position(of: "chapters/b.md") == "[2/2] ")
        #expect(t.position(of: "chapters/c.md") == "")
    }

    /// Off a terminal (CI), a long chapter prints a plain progress line every few seconds.
    @Test func aLongChapterShowsProgressInALog() throws {
        let book = try Book()
        try book.write("slow.md", "# S\n\n```swift\nimport Foundation\nThread.sleep(forTimeInterval: \(Terminal.plainInterval * 2.5))\n```\n")
        let run = try book.run("check")
        #expect(run.status == 0, "\(run.stderr)")
        let progress = run.stderr.split(separator: "\n").filter { $0.hasPrefix("[1/1] chapters/slow.md: block 1/1") }
        #expect(progress.count >= 1 && progress.count <= 3, "\(run.stderr)")
        #expect(run.stderr.contains("[1/1] passed  chapters/slow.md"))
    }
}

@Suite("One error style and exit status", .serialized)
struct MessageTests {
    @Test func aMissingPathAndAnEmptyFolderAreBothUsageErrors() throws {
        let book = try Book()
        let missing = try book.run("check", "chapters/none.md")
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr.contains("no such chapter or folder: chapters/none.md"))
        let empty = try book.run("check")
        #expect(empty.status == 2, "\(empty.stderr)")
        #expect(empty.stderr.contains("no chapters found"))
        for run in [missing, empty] { #expect(!run.stderr.lowercased().contains("error: error:")) }
    }

    @Test func exitZeroInsideABlockIsNotCalledACrash() throws {
        let book = try Book()
        try book.write("e.md", "# E\n\n```swift\nimport Foundation\nprint(1)\nexit(0)\n```\n\n```swift\nprint(2)\n```\n")
        let run = try book.run("check")
        #expect(run.status == 1)
        #expect(run.stderr.contains("block 1 ended the program (exit status 0) before it finished"), "\(run.stderr)")
        #expect(!run.stderr.contains("crashed (exited with status 0)"))
    }

    @Test func aMultiLineReasonReachesTheTerminalWhole() throws {
        let book = try Book()
        try book.write("r.md", "# R\n\n```swift\nfatalError(\"data not found\\nlooked in: /nowhere/timemachine.txt\\nFix: set RNNBOOK_DATA\")\n```\n")
        let run = try book.run("check")
        #expect(run.status == 1)
        #expect(run.stderr.contains("data not found"), "\(run.stderr)")
        #expect(run.stderr.contains("looked in: /nowhere/timemachine.txt"))
        #expect(run.stderr.contains("Fix: set RNNBOOK_DATA"))
    }
}
