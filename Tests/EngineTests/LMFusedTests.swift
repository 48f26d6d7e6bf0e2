import Testing
import AVX2Kernels
@testable import Engine

/// Small shapes keep debug-build tests fast: vocabulary 7, hidden 6, batch 3, 5 steps.
private func maxRelativeError<S: TensorScalar>(_ a: RNNWeights<S>, _ b: RNNWeights<S>) -> Double {
    var worst = 0.0
    for (x, y) in zip(a.all, b.all) {
        for (p, q) in zip(x.scalars, y.scalars) {
            let d = abs(Double(p) - Double(q)), s = abs(Double(p)) + abs(Double(q))
            if s > 1e-12 { worst = max(worst, d / s) }
        }
    }
    return worst
}

/// Column b of a time-major [T·B] array.
private func column(_ a: [Int], _ b: Int, batch: Int) -> [Int] { stride(from: b, to: a.count, by: batch).map { a[$0] } }

@Suite("LM: fused RNN layer and hand-written BPTT")
struct LMFusedTests {
    @Test func fusedMatchesHandWrittenBPTTInDouble() {
        let (w, x, y) = randomLMProblem(Double.self)
        let batch = 3
        let fused = FusedRNNLanguageModel(weights: w)
        var h0 = Tensor<Double>(randomNormal: [batch, w.hiddenSize], standardDeviation: 0.5, seed: 9)
        h0.scalars[0] = 0.1
        let r = fused.lossAndGradients(inputs: x, targets: y, batchSize: batch, initialState: h0,
                                       computeInitialStateGradient: true)
        // The fused loss is the mean over all T·B predictions = the mean of the per-sequence means.
        var loss = 0.0
        var sum = RNNWeights<Double>(zerosLike: w)
        for b in 0 ..< batch {
            let hand = handWrittenBPTT(weights: w, inputs: column(x, b, batch: batch), targets: column(y, b, batch: batch),
                                       initialState: h0[row: b].scalars)
            loss += hand.loss / Double(batch)
            sum.add(hand.gradients, scaledBy: 1 / Double(batch))
            #expect(r.finalState[row: b].scalars.elementsEqual(hand.finalState) { abs($0 - $1) < 1e-12 })
            let g0 = r.initialStateGradient![row: b].scalars
            #expect(zip(g0, hand.initialStateGradient).allSatisfy { abs($0 - $1 / Double(batch)) < 1e-12 })
        }
        #expect(abs(r.loss - loss) < 1e-12)
        #expect(maxRelativeError(fused.gradients, sum) < 1e-10)
    }

    @Test func fusedPassesADoubleGradientCheck() {
        let (w, x, y) = randomLMProblem(Double.self, seed: 11)
        let fused = FusedRNNLanguageModel(weights: w)
        _ = fused.lossAndGradients(inputs: x, targets: y, batchSize: 3)
        let analytic = fused.gradients
        let eps = 1e-6
        var worst = 0.0
        for p in 0 ..< 5 {
            for i in 0 ..< w.all[p].count {
                var plus = w, minus = w
                plus.all[p].scalars[i] += eps; minus.all[p].scalars[i] -= eps
                let lp = FusedRNNLanguageModel(weights: plus).lossAndGradients(inputs: x, targets: y, batchSize: 3).loss
                let lm = FusedRNNLanguageModel(weights: minus).lossAndGradients(inputs: x, targets: y, batchSize: 3).loss
                let numeric = (lp - lm) / (2 * eps), a = analytic.all[p].scalars[i]
                let denominator = abs(a) + abs(numeric)
                if denominator > 1e-9 { worst = max(worst, abs(a - numeric) / denominator) }
            }
        }
        #expect(worst < 1e-6, "max relative error \(worst)")
    }

    @Test(arguments: [BPTTStrategy.truncated(steps: 2), .randomized(keepProbability: 0.5)])
    func gatesAgreeBetweenFusedAndHandWritten(strategy: BPTTStrategy) {
        let (w, x, y) = randomLMProblem(Double.self, seed: 5, batch: 1, steps: 8)
        var g = PCG64(seed: 1)
        let gates: [Double] = strategy.gates(count: 8, generator: &g)
        let fused = FusedRNNLanguageModel(weights: w)
        let r = fused.lossAndGradients(inputs: x, targets: y, batchSize: 1, gradientGates: gates)
        let hand = handWrittenBPTT(weights: w, inputs: x, targets: y, gradientGates: gates)
        #expect(abs(r.loss - hand.loss) < 1e-12)
        #expect(maxRelativeError(fused.gradients, hand.gradients) < 1e-10)
    }

    /// A batch of 37 runs its recurrence as three groups of rows (16, 16, 5) on the product
    /// threads; with a cut gate, a 1/π gate and an initial state, every sequence must still get
    /// exactly its hand-written BPTT, and ∂b_h, ∂W_xh sum over all groups.
    @Test func rowGroupsMatchHandWrittenBPTTPerSequence() {
        let batch = 37, steps = 4
        let groupRows = FusedRNNLanguageModel<Double>.recurrenceGroupRows
        #expect((batch + groupRows - 1) / groupRows == 3)
        let (w, x, y) = randomLMProblem(Double.self, seed: 17, batch: batch, steps: steps)
        let gates: [Double] = [1, 0, 2, 1]
        let h0 = Tensor<Double>(randomNormal: [batch, w.hiddenSize], standardDeviation: 0.5, seed: 4)
        let fused = FusedRNNLanguageModel(weights: w)
        let r = fused.lossAndGradients(inputs: x, targets: y, batchSize: batch, initialState: h0, gradientGates: gates,
                                       computeInitialStateGradient: true)
        var loss = 0.0
        var sum = RNNWeights<Double>(zerosLike: w)
        for b in 0 ..< batch {
            let hand = handWrittenBPTT(weights: w, inputs: column(x, b, batch: batch), targets: column(y, b, batch: batch),
                                       initialState: h0[row: b].scalars, gradientGates: gates)
            loss += hand.loss / Double(batch)
            sum.add(hand.gradients, scaledBy: 1 / Double(batch))
            #expect(r.finalState[row: b].scalars.elementsEqual(hand.finalState) { abs($0 - $1) < 1e-12 }, "sequence \(b)")
            let g0 = r.initialStateGradient![row: b].scalars
            #expect(zip(g0, hand.initialStateGradient).allSatisfy { abs($0 - $1 / Double(batch)) < 1e-12 }, "sequence \(b)")
        }
        #expect(abs(r.loss - loss) < 1e-12)
        #expect(maxRelativeError(fused.gradients, sum) < 1e-10)
    }

    /// Which thread runs which group of rows never changes a bit (Float, on this process's path).
    @Test func rowGroupsGiveTheSameBitsOnAnyThreadCount() {
        let batch = 40, steps = 6
        let (w, x, y) = randomLMProblem(Float.self, seed: 23, batch: batch, steps: steps, hidden: 70)
        let before = blasThreadCount()
        defer { setBLASThreadCount(before) }
        func run(threads: Int) -> (Float, RNNWeights<Float>, [Float]) {
            setBLASThreadCount(threads)
            let model = FusedRNNLanguageModel(weights: w)
            let r = model.lossAndGradients(inputs: x, targets: y, batchSize: batch, gradientGates: [1, 1, 0, 1, 2, 1])
            return (r.loss, model.gradients, r.finalState.scalars)
        }
        let one = run(threads: 1)
        for threads in [2, 3] {
            let other = run(threads: threads)
            #expect(other.0 == one.0 && other.1 == one.1 && other.2 == one.2, "\(threads) threads differ from 1")
        }
    }

    @Test func reusedBuffersGiveTheSameResultsAcrossShapes() {
        let (w, x, y) = randomLMProblem(Float.self, batch: 4, steps: 6)
        let model = FusedRNNLanguageModel(weights: w)
        let first = model.lossAndGradients(inputs: x, targets: y, batchSize: 4).loss
        let g1 = model.gradients
        _ = model.lossAndGradients(inputs: Array(x.prefix(6)), targets: Array(y.prefix(6)), batchSize: 2)
        let again = model.lossAndGradients(inputs: x, targets: y, batchSize: 4).loss
        #expect(first == again)
        #expect(model.gradients == g1)
    }

    @Test func truncatedGradientIsBiasedAndRandomizedIsUnbiased() {
        // Hidden 4, 10 steps, strong recurrence so that long-range terms matter.
        var g = PCG64(seed: 21)
        var w = RNNWeights<Double>(vocabularySize: 5, hiddenSize: 4, standardDeviation: 0.8, generator: &g)
        w.bh = Tensor(randomNormal: [4], standardDeviation: 0.2, generator: &g)
        let x = (0 ..< 10).map { _ in g.nextInt(below: 5) }, y = (0 ..< 10).map { _ in g.nextInt(below: 5) }
        var draws = PCG64(seed: 99)
        let full = gradientEstimateStatistics(weights: w, inputs: x, targets: y, strategy: .full, draws: 3, generator: &draws)
        #expect(full.relativeBias < 1e-12 && full.relativeVariance < 1e-20)
        let truncated = gradientEstimateStatistics(weights: w, inputs: x, targets: y, strategy: .truncated(steps: 2),
                                                   draws: 3, generator: &draws)
        #expect(truncated.relativeBias > 0.01)         // deterministic and wrong
        #expect(truncated.relativeVariance < 1e-20)
        // Randomized truncation: the mean of N draws has standard error √(variance / N); with
        // N = 4,000 the bias must vanish within 5 standard errors (a 5σ bound, fixed seed).
        let n = 4_000
        let randomized = gradientEstimateStatistics(weights: w, inputs: x, targets: y,
                                                    strategy: .randomized(keepProbability: 0.6), draws: n, generator: &draws)
        let standardError = (randomized.relativeVariance / Double(n)).squareRoot()
        #expect(randomized.relativeVariance > 1e-6)     // it is random
        #expect(randomized.relativeBias < 5 * standardError,
                "bias \(randomized.relativeBias) vs standard error \(standardError)")
        #expect(randomized.relativeBias < truncated.relativeBias / 4)
    }

    @Test func gateMeansAreOne() {
        var g = PCG64(seed: 4)
        let gates: [Double] = BPTTStrategy.randomized(keepProbability: 0.25).gates(count: 200_000, generator: &g)
        let mean = gates.reduce(0, +) / Double(gates.count)
        // ξ ∈ {0, 4}: variance 3, standard error √(3/200000) ≈ 0.0039; bound at 5σ.
        #expect(abs(mean - 1) < 0.02)
        #expect(Set(gates) == [0, 4])
        let t: [Float] = BPTTStrategy.truncated(steps: 3).gates(count: 7, generator: &g)
        #expect(t == [0, 1, 1, 0, 1, 1, 0])
    }

    @Test func shortFusedTrainingRunLowersPerplexity() throws {
        let corpus = CharacterCorpus(text: try timeMachineText(), maxTokens: 3_000)
        var g = PCG64(seed: 0)
        let model = FusedRNNLanguageModel(weights: RNNWeights<Float>(vocabularySize: 28, hiddenSize: 32,
                                                                     standardDeviation: 0.1, generator: &g))
        var c = LanguageModelTraining()
        c.batchSize = 16; c.numSteps = 20; c.epochs = 15; c.sampling = .sequential
        var seen: [Int] = []
        let reports = trainLanguageModel(model, corpus: corpus.indices, configuration: c) { seen.append($0.epoch) }
        #expect(seen == Array(1 ... 15))
        // Uniform guessing over 28 characters has perplexity 28; letter frequencies alone give ≈ 18.
        #expect(reports[0].perplexity > 15)
        #expect(reports.last!.perplexity < 12, "final perplexity \(reports.last!.perplexity)")
        let text = predict(model, prefix: "time traveller", count: 10, vocabulary: corpus.vocabulary)
        #expect(text.count == 24 && text.hasPrefix("time traveller"))
        let a = predict(model, prefix: "the", count: 20, vocabulary: corpus.vocabulary, decoding: .sampled(temperature: 0.8, seed: 1))
        let b = predict(model, prefix: "the", count: 20, vocabulary: corpus.vocabulary, decoding: .sampled(temperature: 0.8, seed: 1))
        #expect(a == b)
    }

    @Test func trainingIsDeterministicToTheLastBit() throws {
        let corpus = CharacterCorpus(text: try timeMachineText(), maxTokens: 2_000)
        func run() -> [Double] {
            var g = PCG64(seed: 7)
            let m = FusedRNNLanguageModel(weights: RNNWeights<Float>(vocabularySize: 28, hiddenSize: 16, generator: &g))
            var c = LanguageModelTraining()
            c.batchSize = 8; c.numSteps = 10; c.epochs = 3; c.seed = 7; c.strategy = .randomized(keepProbability: 0.5)
            return trainLanguageModel(m, corpus: corpus.indices, configuration: c).map(\.perplexity)
        }
        let a = run(), b = run()
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
    }
}

@Test("fast Float tanh stays within 5e-7 (4 ulp of 1) of the library tanh")
func fastTanhIsAccurate() {
    var worst: Float = 0
    var x: Float = -12
    while x <= 12 { worst = max(worst, abs(fastTanh(x) - Float.tanh(x))); x += 0.000_37 }
    #expect(worst < 5e-7, "max abs error \(worst)")
    #expect(fastTanh(0) == 0 && fastTanh(1e-6) == 1e-6 && fastTanh(30) == 1 && fastTanh(-30) == -1)
}

/// The 8-lane loop compiled for AVX2 and the engine's baseline loop give the same bits on every
/// kind of input (one formula compiled twice; Swift never fuses its multiplies and adds).
@Test("AVX2 tanh equals the baseline tanh bit for bit",
      .enabled(if: AVX2Kernels.isSupported(cpuFlags: MatrixKernels.cpuFlags), "this CPU has no AVX2 and FMA"))
func avx2TanhMatchesTheBaselineLoop() {
    var inputs: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude / 16, 0.0004, -0.0004, Float(0.0004).nextUp, Float(0.0004).nextDown, 7.9053111, -7.9053111,
                           8, 30, -30, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.leastNormalMagnitude]
    var g = PCG64(seed: 5)
    for _ in 0 ..< 100_000 { inputs.append(Float(g.nextUniform() * 24 - 12)) }
    for _ in 0 ..< 1_000 { inputs.append(Float(g.nextUniform() * 2e-3 - 1e-3)) }
    var avx2 = [Float](repeating: 0, count: inputs.count)
    inputs.withUnsafeBufferPointer { x in
        avx2.withUnsafeMutableBufferPointer { AVX2Kernels.tanh(x.baseAddress!, into: $0.baseAddress!, count: x.count) }
    }
    let differing = zip(inputs, avx2).filter { x, y in fastTanh(x).bitPattern != y.bitPattern }
    #expect(differing.isEmpty, "\(differing.count) inputs differ, first \(differing.first.map { "\($0.0)" } ?? "")")
    // In place (the fused model's forward pass), a loop of its own.
    var inPlace = inputs
    inPlace.withUnsafeMutableBufferPointer { AVX2Kernels.tanh($0.baseAddress!, into: $0.baseAddress!, count: $0.count) }
    #expect(zip(inPlace, avx2).allSatisfy { $0.bitPattern == $1.bitPattern }, "in place")
    // Odd lengths reach the scalar tail of the vector loop.
    for n in [1, 7, 9, 17] {
        var y = [Float](repeating: 0, count: n)
        inputs.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { AVX2Kernels.tanh(x.baseAddress!, into: $0.baseAddress!, count: n) } }
        #expect(zip(inputs.prefix(n), y).allSatisfy { fastTanh($0).bitPattern == $1.bitPattern }, "length \(n)")
    }
}
