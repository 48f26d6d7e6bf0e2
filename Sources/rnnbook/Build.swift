import ArgumentParser
import BookKit
import Engine
import Foundation

/// Options `build` and `check` share.
struct RunOptions: ParsableArguments {
    @Argument(help: "Chapter files or folders (default: chapters/).")
    var paths: [String] = []

    @Option(name: .shortAndLong, help: "Where pages, JSON and the cache go.")
    var output: String = "output"

    @Option(help: "Parameter profile: 'default' (reference numbers) or one the chapters define (\(definedProfiles())). Default: 'default'; for an experiment, the profile the book in the output folder was built in.")
    var profile: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Set a chapter param, e.g. --set num_epochs=5; several values make a grid (--set lr=0.5,1 --set num_hiddens=32..128*2, ranges FROM..TO+STEP or FROM..TO*FACTOR). With build, an experiment: reported in OUTPUT/experiments/NAME/ beside the book's run, never over the book's pages.", valueName: "KEY=VALUES"))
    var assignments: [String] = []

    @Option(help: "Seed for every chapter (overrides the 'seed' param).")
    var seed: Int?

    @Flag(help: "Ignore the cache: compile and run every chapter.")
    var force = false

    @Option(help: "Seconds each chapter program may run (overrides front matter).")
    var timeout: Double?

    @Option(help: ArgumentHelp("Most memory each chapter program may use (overrides front matter `memory:`; default \(BuildSettings.defaultMemoryLimitMB)).", valueName: "MB"))
    var memory: Int?

    @Option(name: .shortAndLong, help: "Runs at the same time: chapters, or an experiment's points (with --executor slurm: the most array tasks running at once).")
    var jobs: Int = 1

    @Flag(help: "Fail at once when another build is using the output folder, instead of waiting for it.")
    var noWait = false

    func validate() throws { try Self.validate(assignments: assignments, jobs: jobs, timeout: timeout, seed: seed, memory: memory) }

    /// The checks of `--set`, `--jobs`, `--timeout` and `--seed` (shared with `grade`).
    static func validate(assignments: [String], jobs: Int, timeout: Double?, seed: Int?, memory: Int? = nil) throws {
        if let seed, seed < 0 { throw ValidationError("--seed must be 0 or more, got \(seed)") }
        if let memory, memory < 16 { throw ValidationError("--memory must be at least 16 (megabytes), got \(memory)") }
        // One parser of --set for every command: KEY=VALUE, lists, ranges, a key given twice.
        _ = try usage { try ParamGrid(assignments: assignments) }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        // `timeout <= 0` is false for NaN, which then turned every timeout off.
        if let timeout, !(timeout.isFinite && timeout > 0) {
            throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)")
        }
    }

    /// `--set` as one value per key (validated already); empty for a grid, which only `build`
    /// takes, as an experiment that sets each point's values itself.
    var overrides: [String: String] { (try? ParamGrid(assignments: assignments))?.single ?? [:] }

    /// `--set` for a command that runs one point (`check`, `grade`): one value per key, or a
    /// usage error that sends a grid to `build`.
    static func singleValues(_ assignments: [String], command: String) throws -> [String: String] {
        let grid = try usage { try ParamGrid(assignments: assignments) }
        guard let single = grid.single else {
            throw ValidationError("\(command) takes one value per --set; a grid (\(grid.varied.map(\.key).joined(separator: ", "))) is an experiment: rnnbook build --set …")
        }
        return single
    }

    func settings() -> BuildSettings {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var s = BuildSettings(bookRoot: cwd, outputDirectory: URL(fileURLWithPath: output, relativeTo: cwd).standardizedFileURL)
        s.profile = profile ?? "default"
        s.overrides = overrides
        s.seed = seed
        s.force = force
        s.timeout = timeout
        s.memoryLimitMB = memory
        s.productKernels = EngineInfo.productKernels
        return s
    }

    /// The request these options make: `pages` for `build` and `serve`, not for `check`.
    func request(pages: Bool, edition: Edition = .instructor) -> BookRequest {
        var settings = settings()
        settings.edition = edition
        var request = BookRequest(settings: settings)
        request.paths = paths
        request.outputName = output
        request.jobs = jobs
        request.wait = !noWait
        request.pages = pages
        return request
    }
}

/// Runs `body`, a BookKit call: its `UsageError` is a usage error here (exit 2, with the usage
/// line), and a failed status exits 1 (the reasons are printed already).
func bookCommand(_ body: () throws -> BookStatus) throws {
    let status: BookStatus
    do { status = try body() } catch let error as UsageError { throw ValidationError(error.description) }
    if status == .failed { throw ExitCode(1) }
}

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every chapter and write the pages and JSON results.",
        discussion: """
        With --set, --seed or --experiment, build runs an experiment instead: the chapters whose \
        params are set run once per point of the grid, beside the book's own run (from the cache when \
        the book is built), and the report (metrics side by side with their differences, training \
        curves overlaid, each claim of the text re-judged: holds, or differs from the text) goes to \
        OUTPUT/experiments/NAME/index.html; the book's pages are not touched. A claim that differs \
        does not fail the command; a crash, a compile error or a failed maths check (equation, \
        gradient, shape) does. Each point is cached on its own: a rerun computes only what changed.
        """)
    @OptionGroup var options: RunOptions
    @Option(help: "Which edition to write: 'instructor' (exercise solutions shown, collapsed) or 'student' (no solution text in the output folder; its cache is kept outside it).")
    var edition: Edition = .instructor
    @Flag(help: "Also print the whole book to book.pdf (book-print.html through headless Chromium).")
    var pdf = false
    @Option(help: ArgumentHelp("Name the experiment (its folder under OUTPUT/experiments/); also makes a run without --set an experiment, e.g. with another --profile. Default: named after its params.", valueName: "NAME"))
    var experiment: String?
    @Option(help: ArgumentHelp("A metric the experiment's grid plots against each varied param (repeatable; default: those the text states that differ between points).", valueName: "NAME"))
    var metric: [String] = []
    @OptionGroup var executor: ExecutorOptions

    var isExperiment: Bool { !options.assignments.isEmpty || options.seed != nil || experiment != nil }

    func validate() throws {
        if !isExperiment {
            if !metric.isEmpty { throw ValidationError("--metric is for experiments (with --set, --seed or --experiment)") }
        } else {
            if pdf { throw ValidationError("--pdf prints the book; an experiment (--set, --seed, --experiment) writes only its report") }
            if edition != .instructor { throw ValidationError("--edition is for the book; an experiment's report is for instructors") }
        }
    }

    func run() throws {
        let request = options.request(pages: true, edition: edition)
        let terminal = Terminal()
        if isExperiment {
            var experiment = ExperimentRequest(grid: try usage { try ParamGrid(assignments: options.assignments) })
            experiment.name = self.experiment
            experiment.profileGiven = options.profile != nil
            experiment.metrics = metric
            experiment.command = (["rnnbook"] + CommandLine.arguments.dropFirst()).map(shellQuoted).joined(separator: " ")
            let executor = try self.executor.make(jobs: options.jobs)
            try bookCommand { try BookPipeline(request).runExperiment(experiment, executor: executor, terminal: terminal) }
            return
        }
        var book = request
        book.pdf = pdf
        if executor.executor != .local {
            book.executor = try executor.make(jobs: options.jobs)
        }
        try bookCommand { try BookPipeline(book).run(terminal: terminal) }
    }
}

/// A BookKit `UsageError` thrown by `body` as a usage error of the command line (exit 2).
func usage<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as UsageError { throw ValidationError(error.description) }
}

extension Edition: ExpressibleByArgument {}

/// "in ./chapters: quick, tiny" for `--profile`'s help: the profiles the chapters in ./chapters
/// define. Options are made on every run, so the chapters are read only when help is asked for.
func definedProfiles() -> String {
    guard CommandLine.arguments.dropFirst().contains(where: { ["--help", "-h", "help"].contains($0) }) else {
        return "`rnnbook list` shows them"
    }
    let names = profilesDefined(inChaptersAt: URL(fileURLWithPath: "chapters"))
    return names.isEmpty ? "none in ./chapters" : "in ./chapters: " + names.joined(separator: ", ")
}
