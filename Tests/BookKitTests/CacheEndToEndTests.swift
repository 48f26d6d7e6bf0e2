import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// The author's loop, through the built CLI: what reruns, what is restored, and what the build
/// says about it. Whether the program ran is told by files the chapter code appends to, never
/// by timing.
@Suite("Cache and checkpoints end to end", .serialized)
struct CacheEndToEndTests {
    /// `bump` appends an x to a file in the book's folder (the program's working directory):
    /// `runs.txt` counts runs of the program, `trained.txt` runs of the checkpoint's closure.
    static let prelude = """
    func bump(_ file: String) {
        let old = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        try! (old + "x").write(toFile: file, atomically: true, encoding: .utf8)
    }
    bump("runs.txt")
    let n = param("n", default: 3)
    """

    static let counting = """
    ---
    title: Loop
    params:
      n: 3
    profiles:
      quick:
        n: 2
    ---
    # Loop

    The total is {{total ≈ 6 ± 0.5 @default}}.

    ```swift
    \(prelude)
    ```

    ```swift
    var total = 0
    for i in 1...n { total += i }
    print("sum", total)
    record("total", total)
    ```

    ```output
    sum 6
    ```
    """

    static let training = """
    ---
    title: Training
    params:
      n: 3
    ---
    # Training

    ```swift
    \(prelude)
    let (weights, losses) = checkpoint("weights") { () -> (Tensor<Float>, [Double]) in
        bump("trained.txt")
        print("training with n =", n)
        record("trained_n", n)
        show(table: [["n", String(n)]], header: ["param", "value"])
        return (Tensor<Float>(shape: [2], scalars: [Float(n), 0.1]), [1.5, 0.25])
    }
    let after = "after the checkpoint"
    ```

    Trained with n = {{trained_n ≈ 3 ± 0 @default}}.

    ```swift
    print("weights", weights.scalars, "losses", losses)
    ```
    """

    func count(_ book: Book, _ file: String) -> Int {
        ((try? String(contentsOf: book.root.appendingPathComponent(file), encoding: .utf8)) ?? "").count
    }

    func page(_ book: Book, _ slug: String) throws -> String {
        try String(contentsOf: book.root.appendingPathComponent("output/\(slug).html"), encoding: .utf8)
    }

    static let plotting = """
    ---
    title: Plot
    params:
      n: 3
    ---
    # Plot

    As @fig-curve shows.

    ```swift
    \(prelude)
    ```

    ```swift hide label="fig-curve" fig-cap="Three points rising."
    show(plot: .lines(["rise": [1, 2, 3]], x: "step", y: "value"))
    ```
    """

    /// A figure's label and caption are the page's, not the run's: editing them re-renders from
    /// the cached run, and the render-time rule (one plot per labelled block) is judged again.
    @Test func aCaptionOrLabelEditReRendersWithoutRunningAndIsJudgedAgain() throws {
        let book = try Book()
        try book.write("plot.md", Self.plotting)
        let first = try book.run("build")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(count(book, "runs.txt") == 1)
        #expect(try page(book, "plot").contains("<span class=\"fig-no\">Figure 1.1.</span> Three points rising.</figcaption>"))

        let recaptioned = Self.plotting.replacingOccurrences(of: "Three points rising.", with: "The curve climbs.")
            .replacingOccurrences(of: "fig-curve", with: "fig-climb")
        try book.write("plot.md", recaptioned)
        let edit = try book.run("build")
        #expect(edit.status == 0, "\(edit.stdout)\(edit.stderr)")
        #expect(edit.stderr.contains("re-rendered from the cached run"), "\(edit.stderr)")
        #expect(count(book, "runs.txt") == 1, "the program ran for a caption edit")
        let html = try page(book, "plot")
        #expect(html.contains("id=\"fig-climb\"") && html.contains("Figure 1.1.</span> The curve climbs.</figcaption>"))
        #expect(html.contains("As <a class=\"xref\" href=\"#fig-climb\">Figure 1.1</a> shows."))

        // The label moved to the block that shows no plot: judged from the cached run, it fails there.
        let moved = recaptioned.replacingOccurrences(of: "```swift hide label=\"fig-climb\" fig-cap=\"The curve climbs.\"", with: "```swift hide")
            .replacingOccurrences(of: "```swift\nfunc bump", with: "```swift label=\"fig-climb\" fig-cap=\"The curve climbs.\"\nfunc bump")
        #expect(moved != recaptioned)
        try book.write("plot.md", moved)
        let wrong = try book.run("build")
        #expect(wrong.status == 1, "\(wrong.stdout)\(wrong.stderr)")
        #expect(wrong.stderr.contains("chapters/plot.md:11:1: block 1 is labelled fig-climb with a caption, so it must show exactly one plot"), "\(wrong.stderr)")
        #expect(count(book, "runs.txt") == 1, "the program ran for a label move")
    }

    @Test func aProseEditReRendersThePageWithoutRunningTheProgram() throws {
        let book = try Book()
        try book.write("loop.md", Self.counting)
        let first = try book.run("build")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(count(book, "runs.txt") == 1)
        let outputLine = try #require(book.result("loop").findings.first { $0.kind == .output }?.line)

        // Three new lines of prose above the blocks: the page changes, the program does not run,
        // and the checks point at the lines where the blocks are now.
        let edited = Self.counting.replacingOccurrences(of: "# Loop\n", with: "# Loop\n\nA new paragraph,\nover two lines.\n")
        try book.write("loop.md", edited)
        let prose = try book.run("build")
        #expect(prose.status == 0, "\(prose.stderr)")
        #expect(prose.stderr.contains("re-rendered from the cached run"), "\(prose.stderr)")
        #expect(count(book, "runs.txt") == 1, "the program ran for a prose edit")
        let r = try book.result("loop")
        #expect(r.origin == .rerendered && r.cached)
        #expect(r.findings.first { $0.kind == .output }?.line == outputLine + 3)
        #expect(r.blocks.map(\.stdout) == ["", "sum 6\n"])
        #expect(try page(book, "loop").contains("A new paragraph,\nover two lines."))

        // A claim is prose: it is judged again against the cached value, and can fail.
        try book.write("loop.md", edited.replacingOccurrences(of: "{{total ≈ 6 ± 0.5 @default}}", with: "{{total ≈ 7 ± 0.5 @default}}"))
        let claim = try book.run("build")
        #expect(claim.status == 1)
        #expect(claim.stderr.contains(": total: expected 7.0 ± 0.5, got 6.0"), "\(claim.stderr)")
        #expect(count(book, "runs.txt") == 1)

        // Reverting is a hit too.
        try book.write("loop.md", Self.counting)
        let reverted = try book.run("build")
        #expect(reverted.status == 0, "\(reverted.stderr)")
        #expect(count(book, "runs.txt") == 1)
        #expect(try book.result("loop").findings.first { $0.kind == .output }?.line == outputLine)
        let again = try book.run("build")
        #expect(again.stderr.contains("restored from cache"), "\(again.stderr)")
        #expect(try book.result("loop").origin == .restored)
    }

    @Test func revertingACodeEditSwitchingProfilesBackAndALongerTimeoutAreHits() throws {
        let book = try Book()
        try book.write("loop.md", Self.counting)
        #expect(try book.run("build").status == 0)
        #expect(count(book, "runs.txt") == 1)

        #expect(try book.run("build", "--timeout", "5000").stderr.contains("restored from cache"))
        #expect(count(book, "runs.txt") == 1)

        let quick = try book.run("check", "--profile", "quick")
        #expect(quick.stderr.contains("profile default → quick"), "\(quick.stderr)")
        #expect(quick.stderr.contains("param n 3 → 2"), "\(quick.stderr)")
        #expect(count(book, "runs.txt") == 2)
        #expect(try book.run("build").status == 0)
        #expect(count(book, "runs.txt") == 2, "switching back to the default profile reran")

        let code = Self.counting.replacingOccurrences(of: "print(\"sum\", total)", with: "print(\"sum\", total) // printed")
        try book.write("loop.md", code)
        let edited = try book.run("build")
        #expect(edited.stderr.contains("rerun (block 2 changed)"), "\(edited.stderr)")
        #expect(count(book, "runs.txt") == 3)
        try book.write("loop.md", Self.counting)
        #expect(try book.run("build").status == 0)
        #expect(count(book, "runs.txt") == 3, "reverting a code edit reran")
    }

    @Test func aBlockEditAfterACheckpointRerunsWithoutTheClosureAndAParamChangeRerunsAll() throws {
        let book = try Book()
        try book.write("train.md", Self.training)
        let first = try book.run("build")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("checkpoint computed: weights"), "\(first.stderr)")
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (1, 1))
        let fresh = try book.result("train")
        #expect(fresh.checkpoints?.map(\.restored) == [false])

        // A later block changes: the program runs, the closure does not, and the page is the same.
        try book.write("train.md", Self.training.replacingOccurrences(of: "print(\"weights\"", with: "print(\"trained weights\""))
        let edited = try book.run("build")
        #expect(edited.status == 0, "\(edited.stderr)")
        #expect(edited.stderr.contains("rerun (block 2 changed), restored from checkpoint: weights (computed "), "\(edited.stderr)")
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (2, 1))
        let restored = try book.result("train")
        let note = try #require(restored.checkpoints?.first)
        #expect(note.restored && note.name == "weights" && note.computedAt == fresh.checkpoints?.first?.computedAt)
        // What the closure printed, showed and recorded is replayed.
        #expect(restored.blocks[0].stdout == fresh.blocks[0].stdout && restored.blocks[0].stdout.contains("training with n = 3"))
        #expect(restored.blocks[0].outputs == fresh.blocks[0].outputs && !restored.blocks[0].outputs.isEmpty)
        #expect(restored.metrics["trained_n"] == 3)
        #expect(restored.blocks[1].stdout == "trained weights [3.0, 0.1] losses [1.5, 0.25]\n")
        let html = try page(book, "train")
        #expect(html.contains("<code>weights</code> restored from checkpoint, computed "))

        // An edit after the call in the checkpoint's own block does not touch its key either.
        try book.write("train.md", Self.training.replacingOccurrences(of: "after the checkpoint", with: "after it"))
        let sameBlock = try book.run("build")
        // (The summary compares with the last run, which had the edit in block 2.)
        #expect(sameBlock.stderr.contains("rerun (blocks 1, 2 changed), restored from checkpoint: weights"), "\(sameBlock.stderr)")
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (3, 1))
        // An edit inside the closure does.
        try book.write("train.md", Self.training.replacingOccurrences(of: "[1.5, 0.25])", with: "[1.5, 0.5])"))
        let inside = try book.run("build")
        #expect(inside.stderr.contains("rerun (block 1 changed), checkpoint computed: weights"), "\(inside.stderr)")
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (4, 2))
        try book.write("train.md", Self.training)
        // Reverting finds the first run, as it was.
        #expect(try book.run("build").stderr.contains("restored from cache"))
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (4, 2))

        // A param is part of every key: the chapter and the closure run again.
        // (`check`: `build --set` is an experiment, whose points keep no checkpoints.)
        let param = try book.run("check", "--set", "n=4")
        #expect(param.stderr.contains("rerun (param n 3 → 4), checkpoint computed: weights"), "\(param.stderr)")
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (5, 3))
        // The claim `trained_n ≈ 3` fails with n = 4.
        #expect(param.status == 1 && param.stderr.contains("trained_n: expected 3.0 ± 0.0, got 4.0"), "\(param.stderr)")

        // --force ignores checkpoints; clean --checkpoints drops them.
        #expect(try book.run("build", "--force").status == 0)
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (6, 4))
        let clean = try book.run("clean", "--checkpoints")
        #expect(clean.status == 0 && clean.stdout.contains("removed 3 checkpoints"), "\(clean.stdout)\(clean.stderr)")
        #expect(FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/train.html").path))
        try book.write("train.md", Self.training)
        #expect(try book.run("build").status == 0)
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (6, 4), "the run itself is still cached")
        try book.write("train.md", Self.training.replacingOccurrences(of: "print(\"weights\"", with: "print(\"the weights\""))
        #expect(try book.run("build").status == 0)
        #expect((count(book, "runs.txt"), count(book, "trained.txt")) == (7, 5))
    }

    @Test func aCheckInsideACheckpointFailsItsBlock() throws {
        let book = try Book()
        try book.write("bad.md", """
        # Bad

        $$y = 2 x$$ {#eq-double}

        ```swift
        let y = checkpoint("y") { () -> Double in
            verify("eq-double", ["y": 4.0, "x": 2.0])
            return 4.0
        }
        ```
        """)
        let run = try book.run("check")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/bad.md:6:1: block 1 failed: checkpoint 'y': its closure made checks (eq-double)"), "\(run.stderr)")
    }
}

@Suite("Run cache")
struct RunCacheTests {
    static func record(_ block: String, passed: Bool = true) -> RunRecord {
        let chapter = Chapter(path: "chapters/c.md", slug: "c", title: "C")
        return RunRecord(inputs: RunInputs(parts: [.init(name: "block 1", value: block)]), layout: RunLayout(chapter),
                         compile: CompileVerdict(), run: RunOutcome(), params: [:],
                         versions: VersionInfo(rnnbook: "r", swiftc: "s", cmark: "c", openblas: "o"),
                         machine: "m", startedAt: "t", seconds: 1, compileSeconds: 0)
    }

    @Test func keepsTheMostRecentRunsAndNeverEvictsTheLastPassingOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = RunCache(directory: dir, capacity: 3)
        let good = Self.record("good")
        cache.store(good, for: "c", passed: true, pageSource: "p")
        // Five failing edits in a row: the cache stays bounded, and the passing run stays.
        for i in 0..<5 { cache.store(Self.record("bad \(i)"), for: "c", passed: false, pageSource: "p") }
        let keys = Set(cache.index("c").entries.map(\.key))
        #expect(keys == [good.inputs.key, Self.record("bad 3").inputs.key, Self.record("bad 4").inputs.key])
        #expect(cache.run(for: "c", key: good.inputs.key, pageSource: "p")?.samePage == true)
        #expect(cache.run(for: "c", key: Self.record("bad 0").inputs.key, pageSource: "p") == nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("runs/c").path)
        #expect(files.filter { $0.hasSuffix(".run.json") }.count == 3)
        // Using a run makes it recent: the next store evicts another.
        _ = cache.run(for: "c", key: Self.record("bad 3").inputs.key, pageSource: "q")
        cache.store(Self.record("bad 5"), for: "c", passed: false, pageSource: "p")
        #expect(Set(cache.index("c").entries.map(\.key)) == [good.inputs.key, Self.record("bad 3").inputs.key, Self.record("bad 5").inputs.key])
    }

    @Test func changesNameWhatDiffers() {
        let old = RunInputs(parts: [.init(name: "block 1", value: "a"), .init(name: "block 2", value: "b"),
                                    .init(name: "param lr", value: "1.0"), .init(name: "engine", value: "e1"),
                                    .init(name: "data timemachine.txt", value: "d1")])
        let new = RunInputs(parts: [.init(name: "block 1", value: "a"), .init(name: "block 2", value: "B"),
                                    .init(name: "block 3", value: "c"), .init(name: "param lr", value: "0.5"),
                                    .init(name: "engine", value: "e2"), .init(name: "data timemachine.txt", value: "d2")])
        #expect(new.changes(since: old) == ["blocks 2, 3 (added) changed", "param lr 1.0 → 0.5",
                                            "engine rebuilt", "data timemachine.txt changed"])
        #expect(old.changes(since: old).isEmpty)
        #expect(old.key != new.key)
    }

    @Test func aCheckpointSiteEndsWithItsClosure() {
        let code = """
        let a = 1 // checkpoint("not") { in a comment }
        let s = "checkpoint(\\"neither\\") {"
        let (m, r) = checkpoint("train") { () -> (Int, [Int]) in
            let brace = "}"
            return (a, [a])
        }
        print(m)
        let x = mycheckpoint("no") { 1 }
        let y = checkpoint("y", { 2 })
        let z = checkpoint("z") { (
        """
        let sites = checkpointSites(in: code)
        #expect(sites.map(\.line) == [2, 8])
        #expect(sites.first?.prefix.hasSuffix("return (a, [a])\n}") == true)
        #expect(sites.last?.prefix.hasSuffix("checkpoint(\"y\", { 2 })") == true)
    }

    @Test func linesMoveWithTheirBlocksAndEquations() throws {
        let before = try ChapterParser().parse(source: "# A\n\n$$y = x$$ {#eq-a}\n\n```swift\nlet x = 1\nlet y = 2\n```\n", path: "chapters/a.md")
        let after = try ChapterParser().parse(source: "# A\n\nNew.\n\nLines.\n\n$$y = x$$ {#eq-a}\n\n```swift\nlet x = 1\nlet y = 2\n```\n", path: "chapters/a.md")
        let map = RunLayout(before).lineMap(to: RunLayout(after))
        #expect(map(3) == 7)   // the equation
        #expect(map(6) == 10)  // the second code line
        #expect(map(1) == 1)   // the heading: unchanged
        #expect(relocateLines(in: "chapters/a.md:7:5: error: x\nat chapters/a.md:6", file: "chapters/a.md", map: map)
                == "chapters/a.md:11:5: error: x\nat chapters/a.md:10")
    }
}
