import Foundation
import Testing
@testable import BookKit

/// NaN and infinities are rejected wherever a number comes in: they compare false with every
/// bound, so `timeout <= 0` let `--timeout nan` turn every timeout off.
@Suite("Options and params reject NaN and infinity")
struct OptionValidationTests {
    @Test(arguments: ["nan", "NaN", "inf", "-inf", "infinity", "1e400"])
    func setRejectsNonFiniteDoubles(text: String) {
        #expect(parseParamValue(text, like: .double(0.1)) == nil)
    }

    @Test func setStillTakesFiniteDoubles() {
        #expect(parseParamValue("2.5e-3", like: .double(0.1)) == .double(2.5e-3))
    }

    @Test(arguments: [".nan", ".inf", "-.inf"])
    func frontMatterRejectsNonFiniteParamsAndTimeouts(value: String) {
        for source in ["---\ntitle: T\nparams:\n  lr: \(value)\n---\n# T\n", "---\ntitle: T\ntimeout: \(value)\n---\n# T\n"] {
            #expect(throws: BookError.self) { try ChapterParser().parse(source: source, path: "chapters/t.md") }
        }
    }

    @Test(arguments: ["nan", "inf", "-1", "0"])
    func timeoutOptionRejectsNonPositiveAndNonFinite(value: String) throws {
        let book = try Book()
        try book.write("t.md", "# T\n")
        let run = try book.run("check", "--timeout=\(value)")
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("--timeout must be a positive number of seconds"))
    }
}
