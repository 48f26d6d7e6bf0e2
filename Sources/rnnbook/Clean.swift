import ArgumentParser
import Foundation

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove the output folder's pages, results and cache.")
    @Option(name: .shortAndLong, help: "The output folder.")
    var output: String = "output"

    func run() throws {
        let fm = FileManager.default
        let dir = URL(fileURLWithPath: output)
        guard let names = try? fm.contentsOfDirectory(atPath: dir.path) else { return }
        // Keep the committed README and .gitignore of output/.
        for name in names where name != "README.md" && name != ".gitignore" {
            try fm.removeItem(at: dir.appendingPathComponent(name))
        }
        print("cleaned \(output)/")
    }
}
