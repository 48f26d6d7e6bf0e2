import BookProtocol
import Foundation

/// What `rnnbook build` with `--set`, `--seed` or `--experiment` asks: a run of the chapters
/// with other params beside the book's own, reported in `output/experiments/<name>/`.
public struct ExperimentRequest: Sendable {
    /// `--experiment NAME`; nil: named after its params.
    public var name: String?
    /// The `--set` assignments as a grid (one value per key is a single point).
    public var grid: ParamGrid
    /// Whether `--profile` was given: else each chapter runs in the profile its book was built in.
    public var profileGiven = false
    /// `--metric`: the metrics a grid plots against each varied param.
    public var metrics: [String] = []
    /// The command as typed, for the report.
    public var command = ""
    public init(grid: ParamGrid) { self.grid = grid }
}

/// One chapter of an experiment: its runs and where they go.
struct ExperimentChapter {
    var entry: ParsedBook.Entry
    var chapter: Chapter
    var source: String
    /// The profile its book was built in (its JSON in the output folder), if it was.
    var bookProfile: String?
    /// The axes this chapter has, in the grid's order.
    var axes: [ParamGrid.Axis]
    var points: [[String: String]]
}

extension BookPipeline {
    /// `rnnbook build` as an experiment: runs the book's run of each chapter the params touch
    /// (from the cache when the book is built) and every point of the grid (each cached on its
    /// own, apart from the book's runs), with `executor`, and writes the report to
    /// `output/experiments/<name>/` (never the book's pages). Fails (exit 1) when a point
    /// crashed, did not compile, failed a maths check or was lost; claims about the outcome that
    /// differ from the text are reported, not failures.
    public func runExperiment(_ experiment: ExperimentRequest, executor: TaskExecutor, terminal: Terminal) throws -> BookStatus {
        let files = try chapterFiles()
        let book = load(files).resolvingCrossReferences()
        var broken: [String] = []
        var parsed: [(ParsedBook.Entry, Chapter, String)] = []
        for entry in book.selected {
            switch entry.chapter {
            case .success(let chapter): if let source = entry.source { parsed.append((entry, chapter, source)) }
            case .failure(let error): broken.append(error.description)
            }
        }
        let settings = builder.settings
        let output = settings.outputDirectory
        func bookProfile(_ chapter: Chapter) -> String? {
            let json = output.appendingPathComponent("\(chapter.slug).json")
            return (try? Data(contentsOf: json)).flatMap { try? resultDecoder().decode(ChapterResult.self, from: $0) }?.profile
        }
        // Usage first, before anything runs: every value of every key suits every chapter with it.
        if settings.seed != nil, experiment.grid.axes.contains(where: { $0.key == "seed" }) {
            throw UsageError("--seed and --set seed=… both set the seed; give one (--set seed=1,2,3 for several)")
        }
        var checker = builder
        if !experiment.profileGiven { checker.settings.profile = "default" }
        try checker.validate(values: Dictionary(uniqueKeysWithValues: experiment.grid.axes.map { ($0.key, $0.values) }),
                             chapters: parsed.map(\.1),
                             someChapterUnparsed: book.hasUnparsedChapter)
        if parsed.isEmpty {
            for line in broken { terminal.line(line) }
            return .failed
        }
        try validateMetrics(experiment.metrics, chapters: parsed.map(\.1))

        // Which chapters the experiment touches, and their points.
        var chapters: [ExperimentChapter] = []
        for (entry, chapter, source) in parsed {
            let axes = experiment.grid.axes.filter { chapter.params[$0.key] != nil }
            let profile = bookProfile(chapter)
            let profileChanged = experiment.profileGiven && settings.profile != (profile ?? "default")
            guard !axes.isEmpty || settings.seed != nil || profileChanged || experiment.name != nil else {
                terminal.line("\(chapter.path): none of its params is set; not part of the experiment")
                continue
            }
            chapters.append(ExperimentChapter(entry: entry, chapter: chapter, source: source, bookProfile: profile, axes: axes,
                                              points: ParamGrid(axes: axes).points))
        }
        let name = try experiment.name.map(Self.checkedName) ?? Self.derivedName(grid: experiment.grid, seed: settings.seed,
                                                                                profile: experiment.profileGiven ? settings.profile : nil)
        let folder = OutputFolder(output)
        let before = try folder.prepare()
        let lock = try folder.lock(wait: request.wait) { terminal.line($0) }
        defer { lock.release() }
        defer { folder.recordWritten(since: before) }

        // The tasks: each chapter's book run, then its points.
        var tasks: [RunTask] = []
        // Where each chapter's tasks start: its book run there, its point p at + 1 + p.
        var firstTask: [Int] = []
        let total = chapters.reduce(0) { $0 + $1.points.count }
        var pointNumber = 0
        for item in chapters {
            firstTask.append(tasks.count)
            var book = settings
            book.profile = item.bookProfile ?? settings.profile
            book.overrides = [:]
            book.seed = nil
            book.store = .book
            book.lane = ProgressLane(id: "book \(item.chapter.path)", prefix: "[book] \(item.chapter.slug) ")
            tasks.append(RunTask(label: "\(item.chapter.path) (the book's run)", settings: book, chapter: item.chapter, source: item.source))
            for (p, point) in item.points.enumerated() {
                pointNumber += 1
                var s = settings
                s.profile = experiment.profileGiven ? settings.profile : (item.bookProfile ?? settings.profile)
                s.overrides = point
                let label = Self.pointLabel(point, axes: item.axes, seed: settings.seed)
                let id = String(digest([item.chapter.path, s.profile, label]).prefix(16))
                s.store = .experiment(point: id)
                s.lane = ProgressLane(id: "point \(item.chapter.path) \(p)", prefix: "[\(pointNumber)/\(total)] \(item.chapter.slug) \(label) ")
                tasks.append(RunTask(label: "\(item.chapter.path) \(label)", settings: s, chapter: item.chapter, source: item.source))
            }
        }
        terminal.line("experiment \(name): \(total) point\(total == 1 ? "" : "s") of \(chapters.count) chapter\(chapters.count == 1 ? "" : "s"), \(executor.description)")
        let outcomes = try executor.run(tasks, terminal: terminal)

        // The report.
        var report = ExperimentReport(name: name, command: experiment.command, createdAt: ISO8601DateFormatter().string(from: Date()),
                                      profile: experiment.profileGiven ? settings.profile : (chapters.first?.bookProfile ?? settings.profile),
                                      executor: executor.description,
                                      axes: experiment.grid.axes.map { .init(key: $0.key, values: $0.values) }
                                        + (settings.seed.map { [.init(key: "seed", values: [String($0)])] } ?? []))
        for (c, item) in chapters.enumerated() {
            let bookOutcome = outcomes[firstTask[c]]
            var part = ExperimentReport.ChapterPart(path: item.chapter.path, slug: item.chapter.slug, title: item.chapter.title,
                                                    book: nil, bookNote: "", points: [])
            let bookResult = bookOutcome.result
            part.book = bookResult.map { Self.run(of: $0) }
            part.bookNote = Self.bookNote(bookResult, profile: item.bookProfile, reason: bookOutcome.reason, outputName: request.outputName)
            for (p, point) in item.points.enumerated() {
                let outcome = outcomes[firstTask[c] + 1 + p]
                var values = point
                if let seed = settings.seed { values["seed"] = String(seed) }
                part.points.append(Self.point(values: values, outcome: outcome, book: bookResult, chapter: item.chapter))
            }
            report.chapters.append(part)
        }
        report.plotted = experiment.metrics.isEmpty ? Self.chosenMetrics(report, chapters: chapters.map(\.chapter)) : experiment.metrics
        let folderURL = output.appendingPathComponent("experiments/\(name)")
        try FileManager.default.createDirectory(at: folderURL, withIntermediateDirectories: true)
        try writeAtomically(try resultEncoder().encode(report), to: folderURL.appendingPathComponent("report.json"))
        try writeAtomically(Data(ExperimentPage(report: report).render().utf8), to: folderURL.appendingPathComponent("index.html"))
        try Self.writeExperimentsIndex(output.appendingPathComponent("experiments"))

        // The summary.
        for part in report.chapters {
            if part.book == nil { terminal.line("\(part.path): no book's run to compare with: \(part.bookNote)") }
            for (n, point) in part.points.enumerated() {
                terminal.line(Self.summary(point, number: n + 1, of: part.points.count, part: part, axes: report.axes))
            }
        }
        for line in broken { terminal.line(line) }
        terminal.line("report: \(request.outputName)/experiments/\(name)/index.html")
        return report.failed || !broken.isEmpty ? .failed : .passed
    }

    /// `experiments/index.html` from every `*/report.json` there.
    static func writeExperimentsIndex(_ folder: URL) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let reports = names.compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent("\(name)/report.json"))).flatMap { try? resultDecoder().decode(ExperimentReport.self, from: $0) }
        }
        try writeAtomically(Data(ExperimentPage.index(reports).utf8), to: folder.appendingPathComponent("index.html"))
    }

    // MARK: Names

    /// The characters of an experiment's folder name.
    static let nameCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._=,+-")

    /// A name given with `--experiment`: a folder name of letters, digits and `._=,+-`.
    static func checkedName(_ name: String) throws -> String {
        let allowed = nameCharacters
        guard !name.isEmpty, !name.hasPrefix("."), name.count <= 120, name.unicodeScalars.allSatisfy(allowed.contains) else {
            throw UsageError("--experiment \(name): a name is up to 120 letters, digits and . _ = , + - (not starting with a dot)")
        }
        return name
    }

    /// The folder name of an experiment from its params: `num_epochs=50_seed=3`,
    /// `num_hiddens=32,64_lr=0.5,1`, with the profile first when one was given.
    static func derivedName(grid: ParamGrid, seed: Int?, profile: String?) -> String {
        var parts = grid.axes.map { "\($0.key)=\($0.values.joined(separator: ","))" }
        if let seed { parts.append("seed=\(seed)") }
        if let profile { parts.insert(profile, at: 0) }
        let allowed = nameCharacters
        var name = String(String.UnicodeScalarView(parts.joined(separator: "_").unicodeScalars.map { allowed.contains($0) ? $0 : "-" }))
        if name.isEmpty { name = "book" }
        if name.hasPrefix(".") { name = "-" + name.dropFirst() }
        // A long grid keeps its start and a hash of the whole, so two long grids never share a folder.
        if name.count > 100 { name = String(name.prefix(80)) + "-" + String(digest([name]).prefix(12)) }
        return name
    }

    /// `num_hiddens=64, lr=0.5` (and the seed), for progress lines.
    static func pointLabel(_ point: [String: String], axes: [ParamGrid.Axis], seed: Int?) -> String {
        var parts = axes.compactMap { a in point[a.key].map { "\(a.key)=\($0)" } }
        if let seed { parts.append("seed=\(seed)") }
        return parts.isEmpty ? "(no params set)" : parts.joined(separator: " ")
    }

    // MARK: Metrics

    /// `--metric` names must be metrics the chapters record: named in their prose, or in a
    /// `record("…")` call of their code.
    func validateMetrics(_ metrics: [String], chapters: [Chapter]) throws {
        guard !metrics.isEmpty else { return }
        let known = Self.knownMetrics(chapters)
        for m in metrics where !known.contains(m) {
            throw UsageError("--metric \(m): no chapter of this experiment records a metric '\(m)'\(didYouMean(m, among: known)); metrics: \(known.sorted().joined(separator: ", "))")
        }
    }

    static func knownMetrics(_ chapters: [Chapter]) -> Set<String> {
        var names = Set<String>()
        let record = #/record\(\s*"([^"\\]+)"/#
        for chapter in chapters {
            for block in chapter.codeBlocks { for m in block.code.matches(of: record) { names.insert(String(m.1)) } }
            for item in chapter.inlines {
                if case .claim(let c) = item { names.insert(c.metric); if let other = c.bound?.metric { names.insert(other) } }
                if case .value(let n, _, _) = item { names.insert(n) }
            }
        }
        return names
    }

    /// The metrics a grid plots when `--metric` is not given: those the prose states (claims and
    /// values) whose value differs between points by more than rounding, else any that does; at
    /// most four.
    static func chosenMetrics(_ report: ExperimentReport, chapters: [Chapter]) -> [String] {
        guard !report.variedAxes.isEmpty else { return [] }
        var varying: [String] = []
        for part in report.chapters {
            let runs = part.points.compactMap(\.run)
            let names = Set(runs.flatMap { $0.metrics.keys })
            // Varies: by more than a thousandth of its size between points (a check's residual
            // of 1e-8 that wobbles in the last bits is no result to plot).
            for n in names.sorted() {
                let values = runs.compactMap { $0.metrics[n] }.filter(\.isFinite)
                guard let lo = values.min(), let hi = values.max() else { continue }
                let size = values.map(abs).max()!
                if hi - lo > 1e-3 * size || values.count < runs.count { varying.append(n) }
            }
        }
        // A metric the text only bounds by a small number (`{{gap < 1e-5}}`) is a check's
        // residual, rounding that wobbles with any change: not a result to plot.
        var residuals = Set<String>(), results = Set<String>()
        for chapter in chapters {
            for item in chapter.inlines {
                guard case .claim(let c) = item else { continue }
                if let b = c.bound, b.relation == .less, let n = b.number, abs(n) <= 1e-3 { residuals.insert(c.metric) } else { results.insert(c.metric) }
            }
        }
        varying.removeAll { residuals.contains($0) && !results.contains($0) }
        var stated: [String] = []
        for chapter in chapters {
            for item in chapter.inlines {
                if case .claim(let c) = item, varying.contains(c.metric), !stated.contains(c.metric) { stated.append(c.metric) }
                if case .value(let n, _, _) = item, varying.contains(n), !stated.contains(n) { stated.append(n) }
            }
        }
        return Array((stated.isEmpty ? varying : stated).prefix(4))
    }

    // MARK: Judging a point

    /// The kinds of check whose verdict depends on the numbers a run produced: they report
    /// "holds" or "differs" in an experiment. Every other failure (compile, crash, timeout,
    /// equation, gradient, shape, a value the code never recorded, a tolerance too wide to
    /// fail) fails the point.
    static let outcomeKinds: Set<Finding.Kind> = [.claim, .output, .expect]

    /// Whether `finding` is about the outcome: a check of an outcome kind that compared numbers
    /// (a claim on a metric the run recorded, with a tolerance within the ceiling).
    static func isOutcome(_ finding: Finding, chapter: Chapter, metrics: [String: Double]) -> Bool {
        guard outcomeKinds.contains(finding.kind) else { return false }
        guard finding.kind == .claim else { return true }
        let claim = chapter.inlines.lazy.compactMap { item -> Claim? in
            if case .claim(let c) = item, c.location == finding.location { return c }
            return nil
        }.first
        guard let claim else { return false }
        if claim.bound == nil, ToleranceCeiling.problem(.claim, tolerance: claim.tolerance, expected: claim.expected, reason: claim.toleranceReason) != nil {
            return false
        }
        return metrics[claim.metric] != nil && (claim.bound?.metric.map { metrics[$0] != nil } ?? true)
    }

    static func run(of result: ChapterResult) -> ExperimentReport.Run {
        var curves: [ExperimentReport.Curve] = []
        for block in result.blocks {
            var k = 0
            for output in block.outputs {
                guard case .plot(let plot) = output else { continue }
                k += 1
                guard plot.kind == .lines else { continue }
                let named = [plot.yLabel, plot.xLabel].filter { !$0.isEmpty }.joined(separator: " against ")
                let title = plot.title ?? (named.isEmpty ? "plot \(k) of block \(block.index + 1)" : "\(named) (block \(block.index + 1))")
                for s in plot.series {
                    curves.append(.init(block: block.index, plot: title, series: s.name, xLabel: plot.xLabel, yLabel: plot.yLabel,
                                        logY: plot.logY, x: s.x, y: s.y))
                }
            }
        }
        return .init(profile: result.profile, params: result.params, metrics: result.metrics, curves: curves,
                     seconds: result.cached ? 0 : result.seconds, cached: result.cached)
    }

    static func bookNote(_ result: ChapterResult?, profile: String?, reason: String?, outputName: String) -> String {
        guard let result else { return "the book's run could not be had: \(reason ?? "the executor gave no result")" }
        var note: String
        if profile == nil {
            note = "the book is not built in \(outputName)/: its run (profile \(result.profile), no params set) was computed for this report"
        } else if result.cached {
            note = "the book's run in \(outputName)/ (profile \(result.profile)), from the cache"
        } else {
            note = "the book's run (profile \(result.profile)), run again for this report: the chapter changed since the book was built"
        }
        let failures = result.failures
        if !failures.isEmpty {
            note += "; it has \(failures.count) failure\(failures.count == 1 ? "" : "s") of its own (see the book's page)"
        }
        return note
    }

    static func point(values: [String: String], outcome: TaskOutcome, book: ChapterResult?, chapter: Chapter) -> ExperimentReport.Point {
        guard let result = outcome.result else {
            return .init(values: values, state: .lost, run: nil, outcomes: [], failures: [], reason: outcome.reason ?? "the executor gave no result")
        }
        var outcomes: [ExperimentReport.Outcome] = []
        var failures: [String] = []
        for finding in result.findings {
            if isOutcome(finding, chapter: chapter, metrics: result.metrics) {
                let twin = book?.findings.first { $0.kind == finding.kind && $0.label == finding.label && $0.location == finding.location }
                let verdict: ExperimentReport.Outcome.Verdict = switch finding.verdict {
                case .passed: .holds
                case .failed: .differs
                case .notChecked: .notChecked
                }
                let (statement, bookText, foundText): (String, String?, String?)
                if let claim = self.claim(at: finding, in: chapter) {
                    (statement, bookText, foundText) = (claim.statement, sides(of: claim, metrics: book?.metrics ?? [:]),
                                                        sides(of: claim, metrics: result.metrics))
                } else if finding.expected == "true" || finding.expected == nil {
                    // `expect("name", condition, "detail")`: the name is what the code states,
                    // its message (holds, or does not hold and why) what each run found.
                    (statement, bookText, foundText) = (finding.label, twin?.message, finding.message)
                } else {
                    (statement, bookText, foundText) = ("\(finding.label): \(finding.expected!)", twin?.found ?? twin?.message,
                                                        finding.found ?? finding.message)
                }
                outcomes.append(.init(kind: finding.kind.rawValue, label: finding.label, location: finding.locationText,
                                      statement: statement, book: bookText, found: foundText, verdict: verdict, message: finding.message))
            } else if finding.failed {
                failures.append(finding.description)
            }
        }
        let state: ExperimentReport.PointState = failures.isEmpty ? .completed : .failed
        return .init(values: values, state: state, run: run(of: result), outcomes: outcomes, failures: failures, reason: outcome.reason)
    }

    /// The claim a claim finding judged (by its place in the Markdown).
    static func claim(at finding: Finding, in chapter: Chapter) -> Claim? {
        guard finding.kind == .claim else { return nil }
        for item in chapter.inlines { if case .claim(let c) = item, c.location == finding.location { return c } }
        return nil
    }

    /// The values a claim is about in a run: `ppl = 9.21`, or both sides of a comparison of two
    /// metrics (`ppl_sequential = 9.21, ppl_random = 8.93`); "—" for one the run did not record.
    static func sides(of claim: Claim, metrics: [String: Double]) -> String? {
        guard metrics[claim.metric] != nil || claim.bound?.metric.flatMap({ metrics[$0] }) != nil else { return nil }
        func shown(_ name: String) -> String { "\(name) = \(metrics[name].map(ExperimentPage.number) ?? "—")" }
        return ([shown(claim.metric)] + (claim.bound?.metric.map { [shown($0)] } ?? [])).joined(separator: ", ")
    }

    /// One line per point for the terminal: its state, the metrics the report plots (or the
    /// claims that differ), against the book's.
    static func summary(_ point: ExperimentReport.Point, number: Int, of count: Int, part: ExperimentReport.ChapterPart,
                        axes: [ExperimentReport.Axis]) -> String {
        let label = point.label(axes: axes)
        var line = "[\(number)/\(count)] \(part.slug) \(label.isEmpty ? "(no params set)" : label): "
        switch point.state {
        case .lost: return line + "LOST (\(point.reason ?? "no result"))"
        case .failed: return line + "FAILED\n" + point.failures.map { "    " + $0 }.joined(separator: "\n")
        case .completed: line += point.run?.cached == true ? "completed (from the cache)" : String(format: "completed in %.1f s", point.run?.seconds ?? 0)
        }
        let differs = point.outcomes.filter { $0.verdict == .differs }
        let holds = point.outcomes.filter { $0.verdict == .holds }.count
        line += "; \(holds) claim\(holds == 1 ? "" : "s") hold"
        if !differs.isEmpty {
            line += ", \(differs.count) differ\(differs.count == 1 ? "s" : "") from the text: "
                + differs.prefix(3).map { o in "\(o.statement) (book \(o.book ?? "—"), now \(o.found ?? "—"))" }.joined(separator: "; ")
                + (differs.count > 3 ? "; …" : "")
        }
        return line
    }
}
