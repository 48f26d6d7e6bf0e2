import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// A block that crashes must say why, not only where: the reason (the engine's check message, the
/// runtime's "Index out of range") and the Markdown line both reach the block's error. Chapter
/// programs are compiled with -O, where `precondition` drops its message; the engine's checks use
/// `checkPrecondition`, which keeps it. Uses `Book` from EndToEndTests.swift.
///
/// The Markdown line of the failing call comes from the backtrace, which walks frame pointers:
/// chapter programs are compiled with them (Toolchain.compileArguments), else it stops inside the
/// engine. For an index out of range in -O chapter code the compiler emits a bare trap, and the
/// report names `Array.subscript.getter` but nowhere says "Index out of range": the runner
/// translates that frame.
@Suite("Crash reasons reach the block's error", .serialized)
struct CrashReasonTests {
    /// A two-block chapter whose second block (code lines 8 to 10) crashes on line 10.
    static func chapter(_ title: String, crashingBlock code: String) -> String {
        """
        # \(title)

        ```swift
        print("kept")
        ```

        ```swift
        \(code)
        ```
        """
    }

    /// Builds the chapter, checks that block 2 failed (its error names the block's first line),
    /// and returns the error.
    static func blockError(_ slug: String, _ code: String) throws -> String {
        let book = try Book()
        try book.write("\(slug).md", chapter(slug, crashingBlock: code))
        let run = try book.run("build")
        #expect(run.status == 1, "\(run.stderr)")
        let r = try book.result(slug)
        #expect(r.blocks.map(\.status) == [.passed, .failed])
        let error = try #require(r.blocks[1].error)
        #expect(error.hasPrefix("chapters/\(slug).md:8:1: block 2 crashed"), "\(error)")
        return error
    }

    @Test func engineShapeCheckKeepsItsMessage() throws {
        let error = try Self.blockError("shapes", """
        let x = Tensor<Float>(zeros: [2, 3])
        let w = Tensor<Float>(zeros: [4, 5])
        print(x.matmul(w))
        """)
        #expect(error.contains("matmul: shapes [2, 3] and [4, 5] do not chain: 3 vs 4"), "\(error)")
        #expect(error.contains("chapters/shapes.md:10"), "\(error)")
    }

    /// A check in Engine/Text, which used `precondition` (message lost under -O) before.
    @Test func textCheckKeepsItsMessage() throws {
        let error = try Self.blockError("batches", """
        var generator = PCG64(seed: 1)
        let tokens = [1, 2, 3, 4, 5]
        print(minibatches(of: tokens, batchSize: 0, numSteps: 2, sampling: .random, generator: &generator).count)
        """)
        #expect(error.contains("minibatches: batchSize and numSteps must be positive, got 0, 2"), "\(error)")
        #expect(error.contains("chapters/batches.md:10"), "\(error)")
    }

    @Test func indexOutOfRangeKeepsItsReason() throws {
        let error = try Self.blockError("bounds", """
        let a = [1, 2, 3]
        print("before")
        print(a[5])
        """)
        #expect(error.contains("chapters/bounds.md:10"), "\(error)")
        // Under -O the compiler emits a bare trap; the runner names it from frame 0.
        #expect(error.contains("Index out of range (Array subscript"), "\(error)")
    }

    /// Runtime failures whose reason is only in the backtracer's header line.
    @Test(arguments: [
        ("let x: Int? = Int(\"no\")\nprint(x!)", "Unexpectedly found nil while unwrapping an Optional value"),
        ("var n = Int.max - Int(CommandLine.arguments.count)\nn += 5\nprint(n)", "arithmetic overflow"),
        ("let d = Int(CommandLine.arguments.count) - 1\nprint(10 / d)", "Division by zero"),
    ])
    func runtimeFailuresKeepTheirReason(code: String, reason: String) throws {
        let error = try Self.blockError("runtime", code)
        #expect(error.contains("Swift runtime failure: \(reason)"), "\(error)")
    }
}
