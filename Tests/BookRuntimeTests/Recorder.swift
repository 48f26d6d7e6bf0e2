import BookProtocol
@testable import BookRuntime
import Foundation
import Synchronization
import Testing

/// A chapter's runtime context whose side channel is kept in memory: the chapter-facing API runs
/// against it in-process (`run`), and `events()` opens each line with the seal and decodes it,
/// as the runner's reader does.
final class Recorder: Sendable {
    let seal: ChannelSeal
    let context: BookContext
    /// What the context wrote, line by line (each with its newline).
    private let sink: Lines

    init(params: BookContext.ParamSource = .byHand, checkpoints: CheckpointConfiguration? = nil,
         checkpointProblem: String? = nil) {
        let seal = ChannelSeal.random(), lines = Lines()
        self.seal = seal
        sink = lines
        context = BookContext(channel: .init(seal: seal, write: { lines.append($0) }), params: params,
                              checkpoints: checkpoints, checkpointProblem: checkpointProblem)
    }

    final class Lines: Sendable {
        let lines = Mutex<[[UInt8]]>([])
        func append(_ line: [UInt8]) -> Bool { lines.withLock { $0.append(line) }; return true }
    }

    /// Runs `body` with this recorder's context as the chapter's.
    func run<R>(_ body: () throws -> R) rethrows -> R {
        try BookContext.$injected.withValue(context, operation: body)
    }

    var rawLines: [[UInt8]] { sink.lines.withLock { $0 } }

    /// Every line so far, opened in sequence and decoded; a line that does not open under the
    /// seal at its sequence number, or does not end in a newline, is an error.
    func events() throws -> [ChannelEvent] {
        try rawLines.enumerated().map { n, line in
            guard line.last == 0x0A else { throw ChannelProblem(description: "line \(n) does not end in a newline") }
            guard let body = seal.open(sequence: UInt64(n), line: line.dropLast()) else {
                throw ChannelProblem(description: "line \(n) does not open under the seal at sequence \(n)")
            }
            return try ChannelCoding.decoder().decode(ChannelEvent.self, from: Data(body))
        }
    }

    /// The findings of the check events so far.
    func findings() throws -> [Finding] {
        try events().compactMap { if case .check(let f) = $0 { f } else { nil } }
    }
}

struct ChannelProblem: Error, CustomStringConvertible {
    var description: String
}

/// A fresh folder under the temporary directory, removed by the caller.
func temporaryFolder(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-runtime-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
