import AVX2Kernels
import AVX512Kernels
import Foundation
import Synchronization

/// Which code computes the engine's single-precision matrix products.
///
/// What each path guarantees (tested in `MatrixKernelTests`, on every path the CPU can run):
/// - every path agrees with a double-precision reference to a tolerance of about k·2⁻²⁴;
/// - every path gives the same bits whatever the thread count, because a product is cut into
///   parts by its shape alone (see `productParts`);
/// - `avx2`: each element is one chain of fused multiply-adds over the inner index in order, so
///   the result does not depend on blocking, edges, packing or which operand is packed: a
///   product equals its unsplit kernel call and `PackedMatrix` products bit for bit;
/// - `avx512`: the same arithmetic on the whole 8×32 blocks, OpenBLAS on the thin leftovers.
/// Double-precision products always go to OpenBLAS.
public enum ProductKernelPath: String, CaseIterable, Sendable {
    /// `AVX512Kernels` for the whole blocks, OpenBLAS for the leftovers (CPUs with AVX-512).
    case avx512
    /// `AVX2Kernels` for everything (CPUs with AVX2 and FMA).
    case avx2
    /// OpenBLAS alone, single-threaded per part (any CPU).
    case blas

    /// Whether a CPU with these /proc/cpuinfo flags can execute this path.
    public func isSupported(cpuFlags: Set<String>) -> Bool {
        switch self {
        case .avx512: AVX512Kernels.isSupported(cpuFlags: cpuFlags)
        case .avx2: AVX2Kernels.isSupported(cpuFlags: cpuFlags)
        case .blas: true
        }
    }

    /// The CPU flags a path needs that `cpuFlags` lacks (empty when it can run).
    public func missingFlags(cpuFlags: Set<String>) -> [String] {
        switch self {
        case .avx512: AVX512Kernels.requiredFlags.subtracting(cpuFlags).sorted()
        case .avx2: AVX2Kernels.requiredFlags.subtracting(cpuFlags).sorted()
        case .blas: []
        }
    }

    /// Every path this CPU can execute, fastest first.
    public static func supported(cpuFlags: Set<String>) -> [ProductKernelPath] {
        allCases.filter { $0.isSupported(cpuFlags: cpuFlags) }
    }

    /// The path named by `RNNBOOK_KERNELS` in `environment`, else the fastest this CPU runs.
    /// A name that is not a path, or a path this CPU cannot execute, is an error that says so.
    public static func select(environment: [String: String], cpuFlags: Set<String>) throws -> ProductKernelPath {
        guard let name = environment["RNNBOOK_KERNELS"] else {
            return supported(cpuFlags: cpuFlags).first!
        }
        let names = supported(cpuFlags: cpuFlags).map(\.rawValue).joined(separator: ", ")
        guard let path = ProductKernelPath(rawValue: name) else {
            throw KernelSelectionError(description: "RNNBOOK_KERNELS=\(name): expected one of avx512, avx2, blas (this CPU runs \(names))")
        }
        let missing = path.missingFlags(cpuFlags: cpuFlags)
        guard missing.isEmpty else {
            throw KernelSelectionError(description: "RNNBOOK_KERNELS=\(name): this CPU cannot execute it (its flags lack \(missing.joined(separator: ", "))); it runs \(names)")
        }
        return path
    }

    /// The path this process uses (see `select`), unless `withPath` is running. A bad
    /// `RNNBOOK_KERNELS` stops the process with its message: computing on another path than the
    /// one asked for would make every figure it reports a lie. `rnnbook` checks the variable
    /// before it starts work.
    public static var current: ProductKernelPath {
        let index = override.load(ordering: .relaxed)
        return index < 0 ? selected : allCases[index]
    }

    /// Checks this process's `RNNBOOK_KERNELS` against its CPU (the command line does so before
    /// any work, so that a typo is an error and not a silently different path).
    public static func validateEnvironment() throws {
        _ = try select(environment: ProcessInfo.processInfo.environment, cpuFlags: MatrixKernels.cpuFlags)
    }

    private static let selected: ProductKernelPath = {
        do {
            return try select(environment: ProcessInfo.processInfo.environment, cpuFlags: MatrixKernels.cpuFlags)
        } catch {
            fatalError("\(error)")
        }
    }()
    private static let override = Atomic<Int>(-1)

    /// Runs `body` with every product on `path` (benchmarks compare paths in one process, so
    /// that the machine's changing load hits both). Not for concurrent use with other products.
    public static func withPath<R>(_ path: ProductKernelPath, _ body: () throws -> R) rethrows -> R {
        checkPrecondition(path.isSupported(cpuFlags: MatrixKernels.cpuFlags),
                          "ProductKernelPath.withPath: this CPU cannot execute \(path) (its flags lack \(path.missingFlags(cpuFlags: MatrixKernels.cpuFlags).joined(separator: ", ")))")
        let before = override.exchange(allCases.firstIndex(of: path)!, ordering: .relaxed)
        defer { override.store(before, ordering: .relaxed) }
        return try body()
    }
}

/// A bad `RNNBOOK_KERNELS`: what was given and what this CPU can run.
public struct KernelSelectionError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Computes one part of a single-precision product on the calling thread with the current path.
enum MatrixKernels {
    /// The CPU's feature flags from /proc/cpuinfo (empty where there is none).
    static let cpuFlags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }()

    /// Below this inner extent A·Bᵀ on the AVX-512 path goes to BLAS: transposing 32 rows of A
    /// costs about as much as the product itself.
    static let minimumInnerForTransposedB = 64

    /// Columns of op(B) the AVX2 path packs at a time (four panels: the scratch stays k·64 floats).
    static let avx2ColumnGroup = 64

    /// C = alpha · op(A) · op(B) + beta · C for the whole product, in parts on the engine's
    /// product threads: the AVX2 path organises its own packing across the parts (`avx2Product`);
    /// the others compute each part (`productParts`) with `sgemm`.
    static func product(path: ProductKernelPath = ProductKernelPath.current,
                        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                        alpha: Float, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int,
                        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, partWork: ProductPartWork = .none) {
        guard m > 0 && n > 0 else { return }
        if path == .avx2 && k > 0 {
            avx2Product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, partWork: partWork)
            return
        }
        forEachProductBlock(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                            c: c, ldc: ldc, work: partWork) { m, n, a, b, c in
            sgemm(path: path, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// C = alpha · op(A) · op(B) + beta · C (row-major) for one part, on the calling thread.
    static func sgemm(path: ProductKernelPath = ProductKernelPath.current,
                      transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                      alpha: Float, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0 && n > 0 else { return }
        switch path {
        case .blas:
            Float.blasGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                           a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .avx2:
            guard k > 0 else { scale(m: m, n: n, beta: beta, c: c, ldc: ldc); return }
            AVX2Layout(transposeA: transposeA, transposeB: transposeB, m: m, n: n)
                .part(rows: 0 ..< m, columns: 0 ..< n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c, ldc: ldc, packedRight: nil)
        case .avx512:
            avx512(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// C = beta · C (an empty inner extent; beta == 0 writes zeros without reading C).
    static func scale(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0 ..< m {
            let row = c + i * ldc
            for j in 0 ..< n { row[j] = beta == 0 ? 0 : beta * row[j] }
        }
    }

    /// Rows per part of a two-phase AVX2 product: their strips (64·k floats) stay in L2.
    static let sharedPanelRows = 64

    /// The AVX2 path over the product threads. Every element comes out the same whichever form
    /// and parts are used (see `AVX2Kernels`), so the choices below are about speed only:
    /// - thin A·Bᵀ (an RNN's backward step dH·W_hhᵀ): Cᵀ = op(B)ᵀ·op(A)ᵀ, the thin op(A) packed
    ///   once by the caller, each part (columns of C) reading B's rows in place;
    /// - strided op(A) (Aᵀ·B, the weight gradients) with many rows, or a product too thin to cut
    ///   by columns: GotoBLAS's two phases, op(B) packed once into panels shared by all threads
    ///   (in parallel when it is wide), then parts of rows that pack their own strips of op(A);
    /// - otherwise each part (columns of C) packs its own columns of op(B).
    static func avx2Product(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, partWork: ProductPartWork) {
        let layout = AVX2Layout(transposeA: transposeA, transposeB: transposeB, m: m, n: n)
        let operands = ProductOperands(a: a, b: b, c: c)
        let parts = productParts(m: m, n: n, k: k, wholeRows: partWork.wholeRows)
        func run(packed: UnsafeMutablePointer<Float>?) {
            let packed = packed.map { ProductOperands(a: UnsafePointer($0), b: UnsafePointer($0), c: $0) }
            forEachProductPart(m: m, n: n, k: k, work: partWork) { rows, columns in
                layout.part(rows: rows, columns: columns, k: k, alpha: alpha, a: operands.a, lda: lda, b: operands.b, ldb: ldb,
                            beta: beta, c: operands.c, ldc: ldc, packedRight: packed?.a)
            }
        }
        if layout.transposedForm {
            withScratch(AVX2Kernels.packedCount(k: k, n: m)) { packed in
                // R[p][i] = op(A)[i][p]: A's rows transposed, or Aᵀ's as stored.
                AVX2Kernels.pack(transposed: !transposeA, k: k, n: m, r: a, ldr: lda, into: packed)
                run(packed: packed)
            }
            return
        }
        let sharedPanels = parts.count > 1 && (!parts.alongColumns || (layout.stripsL && m >= 2 * sharedPanelRows))
        guard sharedPanels else { run(packed: nil); return }
        withScratch(AVX2Kernels.packedCount(k: k, n: n)) { panels in
            let shared = ProductOperands(a: UnsafePointer(panels), b: b, c: panels)
            // op(B)[p][j] = B[p][j], or B[j][p] transposed; wide ones packed in parallel.
            ProductThreads.shared.run(parts: (n + avx2ColumnGroup - 1) / avx2ColumnGroup) { g in
                let j = g * avx2ColumnGroup
                AVX2Kernels.pack(transposed: transposeB, k: k, n: Swift.min(avx2ColumnGroup, n - j),
                                 r: transposeB ? shared.b + j * ldb : shared.b + j, ldr: ldb, into: shared.c + j * k)
            }
            let rowsPerPart = parts.alongColumns ? sharedPanelRows : parts.size
            ProductThreads.shared.run(parts: (m + rowsPerPart - 1) / rowsPerPart) { r in
                let rows = r * rowsPerPart ..< Swift.min((r + 1) * rowsPerPart, m)
                partWork.around(rows, 0 ..< n) { rows, columns in
                    layout.part(rows: rows, columns: columns, k: k, alpha: alpha, a: operands.a, lda: lda, b: operands.b, ldb: ldb,
                                beta: beta, c: operands.c, ldc: ldc, packedRight: shared.a)
                }
            }
        }
    }

    /// C = Aᵀ·B + beta·C on the AVX2 path, where row p of A (m floats) starts at `aRows[p]` and
    /// row p of B (n floats) at `bRows[p]`, for p = 0 ..< k; C is m×n, row-major, ldc = n. For a
    /// weight gradient summed over the steps of a sequence (Σ_t A_tᵀ·B_t): the steps' rows are
    /// packed from where they are instead of being copied into two stacked matrices first.
    /// Every element is the chain `avx2Product` computes for the stacked copies (see
    /// `AVX2Kernels`), so the bits are the same; the parts are organised as there: panels of B
    /// shared by all threads and parts of rows when A is wide, else parts of columns.
    static func avx2TransposedProduct(m: Int, n: Int, k: Int, aRows: UnsafePointer<UnsafePointer<Float>>,
                                      bRows: UnsafePointer<UnsafePointer<Float>>, beta: Float, c: UnsafeMutablePointer<Float>) {
        guard m > 0 && n > 0 else { return }
        guard k > 0 else { scale(m: m, n: n, beta: beta, c: c, ldc: n); return }
        let tables = RowTables(a: aRows, b: bRows, c: c)
        /// Rows × columns of C with its strips, and B's panels unless `panels` holds them all.
        @Sendable func part(_ rows: Range<Int>, _ columns: Range<Int>, panels: UnsafePointer<Float>?) {
            withScratch(AVX2Kernels.stripsCount(m: rows.count, k: k) + (panels == nil ? AVX2Kernels.packedCount(k: k, n: avx2ColumnGroup) : 0)) { scratch in
                AVX2Kernels.packStrips(m: rows.count, k: k, rows: tables.a, column: rows.lowerBound, into: scratch)
                let strips = UnsafePointer(scratch), own = scratch + AVX2Kernels.stripsCount(m: rows.count, k: k)
                for j in stride(from: columns.lowerBound, to: columns.upperBound, by: avx2ColumnGroup) {
                    let width = Swift.min(avx2ColumnGroup, columns.upperBound - j)
                    let packed: UnsafePointer<Float>
                    if let panels { packed = panels + j * k } else {
                        AVX2Kernels.pack(rows: tables.b, column: j, k: k, n: width, into: own)
                        packed = UnsafePointer(own)
                    }
                    AVX2Kernels.multiplyPacked(m: rows.count, n: width, k: k, alpha: 1, l: strips, lRowStride: 1,
                                               lColumnStride: AVX2Kernels.rowBlock, lBlockStride: AVX2Kernels.rowBlock * k,
                                               packed: packed, beta: beta, x: tables.c + rows.lowerBound * n + j,
                                               xRowStride: n, xColumnStride: 1)
                }
            }
        }
        guard m >= 2 * sharedPanelRows else {
            forEachProductPart(m: m, n: n, k: k) { rows, columns in part(rows, columns, panels: nil) }
            return
        }
        withScratch(AVX2Kernels.packedCount(k: k, n: n)) { panels in
            let shared = ProductOperands(a: UnsafePointer(panels), b: UnsafePointer(panels), c: panels)
            ProductThreads.shared.run(parts: (n + avx2ColumnGroup - 1) / avx2ColumnGroup) { g in
                let j = g * avx2ColumnGroup
                AVX2Kernels.pack(rows: tables.b, column: j, k: k, n: Swift.min(avx2ColumnGroup, n - j), into: shared.c + j * k)
            }
            ProductThreads.shared.run(parts: (m + sharedPanelRows - 1) / sharedPanelRows) { r in
                part(r * sharedPanelRows ..< Swift.min((r + 1) * sharedPanelRows, m), 0 ..< n, panels: shared.a)
            }
        }
    }

    /// The AVX-512 path: the whole-block part of the product — every row block of 8 and column
    /// block of 32 (32 and 8 for A·Bᵀ) — on the kernels, the thin leftovers on OpenBLAS.
    static func avx512(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                       alpha: Float, a: UnsafePointer<Float>, lda: Int,
                       b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        func blas(_ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
            guard m > 0 && n > 0 else { return }
            Float.blasGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                           a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        guard k > 0, !(transposeA && transposeB) else { blas(m, n, a, b, c); return }
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
            withScratch(AVX512Kernels.transposedScratchCount(k: k)) { scratch in
                AVX512Kernels.productBlockTransposedB(m: mainRows, n: mainColumns, k: k, alpha: alpha, a: a, lda: lda,
                                                      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, scratch: scratch)
            }
        } else {
            AVX512Kernels.productBlock(transposeA: transposeA, m: mainRows, n: mainColumns, k: k, alpha: alpha,
                                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        // Leftovers: the last columns beside the main block, then the last rows in full.
        blas(mainRows, n - mainColumns, a, columnsFrom(mainColumns), c + mainColumns)
        blas(m - mainRows, n, rowsFrom(mainRows), b, c + mainRows * ldc)
    }

    /// Runs `body` with `count` floats of scratch (on the stack when small, else from the heap,
    /// where glibc reuses the same block call after call).
    @inline(__always)
    static func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(count, 1)) { body($0.baseAddress!) }
    }
}

/// The row tables and output of `MatrixKernels.avx2TransposedProduct`, made sendable for the
/// product threads: they outlive the call, and its parts write disjoint blocks of C.
struct RowTables: @unchecked Sendable {
    let a: UnsafePointer<UnsafePointer<Float>>, b: UnsafePointer<UnsafePointer<Float>>, c: UnsafeMutablePointer<Float>
}

/// How the AVX2 path computes a product: which operand is packed, and whether op(A) is packed
/// into strips (see `MatrixKernels.avx2Product`).
struct AVX2Layout: Sendable {
    let transposeA: Bool, transposeB: Bool
    /// Cᵀ = op(B)ᵀ·op(A)ᵀ: thin op(A) packed as the right operand, B's rows read in place.
    let transposedForm: Bool
    /// Whether L = op(A) is packed into strips (its rows are strided: L = Aᵀ).
    let stripsL: Bool

    init(transposeA: Bool, transposeB: Bool, m: Int, n: Int) {
        self.transposeA = transposeA; self.transposeB = transposeB
        transposedForm = transposeB && m <= MatrixKernels.avx2ColumnGroup && m < n
        stripsL = transposeA && !transposedForm
    }

    /// Computes rows × columns of C on the calling thread. `packedRight`, when given, is the
    /// right operand already packed, whole: op(A)ᵀ in the transposed form, else all of op(B)
    /// (column 0 at panel 0). Otherwise the part packs what it needs.
    func part(rows: Range<Int>, columns: Range<Int>, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, packedRight: UnsafePointer<Float>?) {
        guard !rows.isEmpty && !columns.isEmpty else { return }
        let m = rows.count, n = columns.count
        // op(A)'s rows from rows.lowerBound: op(A)[i][p] = a[i·aRow + p·aColumn].
        let (aRow, aColumn) = transposeA ? (1, lda) : (lda, 1)
        let a = a + rows.lowerBound * aRow
        let c = c + rows.lowerBound * ldc + columns.lowerBound
        /// X = alpha · L · P + beta · X.
        func multiply(_ m: Int, _ n: Int, l: UnsafePointer<Float>, _ lRow: Int, _ lColumn: Int, _ lBlock: Int,
                      packed: UnsafePointer<Float>, x: UnsafeMutablePointer<Float>, _ xRow: Int, _ xColumn: Int,
                      panelsOuter: Bool = true) {
            AVX2Kernels.multiplyPacked(m: m, n: n, k: k, alpha: alpha, l: l, lRowStride: lRow, lColumnStride: lColumn,
                                       lBlockStride: lBlock, packed: packed, beta: beta,
                                       x: x, xRowStride: xRow, xColumnStride: xColumn, panelsOuter: panelsOuter)
        }
        if transposedForm {
            // X = Cᵀ (n×m) = L·R with L[j][p] = B[j][p], R[p][i] = op(A)[i][p]; parts of this
            // form are columns of C, so R is always whole. B's rows (the larger operand) are
            // streamed once, the thin op(A)ᵀ reused.
            checkPrecondition(rows == 0 ..< rows.upperBound, "internal: a transposed-form part starts at row \(rows.lowerBound)")
            let run = { (packed: UnsafePointer<Float>) in
                multiply(n, m, l: b + columns.lowerBound * ldb, ldb, 1, AVX2Kernels.rowBlock * ldb,
                         packed: packed, x: c, 1, ldc, panelsOuter: false)
            }
            if let packedRight { run(packedRight); return }
            MatrixKernels.withScratch(AVX2Kernels.packedCount(k: k, n: m)) { packed in
                AVX2Kernels.pack(transposed: !transposeA, k: k, n: m, r: a, ldr: lda, into: packed)
                run(packed)
            }
            return
        }
        let stripCount = stripsL ? AVX2Kernels.stripsCount(m: m, k: k) : 0
        let group = MatrixKernels.avx2ColumnGroup
        let panelCount = packedRight != nil ? 0 : AVX2Kernels.packedCount(k: k, n: Swift.min(n, group))
        MatrixKernels.withScratch(stripCount + panelCount) { scratch in
            var l = a, lRow = aRow, lColumn = aColumn, lBlock = AVX2Kernels.rowBlock * aRow
            if stripsL {
                AVX2Kernels.packStrips(m: m, k: k, l: a, rowStride: aRow, columnStride: aColumn, into: scratch)
                l = UnsafePointer(scratch); lRow = 1; lColumn = AVX2Kernels.rowBlock; lBlock = AVX2Kernels.rowBlock * k
            }
            let panels = scratch + stripCount
            if let packedRight {
                multiply(m, n, l: l, lRow, lColumn, lBlock, packed: packedRight + columns.lowerBound * k, x: c, ldc, 1)
                return
            }
            // A group of panels at a time, packed row by row across the group: B's rows are read
            // in runs of 256 bytes, which the prefetchers follow (a panel at a time, 64 bytes in
            // every 2 KB, was 25 % slower in a training loop).
            var j = 0
            while j < n {
                // op(B)[p][j] = B[p][j], or B[j][p] transposed.
                let width = Swift.min(group, n - j), column = columns.lowerBound + j
                AVX2Kernels.pack(transposed: transposeB, k: k, n: width, r: transposeB ? b + column * ldb : b + column,
                                 ldr: ldb, into: panels)
                multiply(m, width, l: l, lRow, lColumn, lBlock, packed: panels, x: c + j, ldc, 1)
                j += width
            }
        }
    }
}

