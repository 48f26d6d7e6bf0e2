import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` once and keeps what it returns in the build's cache; later builds whose inputs up
/// to this block are the same skip `body` and load the stored value:
///
///     let model = checkpoint("seq-model") { train(...) }
///
/// The key is the source of every block before this one and of this block up to the end of the
/// call, plus params, profile, seed, engine, compiler, kernels and data files (the runner
/// computes it; `line` finds the call). What the
/// closure shows, records and prints is kept too and replayed on restore, so the page is the
/// same either way; the page says which values were restored and when they were computed.
/// The closure must not make checks (`verify`, `verifyGradient`): a restored check would claim
/// something this build did not check, so the block fails and says so. State the closure
/// changes outside its return value (a generator it advanced, a global) is not restored: let
/// the closure create what it uses. `rnnbook build --force` recomputes every checkpoint;
/// `rnnbook clean --checkpoints` deletes them.
public func checkpoint<Value: Codable>(_ name: String, line: UInt = #line, _ body: () throws -> Value) rethrows -> Value {
    try BookContext.shared.checkpoint(name, line: Int(line), body)
}

/// The same for a closure that returns a pair, such as `(model, reports)`.
public func checkpoint<A: Codable, B: Codable>(_ name: String, line: UInt = #line, _ body: () throws -> (A, B)) rethrows -> (A, B) {
    let pair = try BookContext.shared.checkpoint(name, line: Int(line)) { () throws -> CodablePair<A, B> in
        let (a, b) = try body()
        return CodablePair(first: a, second: b)
    }
    return (pair.first, pair.second)
}

/// A property list's top level must be a container; a checkpoint may hold a plain number.
struct Boxed<Value: Codable>: Codable {
    var value: Value
}

struct CodablePair<A: Codable, B: Codable>: Codable {
    var first: A
    var second: B
}

/// One stored checkpoint: the value and what the closure emitted while it ran.
struct StoredCheckpoint: Codable {
    var name: String
    var valueType: String
    var computedAt: String
    var seconds: Double
    var value: Data
    var events: [ChannelEvent]
    var stdout: Data
    var stderr: Data
}

/// Why a checkpoint could not be used as written.
struct CheckpointError: Error, Equatable, CustomStringConvertible {
    var description: String
}

extension BookContext {
    /// A checkpoint's name, if it may be one: it becomes part of a file name.
    static func checkpointNameProblem(_ name: String) -> CheckpointError? {
        let allowed = !name.isEmpty && name.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_".unicodeScalars.contains($0))
        }
        return allowed ? nil : CheckpointError(description: "checkpoint name '\(name)': expected ASCII letters, digits, '-' or '_' (e.g. \"seq-model\")")
    }

    /// `checkpoint(name, line:)`: the value restored or computed, and what became of it on the
    /// channel; a misuse (a bad name, checks inside the closure) fails the block.
    func checkpoint<Value: Codable>(_ name: String, line: Int, _ body: () throws -> Value) rethrows -> Value {
        switch try checkpointValue(name, line: line, body) {
        case .success(let value): return value
        case .failure(let error): failBlock(error.description)
        }
    }

    /// The same, with a misuse returned rather than failing the block (tests call this).
    func checkpointValue<Value: Codable>(_ name: String, line: Int, _ body: () throws -> Value) rethrows -> Result<Value, CheckpointError> {
        let block = currentBlock
        if let problem = Self.checkpointNameProblem(name) { return .failure(problem) }
        if SideBySideTask.current != nil { return .failure(CheckpointError(description: SideBySideTask.checkpointProblem(name))) }
        // The same name twice in one run (a checkpoint in a loop) keeps one value per call.
        let call = nextCheckpointCall(name)
        // A program run by hand (no runner), or in a sandbox, simply runs the closure.
        guard let configuration = checkpoints, let blockKey = configuration.key(block: block, line: line) else {
            let value = try body()
            if let checkpointProblem {
                emit(.checkpoint(CheckpointNote(block: block, name: name, restored: false,
                                                computedAt: ISO8601DateFormatter().string(from: Date()), seconds: 0,
                                                note: "not stored: \(checkpointProblem)")))
            }
            return .success(value)
        }
        let file = URL(fileURLWithPath: configuration.directory)
            .appendingPathComponent("\(blockKey.prefix(40)).\(name).\(call).checkpoint")
        var note: String?
        if configuration.restore, let data = FileManager.default.contents(atPath: file.path) {
            do {
                let stored = try PropertyListDecoder().decode(StoredCheckpoint.self, from: data)
                let value = try PropertyListDecoder().decode(Boxed<Value>.self, from: stored.value).value
                if let problem = replay(stored, block: block) { return .failure(problem) }
                // Recently used: the last to be dropped when the folder is trimmed.
                try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: file.path)
                emit(.checkpoint(CheckpointNote(block: block, name: name, restored: true,
                                                computedAt: stored.computedAt, seconds: stored.seconds)))
                return .success(value)
            } catch {
                note = "the stored value could not be read (\(error)); computed again"
            }
        } else if !configuration.restore {
            note = "--force: computed again"
        }

        let startedAt = ISO8601DateFormatter().string(from: Date())
        let clock = monotonicSeconds()
        // Where the captured streams stand, to keep what the closure prints (a test's streams
        // are not captured files: it keeps none).
        fflush(nil)
        let out = ownsProcess ? lseek(1, 0, SEEK_CUR) : -1, err = ownsProcess ? lseek(2, 0, SEEK_CUR) : -1
        beginRecording()
        let value: Value
        do { value = try body() } catch {
            _ = endRecording()
            throw error
        }
        let events = endRecording()
        fflush(nil)
        let seconds = monotonicSeconds() - clock
        let checks = events.compactMap { e -> String? in if case .check(let f) = e { f.label } else { nil } }
        if !checks.isEmpty {
            return .failure(CheckpointError(description: "checkpoint '\(name)': its closure made checks (\(checks.joined(separator: ", "))); a restored value would show checks this build did not make. Move verify/verifyGradient after the checkpoint."))
        }
        let stored = StoredCheckpoint(name: name, valueType: String(describing: Value.self), computedAt: startedAt,
                                      seconds: seconds, value: Data(), events: events,
                                      stdout: Self.bytes(of: 1, from: out), stderr: Self.bytes(of: 2, from: err))
        do {
            var complete = stored
            let encoder = PropertyListEncoder()
            encoder.outputFormat = .binary
            complete.value = try encoder.encode(Boxed(value: value))
            try FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
            let temporary = file.appendingPathExtension("tmp-\(getpid())")
            try encoder.encode(complete).write(to: temporary)
            guard rename(temporary.path, file.path) == 0 else {
                try? FileManager.default.removeItem(at: temporary)
                throw CocoaError(.fileWriteUnknown)
            }
            trim(name: name, in: configuration)
        } catch {
            note = (note.map { $0 + "; " } ?? "") + "not stored: \(error)"
        }
        emit(.checkpoint(CheckpointNote(block: block, name: name, restored: false, computedAt: startedAt,
                                        seconds: seconds, note: note)))
        return .success(value)
    }

    /// Emits again what the closure emitted when it ran, in this block: its output and metrics
    /// (a checkpoint nested in it was restored with it, so its own note is not repeated).
    /// Returns why it could not, if a restored metric was recorded before.
    private func replay(_ stored: StoredCheckpoint, block: Int) -> CheckpointError? {
        fflush(nil)
        writeAll(1, Array(stored.stdout))
        writeAll(2, Array(stored.stderr))
        for event in stored.events {
            switch event {
            case .output(_, let o): emit(.output(block: block, o))
            case .metric(_, let name, let value):
                if let first = noteMetric(name, at: "block \(block + 1) (restored from checkpoint)") {
                    return CheckpointError(description: "metric '\(name)' was already recorded at \(first); the restored checkpoint records it again")
                }
                emit(.metric(block: block, name: name, value: value))
            default: break
            }
        }
        return nil
    }

    /// Keeps the `keepPerName` most recently used values of checkpoint `name`.
    private func trim(name: String, in configuration: CheckpointConfiguration) {
        let fm = FileManager.default
        let suffix = ".\(name)."
        guard let names = try? fm.contentsOfDirectory(atPath: configuration.directory) else { return }
        let mine = names.filter { $0.contains(suffix) && $0.hasSuffix(".checkpoint") }.map { n -> (String, Date) in
            let path = configuration.directory + "/" + n
            return (path, ((try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast)
        }
        for (path, _) in mine.sorted(by: { $0.1 > $1.1 }).dropFirst(max(1, configuration.keepPerName)) {
            try? fm.removeItem(atPath: path)
        }
    }

    /// What the program wrote on `fd` since `offset` (the runner captures the streams in files).
    private static func bytes(of fd: Int32, from offset: off_t) -> Data {
        let end = lseek(fd, 0, SEEK_CUR)
        guard offset >= 0, end > offset else { return Data() }
        let reader = open("/proc/self/fd/\(fd)", O_RDONLY)
        guard reader >= 0 else { return Data() }
        defer { close(reader) }
        var data = Data(count: Int(end - offset))
        let read = data.withUnsafeMutableBytes { pread(reader, $0.baseAddress, $0.count, offset) }
        return read == data.count ? data : Data()
    }
}
