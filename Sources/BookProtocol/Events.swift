/// What a chapter program tells the runner, and what the runner keeps: the shared vocabulary of
/// `BookRuntime` (writer) and `BookKit` (reader, pages). It has no dependencies so that both
/// sides agree on one Codable schema without BookKit importing the engine.

/// A table shown on the page.
public struct TableOutput: Codable, Sendable, Equatable {
    public var caption: String?
    public var header: [String]
    public var rows: [[String]]
    public init(caption: String? = nil, header: [String], rows: [[String]]) {
        self.caption = caption; self.header = header; self.rows = rows
    }
}

/// One named series of a line plot.
public struct PlotSeries: Codable, Sendable, Equatable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    public init(name: String, x: [Double], y: [Double]) { self.name = name; self.x = x; self.y = y }
}

/// A plot the page draws as inline SVG.
public struct PlotOutput: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case lines, bars, heatmap }
    public var kind: Kind
    public var title: String?
    public var xLabel: String
    public var yLabel: String
    public var logY: Bool
    /// Lines: one entry per series. Bars: one series whose x are positions, with `categories`.
    public var series: [PlotSeries]
    /// Bar labels, or heatmap row labels.
    public var categories: [String]?
    /// Heatmap cells, row-major: `matrix[row][column]`.
    public var matrix: [[Double]]?
    /// Heatmap column labels.
    public var columns: [String]?
    /// Heatmap cells drawn with an outline, as `[row, column]` pairs (the targets of a prediction).
    public var marks: [[Int]]?
    /// What an outlined cell means, for the legend.
    public var markLabel: String?
    public init(kind: Kind, title: String? = nil, xLabel: String = "", yLabel: String = "", logY: Bool = false,
                series: [PlotSeries] = [], categories: [String]? = nil, matrix: [[Double]]? = nil,
                columns: [String]? = nil, marks: [[Int]]? = nil, markLabel: String? = nil) {
        self.kind = kind; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.logY = logY
        self.series = series; self.categories = categories; self.matrix = matrix; self.columns = columns
        self.marks = marks; self.markLabel = markLabel
    }
}

/// A small matrix shown with its shape.
public struct TensorOutput: Codable, Sendable, Equatable {
    public var label: String?
    public var shape: [Int]
    public var values: [Double]
    public init(label: String?, shape: [Int], values: [Double]) {
        self.label = label; self.shape = shape; self.values = values
    }
}

/// One thing the build found about a chapter: a check and its verdict (an equation, a gradient,
/// a claim in prose, an `output` block), or a problem (a compile error, a crash, a timeout, a
/// mistake in the Markdown). The chapter program emits the checks it makes; the runner adds the
/// rest; `ChapterResult` and the JSON keep them as values, and the page only renders them.
public struct Finding: Codable, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        // Checks: each compares something expected with something found.
        case equation, gradient, shape, claim, output, expectError
        /// A `{{name}}` in prose whose metric the run must record.
        case value
        /// A named check from chapter code (`expect("name", …)`), e.g. an exercise's check.
        case expect
        // Problems that stop a block or the chapter.
        case compile, crash, timeout, program, input
        /// A numbered equation no check touched, or one marked `unchecked` that a check touched:
        /// about a check that did not happen (or the page's word for it), never counted as one.
        case coverage
        /// A code block labelled as a figure (`label="fig-…" fig-cap="…"`) that showed no plot or
        /// several: its caption would sit on nothing, or on a plot it does not describe.
        case figure
        /// Whether findings of this kind are checks (counted in the page's totals).
        public var isCheck: Bool {
            switch self {
            case .equation, .gradient, .shape, .claim, .output, .expectError, .value, .expect: true
            case .compile, .crash, .timeout, .program, .input, .coverage, .figure: false
            }
        }
    }
    public enum Verdict: String, Codable, Sendable {
        case passed, failed
        /// Shown on the page but not checked in this build (a claim for another profile).
        case notChecked
    }

    public var kind: Kind
    /// Equation label (`eq-rnn-state`), metric name, or a short description (`block 3`).
    public var label: String
    public var verdict: Verdict
    /// Where in the Markdown (path relative to the book root, 1-based line and column), if known.
    public var file: String?
    public var line: Int?
    public var column: Int?
    /// What was expected and what was found, as the reader should see them.
    public var expected: String?
    public var found: String?
    public var maxAbsError: Double?
    public var maxRelError: Double?
    public var tolerance: Double?
    /// Why the tolerance is above its kind's ceiling (`ToleranceCeiling`), in the author's words;
    /// the badge shows it beside the tolerance. A tolerance above the ceiling without one fails.
    public var toleranceReason: String?
    /// Shapes of the bound symbols, for the page's detail view.
    public var shapes: [String: [Int]]?
    /// Human-readable detail.
    public var message: String
    /// Index of the block the finding belongs to, if any.
    public var block: Int?
    /// For a passed equation check: each small mutation of its TeX, judged against the same
    /// values. A mutant that survives is a way the equation could be wrong and still pass.
    public var mutants: [MutantVerdict]?

    public init(kind: Kind, label: String, verdict: Verdict, file: String? = nil, line: Int? = nil, column: Int? = nil,
                expected: String? = nil, found: String? = nil, maxAbsError: Double? = nil, maxRelError: Double? = nil,
                tolerance: Double? = nil, shapes: [String: [Int]]? = nil, message: String, block: Int? = nil) {
        self.kind = kind; self.label = label; self.verdict = verdict; self.file = file; self.line = line
        self.column = column; self.expected = expected; self.found = found; self.maxAbsError = maxAbsError
        self.maxRelError = maxRelError; self.tolerance = tolerance; self.shapes = shapes; self.message = message
        self.block = block
    }

    /// A check that passed or failed.
    public init(kind: Kind, label: String, passed: Bool, maxAbsError: Double? = nil, maxRelError: Double? = nil,
                tolerance: Double? = nil, shapes: [String: [Int]]? = nil, message: String,
                line: Int? = nil, block: Int? = nil) {
        self.init(kind: kind, label: label, verdict: passed ? .passed : .failed, line: line, maxAbsError: maxAbsError,
                  maxRelError: maxRelError, tolerance: tolerance, shapes: shapes, message: message, block: block)
    }

    public var passed: Bool { verdict == .passed }
    public var failed: Bool { verdict == .failed }

    /// `file:line:column`, as far as it is known.
    public var locationText: String? {
        guard let file else { return line.map { "line \($0)" } }
        return [file, line.map(String.init), line != nil ? column.map(String.init) : nil].compactMap { $0 }.joined(separator: ":")
    }

    /// `file:line:col: label: message`, the form the terminal prints.
    public var description: String {
        let place = locationText.map { "\($0): " } ?? ""
        let what = kind.isCheck ? "\(label): " : ""
        return place + what + message
    }
}

/// One mutation of a checked equation and whether the check still passed with it.
public struct MutantVerdict: Codable, Sendable, Equatable {
    /// Operator name (`dropTranspose`, `shiftIndex`, …).
    public var kind: String
    /// What changed, in words (`t-1 → t in H_{t-1}`).
    public var description: String
    /// 1-based column in the equation's TeX where the change is.
    public var column: Int
    /// The check still passed on the mutated equation: it cannot tell the two apart.
    public var survived: Bool
    /// Set when the mutant could not be judged by value (its evaluation threw: an unbound
    /// symbol, a shape error; or crashed): why. Such a mutant is neither killed nor survived;
    /// only a value disagreement kills a mutant.
    public var notJudged: String?
    /// For a survivor the author acknowledged in the chapter source (`verify(…, survivors:
    /// ["description": "reason"])`): the reason it cannot be told apart with these values, shown
    /// on the page beside the equation. An unacknowledged survivor fails `check --mutate`.
    public var acknowledged: String?
    public init(kind: String, description: String, column: Int, survived: Bool, notJudged: String? = nil,
                acknowledged: String? = nil) {
        self.kind = kind; self.description = description; self.column = column; self.survived = survived
        self.notJudged = notJudged; self.acknowledged = acknowledged
    }
    /// Killed: judged, and the check failed on it by value.
    public var killed: Bool { !survived && notJudged == nil }
}

/// A rich output attached to a block.
public enum RichOutput: Codable, Sendable, Equatable {
    case table(TableOutput)
    case plot(PlotOutput)
    case tensor(TensorOutput)
    /// Raw SVG produced by chapter code (a diagram); sanitised by the page renderer.
    case svg(String, caption: String?)
}

/// One line of the side channel, as JSON. The runner gives the program a private file
/// descriptor for these; stdout is only ever shown as text.
public enum ChannelEvent: Codable, Sendable, Equatable {
    /// A block starts; `stdoutOffset`/`stderrOffset` are the byte positions of the captured
    /// streams at that moment (after flushing), so the runner can split output per block.
    case blockStart(index: Int, stdoutOffset: Int, stderrOffset: Int)
    case blockEnd(index: Int, seconds: Double)
    case output(block: Int, RichOutput)
    case metric(block: Int, name: String, value: Double)
    case check(Finding)
    case progress(block: Int, step: Int, of: Int, metrics: [String: Double], tokensPerSecond: Double?)
    /// The program is about to fail on purpose (for example a non-finite loss).
    case failure(block: Int, message: String)
    /// A `checkpoint` in chapter code: its value was computed in this run (and stored), or
    /// restored from an earlier run.
    case checkpoint(CheckpointNote)
}

/// What became of one `checkpoint("name") { … }` call, for the page and the build summary.
public struct CheckpointNote: Codable, Sendable, Equatable {
    public var block: Int
    public var name: String
    /// True when the closure was skipped and its stored value loaded.
    public var restored: Bool
    /// When the closure ran (ISO 8601): in this run, or in the run that stored the value.
    public var computedAt: String
    /// How long the closure took when it ran.
    public var seconds: Double
    /// Why the value was not stored or not restored, if that happened (e.g. `--force`).
    public var note: String?
    public init(block: Int, name: String, restored: Bool, computedAt: String, seconds: Double, note: String? = nil) {
        self.block = block; self.name = name; self.restored = restored; self.computedAt = computedAt
        self.seconds = seconds; self.note = note
    }
}
