import ArgumentParser
import BookKit
import Engine
import Foundation

struct Grade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run students' code for a chapter's exercises against the exercises' checks.",
        discussion: """
        A submission is a Markdown file whose Swift blocks are ```swift submission ex-name``` (the \
        exercise each answers), or a Swift file where '// submission: ex-name' starts each exercise's \
        code; --submission FOLDER grades every .md and .swift file in it. For each exercise the \
        chapter runs up to the exercise, the submission in place of the reference solution, then the \
        exercise's checks. Prints one verdict per check per submission; exit status 0 when every \
        check passed, 1 otherwise, 2 for a usage error. --template prints a submission file to fill in.
        """)

    @Argument(help: "The chapter whose exercises are graded.")
    var chapter: String

    @Option(name: .customLong("submission"), help: ArgumentHelp("A submission file, or a folder of them (repeatable).", valueName: "FILE-OR-FOLDER"))
    var submissions: [String] = []

    @Option(name: .customLong("exercise"), help: ArgumentHelp("Grade only this exercise (repeatable; default: all).", valueName: "ex-name"))
    var exercises: [String] = []

    @Flag(help: "Print a submission file with each exercise's starter code, to fill in, and exit.")
    var template = false

    @Flag(help: "Print the verdicts as JSON.")
    var json = false

    @Option(help: "Parameter profile: 'default' or one the chapter defines, e.g. 'quick'.")
    var profile: String = "default"

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a chapter param, e.g. --set num_epochs=5.", valueName: "KEY=VALUE"))
    var assignments: [String] = []

    @Option(help: "Seed (overrides the 'seed' param).")
    var seed: Int?

    @Option(help: "Seconds each run may take (default: the chapter's timeout for the reference solutions; for submissions, three times the reference's run, at least \(Int(Grader.minimumSubmissionTimeout)) s).")
    var timeout: Double?

    @Option(help: ArgumentHelp("Most memory each run may use (overrides front matter `memory:`; default \(BuildSettings.defaultMemoryLimitMB)).", valueName: "MB"))
    var memory: Int?

    @Option(name: .shortAndLong, help: "Runs at the same time.")
    var jobs: Int = 1

    @Flag(help: "Run submissions without the bubblewrap sandbox, with your own rights. Only for code you trust.")
    var trustedSubmissions = false

    func validate() throws {
        try RunOptions.validate(assignments: assignments, jobs: jobs, timeout: timeout, seed: seed, memory: memory)
        if !template && submissions.isEmpty { throw ValidationError("give at least one --submission FILE-OR-FOLDER (or --template)") }
    }

    func run() throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let chapterURL = URL(fileURLWithPath: chapter, relativeTo: cwd).standardizedFileURL
        guard FileManager.default.fileExists(atPath: chapterURL.path) else { throw ValidationError("no such chapter: \(chapter)") }
        if template {
            do {
                let parsed = try ChapterParser().parse(contentsOf: chapterURL, displayPath: chapter)
                guard !parsed.gradableExercises.isEmpty else { throw ValidationError("\(chapter) has no exercise with a solution and checks") }
                print(parsed.submissionTemplate, terminator: "")
                return
            } catch let error as BookError {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        let files: [(url: URL, displayPath: String)]
        do { files = try Submission.files(submissions) } catch let error as UsageError { throw ValidationError(error.description) }
        if files.isEmpty { throw ValidationError("no .md or .swift submission files in \(submissions.joined(separator: " "))") }

        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-grade-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var settings = BuildSettings(bookRoot: cwd, outputDirectory: scratch)
        settings.profile = profile
        settings.overrides = RunOptions.overrides(assignments)
        settings.seed = seed
        settings.timeout = timeout
        settings.memoryLimitMB = memory
        settings.productKernels = EngineInfo.productKernels
        if !trustedSubmissions {
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
                throw ExitCode(1)
            }
        }
        let report: Grader.Report
        do {
            report = try Grader(settings: settings).grade(chapterURL: chapterURL, displayPath: chapter, submissions: files,
                                                          only: exercises, parallel: jobs, terminal: Terminal())
        } catch let error as UsageError {
            throw ValidationError(error.description)
        } catch let error as BookError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text, terminator: "")
        }
        if !report.allPassed { throw ExitCode(1) }
    }
}
