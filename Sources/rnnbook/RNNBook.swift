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
        discussion: "Exit status: 0 when every chapter and check passed; 1 when a chapter, a check or the build failed (each failure printed as file:line:column: message); 2 for a usage error (an unknown option, a bad value, a missing chapter path).",
        version: RNNBookVersion.current,
        subcommands: [Build.self, Check.self, Serve.self, Grade.self, List.self, Clean.self, Bench.self, TaskCommand.self],
        defaultSubcommand: Build.self)

    /// Like ArgumentParser's main, but usage errors exit with status 2 (the book's convention).
    static func main() {
        installInterruptHandler()
        do {
            try ProductKernelPath.validateEnvironment()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            Foundation.exit(2)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // Our own errors print as they are (`file:line:col: error: …`), not as "Error: error: …".
            if let error = error as? BookError {
                FileHandle.standardError.write(Data("\(error.description)\n".utf8))
                Foundation.exit(1)
            }
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
