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
/// Three shapes of work, all row-major, all computing C = alpha · op(A) · op(B) + beta · C
/// (beta == 0 never reads C, which may be uninitialised):
/// - `productBlock` for op(B) = B: op(A) is packed eight rows at a time, k-major, and an 8×32
///   register block of C (16 vectors) is accumulated by broadcasting packed A against two
///   vectors of B's row — covers A·B and Aᵀ·B (the RNN's steps and its weight gradients);
/// - `productBlockTransposedB` for op(B) = Bᵀ with op(A) = A: a 4×4 block of dot products along
///   the rows of A and B, 16 lanes at a time (the backward step's dH · W_hhᵀ).
/// Each requires its block sizes (m multiple of 8 and n of 32, or both of 4); the caller
/// computes what is left over with BLAS.
public enum AVX512Kernels {
    /// The AVX-512 subsets that code compiled for `skylake-avx512` may use.
    public static let requiredFlags: Set<String> = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    /// Whether a CPU with these /proc/cpuinfo flags (which Linux lists only when the kernel
    /// saves the AVX-512 state too) can run this module.
    public static func isSupported(cpuFlags: Set<String>) -> Bool { requiredFlags.isSubset(of: cpuFlags) }

    /// Rows and columns `productBlock` works in.
    public static let rowBlock = 8, columnBlock = 32
    /// Rows and columns `productBlockTransposedB` works in.
    public static let dotBlock = 4

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

    /// C = alpha · A · Bᵀ + beta · C for an m×n block, m and n multiples of 4; A is m×k (row
    /// stride lda), B is n×k (row stride ldb).
    public static func productBlockTransposedB(m: Int, n: Int, k: Int, alpha: Float,
                                               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                               beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m % dotBlock == 0 && n % dotBlock == 0, "AVX512Kernels.productBlockTransposedB: \(m)×\(n) is not a whole number of 4×4 blocks")
        // Columns outer: four rows of B (4·k floats) stay in L1 while the rows of A pass.
        var j = 0
        while j < n {
            var i = 0
            while i < m {
                dot4x4(k: k, a: a + i * lda, lda: lda, b: b + j * ldb, ldb: ldb, alpha: alpha, beta: beta,
                       c: c + i * ldc + j, ldc: ldc)
                i += dotBlock
            }
            j += dotBlock
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

    /// A 4×4 block of C from rows of A and B, 16 lanes at a time, then a scalar tail of k.
    @inline(__always)
    static func dot4x4(k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       alpha: Float, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        var s00 = Vector(), s01 = Vector(), s02 = Vector(), s03 = Vector()
        var s10 = Vector(), s11 = Vector(), s12 = Vector(), s13 = Vector()
        var s20 = Vector(), s21 = Vector(), s22 = Vector(), s23 = Vector()
        var s30 = Vector(), s31 = Vector(), s32 = Vector(), s33 = Vector()
        let a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
        let b0 = b, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb
        let whole = k / 16 * 16
        var p = 0
        while p < whole {
            let x0 = load(a0 + p), x1 = load(a1 + p), x2 = load(a2 + p), x3 = load(a3 + p)
            let y0 = load(b0 + p), y1 = load(b1 + p), y2 = load(b2 + p), y3 = load(b3 + p)
            s00 = s00.addingProduct(x0, y0); s01 = s01.addingProduct(x0, y1)
            s02 = s02.addingProduct(x0, y2); s03 = s03.addingProduct(x0, y3)
            s10 = s10.addingProduct(x1, y0); s11 = s11.addingProduct(x1, y1)
            s12 = s12.addingProduct(x1, y2); s13 = s13.addingProduct(x1, y3)
            s20 = s20.addingProduct(x2, y0); s21 = s21.addingProduct(x2, y1)
            s22 = s22.addingProduct(x2, y2); s23 = s23.addingProduct(x2, y3)
            s30 = s30.addingProduct(x3, y0); s31 = s31.addingProduct(x3, y1)
            s32 = s32.addingProduct(x3, y2); s33 = s33.addingProduct(x3, y3)
            p += 16
        }
        // The scalar tail of k (k not a multiple of 16), then alpha and beta.
        @inline(__always) func tail(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
            var t: Float = 0
            var q = whole
            while q < k { t += x[q] * y[q]; q += 1 }
            return t
        }
        @inline(__always) func put(_ row: Int, _ column: Int, _ sum: Vector, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) {
            let value = alpha * (sum.sum() + tail(x, y))
            let target = c + row * ldc + column
            target.pointee = beta == 0 ? value : value + beta * target.pointee
        }
        put(0, 0, s00, a0, b0); put(0, 1, s01, a0, b1); put(0, 2, s02, a0, b2); put(0, 3, s03, a0, b3)
        put(1, 0, s10, a1, b0); put(1, 1, s11, a1, b1); put(1, 2, s12, a1, b2); put(1, 3, s13, a1, b3)
        put(2, 0, s20, a2, b0); put(2, 1, s21, a2, b1); put(2, 2, s22, a2, b2); put(2, 3, s23, a2, b3)
        put(3, 0, s30, a3, b0); put(3, 1, s31, a3, b1); put(3, 2, s32, a3, b2); put(3, 3, s33, a3, b3)
    }
}
