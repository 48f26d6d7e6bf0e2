import Foundation
import Synchronization
import Testing
import AVX2Kernels
import AVX512Kernels
@testable import Engine

/// The CPU this test process runs on, and which kernel paths it can execute.
private let cpuFlags = MatrixKernels.cpuFlags
private let runnablePaths = ProductKernelPath.supported(cpuFlags: cpuFlags)
private let canRunAVX2 = ProductKernelPath.avx2.isSupported(cpuFlags: cpuFlags)
private let canRunAVX512 = ProductKernelPath.avx512.isSupported(cpuFlags: cpuFlags)

/// Random row-major operands for C = alpha·op(A)·op(B) + beta·C.
struct ProductProblem {
    let transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int
    let a: [Float], b: [Float], c0: [Float]
    var lda: Int { transposeA ? m : k }
    var ldb: Int { transposeB ? k : n }

    /// beta == 0 must not read C: it starts as NaN, which would poison any result that read it.
    init(_ tA: Bool, _ tB: Bool, m: Int, n: Int, k: Int, seed: UInt64, nanC: Bool = true) {
        transposeA = tA; transposeB = tB; self.m = m; self.n = n; self.k = k
        var g = PCG64(seed: seed)
        a = Tensor<Float>(randomUniform: [tA ? k : m, tA ? m : k], lower: -1, upper: 1, generator: &g).scalars
        b = Tensor<Float>(randomUniform: [tB ? n : k, tB ? k : n], lower: -1, upper: 1, generator: &g).scalars
        c0 = nanC ? [Float](repeating: .nan, count: m * n)
                  : Tensor<Float>(randomUniform: [m, n], lower: -1, upper: 1, generator: &g).scalars
    }

    func opA(_ i: Int, _ p: Int) -> Float { transposeA ? a[p * lda + i] : a[i * lda + p] }
    func opB(_ p: Int, _ j: Int) -> Float { transposeB ? b[j * ldb + p] : b[p * ldb + j] }

    /// Runs `product` on fresh copies of the operands and returns C.
    func compute(_ product: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var c = c0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in product(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!) }
            }
        }
        return c
    }

    /// The engine's threaded entry point.
    func gemm(alpha: Float, beta: Float) -> [Float] {
        compute { a, b, c in
            Float.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: n)
        }
    }

    /// One part, on one kernel path, on the calling thread.
    func kernel(_ path: ProductKernelPath, alpha: Float, beta: Float) -> [Float] {
        compute { a, b, c in
            MatrixKernels.sgemm(path: path, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: n)
        }
    }

    /// op(A)·op(B) in Double, element by element: the reference.
    func reference() -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var s = 0.0
                for p in 0 ..< k { s += Double(opA(i, p)) * Double(opB(p, j)) }
                out[i * n + j] = s
            }
        }
        return out
    }

    /// The arithmetic the engine's own kernels promise for every element, written out in scalar
    /// Swift: one chain of fused multiply-adds over p from zero, then alpha·acc, then (unless
    /// beta is 0) one fused multiply-add of beta·C.
    func fusedChain(alpha: Float, beta: Float) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        for i in 0 ..< m {
            for j in 0 ..< n {
                var acc: Float = 0
                for p in 0 ..< k { acc = acc.addingProduct(opA(i, p), opB(p, j)) }
                let scaled = alpha * acc
                out[i * n + j] = beta == 0 ? scaled : scaled.addingProduct(beta, c0[i * n + j])
            }
        }
        return out
    }

    /// The largest error of `c` against the reference and the tolerance it must meet: float
    /// products of k terms of size ~1 carry rounding of about √k·2⁻²⁴ typically, k·2⁻²⁴ at worst,
    /// so 1e-5·√k (never below 1e-4). NaN or infinity anywhere is an infinite error.
    func error(of c: [Float], alpha: Float, beta: Float) -> (worst: Double, tolerance: Double) {
        let expected = reference()
        var worst = 0.0
        for i in 0 ..< m * n {
            let want = Double(alpha) * expected[i] + (beta == 0 ? 0 : Double(beta) * Double(c0[i]))
            let e = abs(Double(c[i]) - want)
            worst = e.isNaN ? .infinity : Swift.max(worst, e)
        }
        return (worst, Swift.max(1e-4, 1e-5 * Double(k).squareRoot()))
    }

    var label: String { "\(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B") \(m)×\(n)×\(k)" }
}

private func differingBits(_ x: [Float], _ y: [Float]) -> Int {
    zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
}

@Suite("Matrix kernels and product threads")
struct MatrixKernelTests {
    /// Shapes on and off every kernel's blocks (AVX2: 4 rows × 16-column panels, 64-column
    /// groups, the Cᵀ form for thin A·Bᵀ; AVX-512: 8×32 and 32×8), small and odd k, the RNN's own.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (8, 32, 1), (8, 32, 17), (16, 64, 64), (32, 512, 512), (13, 45, 70), (7, 31, 5),
        (33, 97, 130), (40, 28, 512), (1120, 28, 64), (64, 100, 28), (4, 4, 16), (5, 9, 200),
        (64, 40, 100), (70, 21, 96), (1, 1, 3), (3, 130, 33), (65, 129, 2), (2, 200, 64),
    ]
    static let scalings: [(alpha: Float, beta: Float)] = [(1, 0), (3, 0), (0.5, 1), (-2, 0.25)]

    /// The threaded entry point on this process's path (`.ci/run` runs the suite once per path).
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func productsMatchTheReference(transposes: (Bool, Bool)) {
        for (index, s) in Self.shapes.enumerated() {
            for (alpha, beta) in Self.scalings {
                let problem = ProductProblem(transposes.0, transposes.1, m: s.m, n: s.n, k: s.k, seed: UInt64(index), nanC: beta == 0)
                let (worst, tolerance) = problem.error(of: problem.gemm(alpha: alpha, beta: beta), alpha: alpha, beta: beta)
                #expect(worst <= tolerance, "\(ProductKernelPath.current): \(problem.label), alpha \(alpha), beta \(beta): error \(worst) > \(tolerance)")
            }
        }
    }

    /// Every path this CPU can execute, one part on the calling thread, whatever the process's
    /// path. (A path it cannot execute shows as the skipped test of its own kernels below.)
    @Test(arguments: runnablePaths)
    func everyRunnablePathMatchesTheReference(path: ProductKernelPath) {
        for transposes in [(false, false), (true, false), (false, true), (true, true)] {
            for (index, s) in Self.shapes.enumerated() {
                let (alpha, beta) = Self.scalings[index % Self.scalings.count]
                let problem = ProductProblem(transposes.0, transposes.1, m: s.m, n: s.n, k: s.k, seed: UInt64(index), nanC: beta == 0)
                let (worst, tolerance) = problem.error(of: problem.kernel(path, alpha: alpha, beta: beta), alpha: alpha, beta: beta)
                #expect(worst <= tolerance, "\(path): \(problem.label), alpha \(alpha), beta \(beta): error \(worst) > \(tolerance)")
            }
        }
    }

    @Test("AVX-512 path: whole blocks bit for bit the fused chain",
          .enabled(if: canRunAVX512, "this CPU has no AVX-512"))
    func avx512KernelsComputeTheFusedChain() {
        for tA in [false, true] {
            for (m, n, k) in [(8, 32, 1), (16, 64, 3), (32, 512, 512), (24, 96, 257)] {
                let problem = ProductProblem(tA, false, m: m, n: n, k: k, seed: 7, nanC: false)
                let c = problem.compute { a, b, c in
                    AVX512Kernels.productBlock(transposeA: tA, m: m, n: n, k: k, alpha: 1.5, a: a, lda: problem.lda,
                                               b: b, ldb: n, beta: 0.5, c: c, ldc: n)
                }
                #expect(differingBits(c, problem.fusedChain(alpha: 1.5, beta: 0.5)) == 0, "\(problem.label)")
            }
        }
        for (m, n, k, beta) in [(32, 8, 16, Float(0)), (64, 24, 70, 0.5), (32, 512, 512, 0), (32, 8, 1, 1)] {
            let problem = ProductProblem(false, true, m: m, n: n, k: k, seed: 8, nanC: beta == 0)
            let c = problem.compute { a, b, c in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: AVX512Kernels.transposedScratchCount(k: k))
                defer { scratch.deallocate() }
                AVX512Kernels.productBlockTransposedB(m: m, n: n, k: k, alpha: 2, a: a, lda: k, b: b, ldb: k,
                                                      beta: beta, c: c, ldc: n, scratch: scratch)
            }
            #expect(differingBits(c, problem.fusedChain(alpha: 2, beta: beta)) == 0, "\(problem.label), beta \(beta)")
        }
    }

    /// The AVX2 path's promise: each element is the fused chain, bit for bit, so neither blocks,
    /// panel edges, groups, the two-phase form nor the Cᵀ form (thin A·Bᵀ) can change a result.
    @Test("AVX2 path: every element bit for bit the fused chain",
          .enabled(if: canRunAVX2, "this CPU has no AVX2 and FMA"))
    func avx2KernelsComputeTheFusedChain() {
        for transposes in [(false, false), (true, false), (false, true), (true, true)] {
            for (index, s) in Self.shapes.enumerated() where s.m * s.n * s.k <= 1 << 21 {
                let (alpha, beta) = Self.scalings[(index + 1) % Self.scalings.count]
                let problem = ProductProblem(transposes.0, transposes.1, m: s.m, n: s.n, k: s.k, seed: UInt64(index), nanC: beta == 0)
                let differing = differingBits(problem.kernel(.avx2, alpha: alpha, beta: beta), problem.fusedChain(alpha: alpha, beta: beta))
                #expect(differing == 0, "\(problem.label), alpha \(alpha), beta \(beta): \(differing) elements differ")
            }
        }
    }

    /// The same promise through the threaded entry point, for every form it chooses: parts of
    /// columns, the transposed form, and the two phases (shared panels, then rows in parts).
    @Test("AVX2 path: threaded forms bit for bit the fused chain",
          .enabled(if: ProductKernelPath.current == .avx2, "this process computes on another path"))
    func avx2ThreadedFormsComputeTheFusedChain() {
        for (index, (tA, tB, m, n, k)) in [(true, false, 160, 150, 600), (false, false, 32, 200, 300), (false, true, 20, 300, 300),
                                           (true, false, 200, 40, 300), (false, false, 130, 70, 520)].enumerated() {
            let problem = ProductProblem(tA, tB, m: m, n: n, k: k, seed: UInt64(40 + index), nanC: false)
            let differing = differingBits(problem.gemm(alpha: 0.5, beta: -1.25),
                                          problem.fusedChain(alpha: 0.5, beta: -1.25))
            #expect(differing == 0, "\(problem.label): \(differing) elements differ")
        }
    }

    /// Aᵀ·B with the rows of A and B read where they are, from tables (a weight gradient over the
    /// steps of a sequence, without stacking the steps first): every element is the fused chain,
    /// on both of its forms (panels shared by parts of rows for a wide A, else parts of columns),
    /// whatever blocks the rows come in, and C is not read when beta is 0 (it starts as NaN).
    @Test("AVX2 path: products of rows read in place bit for bit the fused chain",
          .enabled(if: canRunAVX2, "this CPU has no AVX2 and FMA"))
    func avx2ProductsOfTabledRowsComputeTheFusedChain() {
        for (index, (m, n, k, block)) in [(512, 512, 224, 32), (28, 512, 224, 32), (130, 70, 37, 5), (5, 9, 3, 2)].enumerated() {
            for beta: Float in [0, 1] {
                let problem = ProductProblem(true, false, m: m, n: n, k: k, seed: UInt64(60 + index), nanC: beta == 0)
                // Each block of rows in an array of its own, so consecutive blocks are not adjacent.
                let starts = Array(stride(from: 0, to: k, by: block))
                let aBlocks = starts.map { Array(problem.a[$0 * m ..< Swift.min($0 + block, k) * m]) }
                let bBlocks = starts.map { Array(problem.b[$0 * n ..< Swift.min($0 + block, k) * n]) }
                var c = problem.c0
                func nest(_ i: Int, _ aRows: [UnsafePointer<Float>], _ bRows: [UnsafePointer<Float>]) {
                    guard i < starts.count else {
                        c.withUnsafeMutableBufferPointer { pc in
                            MatrixKernels.avx2TransposedProduct(m: m, n: n, k: k, aRows: aRows, bRows: bRows, beta: beta, c: pc.baseAddress!)
                        }
                        return
                    }
                    aBlocks[i].withUnsafeBufferPointer { pa in
                        bBlocks[i].withUnsafeBufferPointer { pb in
                            let rows = pa.count / m
                            nest(i + 1, aRows + (0 ..< rows).map { pa.baseAddress! + $0 * m },
                                 bRows + (0 ..< rows).map { pb.baseAddress! + $0 * n })
                        }
                    }
                }
                nest(0, [], [])
                let differing = differingBits(c, problem.fusedChain(alpha: 1, beta: beta))
                #expect(differing == 0, "\(problem.label), beta \(beta), blocks of \(block): \(differing) elements differ")
            }
        }
    }

    /// A weight gradient over the steps of a sequence (`addSummedProducts`, up to 256 rows: one
    /// chunk) has the bits of one product of the stacked steps, into a fresh gradient and onto one
    /// already there, on this process's path (on AVX2 the steps' rows are read in place; on the
    /// others they are stacked first).
    @Test(arguments: [(512, 512), (28, 512)])
    func summedProductsOverStepsEqualOneStackedProduct(shape: (m: Int, n: Int)) {
        let (m, n) = shape
        let steps = (0 ..< 7).map { t in
            (lhs: Tensor<Float>(randomNormal: [32, m], seed: UInt64(100 + t)), rhs: Tensor<Float>(randomNormal: [32, n], seed: UInt64(200 + t)))
        }
        let stackedL = Tensor(concatenating: steps.map(\.lhs), alongAxis: 0), stackedR = Tensor(concatenating: steps.map(\.rhs), alongAxis: 0)
        for start in [nil, Tensor<Float>(randomNormal: [m, n], seed: 7)] {
            var summed = start, stacked = start
            Tensor.addSummedProducts(steps, into: &summed, shape: [m, n])
            Tensor.addProduct(stackedL, transposeA: true, stackedR, transposeB: false, into: &stacked, shape: [m, n])
            let differing = differingBits(summed!.scalars, stacked!.scalars)
            #expect(differing == 0, "\(m)×\(n), \(start == nil ? "fresh" : "onto a gradient"): \(differing) elements differ")
        }
    }

    /// The packing and the strided kernel on their own: a transposed, strided X, and L read
    /// through both strides.
    @Test(.enabled(if: canRunAVX2, "this CPU has no AVX2 and FMA"))
    func avx2PackAndMultiplyHonourEveryStride() {
        let (m, n, k) = (6, 21, 9)
        let problem = ProductProblem(true, true, m: m, n: n, k: k, seed: 21, nanC: false)
        // X = Cᵀ (n×m) = op(B)ᵀ · op(A)ᵀ: L[j][p] = B[j][p] (row stride k), P = op(A)ᵀ packed.
        let c = problem.compute { a, b, c in
            let packed = UnsafeMutablePointer<Float>.allocate(capacity: AVX2Kernels.packedCount(k: k, n: m))
            defer { packed.deallocate() }
            AVX2Kernels.pack(transposed: false, k: k, n: m, r: a, ldr: m, into: packed)
            // The padding of the last panel is zero.
            #expect((0 ..< k).allSatisfy { p in (m ..< 16).allSatisfy { packed[p * 16 + $0] == 0 } })
            AVX2Kernels.multiplyPacked(m: n, n: m, k: k, alpha: -1.5, l: b, lRowStride: k, lColumnStride: 1, lBlockStride: AVX2Kernels.rowBlock * k,
                                       packed: packed, beta: 2, x: c, xRowStride: 1, xColumnStride: n)
        }
        #expect(differingBits(c, problem.fusedChain(alpha: -1.5, beta: 2)) == 0)
    }

    /// Parts are fixed by the shape, so every path gives the same bits for 1, 2 or 3 threads,
    /// on OpenBLAS too (whose rounding depends on the block shape it is handed).
    @Test func productsDoNotDependOnTheThreadCount() {
        let before = blasThreadCount()
        defer { setBLASThreadCount(before) }
        for (index, (tA, tB, m, n, k)) in [(false, false, 32, 512, 512), (true, false, 512, 300, 256), (false, true, 32, 512, 512),
                                           (false, false, 1120, 28, 512), (false, true, 1120, 512, 28), (false, false, 45, 333, 70)].enumerated() {
            let problem = ProductProblem(tA, tB, m: m, n: n, k: k, seed: UInt64(100 + index), nanC: false)
            setBLASThreadCount(1)
            let alone = problem.gemm(alpha: 1, beta: 0.5)
            for threads in [2, 3] {
                setBLASThreadCount(threads)
                let differing = differingBits(problem.gemm(alpha: 1, beta: 0.5), alone)
                #expect(differing == 0, "\(ProductKernelPath.current), \(problem.label), \(threads) threads: \(differing) elements differ from 1 thread")
            }
        }
    }

    /// A product through a `PackedMatrix` is the same product: bit for bit.
    @Test(arguments: [false, true])
    func packedOperandsGiveTheBitsOfGemm(transposeB: Bool) {
        for (m, n, k) in [(32, 512, 512), (5, 28, 40), (130, 70, 33)] {
            let problem = ProductProblem(false, transposeB, m: m, n: n, k: k, seed: 31, nanC: false)
            var packed = PackedMatrix<Float>()
            problem.b.withUnsafeBufferPointer { packed.pack(transposed: transposeB, k: k, n: n, b: $0.baseAddress!, ldb: problem.ldb) }
            let viaPacked = problem.compute { a, _, c in
                Float.gemm(transposeA: false, m: m, alpha: 0.75, a: a, lda: k, packed: packed, beta: -1, c: c, ldc: n)
            }
            #expect(differingBits(viaPacked, problem.gemm(alpha: 0.75, beta: -1)) == 0, "\(ProductKernelPath.current), \(problem.label)")
        }
        // Doubles keep a plain copy and go to OpenBLAS.
        let a = Tensor<Double>(randomNormal: [3, 4], seed: 1), b = Tensor<Double>(randomNormal: [4, 5], seed: 2)
        var c = [Double](repeating: 0, count: 15)
        let packed = b.scalars.withUnsafeBufferPointer { PackedMatrix(transposed: false, k: 4, n: 5, b: $0.baseAddress!, ldb: 5) }
        a.scalars.withUnsafeBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { Double.gemm(transposeA: false, m: 3, alpha: 1, a: pa.baseAddress!, lda: 4, packed: packed, beta: 0, c: $0.baseAddress!, ldc: 5) }
        }
        #expect(c == a.matmul(b).scalars)
    }

    @Test func partsAreWholeMultiplesOf64AndCoverTheProduct() {
        #expect(productParts(m: 32, n: 512, k: 512) == ProductParts(alongColumns: true, size: 64, count: 8))
        #expect(productParts(m: 1120, n: 28, k: 512) == ProductParts(alongColumns: false, size: 64, count: 18))
        #expect(productParts(m: 32, n: 100, k: 512).count == 1, "too thin to cut")
        #expect(productParts(m: 8, n: 8, k: 8).count == 1, "too small to be worth a hand-off")
        // A cheap column (the one-hot input product, k = 28) gets wider parts.
        #expect(productParts(m: 32, n: 512, k: 28) == ProductParts(alongColumns: true, size: 192, count: 3))
        for (m, n, k) in [(32, 512, 512), (1120, 28, 512), (7, 100_000, 9), (512, 512, 1120)] {
            let p = productParts(m: m, n: n, k: k)
            let extent = p.alongColumns ? n : m
            #expect(p.size % 64 == 0 && p.count < 1 << 16)
            #expect((p.count - 1) * p.size < extent && p.count * p.size >= extent)
        }
    }

    @Test func kernelPathsAreChosenFromTheCPUAndRNNBOOK_KERNELS() throws {
        let avx2CPU = AVX2Kernels.requiredFlags.union(["sse2"])
        let avx512CPU = avx2CPU.union(AVX512Kernels.requiredFlags)
        #if arch(x86_64)
        #expect(try ProductKernelPath.select(environment: [:], cpuFlags: avx512CPU) == .avx512)
        #expect(try ProductKernelPath.select(environment: [:], cpuFlags: avx2CPU) == .avx2)
        #expect(try ProductKernelPath.select(environment: ["RNNBOOK_KERNELS": "avx2"], cpuFlags: avx512CPU) == .avx2)
        #expect(try ProductKernelPath.select(environment: ["RNNBOOK_KERNELS": "blas"], cpuFlags: avx512CPU) == .blas)
        #expect(throws: KernelSelectionError.self) { try ProductKernelPath.select(environment: ["RNNBOOK_KERNELS": "avx512"], cpuFlags: avx2CPU) }
        do {
            _ = try ProductKernelPath.select(environment: ["RNNBOOK_KERNELS": "avx512"], cpuFlags: avx2CPU.subtracting(["fma"]))
            Issue.record("a CPU without AVX-512 was given the AVX-512 path")
        } catch {
            #expect("\(error)" == "RNNBOOK_KERNELS=avx512: this CPU cannot execute it (its flags lack avx512bw, avx512cd, avx512dq, avx512f, avx512vl); it runs blas")
        }
        #endif
        #expect(try ProductKernelPath.select(environment: [:], cpuFlags: ["sse2"]) == .blas)
        do {
            _ = try ProductKernelPath.select(environment: ["RNNBOOK_KERNELS": "AVX2"], cpuFlags: ["sse2"])
            Issue.record("a misspelt path was accepted")
        } catch {
            #expect("\(error)" == "RNNBOOK_KERNELS=AVX2: expected one of avx512, avx2, blas (this CPU runs blas)")
        }
        for path in ProductKernelPath.allCases where path != .blas {
            for flag in path == .avx2 ? AVX2Kernels.requiredFlags : AVX512Kernels.requiredFlags {
                #expect(!path.isSupported(cpuFlags: avx512CPU.subtracting([flag])), "\(path) without \(flag)")
            }
        }
    }

    /// Products issued from several threads at once (tests run concurrently) all come out right:
    /// one holds the workers, the others compute their parts alone.
    @Test func concurrentProductsAreAllCorrect() async {
        let problem = ProductProblem(false, false, m: 32, n: 512, k: 256, seed: 3, nanC: false)
        let a = Tensor<Float>(shape: [32, 256], scalars: problem.a), b = Tensor<Float>(shape: [256, 512], scalars: problem.b)
        let expected = problem.reference().map(Float.init)
        let worst = await withTaskGroup(of: Float.self) { group in
            for _ in 0 ..< 8 {
                group.addTask {
                    var worst: Float = 0
                    for _ in 0 ..< 20 {
                        let c = a.matmul(b)
                        for (x, y) in zip(c.scalars, expected) { worst = Swift.max(worst, abs(x - y)); if x.isNaN { worst = .infinity } }
                    }
                    return worst
                }
            }
            return await group.reduce(0) { Swift.max($0, $1) }
        }
        #expect(worst < 1e-3, "largest error \(worst)")
    }

    /// An idle pool uses no CPU: its workers poll for a few tens of microseconds after a
    /// product and then sleep. A pool of its own, so no other test keeps it awake.
    @Test func idleWorkersSleep() {
        let pool = ProductThreads(threads: 3)
        let hits = Atomic<Int>(0)
        pool.run(parts: 40) { _ in hits.add(1, ordering: .relaxed) }
        #expect(hits.load(ordering: .relaxed) == 40)
        let deadline = Date().addingTimeInterval(5)
        while pool.sleepingWorkers < 2 && Date() < deadline { usleep(1_000) }
        #expect(pool.sleepingWorkers == 2, "workers still polling \(5) s after the last product")
        // And wake for the next product.
        pool.run(parts: 40) { _ in hits.add(1, ordering: .relaxed) }
        #expect(hits.load(ordering: .relaxed) == 80)
    }

    /// A caller whose workers cannot help (here: each part waits for the caller's own last part)
    /// still finishes every part itself rather than waiting for them.
    @Test func theCallerComputesEveryPartWhenNoWorkerComes() {
        let pool = ProductThreads(threads: 1)  // no workers at all
        let order = Mutex<[Int]>([])
        pool.run(parts: 5) { i in order.withLock { $0.append(i) } }
        #expect(order.withLock { $0 } == [0, 1, 2, 3, 4])
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
            _exit(zip(c.scalars, expected.scalars).allSatisfy { $0.bitPattern == $1.bitPattern } ? 0 : 3)
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
        // Exited normally (low 7 bits 0) with status 0: the same bits as the parent's product.
        #expect(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "child wait status \(status)")
    }
}
