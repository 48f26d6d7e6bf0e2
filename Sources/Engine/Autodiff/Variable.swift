/// Reverse-mode automatic differentiation on a tape of tracked tensors.
///
/// Every operation on `Variable`s that involves a tracked value (`requiresGrad`) builds a node
/// that remembers its parents and its own backward rule: given the gradient of the loss with
/// respect to the node's value, the rule returns the gradients with respect to each parent.
/// `backward()` walks the nodes in reverse topological order and accumulates into `grad`.
/// The core knows nothing of layers (micrograd's `engine.py`, not its `nn.py`).
///
/// Reading gradients: `grad` is `nil` until a backward pass reaches the value (or after
/// `zeroGrad()`). `gradient` is the checked accessor: it stops with a clear message when the
/// value is not tracked, and gives zeros of the right shape when no pass has reached it yet.
public final class Variable<Scalar: TensorScalar>: @unchecked Sendable {
    /// The tensor this node holds.
    public var value: Tensor<Scalar>
    /// Gradient of the last backward pass(es), accumulated; `nil` before any pass.
    public var grad: Tensor<Scalar>?
    /// Whether gradients flow to (and through) this value.
    public let requiresGrad: Bool

    /// The values this one was computed from (empty for leaves and untracked results).
    let parents: [Variable]
    /// The op's own backward rule: given the gradient of this node, it sends gradients to the
    /// parents (`receive…` methods below) or returns one per parent.
    let backwardRule: BackwardRule?

    /// How an operation sends a node's gradient back to its parents.
    enum BackwardRule {
        /// One gradient per parent (`nil` where none is needed), added to the parents by the core.
        case returning((Tensor<Scalar>) -> [Tensor<Scalar>?])
        /// The rule adds into the parents' pending gradients itself (gemm with β = 1, adding a
        /// block in place), so no gradient-sized temporaries are made and summed.
        case accumulating((Tensor<Scalar>) -> Void)
    }

    /// The gradient gathered so far during a backward pass, before this node is processed.
    /// Stored on the node (not in a dictionary) and empty outside `backward()`.
    var pendingGradient: Tensor<Scalar>?
    /// Matrix products `lhsᵀ · rhs` still to be added to `pendingGradient` (weight gradients of
    /// `matmul`, one per use). Summed in one gemm over all uses when the node is processed:
    /// an RNN's W_hh gets its gradient as one [H, T·B]·[T·B, H] product instead of T thin ones.
    var deferredProducts: [(lhs: Tensor<Scalar>, rhs: Tensor<Scalar>)] = []
    /// The operation's name, for error messages and for printing the graph in chapters.
    public let operation: String

    /// A leaf: a parameter (`requiresGrad: true`) or a constant input.
    public init(_ value: Tensor<Scalar>, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.parents = []
        self.backwardRule = nil
        self.operation = "leaf"
    }

    /// The result of an operation; tracked only if a parent is tracked and gradients are on.
    convenience init(_ value: Tensor<Scalar>, operation: String, parents: [Variable],
                     backward: @escaping (Tensor<Scalar>) -> [Tensor<Scalar>?]) {
        self.init(value, operation: operation, parents: parents, rule: .returning(backward))
    }

    /// The result of an operation whose backward rule adds into its parents' pending gradients.
    convenience init(_ value: Tensor<Scalar>, operation: String, parents: [Variable],
                     accumulatingBackward backward: @escaping (Tensor<Scalar>) -> Void) {
        self.init(value, operation: operation, parents: parents, rule: .accumulating(backward))
    }

    init(_ value: Tensor<Scalar>, operation: String, parents: [Variable], rule: BackwardRule) {
        self.value = value
        self.operation = operation
        let tracked = GradientMode.isEnabled && parents.contains { $0.requiresGrad }
        self.requiresGrad = tracked
        // Untracked results drop their parents so the graph (and its saved tensors) can be freed.
        self.parents = tracked ? parents : []
        self.backwardRule = tracked ? rule : nil
    }

    /// The shape of `value`.
    public var shape: [Int] { value.shape }
    /// The single value of a one-element variable (a loss).
    public var scalar: Scalar { value.scalar }

    /// The gradient of the last backward pass; stops if this value is not tracked.
    /// Zeros when no backward pass has reached the value (it did not influence the loss).
    public var gradient: Tensor<Scalar> {
        checkPrecondition(requiresGrad,
                     "gradient asked of a value that is not tracked (\(operation), shape \(shape)): create it with Variable(_, requiresGrad: true), outside withoutGradients { }")
        return grad ?? Tensor(zeros: shape)
    }

    /// The same value cut from the graph: no gradient flows through it (truncated BPTT).
    public func detached() -> Variable { Variable(value, requiresGrad: false) }

    /// Forgets the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Backpropagates from this one-element value (seed gradient 1) to everything it depends on.
    /// Gradients add up across calls until `zeroGrad()`.
    public func backward() {
        checkPrecondition(value.count == 1,
                     "backward() needs a scalar (one-element) value such as a loss, got shape \(shape) from \(operation); reduce it first, e.g. with .sum() or .mean()")
        backward(seed: Tensor(repeating: 1, shape: shape))
    }

    /// Backpropagates a given upstream gradient of the same shape as `value`.
    public func backward(seed: Tensor<Scalar>) {
        checkPrecondition(seed.shape == shape, "backward(seed:): seed shape \(seed.shape) differs from value shape \(shape)")
        checkPrecondition(requiresGrad,
                     "backward() from a value that depends on no tracked variable (\(operation)); mark parameters with requiresGrad: true and compute outside withoutGradients { }")
        let order = topologicalOrder()
        for node in order { node.pendingGradient = nil; node.deferredProducts = [] }
        pendingGradient = seed
        for node in order.reversed() {
            guard let g = node.takePendingGradient() else { continue }
            node.accumulate(g)
            switch node.backwardRule {
            case nil: continue
            case .accumulating(let rule)?: rule(g)
            case .returning(let rule)?:
                let parentGrads = rule(g)
                for (parent, pg) in zip(node.parents, parentGrads) where parent.requiresGrad {
                    guard let pg else { continue }
                    checkPrecondition(pg.shape == parent.shape,
                                 "internal: backward of \(node.operation) gave shape \(pg.shape) for a parent of shape \(parent.shape)")
                    parent.receiveGradient(pg)
                }
            }
        }
    }

    // MARK: Pending gradients (used by backward rules)

    /// Adds `g` (of this node's shape) to the pending gradient; the first one is kept as is.
    func receiveGradient(_ g: Tensor<Scalar>) {
        checkPrecondition(g.shape == shape, "internal: gradient of shape \(g.shape) sent to a value of shape \(shape) (\(operation))")
        if pendingGradient == nil { pendingGradient = g } else { pendingGradient!.add(g) }
    }

    /// Adds `g`, a broadcast result, summed back down to this node's shape.
    func receiveReducedGradient(_ g: Tensor<Scalar>) {
        if g.shape == shape { receiveGradient(g); return }
        // A bias row added to every row: sum the rows straight into the pending gradient.
        if shape.count >= 1, g.rank > shape.count, Array(g.shape.suffix(shape.count)) == shape {
            Tensor.addRowSums(of: g, into: &pendingGradient, shape: shape)
            return
        }
        receiveGradient(g.reduced(toShape: shape))
    }

    /// Adds `op(a) · op(b)` (which must have this node's element count) with one gemm, β = 1
    /// into the pending gradient (β = 0 into fresh, unfilled memory for the first contribution).
    func receiveProduct(_ a: Tensor<Scalar>, transposeA: Bool = false, _ b: Tensor<Scalar>, transposeB: Bool = false) {
        Tensor.addProduct(a, transposeA: transposeA, b, transposeB: transposeB, into: &pendingGradient, shape: shape)
    }

    /// Adds `a · P` (P a packed right operand) to the pending gradient, like `receiveProduct`.
    func receiveProduct(_ a: Tensor<Scalar>, packed: PackedMatrix<Scalar>) {
        Tensor.addProduct(a, packed: packed, into: &pendingGradient, shape: shape)
    }

    /// Adds `lhsᵀ · rhs` later, in one gemm with every other such contribution (see `deferredProducts`).
    func receiveDeferredProduct(lhs: Tensor<Scalar>, rhs: Tensor<Scalar>) {
        deferredProducts.append((lhs, rhs))
    }

    /// Adds `count` elements of `source` from `sourceOffset` into the pending gradient at
    /// `offset` (row slicing, concatenation); the rest of a fresh gradient is zero.
    func receiveBlock(of source: Tensor<Scalar>, from sourceOffset: Int = 0, count: Int, at offset: Int) {
        if sourceOffset == 0 && count == source.count && source.shape == shape { receiveGradient(source); return }
        Tensor.addBlock(of: source, from: sourceOffset, count: count, into: &pendingGradient, shape: shape, at: offset)
    }

    /// The complete pending gradient (deferred products added), leaving the node empty.
    private func takePendingGradient() -> Tensor<Scalar>? {
        if !deferredProducts.isEmpty {
            let products = deferredProducts
            deferredProducts = []
            Tensor.addSummedProducts(products, into: &pendingGradient, shape: shape)
        }
        defer { pendingGradient = nil }
        return pendingGradient
    }

    private func accumulate(_ g: Tensor<Scalar>) {
        if var existing = grad {
            grad = nil  // so `existing` is uniquely referenced and updated in place
            existing.add(g)
            grad = existing
        } else {
            grad = g
        }
    }

    /// Every tracked value this one was computed from, itself included, each once, parents
    /// first: the graph `backward()` walks. Chapters count what an unrolled model holds with it
    /// (the parameters are its leaves; every other node is an intermediate value kept for the
    /// backward pass).
    public var trackedGraph: [Variable] { requiresGrad ? topologicalOrder() : [] }
    /// Whether this node has no parents on the tape: a parameter, an input, or an untracked result.
    public var isLeaf: Bool { parents.isEmpty }

    /// Parents before children, without recursion (long unrolled sequences are deep graphs).
    private func topologicalOrder() -> [Variable] {
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let top = stack.popLast() {
            let (node, next) = top
            if next < node.parents.count {
                stack.append((node, next + 1))
                let parent = node.parents[next]
                if parent.requiresGrad && visited.insert(ObjectIdentifier(parent)).inserted {
                    stack.append((parent, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}

/// Whether operations record the tape (off inside `withoutGradients`).
enum GradientMode {
    @TaskLocal static var isEnabled = true
}

/// Runs `body` without recording gradients: results are plain, untracked values
/// (evaluation, sampling, optimizer updates).
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$isEnabled.withValue(false) { try body() }
}

/// Whether operations currently record the tape.
public var gradientsAreEnabled: Bool { GradientMode.isEnabled }

extension Variable: CustomStringConvertible {
    public var description: String {
        "Variable(\(operation), requiresGrad: \(requiresGrad))\n\(value)"
    }
}
