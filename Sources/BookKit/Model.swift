import BookProtocol

/// A place in a chapter's Markdown source, for every user-facing message.
public struct SourceLocation: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Path as the author knows it, relative to the book root (`chapters/02-rnn.md`).
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int = 1) { self.file = file; self.line = line; self.column = column }
    public var description: String { "\(file):\(line):\(column)" }
}

/// An error in the book's input: says where, what was expected and what was found.
public struct BookError: Error, CustomStringConvertible, Sendable {
    public var location: SourceLocation?
    public var message: String
    public init(_ message: String, at location: SourceLocation? = nil) { self.message = message; self.location = location }
    public var description: String { location.map { "\($0): error: \(message)" } ?? "error: \(message)" }
}

/// How a fenced Swift block is treated.
public struct BlockOptions: Codable, Sendable, Equatable {
    public var run = true
    public var showCode = true
    /// ```` ```swift fold ````: the code is shown collapsed (a `<details>` the reader opens), for
    /// long helpers a student may read but need not.
    public var foldCode = false
    /// Marked ```` ```swift expect-error=compile ```` or `expect-error=run`: it must fail, at that stage.
    public var expectError = false
    /// The stage at which an `expect-error` block must fail; nil only when `expectError` is false.
    public var expectErrorStage: ErrorStage?
    /// `message="fragment"`: the compiler's diagnostic or the runtime failure must contain it.
    public var expectErrorMessage: String?
    public var timeout: Double?
    /// Its part in an exercise (```` ```swift starter ````, `solution`, `check`); see `Exercise`.
    public var role: ExerciseRole? = nil
    /// `public="…"` on a hidden check block: the name its checks go by in the student edition
    /// (else "hidden check 1", "hidden check 2", … in the exercise).
    public var publicName: String? = nil
    /// `label="fig-…"`: the one plot (or `show(svg:)` drawing) the block shows is a numbered
    /// figure, referable as `@fig-…`; always with `figureCaption` (see `ChapterOutline.addPlot`).
    public var figureLabel: String? = nil
    /// `fig-cap="…"`: the figure's caption as written (plain text, `$…$` typeset as maths).
    public var figureCaption: String? = nil
    public init() {}
}

/// Where an `expect-error` block must fail: the compiler rejects it, or it compiles and fails when run.
public enum ErrorStage: String, Codable, Sendable, Equatable {
    case compile, run
}

/// Expected output that follows a Swift block (```` ```output tol=1e-3 ````).
public struct ExpectedOutput: Codable, Sendable, Equatable {
    public var text: String
    public var relativeTolerance: Double
    public var location: SourceLocation
    /// `because="…"`: why the tolerance is above `ToleranceCeiling.output` (required there, refused below).
    public var toleranceReason: String?
    /// ```` ```output nonfinite ````: the block expects a `nan` or `inf`, which then matches only the same.
    public var expectsNonFinite: Bool?
    public init(text: String, relativeTolerance: Double = 1e-6, location: SourceLocation, toleranceReason: String? = nil,
                expectsNonFinite: Bool = false) {
        self.text = text; self.relativeTolerance = relativeTolerance; self.location = location
        self.toleranceReason = toleranceReason; self.expectsNonFinite = expectsNonFinite ? true : nil
    }
}

/// A fenced code block. `index` counts Swift blocks that run (0-based), else nil.
public struct CodeBlock: Codable, Sendable, Equatable {
    public var language: String
    public var code: String
    public var options: BlockOptions
    /// Position among the chapter's runnable Swift blocks; nil for shown-only blocks.
    public var index: Int?
    /// Where the first line of code (not the fence) is.
    public var location: SourceLocation
    public var expected: ExpectedOutput?
    /// Id of the exercise the block belongs to (`ex-…`), if any.
    public var exercise: String? = nil
    /// How many lines of code the reader sees (a final newline ends the last line, not a new one).
    public var lineCount: Int { code.split(separator: "\n", omittingEmptySubsequences: false).count - (code.hasSuffix("\n") ? 1 : 0) }
    public init(language: String, code: String, options: BlockOptions, index: Int?, location: SourceLocation,
                expected: ExpectedOutput? = nil) {
        self.language = language; self.code = code; self.options = options; self.index = index
        self.location = location; self.expected = expected
    }
}

/// A display equation; `label` is the Quarto label without braces (`eq-rnn-state`).
public struct Equation: Codable, Sendable, Equatable {
    public var tex: String
    public var label: String?
    /// 1-based number among labelled equations of the chapter.
    public var number: Int?
    public var location: SourceLocation
    /// `{#eq-x unchecked="reason"}`: numbered, but no check is meant to touch it, and why.
    public var unchecked: String?
    public init(tex: String, label: String?, number: Int?, location: SourceLocation, unchecked: String? = nil) {
        self.tex = tex; self.label = label; self.number = number; self.location = location; self.unchecked = unchecked
    }
}

/// Something inline in prose that the parser lifted out of the Markdown before cmark saw it,
/// so that maths and templates reach the page untouched. The prose tree holds each one where
/// it was written (`ProseInline.lifted`); `Chapter.inlines` lists them all in order.
public enum InlineItem: Codable, Sendable, Equatable {
    case math(tex: String)
    /// `{{name}}` or `{{name:.3f}}`.
    case value(name: String, format: String?, location: SourceLocation)
    /// `{{name ≈ 1.0 ± 0.1 @default}}` or a comparison `{{name < other}}`, `{{name > 0.5}}`.
    case claim(Claim)
    /// `@eq-label`, `@sec-label`, `@fig-label`: a cross-reference (see CrossReferences.swift).
    case reference(label: String, location: SourceLocation)
    /// `@key` or `[@key, p. 33; -@other]`: a citation (see Citations.swift).
    case citation(Citation)
    /// `{{quoted: 97 %}}`: a number quoted from elsewhere (a paper, a definition), shown as written
    /// and marked on the page as not computed in this book.
    case quoted(text: String, location: SourceLocation)
}

/// A number quoted in prose that must match what the run recorded.
public struct Claim: Codable, Sendable, Equatable {
    public var metric: String
    public var expected: Double
    public var tolerance: Double
    /// Only checked under this profile (`default`, `quick`); nil means every profile.
    public var profile: String?
    public var format: String?
    public var location: SourceLocation
    /// A comparison (`{{a < b}}`, `{{a > 0.5}}`) instead of `≈ expected ± tolerance`; then
    /// `expected` and `tolerance` are unused (0).
    public var bound: ClaimBound?
    /// `{{x ≈ 1 ± 0.15 because N ≤ 30 draws}}`: why the tolerance is above the claim ceiling.
    public var toleranceReason: String?
    public init(metric: String, expected: Double, tolerance: Double, profile: String?, format: String? = nil,
                location: SourceLocation, toleranceReason: String? = nil) {
        self.metric = metric; self.expected = expected; self.tolerance = tolerance; self.profile = profile
        self.format = format; self.location = location; self.toleranceReason = toleranceReason
    }
    /// A comparison claim: `metric` (the left side) `relation` the right side.
    public init(metric: String, bound: ClaimBound, profile: String?, format: String? = nil, location: SourceLocation) {
        self.init(metric: metric, expected: 0, tolerance: 0, profile: profile, format: format, location: location)
        self.bound = bound
    }
    /// The claim as the author wrote it, without format or profile (`ppl ≈ 1.0 ± 0.1`, `a < b`).
    public var statement: String {
        guard let bound else { return "\(metric) ≈ \(expected) ± \(tolerance)" }
        return "\(metric) \(bound.relation.rawValue) \(bound.operandText)"
    }
}

/// The right side of a comparison claim: another recorded metric or a number.
public struct ClaimBound: Codable, Sendable, Equatable {
    public enum Relation: String, Codable, Sendable, Equatable {
        case less = "<", greater = ">"
        /// Whether `lhs relation rhs` holds; false when either side is NaN.
        public func holds(_ lhs: Double, _ rhs: Double) -> Bool { self == .less ? lhs < rhs : lhs > rhs }
        public var reversed: Relation { self == .less ? .greater : .less }
    }
    public var relation: Relation
    /// The metric on the right, when the right side names one.
    public var metric: String?
    /// The number on the right, when the right side is a number.
    public var number: Double?
    public init(_ relation: Relation, metric: String) { self.relation = relation; self.metric = metric }
    public init(_ relation: Relation, number: Double) { self.relation = relation; self.number = number }
    /// The right side as written: the metric's name or the number.
    public var operandText: String {
        if let metric { return metric }
        guard let n = number else { return "?" }
        // `{{x > 0}}` reads back as written, not as `> 0.0`.
        return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : "\(n)"
    }
}

/// The chapter in reading order.
public enum Segment: Codable, Sendable, Equatable {
    /// Prose as a tree (see ProseTree.swift): consecutive Markdown blocks between code,
    /// equations, figures and exercise boundaries.
    case prose([ProseBlock])
    case equation(Equation)
    case code(CodeBlock)
    /// A figure (an image in a paragraph of its own): its source as written, relative to the
    /// chapter's folder, and its caption (the image's alt text).
    case figure(path: String, caption: [ProseInline])
}

/// A parsed chapter: front matter, segments, and the lifted inline items.
public struct Chapter: Codable, Sendable, Equatable {
    /// File path relative to the book root (`chapters/02-rnn.md`).
    public var path: String
    /// File name without extension (`02-rnn`): names the page and the JSON.
    public var slug: String
    public var title: String
    public var params: [String: ParamValue]
    public var profiles: [String: [String: ParamValue]]
    public var timeout: Double?
    /// Front matter `memory:`: most memory the program may use, in MB.
    public var memoryLimitMB: Int?
    public var segments: [Segment]
    public var inlines: [InlineItem]
    /// Data files (relative to `$RNNBOOK_DATA`) the front matter says the chapter reads; part of the cache key.
    public var dataFiles: [String]?
    /// Front matter `summary:` (the contents page shows it, else the first paragraph).
    public var summary: String?
    /// The works the chapter cites, in reference-list order (nil or empty: it cites none).
    public var references: [BibEntry]?
    /// Headings and figures, numbered for `@sec-…` and `@fig-…` (see CrossReferences.swift).
    public var sections: [SectionInfo]?
    public var figures: [FigureInfo]?
    /// The chapter's exercises in order (see `Exercise`).
    public var exercises: [Exercise] = []
    /// Quarto callouts (`::: {.callout-note …}` … `:::`), in order; nil when there are none.
    public var callouts: [Callout]?
    public init(path: String, slug: String, title: String, params: [String: ParamValue] = [:],
                profiles: [String: [String: ParamValue]] = [:], timeout: Double? = nil,
                segments: [Segment] = [], inlines: [InlineItem] = []) {
        self.path = path; self.slug = slug; self.title = title; self.params = params; self.profiles = profiles
        self.timeout = timeout; self.segments = segments; self.inlines = inlines
    }
    public var codeBlocks: [CodeBlock] { segments.compactMap { if case .code(let b) = $0 { b } else { nil } } }
    public var equations: [Equation] { segments.compactMap { if case .equation(let e) = $0 { e } else { nil } } }
}

// MARK: Results

public enum BlockStatus: String, Codable, Sendable {
    case passed, failed, notRun
}

/// What one runnable block did.
public struct BlockResult: Codable, Sendable, Equatable {
    public var index: Int
    public var status: BlockStatus
    public var stdout: String
    public var stderr: String
    public var seconds: Double
    public var outputs: [RichOutput]
    /// Why it failed: compile error, crash, timeout, mismatch; with the Markdown location.
    public var error: String?
    public init(index: Int, status: BlockStatus, stdout: String = "", stderr: String = "", seconds: Double = 0,
                outputs: [RichOutput] = [], error: String? = nil) {
        self.index = index; self.status = status; self.stdout = stdout; self.stderr = stderr
        self.seconds = seconds; self.outputs = outputs; self.error = error
    }
}

/// Versions of everything a result depends on.
public struct VersionInfo: Codable, Sendable, Equatable {
    /// rnnbook's own version (`RNNBookVersion.current`), as the pages show it.
    public var rnnbook: String
    /// The runner's cache key (`ChapterRunner.generatorVersion`): which generated programs and
    /// result assembly made this run (not for readers; results before 0.28.0 lack it).
    public var runner: String?
    public var swiftc: String
    public var cmark: String
    public var openblas: String
    /// Build identity of the engine library the chapter ran against (SHA-256 prefix).
    public var engine: String?
    /// Which kernels computed the matrix products (they differ in the last bits).
    public var kernels: String?
    public init(rnnbook: String, runner: String? = nil, swiftc: String, cmark: String, openblas: String) {
        self.rnnbook = rnnbook; self.runner = runner; self.swiftc = swiftc; self.cmark = cmark; self.openblas = openblas
    }
}

/// Where a chapter's result came from in this build.
public enum RunOrigin: String, Codable, Sendable {
    /// The program was compiled and run.
    case ran
    /// The cached run, with the page exactly as it was last judged from it.
    case restored
    /// The cached run, with the page's prose, maths and claims judged again (only they changed).
    case rerendered
}

/// Everything one run of a chapter produced: written as `output/<slug>.json`.
public struct ChapterResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case passed, failed }
    public var chapter: String
    public var title: String
    public var status: Status
    public var profile: String
    public var params: [String: ParamValue]
    public var seed: Int?
    public var blocks: [BlockResult]
    /// Every check made and every problem met, in the order they arose, each with its verdict
    /// and Markdown location: the page renders these and judges nothing itself.
    public var findings: [Finding]
    public var metrics: [String: Double]
    public var versions: VersionInfo
    public var machine: String
    public var startedAt: String
    public var seconds: Double
    public var compileSeconds: Double
    /// True when this result came from the cache rather than a fresh run.
    public var cached: Bool
    /// The block each metric was last recorded in (the student edition withholds what
    /// exercise solutions record); nil in results of older builds.
    public var metricBlocks: [String: Int]? = nil
    /// How this build got the result (see `RunOrigin`); nil in results of older builds.
    public var origin: RunOrigin? = nil
    /// Why the chapter ran instead of coming from the cache: the inputs that changed.
    public var rerunReasons: [String]? = nil
    /// The `checkpoint` calls of the run: computed here or restored, and when they were computed.
    public var checkpoints: [CheckpointNote]? = nil
    /// In a sandbox (`grade`): files the program tried to open that the sandbox does not hold
    /// (the chapters, the book, the user's home); each attempt found nothing there.
    public var outsideSandbox: [String]? = nil
    /// A line on the side channel did not carry the runtime's seal: no verdict from there on
    /// is believed (see `ChannelReader`).
    public var channelTampered: Bool? = nil
    public init(chapter: String, title: String, status: Status, profile: String, params: [String: ParamValue],
                seed: Int?, blocks: [BlockResult], findings: [Finding], metrics: [String: Double],
                versions: VersionInfo, machine: String, startedAt: String,
                seconds: Double, compileSeconds: Double, cached: Bool) {
        self.chapter = chapter; self.title = title; self.status = status; self.profile = profile
        self.params = params; self.seed = seed; self.blocks = blocks; self.findings = findings
        self.metrics = metrics; self.versions = versions; self.machine = machine
        self.startedAt = startedAt; self.seconds = seconds; self.compileSeconds = compileSeconds; self.cached = cached
    }

    /// The checks (equations, gradients, claims, outputs, …), whatever their verdict.
    public var checks: [Finding] { findings.filter(\.kind.isCheck) }
    /// Everything that failed: checks and problems.
    public var failures: [Finding] { findings.filter(\.failed) }
    /// Checks made in this build, and how many of them passed.
    public var checkTotals: (ran: Int, passed: Int, notChecked: Int) {
        let checks = self.checks
        return (checks.filter { $0.verdict != .notChecked }.count, checks.filter(\.passed).count,
                checks.filter { $0.verdict == .notChecked }.count)
    }
}

extension Finding {
    /// A finding at a place in the Markdown.
    public init(_ kind: Kind, _ label: String, verdict: Verdict = .failed, at location: SourceLocation?, message: String,
                block: Int? = nil) {
        self.init(kind: kind, label: label, verdict: verdict, file: location?.file, line: location?.line,
                  column: location?.column, message: message, block: block)
    }

    public var location: SourceLocation? {
        guard let file, let line else { return nil }
        return SourceLocation(file: file, line: line, column: column ?? 1)
    }
}

extension BookError {
    /// The error as a finding of the chapter (an input mistake, at its place).
    public var finding: Finding { Finding(.input, "input", at: location, message: message) }
}
