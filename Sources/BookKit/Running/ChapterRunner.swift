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
    public init(bookRoot: URL, outputDirectory: URL) { self.bookRoot = bookRoot; self.outputDirectory = outputDirectory }

    /// Which edition the pages and JSON are (see `Edition`).
    public var edition: Edition = .instructor
    /// The student edition keeps its cache (programs with solutions, full results) outside the published folder.
    var cacheDirectory: URL { edition == .student ? OutputFolder(outputDirectory).privateCacheDirectory : outputDirectory.appendingPathComponent(".cache") }
}

/// Compiles and runs chapters, one program each.
public struct ChapterRunner: Sendable {
    public var toolchain: Toolchain
    public var settings: BuildSettings
    public var versions: VersionInfo
    /// Bumped when generated programs or result assembly change, so old cache entries miss.
    static let generatorVersion = "rnnbook-runner-3"

    public init(settings: BuildSettings) throws {
        self.settings = settings
        toolchain = try Toolchain.locate(scratch: settings.cacheDirectory)
        versions = VersionInfo(rnnbook: Self.generatorVersion, swiftc: toolchain.compilerVersion,
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
                let expected = typeName(existing) == "double" ? "a finite double" : "\(typeName(existing))"
                throw BookError("--set \(key)=\(text): '\(key)' is \(typeName(existing)) in \(chapter.path) (default \(existing)); expected \(expected), found '\(text)'")
            }
            params[key] = value
        }
        if let seed = settings.seed { params["seed"] = .int(seed) }
        return params
    }

    /// The cache key: everything the result depends on.
    public func cacheKey(for chapter: Chapter, source: String, params: [String: ParamValue], engineIdentity: String) -> String {
        var hasher = SHA256()
        func add(_ s: String) { hasher.update(data: Data(s.utf8)); hasher.update(data: Data([0])) }
        add(Self.generatorVersion)
        add(source)
        for key in params.keys.sorted() { add("\(key)=\(typeName(params[key]!)):\(params[key]!)") }
        add(settings.profile)
        add(settings.seed.map(String.init) ?? "-")
        add(String(effectiveTimeout(chapter)))
        add(engineIdentity)
        add(versions.swiftc)
        add(versions.kernels ?? "-")
        for file in dataFiles(for: chapter, source: source) {
            add(file.path)
            if let data = try? Data(contentsOf: file, options: .mappedIfSafe) { hasher.update(data: data) } else { add("missing") }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Data files a chapter reads: those its front matter declares, plus the Time Machine when
    /// the code names it (the engine's loader reads it from `$RNNBOOK_DATA`). Their contents are
    /// hashed, so a changed corpus reruns the chapter.
    func dataFiles(for chapter: Chapter, source: String) -> [URL] {
        let dataDir = ProcessInfo.processInfo.environment["RNNBOOK_DATA"].map { URL(fileURLWithPath: $0) }
        var names = chapter.dataFiles ?? []
        let code = chapter.codeBlocks.map(\.code).joined().lowercased()
        if code.contains("timemachine") || code.contains("time machine") || code.contains("timeMachine".lowercased()) {
            names.append("timemachine.txt")
        }
        return Set(names).sorted().map { name in
            name.hasPrefix("/") ? URL(fileURLWithPath: name)
                : (dataDir ?? settings.bookRoot.appendingPathComponent("data")).appendingPathComponent(name)
        }
    }

    func effectiveTimeout(_ chapter: Chapter) -> Double {
        settings.timeout ?? chapter.timeout ?? BuildSettings.defaultTimeout
    }

    /// Runs `chapter` (parsed from `source`), using the cache unless `force`.
    public func run(_ chapter: Chapter, source: String, engineIdentity: String, terminal: Terminal) -> ChapterResult {
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let clock = Date()
        let params: [String: ParamValue]
        do { params = try resolvedParams(for: chapter) } catch {
            let problem = (error as? BookError)?.finding ?? Finding(.input, "params", at: SourceLocation(file: chapter.path, line: 1), message: "\(error)")
            return failedResult(chapter, params: chapter.params, findings: [problem], startedAt: startedAt)
        }
        let key = cacheKey(for: chapter, source: source, params: params, engineIdentity: engineIdentity)
        let cache = ResultCache(directory: settings.cacheDirectory)
        if !settings.force, var hit = cache.result(for: chapter.slug, key: key) {
            hit.cached = true
            return hit
        }

        let work = settings.cacheDirectory.appendingPathComponent("build/\(chapter.slug)")
        try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let executable = work.appendingPathComponent("chapter").path
        let compile = compileBlocks(of: chapter, source: source, work: work, executable: executable, terminal: terminal)
        let runnable = chapter.codeBlocks.filter { $0.index != nil }

        var result = ChapterResult(chapter: chapter.path, title: chapter.title, status: .passed, profile: settings.profile,
                                   params: params, seed: params["seed"].flatMap { if case .int(let s) = $0 { s } else { nil } },
                                   blocks: [], findings: [], metrics: [:], versions: versions,
                                   machine: machineDescription(), startedAt: startedAt, seconds: 0,
                                   compileSeconds: compile.seconds, cached: false)

        result.versions.engine = String(engineIdentity.prefix(16))
        var run = RunOutcome()
        if compile.problems.isEmpty && compile.stopAfter != 0 && !runnable.isEmpty {
            run = runProgram(executable, chapter: chapter, params: params, work: work, terminal: terminal)
        }
        terminal.clear()
        ResultAssembler(chapter: chapter, profile: settings.profile).assemble(&result, compile: compile, run: run)
        result.seconds = Date().timeIntervalSince(clock)
        if result.isReproducible { cache.store(result, for: chapter.slug, key: key) }
        return result
    }


    func failedResult(_ chapter: Chapter, params: [String: ParamValue], findings: [Finding], startedAt: String) -> ChapterResult {
        ChapterResult(chapter: chapter.path, title: chapter.title, status: .failed, profile: settings.profile, params: params,
                      seed: nil, blocks: chapter.codeBlocks.compactMap { $0.index.map { BlockResult(index: $0, status: .notRun) } },
                      findings: findings, metrics: [:], versions: versions, machine: machineDescription(),
                      startedAt: startedAt, seconds: 0, compileSeconds: 0, cached: false)
    }
}

func typeName(_ v: ParamValue) -> String {
    switch v { case .int: "int"; case .double: "double"; case .bool: "bool"; case .string: "string" }
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
