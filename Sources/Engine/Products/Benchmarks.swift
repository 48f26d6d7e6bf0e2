internal import CBLAS
import AVX2Kernels
import AVX512Kernels
import Foundation
import Synchronization

/// One matrix-product shape of the benchmark: C [m, n] = op(A) · op(B) with inner extent k.
public struct ProductShape: Sendable, CustomStringConvertible {
    public let m: Int, k: Int, n: Int
    public let transposeA: Bool, transposeB: Bool
    /// Whether op(B) is a `PackedMatrix` prepared once (an RNN's W_hh across a sequence's steps).
    public let packed: Bool

    public init(m: Int, k: Int, n: Int, transposeA: Bool = false, transposeB: Bool = false, packed: Bool = false) {
        self.m = m; self.k = k; self.n = n
        self.transposeA = transposeA; self.transposeB = transposeB; self.packed = packed
    }

    /// "32x512x512", with "tA"/"T" for transposed operands and "P" for a packed one.
    public var description: String {
        "\(m)x\(k)x\(n)" + (transposeA ? "tA" : "") + (transposeB ? "T" : "") + (packed ? "P" : "")
    }

    /// Floating-point operations of one product: 2·m·k·n.
    public var flops: Double { 2 * Double(m) * Double(k) * Double(n) }
}

/// Timings of one product shape, measured in one run:
/// - `engineSeconds`: `Float.gemm` on the current kernel path and the engine's product threads;
/// - `blasPathSeconds`: the same parts and threads with OpenBLAS computing each part (the
///   `RNNBOOK_KERNELS=blas` path), alternated round by round with the engine's;
/// - `openBLASSeconds`: one `cblas_sgemm` with OpenBLAS's own threading, measured last (its idle
///   threads spin for ~0.1 s after a call, which would slow whatever ran next).
/// All are medians over `repetitions` products on preallocated buffers; `engineFastestSeconds`
/// is the engine's fastest product, the one least slowed by anything else the machine ran (the
/// counterpart of the FMA peak, which is the best window of its bursts).
public struct MatmulBenchmark: Sendable {
    public let shape: ProductShape
    public let repetitions: Int
    public let engineSeconds: Double
    public let engineFastestSeconds: Double
    public let blasPathSeconds: Double
    public let openBLASSeconds: Double

    public var engineGFLOPS: Double { shape.flops / engineSeconds / 1e9 }
    public var engineFastestGFLOPS: Double { shape.flops / engineFastestSeconds / 1e9 }
    public var blasPathGFLOPS: Double { shape.flops / blasPathSeconds / 1e9 }
    public var openBLASGFLOPS: Double { shape.flops / openBLASSeconds / 1e9 }
}

/// The single-precision FMA peak this CPU reaches on the current kernel path's vector width,
/// measured by a loop of independent fused multiply-adds (`AVX2Kernels.fmaLoop` or
/// `AVX512Kernels.fmaLoop`) on one thread and on `threads` threads at once, timed as the
/// products are: in short windows (see `FMAPeakProbe`).
public struct FMAPeak: Sendable {
    /// "AVX-512 (16 lanes)", "AVX2 (8 lanes)".
    public let unit: String
    /// Lanes of the vector width (16 or 8).
    public let lanes: Int
    public let oneThreadGFLOPS: Double
    public let allThreadsGFLOPS: Double
    public let threads: Int
}

/// How the FMA peak is timed, and the arithmetic that turns timed bursts into a rate.
///
/// The products are timed one at a time (a tenth of a millisecond or so each) and their median
/// is reported; on a shared machine most such short products run without being preempted. The
/// old probe timed one loop of 20 million iterations (tens of milliseconds, many scheduler
/// slices) from before its threads were started to after they all ended, so every preemption and
/// the threads' start-up counted against it: at load 9 on this 2-core machine it measured 51
/// GFLOP/s on one thread where the same loop reaches 104 in short bursts, and the products came
/// out at 1.3–1.55 "of peak". Now each thread runs short bursts back to back for a round, and the
/// rate is that of the best window, as long as a product, in which every thread was running
/// bursts (a peak is what the core can do; noise only ever slows a window down).
public enum FMAPeakProbe {
    /// Iterations of one timed burst: 20,000 × 12 chains × 16 lanes × 2 = 7.7 MFLOP on AVX-512,
    /// half that on AVX2 — less than the smallest product the bench times (32×512×512, 16.8 MFLOP).
    public static let burstIterations = 20_000
    /// Length of one round in which every thread runs bursts back to back.
    public static let roundNanoseconds: UInt64 = 2_000_000
    /// Rounds per thread count.
    public static let rounds = 80
    /// The window a rate is taken over: a few bursts, about as long as one product on two
    /// threads (32×512×512 at 100–200 GFLOP/s is 85–170 µs).
    public static let windowNanoseconds: UInt64 = 200_000

    /// One timed burst of one thread: its start and end on the shared monotonic clock (ns) and its FLOPs.
    public struct Burst: Sendable, Equatable {
        public var start: UInt64, end: UInt64, flops: Double
        public init(start: UInt64, end: UInt64, flops: Double) { self.start = start; self.end = end; self.flops = flops }
    }

    /// The span in which every thread of a round was running bursts: from the last thread's first
    /// start to the first thread's last end; nil when there is none (threads that took turns).
    public static func sharedSpan(_ threads: [[Burst]]) -> ClosedRange<UInt64>? {
        guard !threads.isEmpty, threads.allSatisfy({ !$0.isEmpty }) else { return nil }
        let lo = threads.map { $0.map(\.start).min()! }.max()!
        let hi = threads.map { $0.map(\.end).max()! }.min()!
        return hi > lo ? lo ... hi : nil
    }

    /// GFLOP/s of all threads in the window `from ..< to`: the FLOPs of the bursts inside it (a
    /// burst across an edge counts pro rata) over the window's length.
    public static func rate(_ threads: [[Burst]], from lo: UInt64, to hi: UInt64) -> Double {
        var flops = 0.0
        for burst in threads.joined() where burst.end > burst.start {
            let inside = Double(Swift.min(burst.end, hi)) - Double(Swift.max(burst.start, lo))
            if inside > 0 { flops += burst.flops * inside / Double(burst.end - burst.start) }
        }
        return flops / Double(hi - lo)  // FLOPs per ns = GFLOP/s
    }

    /// The best rate of the threads of one round running at once, over windows of `window` ns
    /// inside their shared span (stepped by a quarter window); nil when they shared less than one
    /// window. Threads that took turns instead of running together share no span, so their rate
    /// is never the sum of their rates; a thread that started late costs nothing; a preempted
    /// stretch costs only the windows it falls in.
    public static func bestConcurrentRate(_ threads: [[Burst]], window: UInt64 = windowNanoseconds) -> Double? {
        guard let span = sharedSpan(threads), span.upperBound - span.lowerBound >= window else { return nil }
        var best = 0.0
        var start = span.lowerBound
        while start + window <= span.upperBound {
            best = Swift.max(best, rate(threads, from: start, to: start + window))
            start += Swift.max(window / 4, 1)
        }
        return best
    }
}

/// The engine's share of the FMA peak, or why there is none. A share above 1 cannot be: the
/// engine cannot run faster than the loop that does nothing but FMAs, so such a figure means the
/// peak probe (or a FLOP count) is wrong, and it is reported as a probe error, never as a share.
public enum PeakShare: Sendable, Equatable {
    case share(Double)
    /// The engine's rate over the peak, above 1.
    case probeError(ratio: Double)
    /// No peak was measured (neither kernel module runs on this CPU) or a figure is not finite.
    case unmeasured

    /// Engine GFLOP/s on T threads against the T-thread peak.
    public init(engineGFLOPS: Double, peakGFLOPS: Double?) {
        guard let peak = peakGFLOPS, peak > 0, peak.isFinite, engineGFLOPS.isFinite else { self = .unmeasured; return }
        let ratio = engineGFLOPS / peak
        self = ratio > 1 ? .probeError(ratio: ratio) : .share(ratio)
    }
}

/// Measures the FMA peak (see `FMAPeak`, `FMAPeakProbe`), or nil on a CPU that runs neither kernel module.
public func measureFMAPeak(threads: Int) -> FMAPeak? {
    let flags = MatrixKernels.cpuFlags
    let iterations = FMAPeakProbe.burstIterations
    let burst: @Sendable () -> (Double, Float)
    let unit: String, lanes: Int
    if ProductKernelPath.current == .avx512 {
        unit = "AVX-512 (16 lanes)"; lanes = 16
        burst = { (Double(iterations * AVX512Kernels.fmaLoopFlopsPerIteration), AVX512Kernels.fmaLoop(iterations: iterations, seed: 1)) }
    } else if AVX2Kernels.isSupported(cpuFlags: flags) {
        unit = "AVX2 (8 lanes)"; lanes = 8
        burst = { (Double(iterations * AVX2Kernels.fmaLoopFlopsPerIteration), AVX2Kernels.fmaLoop(iterations: iterations, seed: 1)) }
    } else {
        return nil
    }
    /// Best rate over the rounds of `count` threads running bursts at once. The threads are
    /// started once and released together for each round.
    func rate(_ count: Int) -> Double {
        let results = Mutex<[[FMAPeakProbe.Burst]]>(Array(repeating: [], count: count))
        let starts = (0 ..< count).map { _ in DispatchSemaphore(value: 0) }
        let done = DispatchSemaphore(value: 0)
        for t in 0 ..< count {
            let start = starts[t]
            Thread.detachNewThread {
                for _ in 0 ..< FMAPeakProbe.rounds {
                    start.wait()
                    var bursts: [FMAPeakProbe.Burst] = []
                    bursts.reserveCapacity(256)
                    let first = DispatchTime.now().uptimeNanoseconds
                    var now = first
                    while now - first < FMAPeakProbe.roundNanoseconds {
                        let (flops, sink) = burst()
                        keepAlive(sink)
                        let end = DispatchTime.now().uptimeNanoseconds
                        bursts.append(FMAPeakProbe.Burst(start: now, end: end, flops: flops))
                        now = end
                    }
                    results.withLock { $0[t] = bursts }
                    done.signal()
                }
            }
        }
        var best = 0.0
        for _ in 0 ..< FMAPeakProbe.rounds {
            for s in starts { s.signal() }
            for _ in 0 ..< count { done.wait() }
            if let r = FMAPeakProbe.bestConcurrentRate(results.withLock { $0 }) { best = Swift.max(best, r) }
        }
        return best > 0 ? best : .nan
    }
    return FMAPeak(unit: unit, lanes: lanes, oneThreadGFLOPS: rate(1), allThreadsGFLOPS: rate(threads), threads: threads)
}

/// The clock /proc/cpuinfo reports for the first CPU, in MHz (on a virtual machine usually the
/// base clock, below what a busy core runs at); nil where there is none.
public func cpuinfoMegahertz() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("cpu MHz") {
        return line.split(separator: ":").last.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
    }
    return nil
}

/// Times `repetitions` products of `shape` three ways (see `MatmulBenchmark`), after a warm-up.
public func benchmarkMatmul(_ shape: ProductShape, repetitions: Int) -> MatmulBenchmark {
    let (m, k, n) = (shape.m, shape.k, shape.n)
    checkPrecondition(m > 0 && k > 0 && n > 0 && repetitions > 0,
                      "benchmarkMatmul: sizes and repetitions must be positive, got \(shape), repetitions \(repetitions)")
    var generator = PCG64(seed: 1)
    let a = Tensor<Float>(randomNormal: shape.transposeA ? [k, m] : [m, k], generator: &generator)
    let b = Tensor<Float>(randomNormal: shape.transposeB ? [n, k] : [k, n], generator: &generator)
    let lda = shape.transposeA ? m : k, ldb = shape.transposeB ? k : n
    var c = [Float](repeating: 0, count: m * n)
    let packed = shape.packed ? b.scalars.withUnsafeBufferPointer {
        PackedMatrix(transposed: shape.transposeB, k: k, n: n, b: $0.baseAddress!, ldb: ldb)
    } : nil

    func engine() {
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    if let packed {
                        Float.gemm(transposeA: shape.transposeA, m: m, alpha: 1, a: pa.baseAddress!, lda: lda,
                                   packed: packed, beta: 0, c: pc.baseAddress!, ldc: n)
                    } else {
                        Float.gemm(transposeA: shape.transposeA, transposeB: shape.transposeB, m: m, n: n, k: k, alpha: 1,
                                   a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: 0, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
        }
    }
    func blasPath() {
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    forEachProductBlock(transposeA: shape.transposeA, transposeB: shape.transposeB, m: m, n: n, k: k,
                                        a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: n) { rows, columns, a, b, c in
                        MatrixKernels.sgemm(path: .blas, transposeA: shape.transposeA, transposeB: shape.transposeB,
                                            m: rows, n: columns, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: c, ldc: n)
                    }
                }
            }
        }
    }
    func openBLAS() {
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, shape.transposeA ? CblasTrans : CblasNoTrans, shape.transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), 1, pa.baseAddress, Int32(lda), pb.baseAddress, Int32(ldb),
                                0, pc.baseAddress, Int32(n))
                }
            }
        }
    }
    func time(_ body: () -> Void, _ count: Int, into times: inout [Double]) {
        for _ in 0 ..< count {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }
    // Ours and the BLAS path alternate in ten rounds, so a change in the machine's speed (these
    // machines are shared) hits both; OpenBLAS's own threading comes last, after a pause that
    // lets any earlier OpenBLAS threads park, and the run ends with another such pause.
    Thread.sleep(forTimeInterval: 0.3)
    engine(); blasPath()
    var engineTimes: [Double] = [], blasPathTimes: [Double] = [], openBLASTimes: [Double] = []
    let rounds = Swift.min(10, repetitions), perRound = (repetitions + rounds - 1) / rounds
    for _ in 0 ..< rounds {
        time(engine, perRound, into: &engineTimes)
        time(blasPath, perRound, into: &blasPathTimes)
    }
    withOpenBLASThreading {
        openBLAS()
        time(openBLAS, repetitions, into: &openBLASTimes)
    }
    Thread.sleep(forTimeInterval: 0.3)
    return MatmulBenchmark(shape: shape, repetitions: engineTimes.count, engineSeconds: median(engineTimes),
                           engineFastestSeconds: engineTimes.min()!, blasPathSeconds: median(blasPathTimes), openBLASSeconds: median(openBLASTimes))
}

/// The median of a non-empty sample.
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// An opaque use of a value, so the optimiser cannot drop the timed work.
@inline(never) func keepAlive(_ value: Float) { _ = value }
