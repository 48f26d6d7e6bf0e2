import BookProtocol
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Settings of one build, shared by every chapter.
public struct BuildSettings: Sendable {
    /// Folder holding `chapters/` (paths in messages are relative to it).
    public var bookRoot: URL
    public var outputDirectory: URL
    public var profile: String = "default"
    /// `--set KEY=VALUE`, already split, not yet typed.
    public var overrides: [String: String] = [:]
    public var seed: Int?
    public var force = false
    /// Overrides the chapters' front matter timeout.
    public var timeout: Double?
    /// Live progress line on stderr (only when it is a terminal).
    public var liveProgress = true
    /// Which kernels compute the engine's matrix products here (the CLI asks the engine); part
    /// of every result and cache key, since the kernels differ in the last bits.
    public var productKernels: String?
    public static let defaultTimeout: Double = 900
    /// Overrides the chapters' front matter `memory:` (MB).
    public var memoryLimitMB: Int?
    /// Most memory a chapter program may use when neither the front matter nor --memory says.
    public static let defaultMemoryLimitMB = 4096
    /// When set, every chapter program runs inside it (`grade` sets it for submissions and
    /// reference solutions alike).
    public var sandbox: Sandbox?
    public init(bookRoot: URL, outputDirectory: URL) { self.bookRoot = bookRoot; self.outputDirectory = outputDirectory }

    /// Which edition the pages and JSON are (see `Edition`).
    public var edition: Edition = .instructor
    /// The student edition keeps its cache (programs with solutions, full results) outside the published folder.
    var cacheDirectory: URL { edition == .student ? OutputFolder(outputDirectory).privateCacheDirectory : outputDirectory.appendingPathComponent(".cache") }

    /// The status line a run's progress goes to: its chapter's, unless set (the points of a grid
    /// share a chapter, and each keeps a line).
    public var lane: ProgressLane?

    /// One command's id, the same in every process that runs its tasks (see `ProgramCache`).
    public var buildID = UUID().uuidString

    /// Where runs are kept: the book's (pages, `.cache/runs`, checkpoints) or an experiment
    /// point's (see `RunStore`).
    public var store: RunStore = .book

    /// The folder a chapter's program runs in (its params, channel and captured output).
    func workDirectory(_ slug: String) -> URL {
        switch store {
        case .book: cacheDirectory.appendingPathComponent("build/\(slug)")
        case .experiment(let point): cacheDirectory.appendingPathComponent("experiments/work/\(slug)/\(point)")
        }
    }

    /// The run cache: the book's keeps a few runs per chapter; experiments keep theirs apart, so
    /// that a grid never pushes the book's run out.
    var runCache: RunCache {
        switch store {
        case .book: RunCache(directory: cacheDirectory)
        case .experiment: RunCache(directory: cacheDirectory.appendingPathComponent("experiments"), capacity: RunStore.experimentCapacity)
        }
    }
}

/// A status line of its own for one run: its id and what starts it (`[2/4] lr=0.5 `).
public struct ProgressLane: Sendable, Equatable, Codable {
    public var id: String
    public var prefix: String
    public init(id: String, prefix: String) { self.id = id; self.prefix = prefix }
}

extension ChapterRunner {
    /// Shows `text` as the run's progress (see `BuildSettings.lane`).
    func progress(_ text: String, _ chapter: Chapter, terminal: Terminal) { progress(StatusLine(text), chapter, terminal: terminal) }

    func progress(_ line: StatusLine, _ chapter: Chapter, terminal: Terminal) {
        if let lane = settings.lane { terminal.lane(lane.id, prefix: lane.prefix).status(line) } else { terminal.status(line, chapter: chapter.path) }
    }

    func clearProgress(_ chapter: Chapter, terminal: Terminal) {
        if let lane = settings.lane { terminal.lane(lane.id, prefix: lane.prefix).clear() } else { terminal.clear(chapter: chapter.path) }
    }
}

/// Which runs a build keeps, and where.
public enum RunStore: Sendable, Equatable, Codable {
    /// The book's: its run cache and its checkpoints.
    case book
    /// A point of an experiment, named by `point` (a folder name): its own work folder, a run
    /// cache apart from the book's (any number of points per chapter, up to
    /// `experimentCapacity`), and no checkpoints (a point's trainings are its own).
    case experiment(point: String)

    public static let experimentCapacity = 256
}

/// Compiles and runs chapters, one program each.
public struct ChapterRunner: Sendable {
    public var toolchain: Toolchain
    public var settings: BuildSettings
    public var versions: VersionInfo
    /// Bumped when generated programs or result assembly change, so old cache entries miss.
    /// (7: `versions.rnnbook` is rnnbook's version and this key moved to `versions.runner`;
    /// a kept run of 6 would show the key as the version.)
    static let generatorVersion = "rnnbook-runner-7"

    public init(settings: BuildSettings) throws {
        self.settings = settings
        toolchain = try Toolchain.locate(scratch: settings.cacheDirectory)
        versions = VersionInfo(rnnbook: RNNBookVersion.current, runner: Self.generatorVersion, swiftc: toolchain.compilerVersion,
                               cmark: cmarkVersion, openblas: toolchain.openBLASVersion)
        // Chapter programs run on this machine with this environment, so they choose the same.
        versions.kernels = settings.productKernels
    }

    /// Params after profile, `--set` and `--seed`; throws on a `--set` value of the wrong type.
    public func resolvedParams(for chapter: Chapter) throws -> [String: ParamValue] {
        var params = chapter.params
        if settings.profile != "default", let overrides = chapter.profiles[settings.profile] {
            params.merge(overrides) { _, new in new }
        }
        for (key, text) in settings.overrides {
            guard let existing = params[key] else { continue }
            guard let value = parseParamValue(text, like: existing) else {
                let expected = existing.typeName == "double" ? "a finite double" : "\(existing.typeName)"
                throw BookError("--set \(key)=\(text): '\(key)' is \(existing.typeName) in \(chapter.path) (default \(existing)); expected \(expected), found '\(text)'")
            }
            params[key] = value
        }
        if let seed = settings.seed { params["seed"] = .int(seed) }
        return params
    }

    /// Everything but the blocks and equations: what every checkpoint key shares.
    func sharedInputs(for chapter: Chapter, params: [String: ParamValue], engineIdentity: String) -> [RunInputs.Part] {
        var parts: [RunInputs.Part] = []
        for key in params.keys.sorted() {
            // As the author wrote it: 3, 1.0, true, "text" (a string in quotes, so 3 and "3" differ).
            let value: String = if case .string(let text) = params[key]! { "\"\(text)\"" } else { params[key]!.description }
            parts.append(.init(name: "param \(key)", value: value))
        }
        parts.append(.init(name: "profile", value: settings.profile))
        parts.append(.init(name: "seed", value: settings.seed.map(String.init) ?? "the chapter's"))
        parts.append(.init(name: "engine", value: engineIdentity))
        parts.append(.init(name: "compiler", value: versions.swiftc))
        parts.append(.init(name: "kernels", value: versions.kernels ?? "-"))
        for file in dataFiles(for: chapter) {
            let contents = (try? Data(contentsOf: file, options: .mappedIfSafe)).map { digest([file.path]) + Self.hash($0) } ?? "missing"
            parts.append(.init(name: "data \(file.lastPathComponent)", value: contents))
        }
        return parts
    }

    /// One part per runnable block: its code and what changes how it runs (its options, and the
    /// exercise and role it has there: each exercise is its own scope in the program).
    func blockParts(of chapter: Chapter) -> [RunInputs.Part] {
        chapter.codeBlocks.compactMap { b in
            b.index.map { i in
                .init(name: "block \(i + 1)", value: digest([b.code, b.options.run ? "run" : "norun", b.options.expectError ? "expect-error" : "-",
                                                             b.exercise ?? "-", b.options.role.map { "\($0)" } ?? "-"]))
            }
        }
    }

    /// Exercise starters are never run, but the build type-checks each in place of its solution,
    /// so whether the chapter passes depends on them.
    func starterParts(of chapter: Chapter) -> [RunInputs.Part] {
        chapter.codeBlocks.filter { $0.options.role == .starter }.enumerated().map { n, b in
            .init(name: "starter \(n + 1) of \(b.exercise ?? "?")", value: digest([b.code]))
        }
    }

    func runInputs(for chapter: Chapter, params: [String: ParamValue], engineIdentity: String) -> RunInputs {
        var parts: [RunInputs.Part] = [.init(name: "rnnbook", value: Self.generatorVersion), .init(name: "chapter", value: chapter.path)]
        parts += blockParts(of: chapter)
        parts += starterParts(of: chapter)
        for e in chapter.equations { if let label = e.label { parts.append(.init(name: "equation \(label)", value: digest([e.tex]))) } }
        parts += sharedInputs(for: chapter, params: params, engineIdentity: engineIdentity)
        return RunInputs(parts: parts)
    }

    /// Checkpoint keys. Per block: the blocks up to and including it plus the shared inputs
    /// (params, profile, seed, engine, compiler, kernels, data). Per call (`"block:line"`, the
    /// Markdown line of `checkpoint(`): the same, but of its own block only the code up to the
    /// end of the call, so that editing the lines after a training does not train again.
    /// Both also cover every top-level declaration the closure can reach, wherever it is: Swift
    /// lets a closure call a function declared in a later block, so editing that function must
    /// compute the checkpoint again. A checkpoint outside exercises reaches the declarations of
    /// the chapter's own blocks; one inside an exercise also those of its exercise (each exercise
    /// runs in a scope of its own).
    func checkpointKeys(for chapter: Chapter, params: [String: ParamValue], engineIdentity: String) -> (blocks: [String: String], calls: [String: String]) {
        let shared = ["checkpoint-2"] + sharedInputs(for: chapter, params: params, engineIdentity: engineIdentity).map { "\($0.name)=\($0.value)" }
        let runnable = chapter.codeBlocks.filter { $0.index != nil }
        func declarations(_ blocks: [CodeBlock]) -> String {
            digest(["declarations"] + blocks.flatMap { topLevelDeclarations(in: $0.code).map(String.init) })
        }
        let chapterDeclarations = declarations(runnable.filter { $0.exercise == nil })
        var exerciseDeclarations: [String: String] = [:]
        for id in Set(runnable.compactMap(\.exercise)) { exerciseDeclarations[id] = declarations(runnable.filter { $0.exercise == id }) }
        var keys: [String: String] = [:], calls: [String: String] = [:]
        var blocks: [String] = []
        for (b, part) in zip(runnable, blockParts(of: chapter)) {
            let reachable = [chapterDeclarations] + (b.exercise.flatMap { exerciseDeclarations[$0] }.map { [$0] } ?? [])
            for site in checkpointSites(in: b.code) {
                let own = digest([String(site.prefix), b.options.expectError ? "expect-error" : "-"])
                calls["\(b.index!):\(b.location.line + site.line)"] = digest(shared + reachable + blocks + [own])
            }
            blocks.append(part.value)
            keys[String(b.index!)] = digest(shared + reachable + blocks)
        }
        return (keys, calls)
    }

    static func hash(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    func effectiveTimeout(_ chapter: Chapter) -> Double {
        settings.timeout ?? chapter.timeout ?? BuildSettings.defaultTimeout
    }

    func effectiveMemoryLimitMB(_ chapter: Chapter) -> Int {
        settings.memoryLimitMB ?? chapter.memoryLimitMB ?? BuildSettings.defaultMemoryLimitMB
    }

    /// Runs `chapter` (parsed from `source`), using the cache unless `force`.
    public func run(_ chapter: Chapter, source: String, engineIdentity: String, terminal: Terminal) -> ChapterResult {
        switch plan(chapter, source: source, engineIdentity: engineIdentity) {
        case .finished(let result): return result
        case .run(let planned): return execute(planned, chapter: chapter, source: source, engineIdentity: engineIdentity, terminal: terminal)
        }
    }

    /// What `run` decides before it compiles: the result, when there is nothing to run (the
    /// cached run is good, or the params or data are wrong), or what the run needs.
    enum Plan: Sendable {
        case finished(ChapterResult)
        case run(PlannedRun)
    }

    /// A run decided on by `plan`, not yet compiled or started.
    struct PlannedRun: Sendable {
        let params: [String: ParamValue]
        let dataEnvironment: [String: String]
        let inputs: RunInputs
        let reasons: [String]
        let pageSource: String
        /// When planning began: the run's start unless it is compiled ahead (see `execute`).
        let clock: Date
    }

    /// Resolves the params and data of `chapter` and looks for its cached run (see `run`).
    func plan(_ chapter: Chapter, source: String, engineIdentity: String) -> Plan {
        let clock = Date()
        let startedAt = ISO8601DateFormatter().string(from: clock)
        let params: [String: ParamValue]
        do { params = try resolvedParams(for: chapter) } catch {
            let problem = (error as? BookError)?.finding ?? Finding(.input, "params", at: SourceLocation(file: chapter.path, line: 1), message: "\(error)")
            return .finished(failedResult(chapter, params: chapter.params, findings: [problem], startedAt: startedAt))
        }
        // Data first: an undeclared read fails here, at the call; a declared file is fetched
        // and verified before its contents are hashed into the key.
        let undeclared = undeclaredDataReads(in: chapter)
        if !undeclared.isEmpty {
            return .finished(failedResult(chapter, params: params, findings: undeclared.map(\.finding), startedAt: startedAt))
        }
        let dataEnvironment: [String: String]
        let work = settings.workDirectory(chapter.slug)
        switch dataHandover(for: chapter, source: source, work: work) {
        case .success(let environment): dataEnvironment = environment
        case .failure(let problem): return .finished(failedResult(chapter, params: params, findings: [problem.finding], startedAt: startedAt))
        }
        let inputs = runInputs(for: chapter, params: params, engineIdentity: engineIdentity)
        let pageSource = digest([source, settings.profile])
        let cache = settings.runCache
        var reasons: [String]
        let hit = settings.force ? nil : cache.run(for: chapter.slug, key: inputs.key, pageSource: pageSource)
        // A cached run is only as good as the files the program read: one changed, run again.
        let staleFile = hit.map { $0.record.observed?.change(relativeTo: settings.bookRoot) ?? (
            $0.record.observed == nil ? "its cached run does not list the files it read" : nil) } ?? nil
        if settings.force {
            reasons = ["--force"]
        } else if let hit, staleFile == nil {
            // The run is the cached one; the prose, claims and lines are judged from the chapter as it is now.
            var result = assembled(hit.record.relocated(to: chapter), chapter: chapter)
            result.cached = true
            result.origin = hit.samePage ? .restored : .rerendered
            return .finished(result)
        } else if let staleFile {
            reasons = [staleFile]
        } else if let previous = cache.latestInputs(chapter.slug) {
            reasons = inputs.changes(since: previous)
            if reasons.isEmpty { reasons = ["its cached run could not be read"] }
        } else {
            reasons = ["no earlier run kept"]
        }
        return .run(PlannedRun(params: params, dataEnvironment: dataEnvironment, inputs: inputs, reasons: reasons,
                               pageSource: pageSource, clock: clock))
    }

    /// Compiles (or takes from the program cache) and runs a chapter `plan` decided to run.
    /// `compiledAhead` is the program `compiled` gave while an earlier chapter ran (see
    /// `BookBuilder.build`); the run's time then starts here, without the compile.
    func execute(_ planned: PlannedRun, chapter: Chapter, source: String, engineIdentity: String, terminal: Terminal,
                 compiledAhead: (CompileVerdict, String)? = nil) -> ChapterResult {
        let (params, dataEnvironment, inputs, reasons) = (planned.params, planned.dataEnvironment, planned.inputs, planned.reasons)
        // Planned and compiled ahead: the run starts now, not when it was planned.
        let pageSource = planned.pageSource
        let clock = compiledAhead == nil ? planned.clock : Date()
        let startedAt = ISO8601DateFormatter().string(from: clock)
        let cache = settings.runCache
        let work = settings.workDirectory(chapter.slug)
        try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let (compile, executable) = compiledAhead ?? compiled(chapter, source: source, engineIdentity: engineIdentity, terminal: terminal)
        let runnable = chapter.codeBlocks.filter { $0.index != nil }

        var versions = self.versions
        versions.engine = String(engineIdentity.prefix(16))
        var record = RunRecord(inputs: inputs, layout: RunLayout(chapter), compile: compile, run: RunOutcome(), params: params,
                               versions: versions, machine: machineDescription(), startedAt: startedAt, seconds: 0,
                               compileSeconds: compile.seconds)
        if compile.problems.isEmpty && compile.stopAfter != 0 && !runnable.isEmpty {
            // In a sandbox the program sees neither the checkpoint store nor the open log.
            let checkpoints = settings.sandbox == nil && settings.store == .book ? writeCheckpointConfiguration(for: chapter, params: params, engineIdentity: engineIdentity, work: work) : nil
            var environment = checkpoints.map { [BookEnvironment.checkpoints: $0] } ?? [:]
            environment.merge(dataEnvironment) { _, data in data }
            let openLog = work.appendingPathComponent("opened.txt")
            try? FileManager.default.removeItem(at: openLog)
            let preload = toolchain.binDirectory.appendingPathComponent("libRnnbookOpenLog.so")
            if settings.sandbox == nil && FileManager.default.fileExists(atPath: preload.path) {
                environment["LD_PRELOAD"] = ([preload.path] + (ProcessInfo.processInfo.environment["LD_PRELOAD"].map { [$0] } ?? [])).joined(separator: ":")
                environment[BookEnvironment.openLog] = openLog.path
                _ = FileManager.default.createFile(atPath: openLog.path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            record.run = runProgram(executable, chapter: chapter, params: params, work: work, terminal: terminal,
                                    environment: environment, lastRunSeconds: cache.lastBlockSeconds(chapter.slug, like: inputs))
            let toolchainRoot = URL(fileURLWithPath: toolchain.swiftc).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            record.observed = settings.sandbox == nil && FileManager.default.fileExists(atPath: preload.path)
                ? ObservedInputs.read(log: openLog, excluding: [toolchainRoot, toolchain.binDirectory, settings.cacheDirectory])
                : ObservedInputs(complete: false, problem: "libRnnbookOpenLog.so is not built next to rnnbook, so the files it read are unknown")
        }
        clearProgress(chapter, terminal: terminal)
        record.seconds = Date().timeIntervalSince(clock)
        // Progress lines are only for the live terminal; the cache need not keep them.
        record.run.events.removeAll { if case .progress = $0 { true } else { false } }
        var result = assembled(record, chapter: chapter)
        result.origin = .ran
        result.rerunReasons = reasons
        // A run whose reads are not all known could go stale unseen: it is not kept.
        if result.isReproducible && record.observed?.complete != false {
            cache.store(record, for: chapter.slug, passed: result.status == .passed, pageSource: pageSource)
        }
        return result
    }

    /// The chapter's result from a run: blocks, checks and the prose judged against it.
    func assembled(_ record: RunRecord, chapter: Chapter) -> ChapterResult {
        var result = ChapterResult(chapter: chapter.path, title: chapter.title, status: .passed, profile: settings.profile,
                                   params: record.params,
                                   seed: record.params["seed"].flatMap { if case .int(let s) = $0 { s } else { nil } },
                                   blocks: [], findings: [], metrics: [:], versions: record.versions,
                                   machine: record.machine, startedAt: record.startedAt, seconds: record.seconds,
                                   compileSeconds: record.compileSeconds, cached: false)
        ResultAssembler(chapter: chapter, profile: settings.profile).assemble(&result, compile: record.compile, run: record.run)
        result.outsideSandbox = record.run.outsideSandbox
        result.channelTampered = record.run.tampered
        return result
    }

    /// Where checkpoints of this chapter live, and each block's key; returns the file's path.
    func writeCheckpointConfiguration(for chapter: Chapter, params: [String: ParamValue], engineIdentity: String, work: URL) -> String? {
        let keys = checkpointKeys(for: chapter, params: params, engineIdentity: engineIdentity)
        let configuration = CheckpointConfiguration(
            directory: settings.cacheDirectory.appendingPathComponent("checkpoints/\(chapter.slug)").path,
            blockKeys: keys.blocks, callKeys: keys.calls, restore: !settings.force, keepPerName: 4)
        let file = work.appendingPathComponent("checkpoints.json")
        guard let data = try? configuration.encoded(), (try? writeAtomically(data, to: file)) != nil else { return nil }
        return file.path
    }

    func failedResult(_ chapter: Chapter, params: [String: ParamValue], findings: [Finding], startedAt: String) -> ChapterResult {
        .notRun(chapter, profile: settings.profile, params: params, findings: findings, versions: versions, startedAt: startedAt)
    }
}

func machineDescription() -> String {
    var u = utsname()
    uname(&u)
    let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? machine
    return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(machine) Linux"
}
