import BookProtocol
import Foundation
import Testing
@testable import BookKit

@Suite("Progress lines")
struct ProgressLineTests {
    static let training = BlockProgress(path: "chapters/03-char-lm.md", block: 4, of: 12, elapsed: 40,
                                        reported: .init(step: 100, of: 500, metrics: ["ppl": 5.25, "grad_norm": 0.875], tokensPerSecond: 131_072),
                                        lastRun: nil)

    @Test func aWideTerminalShowsEverything() {
        #expect(Self.training.line.fitted(width: 200)
                == "chapters/03-char-lm.md: block 5/12 40 s · epoch 100/500 grad_norm 0.875 ppl 5.25 · 131072 tok/s · 160 s left")
    }

    /// The old line was cut from the end: at 60 columns it kept the path and lost the perplexity
    /// and the time left.
    @Test func aNarrowTerminalKeepsTheNumbersAndLetsThePathGo() {
        let narrow = (StatusLine("[3/4] ") + Self.training.line).fitted(width: 60)
        #expect(narrow.count <= 59)
        #expect(narrow.contains("epoch 100/500"), "\(narrow)")
        #expect(narrow.contains("160 s left"), "\(narrow)")
        #expect(narrow.contains("[3/4]"), "\(narrow)")
        #expect(!narrow.contains("chapters/"), "\(narrow)")
        #expect(!narrow.hasSuffix("…"), "\(narrow)")
        let tiny = (StatusLine("[3/4] ") + Self.training.line).fitted(width: 40)
        #expect(tiny == "[3/4] 40 s · epoch 100/500 · 160 s left", "\(tiny)")
        // What goes first: the folder, then tokens per second, then the file name.
        let wide = Self.training.line.text.count
        let oneLess = Self.training.line.fitted(width: wide)  // one column short
        #expect(oneLess.hasPrefix("03-char-lm.md: block 5/12"), "\(oneLess)")
        #expect(oneLess.contains("tok/s"))
    }

    @Test func aLineOfOnePartIsStillCut() {
        let long = String(repeating: "x", count: 100)
        #expect(StatusLine(long).fitted(width: 30) == String(repeating: "x", count: 28) + "…")
    }

    /// A block that reports no progress of its own shows its time against its last run.
    @Test func aSilentBlockCountsDownFromItsLastRun() {
        var silent = BlockProgress(path: "chapters/04-bptt.md", block: 6, of: 30, elapsed: 30, reported: nil, lastRun: 92)
        #expect(silent.line.text == "chapters/04-bptt.md: block 7/30 30 s · about 62 s left (92 s last run)")
        #expect(silent.line.fitted(width: 40) == "block 7/30 30 s · about 62 s left", "\(silent.line.fitted(width: 40))")
        silent.elapsed = 100
        #expect(silent.line.text.hasSuffix("100 s · over the last run's (92 s last run)"))
        silent.lastRun = nil
        #expect(silent.line.text == "chapters/04-bptt.md: block 7/30 100 s")
    }

    @Test func theLastRunIsTheSameCodeWithTheSameSettings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-last-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = RunCache(directory: dir)
        func record(profile: String, blocks: [String], seconds: [Double]) -> RunRecord {
            var r = RunCacheTests.record("x")
            r.inputs = RunInputs(parts: blocks.enumerated().map { .init(name: "block \($0.offset + 1)", value: $0.element) }
                                 + [.init(name: "profile", value: profile), .init(name: "param lr", value: "1.0")])
            r.run.events = seconds.enumerated().map { .blockEnd(index: $0.offset, seconds: $0.element) }
            return r
        }
        cache.store(record(profile: "quick", blocks: ["a", "b", "c"], seconds: [1, 20, 3]), for: "c", passed: true, pageSource: "p")
        cache.store(record(profile: "default", blocks: ["a", "b", "c"], seconds: [1, 90, 5]), for: "c", passed: true, pageSource: "p")
        // Now in quick, with block 2 edited and a block inserted before the last.
        let now = record(profile: "quick", blocks: ["a", "B", "new", "c"], seconds: []).inputs
        #expect(cache.lastBlockSeconds("c", like: now) == [0: 1, 3: 3])
        var other = now
        other.parts[other.parts.count - 1].value = "0.5"  // another lr: no run to go by
        #expect(cache.lastBlockSeconds("c", like: other).isEmpty)
    }

    /// The summary line of a long chapter says where its time went.
    @Test func aLongRunNamesItsSlowestBlocks() throws {
        var result = HTMLFixtures.rnnResult
        let chapter = try ChapterParser().parse(source: "# A\n\n```swift\nlet a = 1\n```\n\n```swift\nlet b = 2\n```\n\n```swift\nlet c = 3\n```\n",
                                                path: "chapters/a.md")
        result.blocks = [BlockResult(index: 0, status: .passed, seconds: 2), BlockResult(index: 1, status: .passed, seconds: 70),
                         BlockResult(index: 2, status: .passed, seconds: 20)]
        result.seconds = 95
        #expect(BookBuilder.slowestBlocks(result, chapter: chapter) == "; slowest: block 2 (line 8) 70 s, block 3 (line 12) 20 s")
        result.seconds = 25  // a short run says nothing more
        #expect(BookBuilder.slowestBlocks(result, chapter: chapter) == "")
    }
}
