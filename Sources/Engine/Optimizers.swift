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

/// The global L2 norm ‖g‖ over all gradients of `parameters` (missing gradients count as zero).
public func gradientNorm<S: TensorScalar>(of parameters: [Variable<S>]) -> S {
    var total: S = 0
    for p in parameters { if let g = p.grad { let n = g.norm(); total += n * n } }
    return total.squareRoot()
}

/// Rescales all gradients together by min(1, θ/‖g‖) (d2l's clipping rule); returns ‖g‖ before clipping.
@discardableResult
public func clipGradients<S: TensorScalar>(of parameters: [Variable<S>], maxNorm: S) -> S {
    checkPrecondition(maxNorm > 0, "clipGradients(of:maxNorm:): maxNorm must be positive, got \(maxNorm)")
    let norm = gradientNorm(of: parameters)
    if norm > maxNorm {
        let scale = maxNorm / norm
        for p in parameters where p.grad != nil {
            var g = p.grad!
            p.grad = nil  // unique reference, so the scaling happens in place
            g *= scale
            p.grad = g
        }
    }
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
