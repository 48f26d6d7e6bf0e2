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
}
