/// The recurrence of the book's networks, in one place: the vanilla RNN cell, how it is
/// unrolled over a sequence, and how a BPTT strategy's gates act on the gradient between steps.
/// The layer `RNN` and the from-scratch language model (`ScratchRNNLanguageModel`) both unroll
/// this cell; an LSTM or GRU cell would sit beside it with its own `step` and reuse `unroll`'s
/// shape. (`FusedRNNLanguageModel` is the same maths hand-fused for speed, and is tested against
/// it; `handWrittenBPTT` is the loop-by-loop reference.)

/// The vanilla RNN cell H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h) (d2l §9.4, min-char-rnn).
public struct RNNCell<Scalar: TensorScalar>: ParameterGroup, @unchecked Sendable {
    /// Input-to-hidden weights [input, hidden].
    public let wxh: Variable<Scalar>
    /// Hidden-to-hidden weights [hidden, hidden].
    public let whh: Variable<Scalar>
    /// Hidden bias [hidden].
    public let bh: Variable<Scalar>

    public init(inputSize: Int, hiddenSize: Int,
                weightInitializer: Initializer<Scalar> = .normal(standardDeviation: 0.01), generator: inout PCG64) {
        wxh = weightInitializer.makeParameter([inputSize, hiddenSize], generator: &generator)
        whh = weightInitializer.makeParameter([hiddenSize, hiddenSize], generator: &generator)
        bh = Initializer.zeros.makeParameter([hiddenSize], generator: &generator)
    }

    /// A cell around existing parameter variables.
    public init(wxh: Variable<Scalar>, whh: Variable<Scalar>, bh: Variable<Scalar>) {
        checkPrecondition(wxh.value.rank == 2 && whh.shape == [wxh.shape[1], wxh.shape[1]] && bh.shape == [wxh.shape[1]],
                     "RNNCell: wxh \(wxh.shape), whh \(whh.shape), bh \(bh.shape) do not fit ([in, h], [h, h], [h])")
        self.wxh = wxh; self.whh = whh; self.bh = bh
    }

    public var parameters: [Variable<Scalar>] { [wxh, whh, bh] }
    public var inputSize: Int { wxh.shape[0] }
    public var hiddenSize: Int { wxh.shape[1] }

    /// Zeros of shape [batch, hidden], the usual first state.
    public func zeroState(batchSize: Int) -> Variable<Scalar> { Variable(Tensor(zeros: [batchSize, hiddenSize])) }

    /// One step: the new state [batch, hidden] from input [batch, input] and state [batch, hidden].
    public func callAsFunction(_ x: Variable<Scalar>, state: Variable<Scalar>) -> Variable<Scalar> {
        checkPrecondition(x.value.rank == 2 && x.shape[1] == inputSize,
                     "RNNCell: input of shape \(x.shape) should be [batch, \(inputSize)]")
        return step(projectedInput: matmul(x, wxh), state: state)
    }

    /// One step from an input already multiplied by W_xh (for one-hot tokens that is a row
    /// lookup of W_xh): H_t = tanh(P_t + H_{t−1} W_hh + b_h).
    public func step(projectedInput p: Variable<Scalar>, state: Variable<Scalar>) -> Variable<Scalar> {
        checkPrecondition(state.shape == [p.shape[0], hiddenSize],
                     "RNNCell: state of shape \(state.shape) should be [\(p.shape[0]), \(hiddenSize)] for input \(p.shape)")
        return tanh(p + matmul(state, whh) + bh)
    }

    /// Runs the cell for `steps` steps from `initialState`: step t's projected input is
    /// `projectedInput(t)`, and `gradientGates[t]` scales the gradient that flows from step t back
    /// into h_{t−1} (see `BPTTStrategy`; nil means all 1). Returns every state, h_0 … h_{T−1}.
    public func unroll(steps: Int, initialState: Variable<Scalar>, gradientGates: [Scalar]? = nil,
                       projectedInput: (Int) -> Variable<Scalar>) -> [Variable<Scalar>] {
        checkPrecondition(gradientGates == nil || gradientGates!.count == steps,
                          "RNNCell.unroll: \(gradientGates?.count ?? 0) gradient gates for \(steps) steps")
        var h = initialState
        var states: [Variable<Scalar>] = []
        states.reserveCapacity(steps)
        for t in 0 ..< steps {
            h = step(projectedInput: projectedInput(t), state: gatingGradient(of: h, by: gradientGates?[t] ?? 1))
            states.append(h)
        }
        return states
    }
}

/// `h` with the gradient that flows back through it multiplied by `gate` and its value
/// unchanged: 1 passes it, 0 cuts it (truncation, detaching), 1/π kept with probability π is
/// Tallec & Ollivier's randomized truncation.
public func gatingGradient<S: TensorScalar>(of h: Variable<S>, by gate: S) -> Variable<S> {
    if gate == 1 || !h.requiresGrad { return h }
    if gate == 0 { return h.detached() }
    // Value h, gradient gate·∂: the detached copy carries the rest of the value.
    return h * gate + h.detached() * (1 - gate)
}

/// An RNN layer: runs a cell over inputs [time, batch, feature].
public struct RNN<Scalar: TensorScalar>: ParameterGroup, @unchecked Sendable {
    public let cell: RNNCell<Scalar>

    public init(cell: RNNCell<Scalar>) { self.cell = cell }

    public init(inputSize: Int, hiddenSize: Int,
                weightInitializer: Initializer<Scalar> = .normal(standardDeviation: 0.01), generator: inout PCG64) {
        cell = RNNCell(inputSize: inputSize, hiddenSize: hiddenSize, weightInitializer: weightInitializer, generator: &generator)
    }

    public var parameters: [Variable<Scalar>] { cell.parameters }

    /// All states [time, batch, hidden] and the last state [batch, hidden]; the first state is
    /// `initialState` or zeros. `gradientGates` as in `RNNCell.unroll`.
    public func callAsFunction(_ inputs: Variable<Scalar>, initialState: Variable<Scalar>? = nil,
                               gradientGates: [Scalar]? = nil) -> (states: Variable<Scalar>, last: Variable<Scalar>) {
        checkPrecondition(inputs.value.rank == 3, "RNN: inputs must be [time, batch, feature], got shape \(inputs.shape)")
        checkPrecondition(inputs.shape[0] > 0, "RNN: inputs of shape \(inputs.shape) have no time steps")
        checkPrecondition(inputs.shape[2] == cell.inputSize,
                          "RNN: inputs of shape \(inputs.shape) should end in the cell's input size \(cell.inputSize)")
        let states = cell.unroll(steps: inputs.shape[0], initialState: initialState ?? cell.zeroState(batchSize: inputs.shape[1]),
                                 gradientGates: gradientGates) { t in matmul(inputs[row: t], cell.wxh) }
        return (stack(states), states.last!)
    }
}
