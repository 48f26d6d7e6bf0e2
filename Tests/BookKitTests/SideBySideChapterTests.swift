import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// `sideBySide` in a chapter built by the real runner: results in order, and what an element
/// tries to put on the page fails the block at the call.
@Suite("sideBySide in a built chapter", .serialized)
struct SideBySideChapterTests {
    @Test func resultsComeBackInOrderAndAShowInsideFailsTheBlock() throws {
        let book = try Book()
        try book.write("sbs.md", """
        # Side by side

        ```swift
        let squares = sideBySide([1, 2, 3, 4]) { n -> Int in
            progress(epoch: 1, of: 1, metrics: ["n": Double(n)])
            return n * n
        }
        print(squares)
        record("sum", squares.reduce(0, +))
        ```

        The sum is {{sum ≈ 30 ± 0}}.

        ```swift
        let shown = sideBySide([1, 2]) { n -> Int in
            show(table: [["\\(n)"]])
            return n
        }
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 1)
        let r = try book.result("sbs")
        #expect(r.blocks.map(\.status) == [.passed, .failed])
        #expect(r.blocks[0].stdout == "[1, 4, 9, 16]\n")
        #expect(r.metrics["sum"] == 30)
        #expect(r.blocks[1].error?.contains("show inside sideBySide: show the results after sideBySide returns") == true,
                "\(r.blocks[1].error ?? "no error")")
    }

    /// `verify` judges mutants in forked children: inside an element it fails at once instead.
    @Test func aVerifyInsideAnElementFailsTheBlock() throws {
        let book = try Book()
        try book.write("sbsv.md", """
        # Verify side by side

        $$y = 2 x$$ {#eq-double}

        ```swift
        let ys = sideBySide([1.0, 2.0]) { x -> Double in
            verify("eq-double", ["y": 2 * x, "x": x])
            return 2 * x
        }
        ```
        """)
        let run = try book.run("build")
        #expect(run.status == 1)
        let r = try book.result("sbsv")
        #expect(r.blocks.map(\.status) == [.failed])
        #expect(r.blocks[0].error?.contains("verify(\"eq-double\") inside sideBySide") == true, "\(r.blocks[0].error ?? "no error")")
    }
}
