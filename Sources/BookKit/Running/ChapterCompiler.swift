import BookProtocol
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Compiling a chapter: the generated program, the compiler's diagnostics placed on blocks.
extension ChapterRunner {
    /// Compiles the chapter's program. On errors, attributes them to blocks, drops `expect-error`
    /// blocks that failed as they should, and recompiles the blocks before the first real error
    /// so that they still run.
    func compileBlocks(of chapter: Chapter, source: String, work: URL, executable: String, terminal: Terminal) -> CompileVerdict {
        let generator = ProgramGenerator()
        var verdict = CompileVerdict()
        var omitted: Set<Int> = []
        let runnable = chapter.codeBlocks.filter { $0.index != nil }
        var attempts = 0
        let chapterStart = SourceLocation(file: chapter.path, line: 1)
        while !runnable.isEmpty {
            attempts += 1
            let sourcePath = work.appendingPathComponent("main.swift").path
            let skipped = verdict.stopAfter.map { s in Set(runnable.compactMap(\.index).filter { $0 >= s }) } ?? []
            let program = generator.program(for: chapter, omitting: omitted.union(skipped))
            do { try writeAtomically(Data(program.utf8), to: URL(fileURLWithPath: sourcePath)) } catch {
                verdict.problems.append(Finding(.program, "program", at: chapterStart, message: "cannot write the chapter's program: \(describe(error))"))
                break
            }
            progress("\(chapter.path): compiling", chapter, terminal: terminal)
            let t0 = Date()
            let compile = compileProgram(source: sourcePath, executable: executable, work: work)
            verdict.seconds += Date().timeIntervalSince(t0)
            if compile.termination.succeeded { break }
            let diagnostics = Diagnostic.parse(compile.output).filter { $0.severity == "error" }
            var byBlock: [Int: [Diagnostic]] = [:]
            var unplaced: [Diagnostic] = []
            for d in diagnostics {
                // Blocks may come from other files than the chapter (a submission `grade` runs).
                if let block = block(containing: d.line, of: d.file, in: chapter) {
                    let text = d.file == chapter.path ? source : try? String(contentsOfFile: d.file, encoding: .utf8)
                    byBlock[block.index!, default: []].append(text.map(d.pointingInto) ?? d)
                }
                else { unplaced.append(d) }
            }
            if diagnostics.isEmpty || !unplaced.isEmpty || attempts > 4 {
                let text = diagnostics.isEmpty ? compile.output.trimmingCharacters(in: .whitespacesAndNewlines) : unplaced.map(\.text).joined(separator: "\n")
                verdict.problems.append(Finding(.compile, "program", at: chapterStart,
                                                message: "the generated program did not compile (\(compile.termination)):\n\(text)"))
                verdict.stopAfter = 0
                break
            }
            var progressed = false
            for (index, ds) in byBlock where runnable.first(where: { $0.index == index })?.options.expectError == true {
                verdict.expectedFailures[index] = ds.map(\.text).joined(separator: "\n")
                omitted.insert(index); progressed = true
            }
            if let first = byBlock.keys.filter({ !omitted.contains($0) }).min() {
                let ds = byBlock[first]!
                verdict.blockErrors[first] = .init(text: ds.map(\.text).joined(separator: "\n"),
                                                   location: SourceLocation(file: ds[0].file, line: ds[0].line, column: ds[0].column))
                verdict.stopAfter = first
                progressed = true
            }
            if !progressed || verdict.stopAfter == 0 { break }
        }
        if verdict.problems.isEmpty && verdict.blockErrors.isEmpty {
            verdict.starterProblems = typecheckStarters(of: chapter, source: source, work: work)
        }
        return verdict
    }

    private func block(containing line: Int, of file: String, in chapter: Chapter) -> CodeBlock? {
        chapter.codeBlocks.filter { $0.index != nil && $0.location.file == file }.last { $0.location.line <= line && line <= $0.location.line + $0.code.split(separator: "\n", omittingEmptySubsequences: false).count }
    }

    struct CompileOutcome { var termination: Termination; var output: String }

    func compileProgram(source: String, executable: String, work: URL) -> CompileOutcome {
        runCompiler(toolchain.compileArguments(source: source, executable: executable), work: work, name: "compile")
    }

    /// Runs swiftc with `arguments`; its output goes through `work/<name>.out` and `.err`.
    func runCompiler(_ arguments: [String], work: URL, name: String) -> CompileOutcome {
        let out = work.appendingPathComponent("\(name).out").path, err = work.appendingPathComponent("\(name).err").path
        let process = Subprocess(executable: toolchain.swiftc,
                                 arguments: arguments,
                                 environment: ProcessInfo.processInfo.environment,
                                 workingDirectory: settings.bookRoot.path, stdoutPath: out, stderrPath: err)
        do {
            let t = try process.run(poll: { $0 > 600 ? .timedOut(seconds: $0) : nil })
            let text = ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "") + ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
            return CompileOutcome(termination: t, output: text)
        } catch {
            return CompileOutcome(termination: .exited(-1), output: "\(error)")
        }
    }
}

/// A compiler diagnostic (`file:line:col: error: message`).
struct Diagnostic: Sendable {
    var file: String, line: Int, column: Int, severity: String, message: String
    /// The diagnostic line plus the source excerpt lines the compiler printed under it.
    var text: String

    /// The diagnostic with the Markdown line under it (the compiler quotes the generated file).
    func pointingInto(_ source: String) -> Diagnostic {
        var copy = self
        let lines = source.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        copy.text = "\(file):\(line):\(column): \(severity): \(message)"
        if line >= 1 && line <= lines.count {
            let text = String(lines[line - 1])
            copy.text += "\n    \(text)\n    " + String(repeating: " ", count: max(0, column - 1)) + "^"
        }
        return copy
    }

    static func parse(_ output: String) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let pattern = #/^(.+?):(\d+):(\d+): (error|warning|note): (.*)$/#
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if let m = line.wholeMatch(of: pattern) {
                out.append(Diagnostic(file: String(m.1), line: Int(m.2)!, column: Int(m.3)!, severity: String(m.4),
                                      message: String(m.5), text: String(line)))
            } else if !out.isEmpty, !line.isEmpty, out[out.count - 1].text.split(separator: "\n").count < 6,
                      line.hasPrefix(" ") || line.contains("|") {
                out[out.count - 1].text += "\n" + line
            }
        }
        return out
    }
}
