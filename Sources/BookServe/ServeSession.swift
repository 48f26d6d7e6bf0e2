import BookKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The build loop of `serve`: builds the book once, then watches the chapters (and the figures
/// and data files they read), rebuilds only the chapters whose inputs changed, one build at a
/// time, and tells the open pages of those chapters (and the index) to reload.
///
/// Builds run on the calling thread, never on Swift's concurrency threads (the server's): a
/// build blocks for as long as its chapters run. Edits made during a build are seen by the next
/// poll, which compares against the stamps taken before that build, so they queue exactly one
/// more build.
public final class ServeSession {
    public typealias Site = BookPipeline.Site

    /// How the session reaches the build machinery: `init(pipeline:…)` wires these to a
    /// `BookPipeline`; tests give a fake build.
    struct Hooks {
        /// The chapter files the command names, found again before every build (a new chapter).
        var chapterFiles: () throws -> [ChapterFile]
        /// Builds `files` (the book's other chapters given for `--set`/`--profile`), writing the
        /// JSON and the pages of the site `site` makes of the outcome.
        var build: (_ files: [ChapterFile], _ others: [Chapter], _ site: (BookBuilder.Outcome) -> Site) throws -> BookBuilder.Outcome
        /// The whole book's site after a build: the chapters built, and the others with their last results.
        var fullSite: (BookBuilder.Outcome) -> Site
        /// Figures and data files a chapter reads besides its Markdown.
        var inputFiles: (Chapter) -> [URL]

        init(chapterFiles: @escaping () throws -> [ChapterFile],
             build: @escaping ([ChapterFile], [Chapter], (BookBuilder.Outcome) -> Site) throws -> BookBuilder.Outcome,
             fullSite: @escaping (BookBuilder.Outcome) -> Site, inputFiles: @escaping (Chapter) -> [URL]) {
            self.chapterFiles = chapterFiles; self.build = build; self.fullSite = fullSite; self.inputFiles = inputFiles
        }

        /// Each build is one `pipeline.build` (the output folder's lock, one parse of the book,
        /// the run, the JSON and the site); the chapter files are found again before each.
        init(pipeline: BookPipeline, terminal: Terminal) {
            let runner = try? ChapterRunner(settings: pipeline.request.settings)
            let paths = pipeline.request.paths
            self.init(
                chapterFiles: {
                    // The first build's files were checked by `serve`; later ones find the chapters again.
                    let files = try pipeline.builder.chapterFiles(paths)
                    if files.isEmpty { throw BookError("no chapters left in \(paths.isEmpty ? "chapters/" : paths.joined(separator: " "))") }
                    return files
                },
                build: { files, others, site in
                    var p = pipeline
                    p.builder.otherChapters = others
                    // `build` calls `site` before it returns and keeps it no longer.
                    return try withoutActuallyEscaping(site) { try p.build(files, terminal: terminal, site: $0) }
                },
                fullSite: pipeline.builder.siteChapters,
                inputFiles: { runner?.inputFiles(of: $0) ?? [] })
        }
    }

    let hooks: Hooks
    public let state: LiveState
    let hub: EventHub
    let terminal: Terminal
    /// Folders listed on every poll for chapters added or removed.
    let folders: [URL]
    private(set) var files: [ChapterFile] = []
    /// The site as last written, by slug.
    private var site: [String: (chapter: Chapter, result: ChapterResult?)] = [:]
    /// Absolute paths each chapter (by path relative to the book root) reads: its Markdown, figures, data.
    private(set) var inputs: [String: Set<String>] = [:]

    init(hooks: Hooks, state: LiveState, hub: EventHub, terminal: Terminal, folders: [URL]) {
        self.hooks = hooks; self.state = state; self.hub = hub; self.terminal = terminal; self.folders = folders
    }

    /// A session that builds through `pipeline` (its request writes pages).
    public convenience init(pipeline: BookPipeline, state: LiveState, hub: EventHub, terminal: Terminal, folders: [URL]) {
        self.init(hooks: Hooks(pipeline: pipeline, terminal: terminal), state: state, hub: hub, terminal: terminal, folders: folders)
    }

    /// `rnnbook serve`: checks the chapters the request names (usage errors first, before the
    /// port is taken or anything is written), serves the output folder on 127.0.0.1:`port`,
    /// builds the book, then watches and rebuilds until Ctrl-C or SIGTERM (the interrupt handler
    /// stops every chapter program and exits). Returns only when it cannot start: `.failed`
    /// after printing a book mistake; a `UsageError` is thrown.
    public static func serve(_ request: BookRequest, port: UInt16, terminal: Terminal) throws -> BookStatus {
        var request = request
        request.pages = true
        let pipeline = BookPipeline(request)
        do { _ = try pipeline.chapterFiles() } catch let error as BookError {
            terminal.line(error.description)
            return .failed
        }
        let state = LiveState()
        let hub = EventHub()
        let server = LiveServer(port: port, handler: BookHandler(output: request.settings.outputDirectory, state: state, hub: hub),
                                report: { terminal.line($0) })
        let actual = try server.startBlocking()
        terminal.line("serving http://127.0.0.1:\(actual)/ (Ctrl-C stops); building the book…")
        let session = ServeSession(pipeline: pipeline, state: state, hub: hub, terminal: terminal,
                                   folders: watchedFolders(request.paths))
        let baseline = session.buildAll()
        terminal.line("watching \(session.watchedFiles.count) files; open http://127.0.0.1:\(actual)/")
        session.watch(from: baseline)
        return .passed
    }

    /// The folders named in `paths` (or `chapters/`), listed on every poll for chapters added or
    /// removed; single chapter files are watched as files.
    static func watchedFolders(_ paths: [String]) -> [URL] {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return (paths.isEmpty ? ["chapters"] : paths).compactMap { p in
            let url = URL(fileURLWithPath: p, relativeTo: cwd).standardizedFileURL
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue ? url : nil
        }
    }

    /// Every file the session watches besides the folders' listings.
    public var watchedFiles: Set<String> { inputs.values.reduce(into: Set<String>()) { $0.formUnion($1) } }

    /// The chapters to rebuild after `changed` (absolute paths): those whose Markdown, figures or
    /// data changed, and chapters that were not there before.
    public static func affected(by changed: Set<String>, files: [ChapterFile], inputs: [String: Set<String>],
                                previous: Set<String>) -> [ChapterFile] {
        files.filter { file in
            changed.contains(file.url.path) || !previous.contains(file.displayPath)
                || !(inputs[file.displayPath] ?? []).isDisjoint(with: changed)
        }
    }

    /// A watcher of the chapter folders and the files the session knows to watch.
    func watcher() -> FileWatcher {
        let include: @Sendable (String) -> Bool = { $0.hasSuffix(".md") && $0 != "README.md" }
        return FileWatcher(folders: folders.map { ($0, include) }, files: watchedFiles)
    }

    /// The first build: every chapter the command names. Returns the stamps of the chapter
    /// files taken before it, so that `watch(from:)` sees edits made during it.
    public func buildAll() -> [String: FileStamp] {
        do { files = try hooks.chapterFiles() } catch {
            terminal.line(describe(error))
            state.finishedBuild(problems: [describe(error)])
            return watcher().scan()
        }
        for f in files { inputs[f.displayPath] = [f.url.path] }
        let baseline = watcher().scan()
        state.setChapters(files.map { ($0.displayPath, $0.url, Self.slug(of: $0)) })
        build(files, first: true)
        return baseline
    }

    /// Rebuilds what `changed` (absolute paths) concerns; removes chapters whose file went away.
    public func rebuild(changed: Set<String>) {
        let now: [ChapterFile]
        do { now = try hooks.chapterFiles() } catch {
            terminal.line(describe(error))
            state.finishedBuild(problems: [describe(error)])
            broadcast("reload", pages: ["index"], paths: [])
            return
        }
        let previous = Set(files.map(\.displayPath))
        let targets = Self.affected(by: changed, files: now, inputs: inputs, previous: previous)
        let removed = files.filter { f in !now.contains { $0.displayPath == f.displayPath } }
        files = now
        state.setChapters(files.map { ($0.displayPath, $0.url, Self.slug(of: $0)) })
        for f in removed {
            site[Self.slug(of: f)] = nil
            inputs[f.displayPath] = nil
            terminal.line("removed: \(f.displayPath)")
        }
        // A removed chapter leaves the contents: the site is written again even with nothing to build.
        if targets.isEmpty && removed.isEmpty { return }
        build(targets, first: false, alsoReload: removed.map(Self.slug))
    }

    private func build(_ targets: [ChapterFile], first: Bool, alsoReload: [String] = []) {
        let slugs = targets.map(Self.slug)
        if !targets.isEmpty { broadcast("building", pages: slugs + ["index"], paths: targets.map(\.displayPath)) }
        let others = site.values.filter { !slugs.contains($0.chapter.slug) }.map(\.chapter)
        do {
            let outcome = try hooks.build(targets, others) { outcome in
                if first {
                    self.site = [:]
                    for item in self.hooks.fullSite(outcome) { self.site[item.chapter.slug] = item }
                } else {
                    // A chapter that did not parse keeps its last page (and its place in the contents).
                    for item in outcome.chapters { self.site[item.chapter.slug] = item }
                }
                return self.site.keys.sorted().map { self.site[$0]! }
            }
            record(outcome, targets: targets)
        } catch {
            // The build did not run (the output folder, the toolchain, a `--set` no chapter has).
            let problem = describe(error)
            terminal.line(problem)
            for t in targets { state.finished(Self.slug(of: t), findings: [ShownFinding(location: nil, message: problem)], passed: nil) }
            state.finishedBuild(problems: [])
        }
        broadcast("reload", pages: slugs + alsoReload + ["index"], paths: targets.map(\.displayPath))
    }

    /// Findings per chapter, and what belongs to no chapter (a page that could not be written).
    private func record(_ outcome: BookBuilder.Outcome, targets: [ChapterFile]) {
        var attributed = Set<String>()
        for t in targets {
            let slug = Self.slug(of: t)
            var watched: Set<String> = [t.url.path]
            if let error = outcome.parseErrors[t.displayPath] {
                attributed.insert(error.description)
                state.finished(slug, findings: [ShownFinding(error)], passed: nil)
                // Still watch what the last parsed version read.
                watched.formUnion(inputs[t.displayPath] ?? [])
            } else if let item = outcome.chapters.first(where: { $0.chapter.path == t.displayPath }) {
                let failures = item.result?.failures ?? []
                attributed.formUnion(failures.map(\.description))
                state.finished(slug, findings: failures.map(ShownFinding.init), passed: item.result.map { $0.status == .passed })
                watched.formUnion(hooks.inputFiles(item.chapter).map(\.path))
            }
            inputs[t.displayPath] = watched
        }
        let general = outcome.failures.filter { !attributed.contains($0) }
        state.finishedBuild(problems: general)
        if outcome.failures.isEmpty {
            terminal.line(targets.isEmpty ? "contents written again"
                          : "built \(targets.count) chapter\(targets.count == 1 ? "" : "s"); open pages of \(targets.count == 1 ? "it" : "them") reload")
        } else {
            terminal.line("Failures (\(outcome.failures.count)); shown on the pages:")
            for f in outcome.failures { terminal.line(f) }
        }
    }

    private func broadcast(_ name: String, pages: [String], paths: [String]) {
        hub.broadcast(ServerSentEvent(name: name, data: BookHandler.json(["pages": pages, "paths": paths])))
    }

    /// `path` relative to the current folder (the book root) when it is inside it.
    static func shortPath(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
    }

    static func slug(of file: ChapterFile) -> String { file.url.deletingPathExtension().lastPathComponent }

    /// Polls the watched files every `poll` seconds (sleeping in between), starting from the
    /// stamps `baseline`, and rebuilds when they have been quiet for `quiet` seconds. Returns
    /// only when `keepGoing` says stop (tests); `serve` runs it until Ctrl-C.
    public func watch(from baseline: [String: FileStamp], poll: Double = 0.1, quiet: Double = 0.1, maxWait: Double = 2,
                      keepGoing: () -> Bool = { true }) {
        var watcher = watcher()
        watcher.files = Set(baseline.keys)
        var last = baseline
        var debouncer = Debouncer(quiet: quiet, maxWait: maxWait)
        while keepGoing() {
            usleep(useconds_t(poll * 1_000_000))
            let before = watcher.files
            watcher.files = watchedFiles
            let now = watcher.scan()
            // A file watched for the first time (a figure just referenced) is a baseline, not a change.
            let changed = FileWatcher.changes(from: last, to: now).subtracting(watcher.files.subtracting(before))
            last = now
            let time = ProcessInfo.processInfo.systemUptime
            debouncer.record(changed, at: time)
            if let due = debouncer.due(at: time) {
                let names = due.sorted().map { path in files.first { $0.url.path == path }?.displayPath ?? Self.shortPath(path) }
                terminal.line("changed: \(names.joined(separator: ", "))")
                rebuild(changed: due)
            }
        }
    }
}
