import Foundation
import Testing
import TestSupport

/// `.ci/readme-command.sh`: CI runs the README's set-up, test and build commands as written
/// (issue 28), so the script must find each one and refuse a README that lost it.
@Suite("README commands for CI")
struct ReadmeCommandTests {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs the script against `readme` (nil: the repository's own README).
    static func command(_ heading: String, readme: String? = nil) throws -> ProgramResult {
        var script = repository.appendingPathComponent(".ci/readme-command.sh")
        if let readme {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root.appendingPathComponent(".ci"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: script, to: root.appendingPathComponent(".ci/readme-command.sh"))
            try readme.write(to: root.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
            script = root.appendingPathComponent(".ci/readme-command.sh")
        }
        return try Program("/bin/bash", [script.path, heading]).run(timeout: 30)
    }

    @Test func theReadmeGivesOneSetUpTestAndBuildCommand() throws {
        let setUp = try Self.command("## Set up")
        #expect(setUp.status == 0 && setUp.stdout.contains("apt-get install -y libcmark-dev"), "\(setUp.stderr)")
        #expect(!setUp.stdout.hasPrefix("sudo"), "a bare root container has no sudo")
        let test = try Self.command("## Run the tests")
        #expect(test.status == 0 && test.stdout == "swift test\n", "\(test.stdout)\(test.stderr)")
        let build = try Self.command("## Build the book")
        #expect(build.status == 0 && build.stdout.contains("rnnbook build --profile quick"), "\(build.stdout)\(build.stderr)")
    }

    @Test func aMissingHeadingOrASecondLineFails() throws {
        let missing = try Self.command("## Run the tests", readme: "# R\n\n## Set up\n\n```sh\napt-get install -y x\n```\n")
        #expect(missing.status == 1 && missing.stderr.contains("no ```sh block under a heading starting with '## Run the tests'"), "\(missing.stderr)")
        let two = try Self.command("## Run the tests", readme: "## Run the tests\n\n```sh\nswift build\nswift test\n```\n")
        #expect(two.status == 1 && two.stderr.contains("should be one command"), "\(two.stderr)")
        // The block belongs to its own section: one under the next heading is not taken.
        let later = try Self.command("## Run the tests", readme: "## Run the tests\n\nNo block here.\n\n## Layout\n\n```sh\nls\n```\n")
        #expect(later.status == 1, "\(later.stdout)")
    }

    /// `.ci/readme-walkthrough.sh` on a README written here.
    static func walkthrough(_ readme: String, list: Bool = false) throws -> ProgramResult {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID().uuidString).md")
        try readme.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = repository.appendingPathComponent(".ci/readme-walkthrough.sh").path
        return try Program("/bin/bash", [script] + (list ? ["--list"] : []) + [file.path]).run(timeout: 60)
    }

    /// CI follows the README's every command, not only set-up, test and build; each must exit as
    /// the README says.
    @Test func theWalkthroughCoversEveryCommandOfTheReadme() throws {
        let listed = try Self.walkthrough(String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8), list: true)
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").filter { !$0.hasPrefix("skip") }
        for command in ["build --profile quick", "--set num_epochs=50", "check --profile quick --mutate", " list ",
                        "--edition student", "--pdf", "grade chapters/02-rnn.md --template", "clean --checkpoints", "bench --config gemm"] {
            #expect(lines.contains { $0.contains(command) }, "\(command) is not run: \(listed.stdout)")
        }
        // The grading example exits 1 (its template is unfilled), and the README says so.
        #expect(lines.contains { $0.hasPrefix("1\t") && $0.contains("--submission answers.md") }, "\(listed.stdout)")
        #expect(listed.stdout.contains("skip (runs until stopped; see .ci/serve-test.sh)"))
    }

    @Test func aCommandThatExitsOtherwiseThanTheReadmeSaysFailsTheWalkthrough() throws {
        let block = { (commands: String) in "## Build the book\n\n```sh\n\(commands)\n```\n\n## Run the tests\n\n```sh\nfalse\n```\n" }
        let good = try Self.walkthrough(block("true\nfalse   # this one exits 1"))
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("2 commands, 0 not as the README says"), "\(good.stdout)")
        let bad = try Self.walkthrough(block("true\nfalse   # fine\nexit 3   # exits 1"))
        #expect(bad.status == 1, "\(bad.stdout)")
        #expect(bad.stderr.contains("exited 1, the README says 0: false"), "\(bad.stderr)")
        #expect(bad.stderr.contains("exited 3, the README says 1: exit 3"), "\(bad.stderr)")
        let none = try Self.walkthrough("# R\n\n## Build the book\n\nNo commands.\n\n## Run the tests\n")
        #expect(none.status == 1 && none.stderr.contains("no ```sh commands"), "\(none.stderr)")
    }
}
