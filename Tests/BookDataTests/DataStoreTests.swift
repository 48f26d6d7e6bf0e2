import BookData
import Foundation
import Testing

/// A fresh temporary folder, removed by the caller.
private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("Data files: found, verified, cached, handed over")
struct DataStoreTests {
    /// The real bytes (tests run with RNNBOOK_DATA=../shared/data, or a cache that holds them).
    static func goodBytes() throws -> Data { try DataStore().data(of: .timeMachine) }

    @Test func theTimeMachineHasTheCatalogsHashAndSize() throws {
        let good = try Self.goodBytes()
        #expect(good.count == DataFile.timeMachine.byteCount)
        #expect(sha1Hex(of: good) == DataFile.timeMachine.sha1)
        #expect(DataFile.named("timemachine.txt") == .timeMachine)
        #expect(DataFile.named("timemachine") == nil)
    }

    @Test func everyPathIsVerifiedAndTheErrorSaysWhereItLooked() throws {
        let good = try Self.goodBytes()
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let cache = tmp.appendingPathComponent("cache")
        // Nothing anywhere, download fails: the error lists the places.
        do {
            _ = try DataStore(environment: [:], cacheDirectory: cache, download: { _ in throw DataFileError("offline") })
                .data(of: .timeMachine)
            Issue.record("expected an error")
        } catch let e as DataFileError {
            #expect(e.message.contains("RNNBOOK_DATA: not set"))
            #expect(e.message.contains(cache.path))
            #expect(e.message.contains("offline"))
        }
        // A download of the right bytes lands in the cache and is then read from there.
        let fetched = try DataStore(environment: [:], cacheDirectory: cache, download: { _ in good }).data(of: .timeMachine)
        #expect(fetched == good)
        let offline = DataStore(environment: [:], cacheDirectory: cache, download: { _ in
            Issue.record("should not download"); return Data() })
        #expect(try offline.data(of: .timeMachine) == good)
        #expect(try offline.verifiedURL(of: .timeMachine) == cache.appendingPathComponent("timemachine.txt"))
        // A corrupt file in RNNBOOK_DATA is rejected with both hashes.
        let bad = tmp.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        try Data("not the book".utf8).write(to: bad.appendingPathComponent("timemachine.txt"))
        #expect {
            _ = try DataStore(environment: ["RNNBOOK_DATA": bad.path], cacheDirectory: cache).data(of: .timeMachine)
        } throws: { error in
            let m = (error as? DataFileError)?.message ?? ""
            return m.contains(DataFile.timeMachine.sha1) && m.contains(bad.path) && m.contains("Fix")
        }
        // A corrupt download is rejected too, and not cached.
        let other = tmp.appendingPathComponent("c2")
        #expect(throws: DataFileError.self) {
            _ = try DataStore(environment: [:], cacheDirectory: other, download: { _ in Data("corrupt".utf8) }).data(of: .timeMachine)
        }
        #expect(!FileManager.default.fileExists(atPath: other.appendingPathComponent("timemachine.txt").path))
    }

    /// The runner hands a program one folder: where the files are when that is one place
    /// (`$RNNBOOK_DATA`, or the cache when it is unset or empty, as under `grade`).
    @Test func theHandoverFolderIsWhereTheVerifiedFilesAre() throws {
        let good = try Self.goodBytes()
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let data = tmp.appendingPathComponent("data"), cache = tmp.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try good.write(to: data.appendingPathComponent("timemachine.txt"))
        let scratch = tmp.appendingPathComponent("scratch")
        let fromData = try DataStore(environment: ["RNNBOOK_DATA": data.path], cacheDirectory: cache)
            .handoverFolder(for: [.timeMachine], scratch: scratch)
        #expect(fromData?.standardizedFileURL.path == data.standardizedFileURL.path)
        // An empty RNNBOOK_DATA counts as unset: the file comes from (here: into) the cache.
        let fromCache = try DataStore(environment: ["RNNBOOK_DATA": ""], cacheDirectory: cache, download: { _ in good })
            .handoverFolder(for: [.timeMachine], scratch: scratch)
        #expect(fromCache?.standardizedFileURL.path == cache.standardizedFileURL.path)
        #expect(try DataStore(environment: [:], cacheDirectory: cache).handoverFolder(for: [], scratch: scratch) == nil)
        #expect(!FileManager.default.fileExists(atPath: scratch.path))
    }
}
