/// How far gradients flow back in time (d2l §9.7, "Backpropagation Through Time").
///
/// Every strategy is expressed as one gate ξ_t per step that multiplies the gradient flowing
/// from step t back into h_{t−1}; the local gradient of step t's own parameters is never gated.
/// Along any path back through time the gates multiply, so with independent ξ_t of mean 1 the
/// estimate is unbiased.
public enum BPTTStrategy: Sendable, Equatable, CustomStringConvertible {
    /// ξ_t = 1: the exact gradient of the loss over the sequence.
    case full
    /// Detach every `steps` steps (ξ_t = 0 when t is a multiple of `steps`, else 1): the regular
    /// truncation used in practice. Biased towards short-term dependencies.
    case truncated(steps: Int)
    /// Tallec & Ollivier (2017): ξ_t = 1/π with probability π, else 0, so E[ξ_t] = 1. Unbiased;
    /// the variance grows as π falls or sequences get longer. A cut falls with probability
    /// 1 − π at each step, so segments average 1/(1 − π) steps: π = 1 − 1/τ matches
    /// `.truncated(steps: τ)` (chapter 4, "Where each strategy cuts").
    case randomized(keepProbability: Double)

    public var description: String {
        switch self {
        case .full: return "full"
        case .truncated(let s): return "truncated(\(s))"
        case .randomized(let p): return "randomized(π=\(p))"
        }
    }

    /// Whether the gates depend on random draws.
    public var isRandom: Bool { if case .randomized = self { return true } else { return false } }

    /// The gates ξ_0 … ξ_{n−1} for a sequence of `count` steps; random draws come from `generator`.
    public func gates<Scalar: TensorScalar>(count: Int, generator: inout PCG64) -> [Scalar] {
        switch self {
        case .full:
            return [Scalar](repeating: 1, count: count)
        case .truncated(let s):
            checkPrecondition(s > 0, "BPTTStrategy.truncated: steps must be positive, got \(s)")
            return (0 ..< count).map { $0 % s == 0 ? 0 : 1 }
        case .randomized(let p):
            checkPrecondition(p > 0 && p <= 1, "BPTTStrategy.randomized: keepProbability must be in (0, 1], got \(p)")
            return (0 ..< count).map { _ in generator.nextUniform() < p ? Scalar(1 / p) : 0 }
        }
    }
}

/// Bias and variance of a BPTT strategy's gradient estimate for one sequence, against the full gradient.
public struct GradientEstimateStatistics<Scalar: TensorScalar>: Sendable {
    /// The exact gradient (full BPTT), all parameters flattened in d2l order.
    public var fullGradient: [Scalar]
    /// The mean of the estimates over the draws.
    public var meanEstimate: [Scalar]
    /// ‖mean estimate − full‖ / ‖full‖.
    public var relativeBias: Scalar
    /// E‖estimate − mean estimate‖² / ‖full‖² (total variance, relative).
    public var relativeVariance: Scalar
    /// E‖estimate − full‖ / ‖full‖ (typical error of one estimate).
    public var relativeError: Scalar
    /// Number of estimates drawn.
    public var draws: Int
}

/// The "gradient of one sequence" experiment: draws `draws` gradient estimates of the loss of
/// one sequence under `strategy` and compares them with the full gradient.
public func gradientEstimateStatistics<Scalar: TensorScalar>(
    weights: RNNWeights<Scalar>, inputs: [Int], targets: [Int], strategy: BPTTStrategy,
    draws: Int, generator: inout PCG64
) -> GradientEstimateStatistics<Scalar> {
    checkPrecondition(draws > 0, "gradientEstimateStatistics: draws must be positive")
    let model = FusedRNNLanguageModel(weights: weights)
    func flat(_ w: RNNWeights<Scalar>) -> [Scalar] { w.all.flatMap(\.scalars) }
    _ = model.lossAndGradients(inputs: inputs, targets: targets, batchSize: 1)
    let full = flat(model.gradients)
    let n = full.count
    var sum = [Scalar](repeating: 0, count: n), sumSq: Scalar = 0, errorSum: Scalar = 0
    var estimates: [[Scalar]] = []
    estimates.reserveCapacity(draws)
    for _ in 0 ..< draws {
        let gates: [Scalar] = strategy.gates(count: inputs.count, generator: &generator)
        _ = model.lossAndGradients(inputs: inputs, targets: targets, batchSize: 1, gradientGates: gates)
        let g = flat(model.gradients)
        var e: Scalar = 0
        for i in 0 ..< n { sum[i] += g[i]; let d = g[i] - full[i]; e += d * d }
        errorSum += e.squareRoot()
        estimates.append(g)
    }
    let mean = sum.map { $0 / Scalar(draws) }
    for g in estimates { for i in 0 ..< n { let d = g[i] - mean[i]; sumSq += d * d } }
    var fullSq: Scalar = 0, biasSq: Scalar = 0
    for i in 0 ..< n { fullSq += full[i] * full[i]; let d = mean[i] - full[i]; biasSq += d * d }
    let fullNorm = fullSq.squareRoot()
    return GradientEstimateStatistics(fullGradient: full, meanEstimate: mean,
                                      relativeBias: biasSq.squareRoot() / fullNorm,
                                      relativeVariance: sumSq / Scalar(draws) / fullSq,
                                      relativeError: errorSum / Scalar(draws) / fullNorm, draws: draws)
}
