import ArgumentParser
import BookKit
import BookServe
import Foundation

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the book, serve it on 127.0.0.1, and rebuild and reload a chapter's pages when its files change.",
        discussion: "Watches the chapters (and the figures and data files they read), rebuilds only the chapters that changed, one build at a time, and reloads every open page of those chapters. A failed build shows its findings at the top of the page, each linked to file:line, above the last version that passed. The pages written to the output folder are those of `rnnbook build`; the live-reload script is added only as they are served. Ctrl-C stops the server and every chapter program it started.")

    @OptionGroup var options: RunOptions

    @Option(help: "Port on 127.0.0.1 (0: any free port).")
    var port: Int = 8000

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
    }

    func run() throws {
        let terminal = Terminal()
        let settings = options.settings()
        let builder = BookBuilder(settings: settings)
        // Usage errors first, before the port is taken or anything is written.
        _ = try chapterFiles(options, builder: builder, terminal: terminal)

        let state = LiveState()
        let hub = EventHub()
        let server = LiveServer(port: UInt16(port), handler: BookHandler(output: settings.outputDirectory, state: state, hub: hub),
                                report: { terminal.line($0) })
        let actual = try server.startBlocking()
        terminal.line("serving http://127.0.0.1:\(actual)/ (Ctrl-C stops); building the book…")

        let runner = try? ChapterRunner(settings: settings)
        let hooks = ServeSession.Hooks(
            chapterFiles: { [options] in
                // The first build uses the files checked above; later ones find the chapters again.
                let files = try builder.chapterFiles(options.paths)
                if files.isEmpty { throw BookError("no chapters left in \(options.paths.isEmpty ? "chapters/" : options.paths.joined(separator: " "))") }
                return files
            },
            build: { [options] files, others, site in
                var b = builder
                b.otherChapters = others
                return try buildChapters(files, with: b, jobs: options.jobs, wait: !options.noWait, pages: true,
                                         terminal: terminal, site: site)
            },
            fullSite: builder.siteChapters,
            inputFiles: { runner?.inputFiles(of: $0) ?? [] })
        let session = ServeSession(hooks: hooks, state: state, hub: hub, terminal: terminal,
                                   folders: watchedFolders())
        let baseline = session.buildAll()
        terminal.line("watching \(session.watchedFiles.count) files; open http://127.0.0.1:\(actual)/")
        // Runs until Ctrl-C or SIGTERM: the interrupt handler stops every chapter program and exits.
        session.watch(from: baseline)
    }

    /// The folders named on the command line (or `chapters/`), listed on every poll for chapters
    /// added or removed; single chapter files are watched as files.
    func watchedFolders() -> [URL] {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let paths = options.paths.isEmpty ? ["chapters"] : options.paths
        return paths.compactMap { p in
            let url = URL(fileURLWithPath: p, relativeTo: cwd).standardizedFileURL
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue ? url : nil
        }
    }
}
