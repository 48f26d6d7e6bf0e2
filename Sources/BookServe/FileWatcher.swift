import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `stat` says about a file, enough to tell that it changed: an edit changes the
/// modification time (nanoseconds) or the size, an editor's save-by-rename changes the inode.
public struct FileStamp: Equatable, Sendable {
    public var inode: UInt64
    public var size: Int64
    public var modified: Int64
    public var changed: Int64

    /// The file's stamp, or nil when it does not exist (or cannot be read).
    public static func of(_ path: String) -> FileStamp? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return FileStamp(inode: UInt64(s.st_ino), size: Int64(s.st_size),
                         modified: Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec),
                         changed: Int64(s.st_ctim.tv_sec) * 1_000_000_000 + Int64(s.st_ctim.tv_nsec))
    }
}

/// Watches files by polling their stamps: portable, a few `stat` calls per poll, and it sees
/// every kind of save (in place, by rename, by delete and create). Folders are listed on every
/// poll, so a chapter added to `chapters/` is seen too.
public struct FileWatcher: Sendable {
    /// Folders whose entries are watched, each with which names count (e.g. `*.md`).
    public var folders: [(url: URL, include: @Sendable (String) -> Bool)]
    /// Single files (figures, data), watched whether or not they exist yet.
    public var files: Set<String>

    public init(folders: [(url: URL, include: @Sendable (String) -> Bool)] = [], files: Set<String> = []) {
        self.folders = folders; self.files = files
    }

    /// The stamp of every watched path that exists now, by absolute path.
    public func scan() -> [String: FileStamp] {
        var paths = files
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.url.path)) ?? []
            for name in names where folder.include(name) { paths.insert(folder.url.appendingPathComponent(name).path) }
        }
        var stamps: [String: FileStamp] = [:]
        for path in paths { if let stamp = FileStamp.of(path) { stamps[path] = stamp } }
        return stamps
    }

    /// Paths that appeared, disappeared or changed between two scans.
    public static func changes(from old: [String: FileStamp], to new: [String: FileStamp]) -> Set<String> {
        var changed = Set<String>()
        for (path, stamp) in new where old[path] != stamp { changed.insert(path) }
        for path in old.keys where new[path] == nil { changed.insert(path) }
        return changed
    }
}

/// Gathers changes until the files have been quiet for `quiet` seconds (an editor's save is
/// often several writes), but never holds them longer than `maxWait` seconds after the first,
/// so that a file rewritten without pause still gets built. Times are seconds on any clock
/// that only goes forward; the caller polls `due(at:)`.
public struct Debouncer: Sendable {
    public var quiet: Double
    public var maxWait: Double
    public private(set) var pending: Set<String> = []
    private var firstChange: Double?
    private var lastChange: Double?

    public init(quiet: Double = 0.2, maxWait: Double = 2) {
        precondition(quiet >= 0 && maxWait >= quiet, "Debouncer: need 0 <= quiet <= maxWait")
        self.quiet = quiet; self.maxWait = maxWait
    }

    /// Notes paths seen changed at `time` (nothing when `paths` is empty).
    public mutating func record(_ paths: Set<String>, at time: Double) {
        guard !paths.isEmpty else { return }
        pending.formUnion(paths)
        if firstChange == nil { firstChange = time }
        lastChange = time
    }

    /// The gathered paths when it is time to act on them (and then forgets them), else nil.
    public mutating func due(at time: Double) -> Set<String>? {
        guard let first = firstChange, let last = lastChange, !pending.isEmpty else { return nil }
        guard time - last >= quiet || time - first >= maxWait else { return nil }
        defer { pending = []; firstChange = nil; lastChange = nil }
        return pending
    }
}
