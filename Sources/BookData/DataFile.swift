import Foundation

/// A data file chapters may read, as the book knows it: its name (what a chapter's front matter
/// declares under `data:` and what the file is called in `$RNNBOOK_DATA` and in the cache), where
/// it comes from, and the SHA-1 every copy is checked against.
public struct DataFile: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let sourceURL: URL
    /// Hex SHA-1 of the expected bytes.
    public let sha1: String
    public let byteCount: Int
    /// The calls in chapter code that read the file (`BookRuntime`'s loaders), so that a chapter
    /// calling one without declaring the file is told so before it compiles.
    public let readers: [String]

    public var description: String { name }

    /// H. G. Wells' *The Time Machine* as the d2l chapters use it (Project Gutenberg text, d2l mirror).
    public static let timeMachine = DataFile(
        name: "timemachine.txt",
        sourceURL: URL(string: "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt")!,
        sha1: "090b5e7e70c295757f55df93cb0a180b9691891a", byteCount: 178_979,
        readers: ["TimeMachine.loadText", "CharacterCorpus.timeMachine"])

    /// Every data file a chapter may declare.
    public static let catalog: [DataFile] = [.timeMachine]

    /// The catalog's file called `name`, or nil.
    public static func named(_ name: String) -> DataFile? { catalog.first { $0.name == name } }
}

/// A data file that could not be found, fetched or verified; the message says where rnnbook
/// looked and how to fix it.
public struct DataFileError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
