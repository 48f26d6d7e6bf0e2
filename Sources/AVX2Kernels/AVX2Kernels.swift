import KernelSupport

/// Single-precision matrix-product kernels for x86-64 CPUs with AVX2 and FMA, written with
/// Swift's SIMD types.
///
/// This module is compiled for `haswell` (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE; see
/// Package.swift), so call it only after `AVX2Kernels.isSupported(cpuFlags:)` said yes (the
/// engine checks once, see `Engine/MatrixKernels.swift`). It holds no global state.
///
/// Why our own kernels: on the AVX2-only machines this book also runs on (AMD EPYC, family 25),
/// OpenBLAS 0.3.21's Zen kernels reach about 57 GFLOP/s on one core for the RNN's
/// [32, 512]·[512, 512] step, two thirds of the core's FMA peak, and spend a sixth of a training
/// step copying operands. The work is organised as GotoBLAS/BLIS do it, cut to what an RNN needs:
///
/// - `pack` copies op(R), the right operand, into panels of 16 columns (`panelWidth`), each k
///   rows of 16 contiguous floats, zero beyond the last column, so the kernel streams it linearly;
/// - `multiplyPacked` computes X = alpha · L · P + beta · X with a 6×16 register block (twelve
///   8-float accumulators; `rowBlock`): six values of L are broadcast against the two vectors of
///   P's row p, for p = 0 ..< k in order. L is read in place through a row and a column stride, so
///   L may be A or Aᵀ without a copy, and X may be C or Cᵀ (a transposed write), which lets the
///   engine pack whichever operand is cheaper to pack.
///
/// Every element of X is therefore computed the same way wherever its block lies: a chain of
/// fused multiply-adds over p = 0 ..< k from zero, then alpha·acc, then (unless beta is 0) one
/// fused multiply-add of beta·X. Blocking, threads, edges and packing never change a bit, and the
/// AVX-512 kernels (`AVX512Kernels.block8x32`) do the same arithmetic.
public enum AVX2Kernels {
    /// The /proc/cpuinfo flags of what code compiled for `haswell` may use.
    public static let requiredFlags: Set<String> = ["avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "abm", "popcnt"]

    /// Whether a CPU with these /proc/cpuinfo flags can run this module.
    public static func isSupported(cpuFlags: Set<String>) -> Bool {
        #if arch(x86_64)
        return requiredFlags.isSubset(of: cpuFlags)
        #else
        return false  // compiled for this architecture's default CPU: nothing to gain
        #endif
    }

    /// Columns of one packed panel.
    public static let panelWidth = 16
    /// Rows of L (and of X) that one register block covers.
    public static let rowBlock = 6

    /// Floats that `pack` writes for n columns of a k-row operand.
    public static func packedCount(k: Int, n: Int) -> Int { k * ((n + panelWidth - 1) / panelWidth * panelWidth) }

    /// Floats that `packStrips` writes for m rows of an m×k operand.
    public static func stripsCount(m: Int, k: Int) -> Int { k * ((m + rowBlock - 1) / rowBlock * rowBlock) }

    typealias Vector = SIMD8<Float>

    /// Packs columns 0 ..< n of op(R) (k×n) into panels: panel q holds columns 16q ..< 16q + 16
    /// as k rows of 16 floats at `packed + 16·q·k`, zero beyond column n.
    /// op(R)[p][j] is r[p·ldr + j], or r[j·ldr + p] when `transposed`.
    public static func pack(transposed: Bool, k: Int, n: Int, r: UnsafePointer<Float>, ldr: Int,
                            into packed: UnsafeMutablePointer<Float>) {
        precondition(k >= 0 && n >= 0, "AVX2Kernels.pack: negative extent k \(k), n \(n)")
        guard transposed else { packRows(k: k, n: n, StridedRows(base: r, stride: ldr), into: packed); return }
        var j = 0
        while j < n {
            let width = Swift.min(panelWidth, n - j)
            let panel = packed + j * k
            // Column s of the panel is row j + s of R: read it in order, write with stride 16.
            for s in 0 ..< width {
                var source = r + (j + s) * ldr, target = panel + s
                for _ in 0 ..< k { target.pointee = source.pointee; source += 1; target += panelWidth }
            }
            if width < panelWidth {
                for p in 0 ..< k { for s in width ..< panelWidth { panel[p * panelWidth + s] = 0 } }
            }
            j += panelWidth
        }
    }

    /// `pack` of R's columns `column ..< column + n`, where row p of R starts at `rows[p]` (the rows
    /// of several tensors read where they are, instead of copied into one matrix first).
    public static func pack(rows: UnsafePointer<UnsafePointer<Float>>, column: Int, k: Int, n: Int,
                            into packed: UnsafeMutablePointer<Float>) {
        precondition(k >= 0 && n >= 0, "AVX2Kernels.pack: negative extent k \(k), n \(n)")
        packRows(k: k, n: n, TabledRows(table: rows, offset: column), into: packed)
    }

    /// Where row p of an operand starts.
    protocol RowSource { func row(_ p: Int) -> UnsafePointer<Float> }
    /// Rows at a fixed stride: one matrix.
    struct StridedRows: RowSource {
        let base: UnsafePointer<Float>, stride: Int
        @inline(__always) func row(_ p: Int) -> UnsafePointer<Float> { base + p * stride }
    }
    /// Rows listed in a table, each from `offset` on.
    struct TabledRows: RowSource {
        let table: UnsafePointer<UnsafePointer<Float>>, offset: Int
        @inline(__always) func row(_ p: Int) -> UnsafePointer<Float> { table[p] + offset }
    }

    /// `pack` of a row-major R (op(R)[p][j] = rows.row(p)[j]).
    @inline(__always)
    static func packRows<R: RowSource>(k: Int, n: Int, _ rows: R, into packed: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            let width = Swift.min(panelWidth, n - j)
            let panel = packed + j * k
            if width == panelWidth {
                // Whole panels, row by row across all of them: R's rows are read in long
                // sequential runs, which the prefetcher follows.
                let whole = (n - j) / panelWidth
                for p in 0 ..< k {
                    let source = rows.row(p) + j
                    var target = panel + p * panelWidth
                    for q in 0 ..< whole {
                        store(load(source + q * panelWidth), target); store(load(source + q * panelWidth + 8), target + 8)
                        target += panelWidth * k
                    }
                }
                j += whole * panelWidth
                continue
            }
            for p in 0 ..< k {
                let source = rows.row(p) + j, target = panel + p * panelWidth
                for s in 0 ..< width { target[s] = source[s] }
                for s in width ..< panelWidth { target[s] = 0 }
            }
            j += panelWidth
        }
    }

    /// Packs rows 0 ..< m of L (m×k, element (i, p) at `l + i·rowStride + p·columnStride`) into
    /// strips of 6 rows (`rowBlock`): strip s holds rows 6s ..< 6s + 6 as k groups of 6 floats at
    /// `packed + 6·s·k`, zero beyond row m (`stripsCount` floats in all). Worth it when L's rows
    /// are strided (L = Aᵀ, a weight gradient's states), which would otherwise cost a cache line
    /// per broadcast.
    public static func packStrips(m: Int, k: Int, l: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
                                  into packed: UnsafeMutablePointer<Float>) {
        precondition(m >= 0 && k >= 0, "AVX2Kernels.packStrips: negative extent m \(m), k \(k)")
        packStrips(m: m, k: k, StridedRows(base: l, stride: columnStride), rowStride: rowStride, into: packed)
    }

    /// `packStrips` of L = Aᵀ's rows `column ..< column + m`, where row p of A starts at `rows[p]`:
    /// L's element (i, p) is `rows[p][column + i]` (the rows of several tensors read where they
    /// are, instead of copied into one matrix first).
    public static func packStrips(m: Int, k: Int, rows: UnsafePointer<UnsafePointer<Float>>, column: Int,
                                  into packed: UnsafeMutablePointer<Float>) {
        precondition(m >= 0 && k >= 0, "AVX2Kernels.packStrips: negative extent m \(m), k \(k)")
        packStrips(m: m, k: k, TabledRows(table: rows, offset: column), rowStride: 1, into: packed)
    }

    /// `packStrips` with L's element (i, p) at `columns.row(p)[i·rowStride]`.
    @inline(__always)
    static func packStrips<R: RowSource>(m: Int, k: Int, _ columns: R, rowStride: Int, into packed: UnsafeMutablePointer<Float>) {
        var i = 0
        while i < m {
            let strip = packed + i * k
            if rowStride == 1 && m - i >= 8 * rowBlock {
                // Eight strips at once: 48 consecutive floats of L's column p (L = Aᵀ: part of a
                // row of A), three cache lines read whole.
                for p in 0 ..< k {
                    let source = columns.row(p) + i, target = strip + p * rowBlock
                    for q in 0 ..< 8 {
                        let from = source + q * rowBlock, to = target + q * rowBlock * k
                        KernelSupport.store(KernelSupport.load(from, as: SIMD4<Float>.self), to)
                        KernelSupport.store(KernelSupport.load(from + 4, as: SIMD2<Float>.self), to + 4)
                    }
                }
                i += 8 * rowBlock
                continue
            }
            let rows = Swift.min(rowBlock, m - i)
            for p in 0 ..< k {
                let column = columns.row(p)
                for r in 0 ..< rowBlock { strip[p * rowBlock + r] = r < rows ? column[(i + r) * rowStride] : 0 }
            }
            i += rowBlock
        }
    }

    /// X = alpha · L · P + beta · X for an m×n block.
    ///
    /// - L is m×k: element (i, p) of row block b (rows 6b ..< 6b + 6) at
    ///   `l + b·lBlockStride + (i − 6b)·lRowStride + p·lColumnStride`. For L in place,
    ///   lBlockStride = 6·lRowStride; for strips from `packStrips`, lRowStride = 1,
    ///   lColumnStride = 6 and lBlockStride = 6·k.
    /// - P is k×n, packed by `pack` (panel 0 is column 0 of this block).
    /// - X element (i, j) is at `x + i·xRowStride + j·xColumnStride`; with beta == 0 it is
    ///   never read (it may hold garbage or NaN).
    /// - `panelsOuter`: each panel (16·k floats) is read once and reused from the nearest cache
    ///   by every row block; otherwise each row block of L is read once and every panel is
    ///   reused. Stream the larger operand once.
    public static func multiplyPacked(m: Int, n: Int, k: Int, alpha: Float,
                                      l: UnsafePointer<Float>, lRowStride: Int, lColumnStride: Int, lBlockStride: Int,
                                      packed: UnsafePointer<Float>, beta: Float,
                                      x: UnsafeMutablePointer<Float>, xRowStride: Int, xColumnStride: Int,
                                      panelsOuter: Bool = true) {
        precondition(m >= 0 && n >= 0 && k >= 0, "AVX2Kernels.multiplyPacked: negative extent \(m)×\(n)×\(k)")
        let output = Output(alpha: alpha, beta: beta, rowStride: xRowStride, columnStride: xColumnStride)
        let left = Left(base: l, rowStride: lRowStride, columnStride: lColumnStride, blockStride: lBlockStride)
        // Row blocks of 6 and 5 where L is in place: m = 6a + 5f with f = (6 − m mod 6) mod 6 blocks
        // of 5 at the end, so that no block has fewer than ten chains of fused multiply-adds. A
        // block of 4 rows has 8 chains, just the FMA latency's worth, and a block of 1 or 2 has
        // 2 or 4, too few to hide it: the batch of 32 rows used to end in two blocks of 4 and a
        // group of 16 rows in one, and those ran at about half the rate of the blocks of 6
        // (issue 29). Where m is too small for that (m < 20 and m mod 6 needs more 5s than fit),
        // the last 6 + r rows, r = 1 or 2, are blocks of 4 and 3 or 4. Strips hold 6 rows, so
        // packed L keeps blocks of 6. Each element's chain is the same whatever its block, so
        // none of this changes a bit.
        let inPlace = lBlockStride == rowBlock * lRowStride
        let fives = (rowBlock - m % rowBlock) % rowBlock
        let fivesFrom = inPlace && fives > 0 && 5 * fives <= m ? m - 5 * fives : m
        let tail = m % rowBlock
        let splitFrom = inPlace && fivesFrom == m && m > rowBlock && (tail == 1 || tail == 2) ? m - rowBlock - tail : m
        func one(_ i: Int, rows: Int, _ j: Int) {
            let panel = Right(values: packed + j * k, stride: panelWidth)
            let l = i % rowBlock == 0 ? left.block(i) : left.rows(from: i)
            block(rows: rows, k: k, l, panel, columns: Swift.min(panelWidth, n - j), x: x + i * xRowStride + j * xColumnStride, output)
        }
        /// The row blocks in order: (first row, row count).
        func forEachRowBlock(_ body: (Int, Int) -> Void) {
            let wholeEnd = Swift.min(splitFrom, fivesFrom)
            for i in stride(from: 0, to: wholeEnd, by: rowBlock) { body(i, Swift.min(rowBlock, m - i)) }
            if fivesFrom < m {
                for i in stride(from: fivesFrom, to: m, by: 5) { body(i, 5) }
            } else if splitFrom < m {
                body(splitFrom, 4)
                body(splitFrom + 4, m - splitFrom - 4)
            }
        }
        if panelsOuter {
            for j in stride(from: 0, to: n, by: panelWidth) { forEachRowBlock { i, rows in one(i, rows: rows, j) } }
        } else {
            forEachRowBlock { i, rows in for j in stride(from: 0, to: n, by: panelWidth) { one(i, rows: rows, j) } }
        }
    }

    /// y[i] = tanh(x[i]) for i < count with `KernelSupport.fastTanh`, 8 lanes at a time (the
    /// engine itself is compiled for the baseline x86-64 and gets 4). x may equal y.
    public static func tanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        // In place through one pointer: with two, the compiler's overlap check sends equal
        // pointers to its scalar loop (which ran 8 % of a fused training step).
        if x == UnsafePointer(y) {
            for i in 0 ..< count { y[i] = KernelSupport.fastTanh(y[i]) }
        } else {
            for i in 0 ..< count { y[i] = KernelSupport.fastTanh(x[i]) }
        }
    }

    /// Peak single-precision FMA throughput of one core with 8-wide vectors: a loop of
    /// independent fused multiply-adds (`KernelSupport.fmaLoop`, compiled for this module's CPU).
    @inline(never)
    public static func fmaLoop(iterations: Int, seed: Float) -> Float {
        KernelSupport.fmaLoop(Vector.self, iterations: iterations, seed: seed)
    }
    /// Floating-point operations of one `fmaLoop` iteration.
    public static let fmaLoopFlopsPerIteration = KernelSupport.fmaLoopFlopsPerIteration(Vector.self)

    // MARK: Kernel

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector { KernelSupport.load(p) }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) { KernelSupport.store(v, p) }

    /// How results are written: X = alpha·acc (+ beta·X), at (row, column) strides.
    struct Output {
        let alpha: Float, beta: Float, rowStride: Int, columnStride: Int

        /// Writes 16 results of one row of X: the contiguous case with vector stores, any other
        /// (a partial panel or a transposed X) element by element with the same arithmetic.
        @inline(__always)
        func write(_ v0: Vector, _ v1: Vector, row: Int, columns: Int, to x: UnsafeMutablePointer<Float>) {
            let q = x + row * rowStride
            if columnStride == 1 && columns == 16 {
                if beta == 0 {
                    store(alpha * v0, q); store(alpha * v1, q + 8)
                } else {
                    store((alpha * v0).addingProduct(beta, load(q)), q)
                    store((alpha * v1).addingProduct(beta, load(q + 8)), q + 8)
                }
                return
            }
            let scaled0 = alpha * v0, scaled1 = alpha * v1
            for s in 0 ..< columns {
                let value = s < 8 ? scaled0[s] : scaled1[s - 8]
                let target = q + s * columnStride
                target.pointee = beta == 0 ? value : value.addingProduct(beta, target.pointee)
            }
        }
    }

    /// A row count known at compile time (see `rowBlockLoop`).
    protocol RowCount { static var rows: Int { get } }
    enum Rows1: RowCount { static var rows: Int { 1 } }
    enum Rows2: RowCount { static var rows: Int { 2 } }
    enum Rows3: RowCount { static var rows: Int { 3 } }
    enum Rows4: RowCount { static var rows: Int { 4 } }
    enum Rows5: RowCount { static var rows: Int { 5 } }
    enum Rows6: RowCount { static var rows: Int { 6 } }

    /// Where a row block's values of L are: rows at `rowStride`, the inner index at `columnStride`.
    struct Left {
        let base: UnsafePointer<Float>, rowStride: Int, columnStride: Int, blockStride: Int
        /// The row block that starts at row i (a multiple of 6).
        @inline(__always) func block(_ i: Int) -> Left {
            Left(base: base + i / rowBlock * blockStride, rowStride: rowStride, columnStride: columnStride, blockStride: blockStride)
        }
        /// Rows from row i on, for L in place (blockStride = 6·rowStride), where i need not be a
        /// multiple of 6.
        @inline(__always) func rows(from i: Int) -> Left {
            Left(base: base + i * rowStride, rowStride: rowStride, columnStride: columnStride, blockStride: blockStride)
        }
    }

    /// Where a panel's 16 values of row p are: `values + p·stride` (16 for a packed panel).
    struct Right {
        let values: UnsafePointer<Float>, stride: Int
    }

    /// One block of `rows` (1 … 6) rows by one panel of 16 columns: L's values broadcast against
    /// the panel's two vectors of row p, p = 0 ..< k. Dispatches to a copy of the loop for each
    /// row count, so the row count is a constant inside each.
    @inline(__always)
    static func block(rows: Int, k: Int, _ left: Left, _ right: Right, columns: Int,
                      x: UnsafeMutablePointer<Float>, _ output: Output) {
        switch rows {
        case 6: rowBlockLoop(Rows6.self, k: k, left, right, columns: columns, x: x, output)
        case 5: rowBlockLoop(Rows5.self, k: k, left, right, columns: columns, x: x, output)
        case 4: rowBlockLoop(Rows4.self, k: k, left, right, columns: columns, x: x, output)
        case 3: rowBlockLoop(Rows3.self, k: k, left, right, columns: columns, x: x, output)
        case 2: rowBlockLoop(Rows2.self, k: k, left, right, columns: columns, x: x, output)
        default: rowBlockLoop(Rows1.self, k: k, left, right, columns: columns, x: x, output)
        }
    }

    /// The kernel: `rows` is a constant after inlining, so unused rows vanish from the loop.
    /// Six rows make twelve independent chains of fused multiply-adds: on a CPU with two FMA
    /// pipes of latency 4 (Zen 3, Haswell) eight chains are just enough in theory and, in a
    /// training step whose operands come from L2, too few in practice (the 4×16 block ran at
    /// about half the FMA peak there). Fifteen of the sixteen vector registers are in use.
    /// One function per row count (generic specialisation makes `rows` a constant; an inlined
    /// `rows:` argument was not always folded, and the compiler kept a copy that tested the row
    /// count inside the loop).
    @inline(never)
    static func rowBlockLoop<R: RowCount>(_: R.Type, k: Int, _ left: Left, _ right: Right, columns: Int,
                                          x: UnsafeMutablePointer<Float>, _ output: Output) {
        let rows = R.rows
        var c00 = Vector(), c01 = Vector(), c10 = Vector(), c11 = Vector()
        var c20 = Vector(), c21 = Vector(), c30 = Vector(), c31 = Vector()
        var c40 = Vector(), c41 = Vector(), c50 = Vector(), c51 = Vector()
        let rowStride = left.rowStride
        let l0 = left.base, l1 = l0 + rowStride, l2 = l1 + rowStride
        let l3 = l2 + rowStride, l4 = l3 + rowStride, l5 = l4 + rowStride
        let columnStride = left.columnStride, panelStride = right.stride
        var row = right.values, offset = 0
        for _ in 0 ..< k {
            let b0 = load(row), b1 = load(row + 8)
            row += panelStride
            var v = Vector(repeating: l0[offset]); c00 = c00.addingProduct(v, b0); c01 = c01.addingProduct(v, b1)
            if rows > 1 { v = Vector(repeating: l1[offset]); c10 = c10.addingProduct(v, b0); c11 = c11.addingProduct(v, b1) }
            if rows > 2 { v = Vector(repeating: l2[offset]); c20 = c20.addingProduct(v, b0); c21 = c21.addingProduct(v, b1) }
            if rows > 3 { v = Vector(repeating: l3[offset]); c30 = c30.addingProduct(v, b0); c31 = c31.addingProduct(v, b1) }
            if rows > 4 { v = Vector(repeating: l4[offset]); c40 = c40.addingProduct(v, b0); c41 = c41.addingProduct(v, b1) }
            if rows > 5 { v = Vector(repeating: l5[offset]); c50 = c50.addingProduct(v, b0); c51 = c51.addingProduct(v, b1) }
            offset &+= columnStride
        }
        output.write(c00, c01, row: 0, columns: columns, to: x)
        if rows > 1 { output.write(c10, c11, row: 1, columns: columns, to: x) }
        if rows > 2 { output.write(c20, c21, row: 2, columns: columns, to: x) }
        if rows > 3 { output.write(c30, c31, row: 3, columns: columns, to: x) }
        if rows > 4 { output.write(c40, c41, row: 4, columns: columns, to: x) }
        if rows > 5 { output.write(c50, c51, row: 5, columns: columns, to: x) }
    }
}
