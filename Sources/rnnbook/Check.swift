import ArgumentParser
import BookKit

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every chapter and verify its checks; writes no pages.")
    @OptionGroup var options: RunOptions
    @Flag(help: "Also mutate every checked equation and claim (a dropped transpose, an index off by one, a claimed number moved outside its tolerance) and report the mutants the checks do not catch; fails when a checked equation has no mutant killed by value, or an equation mutant survives without the chapter acknowledging it (verify(…, survivors:)).")
    var mutate = false
    func validate() throws {
        let grid = try usage { try ParamGrid(assignments: options.assignments) }
        if !grid.varied.isEmpty { throw ValidationError("check takes one value per --set; a grid (\(grid.varied.map(\.key).joined(separator: ", "))) is an experiment: rnnbook build --set …") }
    }
    func run() throws {
        var request = options.request(pages: false)
        request.mutate = mutate
        try bookCommand { try BookPipeline(request).run(terminal: Terminal()) }
    }
}
