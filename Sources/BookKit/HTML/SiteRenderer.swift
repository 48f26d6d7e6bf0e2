import Foundation

/// Writes the static site: index, one page per chapter, assets. (Stub: the pages room fills it.)
public struct SiteRenderer: Sendable {
    public var bookTitle: String
    public init(bookTitle: String = "Recurrent Neural Networks, executed") { self.bookTitle = bookTitle }

    /// Renders every chapter (with its latest result, if any) into `outputDirectory`.
    public func render(chapters: [(chapter: Chapter, result: ChapterResult?)], to outputDirectory: URL) throws {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
    }
}
