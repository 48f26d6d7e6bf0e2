import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Running a chapter's program: its environment, live progress, timeouts, the side channel.
extension ChapterRunner {
    /// `lastRunSeconds`: how long each block took the last time it ran unchanged, for the progress
    /// line of a block that reports no progress of its own.
    func runProgram(_ executable: String, chapter: Chapter, params: [String: ParamValue], work: URL, terminal: Terminal,
                    environment extra: [String: String] = [:], lastRunSeconds: [Int: Double] = [:]) -> RunOutcome {
        let channelPath = work.appendingPathComponent("channel.jsonl").path
        let paramsPath = work.appendingPathComponent("params.json").path
        let outPath = work.appendingPathComponent("stdout").path, errPath = work.appendingPathComponent("stderr").path
        var outcome = RunOutcome()
        guard FileManager.default.createFile(atPath: channelPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            // Without its channel the program's checks and values would be lost in silence.
            outcome.termination = .exited(-1)
            outcome.stderr = Data("cannot create the side-channel file \(channelPath)".utf8)
            return outcome
        }
        do {
            try writeAtomically(try ParamsFile(params).encoded(), to: URL(fileURLWithPath: paramsPath))
        } catch {
            // Without its params file the program would take every default in silence.
            outcome.termination = .exited(-1)
            outcome.stderr = Data("cannot write the params file \(paramsPath): \(describe(error))".utf8)
            return outcome
        }
        var env = ProcessInfo.processInfo.environment
        env[BookEnvironment.channel] = String(ChannelHandoff.channelDescriptor)
        env[BookEnvironment.params] = paramsPath
        env[BookEnvironment.chapter] = chapter.path
        env.merge(extra) { _, new in new }
        // Crash reports name the Markdown line; keep them plain and bounded.
        env["SWIFT_BACKTRACE"] = env["SWIFT_BACKTRACE"] ?? "enable=yes,interactive=no,color=no,limit=24,top=8,sanitize=yes,threads=crashed,registers=none,images=none"
        let chapterTimeout = effectiveTimeout(chapter)
        let runnableCount = chapter.codeBlocks.filter { $0.index != nil }.count
        let blockTimeouts = Dictionary(uniqueKeysWithValues: chapter.codeBlocks.compactMap { b in
            b.index.flatMap { i in b.options.timeout.map { (i, $0) } } })

        // The channel goes to the program as an open descriptor (the file itself may be out of
        // its sight), its key on a pipe the runtime reads once and closes.
        let seal = ChannelSeal.random()
        let channelFD = open(channelPath, O_WRONLY | O_APPEND | O_CLOEXEC)
        var keyPipe: [Int32] = [-1, -1]
        let piped = pipe(&keyPipe) == 0
        defer { if channelFD >= 0 { close(channelFD) }; if piped { close(keyPipe[0]) } }
        if piped {
            _ = fcntl(keyPipe[0], F_SETFD, FD_CLOEXEC)
            var key = seal.keyBytes
            _ = write(keyPipe[1], &key, key.count)
            close(keyPipe[1])
        }
        guard channelFD >= 0, piped else {
            outcome.termination = .exited(-1)
            outcome.stderr = Data("cannot open the side channel \(channelPath): \(String(cString: strerror(errno)))".utf8)
            return outcome
        }
        let reader = ChannelReader(path: channelPath, seal: seal)
        // Every event, in order: those the progress line read while the program ran, then the rest.
        var seen: [ChannelEvent] = []
        var currentBlock: (index: Int, since: Double)? = nil
        var lastProgress: (block: Int, step: Int, of: Int, metrics: [String: Double], tps: Double?)? = nil
        let memoryMB = effectiveMemoryLimitMB(chapter)
        var openLogFD: Int32 = -1, openLogPath: String?
        defer { if openLogFD >= 0 { close(openLogFD) } }
        outcome.memoryLimitMB = memoryMB
        var process: Subprocess
        // What a sandboxed program sees besides the system (also what its report leaves out).
        let visible = settings.sandbox == nil ? [] : sandboxReadOnlyPaths(env: env)
        if let sandbox = settings.sandbox {
            var inside = sandboxedEnvironment(env, paramsPath: Sandbox.paramsPath)
            let folder = work.appendingPathComponent("sandbox")
            try? FileManager.default.removeItem(at: folder)
            do {
                try sandbox.prepare(workFolder: folder)
                // Execute-only for the sandbox's user: it runs the program but cannot read it.
                try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: executable)
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: paramsPath)
            } catch {
                outcome.termination = .exited(-1)
                outcome.stderr = Data("cannot prepare the sandbox: \(describe(error))".utf8)
                return outcome
            }
            // Which files the program tries to open, for the report (the open log, on a descriptor).
            var binds = [(paramsPath, Sandbox.paramsPath)]
            let preload = toolchain.binDirectory.appendingPathComponent("libRnnbookOpenLog.so").path
            if FileManager.default.fileExists(atPath: preload) {
                let log = work.appendingPathComponent("sandbox-opened.txt").path
                // Without the file the open log is off (openLogFD < 0), as when the library is missing.
                if FileManager.default.createFile(atPath: log, contents: nil, attributes: [.posixPermissions: 0o600]) {
                    openLogFD = open(log, O_WRONLY | O_APPEND | O_CLOEXEC)
                }
                if openLogFD >= 0 {
                    binds.append((preload, Sandbox.openLogLibraryPath))
                    inside["LD_PRELOAD"] = Sandbox.openLogLibraryPath
                    inside[BookEnvironment.openLog] = "fd:\(Sandbox.openLogDescriptor)"
                    openLogPath = log
                }
            }
            let command = sandbox.command(program: executable, arguments: [], readOnly: visible,
                                          workFolder: folder, environment: inside, bindProgramAs: Sandbox.programPath,
                                          extraBinds: binds)
            process = Subprocess(executable: command.executable, arguments: command.arguments, environment: command.environment,
                                 workingDirectory: folder.path, stdoutPath: outPath, stderrPath: errPath)
            process.limits = sandbox.limits(memoryMB: memoryMB, timeout: chapterTimeout)
        } else {
            process = Subprocess(executable: executable, arguments: [], environment: env, workingDirectory: settings.bookRoot.path,
                                 stdoutPath: outPath, stderrPath: errPath)
            process.limits = [.memory(bytes: UInt64(memoryMB) * 1024 * 1024)]
        }
        process.inherited = [(channelFD, ChannelHandoff.channelDescriptor), (keyPipe[0], ChannelHandoff.keyDescriptor)]
        if openLogFD >= 0 { process.inherited.append((openLogFD, Sandbox.openLogDescriptor)) }
        do {
            let measured = try process.runMeasured { elapsed in
                // A runaway print loop is stopped here, not when the disk is full.
                for (stream, path) in [("stdout", outPath), ("stderr", errPath)] where fileSize(path) > maxOutputBytesPerStream {
                    return .outputLimit(stream: stream, bytes: maxOutputBytesPerStream)
                }
                let fresh = reader.readNew()
                seen += fresh
                for event in fresh {
                    switch event {
                    case .blockStart(let index, _, _): currentBlock = (index, elapsed)
                    case .progress(let block, let step, let of, let metrics, let tps): lastProgress = (block, step, of, metrics, tps)
                    default: break
                    }
                }
                if let b = currentBlock {
                    let reported = lastProgress.flatMap { p in
                        p.block == b.index ? BlockProgress.Reported(step: p.step, of: p.of, metrics: p.metrics, tokensPerSecond: p.tps) : nil
                    }
                    let line = BlockProgress(path: chapter.path, block: b.index, of: runnableCount, elapsed: elapsed - b.since,
                                             reported: reported, lastRun: lastRunSeconds[b.index]).line
                    progress(line, chapter, terminal: terminal)
                    if let limit = blockTimeouts[b.index], elapsed - b.since > limit {
                        outcome.timedOutBlock = b.index
                        return .timedOut(seconds: limit)
                    }
                }
                return elapsed > chapterTimeout ? .timedOut(seconds: chapterTimeout) : nil
            }
            outcome.termination = measured.termination
            outcome.peakMemoryBytes = measured.peakResidentBytes
        } catch {
            outcome.termination = .exited(-1)
            outcome.stderr = Data("\(error)".utf8)
        }
        var events = seen + reader.readNew()
        if let openLogPath, let sandbox = settings.sandbox {
            outcome.outsideSandbox = sandbox.outside(log: openLogPath, visible: visible)
        }
        if reader.tampered { outcome.tampered = true }
        // Past the limit whenever it was noticed (or not at all, if the program ended first):
        // the verdict depends only on what the program printed, not on the 50 ms poll.
        if outcome.termination?.isOutputLimit != true {
            if fileSize(outPath) > maxOutputBytesPerStream { outcome.termination = .outputLimit(stream: "stdout", bytes: maxOutputBytesPerStream) }
            else if fileSize(errPath) > maxOutputBytesPerStream { outcome.termination = .outputLimit(stream: "stderr", bytes: maxOutputBytesPerStream) }
        }
        if case .outputLimit(let stream, let bytes)? = outcome.termination {
            events = Self.failingAtOutputLimit(events, stream: stream, limit: bytes)
        }
        // Read back only what the result keeps: each block's head and tail, with the block
        // offsets moved to the shortened streams.
        let out = BoundedOutput(path: outPath, cuts: events.compactMap { (e) -> Int? in if case .blockStart(_, let o, _) = e { o } else { nil } })
        let err = BoundedOutput(path: errPath, cuts: events.compactMap { (e) -> Int? in if case .blockStart(_, _, let r) = e { r } else { nil } })
        outcome.events = events.map { (event) -> ChannelEvent in
            if case .blockStart(let i, let o, let e) = event { .blockStart(index: i, stdoutOffset: out.offset(o), stderrOffset: err.offset(e)) } else { event }
        }
        outcome.stdout = out.data
        outcome.stderr += err.data
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return outcome
    }

    /// What a sandboxed program's environment holds: the runtime's hand-off, the chapter's
    /// name, crash report settings, the data folder and the engine's kernel choices; none of
    /// the user's other variables (tokens, paths).
    func sandboxedEnvironment(_ env: [String: String], paramsPath: String) -> [String: String] {
        var inside = env.filter { key, _ in
            [BookEnvironment.channel, BookEnvironment.chapter, BookEnvironment.data, BookEnvironment.kernels,
             "SWIFT_BACKTRACE", "LANG", "LC_ALL"].contains(key)
                || key.hasPrefix("OPENBLAS_") || key.hasPrefix("OMP_")
        }
        inside[BookEnvironment.params] = paramsPath
        return inside
    }

    /// What a sandboxed program needs to see besides the system: the Swift runtime, rnnbook's
    /// engine library, the data folder.
    func sandboxReadOnlyPaths(env: [String: String]) -> [String] {
        let toolchainRoot = URL(fileURLWithPath: toolchain.swiftc).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
        var paths = [toolchainRoot.path, toolchain.binDirectory.appendingPathComponent("libBookRuntime.so").path]
        if let data = env[BookEnvironment.data], !data.isEmpty { paths.append(URL(fileURLWithPath: data).standardizedFileURL.path) }
        return paths
    }

    /// The events up to the block whose output crossed the limit (the last block to start at
    /// or before that offset), without its end or anything later, plus its failure.
    static func failingAtOutputLimit(_ events: [ChannelEvent], stream: String, limit: Int) -> [ChannelEvent] {
        func start(_ e: ChannelEvent) -> (block: Int, offset: Int)? {
            if case .blockStart(let i, let o, let r) = e { return (i, stream == "stdout" ? o : r) }
            return nil
        }
        guard let k = events.lastIndex(where: { start($0).map { $0.offset <= limit } ?? false }),
              let block = start(events[k])?.block else { return events }
        var kept = Array(events[...k])
        for e in events[(k + 1)...] {
            if start(e) != nil { break }
            if case .blockEnd(let i, _) = e, i == block { break }
            kept.append(e)
        }
        let mb = limit / (1024 * 1024)
        kept.append(.failure(block: block, message: "it printed more than \(mb) MB on \(stream); stopped (a block may print at most \(mb) MB per stream)"))
        return kept
    }
}

/// Most a chapter program may print on stdout, and separately on stderr; past it the program
/// is stopped and the block printing fails.
let maxOutputBytesPerStream = 64 * 1024 * 1024

/// Bytes kept from each end of one block's output when it is longer than `ResultAssembler`'s
/// 256 KB: a little under half, so that head, marker and tail fit and are not cut again.
let keptOutputBytesPerEnd = 127 * 1024

func fileSize(_ path: String) -> Int {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : 0
}

extension Termination {
    var isOutputLimit: Bool { if case .outputLimit = self { true } else { false } }
}

/// A captured stream read back in pieces: between consecutive cut offsets (block starts) the
/// whole piece when short, else its head and tail around the marker `ResultAssembler.slice`
/// uses. Never holds more than 256 KB per piece, whatever the file's size.
struct BoundedOutput {
    private(set) var data = Data()
    private var moved: [Int: Int] = [:]
    private var size = 0

    init(path: String, cuts: [Int]) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        size = fileSize(path)
        func read(_ offset: Int, _ count: Int) -> Data {
            guard count > 0, (try? handle.seek(toOffset: UInt64(offset))) != nil else { return Data() }
            return (try? handle.read(upToCount: count)) ?? Data()
        }
        let points = Set(cuts.map { min(max($0, 0), size) } + [0, size]).sorted()
        for (lo, hi) in zip(points, points.dropFirst()) {
            moved[lo] = data.count
            if hi - lo <= 2 * keptOutputBytesPerEnd + 2048 {
                data += read(lo, hi - lo)
            } else {
                data += read(lo, keptOutputBytesPerEnd)
                data += Data("\n… [\(hi - lo - 2 * keptOutputBytesPerEnd) bytes not kept] …\n".utf8)
                data += read(hi - keptOutputBytesPerEnd, keptOutputBytesPerEnd)
            }
        }
        moved[size] = data.count
    }

    /// Where `offset` in the file lies in `data`.
    func offset(_ offset: Int) -> Int { moved[min(max(offset, 0), size)] ?? data.count }
}

/// Reads new complete lines from the channel file. A half-written last line is read next
/// time. A complete line without the runtime's seal (see `ChannelSeal`) was written by code in
/// the program other than rnnbook's runtime: the run is marked tampered, the line fails the
/// block it arrived in, and nothing after it is believed. A sealed line that does not decode
/// is corruption and fails its block.
final class ChannelReader: @unchecked Sendable {
    let path: String
    let seal: ChannelSeal
    private var offset: UInt64 = 0
    private var pending = Data()
    private var lastBlock = 0
    private var sequence: UInt64 = 0
    /// Set once a line without the runtime's seal arrived.
    private(set) var tampered = false
    init(path: String, seal: ChannelSeal) { self.path = path; self.seal = seal }

    static let tamperMessage = "the program wrote to rnnbook's result channel itself (a line without the runtime's seal); no verdict from this point on is believed"

    func readNew() -> [ChannelEvent] {
        guard !tampered, let handle = FileHandle(forReadingAtPath: path) else { return [] }
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
            guard let body = seal.open(sequence: sequence, line: line) else {
                tampered = true
                pending = Data()
                events.append(.failure(block: lastBlock, message: Self.tamperMessage))
                return events
            }
            sequence += 1
            do {
                let e = try decoder.decode(ChannelEvent.self, from: Data(body))
                if case .blockStart(let index, _, _) = e { lastBlock = index }
                events.append(e)
            } catch {
                // A complete line that does not decode is corruption, not noise: fail its block.
                events.append(.failure(block: lastBlock, message: "side channel: unreadable event \(String(decoding: body.prefix(120), as: UTF8.self))"))
            }
        }
        return events
    }
}

/// The progress line of a running block. A narrow terminal keeps the numbers: the file's folder
/// goes first, then tokens per second, the last run's time, the file name, the block number, the
/// metrics after the first, and the first metric; the block's time, epoch and time left stay. A
/// block that reports no progress shows its time against the last run of the same code.
struct BlockProgress {
    struct Reported {
        var step: Int, of: Int
        var metrics: [String: Double]
        var tokensPerSecond: Double?
    }
    var path: String
    var block: Int, of: Int
    var elapsed: Double
    var reported: Reported?
    /// Seconds the same block took the last time it ran with the same params (nil: not known).
    var lastRun: Double?

    var line: StatusLine {
        typealias Part = StatusLine.Part
        let folder = (path as NSString).deletingLastPathComponent
        var parts = [Part(folder.isEmpty ? "" : folder + "/", drop: 6), Part((path as NSString).lastPathComponent + ": ", drop: 4),
                     Part("block \(block + 1)/\(of) ", drop: 3), Part(formatSeconds(elapsed))]
        if let r = reported {
            parts.append(Part(" · epoch \(r.step)/\(r.of)"))
            for (n, (k, v)) in r.metrics.sorted(by: { $0.key < $1.key }).enumerated() {
                parts.append(Part(String(format: " %@ %.4g", k, v), drop: n == 0 ? 1 : 2))
            }
            if let tps = r.tokensPerSecond { parts.append(Part(String(format: " · %.0f tok/s", tps), drop: 5)) }
            if r.step > 0 { parts.append(Part(" · \(formatSeconds(elapsed / Double(r.step) * Double(max(r.of - r.step, 0)))) left")) }
        } else if let last = lastRun, last >= 1 {
            parts.append(elapsed < last ? Part(" · about \(formatSeconds(last - elapsed)) left") : Part(" · over the last run's"))
            parts.append(Part(" (\(formatSeconds(last)) last run)", drop: 4))
        }
        return StatusLine(parts: parts)
    }
}
