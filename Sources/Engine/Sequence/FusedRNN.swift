/// A whole-sequence RNN language model with hand-fused forward and backward passes, the fast
/// counterpart of the from-scratch model (same maths, same parameters, same gradients).
///
/// Layout: everything is time-major, rows t·B + b. The recurrence of a batch row depends on
/// that row alone, so forward and back through time each group of 16 rows runs all T steps on
/// one of the product threads: the input projection (a one-hot product is a row lookup of W_xh)
/// and b_h, then h_{t-1} W_hh added onto them by one product (β = 1), then tanh in place; back,
/// ∂O_t W_hqᵀ, then gate·∂a_{t+1} W_hhᵀ added, then the tanh derivative. The threads meet only
/// between the phases, not at every step (on the 2-core AVX2 machine, waiting for the other
/// thread's half of every step took about 4 % of a training step's CPU time). The output layer,
/// ∂b_h, ∂W_xh and the weight gradients are single products (or sums) over all T·B rows.
/// Buffers live in the object and are reused while the shapes stay the same, so a training
/// step allocates nothing of size T·B·H.
///
/// A class because the buffers are the point; not `Sendable` (use one per thread).
public final class FusedRNNLanguageModel<Scalar: TensorScalar> {
    public var weights: RNNWeights<Scalar>
    /// Gradients of the last `lossAndGradients` call.
    public var gradients: RNNWeights<Scalar> { gradientStorage! }
    // Optional so the backward pass can take it out and write its five tensors at once
    // (simultaneous mutable access to two properties of one class property is a conflict).
    private var gradientStorage: RNNWeights<Scalar>?

    // h0 followed by the T·B states: rows 0..<B are h_{-1}, rows (t+1)B..<(t+2)B are h_t.
    private var states: [Scalar] = []
    // Logits, then (in backward) their gradient, [T·B, Q].
    private var outputs: [Scalar] = []
    // ∂L/∂h_t, then ∂L/∂a_t (pre-activation), [T·B, H].
    private var stateGradients: [Scalar] = []
    // W_hh and W_hhᵀ prepared once per sequence for the T step products forward and back
    // (see `PackedMatrix`).
    private var packedWhh = PackedMatrix<Scalar>()
    private var packedWhhTransposed = PackedMatrix<Scalar>()
    private var steps = 0, batch = 0

    public init(weights: RNNWeights<Scalar>) {
        self.weights = weights
        self.gradientStorage = RNNWeights(zerosLike: weights)
    }

    public var hiddenSize: Int { weights.hiddenSize }
    public var vocabularySize: Int { weights.vocabularySize }

    private func prepareBuffers(steps t: Int, batch b: Int) {
        // Grow only: a smaller last minibatch uses the front of the buffers.
        let h = hiddenSize, q = weights.outputSize
        if states.count < (t + 1) * b * h { states = [Scalar](repeating: 0, count: (t + 1) * b * h) }
        if outputs.count < t * b * q { outputs = [Scalar](repeating: 0, count: t * b * q) }
        if stateGradients.count < t * b * h { stateGradients = [Scalar](repeating: 0, count: t * b * h) }
        steps = t; batch = b
    }

    /// Runs the network over `inputs` (time-major token indices, T·B of them) from
    /// `initialState` ([B, H], zeros when nil). Returns the logits [T·B, Q] and the last state [B, H].
    public func logits(inputs: [Int], batchSize: Int, initialState: Tensor<Scalar>? = nil)
        -> (logits: Tensor<Scalar>, finalState: Tensor<Scalar>) {
        forward(inputs: inputs, batchSize: batchSize, initialState: initialState)
        return (Tensor(shape: [steps * batch, weights.outputSize], scalars: Array(outputs[0 ..< steps * batch * weights.outputSize])), lastState())
    }

    /// Softmax cross-entropy of logits rows `rows` (q classes each) against `targets`, turned in
    /// place into ∂L/∂logits = (softmax − onehot) · scale, each row's loss into `rowLosses`. The
    /// loss is log Σ exp(z − m) − (z_y − m): never log of an exponential, which underflows to
    /// log 0 = −∞ once z_y lies ~104 (Float) or ~746 (Double) below the largest logit m.
    static func softmaxCrossEntropyRows(_ rows: Range<Int>, logits: UnsafeMutablePointer<Scalar>, classes q: Int,
                                        targets: UnsafePointer<Int>, scale: Scalar, rowLosses: UnsafeMutablePointer<Scalar>) {
        for r in rows {
            let z = logits + r * q
            var m = z[0]
            for j in 1 ..< q where z[j] > m { m = z[j] }
            let y = targets[r]
            let shiftedTarget = z[y] - m
            var sum: Scalar = 0
            for j in 0 ..< q { let e = Scalar.exp(z[j] - m); z[j] = e; sum += e }
            rowLosses[r] = Scalar.log(sum) - shiftedTarget
            let inv = scale / sum
            for j in 0 ..< q { z[j] *= inv }
            z[y] -= scale
        }
    }

    /// Batch rows per group of the recurrence, each group on one product thread: the reference
    /// batch of 32 makes two, one per core of the 2-core machines this book runs on, and each
    /// group's step product (16 rows by W_hh) still fills the kernels' row blocks. Fixed, not
    /// taken from the thread count, so that paths whose rounding depends on a product's shape
    /// (OpenBLAS) give the same bits on any number of threads.
    static var recurrenceGroupRows: Int { 16 }

    private func lastState() -> Tensor<Scalar> {
        let h = hiddenSize
        return Tensor(shape: [batch, h], scalars: Array(states[steps * batch * h ..< (steps + 1) * batch * h]))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    /// With `targets`, the output layer's parts also turn their rows of logits into
    /// ∂L/∂logits in place and write each row's cross-entropy into `rowLosses` (see
    /// `softmaxCrossEntropyRows`).
    private func forward(inputs: [Int], batchSize b: Int, initialState: Tensor<Scalar>?,
                         targets: UnsafePointer<Int>? = nil, rowLosses: UnsafeMutablePointer<Scalar>? = nil) {
        checkPrecondition(b > 0 && inputs.count % b == 0, "FusedRNNLanguageModel: \(inputs.count) inputs do not split into batches of \(b)")
        let t = inputs.count / b, h = hiddenSize, v = vocabularySize, q = weights.outputSize
        checkPrecondition(inputs.allSatisfy { $0 >= 0 && $0 < v }, "FusedRNNLanguageModel: token index outside 0..<\(v)")
        prepareBuffers(steps: t, batch: b)
        var zeroStart = true
        if let s = initialState {
            checkPrecondition(s.shape == [b, h], "FusedRNNLanguageModel: initial state must be [\(b), \(h)], got \(s.shape)")
            zeroStart = s.scalars.allSatisfy { $0 == 0 }
            states.replaceSubrange(0 ..< b * h, with: s.scalars)
        } else {
            for i in 0 ..< b * h { states[i] = 0 }
        }
        weights.whh.scalars.withUnsafeBufferPointer { packedWhh.pack(transposed: false, k: h, n: h, b: $0.baseAddress!, ldb: h) }
        let whhPacked = packedWhh
        weights.wxh.scalars.withUnsafeBufferPointer { wxh in
        weights.bh.scalars.withUnsafeBufferPointer { bh in
        weights.whq.scalars.withUnsafeBufferPointer { whq in
        weights.bq.scalars.withUnsafeBufferPointer { bq in
        inputs.withUnsafeBufferPointer { x in
        states.withUnsafeMutableBufferPointer { S in
        outputs.withUnsafeMutableBufferPointer { O in
            let s = S.baseAddress!
            let shared = ForwardBuffers(wxh: wxh.baseAddress!, bh: bh.baseAddress!, tokens: x.baseAddress!, states: s)
            // The recurrence of each batch row depends on that row alone, so each group of rows
            // runs all T steps on one thread (see `recurrenceGroupRows`): no hand-over between
            // threads at every step, and a group's states stay in its core's cache.
            let zeroStart = zeroStart
            forEachElementChunk(count: b, size: Self.recurrenceGroupRows) { rows in
                for step in 0 ..< t {
                    // h_t = tanh(x_t W_xh + b_h + h_{t-1} W_hh): the input projection of a one-hot
                    // token is the row of W_xh, written first; the product adds onto it.
                    let pre = (step + 1) * b * h
                    for i in rows {
                        let row = shared.wxh + shared.tokens[step * b + i] * h, out = shared.states + pre + i * h
                        for j in 0 ..< h { out[j] = row[j] + shared.bh[j] }
                    }
                    if step > 0 || !zeroStart {
                        whhPacked.multiplyOnCallingThread(m: rows.count, alpha: 1, a: shared.states + step * b * h + rows.lowerBound * h, lda: h,
                                                          beta: 1, c: shared.states + pre + rows.lowerBound * h, ldc: h)
                    }
                    tanhInPlace(shared.states + pre + rows.lowerBound * h, count: rows.count * h)
                }
            }
            // Output layer for all steps at once, each part of rows starting from b_q and, for a
            // loss, ending as the softmax cross-entropy's gradient.
            let rows = t * b
            let output = OutputBuffers(logits: O.baseAddress!, bq: bq.baseAddress!, targets: targets, rowLosses: rowLosses)
            let scale = 1 / Scalar(rows)
            var work = ProductPartWork(before: { (part: Range<Int>, _: Range<Int>) in
                for r in part { for j in 0 ..< q { output.logits[r * q + j] = output.bq[j] } }
            })
            if output.targets != nil {
                work.wholeRows = true
                work.after = { (part: Range<Int>, _: Range<Int>) in
                    Self.softmaxCrossEntropyRows(part, logits: output.logits, classes: q, targets: output.targets!,
                                                 scale: scale, rowLosses: output.rowLosses!)
                }
            }
            Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: q, k: h,
                        alpha: 1, a: s + b * h, lda: h, b: whq.baseAddress!, ldb: q,
                        beta: 1, c: O.baseAddress!, ldc: q, partWork: work)
        } } } } } } }
    }

    /// Forward and backward over one minibatch: mean softmax cross-entropy of the logits against
    /// `targets` (time-major, like `inputs`), gradients into `gradients`, and the last state.
    ///
    /// `gradientGates[t]` (default all 1) multiplies the gradient that flows from step t into
    /// h_{t-1}: 0 cuts it (truncation, detaching), 1/π with probability π gives the randomized
    /// truncation of Tallec & Ollivier. The gradient into `initialState` is returned when asked.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func lossAndGradients(inputs: [Int], targets: [Int], batchSize b: Int,
                                 initialState: Tensor<Scalar>? = nil, gradientGates: [Scalar]? = nil,
                                 computeInitialStateGradient: Bool = false)
        -> (loss: Scalar, finalState: Tensor<Scalar>, initialStateGradient: Tensor<Scalar>?) {
        checkPrecondition(targets.count == inputs.count, "FusedRNNLanguageModel: \(inputs.count) inputs but \(targets.count) targets")
        checkPrecondition(targets.allSatisfy { $0 >= 0 && $0 < weights.outputSize }, "FusedRNNLanguageModel: target index outside 0..<\(weights.outputSize)")
        // The forward pass's output layer also computes the loss and ∂L/∂logits, row by row.
        var rowLosses = [Scalar](repeating: 0, count: targets.count)
        targets.withUnsafeBufferPointer { y in
            rowLosses.withUnsafeMutableBufferPointer {
                forward(inputs: inputs, batchSize: b, initialState: initialState, targets: y.baseAddress, rowLosses: $0.baseAddress)
            }
        }
        let t = steps, h = hiddenSize, q = weights.outputSize, rows = t * b
        if let g = gradientGates { checkPrecondition(g.count == t, "FusedRNNLanguageModel: need \(t) gradient gates, got \(g.count)") }
        // The mean, summed in row order whichever thread computed which row.
        let loss = rowLosses.reduce(0, +) * (1 / Scalar(rows))
        // Written by the groups' threads (each its own rows), so a raw buffer.
        let initialGradient: UnsafeMutablePointer<Scalar>? = computeInitialStateGradient ? .allocate(capacity: b * h) : nil
        initialGradient?.initialize(repeating: 0, count: b * h)
        defer { initialGradient?.deallocate() }
        var gradients = gradientStorage!
        gradientStorage = nil
        if gradients.wxh.shape != weights.wxh.shape || gradients.whq.shape != weights.whq.shape {
            gradients = RNNWeights(zerosLike: weights)
        }
        defer { gradientStorage = gradients }
        weights.whh.scalars.withUnsafeBufferPointer { packedWhhTransposed.pack(transposed: true, k: h, n: h, b: $0.baseAddress!, ldb: h) }
        let whhTransposed = packedWhhTransposed
        weights.whq.scalars.withUnsafeBufferPointer { whq in
        inputs.withUnsafeBufferPointer { x in
        states.withUnsafeBufferPointer { S in
        outputs.withUnsafeBufferPointer { dO in
        stateGradients.withUnsafeMutableBufferPointer { DA in
        gradients.wxh.scalars.withUnsafeMutableBufferPointer { gwxh in
        gradients.whh.scalars.withUnsafeMutableBufferPointer { gwhh in
        gradients.bh.scalars.withUnsafeMutableBufferPointer { gbh in
        gradients.whq.scalars.withUnsafeMutableBufferPointer { gwhq in
        gradients.bq.scalars.withUnsafeMutableBufferPointer { gbq in
            let s = S.baseAddress!, da = DA.baseAddress!
            // Output layer: ∂W_hq = Hᵀ ∂O and ∂b_q = Σ rows, all steps at once.
            Scalar.gemm(transposeA: true, transposeB: false, m: h, n: q, k: rows,
                        alpha: 1, a: s + b * h, lda: h, b: dO.baseAddress!, ldb: q,
                        beta: 0, c: gwhq.baseAddress!, ldc: q)
            for j in 0 ..< q { gbq[j] = 0 }
            for r in 0 ..< rows { for j in 0 ..< q { gbq[j] += dO[r * q + j] } }
            for j in 0 ..< h { gbh[j] = 0 }
            for j in 0 ..< gwxh.count { gwxh[j] = 0 }
            // Backward through time, one step at a time: ∂h_t = ∂O_t W_hqᵀ + gate_{t+1}·∂a_{t+1} W_hhᵀ
            // and ∂a_t = ∂h_t ⊙ (1 − h_t²). Like the forward pass, each group of batch rows runs
            // all its steps on one thread.
            let buffers = BackwardBuffers(stateGradients: da, states: s, outputGradients: dO.baseAddress!,
                                          whq: whq.baseAddress!, tokens: x.baseAddress!,
                                          gbh: gbh.baseAddress!, gwxh: gwxh.baseAddress!, initialGradient: initialGradient)
            let gates = gradientGates
            forEachElementChunk(count: b, size: Self.recurrenceGroupRows) { rows in
                let first = rows.lowerBound
                /// ∂h_step of these rows := ∂O_step W_hqᵀ, the term the recurrence then adds to.
                func outputTerm(_ step: Int) {
                    Scalar.kernelGemm(transposeA: false, transposeB: true, m: rows.count, n: h, k: q,
                                      alpha: 1, a: buffers.outputGradients + (step * b + first) * q, lda: q,
                                      b: buffers.whq, ldb: q,
                                      beta: 0, c: buffers.stateGradients + (step * b + first) * h, ldc: h)
                }
                func derivative(_ step: Int) {
                    let d = buffers.stateGradients + (step * b + first) * h, hs = buffers.states + ((step + 1) * b + first) * h
                    for j in 0 ..< rows.count * h { d[j] *= 1 - hs[j] * hs[j] }
                }
                outputTerm(t - 1)
                derivative(t - 1)
                for step in stride(from: t - 1, through: 0, by: -1) {
                    let d = buffers.stateGradients + (step * b + first) * h
                    let gate = gates?[step] ?? 1
                    if step > 0 {
                        outputTerm(step - 1)
                        if gate != 0 {
                            whhTransposed.multiplyOnCallingThread(m: rows.count, alpha: gate, a: d, lda: h,
                                                                  beta: 1, c: d - b * h, ldc: h)
                        }
                        derivative(step - 1)
                    } else if let g0 = buffers.initialGradient, gate != 0 {
                        whhTransposed.multiplyOnCallingThread(m: rows.count, alpha: gate, a: d, lda: h,
                                                              beta: 0, c: g0 + first * h, ldc: h)
                    }
                }
            }
            // ∂b_h and ∂W_xh sum ∂a's rows (a one-hot input scatters each row into its token's row
            // of ∂W_xh), in the order of the steps back through time, each part of columns on
            // its own thread.
            forEachElementChunk(count: h, size: 64) { columns in
                for step in stride(from: t - 1, through: 0, by: -1) {
                    for i in 0 ..< b {
                        let d = buffers.stateGradients + (step * b + i) * h
                        let embedding = buffers.gwxh + buffers.tokens[step * b + i] * h
                        for j in columns {
                            buffers.gbh[j] += d[j]
                            embedding[j] += d[j]
                        }
                    }
                }
            }
            // Weight gradients over all steps in one product each: ∂W_hh = [h_{-1} … h_{T−2}]ᵀ ∂A.
            Scalar.gemm(transposeA: true, transposeB: false, m: h, n: h, k: rows,
                        alpha: 1, a: s, lda: h, b: da, ldb: h,
                        beta: 0, c: gwhh.baseAddress!, ldc: h)
        } } } } } } } } } }
        let g0 = initialGradient.map { Tensor(shape: [b, h], scalars: Array(UnsafeBufferPointer(start: $0, count: b * h))) }
        return (loss, lastState(), g0)
    }

    /// One SGD step with global-norm clipping (d2l `grad_clipping` then `sgd`); returns the loss
    /// and the last state (detach it yourself by passing it back as `initialState`).
    @discardableResult
    public func trainStep(inputs: [Int], targets: [Int], batchSize: Int, initialState: Tensor<Scalar>? = nil,
                          learningRate: Scalar, clipNorm: Scalar?, gradientGates: [Scalar]? = nil)
        -> (loss: Scalar, finalState: Tensor<Scalar>) {
        let r = lossAndGradients(inputs: inputs, targets: targets, batchSize: batchSize,
                                 initialState: initialState, gradientGates: gradientGates)
        if let c = clipNorm { gradientStorage!.clip(maxNorm: c) }
        weights.add(gradientStorage!, scaledBy: -learningRate)
        return (r.loss, r.finalState)
    }
}

/// The raw buffers the output layer's part work reads and writes (each part its own rows).
private struct OutputBuffers<Scalar>: @unchecked Sendable {
    let logits: UnsafeMutablePointer<Scalar>, bq: UnsafePointer<Scalar>
    let targets: UnsafePointer<Int>?, rowLosses: UnsafeMutablePointer<Scalar>?
}

/// The raw buffers the forward recurrence reads and writes (each group of rows touches only its
/// own rows of the states; the weights and tokens are read-only).
private struct ForwardBuffers<Scalar>: @unchecked Sendable {
    let wxh: UnsafePointer<Scalar>, bh: UnsafePointer<Scalar>, tokens: UnsafePointer<Int>
    let states: UnsafeMutablePointer<Scalar>
}

/// The raw buffers the backward recurrence and the sums read and write (each group of rows
/// writes only its own rows of ∂a and of the initial state's gradient; each part of the sums
/// only its own columns of ∂b_h and ∂W_xh).
private struct BackwardBuffers<Scalar>: @unchecked Sendable {
    let stateGradients: UnsafeMutablePointer<Scalar>, states: UnsafePointer<Scalar>
    let outputGradients: UnsafePointer<Scalar>, whq: UnsafePointer<Scalar>, tokens: UnsafePointer<Int>
    let gbh: UnsafeMutablePointer<Scalar>, gwxh: UnsafeMutablePointer<Scalar>
    let initialGradient: UnsafeMutablePointer<Scalar>?
}
