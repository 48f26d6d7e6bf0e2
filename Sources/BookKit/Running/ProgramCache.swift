import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Compiled chapter programs, kept by what they are built from: the generated program, the
/// starters the build type-checks, the compiler and its arguments, and the engine. Params reach
/// a program at run time (its params file), so every point of a grid, and a rerun with other
/// params, runs one compiled program instead of compiling it again (chapter 3 takes longer to
/// compile than a quick point takes to run). Each program is `<slug>/<key>/` under
/// `.cache/programs/`, with its executable and its `verdict.json` (written last: a folder
/// without one is a compile that did not finish); a compile holds `<slug>/<key>.lock` (flock:
/// another process or thread waits for it, blocked in the kernel, then finds the program).
struct ProgramCache: Sendable {
    var directory: URL
    /// Programs kept per chapter; the least recently used goes first.
    var capacity = 8

    struct Entry {
        var verdict: CompileVerdict
        var executable: String
    }

    func folder(_ slug: String, key: String) -> URL { directory.appendingPathComponent("\(slug)/\(key)") }

    /// The program under `key`, compiled by `compile(folder, executable)` when it is not kept
    /// yet, or with `fresh` (`--force`) when this build (`build`, its id: the same in every
    /// process of one command, Slurm tasks included) has not compiled it yet: `--force`
    /// compiles each program once per build, not once per point of a grid.
    func program(slug: String, key: String, fresh: Bool = false, build: String = "", compile: (URL, String) -> CompileVerdict) -> Entry {
        let folder = self.folder(slug, key: key)
        let verdictFile = folder.appendingPathComponent("verdict.json")
        let executable = folder.appendingPathComponent("chapter").path
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let lock = FileLock(directory.appendingPathComponent("\(slug)/\(key).lock"))
        defer { lock?.release() }
        let builtBy = folder.appendingPathComponent("built-by")
        let reuse = !fresh || (try? String(contentsOf: builtBy, encoding: .utf8)) == build
        if reuse, let kept = readVerdict(verdictFile), FileManager.default.isExecutableFile(atPath: executable) || kept.stopAfter == 0 {
            // Marks it used, for eviction.
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: verdictFile.path)
            // Nothing was compiled for this run: its summary says compile 0.0 s, not the time
            // the kept program once took.
            var reused = kept
            reused.seconds = 0
            return Entry(verdict: reused, executable: executable)
        }
        try? FileManager.default.removeItem(at: verdictFile)
        let verdict = compile(folder, executable)
        try? writeAtomically(Data(build.utf8), to: builtBy)
        // Only a verdict on the blocks is kept: a program that could not be written, or a
        // compiler that failed outside them (killed, timed out), is tried again next time.
        if verdict.problems.isEmpty, let data = try? resultEncoder().encode(verdict) {
            try? writeAtomically(data, to: verdictFile)
        }
        evict(slug, keeping: key)
        return Entry(verdict: verdict, executable: executable)
    }

    private func readVerdict(_ url: URL) -> CompileVerdict? {
        (try? Data(contentsOf: url)).flatMap { try? resultDecoder().decode(CompileVerdict.self, from: $0) }
    }

    /// Removes the least recently used programs of `slug` beyond `capacity` (never `key`).
    private func evict(_ slug: String, keeping key: String) {
        let fm = FileManager.default
        let base = directory.appendingPathComponent(slug)
        let names = ((try? fm.contentsOfDirectory(atPath: base.path)) ?? []).filter { !$0.hasSuffix(".lock") }
        guard names.count > capacity else { return }
        func used(_ name: String) -> Date {
            let attributes = try? fm.attributesOfItem(atPath: base.appendingPathComponent("\(name)/verdict.json").path)
            return attributes?[.modificationDate] as? Date ?? .distantPast
        }
        let victims = names.filter { $0 != key }.sorted { used($0) < used($1) }.prefix(names.count - capacity)
        for name in victims {
            try? fm.removeItem(at: base.appendingPathComponent(name))
            try? fm.removeItem(at: base.appendingPathComponent("\(name).lock"))
        }
    }
}

/// An exclusive flock on a file, taken by waiting in the kernel (never by spinning); the kernel
/// drops it when the process ends, however it ends. Nil when the file cannot be opened (the
/// caller then goes on unlocked: a lost cache entry costs a rerun, not a wrong result).
final class FileLock: Sendable {
    private let fd: Int32
    init?(_ url: URL) {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { close(fd); return nil }
        }
        self.fd = fd
    }
    func release() { flock(fd, LOCK_UN); close(fd) }
}

extension ChapterRunner {
    /// What the chapter's compiled program depends on (see `ProgramCache`).
    func programKey(for chapter: Chapter, engineIdentity: String) -> String {
        digest(["program-1", Self.generatorVersion, ProgramGenerator().program(for: chapter), chapter.path]
               + starterParts(of: chapter).map(\.value)
               + toolchain.compileArguments(source: "-", executable: "-")
               + [versions.swiftc, engineIdentity, settings.sandbox == nil ? "open" : "sandboxed"])
    }

    /// The chapter's program and its compiler's verdict: compiled once per key (see `ProgramCache`).
    func compiled(_ chapter: Chapter, source: String, engineIdentity: String, terminal: Terminal) -> (CompileVerdict, String) {
        let cache = ProgramCache(directory: settings.cacheDirectory.appendingPathComponent("programs"))
        let entry = cache.program(slug: chapter.slug, key: programKey(for: chapter, engineIdentity: engineIdentity),
                                  fresh: settings.force, build: settings.buildID) { folder, executable in
            compileBlocks(of: chapter, source: source, work: folder, executable: executable, terminal: terminal)
        }
        return (entry.verdict, entry.executable)
    }
}
