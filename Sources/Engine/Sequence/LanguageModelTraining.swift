import Foundation

/// A character-level language model that the shared training loop and `predict` can drive.
/// Classes: a model owns its parameters (and, for the fused model, its buffers).
public protocol CharacterLanguageModel: AnyObject {
    associatedtype Scalar: TensorScalar
    var hiddenSize: Int { get }
    var vocabularySize: Int { get }
    /// One SGD step on a minibatch (time-major `inputs`/`targets`, T·B each) from `initialState`
    /// (zeros when nil), with global-norm clipping; returns the mean loss and the last state,
    /// which carries no gradient history.
    func trainStep(inputs: [Int], targets: [Int], batchSize: Int, initialState: Tensor<Scalar>?,
                   learningRate: Scalar, clipNorm: Scalar?, gradientGates: [Scalar]?)
        -> (loss: Scalar, finalState: Tensor<Scalar>)
    /// Logits [T·B, Q] and last state for time-major `inputs`, without training.
    func logits(inputs: [Int], batchSize: Int, initialState: Tensor<Scalar>?)
        -> (logits: Tensor<Scalar>, finalState: Tensor<Scalar>)
}

extension FusedRNNLanguageModel: CharacterLanguageModel {}

/// Hyper-parameters of `trainLanguageModel` (defaults: the d2l reference run).
public struct LanguageModelTraining: Sendable {
    public var batchSize = 32
    public var numSteps = 35
    public var learningRate = 1.0
    /// Global-norm clipping threshold θ; nil turns clipping off.
    public var clipNorm: Double? = 1
    public var epochs = 500
    public var sampling = SequenceSampling.random
    public var strategy = BPTTStrategy.full
    /// Seeds the minibatch order and the randomized-truncation draws.
    public var seed: UInt64 = 0
    public init() {}
}

/// What one epoch of training achieved; handed to the callback after every epoch.
public struct EpochReport: Sendable, Codable, Equatable {
    public var epoch: Int
    /// exp of the token-weighted mean cross-entropy over the epoch's minibatches.
    public var perplexity: Double
    public var tokens: Int
    public var seconds: Double
    public var tokensPerSecond: Double
}

/// Trains `model` on `corpus` as d2l's `train_ch8` does: per epoch, fresh minibatches; for random
/// sampling the state restarts at zero every minibatch, for sequential partitioning it is carried
/// across minibatches with its history cut (detached). Calls `onEpoch` after every epoch.
@discardableResult
public func trainLanguageModel<Model: CharacterLanguageModel>(
    _ model: Model, corpus: [Int], configuration c: LanguageModelTraining,
    onEpoch: (EpochReport) -> Void = { _ in }
) -> [EpochReport] {
    var generator = PCG64(seed: c.seed)
    var gateGenerator = PCG64(seed: c.seed, stream: 0x5eed_ba77)
    var reports: [EpochReport] = []
    for epoch in 1 ... max(c.epochs, 1) where c.epochs > 0 {
        let start = DispatchTime.now().uptimeNanoseconds
        let batches = minibatches(of: corpus, batchSize: c.batchSize, numSteps: c.numSteps,
                                  sampling: c.sampling, generator: &generator)
        var state: Tensor<Model.Scalar>? = nil
        var lossSum = 0.0, tokens = 0
        for mb in batches {
            if c.sampling != .sequential { state = nil }
            let gates: [Model.Scalar]? = c.strategy == .full ? nil
                : c.strategy.gates(count: c.numSteps, generator: &gateGenerator)
            let r = model.trainStep(inputs: mb.inputsTimeMajor, targets: mb.targetsTimeMajor, batchSize: mb.batchSize,
                                    initialState: state, learningRate: Model.Scalar(c.learningRate),
                                    clipNorm: c.clipNorm.map { Model.Scalar($0) }, gradientGates: gates)
            state = r.finalState
            let n = mb.inputs.count
            lossSum += Double(r.loss) * Double(n)
            tokens += n
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let report = EpochReport(epoch: epoch, perplexity: Foundation.exp(lossSum / Double(max(tokens, 1))),
                                 tokens: tokens, seconds: seconds,
                                 tokensPerSecond: seconds > 0 ? Double(tokens) / seconds : 0)
        reports.append(report)
        onEpoch(report)
    }
    return reports
}

/// How `predict` picks the next character from the logits.
public enum Decoding: Sendable, Equatable {
    /// The most likely character (d2l's `predict_ch8`).
    case greedy
    /// A draw from softmax(logits / temperature), seeded.
    case sampled(temperature: Double, seed: UInt64)
}

/// Warms the state up on `prefix`, then appends `count` characters chosen by `decoding`
/// (d2l `predict_ch8`). Returns prefix + continuation.
public func predict<Model: CharacterLanguageModel>(
    _ model: Model, prefix: String, count: Int, vocabulary: Vocabulary, decoding: Decoding = .greedy
) -> String {
    checkPrecondition(!prefix.isEmpty, "predict: the prefix must not be empty")
    var outputs = vocabulary.indices(of: prefix)
    var state: Tensor<Model.Scalar>? = nil
    // Warm-up: run the whole prefix but the last character in one pass (only the state matters).
    if outputs.count > 1 {
        state = model.logits(inputs: Array(outputs.dropLast()), batchSize: 1, initialState: state).finalState
    }
    var generator: PCG64? = nil
    var temperature = 1.0
    if case .sampled(let t, let seed) = decoding {
        checkPrecondition(t > 0, "predict: temperature must be positive, got \(t)")
        generator = PCG64(seed: seed); temperature = t
    }
    for _ in 0 ..< count {
        let r = model.logits(inputs: [outputs.last!], batchSize: 1, initialState: state)
        state = r.finalState
        let z = doubles(r.logits.scalars)
        if generator == nil {
            var best = 0
            for i in 1 ..< z.count where z[i] > z[best] { best = i }
            outputs.append(best)
        } else {
            let m = z.max()!
            let p = z.map { Foundation.exp(($0 - m) / temperature) }
            var u = generator!.nextUniform() * p.reduce(0, +)
            var pick = p.count - 1
            for (i, pi) in p.enumerated() { u -= pi; if u < 0 { pick = i; break } }
            outputs.append(pick)
        }
    }
    return vocabulary.text(of: outputs)
}

/// How well a trained model predicts a stream of text it may never have seen.
public struct HeldOutEvaluation: Sendable, Codable, Equatable {
    /// exp of the mean cross-entropy over every predicted token.
    public var perplexity: Double
    /// How many tokens were predicted (the stream's length less one per row).
    public var tokens: Int
}

/// Perplexity of `model` on `corpus` without training: the stream is cut into `batchSize`
/// contiguous rows (as sequential partitioning cuts it, with no random offset), each row is read
/// from a zero state in windows of `numSteps` with the state carried from window to window, and
/// every token after a row's first is predicted once. The same model and stream always give the
/// same number; the tokens a row cannot fill (at most `batchSize − 1`) are left out.
public func heldOutPerplexity<Model: CharacterLanguageModel>(
    _ model: Model, corpus: [Int], numSteps: Int = 35, batchSize: Int = 32
) -> HeldOutEvaluation {
    checkPrecondition(numSteps > 0 && batchSize > 0, "heldOutPerplexity: numSteps and batchSize must be positive, got \(numSteps), \(batchSize)")
    let perRow = corpus.count / batchSize
    checkPrecondition(perRow >= 2, "heldOutPerplexity: \(corpus.count) tokens cannot fill \(batchSize) rows of at least 2 tokens")
    let q = model.vocabularySize
    var state: Tensor<Model.Scalar>? = nil
    var lossSum = 0.0, tokens = 0
    var start = 0
    while start < perRow - 1 {
        let steps = min(numSteps, perRow - 1 - start)
        var x = [Int](repeating: 0, count: steps * batchSize), y = x
        for t in 0 ..< steps {
            for b in 0 ..< batchSize {
                x[t * batchSize + b] = corpus[b * perRow + start + t]
                y[t * batchSize + b] = corpus[b * perRow + start + t + 1]
            }
        }
        let r = model.logits(inputs: x, batchSize: batchSize, initialState: state)
        state = r.finalState
        let z = doubles(r.logits.scalars)
        for row in 0 ..< steps * batchSize {
            let first = row * q
            var m = z[first]
            for j in first + 1 ..< first + q where z[j] > m { m = z[j] }
            var sum = 0.0
            for j in first ..< first + q { sum += Foundation.exp(z[j] - m) }
            lossSum += m + Foundation.log(sum) - z[first + y[row]]
        }
        tokens += steps * batchSize
        start += steps
    }
    return HeldOutEvaluation(perplexity: Foundation.exp(lossSum / Double(tokens)), tokens: tokens)
}

/// `values` as Doubles. A generic `Double(value)` goes through `BinaryFloatingPoint`'s
/// bit-by-bit conversion when the function is not specialised (a caller in another module), which
/// made `heldOutPerplexity` 15 times slower than the same loop written for Float; the engine's two
/// scalar types take the direct conversion.
func doubles<S: TensorScalar>(_ values: [S]) -> [Double] {
    if S.self == Float.self { return unsafeBitCast(values, to: [Float].self).map(Double.init) }
    if S.self == Double.self { return unsafeBitCast(values, to: [Double].self) }
    return values.map { Double($0) }
}
