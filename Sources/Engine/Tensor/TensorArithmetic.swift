/// Broadcasting, elementwise arithmetic and BLAS-backed matrix products.

/// The error a caller sees for incompatible shapes: both shapes and the operation.
public struct ShapeError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Tensor {
    /// NumPy's broadcasting rule: align trailing axes; each pair must be equal or contain a 1.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) throws(ShapeError) -> [Int] {
        let rank = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                throw ShapeError("cannot broadcast shapes \(a) and \(b): axis \(i) has \(da) vs \(db)")
            }
        }
        return out
    }

    /// This tensor repeated along broadcast axes to `target` (which must be reachable).
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let r = (try? Tensor.broadcastShape(shape, target)) ?? []
        checkPrecondition(r == target, "cannot broadcast shape \(shape) to \(target)")
        return Tensor.broadcastCombine(self, Tensor(zeros: target)) { a, _ in a }
    }

    /// Applies `f` with broadcasting; fast paths for equal shapes and scalar operands.
    public static func broadcastCombine(_ a: Tensor, _ b: Tensor,
                                        _ f: (Scalar, Scalar) -> Scalar) -> Tensor {
        if a.shape == b.shape { return a.zip(b, f) }
        if b.count == 1 && b.rank <= a.rank { let s = b.scalars[0]; return a.map { f($0, s) }.reshaped(
            try! broadcastShape(a.shape, b.shape)) }
        if a.count == 1 && a.rank <= b.rank { let s = a.scalars[0]; return b.map { f(s, $0) }.reshaped(
            try! broadcastShape(a.shape, b.shape)) }
        let outShape: [Int]
        do { outShape = try broadcastShape(a.shape, b.shape) } catch {
            fatalError(error.description)
        }
        let rank = outShape.count
        let pa = [Int](repeating: 1, count: rank - a.rank) + a.shape
        let pb = [Int](repeating: 1, count: rank - b.rank) + b.shape
        var sa = strides(of: pa), sb = strides(of: pb)
        for i in 0..<rank { if pa[i] == 1 { sa[i] = 0 }; if pb[i] == 1 { sb[i] = 0 } }
        let n = outShape.reduce(1, *)
        var out = [Scalar](repeating: 0, count: n)
        // Innermost axis handled as a tight loop; outer axes by an odometer.
        let inner = rank > 0 ? outShape[rank - 1] : 1
        let ia = rank > 0 ? sa[rank - 1] : 0, ib = rank > 0 ? sb[rank - 1] : 0
        var counter = [Int](repeating: 0, count: Swift.max(rank - 1, 0))
        a.scalars.withUnsafeBufferPointer { A in
            b.scalars.withUnsafeBufferPointer { B in
                out.withUnsafeMutableBufferPointer { O in
                    var o = 0
                    while o < n {
                        var offA = 0, offB = 0
                        for k in 0..<counter.count { offA += counter[k] * sa[k]; offB += counter[k] * sb[k] }
                        for j in 0..<inner { O[o + j] = f(A[offA + j * ia], B[offB + j * ib]) }
                        o += inner
                        var k = counter.count - 1
                        while k >= 0 { counter[k] += 1; if counter[k] < outShape[k] { break }; counter[k] = 0; k -= 1 }
                    }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// Sums a broadcast result back down to `target` (the shape of an operand before broadcasting).
    public func reduced(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        var t = self
        while t.rank > target.count { t = t.sum(alongAxis: 0) }
        for axis in 0..<target.count where target[axis] == 1 && t.shape[axis] != 1 {
            t = t.sum(alongAxis: axis, keepingDimension: true)
        }
        checkPrecondition(t.shape == target, "cannot reduce shape \(shape) to \(target)")
        return t
    }

    // The operators go through the specialised kernels in Kernels.swift (no closure per element).
    public static func + (a: Tensor, b: Tensor) -> Tensor { elementwise(a, .add, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { elementwise(a, .subtract, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { elementwise(a, .multiply, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { elementwise(a, .divide, b) }
    public static func + (a: Tensor, s: Scalar) -> Tensor { elementwise(a, .add, Tensor(s)) }
    public static func - (a: Tensor, s: Scalar) -> Tensor { elementwise(a, .subtract, Tensor(s)) }
    public static func * (a: Tensor, s: Scalar) -> Tensor { elementwise(a, .multiply, Tensor(s)) }
    public static func / (a: Tensor, s: Scalar) -> Tensor { elementwise(a, .divide, Tensor(s)) }
    public static func + (s: Scalar, a: Tensor) -> Tensor { elementwise(Tensor(s), .add, a) }
    public static func - (s: Scalar, a: Tensor) -> Tensor { elementwise(Tensor(s), .subtract, a) }
    public static func * (s: Scalar, a: Tensor) -> Tensor { elementwise(Tensor(s), .multiply, a) }
    public static func / (s: Scalar, a: Tensor) -> Tensor { elementwise(Tensor(s), .divide, a) }
    public static prefix func - (a: Tensor) -> Tensor { a.applying(.negate) }

    /// In-place `self += alpha * other` for equal shapes (BLAS axpy, in chunks on the product
    /// threads for large tensors).
    public mutating func add(_ other: Tensor, scaledBy alpha: Scalar = 1) {
        checkPrecondition(shape == other.shape, "add(_:scaledBy:): shapes \(shape) and \(other.shape) differ")
        guard count > 0 else { return }
        other.scalars.withUnsafeBufferPointer { x in
            scalars.withUnsafeMutableBufferPointer { y in
                let operands = ProductOperands(a: x.baseAddress!, b: x.baseAddress!, c: y.baseAddress!)
                forEachElementChunk(count: y.count) { chunk in
                    Scalar.axpy(count: chunk.count, alpha: alpha, x: operands.a + chunk.lowerBound, y: operands.c + chunk.lowerBound)
                }
            }
        }
    }

    public static func += (a: inout Tensor, b: Tensor) {
        if a.shape == b.shape { a.add(b) } else { a = a + b }
    }
    public static func -= (a: inout Tensor, b: Tensor) {
        if a.shape == b.shape { a.add(b, scaledBy: -1) } else { a = a - b }
    }
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func *= (a: inout Tensor, s: Scalar) {
        a.scalars.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            let target = ProductOperands(a: base, b: base, c: base)
            forEachElementChunk(count: p.count) { chunk in for i in chunk { target.c[i] *= s } }
        }
    }

    // MARK: Matrix products

    /// Matrix product through BLAS. Transposes are passed to `gemm`, never copied.
    /// 2-D × 2-D; a 3-D left operand is treated as a stack of rows (its leading axes flattened).
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        checkPrecondition(other.rank == 2, "matmul: right operand must be a matrix, got shape \(other.shape)")
        checkPrecondition(rank >= 2, "matmul: left operand must be a matrix, got shape \(shape)")
        checkPrecondition(!(transposeSelf && rank != 2), "matmul: transposeSelf needs a matrix, got \(shape)")
        let lead = Array(shape.dropLast())
        let rows = lead.reduce(1, *), inner = shape[rank - 1]
        let (m, k) = transposeSelf ? (inner, rows) : (rows, inner)
        let (k2, n) = transposeOther ? (other.shape[1], other.shape[0]) : (other.shape[0], other.shape[1])
        checkPrecondition(k == k2, "matmul: shapes \(shape)\(transposeSelf ? "ᵀ" : "") and \(other.shape)\(transposeOther ? "ᵀ" : "") do not chain: \(k) vs \(k2)")
        // gemm with beta 0 writes every element of C without reading it, so skip zero-filling
        // (it costs about as much as a 32×512 by 512×512 product's memory traffic).
        var out: [Scalar]
        if k == 0 { out = [Scalar](repeating: 0, count: m * n) } else {
            out = [Scalar](unsafeUninitializedCapacity: m * n) { _, initialized in initialized = m * n }
        }
        if m > 0 && n > 0 && k > 0 {
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { c in
                        Scalar.gemm(transposeA: transposeSelf, transposeB: transposeOther, m: m, n: n, k: k,
                                    alpha: 1, a: a.baseAddress!, lda: inner,
                                    b: b.baseAddress!, ldb: other.shape[1],
                                    beta: 0, c: c.baseAddress!, ldc: n)
                    }
                }
            }
        }
        let outShape = (rank == 2 || transposeSelf) ? [m, n] : lead + [n]
        return Tensor(shape: outShape, scalars: out)
    }

    /// The product with a packed right operand (see `PackedMatrix`): the same bits as
    /// `matmul` with the matrix it was packed from. A 3-D left operand is a stack of rows.
    public func matmul(_ packed: PackedMatrix<Scalar>) -> Tensor {
        checkPrecondition(rank >= 2 && shape[rank - 1] == packed.k,
                          "matmul: shapes \(shape) and packed [\(packed.k), \(packed.n)] do not chain")
        let lead = Array(shape.dropLast())
        let m = lead.reduce(1, *), k = packed.k, n = packed.n
        var out: [Scalar]
        if k == 0 { out = [Scalar](repeating: 0, count: m * n) } else {
            out = [Scalar](unsafeUninitializedCapacity: m * n) { _, initialized in initialized = m * n }
        }
        if m > 0 && n > 0 && k > 0 {
            scalars.withUnsafeBufferPointer { a in
                out.withUnsafeMutableBufferPointer { c in
                    Scalar.gemm(transposeA: false, m: m, alpha: 1, a: a.baseAddress!, lda: k, packed: packed,
                                beta: 0, c: c.baseAddress!, ldc: n)
                }
            }
        }
        return Tensor(shape: lead + [n], scalars: out)
    }

    /// The transpose of a matrix (a vector is returned unchanged).
    public var transposed: Tensor { transposedMatrix() }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func transposedMatrix() -> Tensor {
        if rank < 2 { return self }
        checkPrecondition(rank == 2, "transposed: expected a matrix, got shape \(shape); use transposed(axes:)")
        let r = shape[0], c = shape[1]
        var out = [Scalar](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<r { for j in 0..<c { o[j * r + i] = a[i * c + j] } }
            }
        }
        return Tensor(shape: [c, r], scalars: out)
    }

    // MARK: Reductions

    /// Sum of all elements.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum() -> Scalar { scalars.reduce(0, +) }
    /// Mean of all elements.
    public func mean() -> Scalar { sum() / Scalar(Swift.max(count, 1)) }

    /// Sum along one axis.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum(alongAxis axis: Int, keepingDimension: Bool = false) -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        checkPrecondition(axis >= 0 && axis < rank, "sum: axis \(axis) out of range for shape \(shape)")
        let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var out = [Scalar](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { a in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<outer { for j in 0..<n {
                    let base = (i * n + j) * inner
                    for k in 0..<inner { o[i * inner + k] += a[base + k] }
                } }
            }
        }
        var newShape = shape
        if keepingDimension { newShape[axis] = 1 } else { newShape.remove(at: axis) }
        return Tensor(shape: newShape, scalars: out)
    }

    public func mean(alongAxis axis: Int, keepingDimension: Bool = false) -> Tensor {
        let axis = axis < 0 ? axis + rank : axis
        return sum(alongAxis: axis, keepingDimension: keepingDimension) / Scalar(shape[axis])
    }

    /// Euclidean (Frobenius) norm of all elements.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func norm() -> Scalar { scalars.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    /// Largest absolute value.
    /// The largest |element|; NaN when any element is NaN (`max` alone would skip it).
    public func maxAbs() -> Scalar { scalars.reduce(0) { maxKeepingNaN($0, Swift.abs($1)) } }
}
