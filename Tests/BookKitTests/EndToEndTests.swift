import Foundation
import Testing
@testable import BookKit
import Engine
import BookProtocol
import TestSupport

/// Runs the built `rnnbook` binary on chapters written to a temporary book.
final class Book {
    let root: URL
    deinit { if ProcessInfo.processInfo.environment["KEEP_BOOK"] == nil { try? FileManager.default.removeItem(at: root) } }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("chapters"), withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: root.appendingPathComponent("chapters/\(name)"), atomically: true, encoding: .utf8)
    }

    typealias Run = ProgramResult

    /// The rnnbook binary SwiftPM built next to the test bundle.
    static var binary: URL { rnnbookBinary ?? URL(fileURLWithPath: "/nonexistent/rnnbook (run swift build --build-tests)") }

    @discardableResult
    func run(_ arguments: String..., environment extra: [String: String] = [:]) throws -> Run {
        try run(executable: Self.binary, arguments, environment: extra)
    }

    /// `executable arguments…` in the book's root (a shell that limits and then runs rnnbook).
    func run(executable: URL, _ arguments: [String], environment extra: [String: String] = [:]) throws -> Run {
        try Program(executable.path, arguments, environment: extra, workingDirectory: root.path).run()
    }

    func result(_ slug: String) throws -> ChapterResult {
        try resultDecoder().decode(ChapterResult.self, from: Data(contentsOf: root.appendingPathComponent("output/\(slug).json")))
    }
}

@Suite("rnnbook end to end", .serialized)
struct EndToEndTests {
    static let counting = """
    ---
    title: Counting
    params:
      n: 3
    profiles:
      quick:
        n: 2
    ---
    # Counting

    ```swift
    let n = param("n", default: 3)
    var total = 0
    for i in 1...n { total += i }
    ```

    ```swift
    print("sum", total)
    record("total", total)
    ```

    ```output
    sum 6
    ```

    The total is {{total}}, {{total ≈ 6 ± 0.5 @default}}.
    """

    @Test func sharedStateParamsAndExpectedOutput() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        let run = try book.run("build")
        #expect(run.status == 0, "\(run.stderr)")
        let r = try book.result("count")
        #expect(r.status == .passed)
        #expect(r.blocks.map(\.status) == [.passed, .passed])
        // The result names rnnbook's version, and the runner's cache key under its own name.
        #expect(r.versions.rnnbook == RNNBookVersion.current)
        #expect(r.versions.runner == ChapterRunner.generatorVersion)
        #expect(r.blocks[1].stdout == "sum 6\n")
        #expect(r.metrics["total"] == 6)
        #expect(r.params["n"] == .int(3))
        #expect(r.checks.contains { $0.kind == .claim && $0.passed })
        #expect(r.checks.contains { $0.kind == .output && $0.passed })
    }

    @Test func setOverridesParamAndMismatchShowsDiff() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        let run = try book.run("check", "--set", "n=4")
        #expect(run.status == 1)
        #expect(run.stderr.contains("- expected: sum 6"))
        #expect(run.stderr.contains("+ got:      sum 10"))
        #expect(run.stderr.contains("chapters/count.md:23:1: block 2 output: output differs"))
        // The claim is checked against the recorded metric and fails with both numbers.
        #expect(run.stderr.contains("chapters/count.md:26:"))
        #expect(run.stderr.contains(": total: expected 6.0 ± 0.5, got 10.0"))
    }

    @Test func profileQuickSkipsDefaultOnlyClaims() throws {
        let book = try Book()
        try book.write("count.md", Self.counting.replacingOccurrences(of: "sum 6", with: "sum 3"))
        let run = try book.run("check", "--profile", "quick")
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func usageErrorsExitTwoAndNameValidChoices() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        let badKey = try book.run("build", "--set", "m=4")
        #expect(badKey.status == 2)
        #expect(badKey.stderr.contains("valid params: n"))
        let badValue = try book.run("build", "--set", "n=four")
        #expect(badValue.status == 2)
        #expect(badValue.stderr.contains("'n' is int"))
        let badProfile = try book.run("build", "--profile", "slow")
        #expect(badProfile.status == 2)
        #expect(badProfile.stderr.contains("default, quick"))
    }

    /// Issue 28: a chapter that fails to parse took its profiles and params with it, and
    /// `--profile quick` then reported "no chapter defines it" (exit 2) instead of the real finding.
    @Test func aChapterThatDoesNotParseIsReportedNotMaskedByAUsageError() throws {
        let book = try Book()
        try book.write("count.md", Self.counting + "\nSee @eq-nowhere.\n")
        for args in [["build", "--profile", "quick"], ["build", "--set", "n=4"], ["check", "--profile", "quick"]] {
            let run = try book.run(args)
            #expect(run.status == 1, "\(args): \(run.stderr)")
            #expect(run.stderr.contains("chapters/count.md:") && run.stderr.contains("eq-nowhere"), "\(args): \(run.stderr)")
            #expect(!run.stderr.contains("no chapter defines it") && !run.stderr.contains("no chapter has a param"), "\(args): \(run.stderr)")
        }
        // With every chapter readable, the same mistakes in the call are still usage errors.
        try book.write("count.md", Self.counting)
        #expect(try book.run("build", "--profile", "quik").status == 2)
    }

    /// Issue 24: `--seed=-1` and `--set num_hiddens=-5` ran and crashed chapters.
    @Test func negativeSeedsAndNonPositiveCountsAreUsageErrors() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        for value in ["0", "-5"] {
            let run = try book.run("build", "--set", "n=\(value)")
            #expect(run.status == 2, "\(run.stderr)")
            #expect(run.stderr.contains("--set n=\(value): 'n' is a count in chapters/count.md (default 3); give a value of at least 1"), "\(run.stderr)")
        }
        let seed = try book.run("build", "--seed=-1")
        #expect(seed.status == 2)
        #expect(seed.stderr.contains("--seed must be 0 or more, got -1"), "\(seed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/count.json").path))
        #expect(try book.run("build", "--set", "n=3", "--seed=0").status == 0)
    }

    @Test func compileErrorNamesMarkdownLineAndColumn() throws {
        let book = try Book()
        try book.write("broken.md", """
        # Broken

        ```swift
        print("first")
        ```

        ```swift
        let y = 1
        let z = W_hq + y
        ```

        ```swift
        print("third")
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/broken.md:9:9: error: cannot find 'W_hq' in scope"))
        let r = try book.result("broken")
        #expect(r.blocks.map(\.status) == [.passed, .failed, .notRun])
        #expect(r.blocks[0].stdout == "first\n")
    }

    @Test func crashIsAttributedToItsBlock() throws {
        let book = try Book()
        try book.write("crash.md", """
        # Crash

        ```swift
        print("kept")
        ```

        ```swift
        let xs = [1, 2, 3]
        print("before")
        print(xs[xs.count + 1])
        ```

        ```swift
        print("never")
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 1)
        let r = try book.result("crash")
        #expect(r.blocks.map(\.status) == [.passed, .failed, .notRun])
        #expect(r.blocks[0].stdout == "kept\n")
        #expect(r.blocks[1].stdout == "before\n")
        let error = try #require(r.blocks[1].error)
        #expect(error.hasPrefix("chapters/crash.md:8:1: block 2 crashed"))
        #expect(error.contains("chapters/crash.md:10"))
    }

    @Test func infiniteLoopIsStoppedByTimeout() throws {
        let book = try Book()
        try book.write("loop.md", """
        # Loop

        ```swift
        print("started")
        ```

        ```swift
        var k = 0
        while true { k &+= 1 }
        ```
        """)
        let run = try book.run("build", "--timeout", "3")
        #expect(run.status == 1)
        let r = try book.result("loop")
        #expect(r.blocks.map(\.status) == [.passed, .failed])
        // Stopped by the chapter's timeout (not by anything else that ends a run).
        #expect(r.blocks[1].error?.contains("the chapter's timeout of 3.00 s passed") == true, "\(r.blocks[1].error ?? "")")
    }

    @Test func printedOutputCannotForgeTheSideChannel() throws {
        let book = try Book()
        try book.write("forge.md", ##"""
        # Forge

        ```swift
        print("<script>alert(1)</script>")
        print(#"{"metric":{"block":0,"name":"forged","value":1}}"#)
        FileHandle.standardError.write("{\"failure\":{\"block\":0,\"message\":\"x\"}}\n".data(using: .utf8)!)
        record("real", 2.0)
        ```
        """##.replacingOccurrences(of: "```swift\n", with: "```swift\nimport Foundation\n"))
        let run = try book.run("build")
        #expect(run.status == 0, "\(run.stderr)")
        let r = try book.result("forge")
        #expect(r.metrics == ["real": 2])
        #expect(r.blocks[0].stdout.hasPrefix("<script>alert(1)</script>\n"))
        #expect(r.blocks[0].status == .passed)
    }

    @Test func nonFiniteMetricFailsTheBlock() throws {
        let book = try Book()
        try book.write("nan.md", """
        # NaN

        ```swift
        for epoch in 1...3 { progress(epoch: epoch, of: 3, metrics: ["ppl": epoch == 2 ? .nan : 10]) }
        ```

        ```swift
        print("after")
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 1)
        let r = try book.result("nan")
        #expect(r.blocks.map(\.status) == [.failed, .notRun])
        #expect(r.blocks[0].error?.contains("ppl is nan at epoch 2 of 3") == true)
    }

    @Test func expectErrorBlocks() throws {
        let book = try Book()
        try book.write("expect.md", """
        # Expect

        ```swift expect-error=compile message="cannot convert"
        let s: Int = "text"
        ```

        ```swift expect-error=run message="on purpose"
        fatalError("on purpose")
        ```

        ```swift
        print("still running")
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 0, "\(run.stderr)")
        let r = try book.result("expect")
        #expect(r.blocks.map(\.status) == [.passed, .passed, .passed])
        #expect(r.blocks[2].stdout == "still running\n")
        #expect(r.checks.filter { $0.kind == .expectError && $0.passed }.count == 2)

        try book.write("expect.md", "# E\n\n```swift expect-error=run\nprint(1)\n```\n")
        let bad = try book.run("build")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("chapters/expect.md:4:1: block 1: the block was expected to fail but ran to completion"))

        // A typo is not the run-time failure the block is about.
        try book.write("expect.md", "# E\n\n```swift expect-error=run\nlet v = [1][5]\nprnt(v)\n```\n")
        let typo = try book.run("build")
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("chapters/expect.md:4:1: block 1: block 1 is marked expect-error=run but failed to compile instead of raising the runtime error"), "\(typo.stderr)")
        #expect(typo.stderr.contains("cannot find 'prnt' in scope"))
    }

    @Test func cacheHitThenMissAfterEdit() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        #expect(try book.run("build").status == 0)
        #expect(try book.result("count").cached == false)
        let again = try book.run("build")
        #expect(again.status == 0)
        #expect(again.stderr.contains("restored from cache"))
        #expect(try book.result("count").cached == true)
        // Prose only: the page is judged again from the cached run.
        try book.write("count.md", Self.counting.replacingOccurrences(of: "The total", with: "Now the total"))
        let prose = try book.run("build")
        #expect(prose.stderr.contains("re-rendered from the cached run"), "\(prose.stderr)")
        #expect(try book.result("count").origin == .rerendered)
        // Code: the program runs again, and the summary says why.
        try book.write("count.md", Self.counting.replacingOccurrences(of: "var total = 0", with: "var total = 0 // from zero"))
        let edited = try book.run("build")
        #expect(edited.stderr.contains("rerun (block 1 changed)"), "\(edited.stderr)")
        #expect(try book.result("count").cached == false)
        let forced = try book.run("build", "--force")
        #expect(forced.stderr.contains("rerun (--force)"), "\(forced.stderr)")
    }

    /// The kernels that computed the products are part of the cache key and of the result: results
    /// of the AVX-512 kernels are not served to a run that asks for OpenBLAS (RNNBOOK_KERNELS=blas).
    @Test func switchingProductKernelsMissesTheCache() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        #expect(try book.run("build").status == 0)
        let first = try book.result("count").versions.kernels
        #expect(first == EngineInfo.productKernels)
        let blas = try book.run("build", environment: ["RNNBOOK_KERNELS": "blas"])
        #expect(blas.status == 0)
        let second = try book.result("count")
        #expect(second.versions.kernels?.hasPrefix("OpenBLAS") == true)
        // Only a machine with AVX-512 has two different kernel choices to tell apart.
        #expect(second.cached == (first == second.versions.kernels), "kernels \(first ?? "-") then \(second.versions.kernels ?? "-")")
    }

    @Test func failedRebuildLeavesOldJSONIntact() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        #expect(try book.run("build").status == 0)
        let good = try Data(contentsOf: book.root.appendingPathComponent("output/count.json"))
        try book.write("count.md", Self.counting.replacingOccurrences(of: "var total = 0", with: "var total = undefined"))
        let broken = try book.run("build")
        #expect(broken.status == 1)
        #expect(try Data(contentsOf: book.root.appendingPathComponent("output/count.json")) == good)
        #expect(FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/.cache/count.failed.json").path))
    }

    @Test func failedRebuildKeepsTheLastGoodPageAndAPartialBuildKeepsTheContents() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        try book.write("other.md", "# Other\n\nProse only.\n")
        #expect(try book.run("build").status == 0)
        let page = book.root.appendingPathComponent("output/count.html")
        let goodPage = try String(contentsOf: page, encoding: .utf8)
        try book.write("count.md", Self.counting.replacingOccurrences(of: "var total = 0", with: "var total = undefined"))
        // Build only the broken chapter, twice: the good page survives both, and the index still lists both chapters.
        for _ in 0..<2 { #expect(try book.run("build", "chapters/count.md").status == 1) }
        let kept = book.root.appendingPathComponent("output/count.last-good.html")
        #expect(try String(contentsOf: kept, encoding: .utf8) == goodPage)
        let failedPage = try String(contentsOf: page, encoding: .utf8)
        #expect(failedPage.contains("This chapter did not pass") && failedPage.contains("count.last-good.html"))
        let index = try String(contentsOf: book.root.appendingPathComponent("output/index.html"), encoding: .utf8)
        #expect(index.contains("other.html") && index.contains("count.html"))
        // Fixed again: the kept copy goes away.
        try book.write("count.md", Self.counting)
        #expect(try book.run("build").status == 0)
        #expect(!FileManager.default.fileExists(atPath: kept.path))
    }

    @Test func richOutputsReachTheResult() throws {
        let book = try Book()
        try book.write("rich.md", """
        # Rich

        ```swift hide
        show(table: [["epoch", "ppl"], ["1", "12.5"]], caption: "Training")
        show(table: ["b": 2.0, "a": 1.0])
        show(Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4]), label: "W")
        show(plot: .lines(["train": [3, 2, 1]], x: "epoch", y: "perplexity", logY: true))
        show(plot: .heatmap([[1, 2], [3, 4]], x: "lag", y: "step"))
        show(svg: "<svg></svg>", caption: "unrolled")
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 0, "\(run.stderr)")
        let outputs = try book.result("rich").blocks[0].outputs
        #expect(outputs.count == 6)
        #expect(outputs.first == .table(TableOutput(caption: "Training", header: ["epoch", "ppl"], rows: [["1", "12.5"]])))
        #expect(outputs[1] == .table(TableOutput(caption: nil, header: ["name", "value"], rows: [["a", "1.0"], ["b", "2.0"]])))
        #expect(outputs[2] == .tensor(TensorOutput(label: "W", shape: [2, 2], values: [1, 2, 3, 4])))
        if case .plot(let p) = outputs[3] {
            #expect(p.kind == .lines && p.logY && p.series == [PlotSeries(name: "train", x: [1, 2, 3], y: [3, 2, 1])])
        } else { Issue.record("expected a plot") }
    }

    @Test func blockTimeoutStopsOnlyThatLongBlock() throws {
        let book = try Book()
        try book.write("slow.md", """
        # Slow

        ```swift timeout=1
        import Foundation
        Thread.sleep(forTimeInterval: 30)
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 1)
        #expect(try book.result("slow").blocks[0].error?.contains("its timeout=1.00 s passed") == true)
    }

    @Test func listShowsBlocksParamsAndProfiles() throws {
        let book = try Book()
        try book.write("count.md", Self.counting)
        let run = try book.run("list")
        #expect(run.status == 0)
        #expect(run.stdout.contains("chapters/count.md  Counting"))
        #expect(run.stdout.contains("blocks: 2 run, 0 shown"))
        #expect(run.stdout.contains("n      int   3        2"), "\(run.stdout)")
    }

    @Test func undeclaredOrMistypedParamFailsTheBlock() throws {
        let book = try Book()
        try book.write("p.md", "---\nparams:\n  lr: 0.5\n---\n```swift\nlet h = param(\"num_hidens\", default: 4)\n```\n")
        #expect(try book.run("build").status == 1)
        #expect(try book.result("p").blocks[0].error?.contains("param 'num_hidens' is not declared in the front matter's params (declared: lr)") == true)
        try book.write("p.md", "---\nparams:\n  lr: 0.5\n---\n```swift\nlet lr = param(\"lr\", default: 1)\n```\n")
        #expect(try book.run("build").status == 1)
        #expect(try book.result("p").blocks[0].error?.contains("param 'lr' is the double 0.5 but the code reads it as Int") == true)
    }
}
