import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Running a chapter's program: its environment, live progress, timeouts, the side channel.
extension ChapterRunner {
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
