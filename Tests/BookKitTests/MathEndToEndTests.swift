import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// Issue 6, end to end: equations in prose checked against chapter code by the built `rnnbook`.
///
/// One book holds two chapters built by one `rnnbook build`: `good.md`, where every equation,
/// shape claim, gradient and quoted number is right, and `bad.md`, the same chapter with one
/// deliberate error in each of three equations (a missing transpose, a sum one step short, an
/// exponent off by one), a wrong dimension in a shape claim, a quoted number outside its
/// tolerance, and a section of mistakes the checker must name (an unknown label, an unbound
/// symbol, a claim on a metric never recorded). Equations left correct in `bad.md` must still
/// pass, so each failure is attributable to its one edit.
@Suite("Maths checked end to end", .serialized)
struct MathEndToEndTests {
    // MARK: The chapters

    /// The RNN state equation for column vectors, checked against the engine's row-major cell.
    static let rnnState = #"\mathbf{h}_t = \tanh(\mathbf{W}_{xh}^\top \mathbf{x}_t + \mathbf{W}_{hh}^\top \mathbf{h}_{t-1} + \mathbf{b}_h)"#
    static let rnnStateNoTranspose = #"\mathbf{h}_t = \tanh(\mathbf{W}_{xh}^\top \mathbf{x}_t + \mathbf{W}_{hh} \mathbf{h}_{t-1} + \mathbf{b}_h)"#
    static let gradWqh = #"\frac{\partial L}{\partial \mathbf{W}_{qh}} = \sum_{t=1}^{T} \frac{\partial L}{\partial \mathbf{o}_t} \mathbf{h}_t^\top"#
    static let gradWqhShort = #"\frac{\partial L}{\partial \mathbf{W}_{qh}} = \sum_{t=1}^{T-1} \frac{\partial L}{\partial \mathbf{o}_t} \mathbf{h}_t^\top"#
    static let closedForm = #"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i} \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}}"#
    static let closedFormOffByOne = #"\frac{\partial L}{\partial \mathbf{h}_t} = \sum_{i=t}^{T} \left(\mathbf{W}_{hh}^\top\right)^{T-i+1} \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}}"#
    static let outputEquation = #"\mathbf{o}_t = \mathbf{W}_{qh} \mathbf{h}_t + \mathbf{b}_q"#
    /// The transpose on the wrong factor: an inner product [1, 1] per step where an outer product [4, 4] belongs.
    static let gradWqhInner = #"\frac{\partial L}{\partial \mathbf{W}_{qh}} = \sum_{t=1}^{T} \mathbf{h}_t^\top \frac{\partial L}{\partial \mathbf{o}_t}"#

    /// The loss the seeded linear RNN below records (seed 3: 1.7761…), as the prose quotes it.
    static let recordedLoss = 1.8

    static func chapter(rnnState: String, gradWqh: String, closedForm: String,
                        claimedRows: String, claimedLoss: Double, extra: String = "") -> String {
        """
        ---
        title: Maths checked
        params:
          seed: 3
        ---
        # Maths checked

        One step of the engine's RNN cell, written for column vectors:

        $$\(rnnState)$$ {#eq-rnn-state}

        A minibatch of inputs has one row per example:

        $$\\mathbf{X} \\in \\mathbb{R}^{n \\times d}$$ {#eq-x-shape}

        ```swift
        let seed = UInt64(param("seed", default: 3))
        var g = PCG64(seed: seed)
        let d = 3, hid = 4
        let cell = RNNCell<Double>(
            wxh: Variable(Tensor<Double>(randomNormal: [d, hid], standardDeviation: 0.5, generator: &g), requiresGrad: true),
            whh: Variable(Tensor<Double>(randomNormal: [hid, hid], standardDeviation: 0.5, generator: &g), requiresGrad: true),
            bh: Variable(Tensor<Double>(randomNormal: [hid], standardDeviation: 0.5, generator: &g), requiresGrad: true))
        let x1 = Tensor<Double>(randomNormal: [1, d], generator: &g)
        let h0 = Tensor<Double>(randomNormal: [1, hid], generator: &g)
        let h1 = cell(Variable(x1), state: Variable(h0)).value
        verify("eq-rnn-state", ["x_t": x1.reshaped([d]), "h_{t-1}": h0.reshaped([hid]),
                                "W_xh": cell.wxh, "W_hh": cell.whh, "b_h": cell.bh, "h_t": h1.reshaped([hid])])
        let X = Tensor<Double>(randomNormal: [5, d], generator: &g)
        verify("eq-x-shape", ["X": X, "n": \(claimedRows), "d": d])
        ```

        A linear RNN without bias, $\\mathbf{h}_t = \\mathbf{W}_{hx} \\mathbf{x}_t + \\mathbf{W}_{hh} \\mathbf{h}_{t-1}$,
        $\\mathbf{o}_t = \\mathbf{W}_{qh} \\mathbf{h}_t$. The output weights collect one outer product per step:

        $$\(gradWqh)$$ {#eq-grad-wqh}

        Each state also feeds the next:

        $$\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\mathbf{W}_{hh}^\\top \\frac{\\partial L}{\\partial \\mathbf{h}_{t+1}} + \\mathbf{W}_{qh}^\\top \\frac{\\partial L}{\\partial \\mathbf{o}_t}$$ {#eq-grad-ht}

        and unrolled:

        $$\(closedForm)$$ {#eq-grad-ht-closed}

        ```swift
        let Tl = 5, q = 4
        var lg = PCG64(seed: seed &+ 11)
        let W_hx = Variable(Tensor<Double>(randomNormal: [hid, d], standardDeviation: 0.5, generator: &lg), requiresGrad: true)
        let W_hh = Variable(Tensor<Double>(randomNormal: [hid, hid], standardDeviation: 0.5, generator: &lg), requiresGrad: true)
        let W_qh = Variable(Tensor<Double>(randomNormal: [q, hid], standardDeviation: 0.5, generator: &lg), requiresGrad: true)
        let xsL = (0..<Tl).map { _ in Tensor<Double>(randomNormal: [d, 1], generator: &lg) }
        let ysL = (0..<Tl).map { _ in lg.nextInt(below: q) }
        func unroll() -> (h: [Variable<Double>], o: [Variable<Double>], loss: Variable<Double>) {
            var h: [Variable<Double>] = [Variable(Tensor<Double>(zeros: [hid, 1]))]
            var o: [Variable<Double>] = [Variable(Tensor<Double>(zeros: [q, 1]))]
            var loss: Variable<Double>? = nil
            for t in 1...Tl {
                h.append(matmul(W_hx, Variable(xsL[t - 1])) + matmul(W_hh, h[t - 1]))
                o.append(matmul(W_qh, h[t]))
                let lt = softmaxCrossEntropy(logits: o[t].transposed, labels: [ysL[t - 1]]) / Double(Tl)
                loss = loss.map { $0 + lt } ?? lt
            }
            return (h, o, loss!)
        }
        let (hL, oL, lossL) = unroll()
        lossL.backward()
        bindSymbols(["W_hh": { W_hh.value }, "W_qh": { W_qh.value }, "T": { Tl }],
                    indexed: ["∂L/∂o": { oL[$0].grad! }, "∂L/∂h": { hL[$0].grad! }, "h": { hL[$0].value }])
        let dWqh = W_qh.grad!   // kept: verifyGradient below clears the parameters' gradients
        verify("eq-grad-wqh", ["∂L/∂W_qh": dWqh])
        for t in 1..<Tl { verify("eq-grad-ht", ["t": t]) }
        for t in 1...Tl { verify("eq-grad-ht-closed", ["t": t]) }
        record("loss_linear", lossL.value.scalar)
        print(String(format: "loss %.4f", lossL.value.scalar))
        ```

        Autodiff itself agrees with finite differences:

        ```swift
        verifyGradient(of: { unroll().loss }, wrt: [W_hx, W_hh, W_qh], label: "linear RNN gradients")
        ```

        The loss is {{loss_linear ≈ \(claimedLoss) ± 0.1}}.
        \(extra)
        """
    }

    static let good = chapter(rnnState: rnnState, gradWqh: gradWqh, closedForm: closedForm,
                              claimedRows: "5", claimedLoss: recordedLoss)

    /// Mistakes the checker must name; appended to the bad chapter only.
    static let mistakes = """

        ## Mistakes

        $$\(outputEquation)$$ {#eq-output}

        $$\(gradWqhInner)$$ {#eq-grad-wqh-inner}

        A typo in a label, an equation whose bias the code forgot to bind, and one whose sides
        differ in shape:

        ```swift
        verify("eq-rnn-stat", ["h_t": h1])
        verify("eq-output", ["W_qh": W_qh.value, "h_t": hL[1].value, "o_t": oL[1].value])
        verify("eq-grad-wqh-inner", ["∂L/∂W_qh": dWqh])
        ```

        Perplexity is {{perplexity_never_recorded ≈ 1.0 ± 0.1}}.
        """

    static let bad = chapter(rnnState: rnnStateNoTranspose, gradWqh: gradWqhShort, closedForm: closedFormOffByOne,
                             claimedRows: "6", claimedLoss: recordedLoss + 0.5, extra: mistakes)

    // MARK: One build for all tests

    /// What one `rnnbook build` of both chapters and one `rnnbook check` of each produced.
    struct Built: Sendable {
        var build: Book.Run
        var checkGood: Book.Run
        var checkBad: Book.Run
        var good: ChapterResult
        var bad: ChapterResult
        var goodHTML: String
        var badHTML: String
    }

    /// Built once for the suite; everything is read into memory, so the temporary book is
    /// removed (by `Book`'s deinit) as soon as this returns.
    static let built: Result<Built, BuildFailure> = {
        do {
            let book = try Book()
            try book.write("good.md", good)
            try book.write("bad.md", bad)
            let build = try book.run("build")
            // A passed chapter is cached, so checking it again compiles nothing; the bad one recompiles.
            let checkGood = try book.run("check", "chapters/good.md")
            let checkBad = try book.run("check", "chapters/bad.md")
            func page(_ slug: String) throws -> String {
                try String(contentsOf: book.root.appendingPathComponent("output/\(slug).html"), encoding: .utf8)
            }
            return .success(Built(build: build, checkGood: checkGood, checkBad: checkBad,
                                  good: try book.result("good"), bad: try book.result("bad"),
                                  goodHTML: try page("good"), badHTML: try page("bad")))
        } catch {
            return .failure(BuildFailure(description: "\(error)"))
        }
    }()

    struct BuildFailure: Error, Sendable { var description: String }

    func fixture() throws -> Built {
        switch Self.built {
        case .success(let b): return b
        case .failure(let f): Issue.record("could not build the book: \(f.description)"); throw f
        }
    }

    // MARK: Helpers

    /// The 1-based Markdown line of the first line of `text` containing `needle`.
    static func line(of needle: String, in text: String) -> Int {
        let lines = text.components(separatedBy: "\n")
        guard let i = lines.firstIndex(where: { $0.contains(needle) }) else {
            preconditionFailure("`\(needle)` is not in the chapter")
        }
        return i + 1
    }

    /// The rendered equation (display maths plus its side column of badges) labelled `label`.
    static func equationHTML(_ label: String, in html: String) -> String? {
        guard let start = html.range(of: "<div class=\"equation\" data-label=\"\(label)\">") else { return nil }
        let rest = html[start.lowerBound...]
        // The equation's own markup ends where its side column does: `</div></div>`.
        guard let end = rest.range(of: "</div></div>") else { return nil }
        return String(rest[..<end.upperBound])
    }

    static func badges(in fragment: String) -> (pass: Int, fail: Int) {
        (fragment.components(separatedBy: "<span class=\"badge pass\"").count - 1,
         fragment.components(separatedBy: "<span class=\"badge fail\"").count - 1)
    }

    // MARK: The correct chapter

    @Test func correctChapterPassesEveryCheck() throws {
        let b = try fixture()
        #expect(b.checkGood.status == 0, "\(b.checkGood.stderr)")
        #expect(b.good.status == .passed, "\(b.good.failures)")
        let failed = b.good.checks.filter { !$0.passed }
        #expect(failed.isEmpty, "\(failed.map(\.message))")
        func checks(_ label: String) -> [Finding] { b.good.checks.filter { $0.label == label } }
        #expect(checks("eq-rnn-state").map(\.kind) == [.equation])
        #expect(checks("eq-grad-wqh").count == 1)
        #expect(checks("eq-grad-ht").count == 4)
        #expect(checks("eq-grad-ht-closed").count == 5)
        #expect(checks("eq-x-shape").map(\.kind) == [.shape])
        #expect(checks("linear RNN gradients").map(\.kind) == [.gradient])
        #expect(checks("loss_linear").map(\.kind) == [.claim])
        // Equations are checked to rounding error, not merely within the tolerance.
        for c in b.good.checks where c.kind == .equation {
            #expect((c.maxRelError ?? 1) < 1e-10, "\(c.label): \(c.message)")
            #expect(c.tolerance == 1e-6)
            #expect(c.line == Self.line(of: "{#\(c.label)}", in: Self.good))
        }
        let gradient = try #require(checks("linear RNN gradients").first)
        #expect((gradient.maxRelError ?? 1) <= 1e-6)
        #expect(gradient.message.contains("for 3 parameters"))
        #expect(gradient.shapes == ["parameter 0": [4, 3], "parameter 1": [4, 4], "parameter 2": [4, 4]])
        #expect(b.good.metrics["loss_linear"].map { abs($0 - Self.recordedLoss) <= 0.1 } == true)
    }

    @Test func correctPageShowsGreenBadges() throws {
        let b = try fixture()
        for label in ["eq-rnn-state", "eq-x-shape", "eq-grad-wqh", "eq-grad-ht", "eq-grad-ht-closed"] {
            let eq = try #require(Self.equationHTML(label, in: b.goodHTML), "no equation \(label) on the page")
            let n = Self.badges(in: eq)
            #expect(n.pass >= 1 && n.fail == 0, "\(label): \(n)")
        }
        #expect(!b.goodHTML.contains("<span class=\"badge fail\""))
    }

    // MARK: The three deliberate errors

    /// The failed checks of the bad chapter for `label`, and the equation's Markdown line.
    func failures(_ label: String, _ b: Built) -> (checks: [Finding], line: Int) {
        (b.bad.checks.filter { $0.label == label }, Self.line(of: "{#\(label)}", in: Self.bad))
    }

    @Test(arguments: [
        ("eq-rnn-state", 1, "missing transpose"),
        ("eq-grad-wqh", 1, "sum one step short"),
        ("eq-grad-ht-closed", 5, "exponent off by one"),
    ])
    func deliberateErrorFailsWithLabelLineAndRedBadge(label: String, count: Int, what: String) throws {
        let b = try fixture()
        let (checks, line) = failures(label, b)
        // JSON: every check of that equation failed, at the equation's line, with the numbers.
        #expect(checks.count == count, "\(what)")
        for c in checks {
            #expect(c.kind == .equation && !c.passed, "\(what): \(c)")
            #expect(c.line == line && c.column == 1, "\(what)")
            #expect((c.maxRelError ?? 0) > 1e-3, "\(what): an O(1) mistake, not rounding")
            #expect(c.tolerance == 1e-6)
            #expect(c.message.contains("differs from"), "\(what): \(c.message)")
            #expect(c.message.contains("expected") && c.message.contains("got"), "\(what): \(c.message)")
        }
        // `rnnbook check` exits non-zero and prints `chapters/bad.md:LINE: eq-label: …` for each.
        #expect(b.checkBad.status == 1)
        let prefix = "chapters/bad.md:\(line):1: \(label): "
        let printed = b.checkBad.stderr.components(separatedBy: "\n").filter { $0.hasPrefix(prefix) }
        #expect(printed.count == count, "\(what): \(b.checkBad.stderr)")
        #expect(b.build.status == 1)
        #expect(b.build.stderr.contains(prefix))
        // The page: the equation carries red badges only.
        let eq = try #require(Self.equationHTML(label, in: b.badHTML))
        let n = Self.badges(in: eq)
        #expect(n.fail == count && n.pass == 0, "\(what): \(n)")
        #expect(eq.contains("<span class=\"badge-label\">differs</span>"))
        // The failure banner at the top links to it.
        #expect(b.badHTML.contains("equation <code>\(label)</code></a>"))
    }

    @Test func untouchedEquationsStillPassInTheBadChapter() throws {
        let b = try fixture()
        let recursion = b.bad.checks.filter { $0.label == "eq-grad-ht" }
        #expect(recursion.count == 4)
        #expect(recursion.allSatisfy { $0.passed })
        #expect(b.bad.checks.first { $0.kind == .gradient }?.passed == true)
        #expect(b.bad.status == .failed)
        #expect(b.checkGood.status == 0)
    }

    // MARK: Mistakes the checker must name

    @Test func wrongDimensionInShapeClaim() throws {
        let b = try fixture()
        let line = Self.line(of: "{#eq-x-shape}", in: Self.bad)
        let c = try #require(b.bad.checks.first { $0.label == "eq-x-shape" })
        #expect(c.kind == .shape && !c.passed)
        #expect(c.line == line)
        #expect(c.message == "`\\mathbf{X}` has shape [5, 3], but the equation claims `\\mathbb{R}^{n \\times d} = [6, 3]`")
        #expect(c.shapes?["X"] == [5, 3])
        #expect(b.checkBad.stderr.contains("chapters/bad.md:\(line):1: eq-x-shape: `\\mathbf{X}` has shape [5, 3]"))
        let eq = try #require(Self.equationHTML("eq-x-shape", in: b.badHTML))
        #expect(Self.badges(in: eq) == (pass: 0, fail: 1))
        #expect(eq.contains("<span class=\"badge-label\">shape</span>"))
    }

    @Test func unknownLabelNamesTheLabelledEquations() throws {
        let b = try fixture()
        let c = try #require(b.bad.checks.first { $0.label == "eq-rnn-stat" })
        #expect(!c.passed)
        #expect(c.message.contains("no equation labelled `eq-rnn-stat` in this chapter"))
        #expect(c.message.contains("eq-rnn-state") && c.message.contains("eq-output"))
        // No equation to point at: the line is the block's first line (here the call itself).
        let blockLine = Self.line(of: "verify(\"eq-rnn-stat\",", in: Self.bad)
        #expect(c.line == blockLine)
        #expect(b.checkBad.stderr.contains("chapters/bad.md:\(blockLine):1: eq-rnn-stat: no equation labelled"))
        // On the page it sits, red, in the head of the block that made it.
        #expect(b.badHTML.contains("<span class=\"badge-label\">eq-rnn-stat</span>"))
    }

    @Test func unboundSymbolIsNamedWithItsColumnAndTheBoundNames() throws {
        let b = try fixture()
        let line = Self.line(of: "{#eq-output}", in: Self.bad)
        let c = try #require(b.bad.checks.first { $0.label == "eq-output" })
        #expect(!c.passed && c.line == line)
        let column = Self.outputEquation.distance(from: Self.outputEquation.startIndex,
                                                  to: Self.outputEquation.range(of: "\\mathbf{b}_q")!.lowerBound) + 1
        #expect(c.message.hasPrefix("TeX column \(column): no binding for `b_q`"), "\(c.message)")
        #expect(c.message.contains("bound: "))
        for name in ["W_qh", "h_t", "o_t"] { #expect(c.message.contains(name), "\(name) missing from \(c.message)") }
        #expect(b.checkBad.stderr.contains("chapters/bad.md:\(line):1: eq-output: TeX column \(column): no binding for `b_q`"))
        let eq = try #require(Self.equationHTML("eq-output", in: b.badHTML))
        #expect(Self.badges(in: eq).fail == 1)
    }

    /// When the two sides differ in shape the errors are infinite; the side channel must still
    /// carry the check (it once dropped it: plain JSON cannot hold infinity).
    @Test func sidesOfDifferentShapesFail() throws {
        let b = try fixture()
        let line = Self.line(of: "{#eq-grad-wqh-inner}", in: Self.bad)
        let c = try #require(b.bad.checks.first { $0.label == "eq-grad-wqh-inner" })
        #expect(!c.passed && c.line == line)
        #expect(c.message.contains("has shape [1, 1], but `\\frac{\\partial L}{\\partial \\mathbf{W}_{qh}}` has shape [4, 4]"), "\(c.message)")
        #expect(b.checkBad.stderr.contains("chapters/bad.md:\(line):1: eq-grad-wqh-inner: "))
        let eq = try #require(Self.equationHTML("eq-grad-wqh-inner", in: b.badHTML))
        #expect(Self.badges(in: eq).fail == 1)
    }

    // MARK: Numbers quoted in prose

    @Test func quotedNumbersPassFailAndMustBeRecorded() throws {
        let b = try fixture()
        let good = try #require(b.good.checks.first { $0.kind == .claim })
        #expect(good.passed && good.label == "loss_linear")
        let measured = try #require(b.bad.metrics["loss_linear"])
        let claimLine = Self.line(of: "{{loss_linear ≈", in: Self.bad)
        let wrong = try #require(b.bad.checks.first { $0.kind == .claim && $0.label == "loss_linear" })
        #expect(!wrong.passed && wrong.line == claimLine)
        #expect(wrong.message == "expected \(Self.recordedLoss + 0.5) ± 0.1, got \(measured)")
        #expect(b.checkBad.stderr.contains("chapters/bad.md:\(claimLine):\(wrong.column ?? 0): loss_linear: expected \(Self.recordedLoss + 0.5) ± 0.1"))

        let missingLine = Self.line(of: "{{perplexity_never_recorded", in: Self.bad)
        let missing = try #require(b.bad.checks.first { $0.label == "perplexity_never_recorded" })
        #expect(!missing.passed && missing.kind == .claim && missing.line == missingLine)
        #expect(missing.message == "the prose claims 'perplexity_never_recorded' but the code recorded no such metric; recorded: loss_linear")
        #expect(b.checkBad.stderr.contains("chapters/bad.md:\(missingLine):\(missing.column ?? 0): perplexity_never_recorded: the prose claims"))
        // Pages: the good claim is green, both bad claims are red.
        #expect(b.goodHTML.contains("<span class=\"claim\"><span class=\"value\">"))
        let claims = b.badHTML.components(separatedBy: "<span class=\"claim").dropFirst()
        #expect(claims.count == 2)
        for c in claims { #expect(c.contains("<span class=\"badge fail\""), "\(c.prefix(300))") }
    }
}
