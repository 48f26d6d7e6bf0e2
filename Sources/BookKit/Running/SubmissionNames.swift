import Foundation

/// The rule that keeps a submission from changing what the checks compare against.
///
/// A submission runs in the exercise's scope, right before the exercise's checks, so every name
/// it declares at its top level is in the checks' scope too. The names the checks are meant to
/// find there are the exercise's answers: what its starter declares (the solution's, if it has
/// no starter). Any other name a check uses (the chapter's `d`, a helper of the checks, a
/// runtime function) must still mean what it meant in the book; a submission that declares one
/// at its top level would shadow it (a `let d = 0` turns `expect(…, equals: [d + h, h])`
/// into a different check), so it is refused before it runs.
enum SubmissionNames {
    /// The names declared at the top level of `code` with their line and column in it, read
    /// from the compiler's parse tree (`swiftc -dump-parse`): variables of every pattern
    /// (`let a = 1, b = 2`, tuples, `guard let`), functions, types, type aliases. Bindings of
    /// `if let` and `for` count too (a rule that errs toward refusing). Nil when the compiler
    /// could not be run.
    static func topLevelDeclarations(of code: String, swiftc: String, work: URL) -> [SwiftTokens.Identifier]? {
        let dir = work.appendingPathComponent("names-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("submission.swift")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(code.utf8).write(to: file)
        } catch { return nil }
        let out = dir.appendingPathComponent("dump").path, err = dir.appendingPathComponent("err").path
        let p = Subprocess(executable: swiftc, arguments: ["-dump-parse", file.path], environment: ProcessInfo.processInfo.environment,
                           workingDirectory: dir.path, stdoutPath: out, stderrPath: err)
        guard (try? p.run(poll: { $0 > 60 ? .timedOut(seconds: $0) : nil })) != nil,
              let dump = try? String(contentsOfFile: out, encoding: .utf8), dump.hasPrefix("(source_file") else { return nil }
        return parse(dump: dump)
    }

    /// Reads the declarations out of a `-dump-parse` tree (exposed for tests).
    static func parse(dump: String) -> [SwiftTokens.Identifier] {
        var names: [SwiftTokens.Identifier] = []
        var inTopLevelCode: (line: Int, column: Int)?
        for line in dump.split(separator: "\n", omittingEmptySubsequences: false) {
            let indent = line.prefix { $0 == " " }.count
            let range = line.firstMatch(of: #/range=\[[^\]]*?:(\d+):(\d+) /#).flatMap { m in Int(m.1).flatMap { l in Int(m.2).map { (l, $0) } } }
            if indent == 2 {
                inTopLevelCode = nil
                guard let kind = line.dropFirst(3).split(separator: " ").first else { continue }
                if kind == "top_level_code_decl" { inTopLevelCode = range ?? (1, 1); continue }
                guard kind.hasSuffix("_decl") || kind == "typealias", kind != "pattern_binding_decl", kind != "import_decl",
                      let quoted = line.firstMatch(of: #/"([^"]+)"/#) else { continue }
                let name = String(quoted.1.prefix { $0 != "(" })
                if !name.isEmpty { names.append(SwiftTokens.Identifier(name: name, line: range?.0 ?? 1, column: range?.1 ?? 1)) }
            } else if indent > 2, let place = inTopLevelCode, line.contains("(pattern_named "),
                      let quoted = line.firstMatch(of: #/\(pattern_named "([^"]+)"/#) {
                names.append(SwiftTokens.Identifier(name: String(quoted.1), line: place.line, column: place.column))
            }
        }
        return names
    }

    /// What one exercise's checks use, and which of those names an answer may declare: read once
    /// per exercise, whatever the number of submissions.
    struct Interface {
        var exercise: String
        /// Every name the exercise's check blocks use.
        var checkNames: Set<String>
        /// The answers' names: what the starter declares (the solution, if it has no starter); nil
        /// when the compiler could not read them.
        var allowed: Set<String>?

        init(exercise: String, chapter: Chapter, swiftc: String, work: URL) {
            self.exercise = exercise
            let items = chapter.blocks(ofExercise: exercise).map(\.block)
            checkNames = Set(items.filter { $0.options.role == .check }.flatMap { SwiftTokens.identifiers(in: $0.code).map(\.name) })
            let starters = items.filter { $0.options.role == .starter }
            let interface = starters.isEmpty ? items.filter { $0.options.role == .solution } : starters
            allowed = topLevelDeclarations(of: interface.map(\.code).joined(separator: "\n"), swiftc: swiftc, work: work).map { Set($0.map(\.name)) }
        }
    }

    /// The first name `submission` declares at its top level that the exercise's checks use and
    /// that is not one of the exercise's answers, as an error at its place; nil when there is none.
    static func shadowing(submission: [CodeBlock], interface: Interface, swiftc: String, work: URL) -> BookError? {
        let exercise = interface.exercise, checkNames = interface.checkNames
        guard let allowed = interface.allowed else {
            return BookError("cannot read the names exercise \(exercise)'s starter declares (swiftc -dump-parse failed)", at: submission.first?.location)
        }
        for block in submission {
            guard let declared = topLevelDeclarations(of: block.code, swiftc: swiftc, work: work) else {
                return BookError("cannot read the names this submission declares (swiftc -dump-parse failed)", at: block.location)
            }
            for d in declared where checkNames.contains(d.name) && !allowed.contains(d.name) {
                let list = allowed.sorted().map { "'\($0)'" }.joined(separator: ", ")
                return BookError("the submission declares '\(d.name)', a name exercise \(exercise)'s checks use for something of the chapter's own; it would change what they check. Rename it (the names an answer to \(exercise) declares for the checks: \(list.isEmpty ? "none" : list))",
                                 at: SourceLocation(file: block.location.file, line: block.location.line + d.line - 1, column: d.column))
            }
        }
        return nil
    }
}
