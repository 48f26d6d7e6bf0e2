import Foundation
import Testing
@testable import BookKit
import BookProtocol

/// Issue 23, end to end: checks that could not fail where they ran now fail, each at its Markdown
/// line. One chapter holds one mistake per check (every other check in it is right, so each
/// failure is attributable to its one edit); a second chapter is built with `check --mutate`.
@Suite("Checks that can fail", .serialized)
struct CheckStrengthTests {
    static let chapter = #"""
    ---
    title: Loose checks
    ---
    # Loose checks

    $$\mathbf{Y} = \mathbf{X} \mathbf{W}$$ {#eq-loose}

    $$\mathbf{Z} = \mathbf{X} \mathbf{W}$$ {#eq-reasoned}

    $$\mathbf{b} \in \mathbb{R}^{1 \times d}$$ {#eq-row}

    $$\mathbf{Z} = \mathbf{X} \mathbf{W} + \mathbf{c}$$ {#eq-column-bias}

    $$\mathbf{s} = \sigma(\mathbf{z})$$ {#eq-sigma}

    $$\mathbf{V} = 2 \mathbf{A}$$ {#eq-bound}

    ```swift
    let x = Tensor<Double>(randomNormal: [3, 4], seed: 1)
    let w = Tensor<Double>(randomNormal: [4, 5], seed: 2)
    let y = x.matmul(w)
    verify("eq-loose", ["X": x, "W": w, "Y": y * 1.2], tolerance: 0.5)
    verify("eq-reasoned", ["X": x, "W": w, "Z": y * (1 + 1e-4)], tolerance: 1e-3, because: "a test of the reason")
    verify("eq-row", ["b": Tensor<Double>(zeros: [6, 1]), "d": 6])
    // A [3, 1] column added across the columns of XW: the engine stretches it, the TeX means a row.
    let c = Tensor<Double>(randomNormal: [3, 1], seed: 7)
    verify("eq-column-bias", ["X": x, "W": w, "c": c, "Z": y + c])
    // The sigmoid forgotten in code, and σ bound to 1: read as a product, it passed.
    let zz = Tensor<Double>(randomNormal: [4], seed: 8)
    verify("eq-sigma", ["sigma": 1.0, "z": zz, "s": zz])
    // Chapter-wide symbols are read at each check: A is replaced after binding, V computed from the new A.
    var aa = Tensor<Double>(randomNormal: [2, 2], seed: 9)
    bindSymbols(["A": { aa }])
    aa = aa * 3
    verify("eq-bound", ["V": aa * 2])
    ```

    Gradients:

    ```swift
    let p = Variable(Tensor<Double>(randomNormal: [3], seed: 3), requiresGrad: true)
    let q = Variable(Tensor<Double>(randomNormal: [2], seed: 4), requiresGrad: true)
    let frozen = q.detached()
    verifyGradient(of: { (p * p).sum() }, wrt: [], label: "no parameters")
    verifyGradient(of: { (p * p).sum() + (frozen * 2).sum() }, wrt: [p, q], label: "detached q")
    verifyGradient(of: { (p * p).sum() }, wrt: [p], label: "loose gradient", tolerance: 1)
    verifyGradient(of: { (p * p).sum() }, wrt: [p], label: "good gradient")
    expect("loose expect", 1.3, near: 1, tolerance: 0.5)
    expect("reasoned expect", 1.3, near: 1, tolerance: 0.5, because: "a test of the reason")
    ```

    Errata, each shown wrong in one way:

    $$\mathbf{A} = \mathbf{X} \mathbf{W}^\top$$ {#eq-erratum-shape}

    $$\mathbf{A} = \mathbf{X} \mathbf{V}$$ {#eq-erratum-unbound}

    $$\mathbf{A} = \mathbf{X} \mathbf{W} + \mathbf{E}$$ {#eq-erratum-rounding}

    $$\mathbf{A} = \mathbf{X} \mathbf{W} + \mathbf{E}$$ {#eq-erratum-tight}

    $$\mathbf{A} = \mathbf{W} \mathbf{X}^\top$$ {#eq-erratum-good}

    $$\mathbf{b} \times \mathbb{R}^{1 \times d}$$ {#eq-erratum-set}

    ```swift
    let tiny = Tensor<Double>(zeros: [3, 5]) + 1e-12
    verifyFails("eq-erratum-shape", ["A": y, "X": x, "W": w])
    verifyFails("eq-erratum-unbound", ["A": y, "X": x])
    verifyFails("eq-erratum-rounding", ["A": y, "X": x, "W": w, "E": tiny * 3e7])
    verifyFails("eq-erratum-tight", ["A": y, "X": x, "W": w, "E": tiny], tolerance: 0)
    verifyFails("eq-erratum-good", ["A": y.transposed, "X": x, "W": w.transposed * 2])
    verifyFails("eq-erratum-set", ["b": Tensor<Double>(zeros: [1, 6]), "d": 6])
    ```
    """#

    /// 1-based line of the first line of `chapter` containing `needle`.
    static func line(_ needle: String, in text: String = chapter) -> Int {
        text.components(separatedBy: "\n").firstIndex { $0.contains(needle) }! + 1
    }

    @Test func eachLooseOrEmptyCheckFailsAtItsLine() throws {
        let book = try Book()
        try book.write("loose.md", Self.chapter)
        let run = try book.run("build")
        #expect(run.status == 1)
        let out = run.stderr
        func failure(_ needle: String, _ label: String, _ message: String) {
            let place = "chapters/loose.md:\(Self.line(needle)):"
            let hit = out.components(separatedBy: "\n").contains { $0.contains(place) && $0.contains("\(label):") && $0.contains(message) }
            #expect(hit, "expected at \(place) \(label): …\(message)…\n\(out)")
        }
        // A tolerance above the ceiling with no reason; the value is 20 % off and would pass 0.5.
        failure("{#eq-loose}", "eq-loose", "tolerance 0.5 is above the ceiling 0.0001 for equation checks, and no reason is given")
        // Size-1 axes count: a [6, 1] column is not a 1×d row, and the message says its real shape.
        failure("{#eq-row}", "eq-row", "`\\mathbf{b}` has shape [6, 1], but the equation claims `\\mathbb{R}^{1 \\times d} = [1, 6]`")
        failure("{#eq-column-bias}", "eq-column-bias", "only equal shapes, a scalar, or a row added to every row are combined")
        failure("{#eq-sigma}", "eq-sigma", "writes `\\sigma` like a function applied to `\\mathbf{z}`, but `sigma` is bound as a value")
        failure("wrt: [], label", "no parameters", "`wrt:` is empty")
        failure("label: \"detached q\"", "detached q", "parameter 1 [2]: both gradients are exactly zero everywhere")
        failure("label: \"loose gradient\"", "loose gradient", "tolerance 1 is above the ceiling 0.0001 for gradient checks")
        failure("expect(\"loose expect\"", "loose expect", "tolerance 0.5 is above the ceiling 0.1 for claim checks")
        failure("{#eq-erratum-shape}", "eq-erratum-shape", "cannot show this erratum by its values")
        failure("{#eq-erratum-unbound}", "eq-erratum-unbound", "a symbol or function the code did not bind")
        failure("{#eq-erratum-rounding}", "eq-erratum-rounding", "less than 1000× the tolerance")
        failure("{#eq-erratum-tight}", "eq-erratum-tight", "no tighter than the default")
        // The right ones pass: only the mistakes above fail.
        for passing in ["eq-reasoned", "good gradient", "reasoned expect", "eq-erratum-good", "eq-erratum-set", "eq-bound"] {
            #expect(!out.contains("\(passing): "), "\(passing) should pass:\n\(out)")
        }
        // No earlier pass: the failed result is the chapter's JSON.
        let result = try book.result("loose")
        let reasoned = try #require(result.findings.first { $0.label == "eq-reasoned" })
        #expect(reasoned.passed && reasoned.toleranceReason == "a test of the reason" && reasoned.tolerance == 1e-3)
        let bound = try #require(result.findings.first { $0.label == "eq-bound" })
        #expect(bound.passed && bound.message.hasSuffix("[from bindSymbols, read at this check: A]"), "\(bound.message)")
        let set = try #require(result.findings.first { $0.label == "eq-erratum-set" })
        #expect(set.passed && set.message.hasPrefix("fails, as expected: it is not a statement about any value"))
    }

    static let mutants = #"""
    ---
    title: Mutants
    ---
    # Mutants

    $$\mathbf{h}_t = \tanh(\mathbf{W} \mathbf{h}_{t-1})$$ {#eq-step}

    $$\mathbf{y} = \tanh(\mathbf{x})$$ {#eq-zero}

    $$\mathbf{Y} = \mathbf{S}^\top \mathbf{X} + \mathbf{B}$$ {#eq-symmetric}

    ```swift
    let w = Tensor<Double>(randomNormal: [4, 4], seed: 1)
    let h0 = Tensor<Double>(randomNormal: [4, 1], seed: 2)
    let h1 = w.matmul(h0).map { Foundation.tanh($0) }
    // h_{t-2} is not bound: its mutant cannot be judged by value, and must not count as killed.
    verify("eq-step", ["W": w, "h_t": h1, "h_{t-1}": h0])
    let z = Tensor<Double>(zeros: [2, 2])
    verify("eq-zero", ["x": z, "y": z])
    let a = Tensor<Double>(randomNormal: [3, 3], seed: 3)
    let s = a + a.transposed
    let x = Tensor<Double>(randomNormal: [3, 2], seed: 4)
    let b = Tensor<Double>(randomNormal: [3, 2], seed: 5)
    verify("eq-symmetric", ["S": s, "X": x, "B": b, "Y": s.matmul(x) + b],
           survivors: ["drop the transpose on S": "S is symmetric by construction, as in the text"])
    ```
    """#

    @Test func mutateJudgesOnlyByValueAndFailsOnUnexplainedSurvivors() throws {
        let book = try Book()
        try book.write("m.md", Self.mutants)
        let run = try book.run("check", "--mutate")
        #expect(run.status == 1, "\(run.stderr)")
        let out = run.stderr
        let step = Self.line("{#eq-step}", in: Self.mutants), zero = Self.line("{#eq-zero}", in: Self.mutants)
        let symmetric = Self.line("{#eq-symmetric}", in: Self.mutants)
        // The shifted state's symbol is unbound: not judged, never killed.
        #expect(out.contains("not judged  chapters/m.md:\(step):1: eq-step: t-1 → t-2 in "), "\(out)")
        #expect(out.contains("judged killed"))
        // tanh(0) = 0: dropping tanh survives, unexplained: an error, and the equation is vacuous.
        #expect(out.contains("error: chapters/m.md:\(zero):1: eq-zero: the mutant 'drop \\tanh (TeX column 14)' survived"), "\(out)")
        #expect(out.contains("`survivors: [\"drop \\tanh\": \"why\"]`"), "\(out)")
        #expect(out.contains("error: chapters/m.md:\(zero):1: eq-zero: the mutant 'drop "), "\(out)")
        #expect(out.contains("error: chapters/m.md:\(zero):1: eq-zero: no mutant of this checked equation was killed by value"))
        // The acknowledged survivor is listed with its reason and is not an error.
        #expect(out.contains("acknowledged  chapters/m.md:\(symmetric):1: eq-symmetric: drop the transpose on S"), "\(out)")
        #expect(!out.contains("error: chapters/m.md:\(symmetric)"), "\(out)")
        #expect(out.contains("mutation test failed"))
    }

    @Test func anAcknowledgementMustNameARealMutant() throws {
        let book = try Book()
        try book.write("m.md", Self.mutants.replacingOccurrences(of: "\"drop the transpose on S\"", with: "\"drop the transpose on T\""))
        let run = try book.run("check")
        #expect(run.status == 1)
        let symmetric = Self.line("{#eq-symmetric}", in: Self.mutants)
        #expect(run.stderr.contains("chapters/m.md:\(symmetric)"))
        #expect(run.stderr.contains("survivors: names 'drop the transpose on T', which is not a mutant of eq-symmetric; its mutants are: "), "\(run.stderr)")
    }

    static let twice = #"""
    ---
    title: Twice
    ---
    # Twice

    The loss falls to {{loss ≈ 0.5 ± 0.01}}.

    ```swift
    record("loss", 0.5)
    var loss = 0.5
    for _ in 0..<3 { loss *= 2 }
    record("loss", loss)
    ```
    """#

    /// A claim under the first value was judged against the last one: now the second `record`
    /// stops the block at its line, naming the first.
    @Test func aMetricRecordedTwiceFailsAtTheSecondRecord() throws {
        let book = try Book()
        try book.write("twice.md", Self.twice)
        let run = try book.run("check")
        #expect(run.status == 1)
        let second = Self.line("record(\"loss\", loss)", in: Self.twice), first = Self.line("record(\"loss\", 0.5)", in: Self.twice)
        #expect(run.stderr.contains("chapters/twice.md:\(second): metric 'loss' is recorded a second time (first at chapters/twice.md:\(first))"), "\(run.stderr)")
    }
}
