import Engine
@testable import MathCheck
import Testing

private func error(_ tex: String, _ b: Bindings = Bindings()) -> MathError? {
    do { _ = try checkEquation(tex, bindings: b); return nil } catch { return error }
}

@Suite("Errors that help")
struct ErrorTests {
    @Test func unboundSymbolNamesItAndListsTheBoundOnes() throws {
        var b = Bindings()
        b.bind("X_t", Tensor<Double>(zeros: [2, 2]))
        b.bind("t", integer: 1)
        let e = try #require(error("\\mathbf{H}_t = \\mathbf{X}_t \\mathbf{W}_{xh}", b))
        // H_t is evaluated first.
        #expect(e.kind == .unboundSymbol)
        #expect(e.column == 1)
        #expect(e.message == "no binding for `H_t` (from `\\mathbf{H}_t`) (or an indexed family for its subscript); bound: X_t, t (integer)")
        b.bind("H_t", Tensor<Double>(zeros: [2, 2]))
        let w = try #require(error("\\mathbf{H}_t = \\mathbf{X}_t \\mathbf{W}_{xh}", b))
        #expect(w.column == 29)
        #expect(w.message.hasPrefix("no binding for `W_xh` (from `\\mathbf{W}_{xh}`)"))
        #expect(w.description.hasPrefix("column 29: "))
        // `xh` is a label, not an index: no family is suggested.
        #expect(!w.message.contains("indexed family"))
    }

    @Test func shapeMismatchNamesTheSubExpressionAndShapes() throws {
        var b = Bindings()
        b.bind("X", Tensor<Double>(zeros: [3, 2])); b.bind("W", Tensor<Double>(zeros: [3, 4]))
        b.bind("Y", Tensor<Double>(zeros: [3, 4]))
        let e = try #require(error("Y = X W", b))
        #expect(e.kind == .shapeMismatch)
        #expect(e.column == 5)
        #expect(e.message == "in `X W`: cannot multiply `X` of shape [3, 2] by `W` of shape [3, 4]: inner dimensions 2 and 3 differ")
        let s = try #require(error("Y = Y + X", b))
        #expect(s.message.hasPrefix("in `Y + X`: cannot add `Y` of shape [3, 4] and `X` of shape [3, 2]: only equal shapes, a scalar, or a row"))
        let p = try #require(error("Y = W^{2}", b))
        #expect(p.message == "in `W^{2}`: a power `^{2}` needs a scalar or a square matrix, but `W` has shape [3, 4]")
        let h = try #require(error("Y = Y Y", b))
        #expect(h.message.hasSuffix("(use `\\odot` for an elementwise product)"))
    }

    @Test(arguments: [
        ("y = \\int x", 5, "`\\int` is outside the TeX subset MathCheck understands"),
        ("y = x_1 + \\ldots + x_n", 11, "`\\ldots` is outside the TeX subset MathCheck understands"),
        ("p = P(x_t \\mid x_{t-1})", 11, "`\\mid` is outside the TeX subset MathCheck understands"),
        ("y = \\sum_i x_i", 5, "\\sum without both limits `_{i=a}^{b}` (an implicit range cannot be checked)"),
        ("X \\in \\mathbb{Z}^{n}", 7, "a set other than \\mathbb{R}^{…} after \\in is outside the TeX subset MathCheck understands"),
        ("y = W^\\top_{hh}", 11, "a subscript after `W^\\top`: write the subscript before the superscript (`W_{hh}^\\top`)"),
    ])
    func constructsOutsideTheSubsetAreNamed(tex: String, column: Int, message: String) throws {
        let e = try #require(error(tex))
        #expect(e.kind == .unsupported)
        #expect(e.column == column)
        #expect(e.message == message)
    }

    @Test func syntaxErrors() throws {
        let e = try #require(error("y = \\frac{a}{b"))
        #expect(e.kind == .syntax)
        #expect(e.message == "unbalanced `{`: no matching `}`")
        let f = try #require(error("y = (a + b"))
        #expect(f.message == "expected `,` or `)`, found the end of the equation")
        let g = try #require(error("y = a +"))
        #expect(g.message == "expected an operand, found the end of the equation")
        let n = try #require(error("H_t"))
        #expect(n.message == "nothing to check: the equation has no `=`, `\\approx`, `\\leftarrow` or `\\in`")
    }

    @Test func indexErrors() throws {
        var b = Bindings()
        b.bind("o", indexed: { _ in Tensor<Double>(0) })
        b.bind("y", 0.0)
        let e = try #require(error("y = \\sum_{i=1}^{T} o_i", b))
        #expect(e.kind == .unboundSymbol)
        #expect(e.message == "`T` is not bound as an integer (bound integers: )")
        let u = try #require(error("y = o_{T}", b))
        #expect(u.message == "`T` is not bound as an integer (bound integers: )")
        b.bind("A", Tensor<Double>(identity: 2))
        b.bind("k", integer: -1)
        let p = try #require(error("y = A^{k}", b))
        #expect(p.kind == .invalidValue)
        #expect(p.message == "the matrix power `A^{k}` has exponent -1 < 0 (inverses are outside the subset)")
        let q = try #require(error("y = \\sum_{i=1}^{2.5} o_i", b))
        #expect(q.message == "`2.5` must be an integer: 2.5 is not whole")
    }

    @Test func functionErrors() throws {
        var b = Bindings()
        b.bind("y", 0.0); b.bind("x", 0.0)
        let e = try #require(error("y = f(x, x)", b))
        #expect(e.message.hasPrefix("`f(x, x)` applies `f` to 2 arguments, but no function `f` is bound"))
        let g = try #require(error("y = \\operatorname{gelu}(x)", b))
        #expect(g.message.hasPrefix("no function `gelu` is bound (in `\\operatorname{gelu}(x)`)"))
    }
}
