import Foundation
import Testing
import AVX2Kernels
import AVX512Kernels
import KernelSupport
@testable import Engine

/// The FMA peak probe, checked without timing anything (the machine is shared): the loop has
/// the chains a core needs, its FLOP count is what it computes, and the rate of threads that ran
/// together is computed from the window in which they all ran.
@Suite("bench: the FMA peak probe")
struct FMAPeakProbeTests {
    /// Two FMA pipes × 5 cycles (Haswell, Zen 2) need 10 chains in flight; the loop had exactly
    /// 10, with nothing to spare for its own overhead. 12 is the rule; the old loop fails it.
    @Test func theLoopHasEnoughIndependentChains() {
        #expect(KernelSupport.fmaLoopChainsNeeded == 12)
        #expect(KernelSupport.fmaLoopChains >= KernelSupport.fmaLoopChainsNeeded,
                "fmaLoop has \(KernelSupport.fmaLoopChains) chains; a core with 2 FMA pipes of 5-cycle latency needs \(KernelSupport.fmaLoopChainsNeeded)")
    }

    /// The vector loop computes what a scalar loop of `fmaLoopChains` chains × lanes computes:
    /// so the chain count the FLOP count is built from is the one the loop runs, and the FLOP
    /// count is 2 per lane per chain per iteration. A loop with a chain fewer or more (or a FLOP
    /// count that forgot one) fails here. Tolerance: relative 1e-5 (the sums differ only in
    /// their order of addition; one chain is 1/12 ≈ 8 % of the total).
    @Test(arguments: [1, 7, 100])
    func theLoopComputesWhatItsFLOPCountSays(iterations: Int) {
        let chains = KernelSupport.fmaLoopChains
        for (lanes, result, flops) in [
            (8, KernelSupport.fmaLoop(SIMD8<Float>.self, iterations: iterations, seed: 1.5),
             KernelSupport.fmaLoopFlopsPerIteration(SIMD8<Float>.self)),
            (16, KernelSupport.fmaLoop(SIMD16<Float>.self, iterations: iterations, seed: 1.5),
             KernelSupport.fmaLoopFlopsPerIteration(SIMD16<Float>.self)),
        ] {
            let reference = KernelSupport.fmaLoopReference(chains: chains, lanes: lanes, iterations: iterations, seed: 1.5)
            #expect(abs(result - reference) <= 1e-5 * abs(reference), "lanes \(lanes): loop \(result), scalar reference \(reference)")
            let fewer = KernelSupport.fmaLoopReference(chains: chains - 1, lanes: lanes, iterations: iterations, seed: 1.5)
            #expect(abs(result - fewer) > 1e-3 * abs(reference), "the reference must tell \(chains) chains from \(chains - 1)")
            #expect(flops == 2 * chains * lanes)
        }
        #expect(AVX2Kernels.fmaLoopFlopsPerIteration == 2 * chains * 8)
        #expect(AVX512Kernels.fmaLoopFlopsPerIteration == 2 * chains * 16)
        if AVX2Kernels.isSupported(cpuFlags: MatrixKernels.cpuFlags) {
            let reference = KernelSupport.fmaLoopReference(chains: chains, lanes: 8, iterations: iterations, seed: 1)
            let result = AVX2Kernels.fmaLoop(iterations: iterations, seed: 1)
            #expect(abs(result - reference) <= 1e-5 * abs(reference), "AVX2Kernels.fmaLoop \(result), reference \(reference)")
        }
    }

    typealias Burst = FMAPeakProbe.Burst

    /// Two threads whose bursts overlap completely: twice one thread's rate.
    @Test func threadsRunningTogetherAddUp() throws {
        let a = [Burst(start: 0, end: 1_000, flops: 50_000), Burst(start: 1_000, end: 2_000, flops: 50_000)]
        let b = [Burst(start: 0, end: 1_000, flops: 50_000), Burst(start: 1_000, end: 2_000, flops: 50_000)]
        let one = try #require(FMAPeakProbe.bestConcurrentRate([a], window: 1_000))
        let two = try #require(FMAPeakProbe.bestConcurrentRate([a, b], window: 1_000))
        #expect(abs(one - 50) < 1e-9)  // 50,000 FLOPs per 1,000 ns = 50 GFLOP/s
        #expect(abs(two - 100) < 1e-9)
    }

    /// Threads that took turns (one core, or the scheduler ran them one after the other) did not
    /// run at once: no shared span, no rate — summing their rates (or, as the old probe did,
    /// dividing both threads' FLOPs by the wall time) would credit work that never overlapped.
    @Test func threadsTakingTurnsHaveNoConcurrentRate() {
        let a = [Burst(start: 0, end: 1_000, flops: 50_000)]
        let b = [Burst(start: 1_000, end: 2_000, flops: 50_000)]
        #expect(FMAPeakProbe.sharedSpan([a, b]) == nil)
        #expect(FMAPeakProbe.bestConcurrentRate([a, b], window: 100) == nil)
        #expect(FMAPeakProbe.bestConcurrentRate([a, []], window: 100) == nil)
        #expect(FMAPeakProbe.bestConcurrentRate([], window: 100) == nil)
        // Overlapping for less than one window: no rate either.
        let c = [Burst(start: 900, end: 1_900, flops: 50_000)]
        #expect(FMAPeakProbe.bestConcurrentRate([a, c], window: 200) == nil)
        #expect(FMAPeakProbe.bestConcurrentRate([a, c], window: 100) != nil)
    }

    /// A thread that starts late (its wake-up, its creation) costs nothing: only the span where
    /// both ran counts, and the bursts across its edges count pro rata. The old probe timed from
    /// before the threads were created, so a 500 ns late start cost it a third of the rate here.
    @Test func aLateStartIsNotCountedAgainstThePeak() throws {
        let early = (0 ..< 3).map { Burst(start: UInt64($0) * 500, end: UInt64($0 + 1) * 500, flops: 25_000) }
        let late = (1 ..< 3).map { Burst(start: UInt64($0) * 500, end: UInt64($0 + 1) * 500, flops: 25_000) }
        #expect(FMAPeakProbe.sharedSpan([early, late]) == 500 ... 1_500)
        let rate = try #require(FMAPeakProbe.bestConcurrentRate([early, late], window: 1_000))
        #expect(abs(rate - 100) < 1e-9, "span 500 ... 1500, 50 GFLOP/s on each thread: \(rate)")
        // Partial bursts at the edges: a burst half inside the window counts half its FLOPs.
        let shifted = [Burst(start: 250, end: 1_250, flops: 50_000)]
        let whole = [Burst(start: 0, end: 2_000, flops: 100_000)]
        #expect(abs(FMAPeakProbe.rate([shifted, whole], from: 250, to: 1_250) - 100) < 1e-9)
        #expect(abs(FMAPeakProbe.rate([shifted, whole], from: 0, to: 1_000) - (37_500 + 50_000) / 1_000) < 1e-9)
    }

    /// A preempted stretch (a burst that took ten times as long) costs only the windows it falls
    /// in: the best window elsewhere in the round is the rate, as a product timed there would see.
    @Test func aPreemptedBurstCostsOnlyItsWindows() throws {
        var a = (0 ..< 10).map { Burst(start: UInt64($0) * 100, end: UInt64($0 + 1) * 100, flops: 5_000) }
        a.append(Burst(start: 1_000, end: 2_000, flops: 5_000))  // preempted: 1,000 ns for 100 ns of work
        let b = (0 ..< 20).map { Burst(start: UInt64($0) * 100, end: UInt64($0 + 1) * 100, flops: 5_000) }
        let best = try #require(FMAPeakProbe.bestConcurrentRate([a, b], window: 400))
        #expect(abs(best - 100) < 1e-9, "\(best)")
        let whole = FMAPeakProbe.rate([a, b], from: 0, to: 2_000)
        #expect(whole < 80, "the whole round, as the old probe measured, is slower: \(whole)")
    }

    /// The probe's timed windows are as short as the products it is compared with: a burst does
    /// less work than the smallest product the bench times (32×512×512, 16.8 MFLOP), a rate is
    /// taken over a window about one product long, and a round is a scheduler slice or so. The old probe timed 20,000,000 iterations at once
    /// (6.4 GFLOP on AVX-512), which on a busy machine spans many preemptions the products'
    /// medians never see — the cause of shares of 1.3–1.55 on this machine at load 9.
    @Test func theProbeTimesWindowsOnTheProductsScale() {
        let burstFLOPs = FMAPeakProbe.burstIterations * KernelSupport.fmaLoopFlopsPerIteration(SIMD16<Float>.self)
        let smallestProduct = ProductShape(m: 32, k: 512, n: 512).flops
        #expect(Double(burstFLOPs) <= smallestProduct, "a burst is \(burstFLOPs) FLOPs, the smallest product \(smallestProduct)")
        #expect(FMAPeakProbe.roundNanoseconds <= 4_000_000)
        #expect(FMAPeakProbe.windowNanoseconds <= 250_000, "a rate is taken over a window as long as a product, not a round")
        #expect(FMAPeakProbe.rounds >= 20, "the peak is the best of many short rounds")
    }

    /// The share rule: ≤ 1 is a share; above 1 is a probe error, never a share; no peak, none.
    @Test func aShareAboveOneIsAProbeError() {
        #expect(PeakShare(engineGFLOPS: 78.3, peakGFLOPS: 103.7) == .share(78.3 / 103.7))
        #expect(PeakShare(engineGFLOPS: 100, peakGFLOPS: 100) == .share(1))
        #expect(PeakShare(engineGFLOPS: 353.6, peakGFLOPS: 314.9) == .probeError(ratio: 353.6 / 314.9))
        #expect(PeakShare(engineGFLOPS: 100.001, peakGFLOPS: 100) == .probeError(ratio: 100.001 / 100))
        #expect(PeakShare(engineGFLOPS: 50, peakGFLOPS: nil) == .unmeasured)
        #expect(PeakShare(engineGFLOPS: 50, peakGFLOPS: .nan) == .unmeasured)
        #expect(PeakShare(engineGFLOPS: .infinity, peakGFLOPS: 100) == .unmeasured)
    }

    /// The fastest product is one of the timed ones: no slower than their median, and a real
    /// (positive, finite) time.
    @Test func theFastestProductIsNoSlowerThanTheMedian() {
        let r = benchmarkMatmul(ProductShape(m: 8, k: 64, n: 48), repetitions: 9)
        #expect(r.repetitions == 9)
        #expect(r.engineFastestSeconds > 0 && r.engineFastestSeconds.isFinite)
        #expect(r.engineFastestSeconds <= r.engineSeconds && r.engineFastestGFLOPS >= r.engineGFLOPS,
                "fastest \(r.engineFastestSeconds) s, median \(r.engineSeconds) s")
    }
}
