import ArgumentParser
import BookKit
import Foundation

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List chapters with their blocks, params and profiles.")
    @Argument(help: "Chapter files or folders (default: chapters/).")
    var paths: [String] = []

    func run() throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let builder = BookBuilder(settings: BuildSettings(bookRoot: cwd, outputDirectory: cwd.appendingPathComponent("output")))
        var failed = false
        for file in try builder.chapterFiles(paths) {
            do {
                let chapter = try ChapterParser().parse(contentsOf: file.url, displayPath: file.displayPath)
                let blocks = chapter.codeBlocks
                let runnable = blocks.filter { $0.index != nil }.count
                print("\(file.displayPath)  \(chapter.title)")
                print("  blocks: \(runnable) run, \(blocks.count - runnable) shown; equations: \(chapter.equations.count) (\(chapter.equations.compactMap(\.label).count) labelled)")
                if !chapter.params.isEmpty {
                    print("  params: " + chapter.params.keys.sorted().map { "\($0)=\(chapter.params[$0]!)" }.joined(separator: ", "))
                }
                if !chapter.exercises.isEmpty {
                    print("  exercises: " + chapter.exercises.map(\.id).joined(separator: ", "))
                }
                for name in chapter.profiles.keys.sorted() {
                    let o = chapter.profiles[name]!
                    print("  profile \(name): " + o.keys.sorted().map { "\($0)=\(o[$0]!)" }.joined(separator: ", "))
                }
            } catch {
                print("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
