import ArgumentParser

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every chapter and verify its checks; writes no pages.")
    @OptionGroup var options: RunOptions
    @Flag(help: "Also mutate every checked equation and claim (a dropped transpose, an index off by one, a claimed number moved outside its tolerance) and report the mutants the checks do not catch; fails when a checked equation has no mutant killed by value, or an equation mutant survives without the chapter acknowledging it (verify(…, survivors:)).")
    var mutate = false
    func run() throws { try runBook(options, pages: false, mutate: mutate) }
}
