import ArgumentParser
import BookKit
import Engine
import Foundation

/// The command line. Thin: every decision lives in BookKit or Engine.
@main
struct RNNBook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnnbook",
        abstract: "Build and verify the executable book on recurrent neural networks.",
        version: EngineInfo.version,
        subcommands: [Build.self, Check.self, List.self, Clean.self, Bench.self],
        defaultSubcommand: Build.self)

    /// Like ArgumentParser's main, but usage errors exit with status 2 (the book's convention).
    static func main() {
        installInterruptHandler()
        do {
            try ProductKernelPath.validateEnvironment()
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            Foundation.exit(2)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
