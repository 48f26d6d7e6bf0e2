import KernelSupport

/// Single-precision matrix-product kernels for CPUs with AVX-512, written with Swift's SIMD types.
///
/// This module is compiled for `skylake-avx512` (see Package.swift), so every function in it
/// may use AVX-512 instructions: call it only after `AVX512Kernels.isSupported(cpuFlags:)` said
/// yes (the engine checks once, see `Engine/MatrixKernels.swift`). It holds no global state.
///
/// Why our own kernels: the machines this book runs on are AMD Zen 5 CPUs, whose AVX-512 units
/// are full width, but the OpenBLAS they have (0.3.21) is pinned to its AVX2 "Haswell" kernels
/// there (`OPENBLAS_CORETYPE=Haswell`, set machine-wide because that OpenBLAS's own AVX-512
/// kernels misbehave on some of these CPUs). One thread of this file's kernels runs the RNN's
/// [32, 512]·[512, 512] step product at about 240 GFLOP/s against OpenBLAS Haswell's ~105
/// (`rnnbook bench --config gemm` measures both in the same run).
///
/// Two shapes of work, all row-major, all computing C = alpha · op(A) · op(B) + beta · C
/// (beta == 0 never reads C, which may be uninitialised):
/// - `productBlock` for op(B) = B: an 8×32 register block of C (16 vectors) is accumulated by
///   broadcasting eight values of op(A) against two vectors of B's row — covers A·B and Aᵀ·B
///   (the RNN's steps and its weight gradients);
/// - `productBlockTransposedB` for op(B) = Bᵀ with op(A) = A: computed as Cᵀ = B · Aᵀ with the
///   same register block, B's rows broadcast in place and 32 rows of A transposed (the backward
///   step's dH · W_hhᵀ, where A is the thin [32, 512] one).
/// Each requires its block sizes (m a multiple of 8 and n of 32, or m of 32 and n of 8); the
/// caller computes what is left over with BLAS.
public enum AVX512Kernels {
    /// The AVX-512 subsets that code compiled for `skylake-avx512` may use.
    public static let requiredFlags: Set<String> = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    /// Whether a CPU with these /proc/cpuinfo flags (which Linux lists only when the kernel
    /// saves the AVX-512 state too) can run this module.
    public static func isSupported(cpuFlags: Set<String>) -> Bool {
        #if arch(x86_64)
        return requiredFlags.isSubset(of: cpuFlags)
        #else
        return false  // compiled for this architecture's default CPU: nothing to gain
        #endif
    }

    /// Rows and columns `productBlock` works in.
    public static let rowBlock = 8, columnBlock = 32
    /// Rows and columns `productBlockTransposedB` works in.
    public static let transposedRowBlock = 32, transposedColumnBlock = 8
    /// Floats of scratch `productBlockTransposedB` needs: 32 transposed rows of A and one 8×32 tile.
    public static func transposedScratchCount(k: Int) -> Int { 32 * k + 256 }

    typealias Vector = SIMD16<Float>

    /// C = alpha · op(A) · B + beta · C for an m×n block, m a multiple of 8, n of 32.
    /// op(A) is A (m×k, row stride lda) or, with `transposeA`, Aᵀ where A is k×m.
    public static func productBlock(transposeA: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m % rowBlock == 0 && n % columnBlock == 0, "AVX512Kernels.productBlock: \(m)×\(n) is not a whole number of 8×32 blocks")
        // op(A)[i][p] is at a + i·rowStride + p·columnStride.
        let (rowStride, columnStride) = transposeA ? (1, lda) : (lda, 1)
        var i = 0
        while i < m {
            var j = 0
            while j < n {
                block8x32(k: k, a: a + i * rowStride, rowStride: rowStride, columnStride: columnStride,
                          b: b + j, ldb: ldb, alpha: alpha, beta: beta, c: c + i * ldc + j, ldc: ldc)
                j += columnBlock
            }
            i += rowBlock
        }
    }

    /// C = alpha · A · Bᵀ + beta · C for an m×n block, m a multiple of 32 and n of 8; A is m×k
    /// (row stride lda), B is n×k (row stride ldb). Computed as Cᵀ = B · Aᵀ, so that the wide
    /// operand B is read row by row (broadcasts) and the thin one, A, is what gets transposed:
    /// 32 of its rows at a time into `scratch` (at least `transposedScratchCount(k:)` floats).
    public static func productBlockTransposedB(m: Int, n: Int, k: Int, alpha: Float,
                                               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                               beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                               scratch: UnsafeMutablePointer<Float>) {
        precondition(m % transposedRowBlock == 0 && n % transposedColumnBlock == 0,
                     "AVX512Kernels.productBlockTransposedB: \(m)×\(n) is not a whole number of 32×8 blocks")
        let transposed = scratch, tile = scratch + 32 * k
        var i = 0
        while i < m {
            // transposed[p·32 + r] = A[i + r][p]
            for r in 0 ..< 32 {
                let row = a + (i + r) * lda
                var target = transposed + r
                for p in 0 ..< k { target.pointee = row[p]; target += 32 }
            }
            var j = 0
            while j < n {
                block8x32(k: k, a: b + j * ldb, rowStride: ldb, columnStride: 1, b: transposed, ldb: 32,
                          alpha: 1, beta: 0, c: tile, ldc: 32)
                // tile[r·32 + s] = Cᵀ[j + r][i + s]
                for s in 0 ..< 32 {
                    let out = c + (i + s) * ldc + j
                    for r in 0 ..< 8 {
                        let value = alpha * tile[r * 32 + s]
                        out[r] = beta == 0 ? value : value + beta * out[r]
                    }
                }
                j += transposedColumnBlock
            }
            i += transposedRowBlock
        }
    }

    /// Peak single-precision FMA throughput of one core with 16-wide vectors: a loop of
    /// independent fused multiply-adds (`KernelSupport.fmaLoop`, compiled for this module's CPU).
    @inline(never)
    public static func fmaLoop(iterations: Int, seed: Float) -> Float {
        KernelSupport.fmaLoop(Vector.self, iterations: iterations, seed: seed)
    }
    /// Floating-point operations of one `fmaLoop` iteration.
    public static let fmaLoopFlopsPerIteration = KernelSupport.fmaLoopFlopsPerIteration(Vector.self)

    // MARK: Kernels

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector { KernelSupport.load(p) }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) { KernelSupport.store(v, p) }

    /// One 8×32 block of C = alpha · op(A) · B + beta · C: eight rows of op(A), element (r, p)
    /// at a + r·rowStride + p·columnStride, each broadcast against 32 floats of B's row p, into
    /// 16 vector accumulators. Both layouts of op(A) run near the FMA units' peak without packing:
    /// A's rows stream, and Aᵀ's eight values for one p share a cache line.
    @inline(__always)
    static func block8x32(k: Int, a: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
                          b: UnsafePointer<Float>, ldb: Int,
                          alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = Vector(), c01 = Vector(), c10 = Vector(), c11 = Vector()
        var c20 = Vector(), c21 = Vector(), c30 = Vector(), c31 = Vector()
        var c40 = Vector(), c41 = Vector(), c50 = Vector(), c51 = Vector()
        var c60 = Vector(), c61 = Vector(), c70 = Vector(), c71 = Vector()
        let a0 = a, a1 = a0 + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride
        let a4 = a3 + rowStride, a5 = a4 + rowStride, a6 = a5 + rowStride, a7 = a6 + rowStride
        var row = b, offset = 0
        for _ in 0 ..< k {
            let b0 = load(row), b1 = load(row + 16)
            row += ldb
            var x = Vector(repeating: a0[offset]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = Vector(repeating: a1[offset]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = Vector(repeating: a2[offset]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = Vector(repeating: a3[offset]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = Vector(repeating: a4[offset]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = Vector(repeating: a5[offset]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            x = Vector(repeating: a6[offset]); c60 = c60.addingProduct(x, b0); c61 = c61.addingProduct(x, b1)
            x = Vector(repeating: a7[offset]); c70 = c70.addingProduct(x, b0); c71 = c71.addingProduct(x, b1)
            offset += columnStride
        }
        var q = c
        write(c00, c01, to: q, alpha: alpha, beta: beta); q += ldc
        write(c10, c11, to: q, alpha: alpha, beta: beta); q += ldc
        write(c20, c21, to: q, alpha: alpha, beta: beta); q += ldc
        write(c30, c31, to: q, alpha: alpha, beta: beta); q += ldc
        write(c40, c41, to: q, alpha: alpha, beta: beta); q += ldc
        write(c50, c51, to: q, alpha: alpha, beta: beta); q += ldc
        write(c60, c61, to: q, alpha: alpha, beta: beta); q += ldc
        write(c70, c71, to: q, alpha: alpha, beta: beta)
    }

    /// Writes 32 results of one row: alpha·v (+ beta·C unless beta is 0).
    @inline(__always)
    static func write(_ v0: Vector, _ v1: Vector, to q: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        if beta == 0 {
            store(alpha * v0, q); store(alpha * v1, q + 16)
        } else {
            store((alpha * v0).addingProduct(beta, load(q)), q)
            store((alpha * v1).addingProduct(beta, load(q + 16)), q + 16)
        }
    }
}
