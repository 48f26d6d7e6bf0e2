import Foundation
import Testing
@testable import Engine

/// Cross-entropy of one logit row against `target`, in Double, the slow way.
private func crossEntropy(_ row: [Double], _ target: Int) -> Double {
    -log(exp(row[target]) / row.map(exp).reduce(0, +))
}

@Suite("LM: held-out perplexity")
struct HeldOutTests {
    /// A small trained-looking model: random weights with σ = 0.5, so predictions are far from uniform.
    private func model(seed: UInt64 = 3) -> FusedRNNLanguageModel<Double> {
        var g = PCG64(seed: seed)
        return FusedRNNLanguageModel(weights: RNNWeights<Double>(vocabularySize: 7, hiddenSize: 5,
                                                                 standardDeviation: 0.5, generator: &g))
    }

    private func stream(_ n: Int, seed: UInt64 = 11) -> [Int] {
        var g = PCG64(seed: seed)
        return (0 ..< n).map { _ in g.nextInt(below: 7) }
    }

    @Test func oneRowIsTheTokenByTokenAverageWhateverTheWindow() {
        let m = model(), text = stream(50)
        // Reference: one token at a time, carrying the state, summing −log p(next).
        var state: Tensor<Double>? = nil, sum = 0.0
        for i in 0 ..< text.count - 1 {
            let r = m.logits(inputs: [text[i]], batchSize: 1, initialState: state)
            state = r.finalState
            sum += crossEntropy(r.logits.scalars, text[i + 1])
        }
        let reference = exp(sum / Double(text.count - 1))
        for window in [1, 7, 35, 100] {
            let e = heldOutPerplexity(m, corpus: text, numSteps: window, batchSize: 1)
            #expect(e.tokens == 49)
            #expect(abs(e.perplexity - reference) <= 1e-12 * reference, "window \(window): \(e.perplexity) vs \(reference)")
        }
    }

    @Test func rowsAreContiguousPiecesEachReadFromZero() {
        let m = model(), text = stream(43)          // 43 = 4 rows of 10 and 3 tokens left out
        let rows = (0 ..< 4).map { Array(text[$0 * 10 ..< ($0 + 1) * 10]) }
        let perRow = rows.map { heldOutPerplexity(m, corpus: $0, numSteps: 4, batchSize: 1) }
        let logMean = perRow.map { log($0.perplexity) * Double($0.tokens) }.reduce(0, +) / 36
        let e = heldOutPerplexity(m, corpus: text, numSteps: 4, batchSize: 4)
        #expect(e.tokens == 36)
        #expect(abs(log(e.perplexity) - logMean) <= 1e-12, "\(e.perplexity) vs \(exp(logMean))")
    }

    @Test func aModelThatPredictsNothingScoresTheVocabularySize() {
        let zero = FusedRNNLanguageModel(weights: RNNWeights<Double>(zerosLike: model().weights))
        let e = heldOutPerplexity(zero, corpus: stream(200), numSteps: 35, batchSize: 8)
        #expect(abs(e.perplexity - 7) <= 1e-12, "\(e.perplexity)")
    }

    @Test func theScratchAndFusedModelsAgree() {
        var g = PCG64(seed: 5)
        let w = RNNWeights<Double>(vocabularySize: 7, hiddenSize: 5, standardDeviation: 0.5, generator: &g)
        let text = stream(120)
        let a = heldOutPerplexity(FusedRNNLanguageModel(weights: w), corpus: text, numSteps: 9, batchSize: 3)
        let b = heldOutPerplexity(ScratchRNNLanguageModel(weights: w), corpus: text, numSteps: 9, batchSize: 3)
        #expect(a.tokens == b.tokens)
        #expect(abs(a.perplexity - b.perplexity) <= 1e-10 * a.perplexity, "\(a.perplexity) vs \(b.perplexity)")
    }
}
