import Foundation
import Testing
import AVX512Kernels
@testable import Engine

/// The engine's own product kernels (AVX-512) and its product threads against a plain
/// double-precision triple loop, for every transpose case, alpha/beta, and the edges where the
/// kernels' blocks end and BLAS takes over.
@Suite("Matrix kernels and product threads")
struct MatrixKernelTests {
    /// op(A)·op(B) in Double, element by element: the reference.
    static func reference(_ tA: Bool, _ tB: Bool, m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var s = 0.0
                for p in 0 ..< k {
                    let x = tA ? a[p * lda + i] : a[i * lda + p]
                    let y = tB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(x) * Double(y)
                }
                out[i * n + j] = s
            }
        }
        return out
    }

    /// Runs `product` on random operands and checks C = alpha·op(A)·op(B) + beta·C₀ against the
    /// reference. Float products of k terms of size ~1 carry rounding of about k·2⁻²⁴, so the
    /// tolerance is 1e-5·√k relative to the scale of the terms (and never looser than 1e-4).
    static func check(_ tA: Bool, _ tB: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float, seed: UInt64,
                      product: (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void) {
        var g = PCG64(seed: seed)
        let lda = tA ? m : k, ldb = tB ? k : n
        let a = Tensor<Float>(randomUniform: [tA ? k : m, lda], lower: -1, upper: 1, generator: &g).scalars
        let b = Tensor<Float>(randomUniform: [tB ? n : k, ldb], lower: -1, upper: 1, generator: &g).scalars
        // beta == 0 must not read C: start from NaN, which would poison any result that read it.
        let c0 = beta == 0 ? [Float](repeating: .nan, count: m * n)
                           : Tensor<Float>(randomUniform: [m, n], lower: -1, upper: 1, generator: &g).scalars
        var c = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in product(pa.baseAddress!, lda, pb.baseAddress!, ldb, pc.baseAddress!) }
            }
        }
        let expected = reference(tA, tB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb)
        let tolerance = Swift.max(1e-4, 1e-5 * Double(k).squareRoot())
        var worst = 0.0
        for i in 0 ..< m * n {
            let want = Double(alpha) * expected[i] + (beta == 0 ? 0 : Double(beta) * Double(c0[i]))
            worst = Swift.max(worst, abs(Double(c[i]) - want))
        }
        #expect(worst <= tolerance, "op(A)\(tA ? "ᵀ" : "")·op(B)\(tB ? "ᵀ" : "") \(m)×\(n)×\(k), alpha \(alpha), beta \(beta): error \(worst) > \(tolerance)")
    }

    /// Shapes on and off the kernels' 8×32 and 4×4 blocks, small and odd k, the RNN's own.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (8, 32, 1), (8, 32, 17), (16, 64, 64), (32, 512, 512), (13, 45, 70), (7, 31, 5),
        (33, 97, 130), (40, 28, 512), (1120, 28, 64), (64, 100, 28), (4, 4, 16), (5, 9, 200),
        (64, 40, 100), (70, 21, 96),
    ]

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func engineProductsMatchTheReference(transposes: (Bool, Bool)) {
        let (tA, tB) = transposes
        for (index, s) in Self.shapes.enumerated() {
            for (alpha, beta) in [(Float(1), Float(0)), (3, 0), (0.5, 1), (-2, 0.25)] {
                Self.check(tA, tB, m: s.m, n: s.n, k: s.k, alpha: alpha, beta: beta, seed: UInt64(index)) { a, lda, b, ldb, c in
                    Float.gemm(transposeA: tA, transposeB: tB, m: s.m, n: s.n, k: s.k, alpha: alpha,
                               a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: s.n)
                }
            }
        }
    }

    /// The kernels themselves (not through the dispatcher), where the CPU can run them.
    @Test func avx512KernelsMatchTheReference() throws {
        guard MatrixKernels.useAVX512 else {
            // Nothing of the module may run on this CPU; the dispatcher test above covers BLAS.
            #expect(!AVX512Kernels.isSupported(cpuFlags: MatrixKernels.cpuFlags()) || ProcessInfo.processInfo.environment["RNNBOOK_KERNELS"] == "blas")
            return
        }
        for tA in [false, true] {
            for (m, n, k) in [(8, 32, 1), (16, 64, 3), (32, 512, 512), (24, 96, 257)] {
                Self.check(tA, false, m: m, n: n, k: k, alpha: 1.5, beta: 0.5, seed: 7) { a, lda, b, ldb, c in
                    AVX512Kernels.productBlock(transposeA: tA, m: m, n: n, k: k, alpha: 1.5, a: a, lda: lda, b: b, ldb: ldb,
                                               beta: 0.5, c: c, ldc: n)
                }
            }
        }
        for (m, n, k, beta) in [(32, 8, 16, Float(0)), (64, 24, 70, 0.5), (32, 512, 512, 0), (32, 8, 1, 1)] {
            Self.check(false, true, m: m, n: n, k: k, alpha: 2, beta: beta, seed: 8) { a, lda, b, ldb, c in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: AVX512Kernels.transposedScratchCount(k: k))
                defer { scratch.deallocate() }
                AVX512Kernels.productBlockTransposedB(m: m, n: n, k: k, alpha: 2, a: a, lda: lda, b: b, ldb: ldb,
                                                      beta: beta, c: c, ldc: n, scratch: scratch)
            }
        }
    }

    @Test func cpuSupportNeedsEverySubset() {
        let all = AVX512Kernels.requiredFlags.union(["sse2", "avx2", "fma"])
        #if arch(x86_64)
        #expect(AVX512Kernels.isSupported(cpuFlags: all))
        #else
        #expect(!AVX512Kernels.isSupported(cpuFlags: all), "only x86-64 builds are compiled for AVX-512")
        #endif
        for missing in AVX512Kernels.requiredFlags {
            #expect(!AVX512Kernels.isSupported(cpuFlags: all.subtracting([missing])), "without \(missing)")
        }
        #expect(!AVX512Kernels.isSupported(cpuFlags: []))
    }

    @Test func splitsWideProductsByColumnsTallOnesByRowsAndLeavesSmallOnes() {
        #expect(gemmSplit(m: 32, n: 512, threads: 2)! == (true, 2))
        #expect(gemmSplit(m: 1120, n: 28, threads: 2)! == (false, 2))
        #expect(gemmSplit(m: 32, n: 100, threads: 2) == nil)
        #expect(gemmSplit(m: 32, n: 512, threads: 16)! == (true, 8))  // blocks of at least 64 columns
    }

    /// Splitting a product over the threads does not change a single bit: the blocks start at
    /// multiples of 32, so every element is computed by the same kernel in the same order.
    /// (If another test holds the workers, `gemm` computes alone and the two agree trivially.)
    @Test func splitProductsEqualUnsplitOnesBitForBit() {
        for (index, (tA, tB, m, n, k)) in [(false, false, 32, 512, 512), (true, false, 512, 300, 256), (false, true, 32, 512, 512),
                                           (false, false, 1120, 28, 512), (false, true, 1120, 512, 28), (false, false, 45, 333, 70)].enumerated() {
            var g = PCG64(seed: UInt64(100 + index))
            let a = Tensor<Float>(randomUniform: [tA ? k : m, tA ? m : k], lower: -1, upper: 1, generator: &g).scalars
            let b = Tensor<Float>(randomUniform: [tB ? n : k, tB ? k : n], lower: -1, upper: 1, generator: &g).scalars
            var split = [Float](repeating: 0, count: m * n), alone = split
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    split.withUnsafeMutableBufferPointer { pc in
                        Float.gemm(transposeA: tA, transposeB: tB, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: tA ? m : k,
                                   b: pb.baseAddress!, ldb: tB ? k : n, beta: 0, c: pc.baseAddress!, ldc: n)
                    }
                    alone.withUnsafeMutableBufferPointer { pc in
                        Float.kernelGemm(transposeA: tA, transposeB: tB, m: m, n: n, k: k, alpha: 1, a: pa.baseAddress!, lda: tA ? m : k,
                                         b: pb.baseAddress!, ldb: tB ? k : n, beta: 0, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            let differing = zip(split, alone).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(tA ? "Aᵀ" : "A")·\(tB ? "Bᵀ" : "B") \(m)×\(n)×\(k): \(differing) elements differ")
        }
    }

    /// Products issued from several threads at once (tests run concurrently) all come out right:
    /// one holds the workers, the others compute alone.
    @Test func concurrentProductsAreAllCorrect() async {
        let a = Tensor<Float>(randomUniform: [32, 256], lower: -1, upper: 1, seed: 3)
        let b = Tensor<Float>(randomUniform: [256, 512], lower: -1, upper: 1, seed: 4)
        let expected = Tensor<Float>(shape: [32, 512], scalars: Self.reference(false, false, m: 32, n: 512, k: 256, a: a.scalars, lda: 256, b: b.scalars, ldb: 512).map { Float($0) })
        let worst = await withTaskGroup(of: Float.self) { group in
            for _ in 0 ..< 8 {
                group.addTask {
                    var worst: Float = 0
                    for _ in 0 ..< 20 {
                        let c = a.matmul(b)
                        for (x, y) in zip(c.scalars, expected.scalars) { worst = Swift.max(worst, abs(x - y)) }
                    }
                    return worst
                }
            }
            return await group.reduce(0) { Swift.max($0, $1) }
        }
        #expect(worst < 1e-3, "largest error \(worst)")
    }

    /// A forked child (how chapter programs run `expect-error` blocks) has none of the parent's
    /// worker threads: its products must still finish, on its own thread, with the same values.
    @Test func aForkedChildComputesItsProductsAlone() throws {
        let a = Tensor<Float>(randomUniform: [32, 512], lower: -1, upper: 1, seed: 5)
        let b = Tensor<Float>(randomUniform: [512, 512], lower: -1, upper: 1, seed: 6)
        let expected = a.matmul(b)  // the parent's workers exist from here on
        let pid = fork()
        if pid == 0 {
            let c = a.matmul(b)
            let worst = zip(c.scalars, expected.scalars).reduce(Float(0)) { Swift.max($0, abs($1.0 - $1.1)) }
            _exit(worst < 1e-4 ? 0 : 3)
        }
        try #require(pid > 0, "fork failed")
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(30)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL); _ = waitpid(pid, &status, 0)
                Issue.record("the forked child's product did not finish within 30 s (waiting for a worker it does not have)")
                return
            }
            usleep(10_000)
        }
        // Exited normally (low 7 bits 0) with status 0.
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "child wait status \(status)")
    }
}
