import Foundation
import Testing
@testable import BookServe

/// A temporary folder, removed when the test ends.
final class TempFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    @discardableResult func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }
}

@Suite("serve: watching files")
struct WatcherTests {
    let markdown: @Sendable (String) -> Bool = { $0.hasSuffix(".md") && $0 != "README.md" }

    @Test func aScanWithoutEditsReportsNothing() throws {
        let dir = try TempFolder()
        try dir.write("a.md", "# A\n")
        let watcher = FileWatcher(folders: [(dir.url, markdown)])
        #expect(FileWatcher.changes(from: watcher.scan(), to: watcher.scan()).isEmpty)
    }

    @Test func seesAnEditACreatedChapterAndADeletedOne() throws {
        let dir = try TempFolder()
        let a = try dir.write("a.md", "# A\n")
        let b = try dir.write("b.md", "# B\n")
        try dir.write("README.md", "not a chapter\n")
        try dir.write("notes.txt", "not watched\n")
        let watcher = FileWatcher(folders: [(dir.url, markdown)])
        let before = watcher.scan()
        #expect(Set(before.keys) == [a, b])
        try dir.write("a.md", "# A, longer now\n")
        let c = try dir.write("c.md", "# C\n")
        try FileManager.default.removeItem(atPath: b)
        try dir.write("README.md", "still not a chapter, edited\n")
        try dir.write("notes.txt", "edited\n")
        #expect(FileWatcher.changes(from: before, to: watcher.scan()) == [a, b, c])
    }

    /// Editors often save by writing a new file and renaming it over the old one: same size,
    /// maybe the same modification second, but a new inode.
    @Test func seesASaveByRenameOfTheSameSize() throws {
        let dir = try TempFolder()
        let a = try dir.write("a.md", "# A\n")
        let watcher = FileWatcher(files: [a])
        let before = watcher.scan()
        let temp = try dir.write(".a.md.swp", "# Z\n")
        #expect(rename(temp, a) == 0)
        #expect(FileWatcher.changes(from: before, to: watcher.scan()) == [a])
    }

    /// An edit in place that keeps the size still changes the modification time.
    @Test func seesAnEditInPlaceOfTheSameSize() throws {
        let dir = try TempFolder()
        let a = try dir.write("a.md", "# A\n")
        let watcher = FileWatcher(files: [a])
        let before = watcher.scan()
        // Set the old stamp one second back, so the edit's time differs on any file system.
        var times = [timespec(tv_sec: time(nil) - 10, tv_nsec: 0), timespec(tv_sec: time(nil) - 10, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, a, &times, 0) == 0)
        let old = watcher.scan()
        #expect(FileWatcher.changes(from: before, to: old) == [a])
        let handle = try #require(FileHandle(forWritingAtPath: a))
        try handle.write(contentsOf: Data("# B\n".utf8))
        try handle.close()
        #expect(FileWatcher.changes(from: old, to: watcher.scan()) == [a])
    }

    @Test func aWatchedFileThatAppearsLaterIsAChange() throws {
        let dir = try TempFolder()
        let figure = dir.path("figures/f.svg")
        let watcher = FileWatcher(files: [figure])
        let before = watcher.scan()
        #expect(before.isEmpty)
        try dir.write("figures/f.svg", "<svg/>")
        #expect(FileWatcher.changes(from: before, to: watcher.scan()) == [figure])
    }
}

@Suite("serve: debouncing edits")
struct DebouncerTests {
    @Test func waitsForQuietThenGivesEverythingOnce() {
        var d = Debouncer(quiet: 0.2, maxWait: 2)
        #expect(d.due(at: 0) == nil)
        d.record(["a"], at: 0)
        #expect(d.due(at: 0.1) == nil)
        d.record(["b"], at: 0.15)
        // 0.3 is only 0.15 after the last change.
        #expect(d.due(at: 0.3) == nil)
        #expect(d.due(at: 0.36) == ["a", "b"])
        #expect(d.due(at: 1) == nil)
        #expect(d.pending.isEmpty)
    }

    @Test func anEmptyScanIsNoChange() {
        var d = Debouncer(quiet: 0.2, maxWait: 2)
        d.record([], at: 0)
        #expect(d.due(at: 5) == nil)
    }

    @Test func aFileRewrittenWithoutPauseIsBuiltAfterMaxWait() {
        var d = Debouncer(quiet: 0.2, maxWait: 2)
        var fired: [Double] = []
        var t = 0.0
        while t < 5 {
            d.record(["log.md"], at: t)
            if d.due(at: t) != nil { fired.append(t) }
            t += 0.1
        }
        // Never quiet, so only maxWait lets it through: about every 2 s, not never and not every poll.
        #expect(fired.count == 2, "\(fired)")
        #expect(fired.allSatisfy { $0 >= 1.95 })
    }
}
