import BookProtocol
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the book's data files are found, checked and cached: `$RNNBOOK_DATA/<name>` when that
/// file exists, else the per-user cache, else downloaded into the cache. Every copy, wherever it
/// comes from, must have the catalog's SHA-1.
///
/// The runner calls this before a chapter's program runs and hands the program the folder of the
/// verified files (as `RNNBOOK_DATA`); chapter programs only read them, and compiling one needs
/// no hashing or networking module.
public struct DataStore: Sendable {
    /// The environment variable naming a folder of data files.
    public static let environmentVariable = BookEnvironment.data
    /// `$RNNBOOK_DATA`, when set and not empty.
    public var folder: URL?
    public var cacheDirectory: URL
    /// Fetches a file's bytes from its source URL (replaced in tests).
    public var download: @Sendable (URL) throws -> Data

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, cacheDirectory: URL? = nil,
                download: @escaping @Sendable (URL) throws -> Data = DataStore.fetch) {
        folder = environment[Self.environmentVariable].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
        self.cacheDirectory = cacheDirectory ?? Self.defaultCacheDirectory(environment: environment)
        self.download = download
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

    /// Fetches `url` over the network (synchronously; once per cache).
    public static func fetch(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    /// Where `file` is read from, unverified: `$RNNBOOK_DATA`'s copy when it exists, else the
    /// cache's (which may not exist yet). For cache keys and for watching.
    public func location(of file: DataFile) -> URL {
        if let folder {
            let url = folder.appendingPathComponent(file.name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        return cacheDirectory.appendingPathComponent(file.name)
    }

    /// The verified bytes of `file`; see `verifiedURL(of:)`.
    public func data(of file: DataFile) throws -> Data { try verifiedCopy(of: file).data }

    /// The verified text of `file` (UTF-8).
    public func text(of file: DataFile) throws -> String {
        let data = try data(of: file)
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataFileError("\(file.name): verified bytes are not UTF-8 text")
        }
        return text
    }

    /// The path of a verified copy of `file`: `$RNNBOOK_DATA`'s, else the cache's, else one
    /// downloaded into the cache. Throws `DataFileError` naming every place it looked.
    public func verifiedURL(of file: DataFile) throws -> URL { try verifiedCopy(of: file).url }

    /// The one folder holding verified copies of all `files`, to hand a program as
    /// `RNNBOOK_DATA`: the folder they were found in when that is one folder, else `scratch`,
    /// into which they are copied. nil for no files.
    public func handoverFolder(for files: [DataFile], scratch: URL) throws -> URL? {
        let urls = try files.map { try verifiedURL(of: $0) }
        let folders = Set(urls.map { $0.deletingLastPathComponent().standardizedFileURL.path })
        guard folders.count > 1 else { return folders.first.map { URL(fileURLWithPath: $0) } }
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
            for url in urls {
                let target = scratch.appendingPathComponent(url.lastPathComponent)
                try? fm.removeItem(at: target)
                try fm.copyItem(at: url, to: target)
            }
        } catch {
            throw DataFileError("\(scratch.path): cannot gather the data files \(files.map(\.name).joined(separator: ", ")) into one folder: \(error)")
        }
        return scratch
    }

    private func verifiedCopy(of file: DataFile) throws -> (url: URL, data: Data) {
        let fm = FileManager.default
        var looked: [String] = []
        let fix = "Fix: set \(Self.environmentVariable) to a folder holding \(file.name) (SHA-1 \(file.sha1)), or delete the bad file and let rnnbook download it from \(file.sourceURL.absoluteString)."
        /// The verified file at `url`, nil when there is none (what was looked at is noted as `place`).
        func existing(_ url: URL, _ place: String) throws -> (url: URL, data: Data)? {
            guard fm.fileExists(atPath: url.path) else { looked.append("\(url.path) (\(place)): no such file"); return nil }
            let data = try read(url, file)
            try verify(data, of: file, from: url.path, fix: fix)
            return (url, data)
        }
        if let folder {
            if let found = try existing(folder.appendingPathComponent(file.name), Self.environmentVariable) { return found }
        } else {
            looked.append("\(Self.environmentVariable): not set")
        }
        let cached = cacheDirectory.appendingPathComponent(file.name)
        if let found = try existing(cached, "cache") { return found }
        let data: Data
        do { data = try download(file.sourceURL) } catch {
            looked.append("\(file.sourceURL.absoluteString) (download): \(error)")
            throw DataFileError("cannot find \(file.name). Looked at:\n  " + looked.joined(separator: "\n  ") + "\n" + fix)
        }
        try verify(data, of: file, from: file.sourceURL.absoluteString, fix: fix)
        do {
            try fm.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
            try data.write(to: cached, options: .atomic)
        } catch {
            throw DataFileError("\(cached.path): downloaded \(file.name) but cannot write it to the cache: \(error). Fix: make \(cacheDirectory.path) writable or set \(Self.environmentVariable).")
        }
        return (cached, data)
    }

    private func read(_ url: URL, _ file: DataFile) throws -> Data {
        do { return try Data(contentsOf: url) } catch {
            throw DataFileError("\(url.path): cannot read \(file.name): \(error)")
        }
    }

    private func verify(_ data: Data, of file: DataFile, from place: String, fix: String) throws {
        let found = sha1Hex(of: data)
        if found != file.sha1 {
            throw DataFileError("\(place): expected \(file.name) with SHA-1 \(file.sha1) (\(file.byteCount) bytes), found SHA-1 \(found) (\(data.count) bytes). \(fix)")
        }
    }
}

/// Hex SHA-1 of `data`.
public func sha1Hex(of data: Data) -> String {
    Insecure.SHA1.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
