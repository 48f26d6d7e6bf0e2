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
/// - `productBlock` for op(B) = B: op(A) is packed eight rows at a time, k-major, and an 8×32
///   register block of C (16 vectors) is accumulated by broadcasting packed A against two
///   vectors of B's row — covers A·B and Aᵀ·B (the RNN's steps and its weight gradients);
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
    public static func isSupported(cpuFlags: Set<String>) -> Bool { requiredFlags.isSubset(of: cpuFlags) }

    /// Rows and columns `productBlock` works in.
    public static let rowBlock = 8, columnBlock = 32
    /// Rows and columns `productBlockTransposedB` works in.
    public static let transposedRowBlock = 32, transposedColumnBlock = 8

    typealias Vector = SIMD16<Float>

    /// C = alpha · op(A) · B + beta · C for an m×n block, m a multiple of 8, n of 32.
    /// op(A) is A (m×k, row stride lda) or, with `transposeA`, Aᵀ where A is k×m.
    /// `scratch` holds at least 8·k floats (one packed block of rows).
    public static func productBlock(transposeA: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                    scratch: UnsafeMutablePointer<Float>) {
        precondition(m % rowBlock == 0 && n % columnBlock == 0, "AVX512Kernels.productBlock: \(m)×\(n) is not a whole number of 8×32 blocks")
        var i = 0
        while i < m {
            pack(rowsFrom: i, transposeA: transposeA, k: k, a: a, lda: lda, into: scratch)
            var j = 0
            while j < n {
                block8x32(k: k, packed: scratch, b: b + j, ldb: ldb, alpha: alpha, beta: beta, c: c + i * ldc + j, ldc: ldc)
                j += columnBlock
            }
            i += rowBlock
        }
    }

    /// C = alpha · A · Bᵀ + beta · C for an m×n block, m a multiple of 32 and n of 8; A is m×k
    /// (row stride lda), B is n×k (row stride ldb). Computed as Cᵀ = B · Aᵀ, so that the wide
    /// operand B is read row by row (broadcasts) and the thin one, A, is what gets transposed:
    /// 32 of its rows at a time into `scratch` (at least 32·k + 256 floats).
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
                block8x32(k: k, rows: b + j * ldb, rowStride: ldb, b: transposed, ldb: 32, tile: tile)
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

    // MARK: Kernels

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector { UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// packed[p·8 + r] = op(A)[i0 + r][p]: eight rows of op(A), k-major, so that the kernel
    /// broadcasts consecutive floats.
    @inline(__always)
    static func pack(rowsFrom i0: Int, transposeA: Bool, k: Int, a: UnsafePointer<Float>, lda: Int,
                     into packed: UnsafeMutablePointer<Float>) {
        if transposeA {
            // op(A)[i][p] = A[p][i]: eight consecutive floats of each row of A.
            for p in 0 ..< k {
                let source = a + p * lda + i0, target = packed + p * 8
                for r in 0 ..< 8 { target[r] = source[r] }
            }
        } else {
            for r in 0 ..< 8 {
                let source = a + (i0 + r) * lda
                var target = packed + r
                for p in 0 ..< k { target.pointee = source[p]; target += 8 }
            }
        }
    }

    /// One 8×32 block of C from eight packed rows of op(A) and 32 columns of B.
    @inline(__always)
    static func block8x32(k: Int, packed: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                          alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = Vector(), c01 = Vector(), c10 = Vector(), c11 = Vector()
        var c20 = Vector(), c21 = Vector(), c30 = Vector(), c31 = Vector()
        var c40 = Vector(), c41 = Vector(), c50 = Vector(), c51 = Vector()
        var c60 = Vector(), c61 = Vector(), c70 = Vector(), c71 = Vector()
        var row = b, a = packed
        for _ in 0 ..< k {
            let b0 = load(row), b1 = load(row + 16)
            row += ldb
            var x = Vector(repeating: a[0]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = Vector(repeating: a[1]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = Vector(repeating: a[2]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = Vector(repeating: a[3]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = Vector(repeating: a[4]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = Vector(repeating: a[5]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            x = Vector(repeating: a[6]); c60 = c60.addingProduct(x, b0); c61 = c61.addingProduct(x, b1)
            x = Vector(repeating: a[7]); c70 = c70.addingProduct(x, b0); c71 = c71.addingProduct(x, b1)
            a += 8
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

    /// The same 8×32 block with op(A)'s eight rows read in place (row stride `rowStride`),
    /// stored unscaled into `tile` (8 rows of 32).
    @inline(__always)
    static func block8x32(k: Int, rows a: UnsafePointer<Float>, rowStride: Int, b: UnsafePointer<Float>, ldb: Int,
                          tile: UnsafeMutablePointer<Float>) {
        var c00 = Vector(), c01 = Vector(), c10 = Vector(), c11 = Vector()
        var c20 = Vector(), c21 = Vector(), c30 = Vector(), c31 = Vector()
        var c40 = Vector(), c41 = Vector(), c50 = Vector(), c51 = Vector()
        var c60 = Vector(), c61 = Vector(), c70 = Vector(), c71 = Vector()
        let a0 = a, a1 = a0 + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride
        let a4 = a3 + rowStride, a5 = a4 + rowStride, a6 = a5 + rowStride, a7 = a6 + rowStride
        var row = b
        for p in 0 ..< k {
            let b0 = load(row), b1 = load(row + 16)
            row += ldb
            var x = Vector(repeating: a0[p]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = Vector(repeating: a1[p]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = Vector(repeating: a2[p]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = Vector(repeating: a3[p]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = Vector(repeating: a4[p]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = Vector(repeating: a5[p]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            x = Vector(repeating: a6[p]); c60 = c60.addingProduct(x, b0); c61 = c61.addingProduct(x, b1)
            x = Vector(repeating: a7[p]); c70 = c70.addingProduct(x, b0); c71 = c71.addingProduct(x, b1)
        }
        store(c00, tile); store(c01, tile + 16); store(c10, tile + 32); store(c11, tile + 48)
        store(c20, tile + 64); store(c21, tile + 80); store(c30, tile + 96); store(c31, tile + 112)
        store(c40, tile + 128); store(c41, tile + 144); store(c50, tile + 160); store(c51, tile + 176)
        store(c60, tile + 192); store(c61, tile + 208); store(c70, tile + 224); store(c71, tile + 240)
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
