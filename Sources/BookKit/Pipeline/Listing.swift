import Foundation

extension BookPipeline {
    /// `rnnbook list`: each chapter `paths` name (default `chapters/`) with its blocks,
    /// equations, params, exercises and profiles, on stdout; a chapter that does not parse
    /// prints its error there instead, and the listing fails. Each chapter is parsed once.
    public static func list(paths: [String], bookRoot: URL, parser: ChapterParsing = .standard) throws -> BookStatus {
        let builder = BookBuilder(settings: BuildSettings(bookRoot: bookRoot, outputDirectory: bookRoot.appendingPathComponent("output")))
        let book = ParsedBook.load(selected: try builder.chapterFiles(paths), others: [], parser: parser)
        var status = BookStatus.passed
        for entry in book.entries {
            let chapter: Chapter
            switch entry.chapter {
            case .success(let c): chapter = c
            case .failure(let error):
                print("\(error)")
                status = .failed
                continue
            }
            let blocks = chapter.codeBlocks
            let runnable = blocks.filter { $0.index != nil }.count
            print("\(entry.file.displayPath)  \(chapter.title)")
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
        }
        return status
    }
}

extension OutputFolder {
    /// `rnnbook clean`: empties the folder of what rnnbook wrote (only a folder a build marked
    /// as its own: `clean -o .` in a book once deleted chapters/, Sources/ and .git), or with
    /// `checkpoints` only the stored checkpoints. Returns the line to print, naming the folder as
    /// `name` (as given on the command line).
    public func cleanReport(checkpoints: Bool, name: String) throws -> String {
        if checkpoints {
            let removed = try cleanCheckpoints()
            return "removed \(removed) checkpoint\(removed == 1 ? "" : "s") from \(name)/.cache/checkpoints/"
        }
        let cleaning = try clean()
        // The student edition's cache lives outside the folder (see Edition.swift).
        try? FileManager.default.removeItem(at: privateCacheDirectory)
        let n = cleaning.removed.count
        var line = "cleaned \(name)/: removed \(n) entr\(n == 1 ? "y" : "ies") rnnbook wrote"
        if !cleaning.kept.isEmpty {
            line += "; kept \(cleaning.kept.prefix(8).joined(separator: ", "))\(cleaning.kept.count > 8 ? ", …" : "") (not written by rnnbook)"
        }
        return line
    }
}
