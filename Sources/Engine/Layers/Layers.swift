/// Neural-network pieces built on `Variable`: structs with `callAsFunction` whose trainable
/// tensors are listed by `parameters` (the autodiff core knows nothing of them).

/// Anything with trainable parameters.
public protocol ParameterGroup {
    associatedtype Scalar: TensorScalar
    /// Every trainable variable, in a fixed order (optimizers and checkpoints rely on it).
    var parameters: [Variable<Scalar>] { get }
}

/// How a parameter tensor is filled at construction.
public enum Initializer<Scalar: TensorScalar>: Sendable {
    /// Normal with mean 0 and the given standard deviation (the d2l RNN chapters use 0.01).
    case normal(standardDeviation: Scalar)
    /// Uniform in [-bound, bound).
    case uniform(bound: Scalar)
    /// All zeros (biases).
    case zeros

    /// A tracked tensor of `shape` drawn from `generator`.
    public func makeParameter(_ shape: [Int], generator: inout PCG64) -> Variable<Scalar> {
        let value: Tensor<Scalar>
        switch self {
        case .normal(let std): value = Tensor(randomNormal: shape, standardDeviation: std, generator: &generator)
        case .uniform(let bound): value = Tensor(randomUniform: shape, lower: -bound, upper: bound, generator: &generator)
        case .zeros: value = Tensor(zeros: shape)
        }
        return Variable(value, requiresGrad: true)
    }
}

/// A dense layer y = x W + b with W of shape [input, output]; x may be [batch, input]
/// or [time, batch, input].
public struct Linear<Scalar: TensorScalar>: ParameterGroup, @unchecked Sendable {
    public let weight: Variable<Scalar>
    public let bias: Variable<Scalar>

    public init(inputSize: Int, outputSize: Int, weightInitializer: Initializer<Scalar> = .normal(standardDeviation: 0.01),
                generator: inout PCG64) {
        weight = weightInitializer.makeParameter([inputSize, outputSize], generator: &generator)
        bias = Initializer.zeros.makeParameter([outputSize], generator: &generator)
    }

    /// A layer around existing parameter variables (weight [in, out], bias [out]).
    public init(weight: Variable<Scalar>, bias: Variable<Scalar>) {
        checkPrecondition(weight.value.rank == 2 && bias.shape == [weight.shape[1]],
                     "Linear: weight \(weight.shape) and bias \(bias.shape) do not fit ([in, out] and [out])")
        self.weight = weight; self.bias = bias
    }

    public var parameters: [Variable<Scalar>] { [weight, bias] }
    public var inputSize: Int { weight.shape[0] }
    public var outputSize: Int { weight.shape[1] }

    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        checkPrecondition(x.shape.last == inputSize,
                     "Linear: input of shape \(x.shape) does not end in the layer's input size \(inputSize)")
        return matmul(x, weight) + bias
    }
}

/// An elementwise nonlinearity chosen by name.
public enum Activation: String, Sendable, CaseIterable {
    case tanh, sigmoid, relu, identity

    public func callAsFunction<S: TensorScalar>(_ x: Variable<S>) -> Variable<S> {
        switch self {
        case .tanh: Engine.tanh(x)
        case .sigmoid: Engine.sigmoid(x)
        case .relu: Engine.relu(x)
        case .identity: x
        }
    }
}

/// A multilayer perceptron: Linear layers with an activation between them (none after the last).
public struct MLP<Scalar: TensorScalar>: ParameterGroup, @unchecked Sendable {
    public let layers: [Linear<Scalar>]
    public let activation: Activation

    /// Layer sizes from input to output, e.g. `[2, 8, 1]`.
    public init(sizes: [Int], activation: Activation = .tanh,
                weightInitializer: Initializer<Scalar> = .normal(standardDeviation: 0.5), generator: inout PCG64) {
        checkPrecondition(sizes.count >= 2, "MLP needs at least an input and an output size, got \(sizes)")
        var layers: [Linear<Scalar>] = []
        for (i, o) in zip(sizes, sizes.dropFirst()) {
            layers.append(Linear(inputSize: i, outputSize: o, weightInitializer: weightInitializer, generator: &generator))
        }
        self.layers = layers
        self.activation = activation
    }

    public var parameters: [Variable<Scalar>] { layers.flatMap(\.parameters) }

    public func callAsFunction(_ x: Variable<Scalar>) -> Variable<Scalar> {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            if i < layers.count - 1 { h = activation(h) }
        }
        return h
    }
}

/// The output layer of an RNN language model: states [time, batch, hidden] to logits
/// [time·batch, outputs] (rows in time-major order, matching flattened targets), O = H W_hq + b_q.
public struct OutputLayer<Scalar: TensorScalar>: ParameterGroup, @unchecked Sendable {
    public let dense: Linear<Scalar>

    public init(hiddenSize: Int, outputSize: Int,
                weightInitializer: Initializer<Scalar> = .normal(standardDeviation: 0.01), generator: inout PCG64) {
        dense = Linear(inputSize: hiddenSize, outputSize: outputSize, weightInitializer: weightInitializer, generator: &generator)
    }

    public var parameters: [Variable<Scalar>] { dense.parameters }

    public func callAsFunction(_ states: Variable<Scalar>) -> Variable<Scalar> {
        dense(states.reshaped([-1, dense.inputSize]))
    }
}

/// exp(mean cross-entropy): the perplexity reported by the language-model chapters.
public func perplexity<S: TensorScalar>(meanCrossEntropy loss: S) -> S { S.exp(loss) }
