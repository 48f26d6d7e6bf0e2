import BookProtocol
import Crypto
import Foundation

/// Which edition of the book a build writes. Both run the same program (the exercises'
/// reference solutions and their checks included, so the book is verified either way); they
/// differ in what reaches `output/`.
public enum Edition: String, Sendable, CaseIterable, Codable {
    /// Solutions shown, collapsed; everything the run printed.
    case instructor
    /// No solution text anywhere in the output folder: not in the pages, not in the JSON, not
    /// in the cache (kept outside the folder, see `privateCacheDirectory`). Starters shown;
    /// exercise checks shown with their names and verdicts only.
    case student
}

extension Edition {
    /// The result as this edition may publish it. The instructor edition publishes all of it.
    /// The student edition keeps every verdict (the page still says what was checked) but
    /// drops what the reference solutions and their checks printed, showed or recorded, the
    /// details of their findings (found values, differences, compiler or crash text that may
    /// quote a solution), the metrics they recorded, and the checkpoints they made (a
    /// checkpoint's name is written in the solution).
    public func view(of result: ChapterResult?, chapter: Chapter) -> ChapterResult? {
        guard var result, self == .student, !chapter.exercises.isEmpty else { return result }
        let withheld = chapter.withheldBlockIndices
        let withheldLines = chapter.codeBlocks.filter { $0.index.map(withheld.contains) ?? false }.map { b in
            (b.location.file, b.location.line..<(b.location.line + max(b.code.split(separator: "\n", omittingEmptySubsequences: false).count, 1)))
        }
        let hiddenMetrics = Set((result.metricBlocks ?? [:]).filter { withheld.contains($0.value) }.keys)
        for k in result.blocks.indices where withheld.contains(result.blocks[k].index) {
            result.blocks[k].stdout = ""
            result.blocks[k].stderr = ""
            result.blocks[k].outputs = []
            if result.blocks[k].error != nil { result.blocks[k].error = Self.withheldMessage(passed: false) }
        }
        for name in hiddenMetrics { result.metrics[name] = nil }
        result.checkpoints = result.checkpoints?.filter { !withheld.contains($0.block) }
        result.findings = result.findings.map { f in
            let inWithheldBlock = f.block.map(withheld.contains) ?? false
            let inWithheldLines = f.block == nil && withheldLines.contains { file, lines in
                (f.file ?? chapter.path) == file && f.line.map(lines.contains) == true
            }
            let aboutHiddenMetric = (f.kind == .claim || f.kind == .value) && hiddenMetrics.contains(f.label)
            guard inWithheldBlock || inWithheldLines || aboutHiddenMetric, f.verdict != .notChecked else { return f }
            return Finding(kind: f.kind, label: f.label, verdict: f.verdict, file: f.file, line: f.line, column: f.column,
                           message: Self.withheldMessage(passed: f.passed), block: f.block)
        }
        return result
    }

    static func withheldMessage(passed: Bool) -> String {
        passed ? "passed with the reference solution in this build (the student edition does not show its values)"
            : "failed with the reference solution in this build; the instructor edition shows why"
    }
}

extension OutputFolder {
    static let editionName = ".rnnbook-edition"

    /// Records which edition the folder holds, refusing to mix them: a student build into a
    /// folder that holds the instructor edition (its pages, JSON and cache show solutions) would
    /// leave solutions behind. A folder without the record that already holds a build holds the
    /// instructor edition (the only one before editions existed).
    public func claim(_ edition: Edition) throws {
        let file = url.appendingPathComponent(Self.editionName)
        let fm = FileManager.default
        let recorded = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let names = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
        let holdsBuild = names.contains { $0.hasSuffix(".html") || $0.hasSuffix(".json") || $0 == ".cache" }
        let current = recorded.flatMap(Edition.init(rawValue:)) ?? (holdsBuild ? .instructor : nil)
        if let current, current != edition {
            throw BookError("output folder \(url.path) holds the \(current.rawValue) edition; write the \(edition.rawValue) edition to another folder (-o \(edition.rawValue)) or empty this one with `rnnbook clean -o \(url.path)` first")
        }
        if recorded != edition.rawValue {
            do { try Data("\(edition.rawValue)\n".utf8).write(to: file) } catch {
                throw BookError("cannot write \(file.path): \(error.localizedDescription)")
            }
        }
    }

    /// Where the student edition keeps its cache (compiled programs, full results): outside the
    /// folder, which is published, under `$XDG_CACHE_HOME/rnnbook/private/` (else
    /// `~/.cache/rnnbook/private/`), one folder per output folder.
    public var privateCacheDirectory: URL {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache")
        let digest = SHA256.hash(data: Data(url.path.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
        return base.appendingPathComponent("rnnbook/private/\(url.lastPathComponent)-\(digest)")
    }
}
