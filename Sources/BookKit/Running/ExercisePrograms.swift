import BookProtocol
import Foundation

/// Each exercise's blocks run in a `do { … }` scope of their own in the chapter's program:
/// names a solution defines never reach later blocks (the student edition and `grade` run
/// without them), and two exercises may define the same names.
struct ExerciseScope {
    private var current: String?

    /// Lines that leave the current exercise's scope and enter `exercise`'s, if they differ.
    mutating func enter(_ exercise: String?) -> [String] {
        guard exercise != current else { return [] }
        var lines: [String] = []
        if let current { lines.append("} // end of exercise \(current)") }
        if let exercise { lines.append("do { // exercise \(exercise)") }
        current = exercise
        return lines
    }
}

extension ChapterRunner {
    /// Type-checks every exercise's starter in place of its solution, together with the
    /// exercise's other blocks (its checks above all), the way `rnnbook grade` compiles a
    /// student's filled-in starter. A starter that does not compile so (it names a function
    /// the checks do not call, a placeholder of the wrong type) is a problem of the chapter:
    /// students would be handed code that cannot be graded. Never run; placeholders are `todo()`.
    func typecheckStarters(of chapter: Chapter, source: String, work: URL) -> [Finding] {
        // What `grade` refuses in a submission must not be in the answer students are given or
        // asked to write: they could not hand it in.
        var refused: [Finding] = []
        for exercise in chapter.exercises {
            for item in chapter.blocks(ofExercise: exercise.id) where item.block.options.role == .starter || item.block.options.role == .solution {
                guard let hit = Submission.forbiddenUse(in: item.block) else { continue }
                let role = item.block.options.role == .starter ? "starter" : "solution"
                refused.append(Finding(.compile, "\(role) \(exercise.id)", at: hit.location,
                                       message: "the \(role) of exercise \(exercise.id) uses '\(hit.name)', which `grade` refuses in a submission (verdicts come only from the check blocks): students could not hand in this code; move it into a ```swift check``` block"))
            }
        }
        return refused + typecheckStartersInPlace(of: chapter, source: source, work: work)
    }

    private func typecheckStartersInPlace(of chapter: Chapter, source: String, work: URL) -> [Finding] {
        var replacements: [String: [CodeBlock]] = [:]
        for exercise in chapter.exercises {
            let starters = chapter.blocks(ofExercise: exercise.id).map(\.block).filter { $0.options.role == .starter }
            if !starters.isEmpty { replacements[exercise.id] = starters }
        }
        guard !replacements.isEmpty else { return [] }
        var student = chapter.substitutingSolutions(replacements, dropOthers: true)
        // expect-error blocks are scoped (`if … { }`) and may not compile by design: leave them out.
        student.segments.removeAll { if case .code(let b) = $0 { b.options.expectError } else { false } }
        let program = ProgramGenerator().program(for: student)
        let path = work.appendingPathComponent("starters.swift")
        let chapterStart = SourceLocation(file: chapter.path, line: 1)
        do { try writeAtomically(Data(program.utf8), to: path) } catch {
            return [Finding(.program, "starters", at: chapterStart, message: "cannot write the starters' program: \(describe(error))")]
        }
        let outcome = typecheck(source: path.path, work: work)
        if outcome.termination.succeeded { return [] }
        let errors = Diagnostic.parse(outcome.output).filter { $0.severity == "error" }
        var byExercise: [String: [Diagnostic]] = [:]
        var unplaced: [Diagnostic] = []
        for d in errors {
            let owner = chapter.exercises.first { exercise in
                replacements[exercise.id] != nil && chapter.blocks(ofExercise: exercise.id).contains { item in
                    let lines = item.block.code.split(separator: "\n", omittingEmptySubsequences: false).count
                    return d.file == chapter.path && item.block.location.line <= d.line && d.line <= item.block.location.line + lines
                }
            }
            if let owner { byExercise[owner.id, default: []].append(d.pointingInto(source)) } else { unplaced.append(d) }
        }
        var findings: [Finding] = []
        for exercise in chapter.exercises {
            guard let ds = byExercise[exercise.id], let first = ds.first else { continue }
            findings.append(Finding(.compile, "starter \(exercise.id)",
                                    at: SourceLocation(file: first.file, line: first.line, column: first.column),
                                    message: "the starter of exercise \(exercise.id) does not compile in place of its solution, with the exercise's checks; a student who fills it in could not be graded:\n" + ds.map(\.text).joined(separator: "\n")))
        }
        if findings.isEmpty || !unplaced.isEmpty {
            let text = unplaced.isEmpty ? outcome.output.trimmingCharacters(in: .whitespacesAndNewlines) : unplaced.map(\.text).joined(separator: "\n")
            findings.append(Finding(.compile, "starters", at: chapterStart,
                                    message: "the chapter's program with the exercises' starters in place of their solutions does not compile (\(outcome.termination)):\n\(text)"))
        }
        return findings
    }

    /// `swiftc -typecheck` of `source` with the chapter programs' flags.
    func typecheck(source: String, work: URL) -> CompileOutcome {
        var args = toolchain.compileArguments(source: source, executable: work.appendingPathComponent("unused").path)
        if let o = args.firstIndex(of: "-o") { args.removeSubrange(o...(o + 1)) }
        args.insert("-typecheck", at: 1)
        return runCompiler(args, work: work, name: "typecheck")
    }
}
