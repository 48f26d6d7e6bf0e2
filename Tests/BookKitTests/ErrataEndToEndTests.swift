import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// Issue 16, end to end: an erratum (`verifyFails`) passes only by failing for a reason that
/// proves something, functions of several arguments bind, and comparison claims in prose are
/// judged in every profile. One `rnnbook build` of two chapters: `errata.md`, where every check
/// passes, and `wrong.md`, where each check is wrong in one way.
@Suite("Errata and comparisons end to end", .serialized)
struct ErrataEndToEndTests {
    static let errata = #"""
    ---
    title: Errata
    profiles:
      quick: {}
    ---
    The update, as it should be:

    $$h_t = f(x_t, h_{t-1})$$ {#eq-good}

    as it was written:

    $$h_{t-1} = f(x_t, h_{t-1})$$ {#eq-slip}

    and a set used as a factor:

    $$\mathbf{b} \times \mathbb{R}^{1 \times q}$$ {#eq-set}

    ```swift
    let f = (arguments: 2, { (a: [Tensor<Double>]) in tanh(a[0] + a[1] * 0.5) })
    let x = Tensor<Double>([[0.3, -1.2]]), hPrev = Tensor<Double>([[0.7, 0.1]])
    let hNew = tanh(x + hPrev * 0.5)
    let bound: [String: any MathValue] = ["x_t": x, "h_{t-1}": hPrev, "h_t": hNew]
    verify("eq-good", bound, multiFunctions: ["f": f])
    verifyFails("eq-slip", bound, multiFunctions: ["f": f])
    verifyFails("eq-set", ["b": Tensor<Double>([[1, 2, 3]]), "q": 3])
    record("small", 1.03)
    record("large", 1.52)
    ```

    Small {{small:.2f < large}} and {{large > 1.5}} in every profile.
    """#

    static let wrong = #"""
    ---
    title: Wrong
    ---
    $$h_t = f(x_t, h_{t-1})$$ {#eq-true}

    $$h_{t-1} = g(x_t, h_{t-1})$$ {#eq-unbound}

    ```swift
    let f = (arguments: 2, { (a: [Tensor<Double>]) in tanh(a[0] + a[1] * 0.5) })
    let x = Tensor<Double>([[0.3, -1.2]]), hPrev = Tensor<Double>([[0.7, 0.1]])
    let bound: [String: any MathValue] = ["x_t": x, "h_{t-1}": hPrev,
                                          "h_t": tanh(x + hPrev * 0.5)]
    verifyFails("eq-true", bound, multiFunctions: ["f": f])
    verifyFails("eq-unbound", bound, multiFunctions: ["f": f])
    record("small", 1.03)
    ```

    Reversed: {{small > 1.5}}; missing: {{small < never_recorded}}.
    """#

    struct Built: Sendable {
        var build: Book.Run
        var good: ChapterResult
        var wrong: ChapterResult
        var goodHTML: String
    }

    static let built: Result<Built, MathEndToEndTests.BuildFailure> = {
        do {
            let book = try Book()
            try book.write("errata.md", errata)
            try book.write("wrong.md", wrong)
            let build = try book.run("build", "--profile", "quick")
            let html = try String(contentsOf: book.root.appendingPathComponent("output/errata.html"), encoding: .utf8)
            return .success(Built(build: build, good: try book.result("errata"), wrong: try book.result("wrong"),
                                  goodHTML: html))
        } catch {
            return .failure(MathEndToEndTests.BuildFailure(description: "\(error)"))
        }
    }()

    func fixture() throws -> Built {
        switch Self.built {
        case .success(let b): return b
        case .failure(let f): Issue.record("could not build the book: \(f.description)"); throw f
        }
    }

    @Test func anErratumPassesByFailingAndThePageSaysSo() throws {
        let b = try fixture()
        #expect(b.good.status == .passed, "\(b.good.failures.map(\.description))")
        let slip = try #require(b.good.checks.first { $0.label == "eq-slip" })
        #expect(slip.kind == .expectError && slip.passed)
        #expect(slip.message.hasPrefix("fails, as expected: `f(x_t, h_{t-1})` differs from `h_{t-1}`"))
        #expect(slip.line == 12)
        let set = try #require(b.good.checks.first { $0.label == "eq-set" })
        #expect(set.passed && set.message.contains("is a set") && set.message.contains("was `\\in` meant?"))
        // The correct form, with a function of two arguments, holds.
        #expect(b.good.checks.first { $0.label == "eq-good" }?.kind == .equation)
        #expect(b.good.checks.first { $0.label == "eq-good" }?.passed == true)
        let equation = try #require(MathEndToEndTests.equationHTML("eq-slip", in: b.goodHTML))
        #expect(equation.contains("<span class=\"badge pass\"") && equation.contains(">fails, as expected</span>"))
    }

    @Test func comparisonClaimsAreCheckedInEveryProfile() throws {
        let b = try fixture()
        let claims = b.good.checks.filter { $0.kind == .claim }
        #expect(claims.map(\.verdict) == [.passed, .passed])
        #expect(b.goodHTML.contains("<span class=\"value\">1.03 &lt; 1.52</span>"))
        #expect(!b.goodHTML.contains("shown but not checked"))
    }

    @Test func anErratumThatHoldsOrProvesNothingFailsTheBuild() throws {
        let b = try fixture()
        #expect(b.build.status == 1)
        #expect(b.wrong.status == .failed)
        let holds = try #require(b.wrong.checks.first { $0.label == "eq-true" })
        #expect(holds.failed && holds.message.contains("expected `eq-true` not to hold"))
        let unbound = try #require(b.wrong.checks.first { $0.label == "eq-unbound" })
        #expect(unbound.failed && unbound.message.contains("its failure proves nothing"))
        #expect(b.build.stderr.contains("chapters/wrong.md:4:"))
        let claims = b.wrong.checks.filter { $0.kind == .claim }
        #expect(claims.map(\.verdict) == [.failed, .failed])
        #expect(claims[0].message == "small = 1.03: the claim small > 1.5 does not hold")
        #expect(claims[1].message.contains("'never_recorded', but the code recorded no such metric"))
    }
}
