import ArgumentParser

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() throws { throw ValidationError("'List' is not built yet") }
}
