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
