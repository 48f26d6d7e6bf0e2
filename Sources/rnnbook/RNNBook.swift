import ArgumentParser

/// The command line. Thin: every decision lives in BookKit or Engine.
@main
struct RNNBook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnnbook",
        abstract: "Build and verify the executable book on recurrent neural networks.",
        subcommands: [Build.self, Check.self, List.self, Clean.self, Bench.self],
        defaultSubcommand: Build.self)
}
