import BookData
import BookProtocol
import Foundation

/// The data files a chapter reads: declared in its front matter (`data:`), the only source.
/// Before the program runs, the runner finds and verifies them (`DataStore`: `$RNNBOOK_DATA`,
/// else the cache, else a download) and hands the program their folder as `RNNBOOK_DATA`; a
/// chapter that declares none is handed none.
extension ChapterRunner {
    /// The catalog's files the front matter declares (the parser rejects any other name).
    func declaredData(of chapter: Chapter) -> [DataFile] {
        Set(chapter.dataFiles ?? []).sorted().compactMap(DataFile.named)
    }

    /// Where each declared file is read from (unverified: a missing one is hashed as missing).
    /// Their contents are part of the cache key, so a changed corpus reruns the chapter.
    func dataFiles(for chapter: Chapter) -> [URL] {
        let store = DataStore()
        return declaredData(of: chapter).map { store.location(of: $0) }
    }

    /// What the program's environment gets: `RNNBOOK_DATA` set to the folder of the verified
    /// declared files, or emptied when the chapter declares none (so an undeclared read fails
    /// at once instead of depending on the caller's environment). A file that cannot be found
    /// or verified is a finding at the front matter's `data:` line.
    func dataHandover(for chapter: Chapter, source: String, work: URL) -> Result<[String: String], BookError> {
        let files = declaredData(of: chapter)
        guard !files.isEmpty else { return .success([DataStore.environmentVariable: ""]) }
        do {
            let folder = try DataStore().handoverFolder(for: files, scratch: work.appendingPathComponent("data"))
            return .success([DataStore.environmentVariable: folder?.path ?? ""])
        } catch {
            return .failure(BookError("data \(files.map(\.name).joined(separator: ", ")): \(error)",
                                      at: frontMatterKeyLocation("data", in: source, file: chapter.path)))
        }
    }
}

/// Each call in the chapter's code to a reader of a data file the front matter does not declare
/// (`CharacterCorpus.timeMachine` without `data: timemachine.txt`), at the call's line and column.
func undeclaredDataReads(in chapter: Chapter) -> [BookError] {
    let declared = Set(chapter.dataFiles ?? [])
    var errors: [BookError] = []
    for file in DataFile.catalog where !declared.contains(file.name) {
        for block in chapter.codeBlocks where block.language == "swift" {
            for (reader, line, column) in calls(to: file.readers, in: block.code) {
                let at = SourceLocation(file: block.location.file, line: block.location.line + line, column: block.location.column + column - 1)
                errors.append(BookError("'\(reader)' reads \(file.name), which the front matter does not declare; add `data: \(file.name)` to the chapter's front matter (the `data` key lists the data files a chapter reads, which rnnbook fetches, checks and hands to its program)", at: at))
            }
        }
    }
    return errors.sorted { ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0) }
}

/// Where `names` (dotted, such as `TimeMachine.loadText`) occur in `code` outside comments and
/// string literals, as whole names: (name, 0-based line, 1-based column).
func calls(to names: [String], in code: String) -> [(String, Int, Int)] {
    let c = Array(code.unicodeScalars)
    func isIdentifier(_ s: Unicode.Scalar) -> Bool { s == "_" || s.properties.isAlphabetic || ("0"..."9").contains(s) }
    func at(_ k: Int, _ s: [Unicode.Scalar]) -> Bool { k + s.count <= c.count && Array(c[k..<(k + s.count)]) == s }
    let targets = names.map { ($0, Array($0.unicodeScalars)) }
    var found: [(String, Int, Int)] = []
    var i = 0, line = 0, lineStart = 0
    func advance(to k: Int) {
        for j in i..<min(k, c.count) where c[j] == "\n" { line += 1; lineStart = j + 1 }
        i = min(k, c.count)
    }
    while i < c.count {
        if at(i, Array("//".unicodeScalars)) {
            var k = i; while k < c.count && c[k] != "\n" { k += 1 }; advance(to: k); continue
        }
        if at(i, Array("/*".unicodeScalars)) {
            var k = i + 2; while k < c.count && !at(k, Array("*/".unicodeScalars)) { k += 1 }; advance(to: k + 2); continue
        }
        if at(i, Array("\"\"\"".unicodeScalars)) {
            var k = i + 3; while k < c.count && !at(k, Array("\"\"\"".unicodeScalars)) { k += c[k] == "\\" ? 2 : 1 }; advance(to: k + 3); continue
        }
        if c[i] == "\"" {
            var k = i + 1; while k < c.count && c[k] != "\"" && c[k] != "\n" { k += c[k] == "\\" ? 2 : 1 }; advance(to: k + 1); continue
        }
        if i == 0 || !isIdentifier(c[i - 1]) {
            if let match = targets.first(where: { at(i, $0.1) && (i + $0.1.count == c.count || !isIdentifier(c[i + $0.1.count])) }) {
                found.append((match.0, line, i - lineStart + 1))
                advance(to: i + match.1.count)
                continue
            }
        }
        advance(to: i + 1)
    }
    return found
}

/// Where the front matter's `key:` line is (line 1 when the key is not found).
func frontMatterKeyLocation(_ key: String, in source: String, file: String) -> SourceLocation {
    let lines = source.components(separatedBy: "\n")
    guard lines.first?.trimmingCharacters(in: .whitespaces) == "---" else { return SourceLocation(file: file, line: 1) }
    for (n, text) in lines.enumerated().dropFirst() {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "---" || t == "..." { break }
        if text.hasPrefix(key + ":") { return SourceLocation(file: file, line: n + 1) }
    }
    return SourceLocation(file: file, line: 1)
}
