import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// Issue 23, "runs that go stale": a checkpoint closure can call a top-level function declared in
/// a later block (Swift makes top-level declarations visible before their line). Its key used to
/// cover the source only up to the call, so editing that function kept the old value.
@Suite("Checkpoints cover what their closure can reach", .serialized)
struct CheckpointReachTests {
    @Test func topLevelDeclarationsAreFoundWholeAndOnlyAtTopLevel() {
        let code = """
        let a = 1 // func notThis() {}
        let s = "struct NotThisEither {"
        @inline(__always) private func scale(_ x: Double,
                                            by k: Double) -> Double {
            func inner() -> Int { 1 }   // inside a function: not reachable from outside
            return x * k
        }
        final class Box { var v = 0 }
        extension Box { func twice() -> Int { v * 2 } }
        typealias Grid = [[Double]]
        let f = { (x: Int) -> Int in x }
        enum Mode: String { case a, b }
        """
        let found = topLevelDeclarations(in: code).map { String($0) }
        #expect(found.count == 5, "\(found)")
        #expect(found.first?.hasPrefix("@inline(__always) private func scale") == true)
        #expect(found.first?.hasSuffix("return x * k\n}") == true)
        #expect(found.contains("final class Box { var v = 0 }"))
        #expect(found.contains("extension Box { func twice() -> Int { v * 2 } }"))
        #expect(found.contains("typealias Grid = [[Double]]"))
        #expect(found.contains("enum Mode: String { case a, b }"))
    }

    static func chapter(rate: String) -> String {
        """
        ---
        title: Reach
        ---
        # Reach

        ```swift
        func bump(_ file: String) {
            let old = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            try! (old + "x").write(toFile: file, atomically: true, encoding: .utf8)
        }
        let value = checkpoint("trained") { () -> Double in
            bump("trained.txt")
            return train(steps: 3)
        }
        record("value", value)
        ```

        The training is defined later; Swift lets the closure above call it.

        ```swift
        func train(steps: Int) -> Double { Double(steps) * \(rate) }
        ```

        The value is {{value:.2f}}.
        """
    }

    @Test func editingALaterFunctionTheClosureCallsComputesTheCheckpointAgain() throws {
        let book = try Book()
        func trained() -> Int { ((try? String(contentsOf: book.root.appendingPathComponent("trained.txt"), encoding: .utf8)) ?? "").count }
        try book.write("reach.md", Self.chapter(rate: "0.5"))
        #expect(try book.run("build").status == 0)
        #expect(trained() == 1)
        #expect(try book.result("reach").metrics["value"] == 1.5)
        // Edit only the later function: the run reruns, and the checkpoint must not be restored.
        try book.write("reach.md", Self.chapter(rate: "0.25"))
        let edited = try book.run("build")
        #expect(edited.status == 0, "\(edited.stderr)")
        #expect(edited.stderr.contains("checkpoint computed: trained"), "\(edited.stderr)")
        #expect(trained() == 2)
        #expect(try book.result("reach").metrics["value"] == 0.75)
        // Editing prose or a statement that is not a declaration still restores it.
        try book.write("reach.md", Self.chapter(rate: "0.25").replacingOccurrences(of: "record(\"value\", value)", with: "record(\"value\", value)\nprint(value)"))
        let restored = try book.run("build")
        #expect(restored.stderr.contains("restored from checkpoint: trained"), "\(restored.stderr)")
        #expect(trained() == 2)
    }
}

/// Issue 23, "runs that go stale": the run key hashed the blocks, params and declared `data:`
/// files; a file read by any other path changed, and the next build restored the old run.
@Suite("A cached run is reused only while the files it read are unchanged", .serialized)
struct ObservedInputTests {
    static let chapter = """
    ---
    title: Reads
    ---
    # Reads

    The table holds {{rows ≈ 3 ± 0}} rows.

    ```swift
    let text = try! String(contentsOfFile: "chapters/table.csv", encoding: .utf8)
    record("rows", text.split(separator: "\\n").count)
    ```
    """

    @Test func editingAFileTheProgramReadRerunsTheChapter() throws {
        let book = try Book()
        try book.write("reads.md", Self.chapter)
        try book.write("table.csv", "a,1\nb,2\nc,3\n")
        let first = try book.run("build")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try book.run("build").stderr.contains("restored from cache"))
        // The file is not declared anywhere; only the program's read of it ties it to the run.
        try book.write("table.csv", "a,1\nb,2\nc,3\nd,4\n")
        let edited = try book.run("build")
        #expect(edited.stderr.contains("rerun (file chapters/table.csv changed (the program read it))"), "\(edited.stderr)")
        #expect(edited.status == 1)
        #expect(edited.stderr.contains("rows"), "\(edited.stderr)")
        // Put back: the chapter passes again, and a second build restores it.
        try book.write("table.csv", "a,1\nb,2\nc,3\n")
        #expect(try book.run("build").status == 0)
        #expect(try book.run("build").stderr.contains("restored from cache"))
    }

    @Test func theLogListsFilesOutsideTheSystemAndToolchainOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("observed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("cache"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.txt"), cached = dir.appendingPathComponent("cache/x.json")
        try "1".write(to: data, atomically: true, encoding: .utf8)
        try "{}".write(to: cached, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("opened.txt")
        let counter = dir.appendingPathComponent("runs.txt")
        try "x".write(to: counter, atomically: true, encoding: .utf8)
        // The program read runs.txt and wrote it back: its own state, not an input.
        try ([data.path, data.path, cached.path, "/etc/hostname", "/proc/self/maps", dir.path, dir.appendingPathComponent("gone.txt").path,
              counter.path].map { "R" + $0 } + ["W" + counter.path])
            .joined(separator: "\n").write(to: log, atomically: true, encoding: .utf8)
        let observed = ObservedInputs.read(log: log, excluding: [dir.appendingPathComponent("cache")])
        #expect(observed.complete)
        #expect(Array(observed.files.keys) == [data.resolvingSymlinksInPath().path])
        #expect(observed.change(relativeTo: dir) == nil)
        try "2".write(to: data, atomically: true, encoding: .utf8)
        #expect(observed.change(relativeTo: dir) == "file data.txt changed (the program read it)")
        try "#truncated".write(to: log, atomically: true, encoding: .utf8)
        #expect(!ObservedInputs.read(log: log, excluding: []).complete)
    }
}
