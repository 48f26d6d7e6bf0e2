import BookData
import Engine
import Foundation

/// A user-facing failure of `rnnbook bench` (what was expected, what was found, how to fix it).
public struct BenchError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// The named benchmark configurations of issue 3.
public enum BenchConfiguration: String, CaseIterable, Sendable {
    case zhScratch = "zh-scratch"
    case zhFused = "zh-fused"
    case enScratch = "en-scratch"
    case enFused = "en-fused"
    case gemm

    /// What one configuration prints: one training line, or the gemm lines.
    public enum Output: Sendable {
        case training(TrainingRun)
        case products(peak: FMAPeakRecord?, products: [ProductRecord])

        /// Product lines whose share is a probe error (the run's figures cannot all be trusted).
        public var probeErrors: Int {
            if case .products(_, let products) = self { return products.filter { $0.probeError != nil }.count }
            return 0
        }

        /// The JSON lines, one per record.
        public func jsonLines() throws -> String {
            switch self {
            case .training(let run): return try jsonLine(run)
            case .products(let peak, let products):
                return try ((peak.map { [try jsonLine($0)] } ?? []) + products.map { try jsonLine($0) }).joined(separator: "\n")
            }
        }
    }

    /// Trains the configuration (or times the products, for `gemm`: `epochs` × 10 repetitions)
    /// on *The Time Machine*, found and verified by `DataStore`.
    public func run(epochs: Int, seed: UInt64, sampling: SequenceSampling?, fullCorpus: Bool = false,
                    progress: (EpochReport) -> Void) throws -> Output {
        if self == .gemm { return runGemm(repetitions: epochs * 10) }
        let text = try DataStore().text(of: .timeMachine)
        var training = LanguageModelTraining()
        training.epochs = epochs
        training.seed = seed
        training.learningRate = 1
        training.clipNorm = 1
        let corpus: CharacterCorpus
        let hidden: Int
        switch self {
        case .zhScratch, .zhFused:
            // d2l (Chinese edition) §8.5: first 10,000 tokens, per-line preprocessing.
            corpus = CharacterCorpus(text: text, preprocessing: .perLine, maxTokens: fullCorpus ? nil : 10_000)
            hidden = 512; training.batchSize = 32; training.numSteps = 35; training.sampling = sampling ?? .random
        case .enScratch, .enFused:
            // d2l (English edition) §9.5: whole-text preprocessing, alphabetical vocabulary,
            // 10,000 training windows of 32 steps, batch 1024.
            corpus = CharacterCorpus(text: text, preprocessing: .wholeText, maxTokens: 10_000 + 32,
                                     ordering: .alphabetical)
            hidden = 32; training.batchSize = 1024; training.numSteps = 32; training.sampling = .shuffledWindows
        case .gemm: fatalError("unreachable")
        }
        var generator = PCG64(seed: seed)
        let weights = RNNWeights<Float>(vocabularySize: corpus.vocabulary.count, hiddenSize: hidden,
                                        standardDeviation: 0.01, generator: &generator)
        let start = DispatchTime.now().uptimeNanoseconds
        let reports: [EpochReport]
        let sample: String
        switch self {
        case .zhFused, .enFused:
            let model = FusedRNNLanguageModel(weights: weights)
            reports = trainLanguageModel(model, corpus: corpus.indices, configuration: training, onEpoch: progress)
            sample = predict(model, prefix: "time traveller", count: 50, vocabulary: corpus.vocabulary)
        default:
            let model = ScratchRNNLanguageModel(weights: weights, encoding: .oneHot)
            reports = trainLanguageModel(model, corpus: corpus.indices, configuration: training, onEpoch: progress)
            sample = predict(model, prefix: "time traveller", count: 50, vocabulary: corpus.vocabulary)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return .training(TrainingRun(
            config: rawValue, sampling: training.sampling.rawValue, epochs: epochs, corpusTokens: corpus.indices.count,
            tokens: reports.reduce(0) { $0 + $1.tokens }, seconds: seconds, perplexity: reports.last?.perplexity ?? .nan,
            peakRSSMB: peakResidentMegabytes(), seed: seed, sample: sample,
            blasThreads: blasThreadCount(), blasCore: EngineInfo.blasCore, kernels: EngineInfo.productKernels))
    }

    /// The products the RNN makes, in words, with the shapes `runGemm` times.
    static let gemmShapes: [(shape: ProductShape, role: String)] = [
        // Both models multiply by W_hh packed once per update: the fused model packs it itself,
        // the scratch model's `matmul` from W_hh's second use on (`PackingCache`). The first row
        // is its first use after each update; the third packs W_hhᵀ inside the product.
        (ProductShape(m: 32, k: 512, n: 512), "step forward, W_hh packed inside the product (scratch model, first step after an update)"),
        (ProductShape(m: 32, k: 512, n: 512, packed: true), "step forward, W_hh packed once per update (fused model; scratch model from its second step)"),
        (ProductShape(m: 32, k: 512, n: 512, transposeB: true), "step backward, dA·W_hhᵀ, W_hhᵀ packed inside the product (both models pack it once per update, as above)"),
        (ProductShape(m: 512, k: 1120, n: 512, transposeA: true), "weight gradient over 35 steps × 32 rows, Hᵀ·dA"),
        (ProductShape(m: 1120, k: 512, n: 28), "output layer, H·W_hq (28 characters)"),
        (ProductShape(m: 1120, k: 28, n: 512, transposeB: true), "output layer backward, dY·W_hqᵀ"),
        (ProductShape(m: 512, k: 512, n: 512), "square reference"),
    ]

    /// Times the products the RNN makes (`gemmShapes`): one line each, after a line with the
    /// CPU's FMA peak measured in the same run. Each share is the engine's GFLOP/s on T threads
    /// over the T-thread peak; one above 1 is a probe error (see `PeakShare`).
    private func runGemm(repetitions: Int) -> Output {
        let threads = blasThreadCount()
        let measured = measureFMAPeak(threads: threads)
        let mhz = cpuinfoMegahertz()
        let peak = measured.map { p in
            FMAPeakRecord(fmaPeak: p.unit, peakGFLOPS1Thread: rounded(p.oneThreadGFLOPS, places: 1),
                          peakGFLOPS: rounded(p.allThreadsGFLOPS, places: 1), threads: threads, kernels: EngineInfo.productKernels,
                          cpuMHz: mhz.map { rounded($0, places: 0) },
                          nominalGFLOPS1Thread: mhz.map { rounded(Double(p.lanes * 2 * 2) * $0 / 1000, places: 1) },
                          nonFinite: nonFiniteNote(["peak_gflops_1_thread": p.oneThreadGFLOPS, "peak_gflops": p.allThreadsGFLOPS]))
        }
        let products = Self.gemmShapes.map { shape, role in
            let r = benchmarkMatmul(shape, repetitions: repetitions)
            let ratio = r.blasPathSeconds / r.engineSeconds
            var record = ProductRecord(
                shape: "\(shape)", role: role, repetitions: r.repetitions, engineGFLOPS: rounded(r.engineGFLOPS, places: 1),
                blasPathGFLOPS: rounded(r.blasPathGFLOPS, places: 1), openBLASThreadedGFLOPS: rounded(r.openBLASGFLOPS, places: 1),
                engineVsBLASPath: rounded(ratio, places: 3), engineShareOfPeak: nil, probeError: nil,
                threads: threads, kernels: EngineInfo.productKernels, blasCore: EngineInfo.blasCore,
                nonFinite: nonFiniteNote(["engine_gflops": r.engineGFLOPS, "blas_path_gflops": r.blasPathGFLOPS,
                                          "openblas_threaded_gflops": r.openBLASGFLOPS, "engine_vs_blas_path": ratio]))
            record.setShare(peakGFLOPS: measured?.allThreadsGFLOPS, fastestGFLOPS: r.engineFastestGFLOPS)
            return record
        }
        return .products(peak: peak, products: products)
    }
}

/// Peak resident set size of this process (VmHWM from /proc/self/status), in MB.
func peakResidentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
        return kb / 1024
    }
    return .nan
}

/// The median of a sample (NaN when empty).
func median(_ values: [Double]) -> Double {
    let v = values.sorted()
    guard !v.isEmpty else { return .nan }
    return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
}
