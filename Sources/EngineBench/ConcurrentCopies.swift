import Engine
import Foundation
import ProcessRunner
import Synchronization

/// `rnnbook bench --concurrent N`: how training shares the machine. Runs one copy of a
/// configuration alone, then N copies at once (each its own process, as N builds or a build and
/// a browser would be), alternating `repeats` times, and reports the aggregate tokens per second
/// of the N copies against the solo rate. Threads that spin while another process needs their
/// core show up here as an aggregate far below the solo rate.
struct ConcurrentCopies {
    let copies: Int
    let repeats: Int
    /// The arguments every copy gets after `bench` (configuration, epochs, seed, threads …).
    let copyArguments: (BenchConfiguration) -> [String]
    let quiet: Bool
    let format: BenchFormat

    func run(configurations: [BenchConfiguration]) throws {
        var summaries: [ConcurrencySummary] = []
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        for c in configurations where c != .gemm {
            var solo: [Double] = [], aggregate: [Double] = [], ratios: [Double] = []
            var perCopy: [[Double]] = []
            let loadStart = PyTorchComparison.loadAverage()
            for r in 1 ... repeats {
                let alone = try launch(executable, c, count: 1)
                let together = try launch(executable, c, count: copies)
                let sum = together.reduce(0) { $0 + $1.tokensPerSecond }
                solo.append(alone[0].tokensPerSecond)
                aggregate.append(sum)
                ratios.append(sum / alone[0].tokensPerSecond)
                perCopy.append(together.map(\.tokensPerSecond))
                if !quiet {
                    FileHandle.standardError.write(Data(String(
                        format: "%@ run %d: alone %.0f tokens/s; %d at once %@ = %.0f (%.2f× alone)\n",
                        c.rawValue, r, alone[0].tokensPerSecond, copies,
                        together.map { String(format: "%.0f", $0.tokensPerSecond) }.joined(separator: " + "),
                        sum, sum / alone[0].tokensPerSecond).utf8))
                }
            }
            var summary = ConcurrencySummary(
                config: c.rawValue, concurrent: copies, repeats: repeats,
                soloTokensPerSecondMedian: median(solo).rounded(), aggregateTokensPerSecondMedian: median(aggregate).rounded(),
                aggregateOverSoloMedian: rounded(median(ratios), places: 3),
                aggregateOverSolo: ratios.map { Figure(wrappedValue: rounded($0, places: 3)) },
                copiesTokensPerSecond: perCopy.map { $0.map { Figure(wrappedValue: $0.rounded()) } },
                blasThreads: blasThreadCount(), kernels: EngineInfo.productKernels,
                loadavgStart: loadStart, loadavgEnd: PyTorchComparison.loadAverage())
            summary.nonFinite = nonFiniteNote(["solo_tokens_per_s_median": summary.soloTokensPerSecondMedian,
                                               "aggregate_tokens_per_s_median": summary.aggregateTokensPerSecondMedian,
                                               "aggregate_over_solo_median": summary.aggregateOverSoloMedian])
            summaries.append(summary)
            if format == .jsonLines { print(try jsonLine(summary)) }
            fflush(nil)
        }
        if format == .table { print(BenchTable.concurrency(summaries), terminator: "") }
    }

    /// Starts `count` copies at once and waits for all of them; each prints one `TrainingRun` line.
    /// (Each copy runs under the one process runner, on a thread of its own that waits for it.)
    private func launch(_ executable: String, _ c: BenchConfiguration, count: Int) throws -> [TrainingRun] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-copies-\(getpid())-\(UInt64.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let arguments = ["bench"] + copyArguments(c) + ["--json"]
        let outcomes = Mutex([Int: Result<Termination, Error>]())
        DispatchQueue.concurrentPerform(iterations: count) { k in
            var copy = Subprocess(executable: executable, arguments: arguments, environment: ProcessInfo.processInfo.environment,
                                  stdoutPath: scratch.appendingPathComponent("\(k).out").path, stderrPath: "/dev/null")
            copy.passStandardError()
            let outcome = Result { try copy.run() }
            outcomes.withLock { $0[k] = outcome }
        }
        return try (0 ..< count).map { k in
            let termination = try outcomes.withLock { $0[k]! }.get()
            let data = (try? Data(contentsOf: scratch.appendingPathComponent("\(k).out"))) ?? Data()
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            guard termination == .exited(0), let run = try? JSONDecoder().decode(TrainingRun.self, from: Data(line.utf8)) else {
                throw BenchError("--concurrent: a copy of \(c.rawValue) \(termination); expected a JSON line with tokens_per_s, found: \(line.isEmpty ? "nothing" : line)")
            }
            return run
        }
    }
}
