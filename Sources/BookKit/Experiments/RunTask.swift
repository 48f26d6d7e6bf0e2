import BookProtocol
import Foundation

/// One run of a chapter program, described completely enough to run anywhere the output folder
/// is reachable: in this process (the local executor) or in another on a cluster node (a Slurm
/// array task runs `rnnbook task FILE`). Both call `perform`, so both give the same result for
/// the same seed.
public struct RunTask: Codable, Sendable {
    /// What the progress and the summary call it (`chapters/03-char-lm.md num_hiddens=64`).
    public var label: String
    public var bookRoot: String
    public var outputDirectory: String
    public var edition: Edition
    public var profile: String
    /// `--set` values of this run, one per key.
    public var overrides: [String: String]
    public var seed: Int?
    public var force: Bool
    public var buildID: String
    public var timeout: Double?
    public var memoryLimitMB: Int?
    public var productKernels: String?
    public var store: RunStore
    public var lane: ProgressLane?
    /// Run inside the bubblewrap sandbox (probed again where the task runs).
    public var sandboxed: Bool
    /// The chapter as parsed (the task does not parse again: it runs exactly what was judged
    /// here), and its text. Its params and profiles cross typed (`typedParams`): in the
    /// chapter's plain JSON a double `1.0` comes back as the int `1`, and `--set lr=0.5` would
    /// then be refused on the node.
    public var chapter: Chapter {
        get {
            var c = plainChapter
            c.params = typedParams.values
            c.profiles = typedProfiles.mapValues(\.values)
            return c
        }
        set {
            plainChapter = newValue
            typedParams = ParamsFile(newValue.params)
            typedProfiles = newValue.profiles.mapValues(ParamsFile.init)
        }
    }
    private var plainChapter: Chapter
    private var typedParams: ParamsFile
    private var typedProfiles: [String: ParamsFile]
    public var source: String
    /// Tasks of one group run one after another in one task of a Slurm array (`grade`: the
    /// runs of one submission); nil: a task of its own. The local executor ignores it.
    public var group: String? = nil

    public init(label: String, settings: BuildSettings, chapter: Chapter, source: String) {
        self.label = label
        bookRoot = settings.bookRoot.path
        outputDirectory = settings.outputDirectory.path
        edition = settings.edition
        profile = settings.profile
        overrides = settings.overrides
        seed = settings.seed
        force = settings.force
        buildID = settings.buildID
        timeout = settings.timeout
        memoryLimitMB = settings.memoryLimitMB
        productKernels = settings.productKernels
        store = settings.store
        lane = settings.lane
        sandboxed = settings.sandbox != nil
        plainChapter = chapter
        typedParams = ParamsFile(chapter.params)
        typedProfiles = chapter.profiles.mapValues(ParamsFile.init)
        self.source = source
    }

    /// The build settings this task runs with.
    public func settings() throws -> BuildSettings {
        var s = BuildSettings(bookRoot: URL(fileURLWithPath: bookRoot), outputDirectory: URL(fileURLWithPath: outputDirectory))
        s.edition = edition
        s.profile = profile
        s.overrides = overrides
        s.seed = seed
        s.force = force
        s.buildID = buildID
        s.timeout = timeout
        s.memoryLimitMB = memoryLimitMB
        s.productKernels = productKernels
        s.store = store
        s.lane = lane
        if sandboxed {
            switch Sandbox.probe() {
            case .success(let sandbox): s.sandbox = sandbox
            case .failure(let why): throw BookError("this run needs the sandbox, which cannot be set up here: \(why)")
            }
        }
        return s
    }

    /// Seconds the task may take: the chapter's timeout (or `--timeout`), plus compiling.
    public var secondsLimit: Double { (timeout ?? chapter.timeout ?? BuildSettings.defaultTimeout) + 600 }
    /// Memory the task may use: the program's limit (`memory:` or `--memory`) plus rnnbook's own.
    public var memoryLimit: Int { (memoryLimitMB ?? chapter.memoryLimitMB ?? BuildSettings.defaultMemoryLimitMB) + 512 }

    /// Runs the task here and returns the chapter's result; a task that cannot start (no engine,
    /// no sandbox) gives a failed result that says why.
    public func perform(terminal: Terminal) -> ChapterResult {
        do {
            let runner = try ChapterRunner(settings: try settings())
            return runner.run(chapter, source: source, engineIdentity: runner.toolchain.engineIdentity, terminal: terminal)
        } catch {
            return .unfinished(chapter, profile: profile, why: describe(error),
                               versions: VersionInfo(rnnbook: RNNBookVersion.current, runner: ChapterRunner.generatorVersion, swiftc: "-", cmark: cmarkVersion, openblas: "-"))
        }
    }
}

extension ChapterResult {
    /// The result of a run that gave none (its task could not start, or its executor lost it):
    /// failed, every block not run, `why` at the chapter's first line.
    static func unfinished(_ chapter: Chapter, profile: String, why: String, versions: VersionInfo) -> ChapterResult {
        .notRun(chapter, profile: profile, params: chapter.params,
                findings: [Finding(.program, "task", at: SourceLocation(file: chapter.path, line: 1), message: why)],
                versions: versions, startedAt: ISO8601DateFormatter().string(from: Date()))
    }

    /// A failed result whose program never ran: every block not run, `findings` say why.
    static func notRun(_ chapter: Chapter, profile: String, params: [String: ParamValue], findings: [Finding],
                       versions: VersionInfo, startedAt: String) -> ChapterResult {
        ChapterResult(chapter: chapter.path, title: chapter.title, status: .failed, profile: profile, params: params, seed: nil,
                      blocks: chapter.codeBlocks.compactMap { $0.index.map { BlockResult(index: $0, status: .notRun) } },
                      findings: findings, metrics: [:], versions: versions, machine: machineDescription(),
                      startedAt: startedAt, seconds: 0, compileSeconds: 0, cached: false)
    }
}

/// How a task ended when it did not give a result: the executor's reason (Slurm: `TIMEOUT`,
/// `OUT_OF_MEMORY`, `NODE_FAIL`, with its words).
public struct TaskOutcome: Sendable {
    public var result: ChapterResult?
    public var reason: String?
    public init(result: ChapterResult?, reason: String? = nil) { self.result = result; self.reason = reason }
}

/// Runs tasks somewhere and gives back each one's outcome, in order.
public protocol TaskExecutor: Sendable {
    /// Says how the tasks ran, for the report ("local, 2 at a time").
    var description: String { get }
    func run(_ tasks: [RunTask], terminal: Terminal) throws -> [TaskOutcome]
}

/// Runs tasks in this process, `jobs` at a time.
public struct LocalExecutor: TaskExecutor {
    public var jobs: Int
    public init(jobs: Int) { self.jobs = max(1, jobs) }
    public var description: String { jobs == 1 ? "local, one at a time" : "local, \(jobs) at a time" }
    public func run(_ tasks: [RunTask], terminal: Terminal) throws -> [TaskOutcome] {
        parallelMap(tasks, jobs: jobs) { _, task in TaskOutcome(result: task.perform(terminal: terminal)) }
    }
}

