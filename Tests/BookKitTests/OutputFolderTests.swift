import Foundation
import Testing
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
        let left = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
        #expect(left == [OutputFolder.markerName, OutputFolder.lockName, "README.md"].sorted())
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
        // Without --no-wait the build waits for the lock, then runs.
        DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) { held.release() }
        let waited = try book.run("check")
        #expect(waited.status == 0, "\(waited.stderr)")
        #expect(waited.stderr.contains("waiting for another rnnbook build"), "\(waited.stderr)")
    }
}
