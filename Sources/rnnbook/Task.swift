import ArgumentParser
import BookKit
import Foundation

/// `rnnbook task FILE --result FILE`: runs one task an executor wrote (a Slurm array task runs
/// this on a node) and writes its result; not for users.
struct TaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Run one task of an executor (Slurm array tasks run this); not for direct use.",
        shouldDisplay: false)

    @Argument(help: "The task file (JSON) an executor wrote.")
    var task: String

    @Option(help: "Where to write the result (JSON).")
    var result: String

    func run() throws {
        try TaskFiles.perform(task: URL(fileURLWithPath: task), result: URL(fileURLWithPath: result), terminal: Terminal())
    }
}

enum ExecutorKind: String, ExpressibleByArgument, CaseIterable {
    case local, slurm
}

/// Where runs go: this machine (`--jobs` at a time) or a Slurm cluster.
struct ExecutorOptions: ParsableArguments {
    @Option(help: "Where runs go: 'local' (this machine, --jobs at a time) or 'slurm' (a job array on the cluster this machine submits to; the output folder must be on a file system the nodes share).")
    var executor: ExecutorKind = .local

    @Option(help: ArgumentHelp("Slurm partition (default: the cluster's default).", valueName: "NAME"))
    var partition: String?

    @Option(help: ArgumentHelp("Slurm time limit per task in minutes (default: the chapter's timeout plus ten minutes).", valueName: "MINUTES"))
    var slurmTime: Int?

    @Option(help: ArgumentHelp("Slurm memory per task in MB (default: the chapter's memory: plus 512).", valueName: "MB"))
    var slurmMemory: Int?

    func validate() throws {
        if executor == .local && (partition != nil || slurmTime != nil || slurmMemory != nil) {
            throw ValidationError("--partition, --slurm-time and --slurm-memory are for --executor slurm")
        }
        if let t = slurmTime, t < 1 { throw ValidationError("--slurm-time must be at least 1 (minutes), got \(t)") }
        if let m = slurmMemory, m < 64 { throw ValidationError("--slurm-memory must be at least 64 (MB), got \(m)") }
    }

    func make(jobs: Int) throws -> TaskExecutor {
        switch executor {
        case .local: return LocalExecutor(jobs: jobs)
        case .slurm:
            var slurm = try usage { try SlurmExecutor.locate() }
            slurm.partition = partition
            slurm.timeMinutes = slurmTime
            slurm.memoryMB = slurmMemory
            slurm.concurrent = jobs > 1 ? jobs : nil
            return slurm
        }
    }
}
