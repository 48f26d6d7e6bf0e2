import Foundation
import Engine
@testable import MathCheck
import Testing

private func bindings(_ values: [String: Tensor<Double>], integers: [String: Int] = [:],
                      functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:]) -> Bindings {
    Bindings(values: values, functions: functions, integers: integers)
}

@Suite("Evaluation against hand-computed values")
struct EvaluationTests {
    let a = Tensor<Double>([[1, 2], [3, 4]])
    let b = Tensor<Double>([[0, 1], [1, 0]])

    @Test(arguments: [
        // (TeX, expected right side) with A = [[1,2],[3,4]], B = [[0,1],[1,0]], s = 2, v = [1, -1]
        ("A B", [[2.0, 1], [4, 3]]),
        ("A \\cdot B", [[2.0, 1], [4, 3]]),
        ("A \\odot B", [[0.0, 2], [3, 0]]),
        ("A^\\top", [[1.0, 3], [2, 4]]),
        ("A^{2}", [[7.0, 10], [15, 22]]),
        ("A^0", [[1.0, 0], [0, 1]]),
        ("s A - B", [[2.0, 3], [5, 8]]),
        ("\\frac{A}{s}", [[0.5, 1], [1.5, 2]]),
        ("-A + (B)", [[-1.0, -1], [-2, -4]]),
        ("\\left(A + B\\right) B", [[3.0, 1], [4, 4]]),
        ("[A, B]", [[1.0, 2, 0, 1], [3, 4, 1, 0]]),
        ("\\begin{bmatrix} A \\\\ B \\end{bmatrix}", [[1.0, 2], [3, 4], [0, 1], [1, 0]]),
        ("[A; B]", [[1.0, 2], [3, 4], [0, 1], [1, 0]]),
        ("\\mathbf{1} [1, 2]^\\top", [[1.0, 2], [1, 2]]),
        ("\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", [[1.0, 2], [3, 4]]),
        ("v v^\\top", [[1.0, -1], [-1, 1]]),
        ("A + v", [[2.0, 1], [4, 3]]),
        ("\\sum_{i=1}^{3} i A", [[6.0, 12], [18, 24]]),
        ("\\prod_{j=1}^{2} A", [[7.0, 10], [15, 22]]),
        ("\\textrm{prod}(v, v)", [[1.0, -1], [-1, 1]]),
        ("\\max(A, s)", [[2.0, 2], [3, 4]]),
        ("|B - A|", [[1.0, 1], [2, 4]]),
    ])
    func matrixExpressions(tex: String, expected: [[Double]]) throws {
        let bs = bindings(["A": a, "B": b, "s": Tensor(2), "v": Tensor([1, -1]), "E": Tensor(expected),
                           "1": Tensor(ones: [2])])
        let v = try checkEquation("E = \(tex)", bindings: bs)
        #expect(v.passed, "\(tex): \(v.message)")
        #expect(v.maxAbsError < 1e-12)
    }

    @Test(arguments: [
        ("\\exp(0) + \\log 1", 1.0),
        ("\\tanh(0) + \\sigma(0)", 0.5),
        ("\\frac{1}{4} \\sum_{t=1}^{4} t^2", 7.5),
        ("2^{3} - \\sqrt{16}", 4.0),
        ("\\|v\\|^2", 2.0),
        ("u^\\top v", -1.0),
        ("u \\cdot v", -1.0),
        ("\\min(1, \\frac{\\theta}{\\|v\\|})", 0.5 * 2.0.squareRoot()),
        ("\\sum_{i=3}^{2} 5", 0.0),
        ("\\operatorname{softmax}(z)", 1.0),
        ("0.25 \\times 4", 1.0),
    ])
    func scalarExpressions(tex: String, expected: Double) throws {
        let bs = bindings(["v": Tensor([1, -1]), "u": Tensor([2, 3]), "theta": Tensor(1),
                           "z": Tensor([0]), "E": Tensor(expected)])
        let v = try checkEquation("E = \(tex)", bindings: bs)
        #expect(v.passed, "\(tex): \(v.message)")
    }

    @Test func boundFunctionsAndIndexedFamilies() throws {
        var bs = Bindings()
        bs.bind("phi", function: { $0.map { 2 * $0 } })
        bs.bind("f", arguments: 2, function: { $0[0] + 10 * $0[1] })
        bs.bind("x", indexed: { Tensor(Double($0)) })
        bs.bind("T", integer: 4)
        bs.bind("y", 2 * 3.0 + (1 + 10 * 2))
        // x_{T-1} = 3 through the family; f(x_1, x_2) = 1 + 20.
        let v = try checkEquation("y = \\phi(x_{T-1}) + f(x_1, x_{2})", bindings: bs)
        #expect(v.passed, "\(v.message)")
        #expect(v.shapes["x(·)"] == [])
    }

    @Test func literalIndexedNamesAndDerivatives() throws {
        var bs = Bindings()
        bs.bind("h_1", 1.0); bs.bind("h_2", 2.0); bs.bind("h_3", 3.0)
        bs.bind("dL/dW", 6.0)
        let v = try checkEquation("\\frac{\\partial L}{\\partial W} = \\sum_{i=1}^{3} \\mathbf{h}_i", bindings: bs)
        #expect(v.passed, "\(v.message)")
    }

    @Test func chainsCheckEverySide() throws {
        let bs = bindings(["a": Tensor(2), "b": Tensor(2), "c": Tensor(3)])
        let v = try checkEquation("a = b = c", bindings: bs)
        #expect(!v.passed)
        #expect(v.comparisons == 2)
        #expect(v.message.contains("`c` differs from `a`"))
        #expect(v.message.contains("expected 2, got 3"))
        let ok = try checkEquation("a \\approx b", bindings: bs)
        #expect(ok.passed)
        #expect(ok.message == "holds: `a` = `b` (max |Δ| = 0, relative 0, tolerance 1e-06)")
    }

    @Test func shapeClaims() throws {
        let bs = bindings(["X": Tensor(zeros: [3, 5]), "b": Tensor(zeros: [5])], integers: ["n": 3, "d": 5])
        #expect(try checkEquation("\\mathbf{X} \\in \\mathbb{R}^{n \\times d}, \\quad \\mathbf{b} \\in \\mathbb{R}^{d}.", bindings: bs).passed)
        let good = try checkEquation("\\mathbf{X} \\in \\mathbb{R}^{n \\times d}", bindings: bs)
        #expect(good.message == "holds: `\\mathbf{X}` has shape [3, 5] ∈ `\\mathbb{R}^{n \\times d} = [3, 5]`" && good.shapeClaims == 1)
        let bad = try checkEquation("\\mathbf{X} \\in \\mathbb{R}^{d \\times n}", bindings: bs)
        #expect(!bad.passed)
        #expect(bad.message == "`\\mathbf{X}` has shape [3, 5], but the equation claims `\\mathbb{R}^{d \\times n} = [5, 3]`")
    }

    /// Size-1 axes count: before, shapes were compared with them removed, so a column passed a
    /// row's claim and a vector passed a 1×d matrix's, and swapping `1` and `d` could not fail.
    @Test(arguments: [([6, 1], "1 \\times d"), ([6], "1 \\times d"), ([1, 6], "d"), ([1, 6], "d \\times 1"), ([1, 1, 6], "1 \\times d")])
    func shapeClaimsCompareRankAndOrder(shape: [Int], space: String) throws {
        let bs = bindings(["b": Tensor(zeros: shape)], integers: ["d": 6])
        let v = try checkEquation("\\mathbf{b} \\in \\mathbb{R}^{\(space)}", bindings: bs)
        #expect(!v.passed, "\(shape) passed ℝ^{\(space)}")
        #expect(v.message.hasPrefix("`\\mathbf{b}` has shape \(shape.description)"), "\(v.message)")
        #expect(v.shapeClaimFailures == 1)
        let row = bindings(["b": Tensor(zeros: [1, 6])], integers: ["d": 6])
        #expect(try checkEquation("\\mathbf{b} \\in \\mathbb{R}^{1 \\times d}", bindings: row).passed)
    }

    @Test func toleranceIsRelativeToTheLargerSide() throws {
        let bs = bindings(["a": Tensor([1000, 0]), "b": Tensor([1000.01, 0])])
        let v = try checkEquation("a = b", bindings: bs)
        #expect(abs(v.maxAbsError - 0.01) < 1e-9)
        #expect(abs(v.maxRelError - 0.01 / 1000.01) < 1e-12)
        #expect(v.passed == false)
        // The zero element does not make the error infinite: the scale is the larger side's max |x|.
        #expect(try checkEquation("a = b", bindings: bs, tolerance: 1e-4).passed)
    }

    @Test func shapesThatDifferFail() throws {
        let bs = bindings(["a": Tensor(zeros: [2, 3]), "b": Tensor(zeros: [3, 2]), "c": Tensor(zeros: [1, 3])])
        let v = try checkEquation("a = b", bindings: bs)
        #expect(!v.passed)
        #expect(v.message == "`b` has shape [3, 2], but `a` has shape [2, 3]")
        // Extents of 1 are ignored: a [1, 3] row equals a [3] vector.
        let w = try checkEquation("c = v", bindings: bindings(["c": Tensor(zeros: [1, 3]), "v": Tensor(zeros: [3])]))
        #expect(w.passed)
    }
}

@Suite("Equations of the chapters")
struct ChapterEquationTests {
    @Test func gradientClipping() throws {
        var b = Bindings(values: ["g": Tensor([3.0, 4.0]), "g'": Tensor([0.6, 0.8])])
        b.bind("theta", 1.0)
        let tex = "\\mathbf{g}' \\leftarrow \\min\\left(1, \\frac{\\theta}{\\|\\mathbf{g}\\|}\\right) \\mathbf{g}"
        #expect(try checkEquation(tex, bindings: b).passed)
        let unclipped = tex.replacingOccurrences(of: "\\theta}", with: "10 \\theta}")
        #expect(!(try checkEquation(unclipped, bindings: b).passed))
    }

    @Test func perplexityOfAUniformModelIsTheVocabularySize() throws {
        var b = Bindings(integers: ["n": 5])
        b.bind("p", indexed: { _ in Tensor(1.0 / 28) })
        b.bind("PPL", 28.0)
        let v = try checkEquation("\\mathrm{PPL} = \\exp\\left(-\\frac{1}{n} \\sum_{t=1}^{n} \\log p_t\\right)", bindings: b)
        #expect(v.passed, "\(v.message)")
    }

    @Test func mlpWithBroadcastBiasAndSoftmax() throws {
        let x = Tensor<Double>([[1, 0], [0, 1], [1, 1]])
        let w = Tensor<Double>([[1, -1], [2, 0]]), bias = Tensor<Double>([0.5, -0.5])
        let h = (x.matmul(w) + bias).map { max($0, 0) }
        var y = h.scalars
        for r in 0..<3 {
            let e = [Foundation.exp(y[2 * r]), Foundation.exp(y[2 * r + 1])]
            y[2 * r] = e[0] / (e[0] + e[1]); y[2 * r + 1] = e[1] / (e[0] + e[1])
        }
        let b = Bindings(values: ["X": x, "W_xh": w, "b_h": bias, "H": h, "\\hat{Y}": Tensor(shape: [3, 2], scalars: y)],
                         functions: ["phi": { $0.map { max($0, 0) } }])
        #expect(try checkEquation("\\mathbf{H} = \\phi(\\mathbf{X} \\mathbf{W}_{xh} + \\mathbf{b}_h), \\quad \\hat{\\mathbf{Y}} = \\operatorname{softmax}(\\mathbf{H})", bindings: b).passed)
    }
}

import Foundation

/// The equation checker's verdict follows the book's one comparison: a NaN or an infinity on
/// either side never passes, even when both sides hold the same non-finite value.
@Suite("Equation checks with NaN and infinity")
struct NonFiniteEquationTests {
    static let nan = Double.nan, inf = Double.infinity
    static let cases: [([Double], [Double])] = [
        ([1, nan], [1, 2]), ([1, 2], [1, nan]), ([1, nan], [1, nan]),
        ([1, inf], [1, 2]), ([1, inf], [1, inf]), ([-inf, 1], [-inf, 1]),
    ]

    @Test(arguments: cases)
    func nonFiniteSidesFail(left: [Double], right: [Double]) throws {
        let b = Bindings(values: ["A": Tensor(shape: [2], scalars: left), "B": Tensor(shape: [2], scalars: right)],
                         functions: [:], integers: [:])
        let verdict = try checkEquation("A = B", bindings: b, tolerance: 1e-6)
        #expect(!verdict.passed, "A = \(left), B = \(right)")
    }

    @Test func finiteSidesStillPass() throws {
        let b = Bindings(values: ["A": Tensor(shape: [2], scalars: [1, 2]), "B": Tensor(shape: [2], scalars: [1, 2 + 1e-9])],
                         functions: [:], integers: [:])
        #expect(try checkEquation("A = B", bindings: b, tolerance: 1e-6).passed)
    }
}

/// `\sigma(\mathbf{z})` with `\sigma` bound to a number was read as σ·z, so code that forgot the
/// sigmoid (and bound σ to anything that made the product match) passed.
@Suite("A value written like a function is never guessed")
struct AmbiguousApplicationTests {
    let z = Tensor<Double>([0.5, -1, 2])

    @Test func aValueAppliedLikeAFunctionIsAnError() throws {
        let bs = bindings(["sigma": Tensor(1.0), "z": z, "y": z])
        #expect(throws: MathError.self) { try checkEquation("\\mathbf{y} = \\sigma(\\mathbf{z})", bindings: bs) }
        do {
            _ = try checkEquation("\\mathbf{y} = \\sigma(\\mathbf{z})", bindings: bs)
        } catch {
            #expect(error.kind == .ambiguousApplication)
            #expect(error.message.contains("`\\sigma(\\mathbf{z})` writes `\\sigma` like a function applied to `\\mathbf{z}`, but `sigma` is bound as a value"), "\(error.message)")
        }
        // Bound as a function it is one; written with \cdot it is a product.
        let asFunction = bindings(["z": z, "y": z.map { 1 / (1 + Foundation.exp(-$0)) }],
                                  functions: ["sigma": { $0.map { 1 / (1 + Foundation.exp(-$0)) } }])
        #expect(try checkEquation("\\mathbf{y} = \\sigma(\\mathbf{z})", bindings: asFunction).passed)
        #expect(try checkEquation("\\mathbf{y} = \\sigma \\cdot (\\mathbf{z})", bindings: bs).passed)
        // A bold matrix before a parenthesis is a product by convention.
        let w = Tensor<Double>([[1, 0, 0], [0, 2, 0], [0, 0, 3]])
        let product = bindings(["W": w, "z": z, "y": w.matmul(z.reshaped([3, 1])).reshaped([3])])
        #expect(try checkEquation("\\mathbf{y} = \\mathbf{W}(\\mathbf{z})", bindings: product).passed)
    }
}

/// The evaluator stretched any size-1 axis (NumPy's rule), so a `[h, 1]` column bias passed an
/// equation written with a `1×h` row, and sides of shapes `[6, 1]` and `[1, 6]` compared equal.
@Suite("Broadcasting only where the TeX means it")
struct RowBroadcastTests {
    @Test(arguments: [([3, 4], [4], [3, 4]), ([3, 4], [1, 4], [3, 4]), ([4], [3, 4], [3, 4]), ([3, 4], [], [3, 4]),
                      ([3, 4], [1, 1], [3, 4]), ([2, 3, 4], [4], [2, 3, 4]), ([2, 3, 4], [3, 4], [2, 3, 4]), ([5], [5], [5])])
    func allowed(a: [Int], b: [Int], shape: [Int]) {
        #expect(Evaluator.rowBroadcastShape(a, b) == shape)
    }

    @Test(arguments: [([4, 4], [4, 1]), ([3, 4], [3, 1]), ([4], [4, 1]), ([3, 4], [3]), ([2, 3, 4], [2, 1, 4]), ([1, 6], [6, 1])])
    func refused(a: [Int], b: [Int]) {
        #expect(Evaluator.rowBroadcastShape(a, b) == nil)
    }

    @Test func aColumnBiasDoesNotPassForARow() throws {
        let xw = Tensor<Double>(randomNormal: [4, 4], seed: 1)
        let column = Tensor<Double>(randomNormal: [4, 1], seed: 2)
        let bs = bindings(["Z": xw + column, "A": xw, "b": column])
        #expect(throws: MathError.self) { try checkEquation("\\mathbf{Z} = \\mathbf{A} + \\mathbf{b}", bindings: bs) }
        let row = column.reshaped([1, 4])
        #expect(try checkEquation("\\mathbf{Z} = \\mathbf{A} + \\mathbf{b}", bindings: bindings(["Z": xw + row, "A": xw, "b": row])).passed)
    }

    @Test func aColumnIsNotARowWhenSidesAreCompared() throws {
        let v = Tensor<Double>([1, 2, 3])
        let column = bindings(["y": v.reshaped([3, 1]), "x": v.reshaped([1, 3])])
        let verdict = try checkEquation("\\mathbf{y} = \\mathbf{x}", bindings: column)
        #expect(!verdict.passed && verdict.shapeFailures == 1)
        #expect(try checkEquation("\\mathbf{y} = \\mathbf{x}", bindings: bindings(["y": v, "x": v.reshaped([1, 3])])).passed)
    }
}
