import ArgumentParser

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every chapter and verify its checks; writes no pages.")
    @OptionGroup var options: RunOptions
    func run() throws { try runBook(options, pages: false) }
}
