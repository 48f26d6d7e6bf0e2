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
/// All are medians over `repetitions` products on preallocated buffers.
public struct MatmulBenchmark: Sendable {
    public let shape: ProductShape
    public let repetitions: Int
    public let engineSeconds: Double
    public let blasPathSeconds: Double
    public let openBLASSeconds: Double

    public var engineGFLOPS: Double { shape.flops / engineSeconds / 1e9 }
    public var blasPathGFLOPS: Double { shape.flops / blasPathSeconds / 1e9 }
    public var openBLASGFLOPS: Double { shape.flops / openBLASSeconds / 1e9 }
}

/// The single-precision FMA peak this CPU reaches on the current kernel path's vector width,
/// measured by a loop of independent fused multiply-adds (`AVX2Kernels.fmaLoop` or
/// `AVX512Kernels.fmaLoop`) on one thread and on `threads` threads at once.
public struct FMAPeak: Sendable {
    /// "AVX-512 (16 lanes)", "AVX2 (8 lanes)"; nil where neither module can run.
    public let unit: String
    public let oneThreadGFLOPS: Double
    public let allThreadsGFLOPS: Double
    public let threads: Int
}

/// Measures the FMA peak (see `FMAPeak`), or nil on a CPU that runs neither kernel module.
public func measureFMAPeak(threads: Int) -> FMAPeak? {
    let flags = MatrixKernels.cpuFlags
    let iterations = 20_000_000  // about 70 ms per loop: long enough for the scheduler to spread the threads
    let loop: @Sendable () -> (Double, Float)
    let unit: String
    if ProductKernelPath.current == .avx512 {
        unit = "AVX-512 (16 lanes)"
        loop = { (Double(iterations * AVX512Kernels.fmaLoopFlopsPerIteration), AVX512Kernels.fmaLoop(iterations: iterations, seed: 1)) }
    } else if AVX2Kernels.isSupported(cpuFlags: flags) {
        unit = "AVX2 (8 lanes)"
        loop = { (Double(iterations * AVX2Kernels.fmaLoopFlopsPerIteration), AVX2Kernels.fmaLoop(iterations: iterations, seed: 1)) }
    } else {
        return nil
    }
    /// GFLOP/s of `count` loops at once (best of 5 rounds: the peak is what the core can do).
    func rate(_ count: Int) -> Double {
        var best = 0.0
        for _ in 0 ..< 5 {
            let start = DispatchTime.now().uptimeNanoseconds
            let group = DispatchGroup()
            let flops = Mutex<Double>(0)
            for _ in 0 ..< count {
                group.enter()
                Thread.detachNewThread {
                    let (f, sink) = loop()
                    keepAlive(sink)
                    flops.withLock { $0 += f }
                    group.leave()
                }
            }
            group.wait()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = Swift.max(best, flops.withLock { $0 } / seconds / 1e9)
        }
        return best
    }
    return FMAPeak(unit: unit, oneThreadGFLOPS: rate(1), allThreadsGFLOPS: rate(threads), threads: threads)
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
                           blasPathSeconds: median(blasPathTimes), openBLASSeconds: median(openBLASTimes))
}

/// The median of a non-empty sample.
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// An opaque use of a value, so the optimiser cannot drop the timed work.
@inline(never) func keepAlive(_ value: Float) { _ = value }
