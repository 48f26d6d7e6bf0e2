/// Tight loops over unsafe buffers for the elementwise work of training.
///
/// Everything in the engine is generic over `Scalar`, and generic code called from another
/// module (a chapter program) is not specialised by the compiler. `@_specialize` makes the
/// generic entry points branch to `Float`/`Double` copies, so these loops run at native speed
/// wherever they are called from. Operations are chosen by an enum outside the loop rather than
/// by a closure per element, which keeps the loops vectorisable.

/// An elementwise binary operation.
@usableFromInline enum BinaryOperation: Sendable { case add, subtract, multiply, divide }

/// An elementwise unary operation.
@usableFromInline enum UnaryOperation: Sendable { case tanh, sigmoid, relu, exp, log, negate, square, sqrt }

@inline(__always)
private func runBinary<S: TensorScalar>(_ op: BinaryOperation, _ o: UnsafeMutablePointer<S>,
                                        _ a: UnsafePointer<S>, _ ia: Int,
                                        _ b: UnsafePointer<S>, _ ib: Int, _ n: Int) {
    if ia == 1 && ib == 1 {
        switch op {
        case .add: for j in 0..<n { o[j] = a[j] + b[j] }
        case .subtract: for j in 0..<n { o[j] = a[j] - b[j] }
        case .multiply: for j in 0..<n { o[j] = a[j] * b[j] }
        case .divide: for j in 0..<n { o[j] = a[j] / b[j] }
        }
    } else if ib == 0 {
        let s = b[0]
        switch op {
        case .add: for j in 0..<n { o[j] = a[j * ia] + s }
        case .subtract: for j in 0..<n { o[j] = a[j * ia] - s }
        case .multiply: for j in 0..<n { o[j] = a[j * ia] * s }
        case .divide: for j in 0..<n { o[j] = a[j * ia] / s }
        }
    } else if ia == 0 {
        let s = a[0]
        switch op {
        case .add: for j in 0..<n { o[j] = s + b[j * ib] }
        case .subtract: for j in 0..<n { o[j] = s - b[j * ib] }
        case .multiply: for j in 0..<n { o[j] = s * b[j * ib] }
        case .divide: for j in 0..<n { o[j] = s / b[j * ib] }
        }
    } else {
        switch op {
        case .add: for j in 0..<n { o[j] = a[j * ia] + b[j * ib] }
        case .subtract: for j in 0..<n { o[j] = a[j * ia] - b[j * ib] }
        case .multiply: for j in 0..<n { o[j] = a[j * ia] * b[j * ib] }
        case .divide: for j in 0..<n { o[j] = a[j * ia] / b[j * ib] }
        }
    }
}

extension Tensor {
    /// `a op b` with NumPy broadcasting; a mismatch stops with both shapes in the message.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @usableFromInline static func elementwise(_ a: Tensor, _ op: BinaryOperation, _ b: Tensor) -> Tensor {
        let outShape: [Int]
        if a.shape == b.shape { outShape = a.shape } else {
            do { outShape = try broadcastShape(a.shape, b.shape) } catch {
                fatalError("\(op): \(error.description)")
            }
        }
        let n = outShape.shapeProduct
        var out = [Scalar](unsafeUninitializedCapacity: n) { buffer, initialized in
            initialized = n
        }
        a.scalars.withUnsafeBufferPointer { A in
            b.scalars.withUnsafeBufferPointer { B in
                out.withUnsafeMutableBufferPointer { O in
                    guard n > 0 else { return }
                    let o = O.baseAddress!, pa = A.baseAddress!, pb = B.baseAddress!
                    let operands = ProductOperands(a: pa, b: pb, c: o)
                    // Elementwise, so split over the product threads (see `elementwiseMapChunk`).
                    func chunked(_ ia: Int, _ ib: Int) {
                        forEachElementChunk(count: n, size: elementwiseMapChunk) { r in
                            runBinary(op, operands.c + r.lowerBound, operands.a + r.lowerBound * ia, ia,
                                      operands.b + r.lowerBound * ib, ib, r.count)
                        }
                    }
                    if a.shape == b.shape { chunked(1, 1); return }
                    if b.count == 1 { chunked(1, 0); return }
                    if a.count == 1 { chunked(0, 1); return }
                    // General case: the innermost axis as a tight loop, each output row's offsets
                    // into a and b from its index (an odometer over the outer axes); rows in chunks
                    // on the product threads, like the cases above (a bias row added to an RNN
                    // state is one of these).
                    let rank = outShape.count
                    let paShape = [Int](repeating: 1, count: rank - a.rank) + a.shape
                    let pbShape = [Int](repeating: 1, count: rank - b.rank) + b.shape
                    var sa = strides(of: paShape), sb = strides(of: pbShape)
                    for i in 0..<rank { if paShape[i] == 1 { sa[i] = 0 }; if pbShape[i] == 1 { sb[i] = 0 } }
                    let inner = outShape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
                    guard inner > 0 else { return }
                    let outer = Array(outShape.dropLast()), stridesA = sa, stridesB = sb
                    forEachElementChunk(count: n / inner, size: Swift.max(1, elementwiseMapChunk / inner)) { rows in
                        for row in rows {
                            var rest = row, offA = 0, offB = 0
                            for k in stride(from: outer.count - 1, through: 0, by: -1) {
                                let digit = rest % outer[k]
                                rest /= outer[k]
                                offA += digit * stridesA[k]; offB += digit * stridesB[k]
                            }
                            runBinary(op, operands.c + row * inner, operands.a + offA, ia, operands.b + offB, ib, inner)
                        }
                    }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// `f(x)` for every element, `f` chosen from a fixed set so the loop stays tight.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @usableFromInline func applying(_ op: UnaryOperation) -> Tensor {
        let n = count
        var out = [Scalar](unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
        scalars.withUnsafeBufferPointer { X in
            out.withUnsafeMutableBufferPointer { O in
                guard n > 0 else { return }
                // Each element on its own, so in chunks on the product threads (see
                // `elementwiseMapChunk`).
                let operands = ProductOperands(a: X.baseAddress!, b: X.baseAddress!, c: O.baseAddress!)
                forEachElementChunk(count: n, size: elementwiseMapChunk) { r in
                    let x = operands.a, o = operands.c
                    switch op {
                    case .tanh:
                        // Float uses the vectorised approximation (a few ulp; see FastTanh.swift),
                        // the same one the fused RNN uses; Double stays exact for gradient checks.
                        tanh(x + r.lowerBound, into: o + r.lowerBound, count: r.count)
                    case .sigmoid:
                        // Written so that neither branch overflows: exp of a non-positive number only.
                        for i in r {
                            let v = x[i]
                            if v >= 0 { o[i] = 1 / (1 + Scalar.exp(-v)) } else { let e = Scalar.exp(v); o[i] = e / (1 + e) }
                        }
                    case .relu: for i in r { o[i] = x[i] > 0 ? x[i] : 0 }
                    case .exp: for i in r { o[i] = Scalar.exp(x[i]) }
                    case .log: for i in r { o[i] = Scalar.log(x[i]) }
                    case .negate: for i in r { o[i] = -x[i] }
                    case .square: for i in r { o[i] = x[i] * x[i] }
                    case .sqrt: for i in r { o[i] = x[i].squareRoot() }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// The (outer, n, inner) split of the shape around `axis`, for axis-wise kernels.
    @usableFromInline func split(around axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// A negative axis counted from the end; stops on an axis outside the shape.
    @usableFromInline func normalized(axis: Int, _ what: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        checkPrecondition(a >= 0 && a < rank, "\(what): axis \(axis) out of range for shape \(shape)")
        return a
    }

    /// Softmax or log-softmax along `axis`, shifting by the maximum so exp never overflows.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @usableFromInline func softmax(alongAxis axis: Int, logarithm: Bool) -> Tensor {
        let axis = normalized(axis: axis, logarithm ? "logSoftmax" : "softmax")
        let (outer, n, inner) = split(around: axis)
        var out = [Scalar](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { X in
            out.withUnsafeMutableBufferPointer { O in
                guard count > 0 else { return }
                // Each of the outer slices on its own, so in chunks of them on the product
                // threads (the loss of all T·B rows of a language model would otherwise run on
                // one core while the other waits; see `elementwiseMapChunk`).
                let operands = ProductOperands(a: X.baseAddress!, b: X.baseAddress!, c: O.baseAddress!)
                forEachElementChunk(count: outer, size: Swift.max(1, elementwiseMapChunk / (n * inner))) { slices in
                    let X = operands.a, O = operands.c
                    for i in slices {
                        for k in 0..<inner {
                            let base = i * n * inner + k
                            var m = -Scalar.infinity
                            for j in 0..<n { m = Swift.max(m, X[base + j * inner]) }
                            var total: Scalar = 0
                            for j in 0..<n {
                                let e = Scalar.exp(X[base + j * inner] - m)
                                O[base + j * inner] = e
                                total += e
                            }
                            if logarithm {
                                let logTotal = Scalar.log(total)
                                for j in 0..<n { O[base + j * inner] = X[base + j * inner] - m - logTotal }
                            } else {
                                let r = 1 / total
                                for j in 0..<n { O[base + j * inner] *= r }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}

/// The derivative a unary operation passes back, written in terms of its output where possible.
@usableFromInline enum UnaryGradient: Sendable { case tanh, sigmoid, relu, exp, log }

extension Tensor {
    /// `upstream * f'(x)` for `y = f(x)` in one pass over the buffers.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @usableFromInline static func unaryGradient(_ kind: UnaryGradient, input: Tensor, output: Tensor,
                                                upstream: Tensor) -> Tensor {
        let n = upstream.count
        var out = [Scalar](unsafeUninitializedCapacity: n) { _, initialized in initialized = n }
        input.scalars.withUnsafeBufferPointer { X in
            output.scalars.withUnsafeBufferPointer { Y in
                upstream.scalars.withUnsafeBufferPointer { G in
                    out.withUnsafeMutableBufferPointer { O in
                        guard n > 0 else { return }
                        // Each element on its own, so in chunks on the product threads (see
                        // `elementwiseMapChunk`).
                        let xy = ProductOperands(a: X.baseAddress!, b: Y.baseAddress!, c: O.baseAddress!)
                        let gradient = ProductOperands(a: G.baseAddress!, b: G.baseAddress!, c: O.baseAddress!)
                        forEachElementChunk(count: n, size: elementwiseMapChunk) { r in
                            let X = xy.a, Y = xy.b, G = gradient.a, O = xy.c
                            switch kind {
                            case .tanh: for i in r { O[i] = G[i] * (1 - Y[i] * Y[i]) }
                            case .sigmoid: for i in r { O[i] = G[i] * Y[i] * (1 - Y[i]) }
                            case .relu: for i in r { O[i] = X[i] > 0 ? G[i] : 0 }
                            case .exp: for i in r { O[i] = G[i] * Y[i] }
                            case .log: for i in r { O[i] = G[i] / X[i] }
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: upstream.shape, scalars: out)
    }

    /// The pieces of this tensor along `axis` with the given extents (the inverse of concatenation).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func split(alongAxis axis: Int, sizes: [Int]) -> [Tensor] {
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let rowLength = shape[axis] * inner
        var start = 0
        var parts: [Tensor] = []
        for size in sizes {
            let chunk = size * inner
            var out = [Scalar](); out.reserveCapacity(outer * chunk)
            for i in 0..<outer { out.append(contentsOf: scalars[i * rowLength + start ..< i * rowLength + start + chunk]) }
            var partShape = shape; partShape[axis] = size
            parts.append(Tensor(shape: partShape, scalars: out))
            start += chunk
        }
        return parts
    }
}

extension Tensor {
    /// Zeros of `shape` with the rows of `rows` added at `indices` along the first axis
    /// (the backward of `gather(rows:)`: repeated indices add up).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func scattering(rows: Tensor, into shape: [Int], at indices: [Int]) -> Tensor {
        var full = Tensor(zeros: shape)
        let size = rows.count / Swift.max(indices.count, 1)
        rows.scalars.withUnsafeBufferPointer { src in
            full.scalars.withUnsafeMutableBufferPointer { dst in
                for (r, index) in indices.enumerated() {
                    for j in 0..<size { dst[index * size + j] += src[r * size + j] }
                }
            }
        }
        return full
    }

    /// Zeros of `shape` with `block` written from row `start` on (the backward of row slicing).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func placing(_ block: Tensor, into shape: [Int], atRow start: Int) -> Tensor {
        var full = Tensor(zeros: shape)
        let size = shape.dropFirst().reduce(1, *)
        block.scalars.withUnsafeBufferPointer { src in
            full.scalars.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[start * size + i] = src[i] }
            }
        }
        return full
    }
}
