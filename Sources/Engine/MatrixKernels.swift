import AVX512Kernels
import Foundation

/// Chooses, for each single-precision product, between the engine's AVX-512 kernels and BLAS.
///
/// On a CPU with AVX-512 (the Zen 5 machines this book is built on) the kernels of
/// `AVX512Kernels` compute the whole-block part of a product — every row block of 8 and column
/// block of 32 (32 and 8 for A·Bᵀ) — and OpenBLAS the thin leftovers; anywhere else, and for doubles,
/// OpenBLAS does everything. `RNNBOOK_KERNELS=blas` turns the kernels off (to compare, or to
/// rule them out). The results agree with BLAS to rounding (tested), not bit for bit.
enum MatrixKernels {
    /// Whether single-precision products use the AVX-512 kernels in this process.
    static let useAVX512: Bool = {
        if ProcessInfo.processInfo.environment["RNNBOOK_KERNELS"] == "blas" { return false }
        return AVX512Kernels.isSupported(cpuFlags: cpuFlags())
    }()

    /// The CPU's feature flags from /proc/cpuinfo (empty where there is none).
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// Below this inner extent A·Bᵀ goes to BLAS: transposing 32 rows of A costs about as much
    /// as the product itself.
    static let minimumInnerForTransposedB = 64

    /// C = alpha · op(A) · op(B) + beta · C (row-major) on the calling thread.
    static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                      alpha: Float, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        func blas(_ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
            guard m > 0 && n > 0 else { return }
            Float.blasGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                           a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        guard useAVX512, k > 0, !(transposeA && transposeB) else { blas(m, n, a, b, c); return }
        // The rows of op(A) from `row` on, and the columns of op(B) from `column` on.
        let rowsFrom = { (row: Int) in transposeA ? a + row : a + row * lda }
        let columnsFrom = { (column: Int) in transposeB ? b + column * ldb : b + column }
        let (rowBlock, columnBlock) = transposeB ? (AVX512Kernels.transposedRowBlock, AVX512Kernels.transposedColumnBlock)
                                                 : (AVX512Kernels.rowBlock, AVX512Kernels.columnBlock)
        let mainRows = m / rowBlock * rowBlock, mainColumns = n / columnBlock * columnBlock
        guard mainRows > 0, mainColumns > 0, !(transposeB && k < minimumInnerForTransposedB) else {
            blas(m, n, a, b, c); return
        }
        if transposeB {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: AVX512Kernels.transposedScratchCount(k: k)) { scratch in
                AVX512Kernels.productBlockTransposedB(m: mainRows, n: mainColumns, k: k, alpha: alpha, a: a, lda: lda,
                                                      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, scratch: scratch.baseAddress!)
            }
        } else {
            AVX512Kernels.productBlock(transposeA: transposeA, m: mainRows, n: mainColumns, k: k, alpha: alpha,
                                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        // Leftovers: the last columns beside the main block, then the last rows in full.
        blas(mainRows, n - mainColumns, a, columnsFrom(mainColumns), c + mainColumns)
        blas(m - mainRows, n, rowsFrom(mainRows), b, c + mainRows * ldc)
    }
}
