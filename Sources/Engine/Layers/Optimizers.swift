/// Optimizers and gradient clipping. Optimizers are classes because their state (Adagrad's
/// running sums) belongs to one training run and is keyed by parameter identity.

/// Updates parameters from their accumulated gradients.
public protocol Optimizer: AnyObject {
    associatedtype Scalar: TensorScalar
    /// One update of every parameter that has a gradient (parameters without one are skipped).
    func step(_ parameters: [Variable<Scalar>])
}

/// Plain gradient descent p ← p - η g.
public final class SGD<Scalar: TensorScalar>: Optimizer, @unchecked Sendable {
    public var learningRate: Scalar
    public init(learningRate: Scalar) { self.learningRate = learningRate }

    public func step(_ parameters: [Variable<Scalar>]) {
        for p in parameters {
            guard let g = p.grad else { continue }
            p.value.add(g, scaledBy: -learningRate)
        }
    }
}

/// Adagrad as in min-char-rnn: m ← m + g², p ← p - η g / √(m + ε).
public final class Adagrad<Scalar: TensorScalar>: Optimizer, @unchecked Sendable {
    public var learningRate: Scalar
    public let epsilon: Scalar
    private var memory: [ObjectIdentifier: Tensor<Scalar>] = [:]

    public init(learningRate: Scalar, epsilon: Scalar = 1e-8) {
        self.learningRate = learningRate
        self.epsilon = epsilon
    }

    public func step(_ parameters: [Variable<Scalar>]) {
        for p in parameters {
            guard let g = p.grad else { continue }
            let key = ObjectIdentifier(p)
            var m = memory.removeValue(forKey: key) ?? Tensor(zeros: p.shape)
            Adagrad.update(value: &p.value, memory: &m, gradient: g, learningRate: learningRate, epsilon: epsilon)
            memory[key] = m
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func update(value: inout Tensor<Scalar>, memory: inout Tensor<Scalar>, gradient: Tensor<Scalar>,
                       learningRate: Scalar, epsilon: Scalar) {
        checkPrecondition(gradient.shape == value.shape, "Adagrad: gradient \(gradient.shape) vs parameter \(value.shape)")
        value.scalars.withUnsafeMutableBufferPointer { p in
            memory.scalars.withUnsafeMutableBufferPointer { m in
                gradient.scalars.withUnsafeBufferPointer { g in
                    for i in 0..<p.count {
                        m[i] += g[i] * g[i]
                        p[i] -= learningRate * g[i] / (m[i] + epsilon).squareRoot()
                    }
                }
            }
        }
    }
}

/// Clears the gradients of `parameters`.
public func zeroGradients<S: TensorScalar>(of parameters: [Variable<S>]) {
    for p in parameters { p.zeroGrad() }
}

/// √(Σ over all tensors of Σ x²): the global norm that clipping uses, summed in one order.
@_specialize(where S == Float)
@_specialize(where S == Double)
public func globalNorm<S: TensorScalar>(of tensors: [Tensor<S>]) -> S {
    var total: S = 0
    for t in tensors { total += t.sumOfSquares() }
    return total.squareRoot()
}

/// d2l's `grad_clipping`, the one clipping rule of the engine: rescales all `tensors` together by
/// min(1, θ/‖g‖) so that their global norm is at most θ = `maxNorm`; returns ‖g‖ before. The
/// tensors are scaled in place (pass uniquely held ones to avoid copies). A NaN norm clips
/// nothing and is returned, so the caller sees it.
@discardableResult
public func clipByGlobalNorm<S: TensorScalar>(_ tensors: inout [Tensor<S>], maxNorm: S) -> S {
    checkPrecondition(maxNorm > 0, "clipping: maxNorm must be positive, got \(maxNorm)")
    let norm = globalNorm(of: tensors)
    if norm > maxNorm {
        let scale = maxNorm / norm
        for i in tensors.indices { tensors[i] *= scale }
    }
    return norm
}

/// Rescales all gradients together by min(1, θ/‖g‖) (`clipByGlobalNorm`); returns ‖g‖ before clipping.
@discardableResult
public func clipGradients<S: TensorScalar>(of parameters: [Variable<S>], maxNorm: S) -> S {
    let tracked = parameters.filter { $0.grad != nil }
    // Taken out of the variables, so each buffer is uniquely held and scaled in place.
    var gradients = tracked.map { p in defer { p.grad = nil }; return p.grad! }
    let norm = clipByGlobalNorm(&gradients, maxNorm: maxNorm)
    for (p, g) in zip(tracked, gradients) { p.grad = g }
    return norm
}

/// Clamps every gradient element into [-maxValue, maxValue] (min-char-rnn's np.clip);
/// returns the largest absolute element before clamping.
@discardableResult
public func clipGradients<S: TensorScalar>(of parameters: [Variable<S>], maxValue: S) -> S {
    checkPrecondition(maxValue > 0, "clipGradients(of:maxValue:): maxValue must be positive, got \(maxValue)")
    var largest: S = 0
    for p in parameters where p.grad != nil {
        var g = p.grad!
        p.grad = nil
        largest = max(largest, g.maxAbs())
        g.scalars.withUnsafeMutableBufferPointer { b in
            for i in 0..<b.count { b[i] = min(max(b[i], -maxValue), maxValue) }
        }
        p.grad = g
    }
    return largest
}
