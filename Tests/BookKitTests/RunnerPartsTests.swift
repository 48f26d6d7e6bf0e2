import Foundation
import Testing
@testable import BookKit

/// The runner's parts tested directly: how a long captured stream is cut per block, how the
/// compiler's diagnostics are read, and the test helper's own plumbing.
@Suite("Runner parts")
struct RunnerPartsTests {
    func file(_ data: Data) throws -> (URL, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("stream").path
        try data.write(to: URL(fileURLWithPath: path))
        return (dir, path)
    }

    /// Short pieces are kept whole and the block offsets stay where they were.
    @Test func shortBlocksAreKeptWhole() throws {
        let (dir, path) = try file(Data("first\nsecond block\n".utf8))
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = BoundedOutput(path: path, cuts: [0, 6])
        #expect(String(decoding: out.data, as: UTF8.self) == "first\nsecond block\n")
        #expect(out.offset(0) == 0 && out.offset(6) == 6 && out.offset(19) == 19)
    }

    /// A block that printed far more than is kept keeps its head and its tail around a marker
    /// that says how much is missing; the next block's offset moves with the cut.
    @Test func aLongBlockKeepsItsHeadAndTail() throws {
        let long = Data(repeating: UInt8(ascii: "a"), count: 600_000)
        let data = Data("HEAD".utf8) + long + Data("TAIL\n".utf8) + Data("next\n".utf8)
        let (dir, path) = try file(data)
        defer { try? FileManager.default.removeItem(at: dir) }
        let nextStart = data.count - 5
        let out = BoundedOutput(path: path, cuts: [0, nextStart])
        let text = String(decoding: out.data, as: UTF8.self)
        #expect(text.hasPrefix("HEAD"))
        #expect(text.hasSuffix("TAIL\nnext\n"))
        let dropped = nextStart - 2 * keptOutputBytesPerEnd
        #expect(text.contains("… [\(dropped) bytes not kept] …"))
        #expect(out.data.count < 2 * keptOutputBytesPerEnd + 100)
        #expect(String(decoding: out.data[out.offset(nextStart)...], as: UTF8.self) == "next\n")
    }

    /// Each diagnostic takes its file, line, column, severity and message, and the compiler's
    /// excerpt lines under it (a few, not the next diagnostic's).
    @Test func diagnosticsAreReadWithTheirExcerpts() {
        let output = """
        chapters/02-rnn.md:12:7: error: cannot find 'Wxh' in scope
         10 | let X = Tensor<Double>(shape: [2, 3])
         11 | let H = X
         12 | print(Wxh)
            |       `- error: cannot find 'Wxh' in scope
        chapters/02-rnn.md:20:1: warning: variable 'k' was never used
        some unrelated line
        """
        let ds = Diagnostic.parse(output)
        #expect(ds.count == 2)
        #expect(ds[0].file == "chapters/02-rnn.md" && ds[0].line == 12 && ds[0].column == 7 && ds[0].severity == "error")
        #expect(ds[0].message == "cannot find 'Wxh' in scope")
        #expect(ds[0].text.split(separator: "\n").count == 5)
        #expect(ds[1].severity == "warning" && ds[1].line == 20)
        #expect(ds[1].text == "chapters/02-rnn.md:20:1: warning: variable 'k' was never used")
        // The Markdown line goes under a diagnostic pointed into its source, with a caret.
        let pointed = ds[0].pointingInto((1...11).map { "line \($0)" }.joined(separator: "\n") + "\nprint(Wxh)\n")
        #expect(pointed.text.hasSuffix("\n    print(Wxh)\n          ^"))
    }

    /// The test helper reads both streams at once: a program that writes far more than a pipe
    /// holds to stderr before it writes stdout is read to the end, not waited on for ever.
    @Test func theBinaryRunnerDrainsBothStreams() throws {
        let book = try Book()
        let script = "head -c 300000 /dev/zero | tr '\\\\0' e >&2; echo out"
        let run = try book.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", script])
        #expect(run.status == 0)
        #expect(run.stdout == "out\n")
        #expect(run.stderr.utf8.count == 300_000)
    }
}
