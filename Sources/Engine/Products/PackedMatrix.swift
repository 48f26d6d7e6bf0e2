import AVX2Kernels

/// The right operand of many products, prepared once: an RNN's W_hh, which multiplies a new
/// state at every step of a sequence. On the AVX2 path this is the panel layout the kernels read
/// (`AVX2Kernels.pack`), so the copy is made once per sequence instead of once per step;
/// elsewhere it is a plain copy of the matrix. Either way, `gemm(…, packed:)` gives exactly the
/// bits that `gemm` gives with the original matrix (tested).
public struct PackedMatrix<Scalar: TensorScalar>: Sendable {
    /// Rows of op(B) (the inner extent of the products).
    public private(set) var k = 0
    /// Columns of op(B) (and of the products).
    public private(set) var n = 0
    private var storage: [Scalar] = []
    /// Whether `storage` holds AVX2 panels; else op(B)'s matrix as given (n×k when `transposed`).
    private var panels = false
    private var transposed = false

    /// Whether packing makes later products faster on this process's kernel path (AVX2 reads
    /// its panels; the other paths get a plain copy).
    public static var packingPays: Bool { Scalar.self == Float.self && ProductKernelPath.current == .avx2 }

    /// An empty operand; `pack` fills it.
    public init() {}

    /// op(B) packed: B (k×n, row stride ldb), or Bᵀ when `transposed` (B is then n×k).
    public init(transposed: Bool, k: Int, n: Int, b: UnsafePointer<Scalar>, ldb: Int) {
        pack(transposed: transposed, k: k, n: n, b: b, ldb: ldb)
    }

    /// Packs op(B) anew, reusing the storage when the size allows.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func pack(transposed: Bool, k: Int, n: Int, b: UnsafePointer<Scalar>, ldb: Int) {
        checkPrecondition(k >= 0 && n >= 0 && ldb >= (transposed ? k : n),
                          "PackedMatrix: op(B) of \(k)×\(n) with row stride \(ldb)")
        self.k = k; self.n = n; self.transposed = transposed
        panels = Self.packingPays
        let count = panels ? AVX2Kernels.packedCount(k: k, n: n) : k * n
        // Every element is written below (panels include their zero padding).
        if storage.count != count { storage = [Scalar](unsafeUninitializedCapacity: count) { _, initialized in initialized = count } }
        let (rows, columns) = transposed ? (n, k) : (k, n)
        storage.withUnsafeMutableBufferPointer { s in
            guard let target = s.baseAddress else { return }
            if panels {
                // Groups of four panels packed in parallel on the product threads.
                let group = 64, groups = k * n >= 1 << 16 ? (n + group - 1) / group : 1
                let source = UnsafeRawPointer(b).assumingMemoryBound(to: Float.self)
                let operands = ProductOperands(a: source, b: source, c: UnsafeMutableRawPointer(target).assumingMemoryBound(to: Float.self))
                ProductThreads.shared.run(parts: groups) { g in
                    let j = g * group, width = groups == 1 ? n : Swift.min(group, n - j)
                    AVX2Kernels.pack(transposed: transposed, k: k, n: width, r: transposed ? operands.a + j * ldb : operands.a + j,
                                     ldr: ldb, into: operands.c + j * k)
                }
            } else {
                for i in 0 ..< rows { (target + i * columns).update(from: b + i * ldb, count: columns) }
            }
        }
    }

    /// C = alpha · op(A) · op(B) + beta · C with op(B) this operand, in parts on the product
    /// threads like `gemm`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func multiply(transposeA: Bool, m: Int, alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int,
                  beta: Scalar, c: UnsafeMutablePointer<Scalar>, ldc: Int, partWork: ProductPartWork) {
        guard m > 0 && n > 0 else { return }
        storage.withUnsafeBufferPointer { s in
            guard panels else {
                Scalar.gemm(transposeA: transposeA, transposeB: transposed, m: m, n: n, k: k, alpha: alpha,
                            a: a, lda: lda, b: s.baseAddress!, ldb: transposed ? k : n, beta: beta, c: c, ldc: ldc,
                            partWork: partWork)
                return
            }
            let k = self.k, layout = AVX2Layout(transposeA: transposeA, transposeB: false, m: m, n: n)
            let operands = ProductOperands(a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self),
                                           b: UnsafeRawPointer(s.baseAddress!).assumingMemoryBound(to: Float.self),
                                           c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self))
            let alpha = unsafeBitCast(alpha, to: Float.self), beta = unsafeBitCast(beta, to: Float.self)
            // Parts start at multiples of 64 columns: whole panels.
            forEachProductPart(m: m, n: n, k: k, work: partWork) { rows, columns in
                layout.part(rows: rows, columns: columns, k: k, alpha: alpha, a: operands.a, lda: lda, b: operands.b, ldb: 0,
                            beta: beta, c: operands.c, ldc: ldc, packedRight: operands.b)
            }
        }
    }
}

extension PackedMatrix {
    /// C = alpha · op(A) · op(B) + beta · C with op(B) this operand, all of it on the calling
    /// thread (for work that is already split over the product threads, such as one group of a
    /// batch's sequences). Its bits are those of `gemm` on the AVX2 path; elsewhere they depend
    /// only on m (one BLAS call of that shape).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func multiplyOnCallingThread(transposeA: Bool = false, m: Int, alpha: Scalar, a: UnsafePointer<Scalar>, lda: Int,
                                 beta: Scalar, c: UnsafeMutablePointer<Scalar>, ldc: Int) {
        guard m > 0 && n > 0 else { return }
        storage.withUnsafeBufferPointer { s in
            guard panels else {
                Scalar.kernelGemm(transposeA: transposeA, transposeB: transposed, m: m, n: n, k: k, alpha: alpha,
                                  a: a, lda: lda, b: s.baseAddress!, ldb: transposed ? k : n, beta: beta, c: c, ldc: ldc)
                return
            }
            let values = UnsafeRawPointer(s.baseAddress!).assumingMemoryBound(to: Float.self)
            AVX2Layout(transposeA: transposeA, transposeB: false, m: m, n: n)
                .part(rows: 0 ..< m, columns: 0 ..< n, k: k, alpha: unsafeBitCast(alpha, to: Float.self),
                      a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda, b: values, ldb: 0,
                      beta: unsafeBitCast(beta, to: Float.self), c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self),
                      ldc: ldc, packedRight: values)
        }
    }
}

extension TensorScalar {
    /// C = alpha · op(A) · P + beta · C for a packed right operand P, each part inside `partWork`:
    /// the same bits as `gemm` with the matrix P was packed from.
    public static func gemm(transposeA: Bool, m: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                            packed: PackedMatrix<Self>, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int,
                            partWork: ProductPartWork = .none) {
        packed.multiply(transposeA: transposeA, m: m, alpha: alpha, a: a, lda: lda, beta: beta, c: c, ldc: ldc, partWork: partWork)
    }
}
