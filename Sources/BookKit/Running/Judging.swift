import BookProtocol
import Foundation

/// Judges what the prose says against what the run recorded: every claim
/// (`{{ppl ≈ 1.0 ± 0.1}}`) and every shown value (`{{ppl}}`). Claims are judged here once; the
/// page only renders the findings.
public enum ProseJudge {
    /// - Parameter runCompleted: every block ran and passed. When the run stopped early, a metric
    ///   it never reached is reported as not checked (the stop itself already fails the chapter).
    public static func findings(for chapter: Chapter, metrics: [String: Double], profile: String,
                                runCompleted: Bool) -> [Finding] {
        var out: [Finding] = []
        let recorded = metrics.keys.sorted()
        let recordedText = recorded.isEmpty ? "none" : recorded.joined(separator: ", ")
        for item in chapter.inlines {
            switch item {
            case .claim(let claim):
                out.append(judge(claim, metrics: metrics, profile: profile, runCompleted: runCompleted,
                                 recordedText: recordedText))
            case .value(let name, _, let location):
                // A value the run never recorded would show as `name?` on the page.
                if metrics[name] == nil && runCompleted {
                    out.append(Finding(.value, name, at: location,
                                       message: "the prose shows {{\(name)}} but the code recorded no metric named '\(name)'; recorded: \(recordedText)"))
                }
            case .math, .reference, .citation, .quoted:
                break
            }
        }
        return out
    }

    static func judge(_ claim: Claim, metrics: [String: Double], profile: String, runCompleted: Bool,
                      recordedText: String) -> Finding {
        // Exact numbers in the verdict (the page formats them as the prose asks).
        let expectedText = claim.bound.map { "\($0.relation.rawValue) \($0.operandText)" }
            ?? "\(claim.expected) ± \(claim.tolerance)"
        var finding = Finding(.claim, claim.metric, at: claim.location, message: "")
        finding.expected = expectedText
        finding.tolerance = claim.bound == nil ? claim.tolerance : nil
        finding.toleranceReason = claim.bound == nil ? claim.toleranceReason : nil
        // A band too wide to fail is no claim, whatever the profile: judged from the source alone.
        if claim.bound == nil, let problem = ToleranceCeiling.problem(.claim, tolerance: claim.tolerance, expected: claim.expected,
                                                                      reason: claim.toleranceReason) {
            finding.verdict = .failed
            finding.found = metrics[claim.metric].map { "\($0)" }
            finding.message = "the claim \(claim.statement): \(problem)"
            return finding
        }
        if let p = claim.profile, p != profile {
            finding.verdict = .notChecked
            finding.message = "not checked in this build: the claim applies to profile \(p); this build used \(profile)"
            return finding
        }
        guard let value = metrics[claim.metric] else {
            return unrecorded(claim.metric, in: finding, runCompleted: runCompleted,
                              problem: "the prose claims '\(claim.metric)' but the code recorded no such metric; recorded: \(recordedText)")
        }
        if let bound = claim.bound { return judge(claim, bound: bound, value: value, into: finding, metrics: metrics,
                                                  runCompleted: runCompleted, recordedText: recordedText) }
        let comparison = NumberComparison(found: value, expected: claim.expected, tolerance: .absolute(claim.tolerance))
        finding.found = "\(value)"
        finding.maxAbsError = comparison.absoluteError
        finding.maxRelError = claim.expected == 0 ? nil : comparison.absoluteError / abs(claim.expected)
        finding.verdict = comparison.passed ? .passed : .failed
        finding.message = comparison.problem.map { "\($0): the claim \(expectedText) cannot hold" }
            ?? "expected \(expectedText), got \(value)"
        return finding
    }
}

extension ProseJudge {
    /// A claim on a metric the run did not record: a failure (`problem`) when the run completed,
    /// else not checked (the run stopped before it).
    static func unrecorded(_ metric: String, in finding: Finding, runCompleted: Bool, problem: String) -> Finding {
        var finding = finding
        if runCompleted {
            finding.message = problem
        } else {
            finding.verdict = .notChecked
            finding.message = "not checked: the run stopped before recording '\(metric)'"
        }
        return finding
    }

    /// A comparison claim: it holds when both sides are finite and the relation is strict.
    static func judge(_ claim: Claim, bound: ClaimBound, value: Double, into finding: Finding, metrics: [String: Double],
                      runCompleted: Bool, recordedText: String) -> Finding {
        var finding = finding
        let rhs: Double
        if let other = bound.metric {
            guard let v = metrics[other] else {
                return unrecorded(other, in: finding, runCompleted: runCompleted,
                                  problem: "the claim \(claim.statement) compares with '\(other)', but the code recorded no such metric; recorded: \(recordedText)")
            }
            rhs = v
        } else {
            rhs = bound.number ?? .nan
        }
        let sides = bound.metric.map { "\(claim.metric) = \(value), \($0) = \(rhs)" } ?? "\(claim.metric) = \(value)"
        finding.found = "\(value)"
        guard value.isFinite && rhs.isFinite else {
            finding.message = "\(sides): a NaN or infinite value cannot satisfy the claim \(claim.statement)"
            return finding
        }
        let holds = bound.relation.holds(value, rhs)
        finding.verdict = holds ? .passed : .failed
        finding.message = holds ? "\(sides): \(claim.statement) holds"
            : "\(sides): the claim \(claim.statement) does not hold"
        return finding
    }
}

extension ChapterResult {
    /// Whether the chapter's inputs alone determine this result, so that the cache may keep it.
    /// A pass is; so are compile errors and failed checks (a wrong number is as reproducible as
    /// a right one). Crashes, timeouts, programs that stopped on purpose and input problems are
    /// not: they may come from the environment (data not found, a full disk, the network, a
    /// signal, a busy machine), and a cached failure would outlive the fix (`FAILED (cached)`
    /// after the data file is put in place). Such chapters simply run again.
    public var isReproducible: Bool {
        failures.allSatisfy { $0.kind.isCheck || [.compile, .coverage, .figure].contains($0.kind) }
    }
}

/// What running a chapter's program left behind, as the assembler needs it.
struct RunOutcome: Codable {
    var termination: Termination? = nil
    var events: [ChannelEvent] = []
    var stdout = Data()
    var stderr = Data()
    /// Block that hit its own `timeout=`.
    var timedOutBlock: Int?
    /// Largest resident set of the program (and anything it waited for), when it ended by itself.
    var peakMemoryBytes: Int?
    /// The memory limit it ran under.
    var memoryLimitMB: Int?
    /// A line on the side channel did not carry the runtime's seal (see `ChannelReader`).
    var tampered: Bool?
    /// Sandboxed runs: paths the program tried to open outside what the sandbox holds.
    var outsideSandbox: [String]?
}

/// What compiling a chapter's program decided about its blocks.
struct CompileVerdict: Codable {
    struct BlockError: Codable { var text: String; var location: SourceLocation? }
    /// Chapter-level problems (the program as a whole did not compile).
    var problems: [Finding] = []
    /// Blocks with compile errors: their diagnostics, already located in the Markdown.
    var blockErrors: [Int: BlockError] = [:]
    /// `expect-error` blocks that failed to compile, as they should: their diagnostics.
    var expectedFailures: [Int: String] = [:]
    /// First block that cannot run: it and the blocks after it are not run.
    var stopAfter: Int?
    /// Exercise starters that do not compile with their exercise's checks (`typecheckStarters`).
    var starterProblems: [Finding] = []
    var seconds = 0.0
}

/// Turns the compile verdict, the channel events and the captured streams into block results
/// and findings: a pure function of its inputs, so it is tested without compiling anything.
struct ResultAssembler {
    var chapter: Chapter
    var profile: String

    func assemble(_ result: inout ChapterResult, compile: CompileVerdict, run: RunOutcome) {
        let blocks = chapter.codeBlocks.filter { $0.index != nil }
        var starts: [Int: (out: Int, err: Int)] = [:]
        var order: [Int] = []
        var ended: [Int: Double] = [:]
        var outputs: [Int: [RichOutput]] = [:]
        var failures: [Int: String] = [:]
        var findings = compile.problems + compile.starterProblems
        for event in run.events {
            switch event {
            case .blockStart(let i, let o, let e): starts[i] = (o, e); order.append(i)
            case .blockEnd(let i, let s): ended[i] = s
            case .output(let b, let o): outputs[b, default: []].append(o)
            case .metric(let b, let name, let value): result.metrics[name] = value; result.metricBlocks = (result.metricBlocks ?? [:]).merging([name: b]) { $1 }
            case .check(var finding):
                // The program knows equation lines; block checks get their block's line here.
                if finding.line == nil, let b = finding.block, let block = blocks.first(where: { $0.index == b }) {
                    finding.line = block.location.line
                    finding.column = block.location.column
                }
                // …and equation checks their equation's column, so every place is file:line:column.
                if finding.column == nil, let line = finding.line,
                   let equation = chapter.equations.first(where: { $0.label == finding.label && $0.location.line == line }) {
                    finding.column = equation.location.column
                }
                if finding.line != nil && finding.file == nil { finding.file = chapter.path }
                findings.append(finding)
            case .progress: break
            case .failure(let b, let message): failures[b] = message
            case .checkpoint(let note): result.checkpoints = (result.checkpoints ?? []) + [note]
            }
        }
        let lastStarted = order.last
        var stopped = false
        for block in blocks {
            let i = block.index!
            var r = BlockResult(index: i, status: .notRun)
            if let s = starts[i] {
                let next = order.firstIndex(of: i).flatMap { k in k + 1 < order.count ? starts[order[k + 1]] : nil }
                r.stdout = Self.slice(run.stdout, from: s.out, to: next?.out)
                r.stderr = Self.slice(run.stderr, from: s.err, to: next?.err)
                r.outputs = outputs[i] ?? []
                r.seconds = ended[i] ?? 0
            }
            let location = SourceLocation(file: block.location.file, line: block.location.line)
            func fail(_ kind: Finding.Kind, _ message: String, at place: SourceLocation? = nil) {
                let finding = Finding(kind, "block \(i + 1)", at: place ?? location, message: message, block: i)
                r.status = .failed
                r.error = finding.description
                findings.append(finding)
            }
            if stopped {
                r.status = .notRun
            } else if let diagnostics = compile.expectedFailures[i] {
                // Left out of the program either way, so the blocks after it still run.
                r.stderr = diagnostics
                var check = Finding(kind: .expectError, label: "block \(i + 1)", verdict: .passed, file: chapter.path,
                                    line: block.location.line, column: block.location.column,
                                    message: "the block failed to compile, as expected", block: i)
                if block.options.expectErrorStage == .run {
                    check.verdict = .failed
                    check.message = "block \(i + 1) is marked expect-error=run but failed to compile instead of raising the runtime error (a typo fails this way too); make it compile, or mark it expect-error=compile if the compiler's rejection is the point:\n\(diagnostics)"
                } else if let fragment = block.options.expectErrorMessage, !diagnostics.contains(fragment) {
                    check.verdict = .failed
                    check.message = "block \(i + 1) failed to compile, but the compiler's diagnostic does not contain \"\(fragment)\"; it says:\n\(diagnostics)"
                }
                r.status = check.passed ? .passed : .failed
                if !check.passed { r.error = check.description }
                findings.append(check)
            } else if let error = compile.blockErrors[i] {
                fail(.compile, "block \(i + 1) does not compile:\n\(error.text)", at: error.location)
                stopped = true
            } else if let stop = compile.stopAfter, i >= stop {
                r.status = .notRun
            } else if ended[i] != nil {
                r.status = .passed
                if block.options.expectError, let k = findings.lastIndex(where: { $0.kind == .expectError && $0.block == i }) {
                    // The program judged only "did the block fail"; the stage and the message are judged here.
                    var check = findings[k]
                    let failedAtRun = check.passed
                    if block.options.expectErrorStage == .compile {
                        check.verdict = .failed
                        check.message = "block \(i + 1) is marked expect-error=compile but it compiled, "
                            + (failedAtRun ? "then failed when run (\(check.message)); mark it expect-error=run if the run-time failure is the point"
                                           : "and ran without failing")
                    } else if failedAtRun, let fragment = block.options.expectErrorMessage {
                        let said = [failures[i], Self.crashLines(r.stderr, chapter: chapter)].compactMap { $0 }
                            .filter { !$0.isEmpty }.joined(separator: "\n")
                        // What the failure said (its reason and stderr), not what the block printed before it.
                        let everything = [failures[i] ?? "", r.stderr].joined(separator: "\n")
                        if !everything.contains(fragment) {
                            check.verdict = .failed
                            check.message = "block \(i + 1) failed when run, but not with \"\(fragment)\"; it said:\n\(said.isEmpty ? "(nothing on stderr)" : said)"
                        }
                    }
                    findings[k] = check
                    if !check.passed {
                        // The failed check is the finding; the block box says why too.
                        r.status = .failed
                        r.error = "\(location): \(check.message)"
                    }
                }
                if let expected = block.expected {
                    let cmp = OutputComparison(expected: expected.text, actual: r.stdout, relativeTolerance: expected.relativeTolerance,
                                               expectsNonFinite: expected.expectsNonFinite == true)
                    var check = Finding(.output, "block \(i + 1) output", verdict: cmp.matches ? .passed : .failed,
                                        at: expected.location,
                                        message: cmp.matches ? "output matches" : "output differs from the expected block (relative tolerance \(formatTolerance(expected.relativeTolerance))):\n\(cmp.diff)",
                                        block: i)
                    check.maxRelError = cmp.maxRelativeError
                    check.tolerance = expected.relativeTolerance
                    check.toleranceReason = expected.toleranceReason
                    findings.append(check)
                    if !cmp.matches {
                        r.status = .failed
                        r.error = check.description
                    }
                }
            } else if starts[i] != nil && i == lastStarted {
                stopped = true
                let lines = Self.crashLines(r.stderr, chapter: chapter)
                if let message = failures[i] {
                    fail(.program, "block \(i + 1) failed: \(message)")
                } else if let t = run.termination, case .timedOut(let s) = t {
                    fail(.timeout, "block \(i + 1) was stopped: " + (run.timedOutBlock == i ? "its timeout=\(formatSeconds(s)) passed" : "the chapter's timeout of \(formatSeconds(s)) passed") + " (raise it with `timeout:` in the front matter, `timeout=` on the block, or --timeout)")
                } else if let limit = run.memoryLimitMB, Self.ranOutOfMemory(run, stderr: r.stderr) {
                    fail(.crash, "block \(i + 1) used more than \(limit) MB of memory, the chapter's limit, and was stopped (raise it with `memory:` in the front matter or --memory MB)")
                } else if run.termination == .exited(0) {
                    // exit(0) inside a block: not a crash, but the rest of the block never ran.
                    fail(.program, "block \(i + 1) ended the program (exit status 0) before it finished; later blocks did not run")
                } else {
                    fail(.crash, "block \(i + 1) crashed (\(run.termination?.description ?? "unknown")): \(lines)")
                }
            } else if run.termination != nil || !compile.problems.isEmpty {
                r.status = .notRun
                if starts[i] == nil && run.termination?.succeeded == true && !stopped {
                    fail(.program, "block \(i + 1) never started (the program exited before it)")
                    stopped = true
                }
            }
            result.blocks.append(r)
        }
        if let t = run.termination, !t.succeeded, !result.blocks.contains(where: { $0.status == .failed }) {
            findings.append(Finding(.crash, "program", at: SourceLocation(file: chapter.path, line: 1),
                                    message: "the program \(t) before its first block: \(Self.crashLines(String(decoding: run.stderr, as: UTF8.self), chapter: chapter))"))
        }
        let completed = compile.problems.isEmpty && result.blocks.allSatisfy { $0.status == .passed }
        findings += Self.equationCoverage(of: chapter, findings: findings, runCompleted: completed)
        findings += ProseJudge.findings(for: chapter, metrics: result.metrics, profile: profile, runCompleted: completed)
        for (k, block) in blocks.enumerated() where result.blocks[k].status == .passed {
            guard let problem = Self.figureProblem(block, outputs: result.blocks[k].outputs) else { continue }
            findings.append(problem)
            result.blocks[k].status = .failed
            result.blocks[k].error = problem.description
        }
        result.findings = findings
        let ok = !findings.contains(where: \.failed) && result.blocks.allSatisfy { $0.status == .passed }
        result.status = ok ? .passed : .failed
    }

    /// A block labelled as a figure must show exactly one plot (or `show(svg:)` drawing): with
    /// none its caption would sit on nothing, with several the reader could not tell which one
    /// it describes. Judged on every build from the run's outputs, cached or not, like a claim.
    static func figureProblem(_ block: CodeBlock, outputs: [RichOutput]) -> Finding? {
        guard let label = block.options.figureLabel, let i = block.index else { return nil }
        let plots = outputs.filter { output in
            switch output {
            case .plot, .svg: true
            case .table, .tensor: false
            }
        }.count
        guard plots != 1 else { return nil }
        var f = Finding(.figure, label, at: SourceLocation(file: block.location.file, line: block.location.line),
                        message: "block \(i + 1) is labelled \(label) with a caption, so it must show exactly one plot (show(plot:) or show(svg:)), but it showed \(plots == 0 ? "none" : "\(plots)"); "
                            + (plots == 0 ? "show the plot in this block, or remove label= and fig-cap= from its fence" : "split the block so that each plot has a block, a label and a caption of its own"),
                        block: i)
        f.expected = "1 plot"; f.found = "\(plots) plots"
        return f
    }

    /// The words of an equation finding that says no check touched a numbered equation.
    static let untouchedPhrase = "is numbered like a checked equation but no verify/verifyFails touched it"

    /// A numbered equation promises a check: one that no `verify`, shape check or `verifyFails`
    /// touched fails the chapter at the equation, unless it says `{#eq-x unchecked="reason"}`.
    /// When the run stopped early it is only not checked (the stop already fails the chapter).
    /// An equation marked unchecked that a check did touch fails too: the page would say it is not checked.
    static func equationCoverage(of chapter: Chapter, findings: [Finding], runCompleted: Bool) -> [Finding] {
        let touching: Set<Finding.Kind> = [.equation, .shape, .expectError]
        var out: [Finding] = []
        for equation in chapter.equations {
            guard let label = equation.label else { continue }
            let touched = findings.contains { touching.contains($0.kind) && $0.label == label && $0.verdict != .notChecked }
            if let reason = equation.unchecked {
                if touched {
                    var f = Finding(.coverage, label, at: equation.location,
                                    message: "\(label) is marked unchecked (\"\(reason)\") but a check touched it; remove unchecked=\"…\" so that the page shows it as checked")
                    f.expected = "no check (marked unchecked)"; f.found = "a check"
                    out.append(f)
                }
                continue
            }
            guard !touched else { continue }
            if runCompleted {
                var f = Finding(.coverage, label, at: equation.location,
                                message: "\(label) \(untouchedPhrase); check it or mark it `{#\(label) unchecked=\"reason\"}`")
                f.expected = "a check"; f.found = "no check"
                out.append(f)
            } else {
                out.append(Finding(.coverage, label, verdict: .notChecked, at: equation.location,
                                   message: "not checked: the run stopped before any check reached \(label)"))
            }
        }
        return out
    }

    static func slice(_ data: Data, from: Int, to: Int?) -> String {
        let lo = min(max(from, 0), data.count), hi = min(max(to ?? data.count, lo), data.count)
        // Very long logs keep their head and tail: the page and JSON stay readable.
        let limit = 256 * 1024
        if hi - lo > limit {
            let head = String(decoding: data[lo..<(lo + limit / 2)], as: UTF8.self)
            let tail = String(decoding: data[(hi - limit / 2)..<hi], as: UTF8.self)
            return head + "\n… [\(hi - lo - limit) bytes not kept] …\n" + tail
        }
        return String(decoding: data[lo..<hi], as: UTF8.self)
    }

    /// The lines of a crash report worth showing: the reason and the frames in the chapter.
    ///
    /// Under -O the reason appears as `Fatal error: …` (fatalError, the engine's checks), as the
    /// backtracer's header `*** Swift runtime failure: … ***` (a nil unwrapped, an arithmetic
    /// overflow, a division by zero), or not at all: an array index out of range is a bare trap
    /// whose only trace is frame 0, `Array.subscript.getter`, which is translated here.
    static func crashLines(_ stderr: String, chapter: Chapter) -> String {
        let lines = stderr.split(separator: "\n").map(String.init)
        var keep: [String] = []
        if let frame0 = lines.first(where: { $0.hasPrefix("  0 ") }), frame0.contains("[system]"),
           let name = frame0.firstMatch(of: #/(\w+)\.subscript\.(getter|setter|modify|read)/#) {
            keep.append("Fatal error: Index out of range (\(name.1) subscript; -O drops the runtime's own message)")
        }
        var inMessage = false
        for line in lines {
            if line.contains("Fatal error") { keep.append(line); inMessage = true; continue }
            // A multi-line reason (an error's description, with where it looked and how to fix
            // it) continues until the crash report starts.
            if inMessage && !line.hasPrefix("***") && !line.trimmingCharacters(in: .whitespaces).isEmpty { keep.append(line); continue }
            inMessage = false
            if line.contains("Program crashed") || line.hasPrefix("*** Swift runtime failure:") || line.contains(chapter.path) || line.contains("error:") {
                keep.append(line)
            }
        }
        if keep.isEmpty { keep = Array(lines.suffix(5)) }
        var seen = Set<String>()
        return keep.filter { seen.insert($0).inserted }.prefix(20).joined(separator: "\n")
    }
}

extension ResultAssembler {
    /// Whether a program that ended abnormally ran out of its memory limit: the Swift runtime
    /// (or C code) said an allocation failed, or its peak came within 10 % of the limit.
    static func ranOutOfMemory(_ run: RunOutcome, stderr: String) -> Bool {
        guard let t = run.termination, !t.succeeded, let limit = run.memoryLimitMB else { return false }
        if case .timedOut = t { return false }
        let said = ["failed to allocate", "Could not allocate memory", "std::bad_alloc", "Cannot allocate memory", "out of memory"]
        if said.contains(where: stderr.contains) { return true }
        return (run.peakMemoryBytes ?? 0) >= limit * 1024 * 1024 / 10 * 9
    }
}
