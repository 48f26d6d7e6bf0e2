import ArgumentParser
import BookKit
import Foundation

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove the output folder's pages, results and cache.")
    @Option(name: .shortAndLong, help: "The output folder.")
    var output: String = "output"

    @Flag(help: "Remove only the stored checkpoints (values chapter code kept with `checkpoint`).")
    var checkpoints = false

    func run() throws {
        // Only a folder `build` marked as its own is emptied: `clean -o .` in a book once deleted
        // chapters/, Sources/ and .git.
        let folder = OutputFolder(URL(fileURLWithPath: output))
        do {
            if checkpoints {
                let removed = try folder.cleanCheckpoints()
                print("removed \(removed) checkpoint\(removed == 1 ? "" : "s") from \(output)/.cache/checkpoints/")
                return
            }
            let cleaning = try folder.clean()
            // The student edition's cache lives outside the folder (see Edition.swift).
            try? FileManager.default.removeItem(at: folder.privateCacheDirectory)
            let n = cleaning.removed.count
            var line = "cleaned \(output)/: removed \(n) entr\(n == 1 ? "y" : "ies") rnnbook wrote"
            if !cleaning.kept.isEmpty {
                line += "; kept \(cleaning.kept.prefix(8).joined(separator: ", "))\(cleaning.kept.count > 8 ? ", …" : "") (not written by rnnbook)"
            }
            print(line)
        } catch let error as BookError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
