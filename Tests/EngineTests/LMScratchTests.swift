import Testing
@testable import Engine

/// Per tensor: max |a − b| / max |b|, the largest of the five (a relative error that is not
/// dominated by entries that happen to be near zero).
private func relativeDifference<S: TensorScalar>(_ a: RNNWeights<S>, _ b: RNNWeights<S>) -> Double {
    zip(a.all, b.all).map { x, y in
        let scale = y.scalars.map { abs(Double($0)) }.max() ?? 0
        let diff = zip(x.scalars, y.scalars).map { abs(Double($0) - Double($1)) }.max() ?? 0
        return scale > 0 ? diff / scale : diff
    }.max()!
}

@Suite("LM: from-scratch (autodiff) model against fused and hand-written BPTT")
struct LMScratchTests {
    @Test(arguments: [TokenEncoding.oneHot, .embedding])
    func fusedMatchesScratchInFloat(encoding: TokenEncoding) {
        // d2l-like scale (σ = 0.1, hidden 32, 35 steps, batch 4) in Float.
        let (w, x, y) = randomLMProblem(Float.self, seed: 2, batch: 4, steps: 35, vocabulary: 28, hidden: 32, standardDeviation: 0.1)
        let scratch = ScratchRNNLanguageModel(weights: w, encoding: encoding)
        let (loss, _) = scratch.loss(inputs: x, targets: y, batchSize: 4)
        loss.backward()
        let fused = FusedRNNLanguageModel(weights: w)
        let r = fused.lossAndGradients(inputs: x, targets: y, batchSize: 4)
        #expect(abs(r.loss - loss.scalar) <= 1e-5 * loss.scalar)
        let d = relativeDifference(fused.gradients, scratch.gradients)
        #expect(d < 1e-5, "relative gradient difference \(d)")
    }

    @Test func scratchPassesTheEngineGradientCheck() {
        let (w, x, y) = randomLMProblem(Double.self, seed: 8, batch: 2, steps: 4)
        let model = ScratchRNNLanguageModel(weights: w)
        let h0 = Variable(Tensor<Double>(randomNormal: [2, 6], standardDeviation: 0.5, seed: 3), requiresGrad: true)
        let result = gradientCheck(of: {
            model.loss(inputs: x, targets: y, batchSize: 2, initialState: h0).loss
        }, wrt: model.parameters + [h0])
        #expect(result.maxRelativeError < 1e-6, "\(result)")
    }

    @Test func handWrittenBPTTMatchesAutodiff() {
        let (w, x, y) = randomLMProblem(Double.self, seed: 13, batch: 1, steps: 9)
        let h0 = (0 ..< 6).map { Double($0) * 0.1 - 0.25 }
        let hand = handWrittenBPTT(weights: w, inputs: x, targets: y, initialState: h0)
        let model = ScratchRNNLanguageModel(weights: w)
        let state = Variable(Tensor(shape: [1, 6], scalars: h0), requiresGrad: true)
        let (loss, last) = model.loss(inputs: x, targets: y, batchSize: 1, initialState: state)
        loss.backward()
        #expect(abs(loss.scalar - hand.loss) < 1e-12)
        #expect(relativeDifference(hand.gradients, model.gradients) < 1e-10)
        #expect(zip(state.gradient.scalars, hand.initialStateGradient).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(zip(last.value.scalars, hand.finalState).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test(arguments: [BPTTStrategy.truncated(steps: 3), .randomized(keepProbability: 0.4)])
    func gatedScratchMatchesGatedFused(strategy: BPTTStrategy) {
        let (w, x, y) = randomLMProblem(Double.self, seed: 17, batch: 2, steps: 8)
        var g = PCG64(seed: 5)
        let gates: [Double] = strategy.gates(count: 8, generator: &g)
        let model = ScratchRNNLanguageModel(weights: w)
        let (loss, _) = model.loss(inputs: x, targets: y, batchSize: 2, gradientGates: gates)
        loss.backward()
        let fused = FusedRNNLanguageModel(weights: w)
        _ = fused.lossAndGradients(inputs: x, targets: y, batchSize: 2, gradientGates: gates)
        #expect(relativeDifference(fused.gradients, model.gradients) < 1e-10)
    }

    @Test(arguments: [SequenceSampling.random, .sequential])
    func scratchAndFusedTrainTheSameWay(sampling: SequenceSampling) throws {
        // Same data, seed and hyper-parameters: the two implementations follow the same path
        // (Float; they differ only in rounding, so compare perplexities loosely).
        let corpus = CharacterCorpus(text: try TimeMachine.loadText(), maxTokens: 1_500)
        var c = LanguageModelTraining()
        c.batchSize = 8; c.numSteps = 12; c.epochs = 4; c.sampling = sampling; c.seed = 3
        var g = PCG64(seed: 1)
        let w = RNNWeights<Float>(vocabularySize: 28, hiddenSize: 16, standardDeviation: 0.1, generator: &g)
        let a = trainLanguageModel(ScratchRNNLanguageModel(weights: w), corpus: corpus.indices, configuration: c)
        let b = trainLanguageModel(FusedRNNLanguageModel(weights: w), corpus: corpus.indices, configuration: c)
        for (ra, rb) in zip(a, b) { #expect(abs(ra.perplexity - rb.perplexity) < 1e-3 * rb.perplexity) }
        #expect(a.last!.perplexity < a.first!.perplexity)
    }

    @Test func scratchTrainingIsDeterministic() throws {
        let corpus = CharacterCorpus(text: try TimeMachine.loadText(), maxTokens: 1_000)
        func run() -> [UInt64] {
            var g = PCG64(seed: 9)
            let m = ScratchRNNLanguageModel(weights: RNNWeights<Float>(vocabularySize: 28, hiddenSize: 8, generator: &g))
            var c = LanguageModelTraining()
            c.batchSize = 4; c.numSteps = 10; c.epochs = 2; c.seed = 9
            return trainLanguageModel(m, corpus: corpus.indices, configuration: c).map(\.perplexity.bitPattern)
        }
        #expect(run() == run())
    }
}
