/// The differentiable operations on `Variable`: each computes its value with the tensor kernels
/// and records how to send a gradient back to its inputs.

extension Variable {
    /// Wraps a constant so that it can take part in operations.
    static func constant(_ s: Scalar) -> Variable { Variable(Tensor(s)) }

    // MARK: Arithmetic with broadcasting; gradients are summed back to each operand's shape.

    public static func + (a: Variable, b: Variable) -> Variable {
        Variable(a.value + b.value, operation: "add", parents: [a, b], accumulatingBackward: { (g: Tensor<Scalar>) in
            // The same gradient goes to both (shared storage, no copy); broadcast operands sum it.
            if a.requiresGrad { a.receiveReducedGradient(g) }
            if b.requiresGrad { b.receiveReducedGradient(g) }
        })
    }

    public static func - (a: Variable, b: Variable) -> Variable {
        Variable(a.value - b.value, operation: "subtract", parents: [a, b], accumulatingBackward: { (g: Tensor<Scalar>) in
            if a.requiresGrad { a.receiveReducedGradient(g) }
            if b.requiresGrad { b.receiveReducedGradient(-g) }
        })
    }

    public static func * (a: Variable, b: Variable) -> Variable {
        let av = a.value, bv = b.value
        return Variable(av * bv, operation: "multiply", parents: [a, b]) { g in
            [a.requiresGrad ? (g * bv).reduced(toShape: av.shape) : nil,
             b.requiresGrad ? (g * av).reduced(toShape: bv.shape) : nil]
        }
    }

    public static func / (a: Variable, b: Variable) -> Variable {
        let av = a.value, bv = b.value
        let out = av / bv
        return Variable(out, operation: "divide", parents: [a, b]) { g in
            let ga = g / bv
            return [a.requiresGrad ? ga.reduced(toShape: av.shape) : nil,
                    b.requiresGrad ? (-(ga * out)).reduced(toShape: bv.shape) : nil]
        }
    }

    public static func + (a: Variable, s: Scalar) -> Variable { a + constant(s) }
    public static func - (a: Variable, s: Scalar) -> Variable { a - constant(s) }
    public static func * (a: Variable, s: Scalar) -> Variable { a * constant(s) }
    public static func / (a: Variable, s: Scalar) -> Variable { a / constant(s) }
    public static func + (s: Scalar, a: Variable) -> Variable { constant(s) + a }
    public static func - (s: Scalar, a: Variable) -> Variable { constant(s) - a }
    public static func * (s: Scalar, a: Variable) -> Variable { constant(s) * a }
    public static func / (s: Scalar, a: Variable) -> Variable { constant(s) / a }

    public static prefix func - (a: Variable) -> Variable {
        Variable(-a.value, operation: "negate", parents: [a]) { g in [-g] }
    }

    // MARK: Matrix product

    /// Matrix product; a 3-D left operand is a stack of rows. Backward uses BLAS transposes.
    public func matmul(_ other: Variable) -> Variable { Engine.matmul(self, other) }

    // MARK: Reductions

    /// Sum of all elements (a rank-0 result).
    public func sum() -> Variable {
        let shape = self.shape
        return Variable(Tensor(value.sum()), operation: "sum", parents: [self]) { g in
            [Tensor(repeating: g.scalar, shape: shape)]
        }
    }

    /// Mean of all elements (a rank-0 result).
    public func mean() -> Variable {
        let shape = self.shape, n = Scalar(Swift.max(value.count, 1))
        return Variable(Tensor(value.sum() / n), operation: "mean", parents: [self]) { g in
            [Tensor(repeating: g.scalar / n, shape: shape)]
        }
    }

    /// Sum along `axis` (negative counts from the end).
    public func sum(alongAxis axis: Int, keepingDimension: Bool = false) -> Variable {
        let axis = value.normalized(axis: axis, "sum")
        let shape = self.shape
        var kept = shape; kept[axis] = 1
        return Variable(value.sum(alongAxis: axis, keepingDimension: keepingDimension),
                        operation: "sum(alongAxis: \(axis))", parents: [self]) { g in
            [Tensor(zeros: shape) + g.reshaped(kept)]
        }
    }

    /// Mean along `axis` (negative counts from the end).
    public func mean(alongAxis axis: Int, keepingDimension: Bool = false) -> Variable {
        let axis = value.normalized(axis: axis, "mean")
        return sum(alongAxis: axis, keepingDimension: keepingDimension) / Scalar(shape[axis])
    }

    // MARK: Shape

    /// The same elements with another shape (one extent may be -1).
    public func reshaped(_ newShape: [Int]) -> Variable {
        let shape = self.shape
        return Variable(value.reshaped(newShape), operation: "reshape", parents: [self], accumulatingBackward: { (g: Tensor<Scalar>) in
            self.receiveGradient(g.reshaped(shape))
        })
    }

    /// The transpose of a matrix.
    public var transposed: Variable {
        Variable(value.transposed, operation: "transpose", parents: [self]) { g in [g.transposed] }
    }

    /// Rows `range` along the first axis.
    public subscript(rows range: Range<Int>) -> Variable {
        let shape = self.shape
        let size = shape.dropFirst().reduce(1, *)
        // Adds into the rows of the pending gradient; no full-size zero tensor per slice.
        return Variable(value[rows: range], operation: "rows \(range)", parents: [self], accumulatingBackward: { (g: Tensor<Scalar>) in
            self.receiveBlock(of: g, count: g.count, at: range.lowerBound * size)
        })
    }

    /// The sub-tensor at `index` along the first axis (a time step of a sequence).
    public subscript(row index: Int) -> Variable {
        let shape = self.shape
        let size = shape.dropFirst().reduce(1, *)
        return Variable(value[row: index], operation: "row \(index)", parents: [self], accumulatingBackward: { (g: Tensor<Scalar>) in
            self.receiveBlock(of: g, count: g.count, at: index * size)
        })
    }
}

/// Matrix product of two variables (see `Variable.matmul`).
public func matmul<S: TensorScalar>(_ a: Variable<S>, _ b: Variable<S>) -> Variable<S> {
    let av = a.value, bv = b.value
    // A parameter (a leaf) is the right operand of many products (an RNN's W_hh, at every step):
    // the products layer keeps it packed for its kernels while it is unchanged. Same bits either way.
    let packedB = b.isLeaf ? PackingCache.shared.packed(bv, transposed: false) : nil
    let product = packedB.map { av.matmul($0) } ?? av.matmul(bv)
    return Variable(product, operation: "matmul", parents: [a, b], accumulatingBackward: { (g: Tensor<S>) in
        // dA = G Bᵀ and dB = Aᵀ G, with the transposes left to BLAS. dA is added by gemm (β = 1)
        // straight into A's pending gradient; dB is deferred so that all uses of B (every time
        // step of an RNN) are summed in one large product when B's turn comes.
        if a.requiresGrad {
            if b.isLeaf, let packed = PackingCache.shared.packed(bv, transposed: true) { a.receiveProduct(g, packed: packed) }
            else { a.receiveProduct(g, bv, transposeB: true) }
        }
        if b.requiresGrad { b.receiveDeferredProduct(lhs: av, rhs: g) }
    })
}

private func unary<S: TensorScalar>(_ x: Variable<S>, _ op: UnaryOperation, _ grad: UnaryGradient,
                                    _ name: String) -> Variable<S> {
    let input = x.value
    let output = input.applying(op)
    return Variable(output, operation: name, parents: [x]) { g in
        [Tensor.unaryGradient(grad, input: input, output: output, upstream: g)]
    }
}

/// Elementwise tanh; its derivative 1 - tanh² reuses the output.
public func tanh<S: TensorScalar>(_ x: Variable<S>) -> Variable<S> { unary(x, .tanh, .tanh, "tanh") }
/// Elementwise logistic sigmoid; derivative σ(1 - σ).
public func sigmoid<S: TensorScalar>(_ x: Variable<S>) -> Variable<S> { unary(x, .sigmoid, .sigmoid, "sigmoid") }
/// Elementwise max(0, x); derivative 1 where x > 0, else 0.
public func relu<S: TensorScalar>(_ x: Variable<S>) -> Variable<S> { unary(x, .relu, .relu, "relu") }
/// Elementwise e^x.
public func exp<S: TensorScalar>(_ x: Variable<S>) -> Variable<S> { unary(x, .exp, .exp, "exp") }
/// Elementwise natural logarithm.
public func log<S: TensorScalar>(_ x: Variable<S>) -> Variable<S> { unary(x, .log, .log, "log") }

/// Softmax along `axis` (default: last); backward y ⊙ (g - Σ g⊙y).
public func softmax<S: TensorScalar>(_ x: Variable<S>, alongAxis axis: Int = -1) -> Variable<S> {
    let axis = x.value.normalized(axis: axis, "softmax")
    let y = softmax(x.value, alongAxis: axis)
    return Variable(y, operation: "softmax", parents: [x]) { g in
        [y * (g - (g * y).sum(alongAxis: axis, keepingDimension: true))]
    }
}

/// Log-softmax along `axis` (default: last); backward g - softmax ⊙ Σ g.
public func logSoftmax<S: TensorScalar>(_ x: Variable<S>, alongAxis axis: Int = -1) -> Variable<S> {
    let axis = x.value.normalized(axis: axis, "logSoftmax")
    let y = logSoftmax(x.value, alongAxis: axis)
    return Variable(y, operation: "logSoftmax", parents: [x]) { g in
        [g - exp(y) * g.sum(alongAxis: axis, keepingDimension: true)]
    }
}

/// The variables joined along `axis`; the gradient is split back into the pieces.
public func concatenate<S: TensorScalar>(_ parts: [Variable<S>], alongAxis axis: Int = 0) -> Variable<S> {
    checkPrecondition(!parts.isEmpty, "concatenate: no variables given")
    let axis = parts[0].value.normalized(axis: axis, "concatenate")
    let sizes = parts.map { $0.shape[axis] }
    let value = Tensor(concatenating: parts.map(\.value), alongAxis: axis)
    if axis == 0 {
        // Along the first axis every part is one contiguous block of the gradient.
        return Variable(value, operation: "concatenate", parents: parts, accumulatingBackward: { (g: Tensor<S>) in
            var offset = 0
            for part in parts {
                let n = part.value.count
                if part.requiresGrad { part.receiveBlock(of: g, from: offset, count: n, at: 0) }
                offset += n
            }
        })
    }
    return Variable(value, operation: "concatenate", parents: parts) { g in
        g.split(alongAxis: axis, sizes: sizes)
    }
}

/// The variables (all of one shape) stacked along a new axis (default: first).
public func stack<S: TensorScalar>(_ parts: [Variable<S>], alongAxis axis: Int = 0) -> Variable<S> {
    checkPrecondition(!parts.isEmpty, "stack: no variables given")
    let shape = parts[0].shape
    return Variable(Tensor(stacking: parts.map(\.value), alongAxis: axis),
                    operation: "stack", parents: parts) { g in
        g.split(alongAxis: axis, sizes: Array(repeating: 1, count: parts.count)).map { $0.reshaped(shape) }
    }
}

/// Rows of `table` at `rows` (an embedding lookup); the gradient is scattered back and summed
/// where a row was picked more than once.
public func gather<S: TensorScalar>(_ table: Variable<S>, rows indices: [Int]) -> Variable<S> {
    let shape = table.shape
    return Variable(table.value.gather(rows: indices), operation: "gather", parents: [table]) { g in
        [Tensor.scattering(rows: g, into: shape, at: indices)]
    }
}

/// Mean softmax cross-entropy of `logits` (rows of class scores; leading axes are flattened)
/// against integer `labels`, fused for stability: -mean(logSoftmax(logits)[i, labels[i]]).
/// Backward is (softmax - onehot) / rows.
@_specialize(where S == Float)
@_specialize(where S == Double)
public func softmaxCrossEntropy<S: TensorScalar>(logits: Variable<S>, labels: [Int]) -> Variable<S> {
    let x = logits.value
    checkPrecondition(x.rank >= 2, "softmaxCrossEntropy: logits must be [rows, classes] (or [time, batch, classes]), got shape \(x.shape)")
    let classes = x.shape[x.rank - 1]
    let rows = x.count / Swift.max(classes, 1)
    checkPrecondition(labels.count == rows,
                 "softmaxCrossEntropy: logits of shape \(x.shape) have \(rows) rows but \(labels.count) labels were given")
    let logProbabilities = logSoftmax(x, alongAxis: -1)
    var total: S = 0
    logProbabilities.scalars.withUnsafeBufferPointer { lp in
        for (i, label) in labels.enumerated() {
            checkPrecondition(label >= 0 && label < classes, "softmaxCrossEntropy: label \(label) at row \(i) is outside 0..<\(classes)")
            total -= lp[i * classes + label]
        }
    }
    let n = S(Swift.max(rows, 1))
    return Variable(Tensor(total / n), operation: "softmaxCrossEntropy", parents: [logits]) { g in
        let scale = g.scalar / n
        var d = exp(logProbabilities)
        d.scalars.withUnsafeMutableBufferPointer { p in
            for (i, label) in labels.enumerated() { p[i * classes + label] -= 1 }
            for i in 0..<p.count { p[i] *= scale }
        }
        return [d]
    }
}

/// Mean softmax cross-entropy on plain tensors (for evaluation).
public func softmaxCrossEntropy<S: TensorScalar>(logits: Tensor<S>, labels: [Int]) -> S {
    withoutGradients { softmaxCrossEntropy(logits: Variable(logits), labels: labels).scalar }
}
