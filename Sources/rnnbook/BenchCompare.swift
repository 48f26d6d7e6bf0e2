import Engine
import Foundation

/// A user-facing failure of `rnnbook bench` (what was expected, what was found, how to fix it).
struct BenchError: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}

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
    let torchVersion: String

    /// Checks that the script exists and that `python` imports torch.
    init(python: String, script: String, torchThreads: Int, quiet: Bool) throws {
        self.python = python; self.script = script; self.torchThreads = torchThreads; self.quiet = quiet
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

    /// One timed training run, parsed from its JSON line.
    struct Run {
        var json: [String: Any]
        var line: String
        func number(_ key: String) -> Double { (json[key] as? NSNumber)?.doubleValue ?? .nan }
    }

    func run(configurations: [BenchConfiguration], epochs: Int, seed: UInt64, sampling: SequenceSampling?,
             fullCorpus: Bool, repeats: Int) throws {
        var summaries: [[String: Any]] = []
        for c in configurations {
            guard Self.comparable.contains(c) else {
                // Not comparable: run it once as a plain bench would.
                print(try c.run(epochs: epochs, seed: seed, sampling: sampling, fullCorpus: fullCorpus,
                                progress: progress(for: c.rawValue, epochs: epochs)).jsonLine)
                continue
            }
            let samplingName = (sampling ?? .random).rawValue
            let loadStart = Self.loadAverage()
            var ours: [Run] = [], theirs: [Run] = []
            for r in 1 ... repeats {
                let load = Self.loadAverage()
                let mine = try c.run(epochs: epochs, seed: seed, sampling: sampling, fullCorpus: fullCorpus,
                                     progress: progress(for: c.rawValue, epochs: epochs))
                ours.append(try annotate(mine.jsonLine, implementation: "rnnbook", run: r, loadAverage: load))
                print(ours.last!.line)
                let loadTheirs = Self.loadAverage()
                theirs.append(try annotate(try runReference(config: c, epochs: epochs, seed: seed, sampling: samplingName,
                                                            fullCorpus: fullCorpus),
                                           implementation: "pytorch", run: r, loadAverage: loadTheirs))
                print(theirs.last!.line)
                fflush(nil)  // nil: every stream (Swift 6 forbids touching the global stdout)
            }
            let oursRate = median(ours.map { $0.number("tokens_per_s") })
            let theirRate = median(theirs.map { $0.number("tokens_per_s") })
            let summary: [String: Any] = [
                "config": c.rawValue, "comparison": "rnnbook/pytorch", "sampling": samplingName,
                "epochs": epochs, "repeats": repeats, "seed": Int(truncatingIfNeeded: seed),
                "rnnbook_tokens_per_s_median": oursRate.rounded(),
                "pytorch_tokens_per_s_median": theirRate.rounded(),
                "ratio": round4(oursRate / theirRate),
                "pair_ratios": zip(ours, theirs).map { round4($0.number("tokens_per_s") / $1.number("tokens_per_s")) },
                "rnnbook_seconds_median": round4(median(ours.map { $0.number("seconds") })),
                "pytorch_seconds_median": round4(median(theirs.map { $0.number("seconds") })),
                "rnnbook_ppl_median": round4(median(ours.map { $0.number("ppl") })),
                "pytorch_ppl_median": round4(median(theirs.map { $0.number("ppl") })),
                // Ours runs in this process, so its figure is the high-water mark of all runs so far.
                "rnnbook_peak_rss_mb": ours.map { $0.number("peak_rss_mb") }.max() ?? .nan,
                "pytorch_peak_rss_mb": theirs.map { $0.number("peak_rss_mb") }.max() ?? .nan,
                "torch": torchVersion, "torch_threads": torchThreads, "blas_threads": blasThreadCount(), "blas_core": EngineInfo.blasCore,
                "kernels": EngineInfo.productKernels,
                "loadavg_start": loadStart, "loadavg_end": Self.loadAverage(),
            ]
            summaries.append(summary)
            print(try Self.jsonLine(summary, order: Self.summaryOrder))
            fflush(nil)  // nil: every stream (Swift 6 forbids touching the global stdout)
        }
        if !quiet, !summaries.isEmpty { printTable(summaries, epochs: epochs, repeats: repeats) }
    }

    private func progress(for name: String, epochs: Int) -> (EpochReport) -> Void {
        { report in
            guard !quiet, report.epoch == 1 || report.epoch % 10 == 0 || report.epoch == epochs else { return }
            FileHandle.standardError.write(Data(String(
                format: "%@ epoch %d/%d  ppl %.3f  %.0f tokens/s\n",
                name, report.epoch, epochs, report.perplexity, report.tokensPerSecond).utf8))
        }
    }

    /// Runs the PyTorch reference once and returns its JSON line.
    private func runReference(config: BenchConfiguration, epochs: Int, seed: UInt64, sampling: String,
                              fullCorpus: Bool) throws -> String {
        var arguments = [script, "--config", config.rawValue, "--epochs", "\(epochs)", "--seed", "\(seed)",
                         "--sampling", sampling, "--threads", "\(torchThreads)", "--text", Self.textPath()]
        if fullCorpus { arguments.append("--full-corpus") }
        if !quiet { arguments.append("--progress") }
        let r = try Self.runPython(python, arguments, passStandardError: !quiet)
        guard r.status == 0, let line = r.standardOutput.split(separator: "\n").last else {
            let detail = quiet ? r.standardError : "(its messages are above)"
            throw BenchError("--compare-pytorch: the reference \(python) \(script) exited with status \(r.status) and no JSON line \(detail)")
        }
        return String(line)
    }

    /// Adds the implementation, the run number and the load average to a JSON line.
    private func annotate(_ line: String, implementation: String, run: Int, loadAverage: String) throws -> Run {
        guard var json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw BenchError("--compare-pytorch: expected a JSON object from \(implementation), found: \(line)")
        }
        json["implementation"] = implementation
        json["run"] = run
        json["loadavg"] = loadAverage
        return Run(json: json, line: try Self.jsonLine(json, order: ["config", "implementation", "run"]))
    }

    private func printTable(_ summaries: [[String: Any]], epochs: Int, repeats: Int) {
        var out = "\nrnnbook vs PyTorch \(torchVersion) (\(torchThreads) threads), \(epochs) epochs, median of \(repeats) alternating runs; rnnbook \(blasThreadCount()) threads, \(EngineInfo.productKernels)\n"
        out += "config        rnnbook tok/s  pytorch tok/s   ratio  rnnbook ppl  pytorch ppl  load avg\n"
        for s in summaries {
            func num(_ k: String) -> Double { (s[k] as? Double) ?? .nan }
            let name = (s["config"] as! String).padding(toLength: 12, withPad: " ", startingAt: 0)
            out += name + String(format: " %14.0f %14.0f %6.2fx %12.4f %12.4f  %@ → %@\n",
                          num("rnnbook_tokens_per_s_median"), num("pytorch_tokens_per_s_median"),
                          num("ratio"), num("rnnbook_ppl_median"), num("pytorch_ppl_median"),
                          s["loadavg_start"] as! String, s["loadavg_end"] as! String)
        }
        FileHandle.standardError.write(Data(out.utf8))
    }

    // MARK: helpers

    static let summaryOrder = ["config", "comparison", "sampling", "epochs", "repeats",
                               "rnnbook_tokens_per_s_median", "pytorch_tokens_per_s_median", "ratio"]

    /// One JSON line with `order`'s keys first, then the rest sorted (stable output for diffs).
    static func jsonLine(_ object: [String: Any], order: [String]) throws -> String {
        let keys = order.filter { object[$0] != nil } + object.keys.filter { !order.contains($0) }.sorted()
        let parts = try keys.map { key -> String in
            // JSON has no NaN; a missing figure is null.
            if let d = object[key] as? Double, !d.isFinite { return "\"\(key)\": null" }
            let value = try JSONSerialization.data(withJSONObject: object[key]!, options: [.fragmentsAllowed, .withoutEscapingSlashes])
            return "\"\(key)\": " + String(decoding: value, as: UTF8.self)
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// The first three fields of /proc/loadavg (1, 5 and 15 minutes).
    static func loadAverage() -> String {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
        return s.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// Where our loader found the text: $RNNBOOK_DATA, else the cache (ours has run first, so
    /// the file is in one of them).
    static func textPath() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let root = environment["RNNBOOK_DATA"] {
            let path = URL(fileURLWithPath: root).appendingPathComponent(TimeMachine.fileName).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return TimeMachine.defaultCacheDirectory(environment: environment).appendingPathComponent(TimeMachine.fileName).path
    }

    struct Output { var status: Int32; var standardOutput: String; var standardError: String }

    /// Runs `python` (a path or a name on PATH, through env) and collects its output.
    static func runPython(_ python: String, _ arguments: [String], passStandardError: Bool) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        let out = Pipe()
        process.standardOutput = out
        // Errors go to a file, not a pipe, so that reading stdout to its end cannot deadlock.
        let errorFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("rnnbook-pytorch-\(getpid())-\(UInt64.random(in: 0 ... .max)).err")
        if !passStandardError {
            _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: errorFile)
        }
        defer { try? FileManager.default.removeItem(at: errorFile) }
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = passStandardError ? "" : ((try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
        return Output(status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self),
                      standardError: errors)
    }
}

/// The median of a sample (NaN when empty).
func median(_ values: [Double]) -> Double {
    let v = values.sorted()
    guard !v.isEmpty else { return .nan }
    return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
}

private func round4(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }
