import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The folder a build writes (`output/`): marked as rnnbook's, so that `clean` never empties a
/// folder rnnbook did not make, and locked, so that two builds never write it at once.
public struct OutputFolder: Sendable {
    public let url: URL
    /// The marker `build` and `check` write; `clean` refuses a folder without it.
    public static let markerName = ".rnnbook-output"
    static let lockName = ".rnnbook-lock"
    /// What may sit in a folder that is treated as an output folder from before the marker:
    /// pages, results, the cache, copied assets and figures, and the committed README.
    static let kept: Set<String> = ["README.md", ".gitignore"]

    public init(_ url: URL) { self.url = url.standardizedFileURL }

    var marker: URL { url.appendingPathComponent(Self.markerName) }

    /// Creates the folder (or adopts an existing one) and marks it. Throws when the folder holds
    /// files that rnnbook did not write, so that `-o .` in a book does not make the book
    /// `clean`-able.
    public func prepare() throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw BookError("output \(url.path) is a file, not a folder") }
            if !fm.fileExists(atPath: marker.path) {
                let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
                let foreign = names.filter { !Self.looksWritten($0) }.sorted()
                guard foreign.isEmpty else {
                    throw BookError("output folder \(url.path) holds files rnnbook did not write (\(foreign.prefix(4).joined(separator: ", "))\(foreign.count > 4 ? ", …" : "")); choose an empty folder or rnnbook's own output folder")
                }
            }
        } else {
            do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
                throw BookError("cannot create the output folder \(url.path): \(error.localizedDescription)")
            }
        }
        if !fm.fileExists(atPath: marker.path) {
            let text = "This folder was written by `rnnbook build`; `rnnbook clean` empties it (keeping README.md).\n"
            do { try Data(text.utf8).write(to: marker) } catch {
                throw BookError("cannot write \(marker.path): \(error.localizedDescription)")
            }
        }
    }

    static func looksWritten(_ name: String) -> Bool {
        kept.contains(name) || name.hasSuffix(".html") || name.hasSuffix(".json")
            || [".cache", "assets", "figures", markerName, lockName, editionName, "book.pdf"].contains(name)
    }

    /// Removes everything rnnbook wrote, keeping README.md and .gitignore and the marker; refuses
    /// a folder without the marker. Returns how many entries it removed.
    public func clean() throws -> Int {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw BookError("no such folder: \(url.path); nothing removed")
        }
        guard isDirectory.boolValue else { throw BookError("\(url.path) is a file, not an output folder; nothing removed") }
        guard fm.fileExists(atPath: marker.path) else {
            throw BookError("\(url.path) is not an rnnbook output folder (it has no \(Self.markerName), which `rnnbook build` writes); nothing removed")
        }
        let lock = try self.lock(wait: false)
        defer { lock.release() }
        var removed = 0
        for name in try fm.contentsOfDirectory(atPath: url.path) where !Self.kept.contains(name) && name != Self.markerName && name != Self.lockName {
            try fm.removeItem(at: url.appendingPathComponent(name))
            removed += 1
        }
        return removed
    }

    /// Removes the stored checkpoints (`.cache/checkpoints/`), under the same rules as `clean`.
    /// Returns how many stored values it removed.
    public func cleanCheckpoints() throws -> Int {
        let fm = FileManager.default
        guard fm.fileExists(atPath: marker.path) else {
            throw BookError("\(url.path) is not an rnnbook output folder (it has no \(Self.markerName), which `rnnbook build` writes); nothing removed")
        }
        let lock = try self.lock(wait: false)
        defer { lock.release() }
        let folder = url.appendingPathComponent(".cache/checkpoints")
        var removed = 0
        if let files = fm.enumerator(atPath: folder.path) {
            for case let name as String in files where name.hasSuffix(".checkpoint") { removed += 1 }
        }
        if fm.fileExists(atPath: folder.path) { try fm.removeItem(at: folder) }
        return removed
    }

    /// An exclusive lock on the folder, held until `release` or the process ends (flock: the
    /// kernel drops it when the process dies, even by SIGKILL).
    public final class Lock: @unchecked Sendable {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        public func release() { flock(fd, LOCK_UN); close(fd) }
    }

    /// Takes the folder's lock. When another build holds it: with `wait`, says so through
    /// `waiting` and waits; without, throws at once.
    public func lock(wait: Bool, waiting: (String) -> Void = { _ in }) throws -> Lock {
        let path = url.appendingPathComponent(Self.lockName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BookError("cannot open the lock \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            let who = holder.map { $0.isEmpty ? "" : " (pid \($0))" } ?? ""
            guard wait else {
                close(fd)
                throw BookError("another rnnbook build is using \(url.path)\(who); wait for it, or drop --no-wait to wait")
            }
            waiting("waiting for another rnnbook build using \(url.path)\(who) to finish…")
            while flock(fd, LOCK_EX) != 0 {
                if errno != EINTR { close(fd); throw BookError("cannot lock \(path): \(String(cString: strerror(errno)))") }
            }
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return Lock(fd: fd)
    }
}
