import Foundation

/// How a build turns a chapter's text into a `Chapter`: `ChapterParser` unless a test counts
/// the parses through its own.
public struct ChapterParsing: Sendable {
    public var parse: @Sendable (_ source: String, _ file: ChapterFile) throws -> Chapter
    public init(parse: @escaping @Sendable (_ source: String, _ file: ChapterFile) throws -> Chapter) { self.parse = parse }

    /// Parses with `ChapterParser`, resolving figures against the chapter's folder.
    public static let standard = ChapterParsing { source, file in
        try ChapterParser().parse(source: source, path: file.displayPath, baseDirectory: file.url.deletingLastPathComponent())
    }
}

/// The book as one build reads it: the chapter files the build names, then the book's other
/// chapters (those of `chapters/` it does not name), each read and parsed exactly once. Every
/// stage works from these: cross-references take their labels, the run its chapters and their
/// text, the site the other chapters' pages.
public struct ParsedBook: Sendable {
    public struct Entry: Sendable {
        public var file: ChapterFile
        /// Whether this build runs the chapter; the others give their labels and their place on the site.
        public var selected: Bool
        /// The chapter's text; nil when it could not be read (too large, not UTF-8, gone).
        public var source: String?
        /// The parsed chapter, or why it could not be read or parsed, at its file:line:column.
        public var chapter: Result<Chapter, BookError>
    }

    public var entries: [Entry] = []
    public init() {}
    public init(entries: [Entry]) { self.entries = entries }

    /// Reads and parses `selected` (the chapters this build runs) and those of `others` not among
    /// them, once each, in that order.
    public static func load(selected: [ChapterFile], others: [ChapterFile], parser: ChapterParsing = .standard) -> ParsedBook {
        let chosen = Set(selected.map(\.displayPath))
        let rest = others.filter { !chosen.contains($0.displayPath) }
        return ParsedBook(entries: selected.map { read($0, selected: true, parser: parser) }
                    + rest.map { read($0, selected: false, parser: parser) })
    }

    static func read(_ file: ChapterFile, selected: Bool, parser: ChapterParsing) -> Entry {
        let source: String
        do { source = try readBoundedText(file.url, displayPath: file.displayPath, what: "chapter") } catch {
            return Entry(file: file, selected: selected, source: nil, chapter: .failure(located(error, in: file)))
        }
        do { return Entry(file: file, selected: selected, source: source, chapter: .success(try parser.parse(source, file))) } catch {
            return Entry(file: file, selected: selected, source: source, chapter: .failure(located(error, in: file)))
        }
    }

    static func located(_ error: Error, in file: ChapterFile) -> BookError {
        (error as? BookError) ?? BookError("cannot read: \(error.localizedDescription)", at: SourceLocation(file: file.displayPath, line: 1))
    }

    /// The chapters this build runs, parsed or not.
    public var selected: [Entry] { entries.filter(\.selected) }
    /// The book's other chapters.
    public var others: [Entry] { entries.filter { !$0.selected } }
    /// Whether some chapter (selected or not) failed to parse or resolve its references.
    public var hasUnparsedChapter: Bool { entries.contains { if case .failure = $0.chapter { true } else { false } } }

    /// What resolving references needs: each chapter's labels, and the chapter files whose labels
    /// are unknown and why. A chapter of this build that did not parse is unknown (its own error
    /// is reported); another chapter that did not parse still gives the labels a scan of its text
    /// finds (`ChapterLabels(scanning:)`), so that one broken chapter does not fail the build of
    /// the chapters that refer to it; its own build reports it.
    public func labels() -> (book: [ChapterLabels], unknown: [(path: String, why: String)]) {
        var book: [ChapterLabels] = []
        var unknown: [(path: String, why: String)] = []
        for entry in entries {
            let path = entry.file.displayPath
            switch entry.chapter {
            case .success(let chapter):
                book.append(ChapterLabels(chapter))
            case .failure(let error):
                if entry.selected {
                    unknown.append((path, "did not parse"))
                } else if let source = entry.source {
                    if let scanned = try? ChapterLabels(scanning: source, path: path) { book.append(scanned) } else { unknown.append((path, "did not parse")) }
                } else {
                    unknown.append((path, "could not be read (\(error.message))"))
                }
            }
        }
        return (book, unknown)
    }

    /// The book with each chapter of this build whose `@eq-`/`@sec-`/`@fig-` references do not
    /// resolve (in the whole book) failed with the first such reference.
    public func resolvingCrossReferences() -> ParsedBook {
        let (book, unknown) = labels()
        var out = self
        for i in out.entries.indices where out.entries[i].selected {
            guard case .success(let chapter) = out.entries[i].chapter else { continue }
            do { try CrossReferences.check(chapter, labels: book, unknown: unknown) } catch {
                out.entries[i].chapter = .failure((error as? BookError) ?? BookError(describe(error)))
            }
        }
        return out
    }
}
