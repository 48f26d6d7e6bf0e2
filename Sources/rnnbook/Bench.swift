import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() throws { throw ValidationError("'Bench' is not built yet") }
}
