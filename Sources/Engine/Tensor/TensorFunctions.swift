/// Tensor-level mathematics the chapters call directly: activations, softmax, one-hot,
/// argmax, concatenation, stacking and row gathering.

/// Elementwise hyperbolic tangent.
public func tanh<S: TensorScalar>(_ x: Tensor<S>) -> Tensor<S> { x.applying(.tanh) }
/// Elementwise logistic sigmoid 1 / (1 + e^-x), computed without overflow.
public func sigmoid<S: TensorScalar>(_ x: Tensor<S>) -> Tensor<S> { x.applying(.sigmoid) }
/// Elementwise max(0, x).
public func relu<S: TensorScalar>(_ x: Tensor<S>) -> Tensor<S> { x.applying(.relu) }
/// Elementwise e^x.
public func exp<S: TensorScalar>(_ x: Tensor<S>) -> Tensor<S> { x.applying(.exp) }
/// Elementwise natural logarithm.
public func log<S: TensorScalar>(_ x: Tensor<S>) -> Tensor<S> { x.applying(.log) }
/// Elementwise square root.
public func sqrt<S: TensorScalar>(_ x: Tensor<S>) -> Tensor<S> { x.applying(.sqrt) }
/// Softmax along `axis` (default: the last), shifted by the maximum for stability.
public func softmax<S: TensorScalar>(_ x: Tensor<S>, alongAxis axis: Int = -1) -> Tensor<S> {
    x.softmax(alongAxis: axis, logarithm: false)
}
/// log(softmax(x)) along `axis` (default: the last), computed as x - max - log Σ exp(x - max).
public func logSoftmax<S: TensorScalar>(_ x: Tensor<S>, alongAxis axis: Int = -1) -> Tensor<S> {
    x.softmax(alongAxis: axis, logarithm: true)
}

extension Tensor {
    /// A [labels.count, depth] matrix with a 1 in each row at the label's column.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(oneHot labels: [Int], depth: Int) {
        var out = [Scalar](repeating: 0, count: labels.count * depth)
        for (row, label) in labels.enumerated() {
            checkPrecondition(label >= 0 && label < depth, "oneHot: label \(label) at position \(row) is outside 0..<\(depth)")
            out[row * depth + label] = 1
        }
        self.init(shape: [labels.count, depth], scalars: out)
    }

    /// Index of the largest element along `axis` (the first one on ties), as a tensor of Int positions.
    public func argmax(alongAxis axis: Int = -1) -> [Int] {
        let axis = normalized(axis: axis, "argmax")
        let (outer, n, inner) = split(around: axis)
        checkPrecondition(n > 0, "argmax: axis \(axis) of shape \(shape) is empty")
        var result = [Int](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { x in
            for i in 0..<outer { for k in 0..<inner {
                let base = i * n * inner + k
                var best = 0, bestValue = x[base]
                for j in 1..<n where x[base + j * inner] > bestValue { best = j; bestValue = x[base + j * inner] }
                result[i * inner + k] = best
            } }
        }
        return result
    }

    /// Index of the largest element overall (row-major position).
    public func argmax() -> Int {
        checkPrecondition(count > 0, "argmax of an empty tensor")
        var best = 0
        for i in 1..<count where scalars[i] > scalars[best] { best = i }
        return best
    }

    /// The tensors joined along `axis`; all other extents must agree.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(concatenating parts: [Tensor], alongAxis axis: Int = 0) {
        checkPrecondition(!parts.isEmpty, "concatenate: no tensors given")
        let first = parts[0]
        let axis = first.normalized(axis: axis, "concatenate")
        for p in parts {
            checkPrecondition(p.rank == first.rank && p.shape.indices.allSatisfy { $0 == axis || p.shape[$0] == first.shape[$0] },
                         "concatenate along axis \(axis): shapes \(first.shape) and \(p.shape) differ off that axis")
        }
        let outer = first.shape[..<axis].reduce(1, *)
        let chunks = parts.map { $0.count / Swift.max(outer, 1) }
        let total = chunks.reduce(0, +)
        var out: [Scalar]
        if outer == 1 && total >= 2 * elementwiseMapChunk {
            // Whole tensors one after another (an RNN's states before the output layer).
            out = [Scalar](unsafeUninitializedCapacity: total) { buffer, initialized in
                Self.copyInParallel(parts, into: buffer.baseAddress!)
                initialized = total
            }
        } else {
            out = []; out.reserveCapacity(outer * total)
            for i in 0..<outer {
                for (p, chunk) in Swift.zip(parts, chunks) { out.append(contentsOf: p.scalars[i * chunk ..< (i + 1) * chunk]) }
            }
        }
        var shape = first.shape
        shape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
        self.init(shape: shape, scalars: out)
    }

    /// Writes the scalars of `parts` one after another from `target`, each tensor's copy on one
    /// of the product threads (the copies run from L3 at the pace of one core each).
    static func copyInParallel(_ parts: [Tensor], into target: UnsafeMutablePointer<Scalar>) {
        var starts = [0]
        for p in parts { starts.append(starts.last! + p.count) }
        let destination = ProductOperands(a: UnsafePointer(target), b: UnsafePointer(target), c: target)
        let offsets = starts
        ProductThreads.shared.run(parts: parts.count) { i in
            parts[i].scalars.withUnsafeBufferPointer {
                if let base = $0.baseAddress { (destination.c + offsets[i]).initialize(from: base, count: $0.count) }
            }
        }
    }

    /// The tensors (all of one shape) stacked along a new axis (default: a new first axis).
    public init(stacking parts: [Tensor], alongAxis axis: Int = 0) {
        checkPrecondition(!parts.isEmpty, "stack: no tensors given")
        let shape = parts[0].shape
        for p in parts { checkPrecondition(p.shape == shape, "stack: shapes \(shape) and \(p.shape) differ") }
        checkPrecondition(axis >= 0 && axis <= shape.count, "stack: axis \(axis) out of range for shape \(shape)")
        var expanded = shape; expanded.insert(1, at: axis)
        self.init(concatenating: parts.map { $0.reshaped(expanded) }, alongAxis: axis)
    }

    /// The rows (sub-tensors along the first axis) at `indices`, in order: an embedding lookup.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gather(rows indices: [Int]) -> Tensor {
        checkPrecondition(rank >= 1, "gather(rows:) needs at least a vector, got shape \(shape)")
        let size = count / Swift.max(shape[0], 1)
        var out = [Scalar](repeating: 0, count: indices.count * size)
        scalars.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (r, index) in indices.enumerated() {
                    checkPrecondition(index >= 0 && index < shape[0], "gather(rows:): row \(index) outside 0..<\(shape[0]) of shape \(shape)")
                    for j in 0..<size { dst[r * size + j] = src[index * size + j] }
                }
            }
        }
        var newShape = shape; newShape[0] = indices.count
        return Tensor(shape: newShape, scalars: out)
    }
}
