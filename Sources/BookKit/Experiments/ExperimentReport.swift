import BookProtocol
import Foundation

/// What an experiment found: for each chapter it touched, the book's run and every point of the
/// grid, side by side. Written as `output/experiments/<name>/report.json` and rendered as that
/// folder's `index.html`; never over the book's own pages.
public struct ExperimentReport: Codable, Sendable, Equatable {
    /// The folder name under `output/experiments/`.
    public var name: String
    /// The command as the user typed it (for the report's heading), e.g.
    /// `rnnbook build chapters/03-char-lm.md --set num_epochs=50 --seed 3`.
    public var command: String
    /// When the experiment ran (ISO 8601).
    public var createdAt: String
    /// The profile the points ran in.
    public var profile: String
    /// How the points ran: "local, 2 at a time", "Slurm job 42 (partition debug)".
    public var executor: String
    /// The params this experiment sets, in the order given; a seed given with `--seed` is the
    /// axis `seed`. An axis with one value is an override, with several a dimension of the grid.
    public var axes: [Axis]
    /// Metrics the grid plots against each varied param (`--metric`, else chosen by `chosenMetrics`).
    public var plotted: [String]
    public var chapters: [ChapterPart]

    public init(name: String, command: String, createdAt: String, profile: String, executor: String, axes: [Axis],
                plotted: [String] = [], chapters: [ChapterPart] = []) {
        self.name = name; self.command = command; self.createdAt = createdAt; self.profile = profile
        self.executor = executor; self.axes = axes; self.plotted = plotted; self.chapters = chapters
    }

    public struct Axis: Codable, Sendable, Equatable {
        public var key: String
        /// Each value as given (after ranges are expanded), e.g. `["32", "64", "128"]`.
        public var values: [String]
        public init(key: String, values: [String]) { self.key = key; self.values = values }
        public var varied: Bool { values.count > 1 }
    }

    /// One chapter of the experiment.
    public struct ChapterPart: Codable, Sendable, Equatable {
        public var path: String
        public var slug: String
        public var title: String
        /// The book's run (the chapter as the book is built: its profile, no overrides); nil when
        /// it could not be had (then `bookNote` says why).
        public var book: Run?
        /// Where the book's run came from, or why there is none.
        public var bookNote: String
        /// Every point of the grid, in grid order (the first axis varies slowest).
        public var points: [Point]
        public init(path: String, slug: String, title: String, book: Run?, bookNote: String, points: [Point]) {
            self.path = path; self.slug = slug; self.title = title; self.book = book; self.bookNote = bookNote; self.points = points
        }
    }

    /// What one run of a chapter gave, as far as the report shows it.
    public struct Run: Codable, Sendable, Equatable {
        public var profile: String
        /// Every param the run used (after profile and overrides).
        public var params: [String: ParamValue]
        /// Every metric the run recorded.
        public var metrics: [String: Double]
        /// The series of the run's line plots (training curves), to overlay with the book's.
        public var curves: [Curve]
        /// Wall time of the run (0 when restored from the cache).
        public var seconds: Double
        /// True when this build took the run from the cache.
        public var cached: Bool
        public init(profile: String, params: [String: ParamValue], metrics: [String: Double], curves: [Curve], seconds: Double, cached: Bool) {
            self.profile = profile; self.params = params; self.metrics = metrics; self.curves = curves
            self.seconds = seconds; self.cached = cached
        }
    }

    /// One series of a line plot a block drew. Plots are matched between runs by `block` and
    /// `plot`, series by `series`.
    public struct Curve: Codable, Sendable, Equatable {
        /// The runnable block (0-based) that drew it.
        public var block: Int
        /// The plot's title, else "plot k of block n".
        public var plot: String
        public var series: String
        public var xLabel: String
        public var yLabel: String
        public var logY: Bool
        public var x: [Double]
        public var y: [Double]
        public init(block: Int, plot: String, series: String, xLabel: String, yLabel: String, logY: Bool, x: [Double], y: [Double]) {
            self.block = block; self.plot = plot; self.series = series; self.xLabel = xLabel; self.yLabel = yLabel
            self.logY = logY; self.x = x; self.y = y
        }
    }

    public enum PointState: String, Codable, Sendable {
        /// Ran (or came from the cache); every check that does not depend on the numbers passed.
        case completed
        /// A crash, a compile error, a timeout, or a failed maths check (equation, gradient,
        /// shape): the command fails.
        case failed
        /// Not run: the executor lost it (Slurm: cancelled, node failure), see `reason`.
        case lost
    }

    /// One point of the grid.
    public struct Point: Codable, Sendable, Equatable {
        /// This point's value of each axis, as given (`["num_hiddens": "64", "lr": "0.5"]`).
        public var values: [String: String]
        public var state: PointState
        public var run: Run?
        /// Each judgement about the outcome (a prose claim, an `output` block, a named `expect`),
        /// re-judged against this run.
        public var outcomes: [Outcome]
        /// What failed the point, each at its Markdown file:line:column when known.
        public var failures: [String]
        /// The executor's word when the point did not finish (Slurm: "TIMEOUT", "OUT_OF_MEMORY").
        public var reason: String?
        public init(values: [String: String], state: PointState, run: Run?, outcomes: [Outcome], failures: [String], reason: String? = nil) {
            self.values = values; self.state = state; self.run = run; self.outcomes = outcomes; self.failures = failures; self.reason = reason
        }
        /// The point as `num_hiddens=64, lr=0.5` in the axes' order.
        public func label(axes: [Axis]) -> String {
            axes.compactMap { a in values[a.key].map { "\(a.key)=\($0)" } }.joined(separator: ", ")
        }
    }

    /// A judgement about the numbers the prose or a block states, and how it came out in this
    /// run beside the book's.
    public struct Outcome: Codable, Sendable, Equatable {
        public enum Verdict: String, Codable, Sendable {
            /// Holds in this run as the text says.
            case holds
            /// The text says otherwise than this run found.
            case differs
            /// Not judged in this run's profile (a claim written for another profile).
            case notChecked
        }
        /// `claim`, `output` or `expect` (see `Finding.Kind`).
        public var kind: String
        /// The metric or check name (`ppl_random`, `block 7`).
        public var label: String
        /// Where in the Markdown: file:line:column.
        public var location: String?
        /// What the text states: the claim as written (`machine_labels_top1 > 0`), or the expected output.
        public var statement: String
        /// What the book's run found, when the book's run judged the same thing.
        public var book: String?
        /// What this run found.
        public var found: String?
        public var verdict: Verdict
        /// The check's own words.
        public var message: String
        public init(kind: String, label: String, location: String?, statement: String, book: String?, found: String?,
                    verdict: Verdict, message: String) {
            self.kind = kind; self.label = label; self.location = location; self.statement = statement
            self.book = book; self.found = found; self.verdict = verdict; self.message = message
        }
    }
}

extension ExperimentReport {
    /// Whether any point (or the book's run) failed in a way that fails the command.
    public var failed: Bool { chapters.contains { $0.points.contains { $0.state != .completed } } }
    /// The axes with several values: the grid's dimensions.
    public var variedAxes: [Axis] { axes.filter(\.varied) }
}
