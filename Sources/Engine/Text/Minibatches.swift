/// The two minibatch schemes of the reference chapters (d2l `seq_data_iter_random` and
/// `seq_data_iter_sequential`), driven by a seeded generator.

/// How subsequences are cut from a corpus.
public enum SequenceSampling: String, Sendable, Codable, CaseIterable {
    /// Random offset in [0, numSteps), non-overlapping subsequences in shuffled order;
    /// neighbouring minibatches are not adjacent in the text, so the hidden state is reset.
    case random
    /// Random offset in [0, numSteps], the corpus split batch-major into `batchSize` streams,
    /// consecutive windows; minibatch i+1 continues minibatch i row by row, so state is carried.
    case sequential
    /// d2l English edition (`d2l.TimeMachine`): every window of numSteps + 1 tokens starting at
    /// each position of the corpus (stride 1), shuffled, cut into batches; the last batch may be
    /// smaller. Like random sampling, the state restarts every minibatch.
    case shuffledWindows
}

/// One minibatch: `batchSize` rows of `numSteps` token indices; targets are inputs shifted by one.
public struct TokenMinibatch: Sendable, Equatable {
    public let batchSize: Int
    public let numSteps: Int
    /// Row-major [batch, step] (row b is one subsequence).
    public let inputs: [Int]
    public let targets: [Int]

    public init(batchSize: Int, numSteps: Int, inputs: [Int], targets: [Int]) {
        checkPrecondition(inputs.count == batchSize * numSteps && targets.count == inputs.count,
                     "TokenMinibatch: expected \(batchSize)×\(numSteps) inputs and targets, got \(inputs.count) and \(targets.count)")
        self.batchSize = batchSize; self.numSteps = numSteps
        self.inputs = inputs; self.targets = targets
    }

    /// Input rows as nested arrays ([batch][step]).
    public var inputRows: [[Int]] { (0..<batchSize).map { Array(inputs[$0 * numSteps ..< ($0 + 1) * numSteps]) } }
    public var targetRows: [[Int]] { (0..<batchSize).map { Array(targets[$0 * numSteps ..< ($0 + 1) * numSteps]) } }
    /// Inputs in time-major order ([step, batch]), the layout the RNNs consume.
    public var inputsTimeMajor: [Int] { Self.timeMajor(inputs, batchSize, numSteps) }
    /// Targets in time-major order ([step, batch]), matching the rows of time-major logits.
    public var targetsTimeMajor: [Int] { Self.timeMajor(targets, batchSize, numSteps) }

    static func timeMajor(_ a: [Int], _ b: Int, _ t: Int) -> [Int] {
        var out = [Int](repeating: 0, count: a.count)
        for i in 0..<b { for s in 0..<t { out[s * b + i] = a[i * t + s] } }
        return out
    }
}

/// In-place Fisher–Yates with a seeded generator (Swift's `shuffle(using:)` may change its
/// algorithm between toolchains; this one never does).
public func seededShuffle<T>(_ array: inout [T], generator: inout PCG64) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
        let j = generator.nextInt(below: i + 1)
        if i != j { array.swapAt(i, j) }
    }
}

/// One epoch of minibatches of `corpus` cut as `sampling` says, drawing the offset (and the
/// order, for random sampling) from `generator`.
public func minibatches(of corpus: [Int], batchSize: Int, numSteps: Int, sampling: SequenceSampling,
                        generator: inout PCG64) -> [TokenMinibatch] {
    checkPrecondition(batchSize > 0 && numSteps > 0, "minibatches: batchSize and numSteps must be positive, got \(batchSize), \(numSteps)")
    switch sampling {
    case .random:
        let offset = generator.nextInt(below: numSteps)           // random.randint(0, num_steps - 1)
        let n = corpus.count - offset
        guard n > 1 else { return [] }
        let subsequences = (n - 1) / numSteps
        var starts = (0..<subsequences).map { offset + $0 * numSteps }
        seededShuffle(&starts, generator: &generator)
        let batches = subsequences / batchSize
        return (0..<batches).map { i in
            var x = [Int](), y = [Int]()
            x.reserveCapacity(batchSize * numSteps); y.reserveCapacity(batchSize * numSteps)
            for s in starts[i * batchSize ..< (i + 1) * batchSize] {
                x.append(contentsOf: corpus[s ..< s + numSteps])
                y.append(contentsOf: corpus[s + 1 ..< s + 1 + numSteps])
            }
            return TokenMinibatch(batchSize: batchSize, numSteps: numSteps, inputs: x, targets: y)
        }
    case .shuffledWindows:
        let windows = corpus.count - numSteps
        guard windows > 0 else { return [] }
        var starts = Array(0 ..< windows)
        seededShuffle(&starts, generator: &generator)
        return stride(from: 0, to: windows, by: batchSize).map { first in
            let chosen = starts[first ..< min(first + batchSize, windows)]
            var x = [Int](), y = [Int]()
            for s in chosen {
                x.append(contentsOf: corpus[s ..< s + numSteps])
                y.append(contentsOf: corpus[s + 1 ..< s + 1 + numSteps])
            }
            return TokenMinibatch(batchSize: chosen.count, numSteps: numSteps, inputs: x, targets: y)
        }
    case .sequential:
        let offset = generator.nextInt(below: numSteps + 1)       // random.randint(0, num_steps)
        guard corpus.count - offset - 1 >= batchSize else { return [] }
        let tokens = ((corpus.count - offset - 1) / batchSize) * batchSize
        let perRow = tokens / batchSize
        let batches = perRow / numSteps
        return (0..<batches).map { i in
            var x = [Int](), y = [Int]()
            x.reserveCapacity(batchSize * numSteps); y.reserveCapacity(batchSize * numSteps)
            for b in 0..<batchSize {
                let s = offset + b * perRow + i * numSteps
                x.append(contentsOf: corpus[s ..< s + numSteps])
                y.append(contentsOf: corpus[s + 1 ..< s + 1 + numSteps])
            }
            return TokenMinibatch(batchSize: batchSize, numSteps: numSteps, inputs: x, targets: y)
        }
    }
}
