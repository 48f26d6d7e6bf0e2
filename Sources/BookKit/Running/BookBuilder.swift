import BookProtocol
import Foundation
import Synchronization

/// A chapter file found on disk.
public struct ChapterFile: Sendable {
    public var url: URL
    /// Relative to the book root (`chapters/02-rnn.md`).
    public var displayPath: String
}

/// Finds, runs and writes chapters: the stages of `BookPipeline` that run a book
/// `ParsedBook` parsed (what `rnnbook build`, `check` and `serve` do).
public struct BookBuilder: Sendable {
    public var settings: BuildSettings
    /// The book's chapters outside this build whose params and profiles `--set` and `--profile`
    /// may also name (`serve` rebuilds one chapter of a book built with `--profile quick`).
    public var otherChapters: [Chapter] = []
    public init(settings: BuildSettings) { self.settings = settings }

    /// Chapter files from paths (files or folders); default `chapters/`. `README.md` is skipped.
    public func chapterFiles(_ paths: [String]) throws -> [ChapterFile] {
        let fm = FileManager.default
        let inputs = paths.isEmpty ? [settings.bookRoot.appendingPathComponent("chapters").path] : paths
        var files: [URL] = []
        for p in inputs {
            let url = URL(fileURLWithPath: p, relativeTo: URL(fileURLWithPath: fm.currentDirectoryPath)).standardizedFileURL
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { throw UsageError("no such chapter or folder: \(p)") }
            if isDir.boolValue {
                let names = try fm.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".md") && $0 != "README.md" }.sorted()
                files += names.map { url.appendingPathComponent($0) }
            } else {
                files.append(url)
            }
        }
        let root = settings.bookRoot.standardizedFileURL.path
        var seen = Set<String>()
        let chapters = files.filter { seen.insert($0.path).inserted }.map { url in
            let path = url.path.hasPrefix(root + "/") ? String(url.path.dropFirst(root.count + 1)) : url.path
            return ChapterFile(url: url, displayPath: path)
        }
        try Self.checkSlugs(chapters)
        return chapters
    }

    /// A chapter's slug names its page and its JSON: two chapters with one slug would overwrite
    /// each other (and, with --jobs 2, be judged on each other's program), and `index` is the
    /// book's contents page.
    static func checkSlugs(_ files: [ChapterFile]) throws {
        var bySlug: [String: String] = [:]
        for file in files {
            let slug = file.url.deletingPathExtension().lastPathComponent
            if slug.lowercased() == "index" {
                throw BookError("\(file.displayPath): a chapter named 'index' would be overwritten by the book's contents page (index.html); rename the file",
                                at: SourceLocation(file: file.displayPath, line: 1))
            }
            if slug.hasSuffix(".last-good") {
                throw BookError("\(file.displayPath): names ending in '.last-good' are kept for the last passing version of a page; rename the file",
                                at: SourceLocation(file: file.displayPath, line: 1))
            }
            if let other = bySlug[slug.lowercased()] {
                throw BookError("\(other) and \(file.displayPath) would both be written as \(slug).html and \(slug).json; rename one of them",
                                at: SourceLocation(file: file.displayPath, line: 1))
            }
            bySlug[slug.lowercased()] = file.displayPath
        }
    }

    public struct Outcome: Sendable {
        public var chapters: [(chapter: Chapter, result: ChapterResult?)]
        /// Every failure, located, for the summary.
        public var failures: [String]
        /// Chapter files this build read (parsed or not), relative to the book root.
        public var builtPaths: Set<String> = []
        /// Why a chapter file of this build did not parse, by its path relative to the book root.
        public var parseErrors: [String: BookError] = [:]
        /// The book this build parsed (its chapters and the book's others): the site's other pages come from it.
        public var book = ParsedBook()
        public var allPassed: Bool { failures.isEmpty }
        public init(chapters: [(chapter: Chapter, result: ChapterResult?)], failures: [String], builtPaths: Set<String> = [],
                    parseErrors: [String: BookError] = [:], book: ParsedBook = ParsedBook()) {
            self.chapters = chapters; self.failures = failures; self.builtPaths = builtPaths
            self.parseErrors = parseErrors; self.book = book
        }
    }

    /// Runs the chapters `book` selects (parsed once, by `ParsedBook.load`) with up to `jobs` at a
    /// time, after failing those whose cross-references do not resolve. Writes nothing: see
    /// `writeResults(of:)`.
    public func build(_ book: ParsedBook, jobs: Int, executor: TaskExecutor? = nil, terminal: Terminal) throws -> Outcome {
        let book = book.resolvingCrossReferences()
        let parsed = book.selected
        // A chapter that did not parse may define the profile or param: its error is the finding.
        try validateOverrides(parsed.compactMap { try? $0.chapter.get() }, someChapterUnparsed: book.hasUnparsedChapter)

        let runner = try ChapterRunner(settings: settings)
        let engine = runner.toolchain.engineIdentity
        let results = ResultBox(count: parsed.count)
        if let executor {
            // Each chapter a task of the executor (a Slurm array task): the same run as here.
            let runnable = parsed.enumerated().compactMap { i, entry -> (Int, RunTask)? in
                guard case .success(let chapter) = entry.chapter, let source = entry.source else { return nil }
                return (i, RunTask(label: entry.file.displayPath, settings: settings, chapter: chapter, source: source))
            }
            let outcomes = try executor.run(runnable.map(\.1), terminal: terminal)
            for ((i, task), outcome) in zip(runnable, outcomes) {
                let result = outcome.result ?? .unfinished(task.chapter, profile: settings.profile,
                                                           why: "the chapter's run did not finish: \(outcome.reason ?? "no result")", versions: runner.versions)
                results.set(i, result)
                terminal.line("\(result.status == .passed ? "passed" : "FAILED")  \(task.label)  \(Self.howBuilt(result, chapter: task.chapter))")
            }
        }
        terminal.number(chapters: parsed.compactMap { entry in if case .success = entry.chapter { entry.file.displayPath } else { nil } })
        let runnable = executor != nil ? [] : parsed.enumerated().compactMap { i, entry -> (Int, Chapter, String, ChapterFile)? in
            guard case .success(let chapter) = entry.chapter, let source = entry.source else { return nil }
            return (i, chapter, source, entry.file)
        }
        let finished: @Sendable (Int, Chapter, ChapterFile, ChapterResult) -> Void = { i, chapter, file, result in
            results.set(i, result)
            let verdict = result.status == .passed ? "passed" : "FAILED"
            let totals = result.checkTotals
            let unchecked = totals.notChecked > 0 ? ", \(totals.notChecked) shown but not checked in profile \(result.profile)" : ""
            terminal.line("\(terminal.position(of: file.displayPath))\(verdict)  \(file.displayPath)  \(Self.howBuilt(result, chapter: chapter))  \(totals.ran) check\(totals.ran == 1 ? "" : "s")\(unchecked)")
        }
        if jobs <= 1 && runnable.count > 1 {
            // One chapter runs at a time, and the compiler works ahead: while a chapter runs, the
            // next ones are planned and compiled (one compiler at a time), on the core the run
            // leaves free much of the time, instead of after it (issue 29). Each run still starts
            // only when the one before it has ended.
            let ahead = PlannedBox(count: runnable.count)
            DispatchQueue(label: "rnnbook.compile-ahead").async {
                for (k, (_, chapter, source, _)) in runnable.enumerated() {
                    let plan = runner.plan(chapter, source: source, engineIdentity: engine)
                    var program: (CompileVerdict, String)?
                    if case .run = plan { program = runner.compiled(chapter, source: source, engineIdentity: engine, terminal: terminal) }
                    ahead.set(k, plan, program)
                }
            }
            for (k, (i, chapter, source, file)) in runnable.enumerated() {
                let (plan, program) = ahead.wait(k)
                switch plan {
                case .finished(let result): finished(i, chapter, file, result)
                case .run(let planned):
                    finished(i, chapter, file, runner.execute(planned, chapter: chapter, source: source, engineIdentity: engine,
                                                              terminal: terminal, compiledAhead: program))
                }
            }
        } else {
            let queue = DispatchQueue(label: "rnnbook.chapters", attributes: .concurrent)
            let group = DispatchGroup()
            let semaphore = DispatchSemaphore(value: max(1, jobs))
            for (i, chapter, source, file) in runnable {
                semaphore.wait()
                group.enter()
                queue.async {
                    defer { semaphore.signal(); group.leave() }
                    finished(i, chapter, file, runner.run(chapter, source: source, engineIdentity: engine, terminal: terminal))
                }
            }
            group.wait()
        }

        var outcome = Outcome(chapters: [], failures: [], builtPaths: Set(parsed.map(\.file.displayPath)), book: book)
        for (i, entry) in parsed.enumerated() {
            switch entry.chapter {
            case .failure(let error):
                outcome.failures.append(error.description)
                outcome.parseErrors[entry.file.displayPath] = error
            case .success(let chapter):
                let result = results.get(i)
                outcome.chapters.append((chapter, result))
                if let result { outcome.failures += result.failures.map(\.description) }
            }
        }
        return outcome
    }

    /// Writes each result of `outcome` as the edition publishes it to `output/<slug>.json`.
    public func writeResults(of outcome: Outcome) throws {
        for (chapter, result) in outcome.chapters {
            if let result, let published = settings.edition.view(of: result, chapter: chapter) { try write(published, slug: chapter.slug) }
        }
    }

    /// What happened to a chapter in this build, for its summary line: restored from the cache,
    /// re-rendered from the cached run (only prose, maths or claims changed), or run again and
    /// why (which inputs changed), with the checkpoints it restored or computed.
    public static func howBuilt(_ result: ChapterResult, chapter: Chapter? = nil) -> String {
        let time = { String(format: "%.1f s, compile %.1f s", result.seconds, result.compileSeconds) + slowestBlocks(result, chapter: chapter) }
        switch result.origin {
        case .restored?: return "restored from cache"
        case .rerendered?: return "re-rendered from the cached run (only the page changed)"
        case nil: return result.cached ? "restored from cache" : time()
        case .ran?: break
        }
        var text = "rerun (\((result.rerunReasons ?? ["no earlier run kept"]).joined(separator: "; ")))"
        let notes = result.checkpoints ?? []
        let restored = notes.filter(\.restored), computed = notes.filter { !$0.restored }
        if !restored.isEmpty {
            text += ", restored from checkpoint: " + restored.map { "\($0.name) (computed \(shortDate($0.computedAt)))" }.joined(separator: ", ")
        }
        if !computed.isEmpty {
            text += ", checkpoint computed: " + computed.map { n in n.name + (n.note.map { " (\($0))" } ?? "") }.joined(separator: ", ")
        }
        return text + "  " + time()
    }

    /// Where a long run's time went: "; slowest: block 12 (line 449) 70 s, …", the blocks that
    /// took a tenth of the run or more (at most three), for a run of 30 s or more; else "".
    static func slowestBlocks(_ result: ChapterResult, chapter: Chapter?) -> String {
        guard result.seconds >= 30 else { return "" }
        let slow = result.blocks.filter { $0.seconds >= result.seconds / 10 }.sorted { $0.seconds > $1.seconds }.prefix(3)
        guard !slow.isEmpty else { return "" }
        return "; slowest: " + slow.map { b in
            let line = chapter?.codeBlocks.first { $0.index == b.index }.map { " (line \($0.location.line))" } ?? ""
            return "block \(b.index + 1)\(line) " + String(format: "%.0f s", b.seconds)
        }.joined(separator: ", ")
    }

    /// Writes `output/<slug>.json` atomically; a failed result does not replace a passed one
    /// (it goes to `output/.cache/<slug>.failed.json` instead), so a broken edit keeps the last good JSON.
    func write(_ result: ChapterResult, slug: String) throws {
        let data = try resultEncoder().encode(result)
        let good = settings.outputDirectory.appendingPathComponent("\(slug).json")
        let failed = settings.cacheDirectory.appendingPathComponent("\(slug).failed.json")
        if result.status == .passed {
            try writeAtomically(data, to: good)
            try? FileManager.default.removeItem(at: failed)
        } else if let old = try? Data(contentsOf: good), let previous = try? resultDecoder().decode(ChapterResult.self, from: old),
                  previous.status == .passed {
            try writeAtomically(data, to: failed)
        } else {
            try writeAtomically(data, to: good)
        }
    }

    /// Every chapter of the book for the site: those just built with their new results, the
    /// book's others (when only some chapters were named) as the build parsed them, with their
    /// last results from the output folder, so that a partial build never shrinks the table of
    /// contents. Reads no chapter again.
    public func siteChapters(_ outcome: Outcome) -> [(chapter: Chapter, result: ChapterResult?)] {
        var bySlug: [String: (chapter: Chapter, result: ChapterResult?)] = [:]
        for item in outcome.chapters { bySlug[item.chapter.slug] = item }
        for entry in outcome.book.others {
            let slug = entry.file.url.deletingPathExtension().lastPathComponent
            // A chapter of this build that did not parse keeps no page: its error is in the failures.
            guard bySlug[slug] == nil, !outcome.builtPaths.contains(entry.file.displayPath),
                  case .success(let chapter) = entry.chapter else { continue }
            let json = settings.outputDirectory.appendingPathComponent("\(chapter.slug).json")
            let previous = (try? Data(contentsOf: json)).flatMap { try? resultDecoder().decode(ChapterResult.self, from: $0) }
            bySlug[chapter.slug] = (chapter, previous)
        }
        return bySlug.keys.sorted().map { bySlug[$0]! }
    }

    /// `--set` keys must be params of at least one selected chapter, with values of their type.
    func validateOverrides(_ chapters: [Chapter], someChapterUnparsed: Bool = false) throws {
        try validate(values: settings.overrides.mapValues { [$0] }, chapters: chapters, someChapterUnparsed: someChapterUnparsed)
    }

    /// Every value of every `--set` key (one per key, or a grid's) must suit each selected chapter
    /// that has the param: known key, right type, a count at least 1, a seed at least 0; and the
    /// profile must be one some chapter defines. When `someChapterUnparsed`, an unknown key or
    /// profile is not a usage error: the chapter that failed to parse may define it, and its
    /// parse error (a finding, exit 1) must not be masked by a usage error (exit 2).
    public func validate(values: [String: [String]], chapters: [Chapter], someChapterUnparsed: Bool = false) throws {
        let known = Set((chapters + otherChapters).flatMap { $0.params.keys })
        for key in values.keys.sorted() where !known.contains(key) && !someChapterUnparsed {
            throw UsageError("--set \(key)=…: no chapter has a param '\(key)'\(didYouMean(key, among: known)); valid params: \(known.isEmpty ? "none" : known.sorted().joined(separator: ", "))")
        }
        for chapter in chapters {
            for key in values.keys.sorted() {
                guard let existing = chapter.params[key] else { continue }
                for text in values[key]! {
                    guard let value = parseParamValue(text, like: existing) else {
                        throw UsageError("--set \(key)=\(text): '\(key)' is \(existing.typeName) in \(chapter.path) (default \(existing)); give a value of that type")
                    }
                    // An integer param with a positive default is a count (hidden units, epochs,
                    // steps): zero or less would crash the chapter instead of being refused here.
                    if case .int(let d) = existing, case .int(let v) = value {
                        if key == "seed" && v < 0 {
                            throw UsageError("--set seed=\(text): a seed is 0 or more")
                        }
                        if d > 0 && v < 1 {
                            throw UsageError("--set \(key)=\(text): '\(key)' is a count in \(chapter.path) (default \(d)); give a value of at least 1")
                        }
                    }
                }
            }
        }
        let profiles = Set((chapters + otherChapters).flatMap { $0.profiles.keys }).union(["default"])
        if !profiles.contains(settings.profile) && !someChapterUnparsed {
            throw UsageError("--profile \(settings.profile): no chapter defines it; profiles: \(profiles.sorted().joined(separator: ", "))")
        }
    }
}

/// `2026-05-01T10:22:31Z` as `2026-05-01 10:22 UTC`.
func shortDate(_ iso: String) -> String {
    guard iso.count >= 16, iso.dropFirst(10).first == "T" else { return iso }
    return iso.prefix(10) + " " + iso.dropFirst(11).prefix(5) + (iso.hasSuffix("Z") ? " UTC" : "")
}

/// A mistake in how rnnbook was called (exit status 2).
/// What an error says to a reader: a BookError's located message, a Foundation error's
/// sentence (not its `Error Domain=NSCocoaErrorDomain Code=…` dump), else its description.
public func describe(_ error: Error) -> String {
    if let e = error as? BookError { return e.description }
    if let e = error as? UsageError { return e.description }
    let ns = error as NSError
    if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain { return ns.localizedDescription }
    return "\(error)"
}

public struct UsageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The compile-ahead stage's plans and programs, each handed to the run stage once ready.
private final class PlannedBox: Sendable {
    private let items: Mutex<[(ChapterRunner.Plan, (CompileVerdict, String)?)?]>
    private let ready: [DispatchSemaphore]
    init(count: Int) {
        items = Mutex(Array(repeating: nil, count: count))
        ready = (0 ..< count).map { _ in DispatchSemaphore(value: 0) }
    }
    func set(_ k: Int, _ plan: ChapterRunner.Plan, _ program: (CompileVerdict, String)?) {
        items.withLock { $0[k] = (plan, program) }
        ready[k].signal()
    }
    /// Waits until chapter k is planned (and compiled, if it runs).
    func wait(_ k: Int) -> (ChapterRunner.Plan, (CompileVerdict, String)?) {
        ready[k].wait()
        return items.withLock { $0[k]! }
    }
}

private final class ResultBox: Sendable {
    private let items: Mutex<[ChapterResult?]>
    init(count: Int) { items = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ r: ChapterResult) { items.withLock { $0[i] = r } }
    func get(_ i: Int) -> ChapterResult? { items.withLock { $0[i] } }
}
