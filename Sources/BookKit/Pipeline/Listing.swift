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
            if !chapter.params.isEmpty { print(paramTable(chapter)) }
            if !chapter.exercises.isEmpty {
                print("  exercises: " + chapter.exercises.map(\.id).joined(separator: ", "))
            }
            if chapter.params.isEmpty && !chapter.profiles.isEmpty {
                print("  profiles: " + chapter.profiles.keys.sorted().joined(separator: ", "))
            }
        }
        return status
    }
}

extension BookPipeline {
    /// The chapter's params, one per line: name, type, default, and each profile's value where
    /// it differs, so that users know what `--set` can vary and with what.
    static func paramTable(_ chapter: Chapter) -> String {
        let names = chapter.params.keys.sorted()
        let profiles = chapter.profiles.keys.sorted()
        var rows = [["param", "type", "default"] + profiles.map { "profile \($0)" }]
        for name in names {
            let value = chapter.params[name]!
            rows.append([name, value.typeName, value.description] + profiles.map { chapter.profiles[$0]?[name]?.description ?? "·" })
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        let lines = rows.map { row in
            "    " + row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return "  params (vary with --set NAME=VALUE, or a grid: --set NAME=A,B):\n" + lines.joined(separator: "\n")
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
