internal import CBLAS
import Foundation

/// Timings of `Tensor.matmul` against raw `cblas_sgemm` for one shape, measured in the same run.
/// The raw reference runs with OpenBLAS's own threading at the engine's thread count; the engine
/// splits its products over its own threads instead (see `ProductThreads`).
public struct MatmulBenchmark: Sendable, Codable, CustomStringConvertible {
    public let m: Int, k: Int, n: Int, repetitions: Int
    /// Whether the right operand was stored n×k and used transposed (A·Bᵀ, an RNN's backward step).
    public let transposeB: Bool
    /// Median seconds per product through `Tensor<Float>.matmul` (including allocating the result).
    public let tensorSeconds: Double
    /// Median seconds per product through `cblas_sgemm` on preallocated buffers, threaded by OpenBLAS.
    public let blasSeconds: Double
    /// Floating-point operations of one product: 2·m·k·n.
    public var flops: Double { 2 * Double(m) * Double(k) * Double(n) }
    public var tensorGFLOPS: Double { flops / tensorSeconds / 1e9 }
    public var blasGFLOPS: Double { flops / blasSeconds / 1e9 }
    /// Tensor rate as a fraction of the BLAS rate (the issue asks for at least 0.7).
    public var ratio: Double { blasSeconds / tensorSeconds }

    public var description: String {
        "\(m)×\(k) by \(k)×\(n)\(transposeB ? " (stored transposed)" : "")" + String(format: ", %d runs: Tensor.matmul %.1f GFLOP/s (median %.1f µs), cblas_sgemm %.1f GFLOP/s (median %.1f µs), ratio %.0f%%",
               repetitions, tensorGFLOPS, tensorSeconds * 1e6, blasGFLOPS, blasSeconds * 1e6, ratio * 100)
    }
}

/// Times `repetitions` products of an m×k by k×n `Float` matrix both ways, one after the
/// other, after one warm-up each; reports medians.
public func benchmarkMatmul(m: Int, k: Int, n: Int, transposeB: Bool = false, repetitions: Int) -> MatmulBenchmark {
    checkPrecondition(m > 0 && k > 0 && n > 0 && repetitions > 0,
                 "benchmarkMatmul: sizes and repetitions must be positive, got m \(m), k \(k), n \(n), repetitions \(repetitions)")
    var generator = PCG64(seed: 1)
    let a = Tensor<Float>(randomNormal: [m, k], generator: &generator)
    let b = Tensor<Float>(randomNormal: transposeB ? [n, k] : [k, n], generator: &generator)
    var c = [Float](repeating: 0, count: m * n)
    let clock = ContinuousClock()
    var tensorTimes: [Double] = [], blasTimes: [Double] = []
    var sink: Float = 0

    func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
    func raw() { withOpenBLASThreading { rawProduct() } }
    func rawProduct() {
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                                1, pa.baseAddress, Int32(k), pb.baseAddress, Int32(transposeB ? k : n), 0, pc.baseAddress, Int32(n))
                }
            }
        }
    }
    // Ours first, then the reference: OpenBLAS's threads keep spinning (sched_yield) for about
    // 0.1 s after a threaded call, and after the library loads, and would take the engine's
    // worker's core; so we wait for them to park, the reference comes second, and the run ends
    // by waiting again. Each side is warmed up once.
    Thread.sleep(forTimeInterval: 0.3)
    sink += a.matmul(b, transposeOther: transposeB).scalars[0]
    for _ in 0..<repetitions {
        let t0 = clock.now
        let product = a.matmul(b, transposeOther: transposeB)
        tensorTimes.append(seconds(clock.now - t0))
        sink += product.scalars[0]
    }
    raw()
    for _ in 0..<repetitions {
        let t0 = clock.now
        raw()
        blasTimes.append(seconds(clock.now - t0))
        sink += c[0]
    }
    Thread.sleep(forTimeInterval: 0.3)
    keepAlive(sink)
    func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    return MatmulBenchmark(m: m, k: k, n: n, repetitions: repetitions, transposeB: transposeB,
                           tensorSeconds: median(tensorTimes), blasSeconds: median(blasTimes))
}

/// An opaque use of a value, so the optimiser cannot drop the timed products.
@inline(never) func keepAlive(_ value: Float) { _ = value }
