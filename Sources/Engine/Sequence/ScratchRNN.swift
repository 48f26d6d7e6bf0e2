/// The character RNN language model "from scratch" (d2l §8.5 / §9.5), built only from the
/// engine's `Variable` operations, so every step of the forward pass is on the tape and autodiff
/// does backpropagation through time.

/// How a token reaches the RNN cell.
public enum TokenEncoding: String, Sendable, CaseIterable {
    /// d2l's choice: a one-hot vector multiplied by W_xh (a [B, V] × [V, H] product per step).
    case oneHot
    /// The same maths as a row lookup of W_xh (an embedding table), without the zeros.
    case embedding
}

public final class ScratchRNNLanguageModel<Scalar: TensorScalar>: CharacterLanguageModel {
    /// W_xh, W_hh, b_h, W_hq, b_q, each `requiresGrad`.
    public let wxh, whh, bh, whq, bq: Variable<Scalar>
    public let encoding: TokenEncoding

    public init(weights w: RNNWeights<Scalar>, encoding: TokenEncoding = .oneHot) {
        wxh = Variable(w.wxh, requiresGrad: true)
        whh = Variable(w.whh, requiresGrad: true)
        bh = Variable(w.bh, requiresGrad: true)
        whq = Variable(w.whq, requiresGrad: true)
        bq = Variable(w.bq, requiresGrad: true)
        self.encoding = encoding
    }

    /// The parameters in d2l's order.
    public var parameters: [Variable<Scalar>] { [wxh, whh, bh, whq, bq] }
    public var hiddenSize: Int { wxh.shape[1] }
    public var vocabularySize: Int { wxh.shape[0] }

    /// The current parameter values (a copy).
    public var weights: RNNWeights<Scalar> {
        RNNWeights(wxh: wxh.value, whh: whh.value, bh: bh.value, whq: whq.value, bq: bq.value)
    }
    /// The gradients of the last backward pass (zeros where none arrived).
    public var gradients: RNNWeights<Scalar> {
        RNNWeights(wxh: wxh.gradient, whh: whh.gradient, bh: bh.gradient, whq: whq.gradient, bq: bq.gradient)
    }

    /// The recurrence this model unrolls (`RNNCell`, shared with the `RNN` layer).
    public var cell: RNNCell<Scalar> { RNNCell(wxh: wxh, whh: whh, bh: bh) }

    /// Runs the RNN over time-major `inputs` (T·B tokens) and returns the logits of all steps
    /// ([T·B, Q], rows t·B + b) and the last state [B, H]. `gradientGates[t]` scales the gradient
    /// flowing from step t into h_{t−1} (see `BPTTStrategy`).
    public func callAsFunction(inputs: [Int], batchSize b: Int, initialState: Variable<Scalar>? = nil,
                               gradientGates: [Scalar]? = nil) -> (logits: Variable<Scalar>, finalState: Variable<Scalar>) {
        checkPrecondition(b > 0 && inputs.count % b == 0, "ScratchRNNLanguageModel: \(inputs.count) inputs do not split into batches of \(b)")
        let cell = self.cell
        let states = cell.unroll(steps: inputs.count / b, initialState: initialState ?? cell.zeroState(batchSize: b),
                                 gradientGates: gradientGates) { t in
            let tokens = Array(inputs[t * b ..< (t + 1) * b])
            switch encoding {
            case .oneHot: return matmul(Variable(Tensor(oneHot: tokens, depth: vocabularySize)), wxh)
            case .embedding: return gather(wxh, rows: tokens)
            }
        }
        let logits = matmul(concatenate(states, alongAxis: 0), whq) + bq
        return (logits, states.last!)
    }

    /// Mean cross-entropy of the predictions for time-major `targets`.
    public func loss(inputs: [Int], targets: [Int], batchSize: Int, initialState: Variable<Scalar>? = nil,
                     gradientGates: [Scalar]? = nil) -> (loss: Variable<Scalar>, finalState: Variable<Scalar>) {
        let (logits, last) = self(inputs: inputs, batchSize: batchSize, initialState: initialState, gradientGates: gradientGates)
        return (softmaxCrossEntropy(logits: logits, labels: targets), last)
    }

    public func trainStep(inputs: [Int], targets: [Int], batchSize: Int, initialState: Tensor<Scalar>? = nil,
                          learningRate: Scalar, clipNorm: Scalar?, gradientGates: [Scalar]? = nil)
        -> (loss: Scalar, finalState: Tensor<Scalar>) {
        for p in parameters { p.zeroGrad() }
        let (l, last) = loss(inputs: inputs, targets: targets, batchSize: batchSize,
                             initialState: initialState.map { Variable($0) }, gradientGates: gradientGates)
        l.backward()
        // d2l grad_clipping, then sgd with the mean loss.
        if let c = clipNorm { clipGradients(of: parameters, maxNorm: c) }
        for p in parameters { p.value.add(p.gradient, scaledBy: -learningRate) }
        return (l.scalar, last.value)
    }

    public func logits(inputs: [Int], batchSize: Int, initialState: Tensor<Scalar>?)
        -> (logits: Tensor<Scalar>, finalState: Tensor<Scalar>) {
        withoutGradients {
            let r = self(inputs: inputs, batchSize: batchSize, initialState: initialState.map { Variable($0) })
            return (r.logits.value, r.finalState.value)
        }
    }
}
