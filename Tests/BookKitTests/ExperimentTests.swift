import BookProtocol
import Foundation
import Testing
@testable import BookKit

/// `rnnbook build --set …`: an experiment beside the book, through the built CLI. Whether a
/// program ran is told by a file the chapter appends to, never by timing.
@Suite("Experiments end to end", .serialized)
struct ExperimentTests {
    /// `runs.txt` gets one line per run of the program, naming its n; with n = 7 the chapter
    /// crashes (a failure that does not depend on what the text claims); while `hold` exists,
    /// n = 5 waits (so a test can kill the build in the middle of a grid).
    static let chapter = """
    ---
    title: Sums
    params:
      n: 3
      scale: 1.0
    profiles:
      quick:
        n: 2
    ---
    # Sums

    ```swift
    let n = param("n", default: 3)
    let scale = param("scale", default: 1.0)
    // Appended in one write: two points running side by side both count.
    let log = fopen("runs.txt", "a")!
    fputs("n=\\(n)\\n", log)
    fclose(log)
    while n == 5 && FileManager.default.fileExists(atPath: "hold") { usleep(20_000) }
    if n == 7 { fatalError("n = 7 is not supported") }
    var total = 0.0
    for i in 1...n { total += Double(i) * scale }
    record("total", total)
    record("n_squared", n * n)
    var sums: [Double] = []
    for i in 1...n { sums.append(Double(i * (i + 1) / 2) * scale) }
    show(plot: .lines(["total so far": sums], x: "i", y: "sum"))
    ```

    The total is {{total ≈ 6 ± 0.5 @default}} and it stays below {{total < 7}}.
    """

    func runs(_ book: Book) -> [String] {
        ((try? String(contentsOf: book.root.appendingPathComponent("runs.txt"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func report(_ book: Book, _ name: String) throws -> ExperimentReport {
        try resultDecoder().decode(ExperimentReport.self, from: Data(contentsOf: book.root.appendingPathComponent("output/experiments/\(name)/report.json")))
    }

    /// Every file of the output folder but the experiments and the cache, with its bytes.
    func bookFiles(_ book: Book) -> [String: Data] {
        let output = book.root.appendingPathComponent("output")
        var out: [String: Data] = [:]
        for name in (try? FileManager.default.subpathsOfDirectory(atPath: output.path)) ?? []
        where !name.hasPrefix("experiments") && !name.hasPrefix(".") {
            if let data = FileManager.default.contents(atPath: output.appendingPathComponent(name).path) { out[name] = data }
        }
        return out
    }

    /// The README's example: a claim that does not hold with other params is reported with
    /// both values, the command passes, and the book's pages are untouched, byte for byte.
    @Test func anOverrideIsAReportBesideTheBookNotAFailedBook() throws {
        let book = try Book()
        try book.write("sums.md", Self.chapter)
        let built = try book.run("build")
        #expect(built.status == 0, "\(built.stderr)")
        let before = bookFiles(book)
        #expect(before["sums.html"] != nil)

        let run = try book.run("build", "chapters/sums.md", "--set", "n=4", "--seed", "3")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("report: output/experiments/n=4_seed=3/index.html"), "\(run.stderr)")
        #expect(run.stderr.contains("total ≈ 6.0 ± 0.5 (book total = 6, now total = 10)"), "\(run.stderr)")
        #expect(bookFiles(book) == before, "an experiment changed the book's pages")
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/sums.last-good.html").path))
        // The book's run came from the cache; only the point ran.
        #expect(runs(book) == ["n=3", "n=4"])

        let r = try report(book, "n=4_seed=3")
        #expect(r.axes.map(\.key) == ["n", "seed"])
        let part = try #require(r.chapters.first)
        #expect(part.book?.metrics["total"] == 6 && part.book?.cached == true)
        let point = try #require(part.points.first)
        #expect(point.state == .completed && point.failures.isEmpty)
        #expect(point.run?.metrics["total"] == 10 && point.run?.params["seed"] == .int(3))
        let claim = try #require(point.outcomes.first { $0.statement == "total ≈ 6.0 ± 0.5" })
        #expect(claim.verdict == .differs && claim.book == "total = 6" && claim.found == "total = 10")
        #expect(point.outcomes.first { $0.statement.hasPrefix("total <") }?.verdict == .differs)
        // The training curve of both runs, to overlay.
        #expect(point.run?.curves.first?.y.count == 4 && part.book?.curves.first?.y.count == 3)
        let page = try String(contentsOf: book.root.appendingPathComponent("output/experiments/n=4_seed=3/index.html"), encoding: .utf8)
        #expect(page.contains("n=4") || page.contains("n = 4"))
        // The folder's list of experiments links to it.
        let list = try String(contentsOf: book.root.appendingPathComponent("output/experiments/index.html"), encoding: .utf8)
        #expect(list.contains("<a href=\"n=4_seed=3/index.html\">n=4_seed=3</a>"), "\(list)")
    }

    /// A crash with other params is no claim that differs: the point and the command fail, at
    /// the Markdown line, and the report says so.
    @Test func aCrashFailsThePointAndTheCommand() throws {
        let book = try Book()
        try book.write("sums.md", Self.chapter)
        let run = try book.run("build", "--set", "n=2,7", "--experiment", "crash")
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("n=7: FAILED"), "\(run.stderr)")
        #expect(run.stderr.contains("chapters/sums.md:"), "\(run.stderr)")
        let r = try report(book, "crash")
        #expect(r.chapters[0].points.map(\.state) == [.completed, .failed])
        #expect(r.chapters[0].points[1].failures.joined().contains("n = 7 is not supported"))
        // No book was built: its run was computed for the report, and no page was written.
        #expect(r.chapters[0].bookNote.contains("not built"))
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/sums.html").path))
    }

    /// A grid runs every combination, each cached on its own: a second run computes nothing, a
    /// larger grid only its new points, and a run killed half-way loses only the unfinished point.
    @Test func gridPointsAreCachedOneByOneAndAKilledRunResumes() throws {
        let book = try Book()
        try book.write("sums.md", Self.chapter)
        let grid = try book.run("build", "--set", "n=2,3", "--set", "scale=0.5..1+0.5", "--profile", "quick", "--jobs", "2")
        #expect(grid.status == 0, "\(grid.stderr)")
        // The book's run (quick: n = 2) and four points; n=2 scale=1 is the book's params but a point of its own.
        #expect(runs(book).sorted() == ["n=2", "n=2", "n=2", "n=3", "n=3"], "\(runs(book))")
        let name = "quick_n=2,3_scale=0.5,1.0"
        let r = try report(book, name)
        #expect(r.chapters[0].points.map { $0.values } == [["n": "2", "scale": "0.5"], ["n": "2", "scale": "1.0"],
                                                            ["n": "3", "scale": "0.5"], ["n": "3", "scale": "1.0"]])
        #expect(r.chapters[0].points.map { $0.run?.metrics["total"] } == [1.5, 3, 3, 6])
        #expect(r.plotted == ["total"])

        let again = try book.run("build", "--set", "n=2,3", "--set", "scale=0.5..1+0.5", "--profile", "quick")
        #expect(again.status == 0 && runs(book).count == 5, "\(again.stderr)")
        #expect(again.stderr.contains("completed (from the cache)"))

        // Kill the build while n = 5 waits: n = 4 is done and kept, n = 5 is lost with the process.
        try Data().write(to: book.root.appendingPathComponent("hold"))
        let process = Process()
        process.executableURL = Book.binary
        process.arguments = ["build", "--set", "n=4,5", "--set", "scale=1", "--profile", "quick"]
        process.currentDirectoryURL = book.root
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<600 where !runs(book).contains("n=5") { usleep(50_000) }
        #expect(runs(book).suffix(2) == ["n=4", "n=5"])
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try FileManager.default.removeItem(at: book.root.appendingPathComponent("hold"))
        // The chapter program waiting on `hold` ends by itself now.
        let resumed = try book.run("build", "--set", "n=4,5", "--set", "scale=1", "--profile", "quick")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(runs(book).suffix(3) == ["n=4", "n=5", "n=5"], "n = 4 ran again: \(runs(book))")
    }

    @Test func gridMistakesAreUsageErrors() throws {
        let book = try Book()
        try book.write("sums.md", Self.chapter)
        for (arguments, message) in [
            (["--set", "n=2,x"], "--set n=x: 'n' is int in chapters/sums.md (default 3); give a value of that type"),
            (["--set", "n=2,,3"], "an empty value in the list"),
            (["--set", "n=5..1+1"], "the range is empty (5 is above 1)"),
            (["--set", "n=1..9+0"], "the STEP must be above 0"),
            (["--set", "n=1", "--set", "n=2"], "--set n is given twice"),
            (["--set", "n=1..5000+1"], "more than 1000 values"),
            (["--set", "nn=2"], "no chapter has a param 'nn' (did you mean 'n'?)"),
            (["--set", "n=2", "--metric", "totl"], "--metric totl: no chapter of this experiment records a metric 'totl' (did you mean 'total'?)"),
            (["--set", "n=2", "--seed", "1", "--set", "seed=2"], "--seed and --set seed=… both set the seed"),
            (["--set", "n=0,2"], "give a value of at least 1"),
            (["--metric", "total"], "--metric is for experiments"),
        ] {
            let run = try book.run(["build"] + arguments)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        #expect(runs(book).isEmpty, "a usage error ran a chapter")
        let check = try book.run("check", "--set", "n=2,3")
        #expect(check.status == 2 && check.stderr.contains("check takes one value per --set"), "\(check.stderr)")
        let grade = try book.run("grade", "chapters/sums.md", "--submission", "chapters/sums.md", "--set", "n=2,3")
        #expect(grade.status == 2 && grade.stderr.contains("grade takes one value per --set"), "\(grade.stderr)")
    }

    /// `--experiment` alone with another profile compares the profiles; a plain `build --profile`
    /// still rebuilds the book.
    @Test func aNamedExperimentComparesAnotherProfileWithTheBooks() throws {
        let book = try Book()
        try book.write("sums.md", Self.chapter)
        #expect(try book.run("build").status == 0)
        let run = try book.run("build", "--experiment", "quick-vs-book", "--profile", "quick")
        #expect(run.status == 0, "\(run.stderr)")
        let part = try report(book, "quick-vs-book").chapters[0]
        #expect(part.book?.profile == "default" && part.book?.metrics["total"] == 6)
        #expect(part.points.count == 1 && part.points[0].run?.profile == "quick" && part.points[0].run?.metrics["total"] == 3)
        #expect(try book.result("sums").profile == "default", "the experiment rebuilt the book")
        let serve = try book.run("serve", "--set", "n=2")
        #expect(serve.status == 2 && serve.stderr.contains("--set and --seed make an experiment"), "\(serve.stderr)")
    }

    /// Programs are compiled once per what they are built from: a rerun with other params
    /// reuses the program; `--force` compiles it again.
    @Test func programsAreCompiledOncePerBuildEvenForced() throws {
        let book = try Book()
        try book.write("sums.md", Self.chapter)
        let programs = book.root.appendingPathComponent("output/.cache/programs/sums")
        func executables() throws -> [String: Date] {
            var out: [String: Date] = [:]
            for key in try FileManager.default.contentsOfDirectory(atPath: programs.path) where !key.hasSuffix(".lock") {
                let attributes = try FileManager.default.attributesOfItem(atPath: programs.appendingPathComponent("\(key)/chapter").path)
                out[key] = attributes[.modificationDate] as? Date
            }
            return out
        }
        #expect(try book.run("build").status == 0)
        let first = try executables()
        #expect(first.count == 1)
        #expect(try book.run("build", "--set", "n=4,5").status == 0)
        #expect(try executables() == first, "other params compiled the program again")
        // A run on a kept program compiled nothing: its compile time is 0.
        #expect(try book.run("check", "--set", "n=6").stderr.contains("compile 0.0 s"))
        let forced = try book.run("build", "--set", "n=4,5", "--force", "--jobs", "2")
        #expect(forced.status == 0, "\(forced.stderr)")
        let after = try executables()
        #expect(after.keys == first.keys && after.values.first != first.values.first, "--force did not compile again")
        #expect(try book.run("build", "--set", "n=4,5").status == 0)
        #expect(try executables() == after, "a build without --force compiled again")
    }

    @Test func listShowsEachParamWithItsTypeDefaultAndProfiles() throws {
        let book = try Book()
        try book.write("sums.md", Self.chapter)
        let list = try book.run("list")
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains { $0.hasPrefix("param") && $0.hasSuffix("profile quick") }, "\(list.stdout)")
        #expect(lines.contains { $0.split(separator: " ", omittingEmptySubsequences: true) == ["n", "int", "3", "2"] }, "\(list.stdout)")
        #expect(lines.contains { $0.split(separator: " ", omittingEmptySubsequences: true) == ["scale", "double", "1.0", "·"] }, "\(list.stdout)")
    }
}

extension Book {
    @discardableResult
    func run(_ arguments: [String]) throws -> Run { try run(executable: Self.binary, arguments) }
}

@Suite("Parameter grids")
struct ParamGridTests {
    @Test func listsRangesAndEscapesExpandInOrder() throws {
        let g = try ParamGrid(assignments: ["h=32..256*2", "lr=0.1..0.3+0.1,1", "name=a\\,b,c", "e=10..45+10"])
        #expect(g.axes.map(\.values) == [["32", "64", "128", "256"], ["0.1", "0.2", "0.3", "1"], ["a,b", "c"], ["10", "20", "30", "40"]])
        #expect(g.points.count == 4 * 4 * 2 * 4)
        #expect(g.points.first == ["h": "32", "lr": "0.1", "name": "a,b", "e": "10"])
        #expect(g.points[1] == ["h": "32", "lr": "0.1", "name": "a,b", "e": "20"], "the last axis varies fastest")
        #expect(try ParamGrid(assignments: ["s="]).axes[0].values == [""], "an empty value is an empty string, as before")
        #expect(try ParamGrid(assignments: ["p=C:\\dir\\x"]).axes[0].values == ["C:\\dir\\x"], "a backslash not before a comma is the value's own")
        #expect(try ParamGrid(assignments: ["x=1"]).single == ["x": "1"])
        #expect(try ParamGrid(assignments: ["x=1,2"]).single == nil)
    }

    @Test func malformedGridsAreRefusedWithTheAssignment() {
        for (assignment, message) in [("=3", "--set expects KEY=VALUE, got '=3'"), ("x", "got 'x'"),
                                      ("x=1..", "a range is FROM..TO+STEP"), ("x=1..4*1", "FACTOR must be above 1"),
                                      ("x=0..4*2", "FROM above 0"), ("x=a..b+1", "a range is"), ("x=1..nan+1", "a range is")] {
            #expect { try ParamGrid(assignments: [assignment]) } throws: { ($0 as? UsageError)?.description.contains(message) == true }
        }
        #expect { try ParamGrid(assignments: ["a=1..40+1", "b=1..40+1"]) } throws: {
            ($0 as? UsageError)?.description.contains("a grid of 1600 points (40 a × 40 b); at most 1000") == true
        }
    }
}

@Suite("Progress lanes")
struct TerminalLaneTests {
    final class Sink: @unchecked Sendable { var text = "" }

    /// Two runs side by side each keep a line; a permanent line goes above them; a lane that
    /// ends leaves the other.
    @Test func eachLaneKeepsItsLine() {
        let sink = Sink()
        let terminal = Terminal(live: true, width: 40, sink: { sink.text += $0 })
        terminal.lane("a", prefix: "[1/2] ").status("epoch 1")
        usleep(120_000)
        terminal.lane("b", prefix: "[2/2] ").status("epoch 7 of a very long line that does not fit")
        #expect(sink.text.hasSuffix("[1/2] epoch 1\n[2/2] epoch 7 of a very long line that…"), "\(sink.text.debugDescription)")
        sink.text = ""
        terminal.line("passed a")
        // Two lines erased (this one and the one above), the line, the lanes again.
        #expect(sink.text == "\r\u{1B}[2K\u{1B}[1A\u{1B}[2Kpassed a\n[1/2] epoch 1\n[2/2] epoch 7 of a very long line that…", "\(sink.text.debugDescription)")
        sink.text = ""
        terminal.lane("a", prefix: "").clear()
        #expect(sink.text.hasSuffix("[2/2] epoch 7 of a very long line that…") && !sink.text.contains("[1/2]"))
    }

    @Test func offATerminalEachLanePrintsPlainLinesAtMostEveryTenSeconds() {
        let sink = Sink()
        let terminal = Terminal(live: false, width: 80, sink: { sink.text += $0 })
        terminal.lane("a", prefix: "a ").status("1")
        terminal.lane("a", prefix: "a ").status("2")
        terminal.line("done")
        #expect(sink.text == "done\n", "a plain status line within ten seconds of the start: \(sink.text.debugDescription)")
    }
}

/// `--executor slurm` against a stand-in Slurm on PATH: `sbatch` runs the array's tasks at once
/// (each `rnnbook task …`, as a node would), `squeue` lists none left, `scontrol` tells why a
/// task it was told to lose left no result. What a real one-node cluster does is
/// `.ci/slurm-test.sh`'s part; this runs on every machine.
@Suite("Slurm executor against a stand-in", .serialized)
struct SlurmStandInTests {
    static func standIn(_ book: Book) throws -> [String: String] {
        let bin = book.root.appendingPathComponent("fake-slurm")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let scripts = [
            "sbatch": """
            #!/bin/bash
            for a in "$@"; do
                case "$a" in --array=*) r="${a#--array=}"; r="${r%%\\%*}"; last="${r#*-}";; --output=*) out="${a#--output=}";; esac
                script="$a"
            done
            echo "$@" > "$FAKE_SLURM/sbatch-args"
            for i in $(seq 0 "$last"); do
                [ "${FAKE_SLURM_LOSE:-}" = "$i" ] && continue
                SLURM_ARRAY_TASK_ID=$i sh "$script" > "${out//%a/$i}" 2>&1
            done
            echo 4242
            """,
            // With FAKE_SLURM_RUNNING, task 0 runs until scancel.
            "squeue": "#!/bin/sh\ntouch \"$FAKE_SLURM/polled\"\n[ -n \"$FAKE_SLURM_RUNNING\" ] && [ ! -e \"$FAKE_SLURM/cancelled\" ] && echo '0 RUNNING 0:01'\nexit 0\n",
            "scancel": "#!/bin/sh\necho \"$@\" > \"$FAKE_SLURM/cancelled\"\n",
            "scontrol": """
            #!/bin/sh
            echo "JobId=4243 ArrayJobId=4242 ArrayTaskId=${FAKE_SLURM_LOSE:-9} JobState=OUT_OF_MEMORY Reason=OutOfMemory ExitCode=0:125 TimeLimit=00:16:00"
            """,
        ]
        for (name, text) in scripts {
            let url = bin.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        return ["PATH": bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), "FAKE_SLURM": bin.path]
    }

    func report(_ book: Book, _ name: String) throws -> ExperimentReport {
        try resultDecoder().decode(ExperimentReport.self, from: Data(contentsOf: book.root.appendingPathComponent("output/experiments/\(name)/report.json")))
    }

    @Test func aGridOnSlurmGivesTheLocalExecutorsNumbers() throws {
        let book = try Book()
        try book.write("sums.md", ExperimentTests.chapter)
        let environment = try Self.standIn(book)
        // `scale` is a double whose default, 1.0, a plain JSON number would bring back as an int.
        let slurm = try book.run(executable: Book.binary, ["build", "--set", "n=2,3", "--set", "scale=0.5", "--experiment", "on-slurm",
                                                           "--executor", "slurm", "--slurm-memory", "900"], environment: environment)
        #expect(slurm.status == 0, "\(slurm.stderr)")
        #expect(slurm.stderr.contains("submitted Slurm job 4242: 3 tasks"), "\(slurm.stderr)")
        let arguments = try String(contentsOf: book.root.appendingPathComponent("fake-slurm/sbatch-args"), encoding: .utf8)
        #expect(arguments.contains("--array=0-2") && arguments.contains("--mem=900M") && arguments.contains("--time=25"), "\(arguments)")
        let local = try book.run("build", "--set", "n=2,3", "--set", "scale=0.5", "--experiment", "here", "--force")
        #expect(local.status == 0, "\(local.stderr)")
        let a = try report(book, "on-slurm").chapters[0].points, b = try report(book, "here").chapters[0].points
        #expect(a.map { $0.run?.metrics } == b.map { $0.run?.metrics } && a.count == 2)
        #expect(b.allSatisfy { $0.run?.cached == false })
        #expect(a.map(\.state) == [.completed, .completed] && a[0].run?.metrics["total"] == 1.5)
    }

    /// A task file keeps each param's type: a double 1.0 is not read back as the int 1.
    @Test func aTaskKeepsItsParamsTypes() throws {
        var chapter = Chapter(path: "c.md", slug: "c", title: "C", params: ["lr": .double(1.0), "n": .int(3)],
                              profiles: ["quick": ["lr": .double(2.0)]])
        chapter.segments = []
        let task = RunTask(label: "c", settings: BuildSettings(bookRoot: URL(fileURLWithPath: "/b"), outputDirectory: URL(fileURLWithPath: "/b/o")),
                           chapter: chapter, source: "")
        let back = try JSONDecoder().decode(RunTask.self, from: JSONEncoder().encode(task))
        #expect(back.chapter.params == ["lr": .double(1.0), "n": .int(3)])
        #expect(back.chapter.profiles == ["quick": ["lr": .double(2.0)]])
        #expect(back.chapter == chapter)
    }

    /// `build --executor slurm`: each chapter a task; the pages are those of a local build.
    @Test func theBookBuiltOnSlurmHasTheLocalPages() throws {
        let book = try Book()
        try book.write("sums.md", ExperimentTests.chapter)
        try book.write("more.md", ExperimentTests.chapter.replacingOccurrences(of: "title: Sums", with: "title: More"))
        let slurm = try book.run(executable: Book.binary, ["build", "--executor", "slurm"], environment: try Self.standIn(book))
        #expect(slurm.status == 0, "\(slurm.stderr)")
        #expect(slurm.stderr.contains("submitted Slurm job 4242: 2 tasks"), "\(slurm.stderr)")
        let onSlurm = try book.result("sums")
        #expect(try book.run("build", "--force").status == 0)
        let here = try book.result("sums")
        #expect(onSlurm.metrics == here.metrics && onSlurm.metrics["total"] == 6 && !here.cached)
        #expect(FileManager.default.fileExists(atPath: book.root.appendingPathComponent("output/more.html").path))
    }

    /// Ctrl-C while the array runs cancels it on the cluster.
    @Test func anInterruptCancelsTheJobArray() throws {
        let book = try Book()
        try book.write("sums.md", ExperimentTests.chapter)
        var environment = ProcessInfo.processInfo.environment.merging(try Self.standIn(book)) { _, new in new }
        environment["FAKE_SLURM_RUNNING"] = "1"
        let process = Process()
        process.executableURL = Book.binary
        process.arguments = ["build", "--set", "n=2", "--executor", "slurm"]
        process.currentDirectoryURL = book.root
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Submitted, and waiting: squeue has been asked.
        let polled = book.root.appendingPathComponent("fake-slurm/polled").path
        for _ in 0..<1200 where !FileManager.default.fileExists(atPath: polled) { usleep(50_000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 128 + SIGINT)
        let cancelled = try String(contentsOf: book.root.appendingPathComponent("fake-slurm/cancelled"), encoding: .utf8)
        #expect(cancelled.trimmingCharacters(in: .whitespacesAndNewlines) == "4242")
    }

    @Test func aTaskThatLeftNoResultIsReportedWithSlurmsReason() throws {
        let book = try Book()
        try book.write("sums.md", ExperimentTests.chapter)
        var environment = try Self.standIn(book)
        environment["FAKE_SLURM_LOSE"] = "2"
        let run = try book.run(executable: Book.binary, ["build", "--set", "n=2,3", "--experiment", "lost", "--executor", "slurm"],
                               environment: environment)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("n=3: LOST (Slurm: OUT_OF_MEMORY, reason OutOfMemory: it used more memory than it asked for"), "\(run.stderr)")
        let points = try report(book, "lost").chapters[0].points
        #expect(points.map(\.state) == [.completed, .lost])
        // The task files stay for a run that lost a task, and only then.
        let slurm = book.root.appendingPathComponent("output/.cache/slurm")
        #expect(try FileManager.default.contentsOfDirectory(atPath: slurm.path).count == 1)
        environment["FAKE_SLURM_LOSE"] = nil
        #expect(try book.run(executable: Book.binary, ["build", "--set", "n=2,3", "--experiment", "lost", "--executor", "slurm"],
                             environment: environment).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: slurm.path).count == 1)
    }
}

@Suite("Which metrics a grid plots")
struct ChosenMetricTests {
    /// A stated metric that moves only in its last bits between points is not plotted; one that
    /// moves is, as is a metric some point did not record.
    @Test func onlyMetricsThatMoveMoreThanRoundingArePlotted() throws {
        func point(_ metrics: [String: Double]) -> ExperimentReport.Point {
            .init(values: [:], state: .completed, run: .init(profile: "quick", params: [:], metrics: metrics, curves: [], seconds: 0, cached: false),
                  outcomes: [], failures: [])
        }
        let report = ExperimentReport(name: "g", command: "", createdAt: "", profile: "quick", executor: "",
                                      axes: [.init(key: "n", values: ["1", "2", "3"])],
                                      chapters: [.init(path: "c.md", slug: "c", title: "C", book: nil, bookNote: "", points: [
                                          point(["residual": 4.7684e-8, "ppl": 6.9, "rare": 1]),
                                          point(["residual": 4.76840001e-8, "ppl": 7.4, "rare": 1]),
                                          point(["residual": 4.7684e-8, "ppl": 9.2]),
                                      ])])
        let loc = SourceLocation(file: "c.md", line: 1)
        var chapter = Chapter(path: "c.md", slug: "c", title: "C")
        chapter.inlines = ["residual", "ppl", "rare"].map { .claim(Claim(metric: $0, bound: ClaimBound(.less, number: 10), profile: nil, location: loc)) }
        #expect(BookPipeline.chosenMetrics(report, chapters: [chapter]) == ["ppl", "rare"])
        // A check's residual, bounded by a small number in the text, is not plotted even when it moves.
        var moved = report
        moved.chapters[0].points[1].run?.metrics["residual"] = 9.5e-8
        chapter.inlines[0] = .claim(Claim(metric: "residual", bound: ClaimBound(.less, number: 1e-5), profile: nil, location: loc))
        #expect(BookPipeline.chosenMetrics(moved, chapters: [chapter]) == ["ppl", "rare"])
        chapter.inlines[0] = .claim(Claim(metric: "residual", bound: ClaimBound(.less, number: 10), profile: nil, location: loc))
        #expect(BookPipeline.chosenMetrics(moved, chapters: [chapter]) == ["residual", "ppl", "rare"])
    }
}

@Suite("Shell quoting")
struct ShellQuotingTests {
    /// The report's command and the Slurm script's paths: plain words stay, a glob or a quote is quoted.
    @Test func onlyWordsThatNeedItAreQuoted() {
        #expect(shellQuoted("--set") == "--set" && shellQuoted("lr=0.5,1") == "lr=0.5,1")
        #expect(shellQuoted("num_hiddens=32..256*2") == "'num_hiddens=32..256*2'")
        #expect(shellQuoted("it's") == "'it'\\''s'")
        #expect(shellQuoted("") == "''")
    }
}
