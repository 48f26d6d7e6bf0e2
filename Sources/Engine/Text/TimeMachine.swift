import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Crypto

/// A data file that could not be found, fetched or verified; the message says where rnnbook
/// looked and how to fix it.
public struct DataFileError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// H. G. Wells' *The Time Machine* as the d2l chapters use it (Project Gutenberg text, d2l mirror).
public enum TimeMachine {
    /// The file name in `$RNNBOOK_DATA` and in the cache directory.
    public static let fileName = "timemachine.txt"
    /// Where the reference chapters download it from.
    public static let sourceURL = URL(string: "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt")!
    /// SHA-1 of the expected bytes; every path (environment, cache, download) is checked against it.
    public static let sha1 = "090b5e7e70c295757f55df93cb0a180b9691891a"

    /// Hex SHA-1 of `data`.
    public static func sha1Hex(of data: Data) -> String {
        Insecure.SHA1.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The per-user cache directory: `$XDG_CACHE_HOME/rnnbook`, else `~/.cache/rnnbook`.
    public static func defaultCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("rnnbook")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache").appendingPathComponent("rnnbook")
    }

    /// Fetches `url` over the network (synchronously; used once per cache).
    public static func download(_ url: URL) throws -> Data {
        try Data(contentsOf: url)
    }

    /// The raw text: from `$RNNBOOK_DATA/timemachine.txt`, else the cache directory, else
    /// downloaded into the cache. Throws `DataFileError` naming every place it looked.
    public static func loadText(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cacheDirectory: URL? = nil,
        download: (URL) throws -> Data = TimeMachine.download
    ) throws -> String {
        let data = try loadData(environment: environment, cacheDirectory: cacheDirectory, download: download)
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataFileError("\(fileName): verified bytes are not UTF-8 text")
        }
        return text
    }

    /// The verified bytes of the file; see `loadText`.
    public static func loadData(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        cacheDirectory: URL? = nil,
        download: (URL) throws -> Data = TimeMachine.download
    ) throws -> Data {
        let fm = FileManager.default
        var looked: [String] = []
        let fix = "Fix: set RNNBOOK_DATA to a folder holding \(fileName) (SHA-1 \(sha1)), or delete the bad file and let rnnbook download it from \(sourceURL.absoluteString)."
        if let folder = environment["RNNBOOK_DATA"], !folder.isEmpty {
            let path = URL(fileURLWithPath: folder).appendingPathComponent(fileName).path
            if fm.fileExists(atPath: path) {
                let data = try readFile(path)
                try verify(data, from: path, fix: fix)
                return data
            }
            looked.append("\(path) (RNNBOOK_DATA): no such file")
        } else {
            looked.append("RNNBOOK_DATA: not set")
        }
        let cache = cacheDirectory ?? defaultCacheDirectory(environment: environment)
        let cached = cache.appendingPathComponent(fileName).path
        if fm.fileExists(atPath: cached) {
            let data = try readFile(cached)
            try verify(data, from: cached, fix: fix)
            return data
        }
        looked.append("\(cached) (cache): no such file")
        let data: Data
        do { data = try download(sourceURL) } catch {
            looked.append("\(sourceURL.absoluteString) (download): \(error)")
            throw DataFileError("cannot find \(fileName). Looked at:\n  " + looked.joined(separator: "\n  ") + "\n" + fix)
        }
        try verify(data, from: sourceURL.absoluteString, fix: fix)
        do {
            try fm.createDirectory(at: cache, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: cached), options: .atomic)
        } catch {
            throw DataFileError("\(cached): downloaded \(fileName) but cannot write it to the cache: \(error). Fix: make \(cache.path) writable or set RNNBOOK_DATA.")
        }
        return data
    }

    private static func readFile(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DataFileError("\(path): cannot read \(fileName): \(error)")
        }
    }

    private static func verify(_ data: Data, from place: String, fix: String) throws {
        let found = sha1Hex(of: data)
        if found != sha1 {
            throw DataFileError("\(place): expected \(fileName) with SHA-1 \(sha1) (\(178_979) bytes), found SHA-1 \(found) (\(data.count) bytes). \(fix)")
        }
    }
}
