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

    @Option(help: "Parameter profile: 'default' or one the chapter defines (\(definedProfiles())).")
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

    @OptionGroup var executor: ExecutorOptions

    func validate() throws {
        try RunOptions.validate(assignments: assignments, jobs: jobs, timeout: timeout, seed: seed, memory: memory)
        if !template && submissions.isEmpty { throw ValidationError("give at least one --submission FILE-OR-FOLDER (or --template)") }
        _ = try RunOptions.singleValues(assignments, command: "grade")
    }

    func run() throws {
        var request = GradeRequest(bookRoot: URL(fileURLWithPath: FileManager.default.currentDirectoryPath), chapter: chapter)
        request.submissions = submissions
        request.exercises = exercises
        request.template = template
        request.json = json
        request.profile = profile
        request.overrides = try RunOptions.singleValues(assignments, command: "grade")
        request.seed = seed
        request.timeout = timeout
        request.memoryLimitMB = memory
        request.jobs = jobs
        request.productKernels = EngineInfo.productKernels
        request.trustedSubmissions = trustedSubmissions
        if executor.executor != .local { request.executor = try executor.make(jobs: jobs) }
        try bookCommand { try Grading.run(request, terminal: Terminal()) }
    }
}
