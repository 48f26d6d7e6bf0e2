/// Backpropagation through time written out by hand, loop by loop, as in Karpathy's
/// min-char-rnn: one sequence, column-vector maths as plain Swift loops, no BLAS, no tape.
/// It is the readable reference the fused and autodiff versions are checked against.

/// The result of `handWrittenBPTT`.
public struct HandBPTTResult<Scalar: TensorScalar>: Sendable {
    /// Mean cross-entropy over the steps.
    public var loss: Scalar
    public var gradients: RNNWeights<Scalar>
    /// h_{T−1}, [hidden].
    public var finalState: [Scalar]
    /// ∂loss/∂h_{−1}, [hidden].
    public var initialStateGradient: [Scalar]
}

/// Loss and gradients of one sequence: `inputs[t]` predicts `targets[t]`, starting from
/// `initialState` (zeros by default). `gradientGates[t]` scales the gradient flowing from step t
/// back into h_{t−1} (all 1 = full BPTT; see `BPTTStrategy`).
public func handWrittenBPTT<Scalar: TensorScalar>(
    weights w: RNNWeights<Scalar>, inputs: [Int], targets: [Int],
    initialState: [Scalar]? = nil, gradientGates: [Scalar]? = nil
) -> HandBPTTResult<Scalar> {
    let n = inputs.count, h = w.hiddenSize, q = w.outputSize
    checkPrecondition(targets.count == n && n > 0, "handWrittenBPTT: \(n) inputs and \(targets.count) targets")
    let wxh = w.wxh.scalars, whh = w.whh.scalars, bh = w.bh.scalars, whq = w.whq.scalars, bq = w.bq.scalars
    var hs: [[Scalar]] = [initialState ?? [Scalar](repeating: 0, count: h)]   // hs[t + 1] = h_t
    var ps: [[Scalar]] = []
    var loss: Scalar = 0
    // Forward: a_t = W_xhᵀ x_t + W_hhᵀ h_{t−1} + b_h (row-vector convention: x W), h_t = tanh a_t.
    for t in 0 ..< n {
        let prev = hs[t]
        var a = [Scalar](repeating: 0, count: h)
        for j in 0 ..< h {
            var s = wxh[inputs[t] * h + j] + bh[j]
            for i in 0 ..< h { s += prev[i] * whh[i * h + j] }
            a[j] = Scalar.tanh(s)
        }
        hs.append(a)
        var o = [Scalar](repeating: 0, count: q)
        for k in 0 ..< q {
            var s = bq[k]
            for j in 0 ..< h { s += a[j] * whq[j * q + k] }
            o[k] = s
        }
        // log-sum-exp: loss_t = log Σ exp(o − m) − (o_y − m), never log of an underflowed p_y.
        let m = o.max()!
        var p = o.map { Scalar.exp($0 - m) }
        let z = p.reduce(0, +)
        for k in 0 ..< q { p[k] /= z }
        loss += Scalar.log(z) - (o[targets[t]] - m)
        ps.append(p)
    }
    loss /= Scalar(n)
    // Backward.
    var g = RNNWeights(zerosLike: w)
    var dhNext = [Scalar](repeating: 0, count: h)   // gradient reaching h_t from step t+1
    for t in stride(from: n - 1, through: 0, by: -1) {
        var dy = ps[t]
        dy[targets[t]] -= 1
        for k in 0 ..< q { dy[k] /= Scalar(n) }
        let ht = hs[t + 1], prev = hs[t]
        for j in 0 ..< h { for k in 0 ..< q { g.whq.scalars[j * q + k] += ht[j] * dy[k] } }
        for k in 0 ..< q { g.bq.scalars[k] += dy[k] }
        var da = [Scalar](repeating: 0, count: h)
        for j in 0 ..< h {
            var dh = dhNext[j]
            for k in 0 ..< q { dh += whq[j * q + k] * dy[k] }
            da[j] = (1 - ht[j] * ht[j]) * dh
        }
        for j in 0 ..< h {
            g.wxh.scalars[inputs[t] * h + j] += da[j]
            g.bh.scalars[j] += da[j]
        }
        for i in 0 ..< h { for j in 0 ..< h { g.whh.scalars[i * h + j] += prev[i] * da[j] } }
        let gate = gradientGates?[t] ?? 1
        for i in 0 ..< h {
            var s: Scalar = 0
            for j in 0 ..< h { s += whh[i * h + j] * da[j] }
            dhNext[i] = gate * s
        }
    }
    return HandBPTTResult(loss: loss, gradients: g, finalState: hs[n], initialStateGradient: dhNext)
}
