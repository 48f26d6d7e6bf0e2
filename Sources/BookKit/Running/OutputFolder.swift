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
    /// What may sit in a folder rnnbook adopts (an empty folder apart from these), and what
    /// `clean` never removes.
    static let kept: Set<String> = ["README.md", ".gitignore"]
    /// The list of what builds wrote into the folder (paths relative to it, one per line):
    /// `clean` removes exactly these, so a file the user put there is never touched.
    public static let manifestName = ".rnnbook-manifest"

    public init(_ url: URL) { self.url = url.standardizedFileURL }

    var marker: URL { url.appendingPathComponent(Self.markerName) }
    var manifest: URL { url.appendingPathComponent(Self.manifestName) }

    /// The folder's own bookkeeping, never listed and never removed by `clean`.
    static let bookkeeping: Set<String> = [markerName, lockName, manifestName]

    /// What is in the folder now, as the manifest lists it: every file and link by its path,
    /// except inside `.cache/` (rnnbook's own, listed as one entry) and the bookkeeping files.
    func entries() -> Set<String> {
        let fm = FileManager.default
        var out = Set<String>()
        guard let names = try? fm.contentsOfDirectory(atPath: url.path) else { return out }
        for name in names where !Self.bookkeeping.contains(name) {
            var isDirectory: ObjCBool = false
            let path = url.appendingPathComponent(name).path
            let isLink = (try? fm.destinationOfSymbolicLink(atPath: path)) != nil
            guard !isLink, name != ".cache", fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                out.insert(name); continue
            }
            if let walk = fm.enumerator(atPath: path) {
                for case let sub as String in walk {
                    var subIsDirectory: ObjCBool = false
                    let full = url.appendingPathComponent(name).appendingPathComponent(sub).path
                    if fm.fileExists(atPath: full, isDirectory: &subIsDirectory), subIsDirectory.boolValue,
                       (try? fm.destinationOfSymbolicLink(atPath: full)) == nil { continue }
                    out.insert(name + "/" + sub)
                }
            }
        }
        return out
    }

    /// What builds have listed as theirs; nil when the folder has no manifest (an older rnnbook).
    func writtenEntries() -> Set<String>? {
        guard let text = try? String(contentsOf: manifest, encoding: .utf8) else { return nil }
        return Set(text.split(separator: "\n").map(String.init).filter { !$0.isEmpty })
    }

    /// Creates the folder (or adopts an existing one) and marks it. An existing folder is
    /// adopted only when it is empty apart from a README.md or .gitignore, or already marked:
    /// `build -o DIR` never takes over a folder of the user's own files. Returns what the folder
    /// held before this build, for `recordWritten(since:)`.
    @discardableResult
    public func prepare() throws -> Set<String> {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw BookError("output \(url.path) is a file, not a folder") }
            if !fm.fileExists(atPath: marker.path) {
                let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
                let foreign = names.filter { !Self.kept.contains($0) && $0 != Self.lockName && !($0 == ".cache" && onlyToolchainScratch) }.sorted()
                guard foreign.isEmpty else {
                    throw BookError("output folder \(url.path) holds files rnnbook did not write (\(foreign.prefix(4).joined(separator: ", "))\(foreign.count > 4 ? ", …" : "")); rnnbook writes only into an empty folder (a README.md or .gitignore may stay) or one it marked as its own; choose another folder")
                }
            }
        } else {
            do { try fm.createDirectory(at: url, withIntermediateDirectories: true) } catch {
                throw BookError("cannot create the output folder \(url.path): \(error.localizedDescription)")
            }
        }
        let before = entries()
        if !fm.fileExists(atPath: marker.path) {
            let text = "This folder was written by `rnnbook build`; `rnnbook clean` removes what .rnnbook-manifest lists (what builds wrote), and nothing else.\n"
            do { try Data(text.utf8).write(to: marker) } catch {
                throw BookError("cannot write \(marker.path): \(error.localizedDescription)")
            }
            if writtenEntries() == nil { try? Data().write(to: manifest) }
        } else if writtenEntries() == nil {
            // Marked by an older rnnbook, which kept no list: what it would have written is taken
            // as its own, once; anything else stays the user's.
            let old = before.filter { Self.looksWritten(String($0.split(separator: "/").first ?? "")) }
            try? Data(old.sorted().joined(separator: "\n").utf8).write(to: manifest)
        }
        return before
    }

    /// Whether `.cache` holds only what locating the toolchain writes before a build starts
    /// (`toolchain.json`, `cblas/`): `serve` makes its runner, and so these, before its first build.
    var onlyToolchainScratch: Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.appendingPathComponent(".cache").path)) ?? []
        return Set(names).isSubset(of: ["toolchain.json", "cblas"])
    }

    /// Adds to the manifest what appeared in the folder since `before` (what this build wrote),
    /// and `.cache`, which is rnnbook's whenever it is there (it may predate the build's mark).
    public func recordWritten(since before: Set<String>) {
        let now = entries()
        var listed = (writtenEntries() ?? []).union(now.subtracting(before)).subtracting(Self.kept)
        if now.contains(".cache") { listed.insert(".cache") }
        try? writeAtomically(Data(listed.sorted().joined(separator: "\n").utf8), to: manifest)
    }

    /// Names an older rnnbook wrote at the top of its folder (used once, to list them).
    static func looksWritten(_ name: String) -> Bool {
        name.hasSuffix(".html") || name.hasSuffix(".json") || name.hasSuffix(".js")
            || [".cache", "assets", "figures", editionName, "book.pdf"].contains(name)
    }

    /// What `clean` did: the entries it removed and those it kept (not written by rnnbook).
    public struct Cleaning: Sendable {
        public var removed: [String]
        public var kept: [String]
    }

    /// Removes what builds wrote (the manifest's entries) and nothing else, then folders it left
    /// empty; refuses a folder without the marker, or without a manifest.
    public func clean() throws -> Cleaning {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw BookError("no such folder: \(url.path); nothing removed")
        }
        guard isDirectory.boolValue else { throw BookError("\(url.path) is a file, not an output folder; nothing removed") }
        // Cleaned already (nothing but a README.md or .gitignore): nothing to do, not an error.
        if !fm.fileExists(atPath: marker.path), case let left = entries(), left.isSubset(of: Self.kept) {
            return Cleaning(removed: [], kept: left.sorted())
        }
        guard fm.fileExists(atPath: marker.path) else {
            throw BookError("\(url.path) is not an rnnbook output folder (it has no \(Self.markerName), which `rnnbook build` writes); nothing removed")
        }
        guard let written = writtenEntries() else {
            throw BookError("\(url.path) was marked by an older rnnbook, which kept no list of what it wrote (\(Self.manifestName)); run `rnnbook build` once, or remove the folder yourself; nothing removed")
        }
        let lock = try self.lock(wait: false)
        defer { lock.release() }
        var removed: [String] = []
        for entry in written.sorted() {
            let path = url.appendingPathComponent(entry).path
            guard (try? fm.destinationOfSymbolicLink(atPath: path)) != nil || fm.fileExists(atPath: path) else { continue }
            try fm.removeItem(atPath: path)
            removed.append(entry)
        }
        // Folders the removed files leave empty go too (deepest first); a folder holding a file
        // of the user's stays with it.
        let folders = Set(written.flatMap { entry -> [String] in
            let parts = entry.split(separator: "/").dropLast()
            return parts.indices.map { parts[...$0].joined(separator: "/") }
        })
        for folder in folders.sorted(by: { $0.count > $1.count }) {
            let path = url.appendingPathComponent(folder).path
            if let left = try? fm.contentsOfDirectory(atPath: path), left.isEmpty { try? fm.removeItem(atPath: path) }
        }
        let left = entries()
        if left.isSubset(of: Self.kept) {
            // Nothing of rnnbook's is left to mark, list or lock: the folder is as it was before
            // the first build (a build waiting on the lock sees the file gone and takes a new one).
            for name in [Self.markerName, Self.manifestName, Self.lockName] {
                try? fm.removeItem(at: url.appendingPathComponent(name))
            }
        } else {
            try writeAtomically(Data(), to: manifest)
        }
        return Cleaning(removed: removed, kept: left.sorted())
    }

    /// Removes the stored checkpoints (`.cache/checkpoints/`), under the same rules as `clean`.
    /// Returns how many stored values it removed.
    public func cleanCheckpoints() throws -> Int {
        let fm = FileManager.default
        let folder = url.appendingPathComponent(".cache/checkpoints")
        // A folder `clean` emptied (no `.cache` either) has no checkpoints to remove.
        if !fm.fileExists(atPath: marker.path), entries().isSubset(of: Self.kept) { return 0 }
        guard fm.fileExists(atPath: marker.path) else {
            throw BookError("\(url.path) is not an rnnbook output folder (it has no \(Self.markerName), which `rnnbook build` writes); nothing removed")
        }
        let lock = try self.lock(wait: false)
        defer { lock.release() }
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
        while true {
            let lock = try lockOnce(wait: wait, waiting: waiting)
            // `clean` removes the lock file while it holds it: a lock taken on a file no longer
            // at the path locks nothing another build would see, so take the new file's.
            var held = stat(), named = stat()
            let path = url.appendingPathComponent(Self.lockName).path
            if fstat(lock.fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev {
                ftruncate(lock.fd, 0)
                let pid = "\(getpid())\n"
                _ = pid.withCString { pwrite(lock.fd, $0, strlen($0), 0) }
                return lock
            }
            lock.release()
        }
    }

    private func lockOnce(wait: Bool, waiting: (String) -> Void) throws -> Lock {
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
        return Lock(fd: fd)
    }
}
