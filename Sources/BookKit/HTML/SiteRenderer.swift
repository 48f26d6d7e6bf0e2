import Foundation

/// Writes the static site: index, one page per chapter, assets. Works from `file://` offline.
public struct SiteRenderer: Sendable {
    public var bookTitle: String
    /// The directory chapter paths are relative to (figures are read from there).
    public var bookRoot: URL
    public var assetSources: AssetSources
    /// Which edition to write (the student edition leaves exercise solutions out).
    public var edition: Edition = .instructor
    /// Also write the whole book as one page for print (`book-print.html`, see `PrintBook`).
    public var printBook = false

    public init(bookTitle: String = "Recurrent Neural Networks, executed",
                bookRoot: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                assetSources: AssetSources = .debian) {
        self.bookTitle = bookTitle; self.bookRoot = bookRoot; self.assetSources = assetSources
    }

    /// Renders every chapter (with its latest result, if any) into `outputDirectory`.
    /// A failed build must not destroy the last good page: before a failed page replaces a page
    /// whose result passed (the JSON on disk is only ever replaced by a passing result), the good
    /// page is kept as `<slug>.last-good.html`; a passing build removes it. Returns its file name
    /// when one is kept.
    func keepLastGoodPage(of slug: String, result: ChapterResult?, in outputDirectory: URL) throws -> String? {
        let fm = FileManager.default
        let name = "\(slug).last-good.html"
        let kept = outputDirectory.appendingPathComponent(name)
        guard let result, result.status == .failed else {
            try? fm.removeItem(at: kept)
            return nil
        }
        if fm.fileExists(atPath: kept.path) { return name }
        let page = outputDirectory.appendingPathComponent("\(slug).html")
        guard fm.fileExists(atPath: page.path),
              let data = try? Data(contentsOf: outputDirectory.appendingPathComponent("\(slug).json")),
              let previous = try? resultDecoder().decode(ChapterResult.self, from: data),
              previous.status == .passed else { return nil }
        try fm.copyItem(at: page, to: kept)
        return name
    }

    public func render(chapters: [(chapter: Chapter, result: ChapterResult?)], to outputDirectory: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        try AssetCopier.install(from: assetSources, into: outputDirectory.appendingPathComponent("assets"))

        let outline = BookOutline(
            title: bookTitle,
            chapters: chapters.map { item in
                let status = item.result.map { $0.status.rawValue } ?? "notrun"
                return (item.chapter.slug, item.chapter.title, status)
            },
            targets: CrossReferenceTargets(chapters.map(\.chapter)))

        // One chapter's problem (a missing figure, a file that cannot be written) must not stop the
        // other pages or the index: collect every problem, write everything else, then fail.
        var problems: [String] = []
        var search = SearchIndex()
        var printed: [PrintBook.Part] = []
        let slugs = Set(chapters.map(\.chapter.slug))
        for (position, item) in chapters.enumerated() {
            do {
                let result = edition.view(of: item.result, chapter: item.chapter)
                var page = ChapterPage(chapter: item.chapter, result: result, outline: outline, position: position)
                page.edition = edition
                page.lastGoodPage = try keepLastGoodPage(of: item.chapter.slug, result: item.result, in: outputDirectory)
                let html = page.render()
                search.add(sections: page.searchSections, slug: item.chapter.slug, title: item.chapter.title)
                if printBook {
                    var print = ChapterPage(chapter: item.chapter, result: result, outline: outline, position: position,
                                            links: .print(slug: item.chapter.slug, slugs: slugs))
                    print.edition = edition
                    print.lastGoodPage = page.lastGoodPage
                    printed.append(PrintBook.Part(chapter: item.chapter, body: print.renderBody(), sections: print.printSections))
                }
                try AssetCopier.write(html, to: outputDirectory.appendingPathComponent("\(item.chapter.slug).html"))
                problems += copyImages(page.imageSources, of: item.chapter, into: outputDirectory)
            } catch {
                problems.append("\(item.chapter.path): page not written: \(describe(error))")
            }
        }
        do { try AssetCopier.write(search.javascript, to: outputDirectory.appendingPathComponent("search-index.js")) }
        catch { problems.append("search-index.js not written: \(describe(error))") }
        do {
            try AssetCopier.write(IndexPage.render(title: bookTitle, chapters: chapters),
                                  to: outputDirectory.appendingPathComponent("index.html"))
        } catch {
            problems.append("index.html not written: \(describe(error))")
        }
        if printBook {
            do {
                try AssetCopier.write(PrintBook(title: bookTitle, edition: edition).html(parts: printed),
                                      to: outputDirectory.appendingPathComponent(PrintBook.fileName))
            } catch {
                problems.append("\(PrintBook.fileName) not written: \(describe(error))")
            }
        }
        if !problems.isEmpty { throw SiteError(problems: problems) }
    }

    /// Copies images a chapter references (relative to its Markdown file) to the same relative path
    /// under the output, so the page's `src` resolves unchanged.
    /// Returns one message per image that could not be copied; the others are copied.
    func copyImages(_ sources: [String], of chapter: Chapter, into output: URL) -> [String] {
        let chapterDir = bookRoot.appendingPathComponent(chapter.path).deletingLastPathComponent()
        var problems: [String] = []
        for src in Set(sources).sorted() {
            let path = src.removingPercentEncoding ?? src
            guard !path.split(separator: "/").contains("..") else {
                problems.append("\(chapter.path): figure path \(src) leaves the chapters folder; put figures in chapters/figures/")
                continue
            }
            let from = chapterDir.appendingPathComponent(path)
            guard FileManager.default.isReadableFile(atPath: from.path) else {
                problems.append("\(chapter.path): figure not found: expected a file at \(from.path) (referenced as \(src))")
                continue
            }
            let to = output.appendingPathComponent(path)
            do {
                try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                try AssetCopier.copy(from, to: to)
            } catch {
                problems.append("\(chapter.path): figure \(src) not copied: \(error.localizedDescription)")
            }
        }
        return problems
    }
}

/// Pages that could not be written completely; every other page and the index were written.
public struct SiteError: Error, CustomStringConvertible, Sendable {
    public var problems: [String]
    public var description: String {
        "the site is incomplete (\(problems.count) problem\(problems.count == 1 ? "" : "s"); every other page and index.html were written):\n"
            + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
