import Engine
@testable import MathCheck
import Testing

@Suite("Symbol names")
struct SymbolNameTests {
    @Test(arguments: [
        ("\\mathbf{H}_{t-1}", "H_t-1"), ("H_{t-1}", "H_t-1"), ("H_t-1", "H_t-1"),
        ("W_{xh}", "W_xh"), ("W_\\textrm{xh}", "W_xh"), ("W_xh", "W_xh"), ("W_{\\mathrm{xh}}", "W_xh"),
        ("\\mathbf{W}_{xh}", "W_xh"), ("b_h", "b_h"), (" X_t ", "X_t"), ("\\boldsymbol{\\theta}", "theta"),
        ("\\tau", "tau"), ("τ", "tau"), ("\\phi", "phi"), ("phi", "phi"), ("\\mathrm{prod}", "prod"),
        ("\\mathbf{o}_{T+t-i}", "o_T+t-i"), ("h_{t - \\tau}", "h_t-tau"),
        ("\\frac{\\partial L}{\\partial \\mathbf{h}_t}", "∂L/∂h_t"), ("∂L/∂h_t", "∂L/∂h_t"),
        ("dL/dh_t", "∂L/∂h_t"), ("\\partial L/\\partial \\mathbf{W}_{hh}", "∂L/∂W_hh"), ("∂L/∂o", "∂L/∂o"), ("\\hat{\\mathbf{Y}}", "hat(Y)"), ("hat(Y)", "hat(Y)"),
    ])
    func canonicalNames(key: String, canonical: String) {
        #expect(canonicalSymbolName(key) == canonical)
    }

    @Test func texAndKeyAgree() throws {
        // The TeX symbol and the code's key reach the same binding.
        var b = Bindings()
        b.bind("H_t-1", Tensor([[1.0, 2.0]]))
        b.bind("W_xh", Tensor([[3.0, 4.0]]))
        let v = try checkEquation("\\mathbf{H}_{t-1} + W_\\textrm{xh} = [[4, 6]]".replacingOccurrences(of: "[[4, 6]]", with: "[4, 6]"), bindings: b)
        #expect(v.passed)
        #expect(v.shapes["H_t-1"] == [1, 2] && v.shapes["W_xh"] == [1, 2])
    }
}

@Suite("Parsing")
struct ParsingTests {
    @Test(arguments: [
        "\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh} + \\mathbf{b}_h)",
        "\\mathbf{O}_t = \\mathbf{H}_t \\mathbf{W}_{hq} + \\mathbf{b}_q",
        "\\mathbf{X}\\mathbf{W}_{xh} + \\mathbf{H}\\mathbf{W}_{hh} = [\\mathbf{X}, \\mathbf{H}] \\begin{bmatrix} \\mathbf{W}_{xh} \\\\ \\mathbf{W}_{hh} \\end{bmatrix}",
        "\\mathrm{PPL} = \\exp\\left(-\\frac{1}{n} \\sum_{t=1}^{n} \\log p_t\\right)",
        "\\mathbf{g}' \\leftarrow \\min\\left(1, \\frac{\\theta}{\\|\\mathbf{g}\\|}\\right) \\mathbf{g}",
        "\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\sum_{i=t}^{T} \\left(\\mathbf{W}_{hh}^\\top\\right)^{T-i} \\mathbf{W}_{qh}^\\top \\frac{\\partial L}{\\partial \\mathbf{o}_{T+t-i}}",
        "\\mathbf{X} \\in \\mathbb{R}^{n \\times d}, \\quad \\mathbf{W}_{xh} \\in \\mathbb{R}^{d \\times h}.",
        "a = b \\approx c",
        "\\begin{aligned} y &= a \\cdot b \\\\ &= c \\end{aligned}",
        "x = \\prod_{j=1}^{3} a_j \\odot b",
        "y = \\operatorname{softmax}(\\mathbf{o}) \\, + \\textrm{prod}(u, v) - \\sigma(z)^{2} / 2",
        "y = \\tanh x + \\sqrt{z} + |w| + \\left\\| v \\right\\|",
    ])
    func parsesInsideTheSubset(tex: String) throws {
        _ = try ParsedEquation(tex)
    }

    @Test func subscriptsKeepTheirText() throws {
        var p = try Parser(tex: "\\mathbf{o}_{T+t-i}")
        let n = try p.parsePrimary()
        guard case .symbol(let ref) = n.kind else { Issue.record("not a symbol"); return }
        #expect(ref.parts[0].base == "o")
        #expect(ref.parts[0].lowerIndex == "T+t-i")
        #expect(ref.parts[0].subscriptExpression != nil)
        #expect(n.text == "\\mathbf{o}_{T+t-i}")
        #expect(n.column == 1)
    }

    @Test func nodeTextAndColumnsPointIntoTheSource() throws {
        var p = try Parser(tex: "y = a  \\cdot (b + c)")
        let st = try p.parseEquation()
        guard case .expression(let rhs) = st[0].sides[1], case .product(_, let right, true) = rhs.kind else {
            Issue.record("unexpected tree"); return
        }
        #expect(rhs.column == 5)
        #expect(rhs.text == "a  \\cdot (b + c)")
        #expect(right.text == "(b + c)")
        #expect(right.column == 14)
    }

    @Test func leftRightStayInQuotedText() throws {
        var p = try Parser(tex: "\\left(a + b\\right) c")
        let e = try p.parseExpression()
        #expect(e.text == "\\left(a + b\\right) c")
        #expect(e.column == 1)
    }

    @Test func transposeMarks() throws {
        for tex in ["A^\\top", "A^T", "A^{\\top}", "A^{T}", "A^{\\mathsf{T}}", "A^⊤"] {
            var p = try Parser(tex: tex)
            let n = try p.parseFactor()
            guard case .transpose = n.kind else { Issue.record("\(tex) is not a transpose"); continue }
        }
        var p = try Parser(tex: "A^{T-i}")
        guard case .power = try p.parseFactor().kind else { Issue.record("A^{T-i} should be a power"); return }
    }

    @Test func sumBodyIsTheFollowingProduct() throws {
        var p = try Parser(tex: "\\sum_{i=1}^{n} a_i b_i + c")
        let e = try p.parseExpression()
        guard case .add(let sum, let c) = e.kind, case .bigOperator(true, "i", _, _, let body) = sum.kind,
              case .product = body.kind else { Issue.record("unexpected tree for the sum"); return }
        #expect(c.text == "c")
    }
}
