import BookProtocol
@testable import BookRuntime
import Foundation
import Testing

/// `sideBySide` in chapter code: one combined progress line, and nothing for the page from
/// inside an element.
@Suite("sideBySide in chapters")
struct SideBySideRuntimeTests {
    @Test func progressOfTheElementsIsOneLine() throws {
        let r = Recorder()
        r.context.currentBlock = 2
        let results = r.run {
            sideBySide([0, 1]) { i -> Int in
                for epoch in 1 ... 3 { progress(epoch: epoch, of: 3, metrics: ["ppl": Double(10 + i)]) }
                return 10 * i
            }
        }
        #expect(results == [0, 10])
        let lines = try r.events().map { event -> (Int, Int, Int, [String: Double]) in
            guard case .progress(let block, let step, let of, let metrics, _) = event else {
                Issue.record("not a progress event: \(event)"); return (0, 0, 0, [:])
            }
            return (block, step, of, metrics)
        }
        #expect(lines.count == 6)
        #expect(lines.allSatisfy { $0.0 == 2 && $0.2 == 6 }, "every line is block 3's, of both elements' 6 epochs")
        #expect(lines.map(\.1).max() == 6)
        for (_, _, _, metrics) in lines {
            #expect(Set(metrics.keys).isSubset(of: ["ppl #1", "ppl #2"]))
            if let one = metrics["ppl #1"] { #expect(one == 10) }
            if let two = metrics["ppl #2"] { #expect(two == 11) }
        }
    }

    @Test func theCombinedLineCountsFinishedAndUnreportedElements() {
        let p = SideBySideProgress(count: 2)
        let first = p.report(0, epoch: 1, of: 10, metrics: ["ppl": 5], tokensPerSecond: 100)
        // The second element has not reported: it counts as long as the first.
        #expect(first.step == 1 && first.of == 20 && first.metrics == ["ppl #1": 5] && first.tokensPerSecond == 100)
        let both = p.report(1, epoch: 2, of: 4, metrics: ["ppl": 7], tokensPerSecond: 50)
        #expect(both.step == 3 && both.of == 14 && both.metrics == ["ppl #1": 5, "ppl #2": 7] && both.tokensPerSecond == 150)
        p.finish(0)  // returned after epoch 1: its 10 epochs count in full
        let last = p.report(1, epoch: 3, of: 4, metrics: ["ppl": 6], tokensPerSecond: nil)
        #expect(last.step == 13 && last.of == 14 && last.metrics == ["ppl #2": 6] && last.tokensPerSecond == nil)
    }

    @Test func onlyProgressAndFailuresMayLeaveAnElement() {
        let finding = Finding(kind: .expect, label: "loss is small", passed: true, message: "", block: 0)
        let refused: [(ChannelEvent, String)] = [
            (.output(block: 0, .svg("<svg/>", caption: nil)), "show inside sideBySide"),
            (.metric(block: 0, name: "ppl", value: 1), "record(\"ppl\") inside sideBySide"),
            (.check(finding), "a check (loss is small) inside sideBySide"),
            (.checkpoint(CheckpointNote(block: 0, name: "runs", restored: false, computedAt: "", seconds: 0)),
             "checkpoint(\"runs\") inside sideBySide"),
        ]
        for (event, start) in refused {
            #expect(SideBySideTask.problem(emitting: event)?.hasPrefix(start) == true, "\(event)")
        }
        #expect(SideBySideTask.problem(emitting: .progress(block: 0, step: 1, of: 2, metrics: [:], tokensPerSecond: nil)) == nil)
        #expect(SideBySideTask.problem(emitting: .failure(block: 0, message: "x")) == nil)
    }

    @Test func aCheckpointInsideAnElementIsRefused() throws {
        let dir = try temporaryFolder("side-by-side")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = Recorder(checkpoints: CheckpointConfiguration(directory: dir.path, blockKeys: ["0": "key"], callKeys: [:],
                                                               restore: true, keepPerName: 2))
        r.context.currentBlock = 0
        let ran = r.run {
            sideBySide([0]) { _ in
                BookContext.shared.checkpointValue("runs", line: 3) { 1 }
            }
        }
        guard case .failure(let error) = ran[0] else { Issue.record("the checkpoint ran: \(ran)"); return }
        #expect(error.description.contains("wrap the whole sideBySide call in the checkpoint"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
