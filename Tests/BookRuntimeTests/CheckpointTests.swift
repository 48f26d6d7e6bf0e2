import BookProtocol
@testable import BookRuntime
import Foundation
import Synchronization
import Testing

/// `checkpoint` across runs: each run is a fresh context over the same checkpoint folder, as
/// each build is a fresh chapter program.
@Suite("Checkpoints")
struct CheckpointTests {
    /// A value with awkward numbers, to see it come back bit for bit.
    struct Trained: Codable, Equatable {
        var weights: [Double]
        var steps: Int
    }
    static let trained = Trained(weights: [0.1, -0.0, 1e-300, .greatestFiniteMagnitude], steps: 35)

    func configuration(_ dir: URL, restore: Bool = true, callKeys: [String: String] = [:]) -> CheckpointConfiguration {
        CheckpointConfiguration(directory: dir.path, blockKeys: ["1": "blockkey-1"], callKeys: callKeys, restore: restore, keepPerName: 4)
    }

    /// One run of a block holding `checkpoint("model") { … }` at Markdown line 30: the value,
    /// how many times the closure ran, and the run's events.
    func runBlock(_ configuration: CheckpointConfiguration) throws -> (Trained, Int, [ChannelEvent]) {
        let r = Recorder(checkpoints: configuration)
        r.context.currentBlock = 1
        let ran = Mutex(0)
        let value = r.run {
            checkpoint("model", line: 30) { () -> Trained in
                ran.withLock { $0 += 1 }
                show(table: [["epoch", "loss"], ["1", "0.5"]])
                record("model_loss", 0.5)
                progress(epoch: 1, of: 1, metrics: ["loss": 0.5])
                return Self.trained
            }
        }
        return (value, ran.withLock { $0 }, try r.events())
    }

    static let table = ChannelEvent.output(block: 1, .table(TableOutput(header: ["epoch", "loss"], rows: [["1", "0.5"]])))
    static let metric = ChannelEvent.metric(block: 1, name: "model_loss", value: 0.5)

    func note(_ events: [ChannelEvent]) -> CheckpointNote? {
        events.compactMap { if case .checkpoint(let n) = $0 { n } else { nil } }.first
    }

    /// Computed once and stored; the next run restores the value without running the closure,
    /// replays what the closure showed and recorded (not its progress), and says when it was
    /// computed; `--force` (restore false) computes it again.
    @Test func aValueIsStoredThenRestoredThenComputedAgainUnderForce() throws {
        let dir = try temporaryFolder("checkpoint")
        defer { try? FileManager.default.removeItem(at: dir) }

        let (first, ranFirst, firstEvents) = try runBlock(configuration(dir))
        #expect(first == Self.trained && ranFirst == 1)
        let computed = try #require(note(firstEvents))
        #expect(computed.block == 1 && computed.name == "model" && !computed.restored && computed.note == nil)
        #expect(Array(firstEvents.prefix(2)) == [Self.table, Self.metric])
        #expect(firstEvents.count == 4, "table, metric, progress, note: \(firstEvents)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(files == ["blockkey-1.model.0.checkpoint"])

        let (second, ranSecond, secondEvents) = try runBlock(configuration(dir))
        #expect(ranSecond == 0)
        #expect(second.weights.map(\.bitPattern) == Self.trained.weights.map(\.bitPattern) && second.steps == 35)
        #expect(secondEvents.count == 3)
        #expect(Array(secondEvents.prefix(2)) == [Self.table, Self.metric])
        let restored = try #require(note(secondEvents))
        #expect(restored.restored && restored.computedAt == computed.computedAt && restored.seconds == computed.seconds)

        let (third, ranThird, thirdEvents) = try runBlock(configuration(dir, restore: false))
        #expect(third == Self.trained && ranThird == 1)
        let forced = try #require(note(thirdEvents))
        #expect(!forced.restored && forced.note == "--force: computed again")
    }

    /// The key of the call's own line wins over its block's: an edit after the call in the same
    /// block keys the same value.
    @Test func theCallsOwnKeyNamesTheStoredFile() throws {
        let dir = try temporaryFolder("checkpoint")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try runBlock(configuration(dir, callKeys: ["1:30": "callkey-30", "1:31": "callkey-31"]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["callkey-30.model.0.checkpoint"])
        #expect(configuration(dir, callKeys: ["1:30": "c"]).key(block: 1, line: 29) == "blockkey-1")
        #expect(configuration(dir).key(block: 2, line: 30) == nil)
    }

    /// Without a configuration (a sandbox, a program run by hand) the closure runs every time and
    /// nothing is said; with one the runner named but could not be read, the note says why.
    @Test func withoutAConfigurationTheClosureJustRuns() throws {
        let r = Recorder()
        let value = r.run { checkpoint("model") { 41 + 1 } }
        #expect(value == 42)
        #expect(try r.events().isEmpty)

        let unread = Recorder(checkpointProblem: "the checkpoint configuration /x.json could not be read (no such file)")
        #expect(unread.run { checkpoint("model") { 7 } } == 7)
        let note = try #require(note(try unread.events()))
        #expect(!note.restored && note.note == "not stored: the checkpoint configuration /x.json could not be read (no such file)")
    }

    /// A closure that makes a check cannot be restored (the page would show a check this build
    /// did not make), and a name that cannot be part of a file name is refused.
    @Test func misusesAreRefusedWithTheReason() throws {
        let dir = try temporaryFolder("checkpoint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = Recorder(checkpoints: configuration(dir))
        r.context.currentBlock = 1
        let checked = r.run { r.context.checkpointValue("model", line: 30) { expect("converged", true) } }
        #expect(checked.failure?.description == "checkpoint 'model': its closure made checks (converged); a restored value would show checks this build did not make. Move verify/verifyGradient after the checkpoint.")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        let named = r.context.checkpointValue("seq model", line: 30) { 1 }
        #expect(named.failure?.description == "checkpoint name 'seq model': expected ASCII letters, digits, '-' or '_' (e.g. \"seq-model\")")
    }

    /// A checkpoint in a loop keeps one value per call.
    @Test func eachCallOfOneNameKeepsItsOwnValue() throws {
        let dir = try temporaryFolder("checkpoint")
        defer { try? FileManager.default.removeItem(at: dir) }
        for run in 0..<2 {
            let r = Recorder(checkpoints: configuration(dir))
            r.context.currentBlock = 1
            let values = r.run { (0..<3).map { i in checkpoint("step", line: 30) { i * 10 + run } } }
            #expect(values == [0, 10, 20], "run \(run)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
                == ["blockkey-1.step.0.checkpoint", "blockkey-1.step.1.checkpoint", "blockkey-1.step.2.checkpoint"])
    }

    /// The configuration file the runner writes is the one the runtime reads.
    @Test func theConfigurationCrossesThroughItsFile() throws {
        let dir = try temporaryFolder("checkpoint")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sent = configuration(dir, restore: false, callKeys: ["1:30": "k"])
        let path = dir.appendingPathComponent("checkpoints.json")
        try sent.encoded().write(to: path)
        let files = BookContext.runnerFiles([BookEnvironment.checkpoints: path.path])
        #expect(files.checkpoints == sent && files.checkpointProblem == nil)
        try Data("{}".utf8).write(to: path)
        let broken = BookContext.runnerFiles([BookEnvironment.checkpoints: path.path])
        #expect(broken.checkpoints == nil)
        #expect(broken.checkpointProblem?.hasPrefix("the checkpoint configuration \(path.path) could not be read (") == true)
    }
}
