/// Kernels that add into a pending gradient in place, for the accumulating backward rules of
/// `Variable` (see `Variable.receiveProduct` and friends). A missing pending gradient (`nil`)
/// is created by the first contribution without a zero fill wherever that contribution writes
/// every element.

extension Tensor {
    /// `pending += op(a) · op(b)` by one gemm (β = 1), or `pending = op(a) · op(b)` (β = 0, into
    /// unfilled memory) when there is none yet. The product must have `shape`'s element count.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func addProduct(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                           into pending: inout Tensor?, shape: [Int]) {
        checkPrecondition(b.rank == 2 && a.rank >= 2 && !(transposeA && a.rank != 2),
                          "internal: addProduct of shapes \(a.shape) and \(b.shape)")
        let rows = a.count / Swift.max(a.shape[a.rank - 1], 1), inner = a.shape[a.rank - 1]
        let (m, k) = transposeA ? (inner, rows) : (rows, inner)
        let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        checkPrecondition(k == k2 && m * n == shape.shapeProduct,
                          "internal: addProduct of shapes \(a.shape) and \(b.shape) into \(shape)")
        if pending == nil && k == 0 { pending = Tensor(zeros: shape); return }
        let fresh = preparePending(&pending, shape: shape)
        guard m > 0 && n > 0 && k > 0 else { return }
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                pending!.scalars.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                alpha: 1, a: pa.baseAddress!, lda: inner, b: pb.baseAddress!, ldb: b.shape[1],
                                beta: fresh ? 0 : 1, c: pc.baseAddress!, ldc: n)
                }
            }
        }
    }

    /// `pending += a · P` for a packed right operand (β = 0 into fresh memory when none yet).
    static func addProduct(_ a: Tensor, packed: PackedMatrix<Scalar>, into pending: inout Tensor?, shape: [Int]) {
        let k = packed.k, n = packed.n, m = a.count / Swift.max(k, 1)
        checkPrecondition(a.shape.last == k && m * n == shape.shapeProduct,
                          "internal: addProduct of shape \(a.shape) and packed [\(k), \(n)] into \(shape)")
        if pending == nil && k == 0 { pending = Tensor(zeros: shape); return }
        let fresh = preparePending(&pending, shape: shape)
        guard m > 0 && n > 0 && k > 0 else { return }
        a.scalars.withUnsafeBufferPointer { pa in
            pending!.scalars.withUnsafeMutableBufferPointer { pc in
                Scalar.gemm(transposeA: false, m: m, alpha: 1, a: pa.baseAddress!, lda: k, packed: packed,
                            beta: fresh ? 0 : 1, c: pc.baseAddress!, ldc: n)
            }
        }
    }

    /// `pending += Σᵢ lhsᵢᵀ · rhsᵢ` as a single gemm over the rows of all pairs stacked
    /// (each lhsᵢ is [rᵢ, m] or a stack of such rows, each rhsᵢ [rᵢ, n]).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func addSummedProducts(_ products: [(lhs: Tensor, rhs: Tensor)], into pending: inout Tensor?, shape: [Int]) {
        guard let first = products.first else { return }
        let m = first.lhs.shape[first.lhs.rank - 1], n = first.rhs.shape[first.rhs.rank - 1]
        if products.count == 1 {
            let rows = first.lhs.count / Swift.max(m, 1)
            addProduct(first.lhs.reshaped([rows, m]), transposeA: true, first.rhs.reshaped([rows, n]),
                       transposeB: false, into: &pending, shape: shape)
            return
        }
        for (l, r) in products {
            checkPrecondition(l.shape[l.rank - 1] == m && r.shape[r.rank - 1] == n && l.count / Swift.max(m, 1) == r.count / Swift.max(n, 1),
                              "internal: deferred products of shapes \(l.shape), \(r.shape) do not stack")
        }
        // The pairs are stacked a chunk at a time into two buffers that are reused: a chunk of
        // a few hundred rows keeps the gemm near full speed, while the copies stay small enough to
        // be read back from cache and no buffer of the whole sequence's size (a fresh mapping
        // whose every page faults) is made per backward pass.
        let totalRows = products.reduce(0) { $0 + $1.lhs.count } / Swift.max(m, 1)
        let chunks = Swift.max(1, (totalRows + 255) / 256)
        let chunkRows = (totalRows + chunks - 1) / chunks  // even chunks: no thin last product
        let largest = products.reduce(0) { Swift.max($0, $1.lhs.count / Swift.max(m, 1)) }
        // Where the kernels read the pairs' rows in place (Float on the AVX2 path), nothing is
        // copied: the same bits, without moving every step's state and gradient once more (the
        // copies took 3 % of each thread's time in a training step of the scratch model).
        let inPlace = Scalar.productsReadRowsInPlace
        let lhsCount = inPlace ? 0 : (chunkRows + largest) * m, rhsCount = inPlace ? 0 : (chunkRows + largest) * n
        var lhs = [Scalar](unsafeUninitializedCapacity: lhsCount) { _, initialized in initialized = lhsCount }
        var rhs = [Scalar](unsafeUninitializedCapacity: rhsCount) { _, initialized in initialized = rhsCount }
        var index = 0
        while index < products.count {
            // The pairs of this chunk, stacked in parallel (the copies were a tenth of the
            // scratch model's serial time between products).
            let start = index
            var rows = 0
            repeat {
                rows += products[index].lhs.count / Swift.max(m, 1)
                index += 1
            } while index < products.count && rows < chunkRows
            if rows == 0 { if pending == nil { pending = Tensor(zeros: shape) }; continue }
            let chunk = products[start ..< index]
            if inPlace {
                let fresh = preparePending(&pending, shape: shape)
                withRowTables(chunk, m: m, n: n, rows: rows) { aRows, bRows in
                    pending!.scalars.withUnsafeMutableBufferPointer { pc in
                        Scalar.transposedProduct(m: m, n: n, k: rows, aRows: aRows, bRows: bRows, beta: fresh ? 0 : 1, c: pc.baseAddress!)
                    }
                }
                continue
            }
            lhs.withUnsafeMutableBufferPointer { pa in
                rhs.withUnsafeMutableBufferPointer { pb in
                    copyInParallel(chunk.map(\.lhs), into: pa.baseAddress!)
                    copyInParallel(chunk.map(\.rhs), into: pb.baseAddress!)
                    accumulateProduct(transposeA: true, m: m, n: n, k: rows, a: pa.baseAddress!, lda: m,
                                      b: pb.baseAddress!, ldb: n, into: &pending, shape: shape)
                }
            }
        }
    }

    /// Calls `body` with two tables of `rows` row pointers, the rows of the pairs' left (m floats
    /// each) and right (n floats each) tensors in order, valid during the call.
    private static func withRowTables(_ pairs: ArraySlice<(lhs: Tensor, rhs: Tensor)>, m: Int, n: Int, rows: Int,
                                      _ body: (UnsafePointer<UnsafePointer<Scalar>>, UnsafePointer<UnsafePointer<Scalar>>) -> Void) {
        var aRows: [UnsafePointer<Scalar>] = [], bRows: [UnsafePointer<Scalar>] = []
        aRows.reserveCapacity(rows); bRows.reserveCapacity(rows)
        /// The pairs from `i` on, each pointer taken inside the access that keeps it valid.
        func nest(_ i: Int) {
            guard i < pairs.endIndex else {
                checkPrecondition(aRows.count == rows && bRows.count == rows, "internal: \(aRows.count) rows in tables of \(rows)")
                return aRows.withUnsafeBufferPointer { a in bRows.withUnsafeBufferPointer { b in body(a.baseAddress!, b.baseAddress!) } }
            }
            let (l, r) = pairs[i]
            return l.scalars.withUnsafeBufferPointer { pl in
                r.scalars.withUnsafeBufferPointer { pr in
                    for q in 0 ..< l.count / Swift.max(m, 1) {
                        aRows.append(pl.baseAddress! + q * m)
                        bRows.append(pr.baseAddress! + q * n)
                    }
                    return nest(i + 1)
                }
            }
        }
        return nest(pairs.startIndex)
    }

    /// Makes `pending` ready to receive a product: when there is none yet, unfilled memory of
    /// `shape` that the product writes with β = 0. Returns whether it was fresh.
    private static func preparePending(_ pending: inout Tensor?, shape: [Int]) -> Bool {
        guard pending == nil else { return false }
        let count = shape.shapeProduct
        pending = Tensor(shape: shape, scalars: [Scalar](unsafeUninitializedCapacity: count) { _, initialized in
            initialized = count
        })
        return true
    }

    /// `pending += op(A) · B` for raw row-major operands (β = 0 into fresh memory when none yet).
    private static func accumulateProduct(transposeA: Bool, m: Int, n: Int, k: Int,
                                          a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
                                          into pending: inout Tensor?, shape: [Int]) {
        let fresh = preparePending(&pending, shape: shape)
        guard m > 0 && n > 0 else { return }
        pending!.scalars.withUnsafeMutableBufferPointer { pc in
            Scalar.gemm(transposeA: transposeA, transposeB: false, m: m, n: n, k: k,
                        alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                        beta: fresh ? 0 : 1, c: pc.baseAddress!, ldc: n)
        }
    }

    /// `pending[offset ..< offset + count] += source[sourceOffset ..< sourceOffset + count]`;
    /// a fresh pending gradient is zero outside the block.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func addBlock(of source: Tensor, from sourceOffset: Int, count: Int,
                         into pending: inout Tensor?, shape: [Int], at offset: Int) {
        let total = shape.shapeProduct
        checkPrecondition(sourceOffset >= 0 && sourceOffset + count <= source.count && offset >= 0 && offset + count <= total,
                          "internal: block of \(count) from \(sourceOffset) in \(source.shape) at \(offset) in \(shape)")
        guard count > 0 else { if pending == nil { pending = Tensor(zeros: shape) }; return }
        if pending == nil {
            let out = [Scalar](unsafeUninitializedCapacity: total) { buffer, initialized in
                let p = buffer.baseAddress!
                p.initialize(repeating: 0, count: offset)
                (p + offset + count).initialize(repeating: 0, count: total - offset - count)
                source.scalars.withUnsafeBufferPointer { s in
                    // In parallel: an RNN state's block of the output layer's gradient, read
                    // back from L3 (see `elementwiseMapChunk`).
                    let block = ProductOperands(a: s.baseAddress! + sourceOffset, b: s.baseAddress!, c: p + offset)
                    forEachElementChunk(count: count, size: elementwiseMapChunk) { r in
                        (block.c + r.lowerBound).initialize(from: block.a + r.lowerBound, count: r.count)
                    }
                }
                initialized = total
            }
            pending = Tensor(shape: shape, scalars: out)
            return
        }
        source.scalars.withUnsafeBufferPointer { s in
            pending!.scalars.withUnsafeMutableBufferPointer { d in
                let block = ProductOperands(a: s.baseAddress! + sourceOffset, b: s.baseAddress!, c: d.baseAddress! + offset)
                forEachElementChunk(count: count, size: elementwiseMapChunk) { r in
                    for i in r { block.c[i] += block.a[i] }
                }
            }
        }
    }

    /// `pending += Σ rows of source`, where `source`'s trailing axes are `shape` (the backward of
    /// a bias broadcast over rows); a fresh pending gradient starts from the first row.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func addRowSums(of source: Tensor, into pending: inout Tensor?, shape: [Int]) {
        let size = shape.shapeProduct
        let rows = source.count / Swift.max(size, 1)
        if pending == nil { pending = Tensor(zeros: shape) }
        guard size > 0 else { return }
        source.scalars.withUnsafeBufferPointer { s in
            pending!.scalars.withUnsafeMutableBufferPointer { d in
                let dst = d.baseAddress!
                for r in 0 ..< rows {
                    let src = s.baseAddress! + r * size
                    for i in 0 ..< size { dst[i] += src[i] }
                }
            }
        }
    }
}

extension Tensor {
    /// Σ x² over all elements (for global-norm clipping): chunk by chunk on the product threads
    /// (`forEachElementChunk`), the chunks' sums added in order, so the bits do not depend on
    /// the thread count.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sumOfSquares() -> Scalar {
        scalars.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return 0 }
            var partial = [Scalar](repeating: 0, count: (p.count + (1 << 15) - 1) >> 15)
            partial.withUnsafeMutableBufferPointer { sums in
                let buffers = ProductOperands(a: base, b: base, c: sums.baseAddress!)
                forEachElementChunk(count: p.count) { chunk in
                    var total: Scalar = 0
                    for i in chunk { total += buffers.a[i] * buffers.a[i] }
                    buffers.c[chunk.lowerBound >> 15] = total
                }
            }
            return partial.reduce(0, +)
        }
    }
}
