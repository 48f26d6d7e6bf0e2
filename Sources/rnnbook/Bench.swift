import ArgumentParser
import Engine
import Foundation

/// `rnnbook bench`: trains named language-model configurations and prints one JSON line each.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the character language models on The Time Machine (one JSON line per configuration).",
        discussion: """
        Configurations: \(BenchConfiguration.allCases.map(\.rawValue).joined(separator: ", ")).
        The text is read from $RNNBOOK_DATA/timemachine.txt (or the cache, or downloaded).
        """)

    @Option(name: .long, help: "Configuration to run; repeat for several (default: zh-fused).")
    var config: [BenchConfiguration] = [.zhFused]

    @Option(name: .long, help: "Epochs to train (default: 500, the reference run; gemm: repetitions ×10).")
    var epochs: Int = 500

    @Option(name: .long, help: "Seed for initialisation and minibatch order.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Print only the JSON lines (no progress on stderr).")
    var json = false

    @Option(name: .long, help: "Minibatch sampling for the zh configurations: random (the reference benchmark) or sequential.")
    var sampling: SequenceSampling?

    @Flag(name: .long, help: "zh configurations: train on the whole corpus (170,580 tokens) instead of the reference's first 10,000.")
    var fullCorpus = false

    @Option(name: .long, help: ArgumentHelp(
        "Also time PyTorch's from-scratch eager reference with this python (which must import torch), for zh-scratch and zh-fused.",
        valueName: "python"))
    var comparePytorch: String?

    @Option(name: .customLong("repeat"), help: "With --compare-pytorch or --concurrent: alternating runs per configuration (medians are reported).")
    var repeatCount = 3

    @Option(name: .long, help: "With --compare-pytorch: the reference script (default: Reference/pytorch_rnn_scratch.py beside this source file).")
    var pytorchScript: String?

    // Two intra-op threads on a machine whose cores are busy collapse (1–18k tokens/s measured
    // at load 5 on 2 cores), so on a shared machine compare with 1 and --blas-threads 1 as well.
    @Option(name: .long, help: "With --compare-pytorch: torch.set_num_threads for the reference (on a busy machine also try 1 with --blas-threads 1).")
    var torchThreads = 2

    @Option(name: .long, help: ArgumentHelp(
        "Run one copy alone, then this many copies at once (separate processes), --repeat times, and report their aggregate tokens/s against the solo rate.",
        valueName: "copies"))
    var concurrent: Int?

    @Option(name: .long, help: "Threads for matrix products (default: OPENBLAS_NUM_THREADS or every core; OpenBLAS itself runs single-threaded and the engine splits products over its own threads). Use 1 on a busy machine: two threads that fight other processes for a core run slower than one.")
    var blasThreads: Int?

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
        if let s = sampling, s == .shuffledWindows || config.contains(where: { $0.rawValue.hasPrefix("en") }) {
            throw ValidationError("--sampling \(s.rawValue): only random or sequential, and only for the zh configurations")
        }
        if let n = blasThreads, n <= 0 { throw ValidationError("--blas-threads must be positive, got \(n)") }
        guard repeatCount > 0 else { throw ValidationError("--repeat must be positive, got \(repeatCount)") }
        guard torchThreads > 0 else { throw ValidationError("--torch-threads must be positive, got \(torchThreads)") }
        if let n = concurrent {
            guard n >= 2 else { throw ValidationError("--concurrent must be at least 2, got \(n)") }
            guard comparePytorch == nil else { throw ValidationError("--concurrent and --compare-pytorch measure different things; give one") }
            guard config.contains(where: { $0 != .gemm }) else { throw ValidationError("--concurrent trains language models; the configurations given were only gemm") }
        }
        if comparePytorch != nil, !config.contains(where: { PyTorchComparison.comparable.contains($0) }) {
            throw ValidationError("--compare-pytorch compares zh-scratch and zh-fused; the configurations given were \(config.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        if let n = blasThreads { setBLASThreadCount(n) }
        if let copies = concurrent {
            try ConcurrentCopies(copies: copies, repeats: repeatCount, copyArguments: { c in
                var arguments = ["--config", c.rawValue, "--epochs", "\(epochs)", "--seed", "\(seed)"]
                if let s = sampling { arguments += ["--sampling", s.rawValue] }
                if fullCorpus { arguments.append("--full-corpus") }
                if let n = blasThreads { arguments += ["--blas-threads", "\(n)"] }
                return arguments
            }, quiet: json).run(configurations: config)
            return
        }
        if let python = comparePytorch {
            let comparison = try PyTorchComparison(
                python: python, script: pytorchScript ?? PyTorchComparison.defaultScript,
                torchThreads: torchThreads, quiet: json)
            try comparison.run(configurations: config, epochs: epochs, seed: seed, sampling: sampling,
                               fullCorpus: fullCorpus, repeats: repeatCount)
            return
        }
        for c in config {
            let result = try c.run(epochs: epochs, seed: seed, sampling: sampling, fullCorpus: fullCorpus) { report in
                guard !json, report.epoch == 1 || report.epoch % 10 == 0 || report.epoch == epochs else { return }
                FileHandle.standardError.write(Data(String(
                    format: "%@ epoch %d/%d  ppl %.3f  %.0f tokens/s\n",
                    c.rawValue, report.epoch, epochs, report.perplexity, report.tokensPerSecond).utf8))
            }
            print(result.jsonLine)
        }
    }
}

/// The named benchmark configurations of issue 3.
enum BenchConfiguration: String, CaseIterable, ExpressibleByArgument, Sendable {
    case zhScratch = "zh-scratch"
    case zhFused = "zh-fused"
    case enScratch = "en-scratch"
    case enFused = "en-fused"
    case gemm

    struct Result {
        var fields: [(String, String)]
        var preformatted: String? = nil
        var jsonLine: String {
            preformatted ?? "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
    }

    func run(epochs: Int, seed: UInt64, sampling: SequenceSampling?, fullCorpus: Bool = false, progress: (EpochReport) -> Void) throws -> Result {
        if self == .gemm { return try runGemm(repetitions: epochs * 10) }
        let text = try TimeMachine.loadText()
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
        let tokens = reports.reduce(0) { $0 + $1.tokens }
        return Result(fields: [
            ("config", "\"\(rawValue)\""), ("sampling", "\"\(training.sampling.rawValue)\""), ("epochs", "\(epochs)"), ("corpus_tokens", "\(corpus.indices.count)"), ("tokens", "\(tokens)"),
            ("seconds", String(format: "%.3f", seconds)),
            ("tokens_per_s", String(format: "%.0f", Double(tokens) / seconds)),
            ("ppl", String(format: "%.4f", reports.last?.perplexity ?? .nan)),
            ("peak_rss_mb", String(format: "%.1f", peakResidentMegabytes())),
            ("seed", "\(seed)"), ("blas_threads", "\(blasThreadCount())"), ("blas_core", "\"\(EngineInfo.blasCore)\""),
            ("kernels", "\"\(EngineInfo.productKernels)\""),
            // Letters and spaces only (the preprocessing guarantees it), so no JSON escaping is needed.
            ("sample", "\"\(sample)\""),
        ])
    }

    /// The products the RNN makes — a step forward (`…P`: W_hh packed once per sequence, as the
    /// fused model does; plain, as the scratch model does), a step backward (`…T` = A·Bᵀ), the
    /// whole-sequence weight gradient (`tA` = Aᵀ·B), the output layer — and 512³; one line each,
    /// after a line with the CPU's FMA peak measured in the same run.
    private func runGemm(repetitions: Int) throws -> Result {
        let threads = blasThreadCount()
        var lines: [String] = []
        var peakGFLOPS: Double?
        if let peak = measureFMAPeak(threads: threads) {
            lines.append(Result(fields: [
                ("config", "\"gemm\""), ("fma_peak", "\"\(peak.unit)\""),
                ("peak_gflops_1_thread", String(format: "%.1f", peak.oneThreadGFLOPS)),
                ("peak_gflops", String(format: "%.1f", peak.allThreadsGFLOPS)), ("threads", "\(threads)"),
                ("kernels", "\"\(EngineInfo.productKernels)\""),
            ]).jsonLine)
            peakGFLOPS = peak.allThreadsGFLOPS
        }
        let shapes = [
            ProductShape(m: 32, k: 512, n: 512), ProductShape(m: 32, k: 512, n: 512, packed: true),
            ProductShape(m: 32, k: 512, n: 512, transposeB: true), ProductShape(m: 512, k: 1120, n: 512, transposeA: true),
            ProductShape(m: 1120, k: 512, n: 28), ProductShape(m: 1120, k: 28, n: 512, transposeB: true),
            ProductShape(m: 512, k: 512, n: 512),
        ]
        for shape in shapes {
            let r = benchmarkMatmul(shape, repetitions: repetitions)
            var fields: [(String, String)] = [
                ("config", "\"gemm\""), ("shape", "\"\(shape)\""), ("repetitions", "\(r.repetitions)"),
                ("engine_gflops", String(format: "%.1f", r.engineGFLOPS)),
                ("blas_path_gflops", String(format: "%.1f", r.blasPathGFLOPS)),
                ("openblas_threaded_gflops", String(format: "%.1f", r.openBLASGFLOPS)),
                ("engine_vs_blas_path", String(format: "%.3f", r.blasPathSeconds / r.engineSeconds)),
            ]
            if let peak = peakGFLOPS { fields.append(("engine_share_of_peak", String(format: "%.3f", r.engineGFLOPS / peak))) }
            fields += [("threads", "\(threads)"), ("kernels", "\"\(EngineInfo.productKernels)\""), ("blas_core", "\"\(EngineInfo.blasCore)\"")]
            lines.append(Result(fields: fields).jsonLine)
        }
        return Result(fields: [], preformatted: lines.joined(separator: "\n"))
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

extension SequenceSampling: ExpressibleByArgument {}
