import BookData
import Engine

/// The Time Machine, found and verified as the runner does (tests run with
/// RNNBOOK_DATA=../shared/data, or a cache that holds it). Engine itself reads no files: it
/// computes over the text it is given.
func timeMachineText() throws -> String { try DataStore().text(of: .timeMachine) }

/// A small random language-model problem shared by the LM tests: weights with σ larger than
/// d2l's 0.01 (so that tanh is not linear and the recurrence matters), non-zero biases, and
/// random time-major inputs and targets.
func randomLMProblem<S: TensorScalar>(_: S.Type, seed: UInt64 = 3, batch: Int = 3, steps: Int = 5,
                                      vocabulary: Int = 7, hidden: Int = 6, standardDeviation: Double = 0.5)
    -> (weights: RNNWeights<S>, inputs: [Int], targets: [Int]) {
    var g = PCG64(seed: seed)
    var w = RNNWeights<S>(vocabularySize: vocabulary, hiddenSize: hidden, standardDeviation: S(standardDeviation), generator: &g)
    w.bh = Tensor(randomNormal: [hidden], standardDeviation: 0.3, generator: &g)
    w.bq = Tensor(randomNormal: [vocabulary], standardDeviation: 0.3, generator: &g)
    let x = (0 ..< batch * steps).map { _ in g.nextInt(below: vocabulary) }
    let y = (0 ..< batch * steps).map { _ in g.nextInt(below: vocabulary) }
    return (w, x, y)
}
