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
        result.findings = Self.renamingHiddenChecks(result.findings, chapter: chapter)
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

    /// The checks of hidden check blocks (```` ```swift check hide ````) under names that give
    /// nothing away: the block's `public="…"` name (numbered when the block makes several
    /// checks), else "hidden check 1", "hidden check 2", … in the order the exercise ran them.
    /// Their own names are the author's words about the answer ("epochs to get below 12").
    /// Checks of the chapter's labelled equations keep their label, which the page shows anyway.
    static func renamingHiddenChecks(_ findings: [Finding], chapter: Chapter) -> [Finding] {
        let hidden = Dictionary(chapter.codeBlocks.compactMap { b -> (Int, CodeBlock)? in
            guard let i = b.index, b.options.role == .check, !b.options.showCode else { return nil }
            return (i, b)
        }, uniquingKeysWith: { a, _ in a })
        guard !hidden.isEmpty else { return findings }
        let equations = Set(chapter.equations.compactMap(\.label))
        /// The hidden block a check of it was made in: its block, else the block its line is in.
        func hiddenBlock(_ f: Finding) -> Int? {
            guard f.kind.isCheck, !equations.contains(f.label) else { return nil }
            if let b = f.block { return hidden[b] == nil ? nil : b }
            guard let line = f.line else { return nil }
            return hidden.first { _, b in
                (f.file ?? chapter.path) == b.location.file
                    && (b.location.line..<(b.location.line + b.code.split(separator: "\n", omittingEmptySubsequences: false).count + 2)).contains(line)
            }?.key
        }
        var perBlock: [Int: Int] = [:]
        for f in findings { if let b = hiddenBlock(f) { perBlock[b, default: 0] += 1 } }
        var unnamed: [String: Int] = [:], named: [Int: Int] = [:]
        return findings.map { f in
            guard let block = hiddenBlock(f), let code = hidden[block] else { return f }
            let label: String
            if let name = code.options.publicName {
                named[block, default: 0] += 1
                label = perBlock[block, default: 0] > 1 ? "\(name) \(named[block]!)" : name
            } else {
                unnamed[code.exercise ?? "", default: 0] += 1
                label = "hidden check \(unnamed[code.exercise ?? ""]!)"
            }
            // What it found is the solution's, and its message may quote its name.
            let message = f.verdict == .notChecked ? "not checked in this build" : withheldMessage(passed: f.passed)
            return Finding(kind: f.kind, label: label, verdict: f.verdict, file: f.file, line: f.line, column: f.column,
                           message: message, block: f.block)
        }
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
