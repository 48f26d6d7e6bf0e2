import Engine
import Foundation

/// What `rnnbook bench` was asked for (its flags, already validated).
public struct BenchOptions: Sendable {
    public var configurations: [BenchConfiguration] = [.zhFused]
    public var epochs = 500
    public var seed: UInt64 = 0
    /// No progress on stderr (`--json`).
    public var quiet = false
    /// A table or JSON lines on stdout (see `BenchFormat`).
    public var format = BenchFormat.jsonLines
    public var sampling: SequenceSampling?
    public var fullCorpus = false
    /// A python that imports torch: also time PyTorch's reference.
    public var comparePytorch: String?
    /// Alternating runs per configuration with `comparePytorch` or `concurrent`.
    public var repeats = 3
    public var pytorchScript: String?
    public var torchThreads = 2
    /// Copies to run at once against one alone.
    public var concurrent: Int?
    public var blasThreads: Int?
    public init() {}

    /// The reference script used when none is given.
    public static var defaultPytorchScript: String { PyTorchComparison.defaultScript }
    /// The configurations `--compare-pytorch` can compare.
    public static var comparable: [BenchConfiguration] { PyTorchComparison.comparable }
}

/// Runs `rnnbook bench`: one JSON line per configuration (gemm: one per product shape), or the
/// lines of a PyTorch comparison or of concurrent copies, and their summaries; or, in the table
/// format, the same figures as tables. Returns how many product shares were probe errors (a
/// share above 1, see `PeakShare`), which the command turns into exit status 1.
@discardableResult
public func runBench(_ o: BenchOptions) throws -> Int {
    if let n = o.blasThreads { setBLASThreadCount(n) }
    if let copies = o.concurrent {
        try ConcurrentCopies(copies: copies, repeats: o.repeats, copyArguments: { c in
            var arguments = ["--config", c.rawValue, "--epochs", "\(o.epochs)", "--seed", "\(o.seed)"]
            if let s = o.sampling { arguments += ["--sampling", s.rawValue] }
            if o.fullCorpus { arguments.append("--full-corpus") }
            if let n = o.blasThreads { arguments += ["--blas-threads", "\(n)"] }
            return arguments
        }, quiet: o.quiet, format: o.format).run(configurations: o.configurations)
        return 0
    }
    if let python = o.comparePytorch {
        let comparison = try PyTorchComparison(python: python, script: o.pytorchScript ?? PyTorchComparison.defaultScript,
                                               torchThreads: o.torchThreads, quiet: o.quiet, format: o.format)
        return try comparison.run(configurations: o.configurations, epochs: o.epochs, seed: o.seed, sampling: o.sampling,
                                  fullCorpus: o.fullCorpus, repeats: o.repeats)
    }
    var probeErrors = 0
    var trainings: [TrainingRun] = []
    for c in o.configurations {
        let output = try c.run(epochs: o.epochs, seed: o.seed, sampling: o.sampling, fullCorpus: o.fullCorpus) { report in
            guard !o.quiet, report.epoch == 1 || report.epoch % 10 == 0 || report.epoch == o.epochs else { return }
            FileHandle.standardError.write(Data(String(
                format: "%@ epoch %d/%d  ppl %.3f  %.0f tokens/s\n",
                c.rawValue, report.epoch, o.epochs, report.perplexity, report.tokensPerSecond).utf8))
        }
        probeErrors += output.probeErrors
        switch (o.format, output) {
        case (.jsonLines, _): print(try output.jsonLines())
        case (.table, .products(let peak, let products)): print(BenchTable.gemm(peak: peak, products: products))
        case (.table, .training(let run)): trainings.append(run)
        }
        fflush(nil)  // nil: every stream (Swift 6 forbids touching the global stdout)
    }
    if !trainings.isEmpty { print(BenchTable.training(trainings), terminator: "") }
    return probeErrors
}
