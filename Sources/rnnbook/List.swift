import ArgumentParser
import BookKit
import Foundation

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List chapters with their blocks, params and profiles.")
    @Argument(help: "Chapter files or folders (default: chapters/).")
    var paths: [String] = []

    func run() throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        // A missing path stays what it always was here: an error with status 1, not a usage error.
        if try BookPipeline.list(paths: paths, bookRoot: cwd) == .failed { throw ExitCode(1) }
    }
}
