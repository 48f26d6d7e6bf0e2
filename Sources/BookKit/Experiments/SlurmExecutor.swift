import Foundation
import ProcessRunner
#if canImport(Glibc)
import Glibc
#endif

/// Task files as executors hand them over: `task-<i>.json` in, `result-<i>.json` out.
public enum TaskFiles {
    public static func taskFile(_ folder: URL, _ i: Int) -> URL { folder.appendingPathComponent("task-\(i).json") }
    public static func resultFile(_ folder: URL, _ i: Int) -> URL { folder.appendingPathComponent("result-\(i).json") }
    public static func logFile(_ folder: URL, _ i: Int) -> URL { folder.appendingPathComponent("task-\(i).log") }

    /// `rnnbook task`: runs the tasks in `task` (a JSON list: one array task may run several,
    /// one after another) and writes their results to `result` after each one (atomically: a
    /// task killed half-way keeps the results of the runs it finished, and the executor asks
    /// Slurm why the others are missing).
    public static func perform(task: URL, result: URL, terminal: Terminal) throws {
        let specs = try JSONDecoder().decode([RunTask].self, from: Data(contentsOf: task))
        var results: [ChapterResult] = []
        for spec in specs {
            results.append(spec.perform(terminal: terminal))
            try writeAtomically(try resultEncoder().encode(results), to: result)
        }
    }
}

/// Runs tasks as one Slurm job array on the cluster this machine submits to: each task is
/// `rnnbook task task-<i>.json` on a node, in a folder under the output folder's cache, which
/// the nodes must share. Waits (polling `squeue` every `pollInterval` seconds, asleep between)
/// while showing each task's state and its last progress line, then reads the results; a task
/// that left none is reported with Slurm's reason (`scontrol show job`: TIMEOUT,
/// OUT_OF_MEMORY, NODE_FAIL, CANCELLED, FAILED with its exit code).
public struct SlurmExecutor: TaskExecutor {
    public var sbatch: String
    public var squeue: String
    public var scontrol: String
    public var scancel: String?
    public var partition: String?
    /// Minutes per task (default: the longest task's `secondsLimit`).
    public var timeMinutes: Int?
    /// MB per task (default: the largest task's `memoryLimit`).
    public var memoryMB: Int?
    /// Most tasks running at once (`--array=…%N`); nil: as many as the cluster gives.
    public var concurrent: Int?
    public var pollInterval: Double = 2
    /// The rnnbook the nodes run (this one).
    public var rnnbook: String

    /// The Slurm commands on PATH; a usage error when Slurm is not installed here.
    public static func locate() throws -> SlurmExecutor {
        guard let sbatch = which("sbatch"), let squeue = which("squeue"), let scontrol = which("scontrol") else {
            throw UsageError("--executor slurm: sbatch, squeue and scontrol are not on PATH; run rnnbook on a machine that submits to a Slurm cluster (to try one on this machine, see docs/slurm.md)")
        }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return SlurmExecutor(sbatch: sbatch, squeue: squeue, scontrol: scontrol, scancel: which("scancel"), rnnbook: exe)
    }

    public var description: String { "Slurm job array" + (partition.map { " on partition \($0)" } ?? "") }

    public func run(_ tasks: [RunTask], terminal: Terminal) throws -> [TaskOutcome] {
        guard let first = tasks.first else { return [] }
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let folder = URL(fileURLWithPath: first.outputDirectory)
            .appendingPathComponent(".cache/slurm/\(stamp)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // One array task per group (tasks without one are each their own), in order.
        var groups: [[Int]] = []
        var groupOf: [String: Int] = [:]
        for (i, task) in tasks.enumerated() {
            if let g = task.group, let k = groupOf[g] { groups[k].append(i); continue }
            if let g = task.group { groupOf[g] = groups.count }
            groups.append([i])
        }
        let encoder = JSONEncoder()
        for (k, members) in groups.enumerated() {
            try writeAtomically(try encoder.encode(members.map { tasks[$0] }), to: TaskFiles.taskFile(folder, k))
        }
        let script = folder.appendingPathComponent("task.sh")
        try writeAtomically(Data("""
            #!/bin/sh
            # One task of an rnnbook job array: runs task-$SLURM_ARRAY_TASK_ID.json, writes result-$SLURM_ARRAY_TASK_ID.json.
            exec \(shellQuoted(rnnbook)) task \(shellQuoted(folder.path))/task-$SLURM_ARRAY_TASK_ID.json --result \(shellQuoted(folder.path))/result-$SLURM_ARRAY_TASK_ID.json

            """.utf8), to: script)
        let minutes = timeMinutes ?? Int((groups.map { $0.reduce(0) { $0 + tasks[$1].secondsLimit } }.max()! / 60).rounded(.up))
        let memory = memoryMB ?? tasks.map(\.memoryLimit).max()!
        var arguments = ["--parsable", "--job-name=rnnbook", "--array=0-\(groups.count - 1)" + (concurrent.map { "%\($0)" } ?? ""),
                         "--time=\(minutes)", "--mem=\(memory)M", "--cpus-per-task=1", "--chdir=\(first.bookRoot)",
                         "--output=\(folder.path)/task-%a.log"]
        if let partition { arguments.append("--partition=\(partition)") }
        arguments.append(script.path)
        let submitted = try command(sbatch, arguments)
        guard submitted.status == 0, let id = submitted.output.split(separator: "\n").first.map({ String($0.split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) }),
              !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw BookError("sbatch refused the job array (exit \(submitted.status)): \(submitted.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        terminal.line("submitted Slurm job \(id): \(groups.count) task\(groups.count == 1 ? "" : "s"), \(minutes) min and \(memory) MB each; task files in \(folder.path)")
        let labels = groups.map { members in tasks[members[0]].group ?? tasks[members[0]].label }
        // Interrupted while waiting: the job array is cancelled, not left running on the cluster.
        let cancel = scancel.map { scancel in
            InterruptActions.shared.add { [self] in _ = try? command(scancel, [id]) }
        }
        wait(job: id, labels: labels, folder: folder, terminal: terminal)
        if let cancel { InterruptActions.shared.remove(cancel) }
        var outcomes = [TaskOutcome](repeating: TaskOutcome(result: nil), count: tasks.count)
        let states = finalStates(job: id)
        for (k, members) in groups.enumerated() {
            let results = (try? Data(contentsOf: TaskFiles.resultFile(folder, k))).flatMap { try? resultDecoder().decode([ChapterResult].self, from: $0) } ?? []
            for (n, i) in members.enumerated() {
                outcomes[i] = n < results.count ? TaskOutcome(result: results[n])
                    : TaskOutcome(result: nil, reason: reason(states[k], log: TaskFiles.logFile(folder, k)))
            }
        }
        // The task files and logs are kept only when a task left no result (its log says why).
        if outcomes.allSatisfy({ $0.result != nil }) { try? FileManager.default.removeItem(at: folder) }
        else { terminal.line("kept the Slurm task files and logs in \(folder.path)") }
        return outcomes
    }

    /// Waits until no task of `job` is pending or running, showing each task's state.
    func wait(job: String, labels: [String], folder: URL, terminal: Terminal) {
        let started = Date()
        var unknownSince: Date?
        while true {
            let listed = try? command(squeue, ["-h", "-r", "-j", job, "-o", "%K %T %M"])
            var active: [Int: (state: String, time: String)] = [:]
            if let listed, listed.status == 0 {
                unknownSince = nil
                for line in listed.output.split(separator: "\n") {
                    let f = line.split(separator: " ").map(String.init)
                    if f.count >= 3, let i = Int(f[0]) { active[i] = (f[1], f[2]) }
                }
            } else {
                // squeue forgets a finished job at once on some clusters ("Invalid job id"); a
                // failing squeue for longer than a minute ends the wait too.
                unknownSince = unknownSince ?? Date()
                if Date().timeIntervalSince(unknownSince!) < 60 { active = [-1: ("UNKNOWN", "")] }
            }
            for (i, label) in labels.enumerated() {
                let lane = terminal.lane("slurm \(i)", prefix: "[\(i + 1)/\(labels.count)] \(label): ")
                if let a = active[i] {
                    let last = a.state == "RUNNING" ? lastLine(of: TaskFiles.logFile(folder, i)).map { " · " + $0 } ?? "" : ""
                    lane.status("\(a.state) \(a.time)\(last)")
                } else {
                    lane.clear()
                }
            }
            if active.isEmpty { break }
            let running = active.values.filter { $0.state == "RUNNING" }.count
            terminal.status(String(format: "Slurm job %@: %d running, %d waiting, %d done · %.0f s", job, running,
                                   active.count - running, labels.count - active.count, Date().timeIntervalSince(started)))
            Thread.sleep(forTimeInterval: pollInterval)
        }
        terminal.clear()
    }

    /// Each task's line of `scontrol -o show job JOB` (by its array index): JobState, Reason,
    /// ExitCode, RunTime, TimeLimit.
    func finalStates(job: String) -> [Int: [String: String]] {
        guard let shown = try? command(scontrol, ["-o", "show", "job", job]), shown.status == 0 else { return [:] }
        var out: [Int: [String: String]] = [:]
        for line in shown.output.split(separator: "\n") {
            var fields: [String: String] = [:]
            for word in line.split(separator: " ") {
                guard let eq = word.firstIndex(of: "=") else { continue }
                fields[String(word[..<eq])] = String(word[word.index(after: eq)...])
            }
            if let i = fields["ArrayTaskId"].flatMap(Int.init) { out[i] = fields }
        }
        return out
    }

    /// Why a task left no result, in Slurm's words and ours.
    func reason(_ fields: [String: String]?, log: URL) -> String {
        let tail = lastLines(of: log, count: 3).map { "; its log ends: " + $0 } ?? ""
        guard let fields, let state = fields["JobState"] else {
            return "Slurm has no record of the task any more, and it wrote no result" + tail
        }
        let words: String
        switch state {
        case "TIMEOUT": words = "it ran past its time limit (\(fields["TimeLimit"] ?? "?"))"
        case "OUT_OF_MEMORY": words = "it used more memory than it asked for"
        case "NODE_FAIL": words = "its node failed"
        case "CANCELLED": words = "it was cancelled"
        case "PREEMPTED": words = "it was preempted"
        case "FAILED": words = "it exited with \(fields["ExitCode"] ?? "?")"
        case "COMPLETED": words = "it completed but wrote no result"
        default: words = "its state is \(state)"
        }
        let why = fields["Reason"].flatMap { $0 == "None" ? nil : $0 }.map { ", reason \($0)" } ?? ""
        return "Slurm: \(state)\(why): \(words)" + tail
    }

    private func lastLine(of url: URL) -> String? { lastLines(of: url, count: 1) }

    private func lastLines(of url: URL, count: Int) -> String? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return lines.isEmpty ? nil : lines.suffix(count).joined(separator: " / ")
    }

    /// Runs a Slurm command; its stdout and stderr together, and its exit status.
    func command(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-slurm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Subprocess(executable: executable, arguments: arguments, environment: ProcessInfo.processInfo.environment,
                                 workingDirectory: FileManager.default.currentDirectoryPath, stdoutPath: out.path, stderrPath: out.path)
        let termination = try process.run(poll: { $0 > 120 ? .timedOut(seconds: $0) : nil })
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        switch termination {
        case .exited(let code): return (code, text)
        default: return (-1, "\(termination): \(text)")
        }
    }
}

/// `word` as sh needs it typed: as it is when every character is plain, else in single quotes
/// (the command line a report shows, the paths in a Slurm task's script).
public func shellQuoted(_ word: String) -> String {
    let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%")
    if !word.isEmpty && word.unicodeScalars.allSatisfy(plain.contains) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
