import Foundation
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
        let corpus = CharacterCorpus(text: try timeMachineText(), maxTokens: 1_500)
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
        let corpus = CharacterCorpus(text: try timeMachineText(), maxTokens: 1_000)
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

/// The language models at sizes where every product goes through the kernels' blocks, parts and
/// threads (hidden 160, batch 48: the step products are cut into parts, the weight gradient
/// takes the two-phase form, the backward step the transposed one), in Float on this process's
/// kernel path against the same models in Double (OpenBLAS). `.ci/run` runs this suite once per
/// path the CPU can execute.
@Suite("LM: Float on the kernel path against Double")
struct LMKernelPathTests {
    static let (weights, inputs, targets) = randomLMProblem(Double.self, seed: 23, batch: 48, steps: 6, vocabulary: 28,
                                                             hidden: 160, standardDeviation: 0.08)

    /// ‖a − b‖ / ‖b‖ over all five tensors.
    static func normRelative<S: TensorScalar>(_ a: RNNWeights<S>, _ b: RNNWeights<Double>) -> Double {
        var d = 0.0, n = 0.0
        for (x, y) in zip(a.all, b.all) {
            for (p, q) in zip(x.scalars, y.scalars) { d += (Double(p) - q) * (Double(p) - q); n += q * q }
        }
        return d.isNaN ? .infinity : (d / n).squareRoot()
    }

    @Test func fusedFloatAgreesWithDouble() {
        let double = FusedRNNLanguageModel(weights: Self.weights)
        let reference = double.lossAndGradients(inputs: Self.inputs, targets: Self.targets, batchSize: 48).loss
        let float = FusedRNNLanguageModel(weights: RNNWeights<Float>(Self.weights))
        let loss = float.lossAndGradients(inputs: Self.inputs, targets: Self.targets, batchSize: 48).loss
        // Float rounding over sums of ~160 terms: ~1e-6 relative, bounded here at 1e-4.
        #expect(abs(Double(loss) - reference) <= 1e-5 * reference, "\(ProductKernelPath.current): loss \(loss) vs \(reference)")
        let d = Self.normRelative(float.gradients, double.gradients)
        #expect(d < 1e-4, "\(ProductKernelPath.current): relative gradient difference \(d)")
    }

    /// The scratch model uses packed W_hh from the second step on (`PackingCache`);
    /// its gradients must still be those of the Double model, and two backward passes on the same
    /// graph give the same bits.
    @Test func scratchFloatAgreesWithDouble() {
        let double = ScratchRNNLanguageModel(weights: Self.weights)
        let (referenceLoss, _) = double.loss(inputs: Self.inputs, targets: Self.targets, batchSize: 48)
        referenceLoss.backward()
        let float = ScratchRNNLanguageModel(weights: RNNWeights<Float>(Self.weights))
        let (loss, _) = float.loss(inputs: Self.inputs, targets: Self.targets, batchSize: 48)
        loss.backward()
        #expect(abs(Double(loss.scalar) - referenceLoss.scalar) <= 1e-5 * referenceLoss.scalar)
        let d = Self.normRelative(float.gradients, double.gradients)
        #expect(d < 1e-4, "\(ProductKernelPath.current): relative gradient difference \(d)")
        let again = ScratchRNNLanguageModel(weights: RNNWeights<Float>(Self.weights))
        let (loss2, _) = again.loss(inputs: Self.inputs, targets: Self.targets, batchSize: 48)
        #expect(loss2.scalar.bitPattern == loss.scalar.bitPattern)
    }

    /// A vocabulary wide enough (300) that the output layer's product would be cut by columns:
    /// the fused model's softmax, done by the part that computes a row of logits, needs whole
    /// rows. Checked against the scratch model, which takes the softmax after the product.
    @Test func fusedSoftmaxSeesWholeRowsOfAWideVocabulary() {
        let (weights, inputs, targets) = randomLMProblem(Double.self, seed: 5, batch: 16, steps: 8, vocabulary: 300,
                                                         hidden: 64, standardDeviation: 0.1)
        let scratch = ScratchRNNLanguageModel(weights: weights)
        let (referenceLoss, _) = scratch.loss(inputs: inputs, targets: targets, batchSize: 16)
        referenceLoss.backward()
        let fused = FusedRNNLanguageModel(weights: RNNWeights<Float>(weights))
        let loss = fused.lossAndGradients(inputs: inputs, targets: targets, batchSize: 16).loss
        #expect(abs(Double(loss) - referenceLoss.scalar) <= 1e-5 * referenceLoss.scalar,
                "\(ProductKernelPath.current): loss \(loss) vs \(referenceLoss.scalar)")
        let d = Self.normRelative(fused.gradients, scratch.gradients)
        #expect(d < 1e-4, "\(ProductKernelPath.current): relative gradient difference \(d)")
    }
}

/// Cross-entropy at logit gaps where exp underflows: log Σ exp − z_y must stay finite and equal
/// in the fused model, the hand-written BPTT and the scratch model (log-softmax), in Float and
/// Double. With W_hq = 0 the logits are b_q itself: [gap, 0, −gap, 0.5, −0.5, gap/2, 1].
@Suite("LM: the loss at huge logit gaps")
struct LMLogitGapTests {
    static func problem<S: TensorScalar>(_: S.Type, gap: Double) -> (RNNWeights<S>, [Int], [Int]) {
        var (w, x, _) = randomLMProblem(S.self, seed: 6, batch: 2, steps: 4)
        w.whq = Tensor(zeros: w.whq.shape)
        w.bq = Tensor([gap, 0, -gap, 0.5, -0.5, gap / 2, 1].map { S($0) })
        let y = [2, 0, 2, 1, 5, 2, 3, 2]  // the −gap class, the largest, and others
        return (w, x, y)
    }

    /// The loss in closed form, in Double: mean over rows of log Σ exp(z − max) − (z_y − max).
    static func exact(gap: Double, targets: [Int]) -> Double {
        let z = [gap, 0, -gap, 0.5, -0.5, gap / 2, 1], m = z.max()!
        let logSum = Foundation.log(z.map { Foundation.exp($0 - m) }.reduce(0, +))
        return targets.map { logSum - (z[$0] - m) }.reduce(0, +) / Double(targets.count)
    }

    static func check<S: TensorScalar>(_: S.Type, gap: Double, tolerance: Double) {
        let (w, x, y) = problem(S.self, gap: gap)
        let want = exact(gap: gap, targets: y)
        let fused = FusedRNNLanguageModel(weights: w).lossAndGradients(inputs: x, targets: y, batchSize: 2).loss
        let (scratchLoss, _) = ScratchRNNLanguageModel(weights: w).loss(inputs: x, targets: y, batchSize: 2)
        var handTotal = 0.0
        for b in 0 ..< 2 {
            let column = { (a: [Int]) in stride(from: b, to: a.count, by: 2).map { a[$0] } }
            handTotal += Double(handWrittenBPTT(weights: w, inputs: column(x), targets: column(y)).loss) / 2
        }
        for (name, value) in [("fused", Double(fused)), ("scratch", Double(scratchLoss.scalar)), ("hand-written", handTotal)] {
            #expect(value.isFinite && abs(value - want) <= tolerance * want,
                    "\(S.self) gap \(gap): \(name) loss \(value), expected \(want)")
        }
    }

    @Test(arguments: [1e3, 1e4])
    func floatLossStaysFinite(gap: Double) { Self.check(Float.self, gap: gap, tolerance: 1e-6) }

    @Test(arguments: [1e3, 1e4])
    func doubleLossStaysFinite(gap: Double) { Self.check(Double.self, gap: gap, tolerance: 1e-12) }
}
