import ArgumentParser
import Engine
import EngineBench
import Foundation

/// `rnnbook bench`: parses the flags and runs `EngineBench.runBench`, which trains named
/// language-model configurations (or times the products) and prints a table on a terminal,
/// JSON lines otherwise.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the character language models on The Time Machine, or the engine's matrix products (gemm).",
        discussion: """
        Configurations: \(BenchConfiguration.allCases.map(\.rawValue).joined(separator: ", ")).
        Output: a table when standard output is a terminal; JSON lines (one per configuration, per gemm shape, per \
        comparison run and summary) with --json or when it is not (a pipe, a file).
        The text is read from $RNNBOOK_DATA/timemachine.txt (or the cache, or downloaded), checked by its SHA-1.
        A figure JSON cannot hold (NaN, infinity) is written as null and named in the line's "non_finite".
        gemm: the FMA peak on 1 and on T threads, timed in short bursts as the products are; each product's share \
        is its GFLOP/s on T threads over the T-thread peak. Shape m×k×n: C[m×n] = A[m×k]·B[k×n]; tA: A stored \
        transposed (Aᵀ·B); T: B stored transposed (A·Bᵀ); P: B packed once (as W_hh per sequence). A share above 1 \
        cannot be: it is reported as a probe error ("probe_error" in JSON) and the command exits with status 1.
        """)

    @Option(name: .long, help: "Configuration to run; repeat for several.")
    var config: [BenchConfiguration] = [.zhFused]

    @Option(name: .long, help: "Epochs to train (500 is the reference run; for gemm, repetitions ×10).")
    var epochs: Int = 500

    @Option(name: .long, help: "Seed for initialisation and minibatch order.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Print JSON lines even on a terminal, and no progress on stderr.")
    var json = false

    @Option(name: .long, help: "Minibatch sampling for the zh configurations: random (the reference benchmark) or sequential.")
    var sampling: BenchSampling?

    @Flag(name: .long, help: "zh configurations: train on the whole corpus (170,580 tokens) instead of the reference's first 10,000.")
    var fullCorpus = false

    @Option(name: .long, help: ArgumentHelp(
        "Also time PyTorch's from-scratch eager reference with this python (which must import torch), for zh-scratch and zh-fused.",
        valueName: "python"))
    var comparePytorch: String?

    @Option(name: .customLong("repeat"), help: "With --compare-pytorch or --concurrent: alternating runs per configuration (medians are reported).")
    var repeatCount = 3

    @Option(name: .long, help: "With --compare-pytorch: the reference script (default: Sources/EngineBench/Reference/pytorch_rnn_scratch.py).")
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
        if let s = sampling, config.contains(where: { $0.rawValue.hasPrefix("en") }) {
            throw ValidationError("--sampling \(s.rawValue): only for the zh configurations (the en ones sample as d2l's English edition does)")
        }
        if let n = blasThreads, n <= 0 { throw ValidationError("--blas-threads must be positive, got \(n)") }
        guard repeatCount > 0 else { throw ValidationError("--repeat must be positive, got \(repeatCount)") }
        guard torchThreads > 0 else { throw ValidationError("--torch-threads must be positive, got \(torchThreads)") }
        if let n = concurrent {
            guard n >= 2 else { throw ValidationError("--concurrent must be at least 2, got \(n)") }
            guard comparePytorch == nil else { throw ValidationError("--concurrent and --compare-pytorch measure different things; give one") }
            guard config.contains(where: { $0 != .gemm }) else { throw ValidationError("--concurrent trains language models; the configurations given were only gemm") }
        }
        if comparePytorch != nil, !config.contains(where: { BenchOptions.comparable.contains($0) }) {
            throw ValidationError("--compare-pytorch compares zh-scratch and zh-fused; the configurations given were \(config.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        var options = BenchOptions()
        options.configurations = config
        options.epochs = epochs
        options.seed = seed
        options.quiet = json
        options.format = BenchFormat.choose(json: json, standardOutputIsTerminal: isatty(STDOUT_FILENO) == 1)
        options.sampling = sampling?.engine
        options.fullCorpus = fullCorpus
        options.comparePytorch = comparePytorch
        options.repeats = repeatCount
        options.pytorchScript = pytorchScript
        options.torchThreads = torchThreads
        options.concurrent = concurrent
        options.blasThreads = blasThreads
        let probeErrors = try runBench(options)
        // Exit 1 (a finding, after every figure is printed): a share above 1 means the report's
        // peak or FLOP count is wrong, and a script that only looks at the status must not take
        // the run as a good measurement.
        if probeErrors > 0 {
            FileHandle.standardError.write(Data("error: \(probeErrors) product share\(probeErrors == 1 ? "" : "s") above the FMA peak measured in this run (probe error): the peak probe or a FLOP count is wrong\n".utf8))
            throw ExitCode(1)
        }
    }
}

extension BenchConfiguration: ExpressibleByArgument {}
/// The samplings `bench --sampling` offers, spelt as command-line values.
enum BenchSampling: String, ExpressibleByArgument, CaseIterable {
    case random, sequential
    var engine: SequenceSampling { self == .random ? .random : .sequential }
}
