import BookProtocol
import Crypto
import Foundation

/// What a chapter's run depends on, one named part at a time: its runnable blocks (code and
/// the options that change what runs), its labelled equations (the program checks them),
/// params, profile, seed, engine, compiler, kernels and data files. Not the prose, unlabelled
/// maths, claims, `output` blocks (compared by the runner against the kept stdout), `hide`,
/// where anything sits in the file, or timeouts (a run that passed in time stays passed).
/// Kept with each cached run, so that a rerun can say which part changed.
struct RunInputs: Codable, Equatable, Sendable {
    struct Part: Codable, Equatable, Sendable {
        var name: String
        var value: String
    }
    var parts: [Part]

    /// The run's cache key: a hash of every part.
    var key: String { digest(parts.map { "\($0.name)=\($0.value)" }) }

    subscript(name: String) -> String? { parts.first { $0.name == name }?.value }

    /// What differs from `old`, in words: `param num_epochs 500 → 50`, `block 5 changed`.
    func changes(since old: RunInputs) -> [String] {
        var out: [String] = []
        var changedBlocks: [String] = []
        let names = parts.map(\.name) + old.parts.map(\.name).filter { self[$0] == nil }
        for name in names {
            let now = self[name], before = old[name]
            guard now != before else { continue }
            if name.hasPrefix("block ") {
                let number = String(name.dropFirst(6))
                changedBlocks.append(now == nil ? "\(number) (removed)" : before == nil ? "\(number) (added)" : number)
                continue
            }
            let shown = ["profile", "seed", "chapter", "kernels"].contains(name) || name.hasPrefix("param ")
            switch (before, now) {
            case (nil, _): out.append("\(name) added")
            case (_, nil): out.append("\(name) removed")
            case (let b?, let n?) where shown: out.append("\(name) \(b) → \(n)")
            case _ where name == "engine": out.append("engine rebuilt")
            default: out.append("\(name) changed")
            }
        }
        if !changedBlocks.isEmpty {
            out.insert("block\(changedBlocks.count == 1 ? "" : "s") \(changedBlocks.joined(separator: ", ")) changed", at: 0)
        }
        return out
    }
}

/// Where a run's blocks and labelled equations sat in the Markdown when it ran, so that a run
/// restored after a prose edit has its lines moved to where they are now.
struct RunLayout: Codable, Equatable, Sendable {
    /// Runnable block index -> first code line and number of lines.
    var blocks: [Int: [Int]]
    /// Equation label -> line.
    var equations: [String: Int]

    init(_ chapter: Chapter) {
        blocks = [:]
        for b in chapter.codeBlocks { if let i = b.index { blocks[i] = [b.location.line, b.code.split(separator: "\n", omittingEmptySubsequences: false).count] } }
        equations = [:]
        for e in chapter.equations { if let label = e.label { equations[label] = e.location.line } }
    }

    /// Maps a line of the old layout to the new one: lines inside a block move with the block,
    /// an equation's line follows its label; other lines stay.
    func lineMap(to new: RunLayout) -> (Int) -> Int {
        if self == new { return { $0 } }
        var moves: [(range: ClosedRange<Int>, delta: Int)] = []
        for (i, old) in blocks { if let now = new.blocks[i], old.count == 2 { moves.append((old[0]...(old[0] + old[1]), now[0] - old[0])) } }
        var exact: [Int: Int] = [:]
        for (label, line) in equations { if let now = new.equations[label] { exact[line] = now } }
        return { line in
            if let m = moves.first(where: { $0.range.contains(line) }) { return line + m.delta }
            return exact[line] ?? line
        }
    }
}

/// One cached run: the compiler's verdict and what the program did, before any judging of the
/// prose, so that the page can be judged again from it.
struct RunRecord: Codable {
    var inputs: RunInputs
    var layout: RunLayout
    var compile: CompileVerdict
    var run: RunOutcome
    var params: [String: ParamValue]
    var versions: VersionInfo
    var machine: String
    var startedAt: String
    var seconds: Double
    var compileSeconds: Double
    /// The files the program read beyond the run key (see `ObservedInputs`).
    var observed: ObservedInputs? = nil

    /// The record with every Markdown line moved to the chapter's current layout.
    func relocated(to chapter: Chapter) -> RunRecord {
        let map = layout.lineMap(to: RunLayout(chapter))
        var copy = self
        copy.layout = RunLayout(chapter)
        if copy.layout == layout { return copy }
        let path = chapter.path
        func text(_ s: String) -> String { relocateLines(in: s, file: path, map: map) }
        func finding(_ f: Finding) -> Finding {
            var f = f
            if f.file == nil || f.file == path, let line = f.line { f.line = map(line) }
            f.message = text(f.message)
            return f
        }
        copy.compile.problems = compile.problems.map(finding)
        copy.compile.blockErrors = compile.blockErrors.mapValues { e in
            var e = e
            e.text = text(e.text)
            if let l = e.location { e.location = SourceLocation(file: l.file, line: map(l.line), column: l.column) }
            return e
        }
        copy.compile.expectedFailures = compile.expectedFailures.mapValues(text)
        copy.run.events = run.events.map { e in if case .check(let f) = e { .check(finding(f)) } else { e } }
        return copy
    }
}

/// `file:LINE` occurrences in `text` with LINE mapped.
func relocateLines(in text: String, file: String, map: (Int) -> Int) -> String {
    guard text.contains(file + ":") else { return text }
    var out = ""
    var rest = Substring(text)
    while let r = rest.range(of: file + ":") {
        out += rest[..<r.upperBound]
        rest = rest[r.upperBound...]
        let digits = rest.prefix(while: \.isASCII).prefix(while: \.isNumber)
        if let line = Int(digits) { out += String(map(line)); rest = rest.dropFirst(digits.count) }
    }
    return out + rest
}

func digest(_ items: [String]) -> String {
    var hasher = SHA256()
    for s in items { hasher.update(data: Data(s.utf8)); hasher.update(data: Data([0])) }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}

/// Cached runs under `output/.cache/runs/<slug>/`: several per chapter (at most `capacity`), so
/// that reverting an edit or switching a profile back finds its run; the least recently used
/// goes first, but never the most recent passing run. Each run is `<key>.run.json`; the
/// chapter's `index.json` holds the keys, when each was last used, and their inputs. Every
/// file is written atomically; a crash between the two writes leaves a run no index names
/// (removed the next time) or an index entry whose run is missing (a miss).
struct RunCache: Sendable {
    var directory: URL
    var capacity = 8

    struct Entry: Codable {
        var key: String
        var lastUsed: Date
        var passed: Bool
        var inputs: RunInputs
        /// Hash of the chapter source the page was last judged from, to tell a restored page
        /// from a re-rendered one.
        var pageSource: String
    }
    struct Index: Codable { var entries: [Entry] = [] }

    private func folder(_ slug: String) -> URL { directory.appendingPathComponent("runs/\(slug)") }
    private func indexFile(_ slug: String) -> URL { folder(slug).appendingPathComponent("index.json") }
    private func runFile(_ slug: String, _ key: String) -> URL { folder(slug).appendingPathComponent("\(key).run.json") }

    func index(_ slug: String) -> Index {
        (try? Data(contentsOf: indexFile(slug))).flatMap { try? JSONDecoder().decode(Index.self, from: $0) } ?? Index()
    }

    /// The most recently used run's inputs, to say what changed on a miss.
    func latestInputs(_ slug: String) -> RunInputs? {
        index(slug).entries.max { $0.lastUsed < $1.lastUsed }?.inputs
    }

    /// How long each runnable block (by index in `inputs`) took in the most recently used kept
    /// run with the same profile, seed, params and kernels, where that run had the block with the
    /// same code; for the progress line of a block that reports none of its own.
    func lastBlockSeconds(_ slug: String, like inputs: RunInputs) -> [Int: Double] {
        func sameSettings(_ other: RunInputs) -> Bool {
            let names = Set((inputs.parts + other.parts).map(\.name).filter { ["profile", "seed", "kernels"].contains($0) || $0.hasPrefix("param ") })
            return names.allSatisfy { inputs[$0] == other[$0] }
        }
        guard let entry = index(slug).entries.filter({ sameSettings($0.inputs) }).max(by: { $0.lastUsed < $1.lastUsed }),
              let data = try? Data(contentsOf: runFile(slug, entry.key)),
              let record = try? resultDecoder().decode(RunRecord.self, from: data) else { return [:] }
        var seconds: [String: Double] = [:]
        for case .blockEnd(let i, let s) in record.run.events {
            if let code = entry.inputs["block \(i + 1)"] { seconds[code] = s }
        }
        var out: [Int: Double] = [:]
        for part in inputs.parts where part.name.hasPrefix("block ") {
            if let n = Int(part.name.dropFirst(6)), let s = seconds[part.value] { out[n - 1] = s }
        }
        return out
    }

    /// Held around each change of a chapter's index: the points of a grid, run side by side
    /// (`--jobs`, or Slurm tasks on one folder), store their runs at the same time.
    private func indexLock(_ slug: String) -> FileLock? { FileLock(folder(slug).appendingPathComponent("index.lock")) }

    /// The run stored under `key`, and the source its page was last judged from; marks it used.
    func run(for slug: String, key: String, pageSource: String) -> (record: RunRecord, samePage: Bool)? {
        let lock = indexLock(slug)
        defer { lock?.release() }
        var index = self.index(slug)
        guard let i = index.entries.firstIndex(where: { $0.key == key }),
              let data = try? Data(contentsOf: runFile(slug, key)),
              let record = try? resultDecoder().decode(RunRecord.self, from: data) else { return nil }
        let samePage = index.entries[i].pageSource == pageSource
        index.entries[i].lastUsed = Date()
        index.entries[i].pageSource = pageSource
        try? save(index, slug)
        return (record, samePage)
    }

    func store(_ record: RunRecord, for slug: String, passed: Bool, pageSource: String) {
        let key = record.inputs.key
        guard let data = try? resultEncoder().encode(record) else { return }
        // The run file too is written under the lock: another run storing at the same time
        // removes every run file its index does not name.
        let lock = indexLock(slug)
        defer { lock?.release() }
        do {
            try FileManager.default.createDirectory(at: folder(slug), withIntermediateDirectories: true)
            try writeAtomically(data, to: runFile(slug, key))
        } catch { return }
        var index = self.index(slug)
        index.entries.removeAll { $0.key == key }
        index.entries.append(Entry(key: key, lastUsed: Date(), passed: passed, inputs: record.inputs, pageSource: pageSource))
        // The newest passing run survives any number of failing edits.
        let keep = index.entries.filter(\.passed).max { $0.lastUsed < $1.lastUsed }?.key
        while index.entries.count > max(capacity, 2) {
            guard let victim = index.entries.filter({ $0.key != key && $0.key != keep }).min(by: { $0.lastUsed < $1.lastUsed }) else { break }
            index.entries.removeAll { $0.key == victim.key }
        }
        try? save(index, slug)
        // Runs no index entry names: evicted ones, and any left by a crash.
        let named = Set(index.entries.map { "\($0.key).run.json" })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder(slug).path)) ?? []
        where name.hasSuffix(".run.json") && !named.contains(name) {
            try? FileManager.default.removeItem(at: folder(slug).appendingPathComponent(name))
        }
        // The one-entry cache of earlier versions.
        for old in ["\(slug).result.json", "\(slug).key"] { try? FileManager.default.removeItem(at: directory.appendingPathComponent(old)) }
    }

    private func save(_ index: Index, _ slug: String) throws {
        try writeAtomically(try JSONEncoder.index.encode(index), to: indexFile(slug))
    }
}

private extension JSONEncoder {
    static var index: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}

/// Results use the side channel's JSON dialect (non-finite errors as strings), pretty-printed.
func resultEncoder() -> JSONEncoder {
    let e = ChannelCoding.encoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return e
}

func resultDecoder() -> JSONDecoder { ChannelCoding.decoder() }
