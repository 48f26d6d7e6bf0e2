import ArgumentParser
import BookKit
import BookServe

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the book, serve it on 127.0.0.1, and rebuild and reload a chapter's pages when its files change.",
        discussion: "Watches the chapters (and the figures and data files they read), rebuilds only the chapters that changed, one build at a time, and reloads every open page of those chapters. A failed build shows its findings at the top of the page, each linked to file:line, above the last version that passed. The pages written to the output folder are those of `rnnbook build`; the live-reload script is added only as they are served. Ctrl-C stops the server and every chapter program it started.")

    @OptionGroup var options: RunOptions

    @Option(help: "Port on 127.0.0.1 (0: any free port).")
    var port: Int = 8000

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        // serve writes the book's pages: a run with other params is an experiment, not the book.
        if !options.assignments.isEmpty || options.seed != nil {
            throw ValidationError("serve shows the book as written; --set and --seed make an experiment: rnnbook build --set …")
        }
    }

    func run() throws {
        try bookCommand { try ServeSession.serve(options.request(pages: true), port: UInt16(port), terminal: Terminal()) }
    }
}
