import Foundation
import BookProtocol

/// Results keyed by everything they depend on, under `output/.cache/`. The runner does not
/// store results that a busy machine could change (timeouts).
struct ResultCache: Sendable {
    var directory: URL

    private func entry(_ slug: String) -> URL { directory.appendingPathComponent("\(slug).result.json") }
    private func keyFile(_ slug: String) -> URL { directory.appendingPathComponent("\(slug).key") }

    func result(for slug: String, key: String) -> ChapterResult? {
        guard let stored = try? String(contentsOf: keyFile(slug), encoding: .utf8), stored == key,
              let data = try? Data(contentsOf: entry(slug)) else { return nil }
        return try? resultDecoder().decode(ChapterResult.self, from: data)
    }

    func store(_ result: ChapterResult, for slug: String, key: String) {
        guard let data = try? resultEncoder().encode(result) else { return }
        // Result first, then key: a crash in between leaves a key that does not match.
        try? FileManager.default.removeItem(at: keyFile(slug))
        try? writeAtomically(data, to: entry(slug))
        try? writeAtomically(Data(key.utf8), to: keyFile(slug))
    }
}

/// Results use the side channel's JSON dialect (non-finite errors as strings), pretty-printed.
func resultEncoder() -> JSONEncoder {
    let e = ChannelCoding.encoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return e
}

func resultDecoder() -> JSONDecoder { ChannelCoding.decoder() }
