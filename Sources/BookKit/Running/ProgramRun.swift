import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Running a chapter's program: its environment, live progress, timeouts, the side channel.
extension ChapterRunner {
    func runProgram(_ executable: String, chapter: Chapter, params: [String: ParamValue], work: URL, terminal: Terminal,
                    environment extra: [String: String] = [:]) -> RunOutcome {
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
        env.merge(extra) { _, new in new }
        // Crash reports name the Markdown line; keep them plain and bounded.
        env["SWIFT_BACKTRACE"] = env["SWIFT_BACKTRACE"] ?? "enable=yes,interactive=no,color=no,limit=24,top=8,sanitize=yes,threads=crashed,registers=none,images=none"
        let chapterTimeout = effectiveTimeout(chapter)
        let runnableCount = chapter.codeBlocks.filter { $0.index != nil }.count
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
                // A runaway print loop is stopped here, not when the disk is full.
                for (stream, path) in [("stdout", outPath), ("stderr", errPath)] where fileSize(path) > maxOutputBytesPerStream {
                    return .outputLimit(stream: stream, bytes: maxOutputBytesPerStream)
                }
                for event in reader.readNew() {
                    switch event {
                    case .blockStart(let index, _, _): currentBlock = (index, elapsed)
                    case .progress(let block, let step, let of, let metrics, let tps): lastProgress = (block, step, of, metrics, tps)
                    default: break
                    }
                }
                if let b = currentBlock {
                    var line = "\(chapter.path): block \(b.index + 1)/\(runnableCount) \(formatSeconds(elapsed - b.since))"
                    if let p = lastProgress, p.block == b.index {
                        line += " · epoch \(p.step)/\(p.of)"
                        for (k, v) in p.metrics.sorted(by: { $0.key < $1.key }) { line += String(format: " %@ %.4g", k, v) }
                        if let tps = p.tps { line += String(format: " · %.0f tok/s", tps) }
                        if p.step > 0 { line += " · ETA \(formatSeconds((elapsed - b.since) / Double(p.step) * Double(p.of - p.step)))" }
                    }
                    terminal.status(line, chapter: chapter.path)
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
        var events = ChannelReader(path: channelPath).readNew()
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
