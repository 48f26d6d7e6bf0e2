import Engine
@testable import MathCheck
import Testing

/// Pairs: the correct equation passes, the same equation with one deliberate mistake fails.
@Suite("Deliberate errors are caught")
struct DeliberateErrorTests {
    /// One RNN step in Double, computed by hand: H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h).
    static func rnnBindings() -> Bindings {
        var g = PCG64(seed: 6)
        let x = Tensor<Double>(randomNormal: [3, 2], generator: &g)
        let hPrev = Tensor<Double>(randomNormal: [3, 4], generator: &g)
        let wxh = Tensor<Double>(randomNormal: [2, 4], generator: &g)
        let whh = Tensor<Double>(randomNormal: [4, 4], generator: &g)
        let bh = Tensor<Double>(randomNormal: [4], generator: &g)
        var pre = x.matmul(wxh) + hPrev.matmul(whh)
        pre = pre + bh
        let h = pre.map { Foundation.tanh($0) }
        var b = Bindings(values: ["X_t": x, "H_{t-1}": hPrev, "W_xh": wxh, "W_hh": whh, "b_h": bh, "H_t": h],
                         functions: ["phi": { $0.map { Foundation.tanh($0) } }],
                         integers: ["n": 3, "d": 2, "h": 4])
        b.bind("X", x); b.bind("H", hPrev)
        return b
    }

    @Test func rnnStateMissingTranspose() throws {
        let b = Self.rnnBindings()
        let right = try checkEquation(
            "\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh} + \\mathbf{b}_h)", bindings: b)
        #expect(right.passed, "\(right.message)")
        #expect(right.maxRelError < 1e-12)
        #expect(right.shapes == ["X_t": [3, 2], "W_xh": [2, 4], "H_t-1": [3, 4], "W_hh": [4, 4], "b_h": [4], "H_t": [3, 4]])
        let wrong = try checkEquation(
            "\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh}^\\top + \\mathbf{b}_h)", bindings: b)
        #expect(!wrong.passed)
        #expect(wrong.message.hasPrefix("`\\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh}^\\top + \\mathbf{b}_h)` differs from `\\mathbf{H}_t`: max |Δ| = "))
    }

    @Test func concatenationIdentityAndShapes() throws {
        let b = Self.rnnBindings()
        let v = try checkEquation(
            "\\mathbf{X} \\mathbf{W}_{xh} + \\mathbf{H} \\mathbf{W}_{hh} = [\\mathbf{X}, \\mathbf{H}] \\begin{bmatrix} \\mathbf{W}_{xh} \\\\ \\mathbf{W}_{hh} \\end{bmatrix}",
            bindings: b)
        #expect(v.passed, "\(v.message)")
        let claims = try checkEquation(
            "\\mathbf{X} \\in \\mathbb{R}^{n \\times d},\\ \\mathbf{W}_{xh} \\in \\mathbb{R}^{d \\times h}, \\mathbf{b}_h \\in \\mathbb{R}^{h}", bindings: b)
        #expect(claims.passed, "\(claims.message)")
        #expect(claims.comparisons == 3)
        // Concatenating the wrong way round does not chain: caught as a shape mismatch, not a guess.
        #expect(throws: MathError.self) {
            try checkEquation("\\mathbf{X} \\mathbf{W}_{xh} = [\\mathbf{X}, \\mathbf{H}] [\\mathbf{W}_{xh}, \\mathbf{W}_{hh}]", bindings: b)
        }
    }

    /// The linear RNN without bias of the BPTT chapter: h_t = W_hx x_t + W_hh h_{t-1}, o_t = W_qh h_t.
    /// ∂L/∂h_T = W_qh^⊤ ∂L/∂o_T and ∂L/∂h_t = W_hh^⊤ ∂L/∂h_{t+1} + W_qh^⊤ ∂L/∂o_t, computed here by the recursion.
    static func bpttBindings(t: Int) -> Bindings {
        let T = 6, h = 3, q = 2
        var g = PCG64(seed: 7)
        let whh = Tensor<Double>(randomNormal: [h, h], standardDeviation: 0.8, generator: &g)
        let wqh = Tensor<Double>(randomNormal: [q, h], generator: &g)
        var dLdo: [Int: Tensor<Double>] = [:]
        for s in 1...T { dLdo[s] = Tensor(randomNormal: [q], generator: &g) }
        func vec(_ m: Tensor<Double>, _ v: Tensor<Double>) -> Tensor<Double> { m.matmul(v.reshaped([-1, 1])).reshaped([-1]) }
        var dLdh: [Int: Tensor<Double>] = [T: vec(wqh.transposed, dLdo[T]!)]
        for s in stride(from: T - 1, through: 1, by: -1) {
            dLdh[s] = vec(whh.transposed, dLdh[s + 1]!) + vec(wqh.transposed, dLdo[s]!)
        }
        var b = Bindings(values: ["W_hh": whh, "W_qh": wqh], integers: ["T": T, "t": t])
        b.bind("∂L/∂o", indexed: { dLdo[$0]! })
        b.bind("dL/dh", indexed: { dLdh[$0]! })
        return b
    }

    static let closedForm =
        "\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\sum_{i=t}^{T} \\left(\\mathbf{W}_{hh}^\\top\\right)^{T-i} \\mathbf{W}_{qh}^\\top \\frac{\\partial L}{\\partial \\mathbf{o}_{T+t-i}}"

    @Test(arguments: 1...6)
    func bpttClosedFormHolds(t: Int) throws {
        let v = try checkEquation(Self.closedForm, bindings: Self.bpttBindings(t: t))
        #expect(v.passed, "t = \(t): \(v.message)")
        #expect(v.maxRelError < 1e-12)
        #expect(v.shapes["∂L/∂o(·)"] == [2] && v.shapes["∂L/∂h(·)"] == [3])
    }

    @Test(arguments: [
        // A missing transpose.
        ("missing transpose", "\\left(\\mathbf{W}_{hh}\\right)^{T-i} \\mathbf{W}_{qh}^\\top"),
        // An exponent off by one.
        ("exponent off by one", "\\left(\\mathbf{W}_{hh}^\\top\\right)^{T-i+1} \\mathbf{W}_{qh}^\\top"),
    ])
    func bpttClosedFormMistakesFail(what: String, factor: String) throws {
        let wrong = "\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\sum_{i=t}^{T} \(factor) \\frac{\\partial L}{\\partial \\mathbf{o}_{T+t-i}}"
        for t in [1, 3] {
            let v = try checkEquation(wrong, bindings: Self.bpttBindings(t: t))
            #expect(!v.passed, "\(what) at t = \(t) should fail")
            #expect(v.maxRelError > 1e-3)
        }
    }

    @Test func bpttWrongSummationBoundFails() throws {
        let wrong = Self.closedForm.replacingOccurrences(of: "\\sum_{i=t}^{T}", with: "\\sum_{i=t}^{T-1}")
        #expect(wrong != Self.closedForm)
        let v = try checkEquation(wrong, bindings: Self.bpttBindings(t: 2))
        #expect(!v.passed)
        #expect(v.message.contains("differs from `\\frac{\\partial L}{\\partial \\mathbf{h}_t}`"))
        let lower = Self.closedForm.replacingOccurrences(of: "\\sum_{i=t}^{T}", with: "\\sum_{i=t+1}^{T}")
        #expect(!(try checkEquation(lower, bindings: Self.bpttBindings(t: 2)).passed))
    }

    @Test func bpttRecursionHolds() throws {
        let recursion = "\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\mathbf{W}_{hh}^\\top \\frac{\\partial L}{\\partial \\mathbf{h}_{t+1}} + \\mathbf{W}_{qh}^\\top \\frac{\\partial L}{\\partial \\mathbf{o}_t}"
        #expect(try checkEquation(recursion, bindings: Self.bpttBindings(t: 3)).passed)
        let wrong = recursion.replacingOccurrences(of: "\\mathbf{h}_{t+1}", with: "\\mathbf{h}_{t-1}")
        #expect(!(try checkEquation(wrong, bindings: Self.bpttBindings(t: 3)).passed))
    }
}

import Foundation
