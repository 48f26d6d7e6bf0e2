import Foundation
import Testing

/// Issue 28: the command line keeps the conventions of swift-argument-parser tools.
@Suite("Command-line conventions")
struct CLIConventionTests {
    static let commands = ["build", "check", "list", "clean", "grade", "serve", "bench"]

    /// Each option's help: from its `-x, --name` / `--name` line to the next option.
    static func optionHelps(_ help: String) -> [(name: String, text: String)] {
        var out: [(String, String)] = []
        for line in help.components(separatedBy: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("--") || (t.hasPrefix("-") && t.count > 2 && t.dropFirst(2).hasPrefix(", --")) {
                out.append((String(t.prefix { $0 != " " }), t))
            } else if !out.isEmpty, line.hasPrefix("    ") {
                out[out.count - 1].1 += " " + t
            }
        }
        return out
    }

    /// Problems with one command's help: a default stated twice, a value list not in kebab case.
    static func problems(_ help: String) -> [String] {
        optionHelps(help).flatMap { name, text -> [String] in
            var found: [String] = []
            if text.lowercased().components(separatedBy: "default:").count > 2 { found.append("\(name) states its default twice: \(text)") }
            if let r = text.range(of: "(values: "), let end = text[r.upperBound...].firstIndex(where: { $0 == ")" || $0 == ";" }) {
                for value in text[r.upperBound ..< end].split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
                where value.contains(where: \.isUppercase) || value.contains("_") {
                    found.append("\(name) offers '\(value)', not kebab-case")
                }
            }
            return found
        }
    }

    @Test func everyCommandsHelpStatesEachDefaultOnceAndOffersKebabCaseValues() throws {
        let book = try Book()
        for command in Self.commands {
            let run = try book.run(command, "--help")
            #expect(run.status == 0, "\(command): \(run.stderr)")
            #expect(Self.optionHelps(run.stdout).count >= 2, "\(command): no options read from \(run.stdout)")
            #expect(Self.problems(run.stdout).isEmpty, "\(command): \(Self.problems(run.stdout))")
        }
    }

    @Test func theRuleCatchesATwiceStatedDefaultAndACamelCaseValue() {
        let help = """
        OPTIONS:
          --epochs <epochs>       Epochs to train (default: 500, the reference run).
                                  (default: 500)
          --sampling <sampling>   Sampling. (values: random, shuffledWindows)
          -j, --jobs <jobs>       Runs. (default: 1)
        """
        #expect(Self.optionHelps(help).map(\.name) == ["--epochs", "--sampling", "-j,"])
        #expect(Self.problems(help).count == 2, "\(Self.problems(help))")
    }

    @Test func jobsHasItsShortFormWhereverItIsOffered() throws {
        let book = try Book()
        for command in ["build", "check", "grade"] {
            #expect(try book.run(command, "--help").stdout.contains("-j, --jobs"), "\(command)")
        }
    }

    /// `--profile` names the profiles the chapters define (it named one example, which another
    /// book may not have); a chapter that does not parse never breaks help.
    @Test func profileHelpListsTheChaptersProfiles() throws {
        let book = try Book()
        try book.write("a.md", "---\nprofiles:\n  tiny: {n: 1}\n  smoke: {n: 2}\nparams: {n: 3}\n---\n# A\n")
        try book.write("b.md", "---\nprofiles: [not, a, mapping\n---\n# B\n")
        for command in ["build", "check", "grade"] {
            let run = try book.run(command, "--help")
            #expect(run.status == 0, "\(command): \(run.stderr)")
            let profile = Self.optionHelps(run.stdout).first { $0.name == "--profile" }?.text ?? ""
            #expect(profile.contains("in ./chapters: smoke, tiny"), "\(command): \(profile)")
        }
    }
}
