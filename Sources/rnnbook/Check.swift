import ArgumentParser
import BookKit

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every chapter and verify its checks; writes no pages.")
    @OptionGroup var options: RunOptions
    @Flag(help: "Also mutate every checked equation and claim (a dropped transpose, an index off by one, a claimed number moved outside its tolerance) and report the mutants the checks do not catch; fails when a checked equation has no mutant killed by value, or an equation mutant survives without the chapter acknowledging it (verify(…, survivors:)).")
    var mutate = false
    func validate() throws {
        _ = try RunOptions.singleValues(options.assignments, command: "check")
    }
    func run() throws {
        var request = options.request(pages: false)
        request.mutate = mutate
        try bookCommand { try BookPipeline(request).run(terminal: Terminal()) }
    }
}
