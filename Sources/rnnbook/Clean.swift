import ArgumentParser
import BookKit
import Foundation

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove the output folder's pages, results and cache.")
    @Option(name: .shortAndLong, help: "The output folder.")
    var output: String = "output"

    @Flag(help: "Remove only the stored checkpoints (values chapter code kept with `checkpoint`).")
    var checkpoints = false

    /// A `BookError` (a folder rnnbook did not mark as its own) is printed on stderr with status 1 by `RNNBook.main`.
    func run() throws {
        print(try OutputFolder(URL(fileURLWithPath: output)).cleanReport(checkpoints: checkpoints, name: output))
    }
}
