import Foundation

/// What `build`, `check` and `serve` ask of the book: the command line turns its flags into one.
public struct BookRequest: Sendable {
    public var settings: BuildSettings
    /// Chapter files or folders as given (empty: the book's `chapters/`).
    public var paths: [String] = []
    /// The output folder as given, for messages ("pages in output/").
    public var outputName = "output"
    /// Chapters run at the same time.
    public var jobs = 1
    /// Wait for another build using the output folder (else fail at once).
    public var wait = true
    /// Write the JSON results and the site (`build`, `serve`); `check` writes nothing.
    public var pages = true
    /// Also print the book to `book.pdf`.
    public var pdf = false
    /// Also report the mutation test, and fail when it fails.
    public var mutate = false
    /// Where the chapters run: nil, this process (`jobs` at a time); else that executor (Slurm).
    public var executor: TaskExecutor? = nil

    public init(settings: BuildSettings) { self.settings = settings }
}

/// Whether a command succeeded; it printed why not. Usage errors are thrown as `UsageError`.
public enum BookStatus: Sendable, Equatable {
    case passed, failed
}

/// The build as stages, each over one parsed book: find the chapter files → read and parse each
/// once (`Book`) → under the output folder's lock, run the chapters → write their JSON → render
/// the site → print the PDF → report (with the mutation test). `build`, `check` and `serve` all
/// build through `build(_:printer:terminal:site:)`; `run(terminal:)` is the whole of `build` and
/// `check`.
public struct BookPipeline: Sendable {
    public var request: BookRequest
    public var builder: BookBuilder
    /// How chapters are parsed (tests count the parses).
    public var parser: ChapterParsing = .standard

    public init(_ request: BookRequest) {
        self.request = request
        builder = BookBuilder(settings: request.settings)
    }

    public typealias Site = [(chapter: Chapter, result: ChapterResult?)]

    // MARK: Stages

    /// The chapter files the request names. A missing path or an empty selection is a
    /// `UsageError`; a book mistake (two chapters with one slug) a `BookError`.
    public func chapterFiles() throws -> [ChapterFile] {
        let files = try builder.chapterFiles(request.paths)
        if files.isEmpty {
            throw UsageError("no chapters found in \(request.paths.isEmpty ? "chapters/" : request.paths.joined(separator: " "))")
        }
        return files
    }

    /// `files` and the book's other chapters (`chapters/`), each read and parsed once.
    public func load(_ files: [ChapterFile]) -> ParsedBook {
        ParsedBook.load(selected: files, others: (try? builder.chapterFiles([])) ?? [], parser: parser)
    }

    /// One build of `files` into the output folder: marks and locks the folder (one build per
    /// folder at a time, waiting for another unless the request says not to; released when this
    /// returns or the process ends), parses the book once, runs the chapters, and with `pages`
    /// writes the JSON and the site (`site` of the outcome, by default the whole book's), in the
    /// request's edition (a folder holds one edition), and the PDF when a `printer` is given. A
    /// page or PDF that cannot be written is one more failure in the returned outcome, not a lost
    /// summary.
    public func build(_ files: [ChapterFile], printer: PDFPrinter? = nil, terminal: Terminal,
                      site: ((BookBuilder.Outcome) -> Site)? = nil) throws -> BookBuilder.Outcome {
        let output = builder.settings.outputDirectory
        let folder = OutputFolder(output)
        let before = try folder.prepare()
        let lock = try folder.lock(wait: request.wait) { terminal.line($0) }
        defer { lock.release() }
        // Whatever this build writes is listed as rnnbook's, so that `clean` removes it and only it.
        defer { folder.recordWritten(since: before) }
        if request.pages { try folder.claim(builder.settings.edition) }
        var outcome = try builder.build(load(files), jobs: request.jobs, executor: request.executor, terminal: terminal)
        guard request.pages else { return outcome }
        try builder.writeResults(of: outcome)
        var renderer = SiteRenderer()
        renderer.edition = builder.settings.edition
        renderer.printBook = printer != nil
        do { try renderer.render(chapters: (site ?? builder.siteChapters)(outcome), to: output) }
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

    /// The summary of `outcome` (and with `mutate`, the mutation report): whether it passed.
    public func report(_ outcome: BookBuilder.Outcome, terminal: Terminal) -> BookStatus {
        let ran = outcome.chapters.filter { $0.result != nil }.count
        var mutationFailed = false
        if request.mutate {
            let report = MutationReport(results: outcome.chapters.compactMap(\.result))
            terminal.line("\nMutation test (profile \(request.settings.profile)):\n" + report.text)
            mutationFailed = report.failed
        }
        guard outcome.failures.isEmpty else {
            terminal.line("\nFailures (\(outcome.failures.count)):")
            for f in outcome.failures { terminal.line(f) }
            return .failed
        }
        terminal.line("\(ran) chapter\(ran == 1 ? "" : "s") passed" + (request.pages ? "; pages in \(request.outputName)/" : ""))
        if mutationFailed {
            terminal.line("mutation test failed: a checked equation had no mutant killed by value, or a mutant survived unexplained (see the errors above)")
            return .failed
        }
        return .passed
    }

    // MARK: The whole command

    /// `rnnbook build` / `check`: finds the chapters (usage errors first, before anything is
    /// written), finds Chromium when a PDF is asked for, builds, and reports. A `BookError` is
    /// printed at its file:line:column and fails; a `UsageError` is thrown.
    public func run(terminal: Terminal) throws -> BookStatus {
        do {
            let files = try chapterFiles()
            let printer = request.pdf ? try PDFPrinter.locate() : nil
            return report(try build(files, printer: printer, terminal: terminal), terminal: terminal)
        } catch let error as BookError {
            terminal.line(error.description)
            return .failed
        }
    }
}
