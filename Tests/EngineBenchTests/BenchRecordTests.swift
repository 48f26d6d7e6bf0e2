import Foundation
import Testing
@testable import EngineBench

@Suite("bench: result lines are JSON, whatever the figures")
struct BenchRecordTests {
    static func training(perplexity: Double, seconds: Double = 2) -> TrainingRun {
        TrainingRun(config: "zh-fused", sampling: "random", epochs: 3, corpusTokens: 10_000, tokens: 29_000, seconds: seconds,
                    perplexity: perplexity, peakRSSMB: 80.25, seed: 0, sample: "time traveller the",
                    blasThreads: 2, blasCore: "Zen", kernels: "AVX2 + FMA kernels")
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }

    /// A diverged training's NaN perplexity: the hand-built line printed `"ppl": nan`, which no
    /// JSON reader accepts (and the `--concurrent` and `--compare-pytorch` readers then failed).
    @Test func aNaNPerplexityIsNullWithANote() throws {
        let line = try jsonLine(Self.training(perplexity: .nan))
        let json = try Self.object(line)
        #expect(json["ppl"] is NSNull, "\(line)")
        #expect(json["non_finite"] as? [String: String] == ["ppl": "nan"], "\(line)")
        #expect((json["tokens_per_s"] as? NSNumber)?.doubleValue == 14_500)
        #expect(json["config"] as? String == "zh-fused")
        // It reads back, with the NaN restored.
        let back = try JSONDecoder().decode(TrainingRun.self, from: Data(line.utf8))
        #expect(back.ppl.isNaN)
        #expect(back.tokens == 29_000)
    }

    @Test(arguments: [(Double.infinity, "inf"), (-Double.infinity, "-inf")])
    func infiniteFiguresAreNullWithTheirSign(value: Double, text: String) throws {
        let json = try Self.object(try jsonLine(Self.training(perplexity: value)))
        #expect(json["ppl"] is NSNull)
        #expect(json["non_finite"] as? [String: String] == ["ppl": text])
    }

    @Test func finiteFiguresAreRoundedNumbersAndNoNote() throws {
        let line = try jsonLine(Self.training(perplexity: 1.234_567))
        let json = try Self.object(line)
        #expect(abs(((json["ppl"] as? NSNumber)?.doubleValue ?? 0) - 1.2346) < 1e-12)
        #expect(abs(((json["peak_rss_mb"] as? NSNumber)?.doubleValue ?? 0) - 80.3) < 1e-12)
        #expect(json["non_finite"] == nil, "\(line)")
        #expect(json["implementation"] == nil)
    }

    /// The PyTorch reference's line (as its script prints it) decodes into the same record.
    @Test func theReferencesLineDecodes() throws {
        let line = #"{"config": "zh-scratch", "implementation": "pytorch", "sampling": "random", "epochs": 2, "corpus_tokens": 10000, "tokens": 19600, "seconds": 0.5, "tokens_per_s": 39200, "ppl": 17.1234, "peak_rss_mb": 300.1, "seed": 0, "torch": "2.15.0", "threads": 2, "sample": "time traveller"}"#
        let run = try JSONDecoder().decode(TrainingRun.self, from: Data(line.utf8))
        #expect(run.tokensPerSecond == 39_200 && run.torch == "2.15.0" && run.threads == 2)
        #expect(abs(run.ppl - 17.1234) < 1e-12)
    }
}
