import Engine
import Foundation

/// A measured figure in a JSON result line. JSON has no NaN or infinity, so a non-finite value
/// (the perplexity of a training that diverged, a rate over zero seconds) is written as `null`,
/// and the record says which figures those were and what they were in its `non_finite` note.
@propertyWrapper
public struct Figure: Codable, Sendable, Equatable {
    public var wrappedValue: Double
    public init(wrappedValue: Double) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? .nan : try c.decode(Double.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if wrappedValue.isFinite { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

/// The `non_finite` note of a record: each named figure that is NaN or infinite, as text
/// ("nan", "inf", "-inf"); nil when every figure is finite (the key is then left out).
func nonFiniteNote(_ figures: KeyValuePairs<String, Double>) -> [String: String]? {
    var note: [String: String] = [:]
    for (key, value) in figures where !value.isFinite {
        note[key] = value.isNaN ? "nan" : value > 0 ? "inf" : "-inf"
    }
    return note.isEmpty ? nil : note
}

/// Rounds to `places` decimals (the figures the lines print; NaN stays NaN).
func rounded(_ x: Double, places: Int) -> Double {
    let scale = Foundation.pow(10, Double(places))
    return (x * scale).rounded() / scale
}

/// One JSON line: keys sorted (stable for diffs), slashes unescaped, non-finite figures null.
public func jsonLine(_ record: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(record), as: UTF8.self)
}

/// One timed training of a language model: ours (`rnnbook bench`), or PyTorch's reference,
/// whose line has the same figures (decoded from its JSON; it adds `torch` and `threads`).
public struct TrainingRun: Codable, Sendable, Equatable {
    public var config: String
    /// "rnnbook" or "pytorch" in a comparison; nil in a plain bench line.
    public var implementation: String?
    /// The comparison's run number (1, 2, …) and the load average before it.
    public var run: Int?
    public var loadavg: String?
    public var sampling: String
    public var epochs: Int
    public var corpusTokens: Int
    public var tokens: Int
    @Figure public var seconds: Double
    @Figure public var tokensPerSecond: Double
    @Figure public var ppl: Double
    @Figure public var peakRSSMB: Double
    public var seed: UInt64
    public var sample: String
    /// Ours: the engine's threads and kernels.
    public var blasThreads: Int?
    public var blasCore: String?
    public var kernels: String?
    /// PyTorch's: its version and thread count.
    public var torch: String?
    public var threads: Int?
    public var nonFinite: [String: String]?

    enum CodingKeys: String, CodingKey {
        case config, implementation, run, loadavg, sampling, epochs, corpusTokens = "corpus_tokens", tokens, seconds
        case tokensPerSecond = "tokens_per_s", ppl, peakRSSMB = "peak_rss_mb", seed, sample
        case blasThreads = "blas_threads", blasCore = "blas_core", kernels, torch, threads, nonFinite = "non_finite"
    }

    /// Our run's line: rounded as the bench prints it (seconds to ms, tokens/s to whole tokens,
    /// perplexity to 4 places, memory to 0.1 MB).
    public init(config: String, sampling: String, epochs: Int, corpusTokens: Int, tokens: Int, seconds: Double,
                perplexity: Double, peakRSSMB: Double, seed: UInt64, sample: String,
                blasThreads: Int, blasCore: String, kernels: String) {
        self.config = config; self.sampling = sampling; self.epochs = epochs; self.corpusTokens = corpusTokens
        self.tokens = tokens; self.seed = seed; self.sample = sample
        self.seconds = rounded(seconds, places: 3)
        self.tokensPerSecond = (Double(tokens) / seconds).rounded()
        self.ppl = rounded(perplexity, places: 4)
        self.peakRSSMB = rounded(peakRSSMB, places: 1)
        self.blasThreads = blasThreads; self.blasCore = blasCore; self.kernels = kernels
        noteNonFinite()
    }

    /// Fills `non_finite` from the figures.
    mutating func noteNonFinite() {
        nonFinite = nonFiniteNote(["seconds": seconds, "tokens_per_s": tokensPerSecond, "ppl": ppl, "peak_rss_mb": peakRSSMB])
    }
}

/// The FMA peak line of `bench --config gemm`.
public struct FMAPeakRecord: Codable, Sendable {
    public var config = "gemm"
    public var fmaPeak: String
    @Figure public var peakGFLOPS1Thread: Double
    @Figure public var peakGFLOPS: Double
    public var threads: Int
    public var kernels: String
    /// The clock /proc/cpuinfo reports, and what two FMA pipes of this width would do at it on
    /// one thread (lanes × 2 FLOPs × 2 pipes × clock): a reference printed beside the measured
    /// peak, not used in the shares (a virtual machine reports its base clock; cores run faster).
    public var cpuMHz: Double?
    public var nominalGFLOPS1Thread: Double?
    public var nonFinite: [String: String]?

    enum CodingKeys: String, CodingKey {
        case config, fmaPeak = "fma_peak", peakGFLOPS1Thread = "peak_gflops_1_thread", peakGFLOPS = "peak_gflops", threads, kernels
        case cpuMHz = "cpu_mhz", nominalGFLOPS1Thread = "nominal_gflops_1_thread", nonFinite = "non_finite"
    }
}

/// One product shape's line of `bench --config gemm`.
public struct ProductRecord: Codable, Sendable {
    public var config = "gemm"
    public var shape: String
    /// What the product is in the RNN, in words.
    public var role: String
    public var repetitions: Int
    @Figure public var engineGFLOPS: Double
    @Figure public var blasPathGFLOPS: Double
    @Figure public var openBLASThreadedGFLOPS: Double
    @Figure public var engineVsBLASPath: Double
    /// The engine's GFLOP/s on `threads` threads over the `threads`-thread FMA peak measured in
    /// the same run; nil when no peak was measured or when the ratio is above 1 (`probeError`).
    public var engineShareOfPeak: Double?
    /// The same for the engine's fastest product: the peak is the best window of its bursts, so
    /// this is the like-for-like share, which swings far less than the median's when other work
    /// slows the machine down for a while (the median's share on one thread went from 0.63 to
    /// 0.94 between two runs minutes apart).
    public var engineFastestShareOfPeak: Double? = nil
    /// Set instead of a share when the engine ran faster than the peak: the peak probe or a FLOP
    /// count is wrong, and says by how much.
    public var probeError: String?
    public var threads: Int
    public var kernels: String
    public var blasCore: String
    public var nonFinite: [String: String]?

    enum CodingKeys: String, CodingKey {
        case config, shape, role, repetitions, engineGFLOPS = "engine_gflops", blasPathGFLOPS = "blas_path_gflops"
        case openBLASThreadedGFLOPS = "openblas_threaded_gflops", engineVsBLASPath = "engine_vs_blas_path"
        case engineShareOfPeak = "engine_share_of_peak", engineFastestShareOfPeak = "engine_fastest_share_of_peak", probeError = "probe_error", threads, kernels, blasCore = "blas_core"
        case nonFinite = "non_finite"
    }

    /// Fills the shares of the median and of the fastest product (`fastestGFLOPS`), or the probe
    /// error when either rate is above the peak's (then neither share is given).
    mutating func setShare(peakGFLOPS: Double?, fastestGFLOPS: Double? = nil) {
        engineShareOfPeak = nil; engineFastestShareOfPeak = nil; probeError = nil
        let median = PeakShare(engineGFLOPS: engineGFLOPS, peakGFLOPS: peakGFLOPS)
        let fastest = fastestGFLOPS.map { PeakShare(engineGFLOPS: $0, peakGFLOPS: peakGFLOPS) } ?? .unmeasured
        for (what, rate, share) in [("engine", engineGFLOPS, median), ("the engine's fastest product", fastestGFLOPS ?? .nan, fastest)] {
            if case .probeError(let ratio) = share {
                probeError = what + String(format: " %.1f GFLOP/s is %.3f× the %d-thread FMA peak %.1f measured in this run: the peak probe or the FLOP count is wrong",
                                           rate, ratio, threads, peakGFLOPS ?? .nan)
                return
            }
        }
        if case .share(let s) = median { engineShareOfPeak = rounded(s, places: 3) }
        if case .share(let s) = fastest { engineFastestShareOfPeak = rounded(s, places: 3) }
    }
}

/// The summary line of `bench --compare-pytorch`: medians over the alternating runs.
public struct ComparisonSummary: Codable, Sendable {
    public var config: String
    public var comparison = "rnnbook/pytorch"
    public var sampling: String
    public var epochs: Int
    public var repeats: Int
    public var seed: UInt64
    @Figure public var rnnbookTokensPerSecondMedian: Double
    @Figure public var pytorchTokensPerSecondMedian: Double
    @Figure public var ratio: Double
    public var pairRatios: [Figure]
    @Figure public var rnnbookSecondsMedian: Double
    @Figure public var pytorchSecondsMedian: Double
    @Figure public var rnnbookPPLMedian: Double
    @Figure public var pytorchPPLMedian: Double
    /// Ours runs in this process, so its figure is the high-water mark of all runs so far.
    @Figure public var rnnbookPeakRSSMB: Double
    @Figure public var pytorchPeakRSSMB: Double
    public var torch: String
    public var torchThreads: Int
    public var blasThreads: Int
    public var blasCore: String
    public var kernels: String
    public var loadavgStart: String
    public var loadavgEnd: String
    public var nonFinite: [String: String]?

    enum CodingKeys: String, CodingKey {
        case config, comparison, sampling, epochs, repeats, seed
        case rnnbookTokensPerSecondMedian = "rnnbook_tokens_per_s_median", pytorchTokensPerSecondMedian = "pytorch_tokens_per_s_median"
        case ratio, pairRatios = "pair_ratios", rnnbookSecondsMedian = "rnnbook_seconds_median", pytorchSecondsMedian = "pytorch_seconds_median"
        case rnnbookPPLMedian = "rnnbook_ppl_median", pytorchPPLMedian = "pytorch_ppl_median"
        case rnnbookPeakRSSMB = "rnnbook_peak_rss_mb", pytorchPeakRSSMB = "pytorch_peak_rss_mb"
        case torch, torchThreads = "torch_threads", blasThreads = "blas_threads", blasCore = "blas_core", kernels
        case loadavgStart = "loadavg_start", loadavgEnd = "loadavg_end", nonFinite = "non_finite"
    }
}

/// The summary line of `bench --concurrent N`.
public struct ConcurrencySummary: Codable, Sendable {
    public var config: String
    public var concurrent: Int
    public var repeats: Int
    @Figure public var soloTokensPerSecondMedian: Double
    @Figure public var aggregateTokensPerSecondMedian: Double
    @Figure public var aggregateOverSoloMedian: Double
    public var aggregateOverSolo: [Figure]
    public var copiesTokensPerSecond: [[Figure]]
    public var blasThreads: Int
    public var kernels: String
    public var loadavgStart: String
    public var loadavgEnd: String
    public var nonFinite: [String: String]?

    enum CodingKeys: String, CodingKey {
        case config, concurrent, repeats, soloTokensPerSecondMedian = "solo_tokens_per_s_median"
        case aggregateTokensPerSecondMedian = "aggregate_tokens_per_s_median", aggregateOverSoloMedian = "aggregate_over_solo_median"
        case aggregateOverSolo = "aggregate_over_solo", copiesTokensPerSecond = "copies_tokens_per_s"
        case blasThreads = "blas_threads", kernels, loadavgStart = "loadavg_start", loadavgEnd = "loadavg_end", nonFinite = "non_finite"
    }
}
