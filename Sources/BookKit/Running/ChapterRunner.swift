import BookProtocol
import Crypto
import Engine
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
    public static let defaultTimeout: Double = 900
    public init(bookRoot: URL, outputDirectory: URL) { self.bookRoot = bookRoot; self.outputDirectory = outputDirectory }

    var cacheDirectory: URL { outputDirectory.appendingPathComponent(".cache") }
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
        versions.kernels = EngineInfo.productKernels
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
                throw BookError("--set \(key)=\(text): '\(key)' is \(typeName(existing)) in \(chapter.path) (default \(existing))")
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
        // Failures are cached too (a compile error or a wrong number is as reproducible as a pass),
        // except timeouts and outside kills, which depend on how busy the machine was.
        var reproducible = true
        if case .timedOut? = run.termination { reproducible = false }
        if case .signaled(let signal)? = run.termination, signal == SIGKILL || signal == SIGTERM { reproducible = false }
        if reproducible { cache.store(result, for: chapter.slug, key: key) }
        return result
    }

    /// Compiles the chapter's program. On errors, attributes them to blocks, drops `expect-error`
    /// blocks that failed as they should, and recompiles the blocks before the first real error
    /// so that they still run.
    func compileBlocks(of chapter: Chapter, source: String, work: URL, executable: String, terminal: Terminal) -> CompileVerdict {
        let generator = ProgramGenerator()
        var verdict = CompileVerdict()
        var omitted: Set<Int> = []
        let runnable = chapter.codeBlocks.filter { $0.index != nil }
        var attempts = 0
        let chapterStart = SourceLocation(file: chapter.path, line: 1)
        while !runnable.isEmpty {
            attempts += 1
            let sourcePath = work.appendingPathComponent("main.swift").path
            let skipped = verdict.stopAfter.map { s in Set(runnable.compactMap(\.index).filter { $0 >= s }) } ?? []
            let program = generator.program(for: chapter, omitting: omitted.union(skipped))
            do { try writeAtomically(Data(program.utf8), to: URL(fileURLWithPath: sourcePath)) } catch {
                verdict.problems.append(Finding(.program, "program", at: chapterStart, message: "cannot write the chapter's program: \(error)"))
                break
            }
            terminal.status("\(chapter.path): compiling")
            let t0 = Date()
            let compile = compileProgram(source: sourcePath, executable: executable, work: work)
            verdict.seconds += Date().timeIntervalSince(t0)
            if compile.termination.succeeded { break }
            let diagnostics = Diagnostic.parse(compile.output).filter { $0.severity == "error" }
            var byBlock: [Int: [Diagnostic]] = [:]
            var unplaced: [Diagnostic] = []
            for d in diagnostics {
                if d.file == chapter.path, let block = block(containing: d.line, in: chapter) {
                    byBlock[block.index!, default: []].append(d.pointingInto(source))
                }
                else { unplaced.append(d) }
            }
            if diagnostics.isEmpty || !unplaced.isEmpty || attempts > 4 {
                let text = diagnostics.isEmpty ? compile.output.trimmingCharacters(in: .whitespacesAndNewlines) : unplaced.map(\.text).joined(separator: "\n")
                verdict.problems.append(Finding(.compile, "program", at: chapterStart,
                                                message: "the generated program did not compile (\(compile.termination)):\n\(text)"))
                verdict.stopAfter = 0
                break
            }
            var progressed = false
            for (index, ds) in byBlock where runnable.first(where: { $0.index == index })?.options.expectError == true {
                verdict.expectedFailures[index] = ds.map(\.text).joined(separator: "\n")
                omitted.insert(index); progressed = true
            }
            if let first = byBlock.keys.filter({ !omitted.contains($0) }).min() {
                let ds = byBlock[first]!
                verdict.blockErrors[first] = (ds.map(\.text).joined(separator: "\n"),
                                              SourceLocation(file: chapter.path, line: ds[0].line, column: ds[0].column))
                verdict.stopAfter = first
                progressed = true
            }
            if !progressed || verdict.stopAfter == 0 { break }
        }
        return verdict
    }

    private func block(containing line: Int, in chapter: Chapter) -> CodeBlock? {
        chapter.codeBlocks.filter { $0.index != nil }.last { $0.location.line <= line && line <= $0.location.line + $0.code.split(separator: "\n", omittingEmptySubsequences: false).count }
    }

    struct CompileOutcome { var termination: Termination; var output: String }

    func compileProgram(source: String, executable: String, work: URL) -> CompileOutcome {
        let out = work.appendingPathComponent("compile.out").path, err = work.appendingPathComponent("compile.err").path
        let process = Subprocess(executable: toolchain.swiftc,
                                 arguments: toolchain.compileArguments(source: source, executable: executable),
                                 environment: ProcessInfo.processInfo.environment,
                                 workingDirectory: settings.bookRoot.path, stdoutPath: out, stderrPath: err)
        do {
            let t = try process.run(poll: { $0 > 600 ? .timedOut(seconds: $0) : nil })
            let text = ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "") + ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
            return CompileOutcome(termination: t, output: text)
        } catch {
            return CompileOutcome(termination: .exited(-1), output: "\(error)")
        }
    }

    func runProgram(_ executable: String, chapter: Chapter, params: [String: ParamValue], work: URL, terminal: Terminal) -> RunOutcome {
        let channelPath = work.appendingPathComponent("channel.jsonl").path
        let paramsPath = work.appendingPathComponent("params.json").path
        let outPath = work.appendingPathComponent("stdout").path, errPath = work.appendingPathComponent("stderr").path
        FileManager.default.createFile(atPath: channelPath, contents: nil, attributes: [.posixPermissions: 0o600])
        let typed = params.mapValues { [typeName($0), $0.description] }
        try? writeAtomically((try? JSONEncoder().encode(typed)) ?? Data("{}".utf8), to: URL(fileURLWithPath: paramsPath))
        var env = ProcessInfo.processInfo.environment
        env["RNNBOOK_CHANNEL"] = channelPath
        env["RNNBOOK_PARAMS"] = paramsPath
        env["RNNBOOK_CHAPTER"] = chapter.path
        // Crash reports name the Markdown line; keep them plain and bounded.
        env["SWIFT_BACKTRACE"] = env["SWIFT_BACKTRACE"] ?? "enable=yes,interactive=no,color=no,limit=24,top=8,sanitize=yes,threads=crashed,registers=none,images=none"
        let chapterTimeout = effectiveTimeout(chapter)
        let blockTimeouts = Dictionary(uniqueKeysWithValues: chapter.codeBlocks.compactMap { b in
            b.index.flatMap { i in b.options.timeout.map { (i, $0) } } })

        var outcome = RunOutcome()
        let reader = ChannelReader(path: channelPath)
        var currentBlock: (index: Int, since: Double)? = nil
        var lastProgress: (block: Int, step: Int, of: Int, metrics: [String: Double], tps: Double?)? = nil
        let process = Subprocess(executable: executable, arguments: [], environment: env, workingDirectory: settings.bookRoot.path,
                                 stdoutPath: outPath, stderrPath: errPath)
        do {
            outcome.termination = try process.run { elapsed in
                for event in reader.readNew() {
                    switch event {
                    case .blockStart(let index, _, _): currentBlock = (index, elapsed)
                    case .progress(let block, let step, let of, let metrics, let tps): lastProgress = (block, step, of, metrics, tps)
                    default: break
                    }
                }
                if let b = currentBlock {
                    var line = "\(chapter.path): block \(b.index + 1)/\(chapter.codeBlocks.filter { $0.index != nil }.count) \(formatSeconds(elapsed - b.since))"
                    if let p = lastProgress, p.block == b.index {
                        line += " · epoch \(p.step)/\(p.of)"
                        for (k, v) in p.metrics.sorted(by: { $0.key < $1.key }) { line += String(format: " %@ %.4g", k, v) }
                        if let tps = p.tps { line += String(format: " · %.0f tok/s", tps) }
                        if p.step > 0 { line += " · ETA \(formatSeconds((elapsed - b.since) / Double(p.step) * Double(p.of - p.step)))" }
                    }
                    terminal.status(line)
                    if let limit = blockTimeouts[b.index], elapsed - b.since > limit {
                        outcome.timedOutBlock = b.index
                        return .timedOut(seconds: limit)
                    }
                }
                return elapsed > chapterTimeout ? .timedOut(seconds: chapterTimeout) : nil
            }
        } catch {
            outcome.termination = .exited(-1)
            outcome.stderr = Data("\(error)".utf8)
        }
        outcome.events = ChannelReader(path: channelPath).readNew()
        outcome.stdout = FileManager.default.contents(atPath: outPath) ?? Data()
        outcome.stderr += FileManager.default.contents(atPath: errPath) ?? Data()
        return outcome
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

/// A compiler diagnostic (`file:line:col: error: message`).
struct Diagnostic: Sendable {
    var file: String, line: Int, column: Int, severity: String, message: String
    /// The diagnostic line plus the source excerpt lines the compiler printed under it.
    var text: String

    /// The diagnostic with the Markdown line under it (the compiler quotes the generated file).
    func pointingInto(_ source: String) -> Diagnostic {
        var copy = self
        let lines = source.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        copy.text = "\(file):\(line):\(column): \(severity): \(message)"
        if line >= 1 && line <= lines.count {
            let text = String(lines[line - 1])
            copy.text += "\n    \(text)\n    " + String(repeating: " ", count: max(0, column - 1)) + "^"
        }
        return copy
    }

    static func parse(_ output: String) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let pattern = #/^(.+?):(\d+):(\d+): (error|warning|note): (.*)$/#
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if let m = line.wholeMatch(of: pattern) {
                out.append(Diagnostic(file: String(m.1), line: Int(m.2)!, column: Int(m.3)!, severity: String(m.4),
                                      message: String(m.5), text: String(line)))
            } else if !out.isEmpty, !line.isEmpty, out[out.count - 1].text.split(separator: "\n").count < 6,
                      line.hasPrefix(" ") || line.contains("|") {
                out[out.count - 1].text += "\n" + line
            }
        }
        return out
    }
}

/// Reads new complete JSON lines from the channel file. A half-written last line is read next
/// time; a complete line that does not decode fails the block it arrived in.
final class ChannelReader: @unchecked Sendable {
    let path: String
    private var offset: UInt64 = 0
    private var pending = Data()
    private var lastBlock = 0
    init(path: String) { self.path = path }

    func readNew() -> [ChannelEvent] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        offset += UInt64(data.count)
        pending += data
        var events: [ChannelEvent] = []
        let decoder = ChannelCoding.decoder()
        while let nl = pending.firstIndex(of: 0x0A) {
            let line = pending[pending.startIndex..<nl]
            pending = Data(pending[(nl + 1)...])
            do {
                let e = try decoder.decode(ChannelEvent.self, from: line)
                if case .blockStart(let index, _, _) = e { lastBlock = index }
                events.append(e)
            } catch {
                // A complete line that does not decode is corruption, not noise: fail its block.
                events.append(.failure(block: lastBlock, message: "side channel: unreadable event \(String(decoding: line.prefix(120), as: UTF8.self))"))
            }
        }
        return events
    }
}
