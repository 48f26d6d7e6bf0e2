import ArgumentParser

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")
    func run() throws { throw ValidationError("'Clean' is not built yet") }
}
