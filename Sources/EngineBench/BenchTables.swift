import Foundation

/// How `rnnbook bench` prints its results: a table for a person at a terminal, JSON lines for a
/// script (with `--json`, or whenever standard output is not a terminal, so pipes and files get
/// the lines they always got).
public enum BenchFormat: Sendable, Equatable {
    case table
    case jsonLines

    public static func choose(json: Bool, standardOutputIsTerminal: Bool) -> BenchFormat {
        json || !standardOutputIsTerminal ? .jsonLines : .table
    }
}

/// Text tables of the bench's records. Every function returns the whole text (ending in a
/// newline), so the tests read exactly what a terminal shows.
public enum BenchTable {
    /// Rows under a header, each column as wide as its widest cell plus two spaces; the columns
    /// in `rightAligned` (numbers) are aligned right, the others left. Trailing spaces are cut.
    static func aligned(_ header: [String], _ rows: [[String]], rightAligned: Set<Int>) -> String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return all.map { row in
            header.indices.map { c -> String in
                let cell = c < row.count ? row[c] : ""
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }

    static func number(_ x: Double, _ places: Int) -> String {
        x.isFinite ? String(format: "%.\(places)f", x) : "—"
    }

    /// A share cell: the share, "—" when no peak was measured, and never a bare number for a
    /// ratio above 1.
    static func shareCell(_ record: ProductRecord, fastest: Bool = false) -> String {
        if record.probeError != nil { return "PROBE ERROR" }
        return (fastest ? record.engineFastestShareOfPeak : record.engineShareOfPeak).map { String(format: "%.2f", $0) } ?? "—"
    }

    /// What the shape suffixes mean (`ProductShape.description`).
    public static let shapeLegend = """
        shape m×k×n: C[m×n] = A[m×k]·B[k×n], 2·m·k·n FLOPs; suffixes: tA = A stored transposed (C = Aᵀ·B), \
        T = B stored transposed (C = A·Bᵀ), P = B packed once before the products (as the fused model packs W_hh per sequence)
        """

    /// `bench --config gemm`: the FMA peak, then one row per product shape and the legend.
    public static func gemm(peak: FMAPeakRecord?, products: [ProductRecord]) -> String {
        var out = ""
        let threads = products.first?.threads ?? peak?.threads ?? 1
        if let p = peak {
            out += "FMA peak, \(p.fmaPeak) on \(p.kernels): \(number(p.peakGFLOPS1Thread, 1)) GFLOP/s on 1 thread, "
                + "\(number(p.peakGFLOPS, 1)) on \(p.threads) thread\(p.threads == 1 ? "" : "s") at once\n"
            if let mhz = p.cpuMHz, let nominal = p.nominalGFLOPS1Thread {
                out += "  for reference: 2 FMA pipes at the \(Int(mhz)) MHz /proc/cpuinfo reports would give \(number(nominal, 1)) on 1 thread\n"
            }
        } else {
            out += "FMA peak: not measured (this CPU runs neither kernel module); no shares\n"
        }
        out += "\n"
        let header = ["shape", "product", "engine GFLOP/s", "share of \(threads)-thread peak", "fastest's share", "BLAS path GFLOP/s",
                      "OpenBLAS threaded", "engine/BLAS path"]
        let rows = products.map { r in
            [r.shape, r.role, number(r.engineGFLOPS, 1), shareCell(r), shareCell(r, fastest: true), number(r.blasPathGFLOPS, 1),
             number(r.openBLASThreadedGFLOPS, 1), number(r.engineVsBLASPath, 2) + "×"]
        }
        out += aligned(header, rows, rightAligned: [2, 3, 4, 5, 6, 7])
        out += "\n" + shapeLegend + "\n"
        out += "Each figure is the median of \(products.first?.repetitions ?? 0) products on \(threads) thread\(threads == 1 ? "" : "s"); "
            + "the share is the engine's GFLOP/s over the \(threads)-thread peak measured above, and the fastest's share that of "
            + "its fastest product (the peak is the best window of its bursts, so this one compares like with like; "
            + "the median's share drops when other work slows the machine for a while).\n"
        for r in products { if let e = r.probeError { out += "PROBE ERROR \(r.shape): \(e)\n" } }
        return out
    }

    /// Plain training configurations: one row each, then each one's sample.
    public static func training(_ runs: [TrainingRun]) -> String {
        let header = ["config", "sampling", "epochs", "tokens/s", "seconds", "perplexity", "peak RSS MB", "threads", "kernels"]
        let rows = runs.map { r in
            [r.config, r.sampling, "\(r.epochs)", number(r.tokensPerSecond, 0), number(r.seconds, 3), number(r.ppl, 4),
             number(r.peakRSSMB, 1), r.blasThreads.map { "\($0)" } ?? "—", r.kernels ?? "—"]
        }
        var out = aligned(header, rows, rightAligned: [2, 3, 4, 5, 6, 7])
        for r in runs { out += "\(r.config) sample: \(r.sample)\n" }
        return out
    }

    /// `--compare-pytorch`: every run, then the medians.
    public static func comparison(runs: [TrainingRun], summaries: [ComparisonSummary]) -> String {
        let runRows = runs.map { r in
            [r.config, r.run.map { "\($0)" } ?? "—", r.implementation ?? "—", number(r.tokensPerSecond, 0), number(r.seconds, 3),
             number(r.ppl, 4), r.loadavg ?? "—"]
        }
        var out = runs.isEmpty ? "" : aligned(["config", "run", "implementation", "tokens/s", "seconds", "perplexity", "load avg"],
                                              runRows, rightAligned: [1, 3, 4, 5]) + "\n"
        guard let first = summaries.first else { return out }
        out += "rnnbook vs PyTorch \(first.torch) (\(first.torchThreads) threads), \(first.epochs) epochs, median of "
            + "\(first.repeats) alternating runs; rnnbook \(first.blasThreads) threads, \(first.kernels)\n"
        let rows = summaries.map { s in
            [s.config, number(s.rnnbookTokensPerSecondMedian, 0), number(s.pytorchTokensPerSecondMedian, 0),
             number(s.ratio, 2) + "×", s.pairRatios.map { number($0.wrappedValue, 2) }.joined(separator: " "),
             number(s.rnnbookPPLMedian, 4), number(s.pytorchPPLMedian, 4), "\(s.loadavgStart) → \(s.loadavgEnd)"]
        }
        out += aligned(["config", "rnnbook tok/s", "pytorch tok/s", "ratio", "pair ratios", "rnnbook ppl", "pytorch ppl", "load avg"],
                       rows, rightAligned: [1, 2, 3, 5, 6])
        return out
    }

    /// `--concurrent N`: the solo rate against N copies at once.
    public static func concurrency(_ summaries: [ConcurrencySummary]) -> String {
        let rows = summaries.map { s in
            [s.config, "\(s.concurrent)", "\(s.repeats)", number(s.soloTokensPerSecondMedian, 0),
             number(s.aggregateTokensPerSecondMedian, 0), number(s.aggregateOverSoloMedian, 2) + "×",
             "\(s.loadavgStart) → \(s.loadavgEnd)"]
        }
        return aligned(["config", "copies", "runs", "alone tok/s", "together tok/s", "together/alone", "load avg"], rows,
                       rightAligned: [1, 2, 3, 4, 5])
    }
}
