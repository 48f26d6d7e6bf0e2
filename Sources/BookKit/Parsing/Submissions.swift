import Foundation

/// A student's code for exercises of one chapter: what `rnnbook grade` runs in place of the
/// reference solutions.
///
/// Two forms. Markdown: every Swift block is ```` ```swift submission ex-name ````, naming the
/// exercise it answers (other languages are notes and are ignored). Swift: a line
/// `// submission: ex-name` starts the code for that exercise. Several blocks for one exercise
/// run in order, as one answer.
public struct Submission: Sendable, Equatable {
    /// The file as given on the command line (messages name it).
    public var path: String
    /// The code for each exercise, in file order; each block's location is in this file.
    public var parts: [String: [CodeBlock]]
    /// Exercise ids in the order they first appear.
    public var order: [String]

    /// Reads a `.md` or `.swift` submission.
    public static func read(contentsOf url: URL, displayPath: String) throws -> Submission {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw BookError("cannot read submission: \(error.localizedDescription)", at: SourceLocation(file: displayPath, line: 1))
        }
        switch url.pathExtension {
        case "md", "markdown": return try parse(markdown: text, path: displayPath)
        case "swift": return try parse(swift: text, path: displayPath)
        default:
            throw BookError("a submission is a Markdown (.md) or Swift (.swift) file; found '\(url.lastPathComponent)'", at: SourceLocation(file: displayPath, line: 1))
        }
    }

    /// The submission files `paths` name: files as they are, and the `.md` and `.swift` files
    /// directly inside each folder (one submission each), sorted.
    public static func files(_ paths: [String]) throws -> [(url: URL, displayPath: String)] {
        let fm = FileManager.default
        var out: [(URL, String)] = []
        for p in paths {
            let url = URL(fileURLWithPath: p).standardizedFileURL
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { throw UsageError("no such submission file or folder: \(p)") }
            if isDirectory.boolValue {
                let names = try fm.contentsOfDirectory(atPath: url.path)
                    .filter { ($0.hasSuffix(".md") || $0.hasSuffix(".swift")) && !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
                out += names.map { (url.appendingPathComponent($0), (p.hasSuffix("/") ? p : p + "/") + $0) }
            } else {
                out.append((url, p))
            }
        }
        return out
    }

    static func isExerciseID(_ s: String) -> Bool { s.wholeMatch(of: #/ex-[A-Za-z0-9][A-Za-z0-9_-]*/#) != nil }

    /// Parses a Markdown submission at `path`.
    public static func parse(markdown: String, path: String) throws -> Submission {
        let text = markdown.replacingOccurrences(of: "\r\n", with: "\n")
        var submission = Submission(path: path, parts: [:], order: [])
        for block in readMarkdownBlocks(text) {
            for nested in block.nestedCode where isSwift(nested.info) {
                throw BookError("a swift block inside a \(nested.container) is not part of the submission; move it to the top level as ```swift submission ex-name```", at: SourceLocation(file: path, line: nested.line, column: nested.column))
            }
            guard block.kind == .codeBlock, let info = block.info, isSwift(info) else { continue }
            let fence = SourceLocation(file: path, line: block.line, column: block.column)
            let words = info.split(whereSeparator: \.isWhitespace).map(String.init)
            guard words.first == "swift", words.count == 3, words[1] == "submission" else {
                throw BookError("a swift block in a submission must be ```swift submission ex-name``` (the exercise it answers); found ```\(info)```", at: fence)
            }
            guard isExerciseID(words[2]) else {
                throw BookError("malformed exercise id '\(words[2])'; expected ex-NAME, as in the chapter's {#ex-NAME}", at: fence)
            }
            let code = CodeBlock(language: "swift", code: block.literal ?? "", options: BlockOptions(), index: nil,
                                 location: SourceLocation(file: path, line: block.line + (block.fenced ? 1 : 0)))
            submission.add(code, to: words[2])
        }
        guard !submission.order.isEmpty else {
            throw BookError("no ```swift submission ex-name``` block found; put the code for each exercise in such a block", at: SourceLocation(file: path, line: 1))
        }
        return submission
    }

    /// Parses a Swift submission at `path`: `// submission: ex-name` lines start each exercise's code.
    public static func parse(swift: String, path: String) throws -> Submission {
        let lines = swift.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        var submission = Submission(path: path, parts: [:], order: [])
        var current: (id: String, start: Int, lines: [String])?
        func flush() {
            guard let c = current else { return }
            var body = c.lines
            while body.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { body.removeLast() }
            submission.add(CodeBlock(language: "swift", code: body.joined(separator: "\n") + "\n", options: BlockOptions(),
                                     index: nil, location: SourceLocation(file: path, line: c.start)), to: c.id)
        }
        for (i, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let m = trimmed.wholeMatch(of: #///\s*submission:\s*(\S*)\s*/#) {
                let id = String(m.1)
                guard isExerciseID(id) else {
                    throw BookError("malformed exercise id '\(id)' after '// submission:'; expected ex-NAME, as in the chapter's {#ex-NAME}", at: SourceLocation(file: path, line: i + 1))
                }
                flush()
                current = (id, i + 2, [])
            } else if current != nil {
                current!.lines.append(line)
            } else if !trimmed.isEmpty && !trimmed.hasPrefix("//") {
                throw BookError("code before the first '// submission: ex-name' line belongs to no exercise; start the file with that line", at: SourceLocation(file: path, line: i + 1))
            }
        }
        flush()
        guard !submission.order.isEmpty else {
            throw BookError("no '// submission: ex-name' line found; start each exercise's code with one", at: SourceLocation(file: path, line: 1))
        }
        return submission
    }

    private mutating func add(_ block: CodeBlock, to id: String) {
        if parts[id] == nil { order.append(id) }
        parts[id, default: []].append(block)
    }

    private static func isSwift(_ info: String) -> Bool {
        info.split(whereSeparator: \.isWhitespace).first.map { $0.lowercased() == "swift" } ?? false
    }

    /// Names a submission may not write anywhere in its code (strings' text aside). Verdicts
    /// come only from the exercise's check blocks: a submission that could call the checking
    /// functions (`expect`, `verify`, …) could report a pass from inside a function the checks
    /// call; the runtime's internals (block markers, the side channel, the modules by name, with
    /// which a local type could shadow a qualified call) and the ways around Swift's names to
    /// reach them (`@_silgen_name`, `dlsym`) would do the same.
    static let forbiddenNames: Set<String> = [
        "expect", "verify", "verifyFails", "verifyGradient", "bindSymbols",
        "BookContext", "BookRuntime", "BookProtocol", "Engine", "MathCheck", "ChannelSeal", "ChannelHandoff", "ChannelEvent",
        "@_silgen_name", "@_cdecl", "@_extern", "@_used", "@_section", "dlsym", "dlopen", "dlvsym",
    ]

    /// The first forbidden name in `code` (see `forbiddenNames`; also any `_book…` name), located in the block.
    static func forbiddenUse(in block: CodeBlock) -> (name: String, location: SourceLocation)? {
        for token in SwiftTokens.identifiers(in: block.code) where forbiddenNames.contains(token.name) || token.name.hasPrefix("_book") {
            return (token.name, SourceLocation(file: block.location.file, line: block.location.line + token.line - 1, column: token.column))
        }
        // The side channel's environment variables, even spelled inside a string.
        for (offset, line) in block.code.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let hit = line.firstMatch(of: #/RNNBOOK_\w*/#) else { continue }
            let column = line.distance(from: line.startIndex, to: hit.range.lowerBound) + 1
            return (String(hit.output), SourceLocation(file: block.location.file, line: block.location.line + offset, column: column))
        }
        return nil
    }

    /// Refuses exercise ids the chapter does not have, at the first block naming one, and code
    /// that names what only the checks may call (see `forbiddenNames`).
    public func validate(against chapter: Chapter, gradable: [String]) throws {
        for id in order {
            for block in parts[id] ?? [] {
                guard let hit = Self.forbiddenUse(in: block) else { continue }
                throw BookError("a submission may not use '\(hit.name)': verdicts come only from the exercise's checks, and rnnbook's runtime and its modules are theirs; write the exercise's code only",
                                at: hit.location)
            }
        }
        for id in order where !gradable.contains(id) {
            let place = parts[id]?.first?.location
            let known = gradable.isEmpty ? "none" : gradable.joined(separator: ", ")
            let what = chapter.exercise(id) == nil ? "\(chapter.path) has no exercise '\(id)'" : "exercise '\(id)' of \(chapter.path) has no solution and checks to grade against"
            throw BookError("\(what); exercises to submit: \(known)", at: place.map { SourceLocation(file: $0.file, line: max($0.line - 1, 1)) })
        }
    }
}

extension Chapter {
    /// A submission file for students to fill in: each gradable exercise's starter (or an empty
    /// block) as ```` ```swift submission ex-name ````.
    public var submissionTemplate: String {
        var out = "<!-- Submission for \(path) (\(title)). Fill in each block; `rnnbook grade \(path) --submission THIS-FILE` runs the checks. -->\n"
        for exercise in exercises where blocks(ofExercise: exercise.id).contains(where: { $0.block.options.role == .solution }) {
            out += "\n## Exercise \(exercise.number): \(exercise.title)\n\n```swift submission \(exercise.id)\n"
            let starters = blocks(ofExercise: exercise.id).map(\.block).filter { $0.options.role == .starter }
            let code = starters.map { $0.code.hasSuffix("\n") ? $0.code : $0.code + "\n" }.joined(separator: "\n")
            out += code.isEmpty ? "// your code for \(exercise.id)\n" : code
            out += "```\n"
        }
        return out
    }

    /// Exercises `grade` can judge: those with a solution (and so with checks).
    public var gradableExercises: [Exercise] {
        exercises.filter { e in blocks(ofExercise: e.id).contains { $0.block.options.role == .solution } }
    }
}
