internal import CBLAS
import RealModule
import Foundation

/// The element types a `Tensor` can hold: `Float` for training, `Double` for checks.
public protocol TensorScalar: BinaryFloatingPoint, Real, Sendable, Codable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
    /// C = alpha * op(A) * op(B) + beta * C, row-major, one call of BLAS `?gemm` on the calling
    /// thread. Use `gemm`, which computes large products in parts on the engine's threads.
    static func blasGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// The whole product on the engine's product threads by the fastest kernels for this type
    /// and CPU (`MatrixKernels.product` for Float, BLAS per part otherwise); `gemm` is its
    /// public face.
    static func threadedProduct(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                alpha: Self, a: UnsafePointer<Self>, lda: Int,
                                b: UnsafePointer<Self>, ldb: Int,
                                beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int, partWork: ProductPartWork)
    /// Whether `transposedProduct` can read rows where they are in this process (Float on the
    /// AVX2 path); otherwise callers stack copies of the rows and call `gemm`.
    static var productsReadRowsInPlace: Bool { get }
    /// C = Aᵀ·B + beta·C (m×n, row-major, ldc = n) where row p of A starts at `aRows[p]` and row
    /// p of B at `bRows[p]`, computed with the rows where they are and with the bits
    /// `threadedProduct` gives for the stacked rows. Only where `productsReadRowsInPlace`.
    static func transposedProduct(m: Int, n: Int, k: Int, aRows: UnsafePointer<UnsafePointer<Self>>,
                                  bRows: UnsafePointer<UnsafePointer<Self>>, beta: Self, c: UnsafeMutablePointer<Self>)
    /// The same product on the calling thread by the fastest kernel for this type and CPU
    /// (`MatrixKernels.sgemm` on the current path for Float, BLAS otherwise): for a small
    /// product inside a part of a larger one (see `ProductPartWork`).
    static func kernelGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                           alpha: Self, a: UnsafePointer<Self>, lda: Int,
                           b: UnsafePointer<Self>, ldb: Int,
                           beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// y += alpha * x (BLAS `?axpy`).
    static func axpy(count: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)
    /// NumPy's dtype string for `.npy` files (`<f4`, `<f8`).
    static var npyDescriptor: String { get }
    init(_ double: Double)
}

extension TensorScalar {
    /// BLAS itself, unless a type has its own kernels (Float).
    public static func kernelGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                  alpha: Self, a: UnsafePointer<Self>, lda: Int,
                                  b: UnsafePointer<Self>, ldb: Int,
                                  beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        blasGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Not by default: BLAS needs the rows stacked.
    public static var productsReadRowsInPlace: Bool { false }
    public static func transposedProduct(m: Int, n: Int, k: Int, aRows: UnsafePointer<UnsafePointer<Self>>,
                                         bRows: UnsafePointer<UnsafePointer<Self>>, beta: Self, c: UnsafeMutablePointer<Self>) {
        checkPrecondition(false, "transposedProduct: \(Self.self) cannot read rows in place (productsReadRowsInPlace is false)")
    }

    /// OpenBLAS on each part (see `productParts`), unless a type has its own kernels (Float).
    public static func threadedProduct(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                       alpha: Self, a: UnsafePointer<Self>, lda: Int,
                                       b: UnsafePointer<Self>, ldb: Int,
                                       beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int, partWork: ProductPartWork) {
        guard m > 0 && n > 0 else { return }
        forEachProductBlock(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                            c: c, ldc: ldc, work: partWork) { m, n, a, b, c in
            blasGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                     a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// C = alpha · op(A) · op(B) + beta · C, row-major, computed in parts on the engine's product
    /// threads (see `ProductThreads`), each part inside `partWork`; the single entry point for
    /// every matrix product of the engine.
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Self, a: UnsafePointer<Self>, lda: Int,
                            b: UnsafePointer<Self>, ldb: Int,
                            beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int, partWork: ProductPartWork = .none) {
        threadedProduct(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, partWork: partWork)
    }
}

extension Float: TensorScalar {
    public static func blasGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
    public static func threadedProduct(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                       alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                       b: UnsafePointer<Float>, ldb: Int,
                                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, partWork: ProductPartWork) {
        MatrixKernels.product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, partWork: partWork)
    }
    public static func kernelGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                  alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                  b: UnsafePointer<Float>, ldb: Int,
                                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        MatrixKernels.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                            a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    public static var productsReadRowsInPlace: Bool { ProductKernelPath.current == .avx2 }
    public static func transposedProduct(m: Int, n: Int, k: Int, aRows: UnsafePointer<UnsafePointer<Float>>,
                                         bRows: UnsafePointer<UnsafePointer<Float>>, beta: Float, c: UnsafeMutablePointer<Float>) {
        checkPrecondition(productsReadRowsInPlace, "transposedProduct: the \(ProductKernelPath.current) path cannot read rows in place")
        MatrixKernels.avx2TransposedProduct(m: m, n: n, k: k, aRows: aRows, bRows: bRows, beta: beta, c: c)
    }
    public static func axpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
    }
    public static var npyDescriptor: String { "<f4" }
}

extension Double: TensorScalar {
    public static func blasGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Double, a: UnsafePointer<Double>, lda: Int,
                            b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
    public static func axpy(count: Int, alpha: Double, x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(Int32(count), alpha, x, 1, y, 1)
    }
    public static var npyDescriptor: String { "<f8" }
}

/// Versions of the native libraries the engine runs on, for result files.
public enum EngineInfo {
    /// The OpenBLAS kernel set in use ("Haswell", "SkylakeX", …: DYNAMIC_ARCH builds choose
    /// at load time, and `OPENBLAS_CORETYPE` overrides; this machine pins Haswell).
    public static var blasCore: String {
        typealias NameFunction = @convention(c) () -> UnsafeMutablePointer<CChar>?
        guard let symbol = dlsym(nil, "gotoblas_corename"),
              let name = unsafeBitCast(symbol, to: NameFunction.self)() else { return "unknown" }
        return String(cString: name)
    }
    /// Which kernels compute single-precision products in this process, e.g. "AVX2 kernels",
    /// "AVX-512 kernels + OpenBLAS Haswell" or "OpenBLAS Zen" (doubles always go to OpenBLAS).
    public static var productKernels: String {
        switch ProductKernelPath.current {
        case .avx512: "AVX-512 kernels + OpenBLAS \(blasCore)"
        case .avx2: "AVX2 kernels"
        case .blas: "OpenBLAS \(blasCore)"
        }
    }
    /// OpenBLAS's own configuration string (version, kernels in use, threads).
    public static var blasConfiguration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}
