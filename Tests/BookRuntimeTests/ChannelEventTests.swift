import BookProtocol
@testable import BookRuntime
import Engine
import Foundation
import Synchronization
import Testing

/// `verify`, `expect`, `show` and the block markers, called in-process: what each puts on the
/// sealed side channel, decoded as the runner decodes it.
@Suite("Runtime events")
struct ChannelEventTests {
    static let output = EquationSource(label: "eq-output", tex: #"\mathbf{O} = \mathbf{H} \mathbf{W} + \mathbf{B}"#,
                                       file: "chapters/07-test.md", line: 41)

    /// Values that tell the equation's mutants apart: no symmetry, no zeros, no equal entries.
    static let H = Tensor<Double>([[0.3, -1.2, 2.0], [1.7, 0.4, -0.9]])
    static let W = Tensor<Double>([[1.1, -0.6], [0.25, 2.2], [-1.4, 0.8]])
    static let B = Tensor<Double>([[0.05, -0.3], [0.7, 0.15]])

    /// O = H W + B, by hand (not with the engine whose product the check compares against).
    static func product(_ h: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>) -> Tensor<Double> {
        var o = [Double]()
        for i in 0..<2 { for j in 0..<2 { o.append((0..<3).reduce(b.scalars[i * 2 + j]) { $0 + h.scalars[i * 3 + $1] * w.scalars[$1 * 2 + j] }) } }
        return Tensor(shape: [2, 2], scalars: o)
    }

    func recorder(block: Int = 2) -> Recorder {
        let r = Recorder()
        r.context.register(equations: [Self.output])
        r.context.currentBlock = block
        return r
    }

    @Test func aPassingEquationCheckReportsItsVerdictPlaceAndMutants() throws {
        let r = recorder()
        let O = Self.product(Self.H, Self.W, Self.B)
        let passed = r.run { verify("eq-output", ["O": O, "H": Self.H, "W": Self.W, "B": Self.B]) }
        #expect(passed)
        let findings = try r.findings()
        try #require(findings.count == 1)
        let f = findings[0]
        #expect(f.kind == .equation && f.label == "eq-output" && f.verdict == .passed)
        #expect(f.file == "chapters/07-test.md" && f.line == 41 && f.block == 2)
        #expect(f.tolerance == 1e-6)
        #expect(try #require(f.maxRelError) < 1e-12)
        #expect(f.shapes?["O"] == [2, 2] && f.shapes?["H"] == [2, 3])
        // A mutant judged against these values: some are killed, and a killed one is no survivor.
        let mutants = try #require(f.mutants)
        #expect(mutants.contains { $0.killed })
        #expect(!mutants.contains { $0.survived }, "survivors: \(mutants.filter(\.survived).map(\.description))")
    }

    @Test func aFailingEquationCheckSaysByHowMuch() throws {
        let r = recorder()
        var O = Self.product(Self.H, Self.W, Self.B)
        O = O + Tensor(shape: [2, 2], scalars: [0, 0, 0, 0.5])
        let passed = r.run { verify("eq-output", ["O": O, "H": Self.H, "W": Self.W, "B": Self.B]) }
        #expect(!passed)
        let f = try #require(try r.findings().first)
        #expect(f.verdict == .failed && f.kind == .equation && f.label == "eq-output")
        #expect(try #require(f.maxAbsError) == 0.5)
        #expect(try #require(f.maxRelError) > 1e-6)
        #expect(f.mutants == nil)
    }

    /// A NaN anywhere the check reads fails it: NaN compares false with everything, so a check
    /// written as `!(error > tolerance)` would pass it.
    @Test func aNaNNeverPassesACheck() throws {
        let r = recorder()
        var O = Self.product(Self.H, Self.W, Self.B)
        O = O + Tensor(shape: [2, 2], scalars: [0, .nan, 0, 0])
        #expect(!r.run { verify("eq-output", ["O": O, "H": Self.H, "W": Self.W, "B": Self.B]) })
        #expect(!r.run { expect("loss is small", Double.nan, near: 0, tolerance: 1e-7) })
        #expect(!r.run { expect("close", Tensor<Double>([.nan, 1]), near: Tensor<Double>([0, 1]), tolerance: 0.01) })
        let findings = try r.findings()
        try #require(findings.count == 3)
        #expect(findings.allSatisfy { $0.verdict == .failed })
        #expect(findings[1].message == "found nan, expected 0.0")
        #expect(findings[2].message.hasPrefix("element [0] is nan, expected 0.0 ± 0.01"))
    }

    @Test func aCheckOfAnUnknownLabelNamesTheLabelledEquations() throws {
        let r = recorder()
        #expect(!r.run { verify("eq-ouptut", ["O": Self.B]) })
        let f = try #require(try r.findings().first)
        #expect(f.verdict == .failed)
        #expect(f.message == "no equation labelled `eq-ouptut` in this chapter; labelled equations: eq-output")
    }

    /// `expect` reports its name, its verdict and the place of the call.
    @Test func expectReportsWhereItWasCalled() throws {
        let r = recorder(block: 4)
        #expect(r.run { expect("count", 3, equals: 3, file: "chapters/ex.md", line: 12, column: 5) })
        #expect(!r.run { expect("count", 4, equals: 3, file: "chapters/ex.md", line: 13, column: 5) })
        let findings = try r.findings()
        try #require(findings.count == 2)
        #expect(findings[0].kind == .expect && findings[0].verdict == .passed && findings[0].message == "equals 3")
        #expect(findings[1].verdict == .failed && findings[1].found == "4" && findings[1].expected == "3")
        #expect(findings[1].locationText == "chapters/ex.md:13:5" && findings[1].block == 4)
    }

    @Test func showEmitsTheOutputForTheRunningBlock() throws {
        let r = recorder(block: 3)
        r.run {
            show(table: [["epoch", "loss"], ["1", "2.5"]], caption: "training")
            show(Tensor<Float>(shape: [2, 2], scalars: [1, 2, 3, 4.5]), label: "W")
            show(plot: .bars(["a", "b"], [1, 2], y: "count"))
            record("final_loss", 0.125)
        }
        let events = try r.events()
        #expect(events == [
            .output(block: 3, .table(TableOutput(caption: "training", header: ["epoch", "loss"], rows: [["1", "2.5"]]))),
            .output(block: 3, .tensor(TensorOutput(label: "W", shape: [2, 2], values: [1, 2, 3, 4.5]))),
            .output(block: 3, .plot(PlotOutput(kind: .bars, yLabel: "count", series: [PlotSeries(name: "count", x: [0, 1], y: [1, 2])], categories: ["a", "b"]))),
            .metric(block: 3, name: "final_loss", value: 0.125),
        ])
    }

    /// Block markers: each start ends the block before it, and the chapter's end the last one.
    @Test func blocksStartAndEndInOrder() throws {
        let r = Recorder()
        r.run {
            _bookBlockStart(0)
            _bookBlockStart(1)
            _bookChapterEnd()
        }
        let shape = try r.events().map { e -> String in
            switch e {
            case .blockStart(let i, let out, let err): out >= 0 && err >= 0 ? "start \(i)" : "start \(i) at a negative offset"
            case .blockEnd(let i, let seconds): seconds >= 0 ? "end \(i)" : "end \(i) took \(seconds) s"
            default: "\(e)"
            }
        }
        #expect(shape == ["start 0", "end 0", "start 1", "end 1"])
        #expect(r.context.currentBlock == 1)
    }

    /// The lines are sealed with the context's key, in sequence: none opens under another key or
    /// at another place in the sequence (the reader would call the run tampered).
    @Test func eachLineIsSealedAtItsPlaceInTheSequence() throws {
        let r = recorder()
        r.run { show(table: [["a"]]); show(table: [["b"]]) }
        let lines = r.rawLines.map { Array($0.dropLast()) }
        try #require(lines.count == 2)
        #expect(r.seal.open(sequence: 0, line: lines[0]) != nil && r.seal.open(sequence: 1, line: lines[1]) != nil)
        #expect(r.seal.open(sequence: 1, line: lines[0]) == nil)
        #expect(r.seal.open(sequence: 0, line: lines[1]) == nil)
        let other = ChannelSeal(key0: r.seal.key.0 ^ 1, key1: r.seal.key.1)
        #expect(other.open(sequence: 0, line: lines[0]) == nil)
    }

    /// Symbols bound with `bindSymbols` are read when a check uses them, not when bound, and
    /// the check names them; a binding given to `verify` itself wins.
    @Test func boundSymbolsAreReadAtEachCheck() throws {
        let r = recorder()
        let weights = Mutex(Self.W)
        r.run {
            bindSymbols(["W": { weights.withLock { $0 } }, "H": { Self.H }, "B": { Self.B }])
            weights.withLock { $0 = Self.W + Tensor(repeating: 1, shape: [3, 2]) }
        }
        let changed = Self.product(Self.H, Self.W + Tensor(repeating: 1, shape: [3, 2]), Self.B)
        #expect(r.run { verify("eq-output", ["O": changed]) })
        #expect(!r.run { verify("eq-output", ["O": changed, "W": Self.W]) })
        let findings = try r.findings()
        try #require(findings.count == 2)
        #expect(findings[0].message.hasSuffix("[from bindSymbols, read at this check: B, H, W]"))
        #expect(findings[1].message.hasSuffix("[from bindSymbols, read at this check: B, H]"))
    }

    /// Without a channel (a program run by hand) events go nowhere, and the API still answers.
    @Test func withoutAChannelEventsAreDropped() throws {
        let context = BookContext(channel: nil)
        context.register(equations: [Self.output])
        let passed = BookContext.$injected.withValue(context) {
            verify("eq-output", ["O": Self.product(Self.H, Self.W, Self.B), "H": Self.H, "W": Self.W, "B": Self.B])
        }
        #expect(passed)
    }
}
