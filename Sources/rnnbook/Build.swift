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

    @Option(help: "Parameter profile: 'default' (reference numbers) or one the chapters define, e.g. 'quick'.")
    var profile: String = "default"

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a chapter param, e.g. --set num_epochs=5.", valueName: "KEY=VALUE"))
    var assignments: [String] = []

    @Option(help: "Seed for every chapter (overrides the 'seed' param).")
    var seed: Int?

    @Flag(help: "Ignore the cache: compile and run every chapter.")
    var force = false

    @Option(help: "Seconds each chapter program may run (overrides front matter).")
    var timeout: Double?

    @Option(help: ArgumentHelp("Most memory each chapter program may use (overrides front matter `memory:`; default \(BuildSettings.defaultMemoryLimitMB)).", valueName: "MB"))
    var memory: Int?

    @Option(help: "Chapters to run at the same time.")
    var jobs: Int = 1

    @Flag(help: "Fail at once when another build is using the output folder, instead of waiting for it.")
    var noWait = false

    func validate() throws { try Self.validate(assignments: assignments, jobs: jobs, timeout: timeout, seed: seed, memory: memory) }

    /// The checks of `--set`, `--jobs`, `--timeout` and `--seed` (shared with `grade`).
    static func validate(assignments: [String], jobs: Int, timeout: Double?, seed: Int?, memory: Int? = nil) throws {
        if let seed, seed < 0 { throw ValidationError("--seed must be 0 or more, got \(seed)") }
        if let memory, memory < 16 { throw ValidationError("--memory must be at least 16 (megabytes), got \(memory)") }
        for a in assignments where !a.contains("=") || a.hasPrefix("=") {
            throw ValidationError("--set expects KEY=VALUE, got '\(a)'")
        }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        // `timeout <= 0` is false for NaN, which then turned every timeout off.
        if let timeout, !(timeout.isFinite && timeout > 0) {
            throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)")
        }
    }

    var overrides: [String: String] { Self.overrides(assignments) }

    /// `KEY=VALUE` assignments (already validated) as a dictionary; a later key wins.
    static func overrides(_ assignments: [String]) -> [String: String] {
        Dictionary(assignments.map { a in
            let parts = a.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        }, uniquingKeysWith: { _, new in new })
    }

    func settings() -> BuildSettings {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var s = BuildSettings(bookRoot: cwd, outputDirectory: URL(fileURLWithPath: output, relativeTo: cwd).standardizedFileURL)
        s.profile = profile
        s.overrides = overrides
        s.seed = seed
        s.force = force
        s.timeout = timeout
        s.memoryLimitMB = memory
        s.productKernels = EngineInfo.productKernels
        return s
    }
}

/// Runs the chapters and reports; shared by `build` (pages) and `check` (no pages).
/// With `mutate`, also prints the mutation report and fails when a checked equation has no
/// mutant killed.
func runBook(_ options: RunOptions, pages: Bool, mutate: Bool = false, edition: Edition = .instructor, pdf: Bool = false) throws {
    let terminal = Terminal()
    var settings = options.settings()
    settings.edition = edition
    let builder = BookBuilder(settings: settings)
    func reported(_ error: BookError) -> ExitCode {
        terminal.line(error.description)
        return ExitCode(1)
    }
    // Usage errors first, before anything is written.
    let files = try chapterFiles(options, builder: builder, terminal: terminal)
    // Before anything runs: a PDF needs Chromium.
    let printer: PDFPrinter?
    do { printer = pdf ? try PDFPrinter.locate() : nil } catch let error as BookError { throw reported(error) }
    let outcome: BookBuilder.Outcome
    do {
        outcome = try buildChapters(files, with: builder, jobs: options.jobs, wait: !options.noWait, pages: pages,
                                    printer: printer, terminal: terminal, site: builder.siteChapters)
    }
    catch let error as UsageError { throw ValidationError(error.description) }
    catch let error as BookError { throw reported(error) }
    let failures = outcome.failures
    let ran = outcome.chapters.filter { $0.result != nil }.count
    var mutationFailed = false
    if mutate {
        let report = MutationReport(results: outcome.chapters.compactMap(\.result))
        terminal.line("\nMutation test (profile \(options.profile)):\n" + report.text)
        mutationFailed = report.failed
    }
    if failures.isEmpty {
        terminal.line("\(ran) chapter\(ran == 1 ? "" : "s") passed" + (pages ? "; pages in \(options.output)/" : ""))
        if mutationFailed {
            terminal.line("mutation test failed: a checked equation had no mutant killed by value, or a mutant survived unexplained (see the errors above)")
            throw ExitCode(1)
        }
    } else {
        terminal.line("\nFailures (\(failures.count)):")
        for f in failures { terminal.line(f) }
        throw ExitCode(1)
    }
}

/// The chapter files `options` name; a missing path or an empty selection is a usage error
/// (exit 2), a book mistake (two chapters with one slug) is reported (exit 1).
func chapterFiles(_ options: RunOptions, builder: BookBuilder, terminal: Terminal) throws -> [ChapterFile] {
    let files: [ChapterFile]
    do { files = try builder.chapterFiles(options.paths) }
    catch let error as UsageError { throw ValidationError(error.description) }
    catch let error as BookError { terminal.line(error.description); throw ExitCode(1) }
    if files.isEmpty {
        throw ValidationError("no chapters found in \(options.paths.isEmpty ? "chapters/" : options.paths.joined(separator: " "))")
    }
    return files
}

/// One build of `files` into the builder's output folder: marks and locks the folder (one build
/// per folder at a time, waiting for another unless `wait` is false; released when this returns
/// or the process ends), runs the chapters, and with `pages` writes the JSON and the site that
/// `site` makes of the outcome, in the builder's edition (a folder holds one edition), and the
/// PDF when a `printer` is given. A page or PDF that cannot be written is one more failure in the
/// returned outcome, not a lost summary. `build`, `check` and `serve` all build through this.
func buildChapters(_ files: [ChapterFile], with builder: BookBuilder, jobs: Int, wait: Bool, pages: Bool,
                   printer: PDFPrinter? = nil, terminal: Terminal,
                   site: (BookBuilder.Outcome) -> [(chapter: Chapter, result: ChapterResult?)]) throws -> BookBuilder.Outcome {
    let output = builder.settings.outputDirectory
    let folder = OutputFolder(output)
    let before = try folder.prepare()
    let lock = try folder.lock(wait: wait) { terminal.line($0) }
    defer { lock.release() }
    // Whatever this build writes is listed as rnnbook's, so that `clean` removes it and only it.
    defer { folder.recordWritten(since: before) }
    if pages { try folder.claim(builder.settings.edition) }
    var outcome = try builder.build(files, jobs: jobs, writeResults: pages, terminal: terminal)
    guard pages else { return outcome }
    var renderer = SiteRenderer()
    renderer.edition = builder.settings.edition
    renderer.printBook = printer != nil
    do { try renderer.render(chapters: site(outcome), to: output) }
    catch { outcome.failures.append(describe(error)) }
    if let printer {
        terminal.status("printing the book to \(output.lastPathComponent)/book.pdf")
        do {
            try printer.print(html: output.appendingPathComponent("book-print.html"), to: output.appendingPathComponent("book.pdf"))
            terminal.clear()
            terminal.line("wrote \(output.lastPathComponent)/book.pdf")
        } catch { terminal.clear(); outcome.failures.append(describe(error)) }
    }
    return outcome
}

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every chapter and write the pages and JSON results.")
    @OptionGroup var options: RunOptions
    @Option(help: "Which edition to write: 'instructor' (exercise solutions shown, collapsed) or 'student' (no solution text in the output folder; its cache is kept outside it).")
    var edition: Edition = .instructor
    @Flag(help: "Also print the whole book to book.pdf (book-print.html through headless Chromium).")
    var pdf = false
    func run() throws { try runBook(options, pages: true, edition: edition, pdf: pdf) }
}

extension Edition: ExpressibleByArgument {}
