import BookData
import Engine
import Foundation
import ProcessRunner

/// `rnnbook bench --compare-pytorch PYTHON`: times our model and PyTorch's from-scratch eager
/// reference (Reference/pytorch_rnn_scratch.py) in one run on the same machine, alternating
/// ours/theirs so that a change in the machine's load hits both, and reports medians and the
/// ratio of tokens per second (ours / PyTorch).
struct PyTorchComparison {
    /// The configurations the reference implements (the same model; zh-fused is our fast layer).
    static let comparable: [BenchConfiguration] = [.zhScratch, .zhFused]

    /// The reference script in the source tree (it is not a resource: only the bench runs it).
    static var defaultScript: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Reference/pytorch_rnn_scratch.py").path
    }

    let python: String
    let script: String
    let torchThreads: Int
    let quiet: Bool
    let format: BenchFormat
    let torchVersion: String

    /// Checks that the script exists and that `python` imports torch.
    init(python: String, script: String, torchThreads: Int, quiet: Bool,
         format: BenchFormat = .jsonLines) throws {
        self.python = python; self.script = script; self.torchThreads = torchThreads; self.quiet = quiet; self.format = format
        guard FileManager.default.fileExists(atPath: script) else {
            throw BenchError("--compare-pytorch: expected the reference script at \(script), found no such file; pass --pytorch-script PATH")
        }
        let probe = try Self.runPython(python, ["-c", "import torch; print(torch.__version__)"], passStandardError: false)
        guard probe.status == 0 else {
            let found = probe.status == 127 ? "no such program"
                : "exit status \(probe.status): " + (probe.standardError.split(separator: "\n").last.map(String.init) ?? "")
            throw BenchError("""
                --compare-pytorch \(python): expected a python that can `import torch`, found \(found).
                Install torch into a virtual environment outside the repository, e.g.
                  python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch==2.15.0 numpy
                and pass --compare-pytorch /work/torch-venv/bin/python
                """)
        }
        torchVersion = probe.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func run(configurations: [BenchConfiguration], epochs: Int, seed: UInt64, sampling: SequenceSampling?,
             fullCorpus: Bool, repeats: Int) throws -> Int {
        var summaries: [ComparisonSummary] = []
        var runs: [TrainingRun] = [], others: [TrainingRun] = []
        var probeErrors = 0
        for c in configurations {
            guard Self.comparable.contains(c) else {
                // Not comparable: run it once as a plain bench would.
                let output = try c.run(epochs: epochs, seed: seed, sampling: sampling, fullCorpus: fullCorpus,
                                       progress: progress(for: c.rawValue, epochs: epochs))
                probeErrors += output.probeErrors
                switch (format, output) {
                case (.jsonLines, _): print(try output.jsonLines())
                case (.table, .products(let peak, let products)): print(BenchTable.gemm(peak: peak, products: products))
                case (.table, .training(let run)): others.append(run)
                }
                continue
            }
            let samplingName = (sampling ?? .random).rawValue
            let loadStart = Self.loadAverage()
            var ours: [TrainingRun] = [], theirs: [TrainingRun] = []
            for r in 1 ... repeats {
                let load = Self.loadAverage()
                guard case .training(var mine) = try c.run(epochs: epochs, seed: seed, sampling: sampling, fullCorpus: fullCorpus,
                                                           progress: progress(for: c.rawValue, epochs: epochs)) else { continue }
                mine.implementation = "rnnbook"; mine.run = r; mine.loadavg = load
                ours.append(mine)
                runs.append(mine)
                if format == .jsonLines { print(try jsonLine(mine)) }
                let loadTheirs = Self.loadAverage()
                var reference = try runReference(config: c, epochs: epochs, seed: seed, sampling: samplingName, fullCorpus: fullCorpus)
                reference.implementation = "pytorch"; reference.run = r; reference.loadavg = loadTheirs
                theirs.append(reference)
                runs.append(reference)
                if format == .jsonLines { print(try jsonLine(reference)) }
                fflush(nil)  // nil: every stream (Swift 6 forbids touching the global stdout)
            }
            let oursRate = median(ours.map(\.tokensPerSecond)), theirRate = median(theirs.map(\.tokensPerSecond))
            var summary = ComparisonSummary(
                config: c.rawValue, sampling: samplingName, epochs: epochs, repeats: repeats, seed: seed,
                rnnbookTokensPerSecondMedian: oursRate.rounded(), pytorchTokensPerSecondMedian: theirRate.rounded(),
                ratio: rounded(oursRate / theirRate, places: 4),
                pairRatios: zip(ours, theirs).map { Figure(wrappedValue: rounded($0.tokensPerSecond / $1.tokensPerSecond, places: 4)) },
                rnnbookSecondsMedian: rounded(median(ours.map(\.seconds)), places: 4),
                pytorchSecondsMedian: rounded(median(theirs.map(\.seconds)), places: 4),
                rnnbookPPLMedian: rounded(median(ours.map(\.ppl)), places: 4),
                pytorchPPLMedian: rounded(median(theirs.map(\.ppl)), places: 4),
                rnnbookPeakRSSMB: ours.map(\.peakRSSMB).max() ?? .nan, pytorchPeakRSSMB: theirs.map(\.peakRSSMB).max() ?? .nan,
                torch: torchVersion, torchThreads: torchThreads, blasThreads: blasThreadCount(), blasCore: EngineInfo.blasCore,
                kernels: EngineInfo.productKernels, loadavgStart: loadStart, loadavgEnd: Self.loadAverage())
            summary.nonFinite = nonFiniteNote([
                "rnnbook_tokens_per_s_median": summary.rnnbookTokensPerSecondMedian, "pytorch_tokens_per_s_median": summary.pytorchTokensPerSecondMedian,
                "ratio": summary.ratio, "rnnbook_ppl_median": summary.rnnbookPPLMedian, "pytorch_ppl_median": summary.pytorchPPLMedian,
            ])
            summaries.append(summary)
            if format == .jsonLines { print(try jsonLine(summary)) }
            fflush(nil)  // nil: every stream (Swift 6 forbids touching the global stdout)
        }
        switch format {
        case .table:
            if !others.isEmpty { print(BenchTable.training(others)) }
            print(BenchTable.comparison(runs: runs, summaries: summaries), terminator: "")
        case .jsonLines:
            // Beside the lines, for the person watching: the medians as a table on stderr.
            if !quiet, !summaries.isEmpty {
                FileHandle.standardError.write(Data(("\n" + BenchTable.comparison(runs: [], summaries: summaries)).utf8))
            }
        }
        return probeErrors
    }

    private func progress(for name: String, epochs: Int) -> (EpochReport) -> Void {
        { report in
            guard !quiet, report.epoch == 1 || report.epoch % 10 == 0 || report.epoch == epochs else { return }
            FileHandle.standardError.write(Data(String(
                format: "%@ epoch %d/%d  ppl %.3f  %.0f tokens/s\n",
                name, report.epoch, epochs, report.perplexity, report.tokensPerSecond).utf8))
        }
    }

    /// Runs the PyTorch reference once and decodes its JSON line.
    private func runReference(config: BenchConfiguration, epochs: Int, seed: UInt64, sampling: String,
                              fullCorpus: Bool) throws -> TrainingRun {
        var arguments = [script, "--config", config.rawValue, "--epochs", "\(epochs)", "--seed", "\(seed)",
                         "--sampling", sampling, "--threads", "\(torchThreads)", "--text", try DataStore().verifiedURL(of: .timeMachine).path]
        if fullCorpus { arguments.append("--full-corpus") }
        if !quiet { arguments.append("--progress") }
        let r = try Self.runPython(python, arguments, passStandardError: !quiet)
        guard r.status == 0, let line = r.standardOutput.split(separator: "\n").last else {
            let detail = quiet ? r.standardError : "(its messages are above)"
            throw BenchError("--compare-pytorch: the reference \(python) \(script) exited with status \(r.status) and no JSON line \(detail)")
        }
        do {
            var run = try JSONDecoder().decode(TrainingRun.self, from: Data(line.utf8))
            run.noteNonFinite()
            return run
        } catch {
            throw BenchError("--compare-pytorch: expected a JSON line with the training's figures from \(script), found: \(line) (\(error))")
        }
    }

    /// The first three fields of /proc/loadavg (1, 5 and 15 minutes).
    static func loadAverage() -> String {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
        return s.split(separator: " ").prefix(3).joined(separator: " ")
    }

    struct Output { var status: Int32; var standardOutput: String; var standardError: String }

    /// Runs `python` (a path or a name on PATH, through env) with the one process runner and
    /// collects its output (both streams go to files, so neither can fill up and stall it).
    static func runPython(_ python: String, _ arguments: [String], passStandardError: Bool) throws -> Output {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("rnnbook-pytorch-\(getpid())-\(UInt64.random(in: 0 ... .max))")
        let outFile = scratch.path + ".out", errorFile = scratch.path + ".err"
        defer { for f in [outFile, errorFile] { try? FileManager.default.removeItem(atPath: f) } }
        var process = Subprocess(executable: "/usr/bin/env", arguments: [python] + arguments,
                                 environment: ProcessInfo.processInfo.environment, stdoutPath: outFile, stderrPath: errorFile)
        if passStandardError { process.passStandardError() }
        let termination = try process.run()
        let status: Int32 = if case .exited(let code) = termination { code } else { 128 }
        return Output(status: status, standardOutput: (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? "",
                      standardError: passStandardError ? "" : ((try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""))
    }
}
