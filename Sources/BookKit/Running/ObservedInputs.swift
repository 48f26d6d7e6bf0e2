import Crypto
import Foundation

/// The files a chapter program read, with their contents' hashes: part of what a cached run
/// depends on. The run key covers the blocks, params and declared `data:` files; a program may
/// also read any other file (a CSV beside the chapter, a file a helper wrote), and a change there
/// must rerun the chapter, not restore a run whose claims are now false (issue 23).
///
/// The program runs with `libRnnbookOpenLog.so` preloaded (Sources/COpenLog), which appends the
/// path of every file it opens to a log, marked read or written. After the run, the files it only
/// read, outside the system, the toolchain, the engine's build products and the book's own cache,
/// are hashed. A file it wrote (a log, a counter it reads and bumps) is its own state, not an
/// input; files gone by then, and anything that is not a regular file, are skipped.
/// A cached run is reused only when every recorded file still has its hash.
struct ObservedInputs: Codable, Equatable, Sendable {
    /// Absolute path (symlinks resolved) → SHA-256 of the contents after the run.
    var files: [String: String] = [:]
    /// False when the log could not be read whole (the program opened more files than the log
    /// keeps, or the preload library was missing): such a run is not cached.
    var complete = true
    /// Why it is incomplete, in words.
    var problem: String?

    /// Folders whose files are never inputs of a chapter: the system, the toolchain, the engine.
    static let systemPrefixes = ["/proc/", "/sys/", "/dev/", "/usr/", "/lib/", "/lib32/", "/lib64/", "/libx32/",
                                 "/bin/", "/sbin/", "/etc/", "/run/", "/var/lib/", "/var/cache/"]

    /// Reads the preload library's log; `excluding` adds folders (toolchain, build products,
    /// the output folder's cache) to the system ones.
    static func read(log: URL, excluding folders: [URL]) -> ObservedInputs {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else {
            return ObservedInputs(complete: false, problem: "the list of files it read could not be read")
        }
        let excluded = systemPrefixes + folders.map { $0.resolvingSymlinksInPath().path + "/" }
        var observed = ObservedInputs()
        var read: [String] = [], written = Set<String>()
        for line in text.split(separator: "\n") {
            if line == "#truncated" {
                return ObservedInputs(complete: false, problem: "it opened more files than the runner keeps track of")
            }
            guard let tag = line.first, tag == "R" || tag == "W" else { continue }
            let path = URL(fileURLWithPath: String(line.dropFirst())).standardizedFileURL.resolvingSymlinksInPath().path
            if tag == "W" { written.insert(path) } else { read.append(path) }
        }
        var seen = Set<String>()
        for path in read {
            guard seen.insert(path).inserted, !written.contains(path), !excluded.contains(where: { path.hasPrefix($0) }) else { continue }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let hash = Self.hash(path) else { continue }
            observed.files[path] = hash
        }
        return observed
    }

    /// SHA-256 of a regular file's contents, read in pieces; nil if it cannot be read.
    static func hash(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The first recorded file whose contents differ now (or that is gone), in words, relative to
    /// `root` when inside it; nil when every file is as the run left it.
    func change(relativeTo root: URL) -> String? {
        let base = root.resolvingSymlinksInPath().path + "/"
        for (path, hash) in files.sorted(by: { $0.key < $1.key }) where Self.hash(path) != hash {
            let shown = path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
            return FileManager.default.fileExists(atPath: path) ? "file \(shown) changed (the program read it)"
                : "file \(shown) is gone (the program read it)"
        }
        return nil
    }
}
