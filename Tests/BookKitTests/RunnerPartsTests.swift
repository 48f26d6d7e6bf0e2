import Foundation
import Testing
@testable import BookKit
import BookProtocol

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

/// More of the runner's parts, each at its edges: the captured streams' cuts, the compiler's
/// diagnostics, and the side channel's reader fed one line at a time.
@Suite("Runner parts at their edges")
struct RunnerEdgeTests {
    func folder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-edges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A piece up to twice the kept bytes plus the marker's allowance is kept whole; one byte
    /// more and it is cut to its head and tail.
    @Test func aBlockIsCutOnlyPastTheThreshold() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = 2 * keptOutputBytesPerEnd + 2048
        for (size, cut) in [(whole, false), (whole + 1, true)] {
            let path = dir.appendingPathComponent("stream-\(size)").path
            try Data(repeating: UInt8(ascii: "x"), count: size).write(to: URL(fileURLWithPath: path))
            let out = BoundedOutput(path: path, cuts: [0])
            #expect(out.data.count == (cut ? 2 * keptOutputBytesPerEnd + "\n… [\(size - 2 * keptOutputBytesPerEnd) bytes not kept] …\n".utf8.count : size), "size \(size)")
            #expect(out.offset(size) == out.data.count)
        }
    }

    /// Offsets outside the file (a block that started before a stream was truncated, a negative
    /// offset from a failed lseek) are moved to its ends; a missing file reads as empty.
    @Test func offsetsOutsideTheFileAreClamped() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("stream").path
        try Data("0123456789".utf8).write(to: URL(fileURLWithPath: path))
        let out = BoundedOutput(path: path, cuts: [-5, 4, 1000])
        #expect(String(decoding: out.data, as: UTF8.self) == "0123456789")
        #expect(out.offset(-5) == 0 && out.offset(4) == 4 && out.offset(1000) == 10)
        let missing = BoundedOutput(path: dir.appendingPathComponent("absent").path, cuts: [0, 3])
        #expect(missing.data.isEmpty && missing.offset(3) == 0)
    }

    /// A path with a colon and a message with colons are split at the `line:column: severity:`
    /// that follows the path; notes count; the excerpt under one diagnostic stops at five lines.
    @Test func diagnosticsWithColonsNotesAndLongExcerpts() {
        let output = """
        warning: unrelated line before any diagnostic
        chapters/a:b.md:3:14: error: cannot convert value of type 'Int' to expected argument type 'Double': here
          1 | a
          2 | b
          3 | c
          4 | d
          5 | e
          6 | f
        chapters/a:b.md:9:1: note: 'x' declared here
        """
        let ds = Diagnostic.parse(output)
        #expect(ds.count == 2)
        #expect(ds[0].file == "chapters/a:b.md" && ds[0].line == 3 && ds[0].column == 14 && ds[0].severity == "error")
        #expect(ds[0].message == "cannot convert value of type 'Int' to expected argument type 'Double': here")
        #expect(ds[0].text.split(separator: "\n").count == 6)
        #expect(ds[0].text.hasSuffix("  5 | e"))
        #expect(ds[1].severity == "note" && ds[1].file == "chapters/a:b.md" && ds[1].line == 9)
        // A diagnostic past the source's last line gets no excerpt rather than a wrong one.
        #expect(ds[1].pointingInto("one line\n").text == "chapters/a:b.md:9:1: note: 'x' declared here")
    }

    // The side channel's reader, fed as a running program writes.

    let seal = ChannelSeal(key0: 0x0123456789abcdef, key1: 42)
    func line(_ event: ChannelEvent, _ n: UInt64) throws -> Data {
        Data(seal.seal(sequence: n, body: Array(try ChannelCoding.encoder().encode(event))) + [0x0A])
    }
    func append(_ data: Data, to url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }
    func channel() throws -> (URL, URL, ChannelReader) {
        let dir = try folder()
        let url = dir.appendingPathComponent("channel.jsonl")
        try Data().write(to: url)
        return (dir, url, ChannelReader(path: url.path, seal: seal))
    }

    static let start = ChannelEvent.blockStart(index: 2, stdoutOffset: 10, stderrOffset: 0)
    static let check = ChannelEvent.check(Finding(kind: .expect, label: "converged", passed: true, maxAbsError: .nan,
                                                  message: "holds", block: 2))
    static let metric = ChannelEvent.metric(block: 2, name: "loss", value: 0.1)

    /// Sealed lines come back as the very events, a NaN error included, read by increments.
    @Test func wellFormedLinesAreReadAsTheirEvents() throws {
        let (dir, url, reader) = try channel()
        defer { try? FileManager.default.removeItem(at: dir) }
        try append(try line(Self.start, 0) + line(Self.check, 1), to: url)
        let first = reader.readNew()
        #expect(first.count == 2 && first[0] == Self.start)
        guard case .check(let f)? = first.last else { Issue.record("not a check: \(first)"); return }
        #expect(f.label == "converged" && f.passed && f.maxAbsError?.isNaN == true)
        #expect(reader.readNew().isEmpty)
        try append(try line(Self.metric, 2), to: url)
        #expect(reader.readNew() == [Self.metric])
        #expect(!reader.tampered)
    }

    /// A line still being written is not read (nor called forged) until its newline arrives.
    @Test func aTruncatedLastLineWaitsForItsEnd() throws {
        let (dir, url, reader) = try channel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let metric = try line(Self.metric, 1)
        let cut = metric.count / 2
        try append(try line(Self.start, 0) + metric.prefix(cut), to: url)
        #expect(reader.readNew() == [Self.start])
        #expect(reader.readNew().isEmpty && !reader.tampered)
        try append(metric.dropFirst(cut), to: url)
        #expect(reader.readNew() == [Self.metric])
        #expect(!reader.tampered)
    }

    /// A tag one bit off, and a line whose place in the sequence is skipped (a line removed), are
    /// not the runtime's: the run is tampered, the failure lands in the last block started, and
    /// nothing is read after, not even genuine lines.
    @Test(arguments: ["forged tag", "line removed"])
    func aLineOutOfTheSealStopsTheReader(kind: String) throws {
        let (dir, url, reader) = try channel()
        defer { try? FileManager.default.removeItem(at: dir) }
        var bad: Data
        if kind == "forged tag" {
            bad = try line(Self.check, 1)
            let hex = Array("0123456789abcdef".utf8)
            let i = hex.firstIndex(of: bad[15])!
            bad[15] = hex[i ^ 1]
        } else {
            bad = try line(Self.check, 2)
        }
        try append(try line(Self.start, 0) + bad, to: url)
        let events = reader.readNew()
        #expect(reader.tampered)
        #expect(events == [Self.start, .failure(block: 2, message: ChannelReader.tamperMessage)])
        try append(try line(Self.metric, 1), to: url)
        #expect(reader.readNew().isEmpty)
    }

    /// A sealed line that is not an event is corruption, not forgery: its block fails, and the
    /// lines after it are still read.
    @Test func aSealedLineThatIsNoEventFailsItsBlock() throws {
        let (dir, url, reader) = try channel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = Data(seal.seal(sequence: 1, body: Array(#"{"noSuchEvent":{}}"#.utf8)) + [0x0A])
        try append(try line(Self.start, 0) + junk + line(Self.metric, 2), to: url)
        let events = reader.readNew()
        #expect(!reader.tampered)
        #expect(events == [Self.start, .failure(block: 2, message: #"side channel: unreadable event {"noSuchEvent":{}}"#), Self.metric])
    }
}

/// The one environment variable name C code must spell itself: the preloaded open log reads the
/// name `BookEnvironment.openLog` gives (a rename on one side only would leave every cached run
/// without its list of files read, and so never reused).
@Test func theOpenLogReadsTheVariableTheRunnerSets() throws {
    let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/COpenLog/openlog.c")
    let text = try String(contentsOf: source, encoding: .utf8)
    #expect(text.contains("getenv(\"\(BookEnvironment.openLog)\")"))
}

/// An `expect-error=run` block runs in a forked child whose events (what it shows, its reason
/// for failing) reach the channel numbered after the parent's; the parent then goes on after
/// them. It used to reuse the child's numbers, and the reader took the run for tampered.
@Test func eventsOfExpectErrorBlocksKeepTheChannelInSequence() throws {
    let book = try Book()
    try book.write("e.md", """
    # E

    ```swift
    print("before")
    ```

    ```swift expect-error=run message="first reason"
    show(table: [["shown"], ["before failing"]])
    failBlock("first reason")
    ```

    ```swift expect-error=run message="second reason"
    failBlock("second reason")
    ```

    ```swift
    expect("after both", true)
    ```

    """)
    let run = try book.run("build")
    #expect(run.status == 0, "\(run.stderr)")
    let result = try book.result("e")
    #expect(result.channelTampered != true)
    let checks = result.findings.filter(\.kind.isCheck).map { "\($0.kind) \($0.label) \($0.verdict)" }
    #expect(checks == ["expectError block 2 passed", "expectError block 3 passed", "expect after both passed"])
    #expect(result.blocks.first { $0.index == 1 }?.outputs == [.table(TableOutput(header: ["shown"], rows: [["before failing"]]))])
}
