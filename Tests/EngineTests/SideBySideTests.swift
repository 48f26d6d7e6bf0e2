import Foundation
import Synchronization
import Testing
@testable import Engine

/// `sideBySideMap`: independent tasks on their own threads, results in order and to the bit as
/// when each runs alone.
@Suite("Independent work side by side")
struct SideBySideTests {
    /// Twelve SGD steps of a fresh fused model from `seed` on tokens drawn from `seed`: products
    /// big enough (32 rows by 256) to be cut into parts, so a task computing them on its own
    /// thread and the product threads computing them must agree.
    static func train(seed: UInt64) -> [Float] {
        var g = PCG64(seed: seed)
        let model = FusedRNNLanguageModel(weights: RNNWeights<Float>(vocabularySize: 28, hiddenSize: 256,
                                                                       standardDeviation: 0.05, generator: &g))
        let steps = 10, batch = 32
        var state: Tensor<Float>?
        for _ in 0 ..< 12 {
            let tokens = (0 ..< steps * batch + batch).map { _ in Int(g.next() % 28) }
            let r = model.trainStep(inputs: Array(tokens.prefix(steps * batch)), targets: Array(tokens.suffix(steps * batch)),
                                    batchSize: batch, initialState: state, learningRate: 1, clipNorm: 1)
            state = r.finalState
        }
        return model.weights.all.flatMap(\.scalars)
    }

    @Test func resultsComeInOrderAndEqualEachTaskRunAlone() {
        let seeds: [UInt64] = [3, 1, 4]
        let alone = seeds.map { seed in sideBySideMap(count: 1) { _ in Self.train(seed: seed) }[0] }
        let together = sideBySideMap(seeds, threads: 2) { Self.train(seed: $0) }
        let serial = sideBySideMap(seeds, threads: 1) { Self.train(seed: $0) }
        // Different seeds give different weights, so a result in the wrong slot cannot pass.
        #expect(alone[0] != alone[1] && alone[1] != alone[2])
        for i in seeds.indices {
            #expect(together[i] == alone[i], "task \(i) side by side differs from the task alone")
            #expect(serial[i] == alone[i], "task \(i) on one thread differs from the task alone")
        }
    }

    /// Each task waits for the other to start: only tasks that run at the same time can both
    /// get past that. While both run, neither uses the product threads.
    @Test func twoTasksRunAtTheSameTimeAndKeepTheirProductsToThemselves() {
        let started = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let looked = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        let seen = sideBySideMap(count: 2, threads: 2) { i -> (met: Bool, othersRunning: Bool, inside: Bool) in
            started[i].signal()
            let met = started[1 - i].wait(timeout: .now() + 30) == .success
            let others = SideBySideGroup.current?.othersRunning == true
            // Neither returns before both have looked.
            looked[i].signal()
            _ = looked[1 - i].wait(timeout: .now() + 30)
            return (met, others, SideBySideGroup.current != nil)
        }
        #expect(seen.map(\.met) == [true, true], "the tasks did not run at the same time")
        #expect(seen.map(\.othersRunning) == [true, true])
        #expect(seen.map(\.inside) == [true, true])
        #expect(SideBySideGroup.current == nil)
    }

    @Test func aMapInsideATaskRunsInOrderOnThatTasksThread() {
        let inner = sideBySideMap(count: 2, threads: 2) { _ -> [Bool] in
            let me = pthread_self()
            return sideBySideMap(count: 3, threads: 2) { _ in pthread_equal(pthread_self(), me) != 0 }
        }
        #expect(inner == [[true, true, true], [true, true, true]])
    }

    @Test func gradientRecordingIsCarriedToTheTaskThreads() {
        let inside = withoutGradients { sideBySideMap(count: 4, threads: 2) { _ in gradientsAreEnabled } }
        #expect(inside == [false, false, false, false])
        let outside = sideBySideMap(count: 4, threads: 2) { _ in gradientsAreEnabled }
        #expect(outside == [true, true, true, true])
    }

    @Test func noTasksAndOneThreadAreFine() {
        #expect(sideBySideMap(count: 0, threads: 2) { $0 }.isEmpty)
        #expect(sideBySideMap(count: 3, threads: 1) { $0 * 2 } == [0, 2, 4])
    }
}
