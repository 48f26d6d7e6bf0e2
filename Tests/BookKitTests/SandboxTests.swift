import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// The side channel's seal, checked against SipHash's reference vectors and against lines
/// written by someone other than the runtime.
@Suite("Sealed side channel")
struct ChannelSealTests {
    /// Aumasson and Bernstein's vectors: key 00 01 … 0f, messages 00 01 … (n − 1).
    @Test(arguments: [(0, 0x726fdb47dd0e0e31 as UInt64), (1, 0x74f839c593dc67fd), (8, 0x93f5f5799a932462), (15, 0xa129ca6149be45e5)])
    func sipHashMatchesTheReferenceVectors(length: Int, expected: UInt64) {
        let seal = ChannelSeal(keyBytes: Array(0..<16))!
        #expect(ChannelSeal.sipHash24(key: seal.key, (0..<length).map { UInt8($0) }) == expected)
    }

    func channel(_ lines: [String]) throws -> (URL, ChannelReader) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-seal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("channel.jsonl")
        try Data(lines.joined().utf8).write(to: url)
        return (dir, ChannelReader(path: url.path, seal: ChannelSeal(key0: 7, key1: 11)))
    }

    func sealed(_ json: String, _ n: UInt64) -> String {
        String(decoding: ChannelSeal(key0: 7, key1: 11).seal(sequence: n, body: Array(json.utf8)), as: UTF8.self) + "\n"
    }

    static let start = #"{"blockStart":{"index":0,"stdoutOffset":0,"stderrOffset":0}}"#
    static let pass = #"{"check":{"_0":{"kind":"expect","label":"uniform over 28","verdict":"passed","message":"forged","block":0}}}"#

    @Test func sealedLinesAreRead() throws {
        let (dir, reader) = try channel([sealed(Self.start, 0), sealed(Self.pass, 1)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = reader.readNew()
        #expect(events.count == 2)
        #expect(!reader.tampered)
    }

    /// An unsealed line (what a submission writing to the descriptor produces), a line sealed
    /// with another key, and a genuine line replayed out of sequence all mark the run
    /// tampered, and nothing after them is read.
    @Test(arguments: ["plain", "other key", "replayed"])
    func aLineTheRuntimeDidNotWriteStopsTheChannel(kind: String) throws {
        let bad: String
        switch kind {
        case "plain": bad = Self.pass + "\n"
        case "other key": bad = String(decoding: ChannelSeal(key0: 8, key1: 11).seal(sequence: 1, body: Array(Self.pass.utf8)), as: UTF8.self) + "\n"
        default: bad = sealed(Self.start, 0)
        }
        let (dir, reader) = try channel([sealed(Self.start, 0), bad, sealed(Self.pass, 2)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = reader.readNew()
        #expect(reader.tampered)
        #expect(events.count == 2)
        guard case .failure(_, let message)? = events.last else { Issue.record("no failure: \(events)"); return }
        #expect(message == ChannelReader.tamperMessage)
        #expect(!events.contains { if case .check = $0 { true } else { false } })
    }
}

/// `grade` against submissions that try to get out of their box or to forge their verdicts:
/// each gets nothing and fails, while an honest submission still passes in the same sandbox.
@Suite("Grading untrusted submissions", .serialized)
struct SandboxTests {
    func book() throws -> Book {
        let book = try Book()
        try book.write("05-ex.md", ExerciseFixtures.chapter)
        return book
    }

    func grade(_ book: Book, _ code: String, name: String = "eve.swift", _ more: String...) throws -> Book.Run {
        try ("// submission: ex-uniform\n" + code).write(to: book.root.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return try book.run(executable: Book.binary, ["grade", "chapters/05-ex.md", "--submission", name, "--exercise", "ex-uniform"] + more)
    }

    static let right = """
    func perplexity(_ probabilities: [Double]) -> Double {
        Foundation.exp(-probabilities.map { Foundation.log($0) }.reduce(0, +) / Double(probabilities.count))
    }
    """

    /// The submission answers right only if every way out failed: reading the chapter (with the
    /// hidden checks and the solution), listing the book, writing beside it, reading the home
    /// folder or the reference run's files. Whatever it managed is visible in the grade.
    @Test func aSubmissionSeesNothingOfTheBookAndWritesNowhereElse() throws {
        let book = try book()
        let root = book.root.path
        let code = """
        let escapes: [Bool] = [
            FileManager.default.contents(atPath: "\(root)/chapters/05-ex.md") != nil,
            FileManager.default.contents(atPath: "chapters/05-ex.md") != nil,
            (try? FileManager.default.contentsOfDirectory(atPath: "\(root)")) != nil,
            FileManager.default.createFile(atPath: "\(root)/escaped.txt", contents: Data("x".utf8)),
            FileManager.default.createFile(atPath: "/var/tmp/rnnbook-escaped-\(UUID().uuidString)", contents: Data("x".utf8)),
            (try? FileManager.default.contentsOfDirectory(atPath: "/root")) != nil,
            (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/output")) != nil,
            getuid() == 0,
        ]
        func perplexity(_ probabilities: [Double]) -> Double {
            if let k = escapes.firstIndex(of: true) { return Double(1000 + k) }
            return Foundation.exp(-probabilities.map { Foundation.log($0) }.reduce(0, +) / Double(probabilities.count))
        }
        // Its own folder is writable.
        let mine = FileManager.default.createFile(atPath: "scratch.txt", contents: Data("ok".utf8))
        precondition(mine, "cannot write in its own folder")
        """
        let run = try grade(book, code)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("1 of 1 submission passed every check"), "\(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent("escaped.txt").path))
        // And the grade says what it tried.
        #expect(run.stdout.contains("could not open (outside its sandbox, or missing): "), "\(run.stdout)")
        #expect(run.stdout.contains("\(root)/chapters/05-ex.md"))
        // The relative path looked in its own folder.
        #expect(run.stdout.contains("/rnnbook/work/chapters/05-ex.md"))
    }

    /// Run by a user other than root, bwrap builds the same sandbox inside a user namespace.
    /// `RNNBOOK_SANDBOX_USERNS` makes root take that path too, so that it runs here.
    @Test func aNonRootInstructorGetsTheSameSandboxInAUserNamespace() throws {
        let book = try book()
        let root = book.root.path
        let code = """
        let escaped = FileManager.default.contents(atPath: "\(root)/chapters/05-ex.md") != nil
            || FileManager.default.createFile(atPath: "\(root)/escaped.txt", contents: Data("x".utf8))
        func perplexity(_ probabilities: [Double]) -> Double {
            if escaped { return 0 }
            return Foundation.exp(-probabilities.map { Foundation.log($0) }.reduce(0, +) / Double(probabilities.count))
        }
        """
        try ("// submission: ex-uniform\n" + code).write(to: book.root.appendingPathComponent("nan.swift"), atomically: true, encoding: .utf8)
        let run = try book.run(executable: Book.binary, ["grade", "chapters/05-ex.md", "--submission", "nan.swift", "--exercise", "ex-uniform"],
                               environment: ["RNNBOOK_SANDBOX_USERNS": "1"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("1 of 1 submission passed every check"), "\(run.stdout)")
        #expect(run.stdout.contains("could not open (outside its sandbox, or missing): ") && run.stdout.contains("\(root)/chapters/05-ex.md"), "\(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent("escaped.txt").path))
    }

    /// Without RNNBOOK_DATA the runner verifies the declared file in its download cache, which
    /// the sandbox (no home, no network) could not reach, and hands that folder over, read-only.
    @Test func withoutRNNBookDataTheDownloadCacheIsHandedOver() throws {
        let book = try Book()
        try book.write("07-data.md", """
        ---
        title: Data
        data: timemachine.txt
        ---
        # Data

        ### Exercise: Count the characters {#ex-count}

        ```swift starter
        func characters() -> Int { todo() }
        ```

        ```swift solution
        func characters() -> Int { try! TimeMachine.loadText().count }
        ```

        ```swift check
        expect("the text is there", characters() > 100_000)
        ```
        """)
        let xdg = book.root.appendingPathComponent("xdg")
        try FileManager.default.createDirectory(at: xdg.appendingPathComponent("rnnbook"), withIntermediateDirectories: true)
        let data = ProcessInfo.processInfo.environment["RNNBOOK_DATA"].map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: "../shared/data")
        try FileManager.default.copyItem(at: data.appendingPathComponent("timemachine.txt"),
                                         to: xdg.appendingPathComponent("rnnbook/timemachine.txt"))
        try "// submission: ex-count\nfunc characters() -> Int { try! TimeMachine.loadText().unicodeScalars.count }\n"
            .write(to: book.root.appendingPathComponent("tim.swift"), atomically: true, encoding: .utf8)
        let run = try book.run(executable: Book.binary, ["grade", "chapters/07-data.md", "--submission", "tim.swift"],
                               environment: ["RNNBOOK_DATA": "", "XDG_CACHE_HOME": xdg.path])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("1 of 1 submission passed every check"), "\(run.stdout)")
    }

    /// The forgery of the issue: its own `expect`, in the scope the checks run in.
    @Test func aSubmissionThatDefinesExpectIsNotGraded() throws {
        let book = try book()
        let run = try grade(book, Self.right.replacingOccurrences(of: "Foundation.exp", with: "0 * Foundation.exp")
                                + "\nfunc expect(_ name: String, _ x: Double, near: Double, tolerance: Double) {}\n")
        #expect(run.status == 1)
        #expect(run.stdout.contains("eve.swift:5:6: error: a submission may not use 'expect'"), "\(run.stdout)")
        #expect(run.stdout.contains("NOT GRADED"))
    }

    /// A name the checks use for something of the chapter's (`Foundation.sqrt` in "two
    /// tokens") declared at the submission's top level would change what they compare with.
    @Test(arguments: [
        ("func sqrt(_ x: Double) -> Double { x }", "sqrt", 1),
        ("enum Foundation { static func sqrt(_ x: Double) -> Double { 1 } }", "Foundation", 1),
        ("let (a, Array) = (1, 2)", "Array", 1),
    ])
    func aSubmissionMayNotShadowANameTheChecksUse(declaration: String, name: String, column: Int) throws {
        let book = try book()
        let run = try grade(book, Self.right + "\n" + declaration + "\n")
        #expect(run.status == 1)
        #expect(run.stdout.contains("eve.swift:5:\(column): error: the submission declares '\(name)', a name exercise ex-uniform's checks use"), "\(run.stdout)")
        #expect(run.stdout.contains("'perplexity'"))
    }

    /// Writing a forged verdict straight to the channel's descriptor is caught by the seal:
    /// every check fails, whatever the answer. Reopening it through /proc is refused to the
    /// sandbox's user (the file is the instructor's, mode 0600), so the wrong answer fails.
    @Test(arguments: [("FileHandle(fileDescriptor: 3)", true), ("FileHandle(forWritingAtPath: \"/proc/self/fd/3\")?", false)])
    func aForgedLineOnTheChannelFailsEveryCheck(handle: String, reachesTheChannel: Bool) throws {
        let book = try book()
        let forged = #"{"check":{"_0":{"kind":"expect","label":"two tokens","verdict":"passed","message":"forged","block":9}}}"#
        let code = Self.right.replacingOccurrences(of: "Foundation.exp", with: "1 + Foundation.exp") + """

        let forged: Void = { \(handle).write(Data(#"\(forged)"#.utf8 + [10])) }()
        """
        let run = try grade(book, code, "--json")
        #expect(run.status == 1)
        let report = try JSONDecoder().decode(Grader.Report.self, from: Data(run.stdout.utf8))
        let checks = try #require(report.submissions.first?.exercises.first?.checks)
        #expect(checks.count == 3)
        #expect(checks.allSatisfy { $0.verdict == .failed }, "\(checks)")
        #expect(checks.allSatisfy { $0.message.contains("not believed") } == reachesTheChannel, "\(checks)")
        #expect(report.reference.allSatisfy { $0.allPassed })
        // It opened nothing outside its box (the system's own lookups, /proc included, do not count).
        #expect(report.submissions.first?.exercises.first?.outsideSandbox == nil)
        #expect(report.reference.allSatisfy { $0.outsideSandbox == nil })
    }

    /// A submission that allocates without end is stopped by its memory limit, with the limit
    /// in the message, not by the kernel's OOM killer.
    @Test func anAllocatingSubmissionIsStoppedAtItsLimit() throws {
        let book = try book()
        let code = Self.right + """

        var hoard: [[Double]] = []
        while true { hoard.append([Double](repeating: 1, count: 1 << 20)) }
        """
        let run = try grade(book, code, "--memory", "300")
        #expect(run.status == 1)
        #expect(run.stdout.contains("used more than 300 MB of memory"), "\(run.stdout)")
    }

    /// Without a sandbox `grade` refuses, unless told the submissions are trusted.
    @Test func withoutASandboxGradeRefusesUnlessTrusted() throws {
        let book = try book()
        try ("// submission: ex-uniform\n" + Self.right).write(to: book.root.appendingPathComponent("ann.swift"), atomically: true, encoding: .utf8)
        let args = ["grade", "chapters/05-ex.md", "--submission", "ann.swift", "--exercise", "ex-uniform"]
        let refused = try book.run(executable: Book.binary, args, environment: ["RNNBOOK_BWRAP": "/nonexistent/bwrap"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("grade runs each submission in a sandbox, which cannot be set up on this machine"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--trusted-submissions"))
        let trusted = try book.run(executable: Book.binary, args + ["--trusted-submissions"], environment: ["RNNBOOK_BWRAP": "/nonexistent/bwrap"])
        #expect(trusted.status == 0, "\(trusted.stdout)\(trusted.stderr)")
    }
}

/// Chapter programs (not only submissions) run under a memory limit.
@Suite("Bounded chapter programs", .serialized)
struct MemoryLimitTests {
    @Test func aBlockThatAllocatesWithoutEndIsStoppedAtItsLine() throws {
        let book = try Book()
        try book.write("01-hog.md", """
        ---
        title: Hog
        memory: 300
        ---
        # Hog

        ```swift
        print("before")
        ```

        ```swift
        var hoard: [[Double]] = []
        while true { hoard.append([Double](repeating: 1, count: 1 << 20)) }
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/01-hog.md:12:1: block 2 used more than 300 MB of memory, the chapter's limit"), "\(run.stderr)")
        let r = try book.result("01-hog")
        #expect(r.blocks.map(\.status) == [.passed, .failed])
        // --memory overrides the front matter.
        let raised = try book.run("build", "--memory", "400")
        #expect(raised.stderr.contains("block 2 used more than 400 MB"), "\(raised.stderr)")
    }

    @Test func theLimitIsAWholeNumberOfMegabytes() throws {
        let book = try Book()
        try book.write("01-m.md", "---\ntitle: M\nmemory: lots\n---\n# M\n")
        let run = try book.run("check")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/01-m.md:3:9: error: 'memory' must be a whole number of megabytes, at least 16, found 'lots'"), "\(run.stderr)")
        let small = try book.run("check", "--memory", "8")
        #expect(small.status == 2)
        #expect(small.stderr.contains("--memory must be at least 16"))
    }
}

/// A starter or solution that `grade` would refuse in a submission is the chapter's problem.
@Suite("Exercises students can hand in", .serialized)
struct GradableAnswerTests {
    @Test func aSolutionThatReportsItsOwnCheckFailsTheChapterAtItsLine() throws {
        let book = try Book()
        try book.write("06-self.md", """
        ---
        title: Self-checking
        ---
        # Self-checking

        ### Exercise: Double it {#ex-double}

        ```swift starter
        func double(_ x: Int) -> Int { todo() }
        ```

        ```swift solution
        func double(_ x: Int) -> Int { 2 * x }
        expect("doubles 3", double(3) == 6)
        ```

        ```swift check
        expect("doubles 4", double(4) == 8)
        ```
        """)
        let run = try book.run("check")
        #expect(run.status == 1)
        #expect(run.stderr.contains("chapters/06-self.md:14:1: the solution of exercise ex-double uses 'expect', which `grade` refuses in a submission"), "\(run.stderr)")
        // The same chapter with the check where it belongs passes.
        let moved = try String(contentsOf: book.root.appendingPathComponent("chapters/06-self.md"), encoding: .utf8)
            .replacingOccurrences(of: "expect(\"doubles 3\", double(3) == 6)\n", with: "")
        try book.write("06-self.md", moved)
        let fixed = try book.run("check")
        #expect(fixed.status == 0, "\(fixed.stderr)")
    }
}
