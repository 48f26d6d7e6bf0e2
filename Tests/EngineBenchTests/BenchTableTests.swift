import Engine
import Foundation
import Testing
@testable import EngineBench

/// The two ways `bench` prints: tables for a terminal, JSON lines for scripts; and the share
/// rule in both (a share above 1 is a probe error, never a number).
@Suite("bench: tables on a terminal, JSON lines otherwise")
struct BenchTableTests {
    static let peak = FMAPeakRecord(fmaPeak: "AVX2 (8 lanes)", peakGFLOPS1Thread: 103.7, peakGFLOPS: 190.2, threads: 2,
                                    kernels: "AVX2 kernels", cpuMHz: 2445, nominalGFLOPS1Thread: 78.2, nonFinite: nil)

    static func product(_ shape: String, role: String, engine: Double, peak: Double?, fastest: Double? = nil) -> ProductRecord {
        var r = ProductRecord(shape: shape, role: role, repetitions: 100, engineGFLOPS: engine, blasPathGFLOPS: 61,
                              openBLASThreadedGFLOPS: 40.5, engineVsBLASPath: 1.08, engineShareOfPeak: nil, probeError: nil,
                              threads: 2, kernels: "AVX2 kernels", blasCore: "Zen", nonFinite: nil)
        r.setShare(peakGFLOPS: peak, fastestGFLOPS: fastest)
        return r
    }

    static func object(_ line: Substring) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }

    @Test func theFormatIsATableOnlyOnATerminalWithoutJSON() {
        #expect(BenchFormat.choose(json: false, standardOutputIsTerminal: true) == .table)
        #expect(BenchFormat.choose(json: true, standardOutputIsTerminal: true) == .jsonLines)
        #expect(BenchFormat.choose(json: false, standardOutputIsTerminal: false) == .jsonLines)
        #expect(BenchFormat.choose(json: true, standardOutputIsTerminal: false) == .jsonLines)
    }

    /// The reported case (engine 353.6 GFLOP/s against a 2-thread peak of 314.9): the JSON line has
    /// no share, a `probe_error` that says why, and the share key is null rather than 1.123.
    @Test func aShareAboveOneIsAProbeErrorInJSON() throws {
        let bad = Self.product("32x512x512", role: "step forward", engine: 353.6, peak: 314.9)
        let json = try Self.object(Substring(try jsonLine(bad)))
        #expect(json["engine_share_of_peak"] == nil)
        let error = try #require(json["probe_error"] as? String)
        #expect(error.contains("1.123×") && error.contains("2-thread FMA peak 314.9") && error.contains("peak probe"), "\(error)")
        let good = Self.product("32x512x512", role: "step forward", engine: 78.3, peak: 190.2)
        let goodJSON = try Self.object(Substring(try jsonLine(good)))
        #expect(abs(((goodJSON["engine_share_of_peak"] as? NSNumber)?.doubleValue ?? 0) - 0.412) < 1e-12)
        #expect(goodJSON["probe_error"] == nil)
        #expect(goodJSON["role"] as? String == "step forward")
    }

    /// The fastest product's share sits beside the median's, and the fastest product above the
    /// peak is a probe error too, even when the median is below it.
    @Test func theFastestProductHasAShareAndCanBeAProbeError() throws {
        let good = try Self.object(Substring(try jsonLine(Self.product("32x512x512P", role: "step", engine: 120, peak: 200, fastest: 180))))
        #expect(abs(((good["engine_share_of_peak"] as? NSNumber)?.doubleValue ?? 0) - 0.6) < 1e-12)
        #expect(abs(((good["engine_fastest_share_of_peak"] as? NSNumber)?.doubleValue ?? 0) - 0.9) < 1e-12)
        #expect(good["probe_error"] == nil)
        let bad = try Self.object(Substring(try jsonLine(Self.product("32x512x512P", role: "step", engine: 120, peak: 200, fastest: 210))))
        #expect(bad["engine_share_of_peak"] == nil && bad["engine_fastest_share_of_peak"] == nil)
        let error = try #require(bad["probe_error"] as? String)
        #expect(error.contains("fastest product 210.0 GFLOP/s is 1.050× the 2-thread FMA peak 200.0"), "\(error)")
        let table = BenchTable.gemm(peak: Self.peak, products: [Self.product("32x512x512P", role: "step", engine: 95.1, peak: 190.2, fastest: 171.2)])
        #expect(table.contains("fastest's share") && table.contains(" 0.50  ") && table.contains(" 0.90  "), "\(table)")
    }

    @Test func theGemmJSONLinesArePeakThenOnePerShape() throws {
        let output = BenchConfiguration.Output.products(peak: Self.peak, products: [
            Self.product("32x512x512", role: "a", engine: 78.3, peak: 190.2),
            Self.product("32x512x512T", role: "b", engine: 400, peak: 190.2),
        ])
        #expect(output.probeErrors == 1)
        let lines = try output.jsonLines().split(separator: "\n")
        #expect(lines.count == 3)
        let peak = try Self.object(lines[0])
        #expect((peak["peak_gflops"] as? NSNumber)?.doubleValue == 190.2)
        #expect((peak["cpu_mhz"] as? NSNumber)?.doubleValue == 2445)
        #expect(try Self.object(lines[2])["probe_error"] is String)
    }

    /// The gemm table: columns aligned (every row's cells start where the header's do), the
    /// suffixes explained, the share printed as a share, and a share above 1 as PROBE ERROR with
    /// its reason below — never as the number.
    @Test func theGemmTableIsAlignedExplainedAndNeverShowsAShareAboveOne() {
        let products = [
            Self.product("32x512x512", role: "step forward, W_hh as stored (scratch model)", engine: 78.3, peak: 190.2),
            Self.product("512x1120x512tA", role: "weight gradient", engine: 37, peak: 190.2),
            Self.product("32x512x512T", role: "step backward", engine: 353.6, peak: 190.2),
        ]
        let table = BenchTable.gemm(peak: Self.peak, products: products)
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "FMA peak, AVX2 (8 lanes) on AVX2 kernels: 103.7 GFLOP/s on 1 thread, 190.2 on 2 threads at once")
        guard let h = lines.firstIndex(where: { $0.hasPrefix("shape") }) else { Issue.record("no header: \(table)"); return }
        let header = lines[h]
        let rows = Array(lines[(h + 1) ... (h + 3)])
        // Right-aligned numeric columns: each row's engine figure ends where the header's title ends.
        let engineEnd = header.range(of: "engine GFLOP/s")!.upperBound.utf16Offset(in: header)
        for (row, figure) in zip(rows, ["78.3", "37.0", "353.6"]) {
            let end = row.range(of: " " + figure + " ")!.upperBound.utf16Offset(in: row) - 1
            #expect(end == engineEnd, "\(row)")
        }
        // The product column starts at the same place in every row.
        let productStart = header.range(of: "product")!.lowerBound.utf16Offset(in: header)
        for (row, role) in zip(rows, ["step forward", "weight gradient", "step backward"]) {
            #expect(row.range(of: role)!.lowerBound.utf16Offset(in: row) == productStart, "\(row)")
        }
        #expect(rows[0].contains(" 0.41 "))
        #expect(rows[2].contains("PROBE ERROR") && !rows[2].contains("1.86"), "\(rows[2])")
        #expect(table.contains("PROBE ERROR 32x512x512T: engine 353.6 GFLOP/s is 1.859× the 2-thread FMA peak 190.2"))
        #expect(table.contains("tA = A stored transposed") && table.contains("T = B stored transposed")
                && table.contains("P = B packed once"), "\(table)")
        #expect(!lines.contains { $0.hasSuffix(" ") }, "no trailing spaces")
    }

    @Test func theGemmTableWithoutAPeakSaysSo() {
        let table = BenchTable.gemm(peak: nil, products: [Self.product("512x512x512", role: "square reference", engine: 48, peak: nil)])
        #expect(table.hasPrefix("FMA peak: not measured"))
        #expect(table.contains("square reference") && !table.contains("PROBE ERROR"))
    }

    @Test func theTrainingTableHasOneAlignedRowPerConfigurationAndTheSamples() {
        var slow = BenchRecordTests.training(perplexity: 1.234_567)
        slow.config = "zh-scratch"
        let fast = BenchRecordTests.training(perplexity: 12.5, seconds: 0.5)
        let table = BenchTable.training([slow, fast])
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(table)")
        let end = lines[0].range(of: "tokens/s")!.upperBound.utf16Offset(in: lines[0])
        for (row, figure) in zip(lines[1 ... 2], ["14500", "58000"]) {
            #expect(row.range(of: " " + figure)!.upperBound.utf16Offset(in: row) == end, "\(row)")
        }
        #expect(lines[1].hasPrefix("zh-scratch ") && lines[1].contains("1.2346"))
        #expect(lines[3] == "zh-scratch sample: time traveller the")
    }

    @Test func theComparisonTableShowsEveryRunAndTheMedians() {
        var ours = BenchRecordTests.training(perplexity: 9.5)
        ours.implementation = "rnnbook"; ours.run = 1; ours.loadavg = "1.00 0.50 0.20"
        var theirs = ours
        theirs.implementation = "pytorch"; theirs.tokensPerSecond = 7_250
        let summary = ComparisonSummary(
            config: "zh-fused", sampling: "random", epochs: 3, repeats: 1, seed: 0, rnnbookTokensPerSecondMedian: 14_500,
            pytorchTokensPerSecondMedian: 7_250, ratio: 2, pairRatios: [Figure(wrappedValue: 2)], rnnbookSecondsMedian: 2,
            pytorchSecondsMedian: 4, rnnbookPPLMedian: 9.5, pytorchPPLMedian: 9.6, rnnbookPeakRSSMB: 80, pytorchPeakRSSMB: 300,
            torch: "2.15.0", torchThreads: 2, blasThreads: 2, blasCore: "Zen", kernels: "AVX2 kernels",
            loadavgStart: "1.00", loadavgEnd: "1.10")
        let table = BenchTable.comparison(runs: [ours, theirs], summaries: [summary])
        #expect(table.contains("rnnbook vs PyTorch 2.15.0 (2 threads), 3 epochs, median of 1 alternating runs"), "\(table)")
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("zh-fused") }.count == 3)
        #expect(lines.contains { $0.hasPrefix("zh-fused") && $0.contains("2.00×") && $0.contains("1.00 → 1.10") })
        // Without runs (the stderr summary beside JSON lines) only the medians.
        #expect(!BenchTable.comparison(runs: [], summaries: [summary]).contains("implementation"))
    }
}
