import Foundation
import Testing
import TestSupport
@testable import BookKit

/// `clean` empties only a folder `build` marked as its own; one build per output folder at once.
@Suite("Output folder: marker, clean and lock", .serialized)
struct OutputFolderTests {
    @Test func cleanRefusesAFolderRnnbookDidNotWrite() throws {
        let book = try Book()
        try book.write("a.md", "# A\n")
        let run = try book.run("clean", "-o", ".")
        #expect(run.status == 1)
        #expect(run.stderr.contains("is not an rnnbook output folder"), "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: book.root.appendingPathComponent("chapters/a.md").path))
    }

    @Test func cleanOfAMissingFolderOrAFileIsAnError() throws {
        let book = try Book()
        try book.write("a.md", "# A\n")
        let missing = try book.run("clean", "-o", "/nonexistent-rnnbook-\(UUID().uuidString)")
        #expect(missing.status == 1 && missing.stderr.contains("no such folder"), "\(missing.stderr)")
        let file = try book.run("clean", "-o", "chapters/a.md")
        #expect(file.status == 1 && file.stderr.contains("is a file"), "\(file.stderr)")
        #expect(FileManager.default.fileExists(atPath: book.root.appendingPathComponent("chapters/a.md").path))
    }

    @Test func buildMarksItsFolderAndCleanEmptiesItKeepingTheReadme() throws {
        let book = try Book()
        try book.write("a.md", "# A\n\n```swift\nprint(1)\n```\n")
        let output = book.root.appendingPathComponent("output")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try "keep me".write(to: output.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        #expect(try book.run("build").status == 0)
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("a.html").path))
        let clean = try book.run("clean")
        #expect(clean.status == 0, "\(clean.stderr)")
        // Nothing of rnnbook's stays, its marker, list and lock included (they used to).
        let left = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
        #expect(left == ["README.md"])
        // The folder is as before the first build: build takes it again, and clean again empties it.
        #expect(try book.run("build").status == 0)
        #expect(try book.run("clean").status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path) == ["README.md"])
        // Cleaning a cleaned folder, checkpoints or all, is nothing to do, not an error.
        let again = try book.run("clean")
        #expect(again.status == 0 && again.stdout.contains("removed 0 entries"), "\(again.stdout)\(again.stderr)")
        let checkpoints = try book.run("clean", "--checkpoints")
        #expect(checkpoints.status == 0 && checkpoints.stdout.contains("removed 0 checkpoints"), "\(checkpoints.stdout)\(checkpoints.stderr)")
    }

    /// A folder that still holds the user's files keeps rnnbook's marker and lock: build may
    /// write into it again.
    @Test func cleanKeepsTheMarkerWhileTheUsersFilesStay() throws {
        let book = try Book()
        try book.write("a.md", "# A\n\n```swift\nprint(1)\n```\n")
        #expect(try book.run("build").status == 0)
        let output = book.root.appendingPathComponent("output")
        try "mine".write(to: output.appendingPathComponent("grades.json"), atomically: true, encoding: .utf8)
        #expect(try book.run("clean").status == 0)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: output.path))
        #expect(left.isSuperset(of: ["grades.json", OutputFolder.markerName]), "\(left)")
        #expect(try book.run("build").status == 0)
    }

    /// `clean` removes the lock file while holding it; a build that was waiting on the old file
    /// must not think it holds the folder.
    @Test func aLockOnARemovedLockFileIsTakenAgain() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = OutputFolder(dir)
        let first = try folder.lock(wait: false)
        // A build waits on the lock file…
        let waiting = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let lock = try? folder.lock(wait: true, waiting: { _ in waiting.signal() })
            done.signal()
            lock?.release()
        }
        waiting.wait()
        Thread.sleep(forTimeInterval: 0.1)  // into its flock
        // …clean removes the file and lets go; meanwhile another build took the new file.
        try FileManager.default.removeItem(atPath: dir.appendingPathComponent(".rnnbook-lock").path)
        let second = try folder.lock(wait: false)
        first.release()
        // The waiter got the old file's lock, which guards nothing: it must wait for the new one.
        #expect(done.wait(timeout: .now() + 0.5) == .timedOut)
        second.release()
        #expect(done.wait(timeout: .now() + 10) == .success)
    }

    /// Issue 24: `build -o DIR` adopted a folder holding only `.json`, `.html`, `figures/` and a
    /// README, and `clean -o DIR` then deleted the user's grades.json, notes.html and figures/mine.svg.
    static func usersFiles(in folder: URL) throws {
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("figures"), withIntermediateDirectories: true)
        for (name, text) in [("grades.json", "{\"alice\": 10}"), ("notes.html", "<p>mine</p>"), ("figures/mine.svg", "<svg/>")] {
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }

    static func stillThere(_ folder: URL) -> Bool {
        ["grades.json", "notes.html", "figures/mine.svg"].allSatisfy { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
    }

    @Test func buildNeverAdoptsAFolderOfTheUsersFiles() throws {
        let book = try Book()
        try book.write("a.md", "# A\n")
        let mine = book.root.appendingPathComponent("mine")
        try Self.usersFiles(in: mine)
        let run = try book.run("build", "-o", "mine")
        #expect(run.status == 1)
        #expect(run.stderr.contains("holds files rnnbook did not write (figures, grades.json, notes.html)"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: mine.appendingPathComponent(OutputFolder.markerName).path))
        #expect(Self.stillThere(mine))
    }

    /// `serve` locates the toolchain (writing `.cache/toolchain.json` and `.cache/cblas/`) before
    /// its first build marks the folder: that folder is still rnnbook's to adopt, and clean
    /// removes the cache; a `.cache` holding anything else is not adopted.
    @Test func theToolchainScratchDoesNotMakeAFolderForeign() throws {
        let book = try Book()
        let output = book.root.appendingPathComponent("output")
        try FileManager.default.createDirectory(at: output.appendingPathComponent(".cache/cblas"), withIntermediateDirectories: true)
        try "{}".write(to: output.appendingPathComponent(".cache/toolchain.json"), atomically: true, encoding: .utf8)
        let folder = OutputFolder(output)
        let before = try folder.prepare()
        folder.recordWritten(since: before)
        #expect(folder.writtenEntries() == [".cache"])
        #expect(try folder.clean().removed == [".cache"])
        let other = book.root.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other.appendingPathComponent(".cache"), withIntermediateDirectories: true)
        try "mine".write(to: other.appendingPathComponent(".cache/notes.txt"), atomically: true, encoding: .utf8)
        #expect(throws: BookError.self) { try OutputFolder(other).prepare() }
    }

    @Test func cleanRemovesOnlyWhatBuildsWrote() throws {
        let book = try Book()
        try FileManager.default.createDirectory(at: book.root.appendingPathComponent("chapters/figures"), withIntermediateDirectories: true)
        try "<svg xmlns=\"http://www.w3.org/2000/svg\"/>".write(to: book.root.appendingPathComponent("chapters/figures/f.svg"), atomically: true, encoding: .utf8)
        try book.write("a.md", "# A\n\n![A figure](figures/f.svg)\n\n```swift\nprint(1)\n```\n")
        let output = book.root.appendingPathComponent("output")
        #expect(try book.run("build").status == 0)
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("figures/f.svg").path))
        // The user puts their own files into the marked folder, one inside rnnbook's figures/.
        try Self.usersFiles(in: output)
        // A second build does not take them as its own.
        #expect(try book.run("build").status == 0)
        let clean = try book.run("clean")
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout.contains("kept figures/mine.svg, grades.json, notes.html (not written by rnnbook)"), "\(clean.stdout)")
        #expect(Self.stillThere(output))
        for written in ["a.html", "a.json", "index.html", "figures/f.svg", ".cache"] {
            #expect(!FileManager.default.fileExists(atPath: output.appendingPathComponent(written).path), "\(written) was kept")
        }
    }

    @Test func buildRefusesAFolderHoldingOtherFiles() throws {
        let book = try Book()
        try book.write("a.md", "# A\n")
        let run = try book.run("check", "-o", ".")
        #expect(run.status == 1)
        #expect(run.stderr.contains("holds files rnnbook did not write (chapters)"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: book.root.appendingPathComponent(OutputFolder.markerName).path))
    }

    @Test func aSecondBuildWaitsOrFailsWithNoWait() throws {
        let book = try Book()
        try book.write("a.md", "# A\n")
        let folder = OutputFolder(book.root.appendingPathComponent("output"))
        try folder.prepare()
        let held = try folder.lock(wait: false)
        let failed = try book.run("check", "--no-wait")
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("another rnnbook build is using"), "\(failed.stderr)")
        // Without --no-wait the build says it waits for the lock, and runs once it is released.
        let waiting = try Program(Book.binary.path, ["check"], workingDirectory: book.root.path).start()
        defer { waiting.send(SIGKILL) }
        #expect(waiting.waitForStderr(containing: "waiting for another rnnbook build", seconds: 120), "\(waiting.stderr)")
        #expect(waiting.isRunning, "the build did not wait: \(waiting.stderr)")
        held.release()
        let waited = waiting.result()
        #expect(waited.status == 0, "\(waited.stderr)")
    }
}
