import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `rnnbook grade` asks: the command line turns its flags into one.
public struct GradeRequest: Sendable {
    /// The book root (the current folder); the chapter path is relative to it.
    public var bookRoot: URL
    public var chapter: String
    /// Submission files or folders as given.
    public var submissions: [String] = []
    /// Exercises to grade (empty: every gradable one).
    public var exercises: [String] = []
    /// Print a submission file to fill in instead of grading.
    public var template = false
    /// Print the verdicts as JSON.
    public var json = false
    public var profile = "default"
    public var overrides: [String: String] = [:]
    public var seed: Int?
    public var timeout: Double?
    public var memoryLimitMB: Int?
    public var jobs = 1
    public var productKernels: String?
    /// Run submissions without the sandbox.
    public var trustedSubmissions = false
    /// Where the runs go: nil, this process (`jobs` at a time); else that executor (Slurm), with
    /// the scratch folder in the book's output folder, which the nodes share.
    public var executor: TaskExecutor? = nil

    public init(bookRoot: URL, chapter: String) { self.bookRoot = bookRoot; self.chapter = chapter }
}

public enum Grading {
    /// `rnnbook grade`: prints the template, or grades the submissions (in a scratch output
    /// folder, removed after) and prints the report on stdout. Usage errors are thrown as
    /// `UsageError`; a `BookError` (a chapter or submission mistake) is printed on stderr at its
    /// file:line:column and fails, as does a sandbox that cannot be set up.
    public static func run(_ request: GradeRequest, parser: ChapterParsing = .standard, terminal: Terminal) throws -> BookStatus {
        do { return try grade(request, parser: parser, terminal: terminal) } catch let error as BookError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return .failed
        }
    }

    static func grade(_ request: GradeRequest, parser: ChapterParsing, terminal: Terminal) throws -> BookStatus {
        // Not `relativeTo:`, which drops the root's last component unless it ends in '/'.
        let chapterURL = (request.chapter.hasPrefix("/") ? URL(fileURLWithPath: request.chapter)
                          : request.bookRoot.appendingPathComponent(request.chapter)).standardizedFileURL
        guard FileManager.default.fileExists(atPath: chapterURL.path) else { throw UsageError("no such chapter: \(request.chapter)") }
        if request.template {
            let book = ParsedBook.load(selected: [ChapterFile(url: chapterURL, displayPath: request.chapter)], others: [], parser: parser)
            let parsed = try book.entries[0].chapter.get()
            guard !parsed.gradableExercises.isEmpty else { throw UsageError("\(request.chapter) has no exercise with a solution and checks") }
            print(parsed.submissionTemplate, terminator: "")
            return .passed
        }
        let files = try Submission.files(request.submissions)
        if files.isEmpty { throw UsageError("no .md or .swift submission files in \(request.submissions.joined(separator: " "))") }

        let scratch = (request.executor == nil ? FileManager.default.temporaryDirectory : request.bookRoot.appendingPathComponent("output/.cache"))
            .appendingPathComponent("rnnbook-grade-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var settings = BuildSettings(bookRoot: request.bookRoot, outputDirectory: scratch)
        settings.profile = request.profile
        settings.overrides = request.overrides
        settings.seed = request.seed
        settings.timeout = request.timeout
        settings.memoryLimitMB = request.memoryLimitMB
        settings.productKernels = request.productKernels
        if !request.trustedSubmissions {
            // The sandbox sees the data folder only through RNNBOOK_DATA (it has no home and no
            // network): the runner fetches and verifies a chapter's declared data outside it and
            // hands the folder over as RNNBOOK_DATA (the download cache when RNNBOOK_DATA is unset).
            switch Sandbox.probe() {
            case .success(let sandbox): settings.sandbox = sandbox
            case .failure(let why):
                FileHandle.standardError.write(Data("""
                    error: grade runs each submission in a sandbox, which cannot be set up on this machine: \(why)
                    Fix it, or pass --trusted-submissions to run the submissions with your own rights (only for code you trust).

                    """.utf8))
                return .failed
            }
        }
        let report = try Grader(settings: settings).grade(chapterURL: chapterURL, displayPath: request.chapter, submissions: files,
                                                          only: request.exercises, parallel: request.jobs,
                                                          executor: request.executor, terminal: terminal)
        if request.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text, terminator: "")
        }
        return report.allPassed ? .passed : .failed
    }
}
