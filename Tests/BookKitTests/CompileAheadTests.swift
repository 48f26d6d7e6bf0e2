import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// `rnnbook build` runs one chapter at a time, and compiles the next ones while it runs.
@Suite("Compiling ahead", .serialized)
struct CompileAheadTests {
    /// The first chapter waits (up to a minute) for the second chapter's program to appear in
    /// the program cache: it can only appear while the first runs if the compiler works ahead.
    @Test func theNextChapterIsCompiledWhileTheFirstRuns() throws {
        let book = try Book()
        let programs = book.root.appendingPathComponent("output/.cache/programs/b").path
        try book.write("a.md", """
        # A

        ```swift
        import Foundation
        func compiledB() -> Bool {
            let fm = FileManager.default
            let keys = (try? fm.contentsOfDirectory(atPath: "\(programs)")) ?? []
            return keys.contains { fm.isExecutableFile(atPath: "\(programs)/" + $0 + "/chapter") }
        }
        var waited = 0
        while !compiledB() && waited < 600 { usleep(100_000); waited += 1 }
        print(compiledB() ? "b was compiled while a ran" : "b was not compiled while a ran")
        ```
        """)
        try book.write("b.md", """
        # B

        ```swift
        print("b ran")
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try book.result("a").blocks[0].stdout == "b was compiled while a ran\n")
        let b = try book.result("b")
        #expect(b.blocks[0].stdout == "b ran\n")
        #expect(b.compileSeconds > 0, "the compile done ahead is reported, not 0 s")
        // A cached run needs no program: a second build compiles nothing and runs nothing.
        let again = try book.run("build")
        #expect(again.status == 0)
        #expect(try book.result("b").cached)
    }
}
