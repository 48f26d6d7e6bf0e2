import Foundation
import Engine
@testable import MathCheck
import Testing

private typealias Kind = EquationMutant.Kind

/// The mutants of `tex` made by one operator, as (description, column, mutated TeX).
/// Not throwing, so that a failed expectation shows the mutants found.
private func mutants(_ tex: String, _ kind: Kind) -> [String] {
    do {
        return try equationMutants(of: tex).filter { $0.kind == kind }.map { "\($0.column): \($0.description) ⇒ \($0.tex)" }
    } catch {
        return ["\(tex) does not parse: \(error)"]
    }
}

/// Whether the check of a mutant fails: a failing verdict, or an error (unbound symbol, shapes).
private func killed(_ m: EquationMutant, _ b: Bindings, tolerance: Double = defaultEquationTolerance) -> Bool {
    guard let v = try? checkEquation(m.tex, bindings: b, tolerance: tolerance) else { return true }
    return !v.passed
}

@Suite("Mutation operators")
struct MutationOperatorTests {
    @Test func dropTranspose() throws {
        #expect(mutants("y = \\mathbf{W}_{hh}^\\top x", .dropTranspose)
                == ["20: drop the transpose on W_{hh} ⇒ y = \\mathbf{W}_{hh} x"])
        #expect(mutants("y = W_{hh}^{\\top} x", .dropTranspose)
                == ["11: drop the transpose on W_{hh} ⇒ y = W_{hh} x"])
        #expect(mutants("y = A^T B + A^\\intercal B", .dropTranspose)
                == ["6: drop the transpose on A ⇒ y = A B + A^\\intercal B",
                    "14: drop the transpose on A ⇒ y = A^T B + A B"])
        // A parenthesised operand and a font command inside the mark.
        #expect(mutants("y = (A B)^{\\mathrm{T}} x", .dropTranspose)
                == ["10: drop the transpose on (A B) ⇒ y = (A B) x"])
        // A power is not a transpose.
        #expect(mutants("y = A^2 B", .dropTranspose) == [])
    }

    @Test func flipSignAndDropTerm() throws {
        let tex = "y = a + b - c"
        #expect(mutants(tex, .flipSign) == [
            "5: negate the first term a ⇒ y = -a + b - c",
            "7: + → - before b ⇒ y = a - b - c",
            "11: - → + before c ⇒ y = a + b + c",
        ])
        #expect(mutants(tex, .dropTerm) == [
            "5: drop the term a ⇒ y = b - c",
            "7: drop the term + b ⇒ y = a - c",
            "11: drop the term - c ⇒ y = a + b",
        ])
        // A leading minus is removed; dropping the first term keeps a `-` that follows it.
        #expect(mutants("y = -a - b", .flipSign) == [
            "5: drop the minus before a ⇒ y = a - b",
            "8: - → + before b ⇒ y = -a + b",
        ])
        #expect(mutants("y = -a - b", .dropTerm) == [
            "5: drop the term -a ⇒ y = - b",
            "8: drop the term - b ⇒ y = -a",
        ])
        // Inside parentheses and function arguments; a lone negation.
        #expect(mutants("y = \\exp(-x)", .flipSign) == ["10: drop the minus before x ⇒ y = \\exp(x)"])
        #expect(mutants("y = (-x)", .flipSign) == ["6: drop the minus before x ⇒ y = (x)"])
        // A unicode minus is a minus.
        #expect(mutants("y = a − b", .flipSign).last == "7: - → + before b ⇒ y = a + b")
    }

    @Test func shiftIndex() throws {
        #expect(mutants("h_t = h_{t-1} + W_{hh} b_h", .shiftIndex) == [
            "3: t → t-1 in h_t ⇒ h_{t-1} = h_{t-1} + W_{hh} b_h",
            "3: t → t+1 in h_t ⇒ h_{t+1} = h_{t-1} + W_{hh} b_h",
            "10: t-1 → t-2 in h_{t-1} ⇒ h_t = h_{t-2} + W_{hh} b_h",
            "10: t-1 → t in h_{t-1} ⇒ h_t = h_{t} + W_{hh} b_h",
        ])
        #expect(mutants("y = \\mathbf{o}_{T+t-i} + x_{i+1} + x_0", .shiftIndex) == [
            "17: T+t-i → T+t-i-1 in o_{T+t-i} ⇒ y = \\mathbf{o}_{T+t-i-1} + x_{i+1} + x_0",
            "17: T+t-i → T+t-i+1 in o_{T+t-i} ⇒ y = \\mathbf{o}_{T+t-i+1} + x_{i+1} + x_0",
            "29: i+1 → i in x_{i+1} ⇒ y = \\mathbf{o}_{T+t-i} + x_{i} + x_0",
            "29: i+1 → i+2 in x_{i+1} ⇒ y = \\mathbf{o}_{T+t-i} + x_{i+2} + x_0",
            "38: 0 → 1 in x_0 ⇒ y = \\mathbf{o}_{T+t-i} + x_{i+1} + x_1",
        ])
        // Derivative symbols and matrix powers; labels (`xh`, `h`, `hh`) are not indices.
        #expect(mutants("\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\left(A\\right)^{T-i} W_{xh} b_h", .shiftIndex) == [
            "39: t → t-1 in ∂L/∂h_t ⇒ \\frac{\\partial L}{\\partial \\mathbf{h}_{t-1}} = \\left(A\\right)^{T-i} W_{xh} b_h",
            "39: t → t+1 in ∂L/∂h_t ⇒ \\frac{\\partial L}{\\partial \\mathbf{h}_{t+1}} = \\left(A\\right)^{T-i} W_{xh} b_h",
            "60: T-i → T-i-1 in the power of A ⇒ \\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\left(A\\right)^{T-i-1} W_{xh} b_h",
            "60: T-i → T-i+1 in the power of A ⇒ \\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\left(A\\right)^{T-i+1} W_{xh} b_h",
        ])
        #expect(mutants("y = t^2 + \\|v\\|^2", .shiftIndex) == [])
    }

    @Test func moveBound() throws {
        #expect(mutants("y = \\sum_{i=1}^{t} x_i", .moveBound) == [
            "13: lower bound of \\sum over i: i=1 → i=0 ⇒ y = \\sum_{i=0}^{t} x_i",
            "13: lower bound of \\sum over i: i=1 → i=2 ⇒ y = \\sum_{i=2}^{t} x_i",
            "17: upper bound of \\sum over i: t → t-1 ⇒ y = \\sum_{i=1}^{t-1} x_i",
            "17: upper bound of \\sum over i: t → t+1 ⇒ y = \\sum_{i=1}^{t+1} x_i",
        ])
        // An unbraced bound gains braces.
        #expect(mutants("y = \\prod_{j=i+1}^T c_j", .moveBound) == [
            "14: lower bound of \\prod over j: j=i+1 → j=i ⇒ y = \\prod_{j=i}^T c_j",
            "14: lower bound of \\prod over j: j=i+1 → j=i+2 ⇒ y = \\prod_{j=i+2}^T c_j",
            "19: upper bound of \\prod over j: T → T-1 ⇒ y = \\prod_{j=i+1}^{T-1} c_j",
            "19: upper bound of \\prod over j: T → T+1 ⇒ y = \\prod_{j=i+1}^{T+1} c_j",
        ])
    }

    @Test func dropFunction() throws {
        #expect(mutants("\\mathbf{H} = \\phi(\\mathbf{X} W + b)", .dropFunction)
                == ["14: drop \\phi ⇒ \\mathbf{H} = (\\mathbf{X} W + b)"])
        #expect(mutants("y = \\tanh\\left(x\\right) + \\log p_t + \\operatorname{softmax}(o) + \\sigma(z) + \\sqrt{s}", .dropFunction) == [
            "5: drop \\tanh ⇒ y = \\left(x\\right) + \\log p_t + \\operatorname{softmax}(o) + \\sigma(z) + \\sqrt{s}",
            "27: drop \\log ⇒ y = \\tanh\\left(x\\right) + p_t + \\operatorname{softmax}(o) + \\sigma(z) + \\sqrt{s}",
            "38: drop \\operatorname{softmax} ⇒ y = \\tanh\\left(x\\right) + \\log p_t + (o) + \\sigma(z) + \\sqrt{s}",
            "66: drop \\sigma ⇒ y = \\tanh\\left(x\\right) + \\log p_t + \\operatorname{softmax}(o) + (z) + \\sqrt{s}",
            "78: drop \\sqrt ⇒ y = \\tanh\\left(x\\right) + \\log p_t + \\operatorname{softmax}(o) + \\sigma(z) + {s}",
        ])
    }

    @Test func minAndMax() throws {
        let clip = "\\mathbf{g}' = \\min\\left(1, \\frac{\\theta}{\\|\\mathbf{g}\\|}\\right) \\mathbf{g}"
        #expect(mutants(clip, .dropFunction) == [
            "15: \\min(…) → 1 ⇒ \\mathbf{g}' = 1 \\mathbf{g}",
            "15: \\min(…) → \\frac{\\theta}{\\|\\mathbf{g}\\|} ⇒ \\mathbf{g}' = \\frac{\\theta}{\\|\\mathbf{g}\\|} \\mathbf{g}",
        ])
        #expect(mutants(clip, .swapMinMax)
                == ["15: \\min → \\max ⇒ \\mathbf{g}' = \\max\\left(1, \\frac{\\theta}{\\|\\mathbf{g}\\|}\\right) \\mathbf{g}"])
        // A scalar times a vector commutes: no swap.
        #expect(mutants(clip, .swapFactors) == [])
        #expect(mutants("y = \\max(a, b + c)", .dropFunction) == [
            "5: \\max(…) → a ⇒ y = a",
            "5: \\max(…) → b + c ⇒ y = (b + c)",
        ])
    }

    @Test func swapFactors() throws {
        #expect(mutants("Y = A B C", .swapFactors) == [
            "5: swap A and B ⇒ Y = B A C",
            "7: swap B and C ⇒ Y = A C B",
        ])
        #expect(mutants("Y = A \\cdot B", .swapFactors) == ["5: swap A and B ⇒ Y = B \\cdot A"])
        #expect(mutants("Y = A \\times B", .swapFactors) == ["5: swap A and B ⇒ Y = B \\times A"])
        #expect(mutants("\\mathbf{y} = \\mathbf{W}_{qh}^\\top \\mathbf{h}_t", .swapFactors)
                == ["14: swap W_{qh}^⊤ and h_t ⇒ \\mathbf{y} = \\mathbf{h}_t \\mathbf{W}_{qh}^\\top"])
        // `\odot` commutes; so do scalars (numbers, lowercase italic symbols, norms).
        #expect(mutants("Y = A \\odot B", .swapFactors) == [])
        #expect(mutants("a_t = b_t + c_t a_{t-1} + 2 A + \\|v\\| B", .swapFactors) == [])
        // A sum takes everything after it: `A \sum …` is not swapped.
        #expect(mutants("Y = A \\sum_{i=1}^{n} B_i", .swapFactors) == [])
        #expect(mutants("Y = A \\exp(\\sum_{i=1}^{n} B_i) C", .swapFactors) == [
            "5: swap A and \\exp(\\sum_{i=1}^{n} B_i) ⇒ Y = \\exp(\\sum_{i=1}^{n} B_i) A C",
            "7: swap \\exp(\\sum_{i=1}^{n} B_i) and C ⇒ Y = A C \\exp(\\sum_{i=1}^{n} B_i)",
        ])
        // Parenthesised factors move whole.
        #expect(mutants("Y = (A + B) C", .swapFactors) == ["5: swap (A + B) and C ⇒ Y = C (A + B)"])
    }

    @Test func invertFractionAndSwapDimensions() throws {
        #expect(mutants("y = \\frac{1}{n} s", .invertFraction)
                == ["5: swap numerator and denominator of \\frac{1}{n} ⇒ y = \\frac{n}{1} s"])
        // Derivatives are symbols, not fractions.
        #expect(mutants("\\frac{\\partial L}{\\partial W} = G", .invertFraction) == [])
        #expect(mutants("\\mathbf{H} \\in \\mathbb{R}^{n \\times h}", .swapDimensions)
                == ["28: swap the dimensions n and h ⇒ \\mathbf{H} \\in \\mathbb{R}^{h \\times n}"])
        #expect(mutants("\\mathbf{W} \\in \\mathbb{R}^{h \\times h}", .swapDimensions) == [])
    }

    @Test func duplicatesAndUnparsableMutantsAreLeftOut() throws {
        // Dropping either term of `a + a` gives `y = a` twice.
        let doubled = try mutationCandidates(of: "y = a + a").filter { $0.kind == .dropTerm }.map(\.tex)
        #expect(doubled == ["y = a", "y = a"])
        #expect(try equationMutants(of: "y = a + a").filter { $0.kind == .dropTerm }.map(\.tex) == ["y = a"])
        // Negating the first term after a leading `+` gives `+-a`, which does not parse.
        let plus = "y = +a + b"
        #expect(try mutationCandidates(of: plus).contains { $0.tex == "y = +-a + b" })
        #expect(try !equationMutants(of: plus).contains { $0.tex == "y = +-a + b" })
        // The original's errors are the parser's.
        #expect(throws: MathError.self) { try equationMutants(of: "y = \\frac{a}") }
        for m in try equationMutants(of: plus) { #expect(m.tex != plus) }
    }

    /// The closed form of BPTT, every mutant spelled out.
    @Test func bpttClosedFormMutants() throws {
        let lines = try equationMutants(of: DeliberateErrorTests.closedForm).map { "\($0.column) \($0.kind.rawValue): \($0.description)" }
        #expect(lines == [
            "39 shiftIndex: t → t-1 in ∂L/∂h_t",
            "39 shiftIndex: t → t+1 in ∂L/∂h_t",
            "52 moveBound: lower bound of \\sum over i: i=t → i=t-1",
            "52 moveBound: lower bound of \\sum over i: i=t → i=t+1",
            "56 moveBound: upper bound of \\sum over i: T → T-1",
            "56 moveBound: upper bound of \\sum over i: T → T+1",
            "59 swapFactors: swap \\left(\\mathbf{W}_{hh}^\\top\\right)^{T-i} and W_{qh}^⊤",
            "80 dropTranspose: drop the transpose on W_{hh}",
            "94 shiftIndex: T-i → T-i-1 in the power of W_{hh}^⊤",
            "94 shiftIndex: T-i → T-i+1 in the power of W_{hh}^⊤",
            "99 swapFactors: swap W_{qh}^⊤ and ∂L/∂o_{T+t-i}",
            "114 dropTranspose: drop the transpose on W_{qh}",
            "159 shiftIndex: T+t-i → T+t-i-1 in ∂L/∂o_{T+t-i}",
            "159 shiftIndex: T+t-i → T+t-i+1 in ∂L/∂o_{T+t-i}",
        ])
    }
}

@Suite("Mutants of the chapters' equations")
struct ChapterMutationTests {
    /// Labels the chapters check with `verifyFails`: errata, shown as they were (mis)written, so
    /// they need not parse (`b_q \times \mathbb{R}^{1 \times q}` must not).
    static func errata() throws -> Set<String> {
        let chapters = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("chapters")
        let pattern = try NSRegularExpression(pattern: #"verifyFails\("(eq-[^"]+)""#)
        var labels = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: chapters.path) where file.hasSuffix(".md") {
            let text = try String(contentsOf: chapters.appendingPathComponent(file), encoding: .utf8)
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                labels.insert(String(text[Range(m.range(at: 1), in: text)!]))
            }
        }
        return labels
    }

    /// `$$ … $$ {#eq-…}` lines of chapters/*.md, as (label, TeX).
    static func labelledEquations() throws -> [(String, String)] {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let chapters = package.appendingPathComponent("chapters")
        let files = try FileManager.default.contentsOfDirectory(atPath: chapters.path)
            .filter { $0.hasSuffix(".md") && $0 != "README.md" }.sorted()
        var found: [(String, String)] = []
        let pattern = try NSRegularExpression(pattern: #"^\$\$(.+)\$\$\s*\{#(eq-[^}]+)\}\s*$"#, options: .anchorsMatchLines)
        for file in files {
            let text = try String(contentsOf: chapters.appendingPathComponent(file), encoding: .utf8)
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                found.append((String(text[Range(m.range(at: 2), in: text)!]), String(text[Range(m.range(at: 1), in: text)!])))
            }
        }
        return found
    }

    @Test func everyMutantOfEveryLabelledEquationParses() throws {
        let equations = try Self.labelledEquations()
        #expect(equations.count >= 16, "found \(equations.map(\.0))")
        let errata = try Self.errata()
        for (label, tex) in equations {
            // An erratum that does not parse is the point of showing it; every other must parse.
            if errata.contains(label), (try? ParsedEquation(tex)) == nil { continue }
            let all = try equationMutants(of: tex)
            #expect(!all.isEmpty, "\(label) has no mutants")
            for m in all {
                #expect(throws: Never.self, "\(label): \(m.description) ⇒ \(m.tex)") { _ = try ParsedEquation(m.tex) }
                #expect(m.tex != tex && m.column >= 1 && m.column <= tex.count)
            }
            #expect(Set(all.map { withoutSpaces($0.tex) }).count == all.count, "\(label) has duplicate mutants")
        }
    }
}

@Suite("Checks kill their mutants")
struct MutantKillingTests {
    static let rnnState = "\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh} + \\mathbf{b}_h)"

    /// One RNN step with square 3 × 3 tensors (so swapped factors still multiply), the inputs and
    /// states as families over every step (so shifted indices still evaluate), t = 3.
    static func rnnBindings(zeroBias: Bool = false) -> Bindings {
        var g = PCG64(seed: 12)
        var xs: [Int: Tensor<Double>] = [:], hs: [Int: Tensor<Double>] = [:]
        for k in 0...6 {
            xs[k] = Tensor(randomNormal: [3, 3], generator: &g)
            hs[k] = Tensor(randomNormal: [3, 3], generator: &g)
        }
        let wxh = Tensor<Double>(randomNormal: [3, 3], generator: &g)
        let whh = Tensor<Double>(randomNormal: [3, 3], generator: &g)
        let bh = zeroBias ? Tensor<Double>(zeros: [3]) : Tensor<Double>(randomNormal: [3], generator: &g)
        hs[3] = (xs[3]!.matmul(wxh) + hs[2]!.matmul(whh) + bh).map { Foundation.tanh($0) }
        return Bindings(values: ["W_xh": wxh, "W_hh": whh, "b_h": bh],
                        indexed: ["X": { xs[$0]! }, "H": { hs[$0]! }],
                        functions: ["phi": { $0.map { Foundation.tanh($0) } }], integers: ["t": 3])
    }

    @Test func rnnStateKillsEveryMutant() throws {
        let b = Self.rnnBindings()
        let original = try checkEquation(Self.rnnState, bindings: b)
        #expect(original.passed, "\(original.message)")
        let all = try equationMutants(of: Self.rnnState)
        #expect(Dictionary(grouping: all, by: \.kind).mapValues(\.count)
                == [.flipSign: 3, .dropTerm: 3, .shiftIndex: 6, .dropFunction: 1, .swapFactors: 2])
        for m in all {
            // Every mutant evaluates (the bindings cover it), and its value is clearly wrong.
            let v = try checkEquation(m.tex, bindings: b)
            #expect(!v.passed && v.maxRelError > 1e-3, "\(m.description) survived: \(v.message)")
        }
    }

    @Test func aToleranceThatAcceptsAnythingLetsEveryMutantSurvive() throws {
        // The relative error never exceeds 2, so a tolerance of 10 passes any value of the right shape.
        let b = Self.rnnBindings()
        let all = try equationMutants(of: Self.rnnState)
        #expect(try checkEquation(Self.rnnState, bindings: b, tolerance: 10).passed)
        #expect(all.filter { killed($0, b, tolerance: 10) }.map(\.description) == [])
    }

    @Test func aZeroBiasLeavesTheBiasUnchecked() throws {
        let b = Self.rnnBindings(zeroBias: true)
        #expect(try checkEquation(Self.rnnState, bindings: b).passed)
        let survivors = try equationMutants(of: Self.rnnState).filter { !killed($0, b) }
        #expect(survivors.map(\.description) == ["+ → - before b_h", "drop the term + b_h"])
    }

    @Test func aSymmetricMatrixHidesItsTranspose() throws {
        let tex = "\\mathbf{y} = \\mathbf{W}^\\top \\mathbf{x}"
        var g = PCG64(seed: 13)
        let w = Tensor<Double>(randomNormal: [3, 3], generator: &g), x = Tensor<Double>(randomNormal: [3], generator: &g)
        func bindings(_ w: Tensor<Double>) -> Bindings {
            Bindings(values: ["W": w, "x": x, "y": w.transposed.matmul(x.reshaped([-1, 1])).reshaped([-1])])
        }
        let all = try equationMutants(of: tex)
        #expect(all.map(\.kind) == [.swapFactors, .dropTranspose])
        #expect(try checkEquation(tex, bindings: bindings(w)).passed)
        #expect(all.allSatisfy { killed($0, bindings(w)) })
        // W + Wᵀ is symmetric: W x = Wᵀ x = x W, so neither mistake can be seen.
        let symmetric = w + w.transposed
        #expect(try checkEquation(tex, bindings: bindings(symmetric)).passed)
        #expect(all.filter { !killed($0, bindings(symmetric)) }.map(\.kind) == [.swapFactors, .dropTranspose])
    }

    @Test(arguments: [2, 3, 4])
    func bpttRecursionKillsEveryMutant(t: Int) throws {
        let tex = "\\frac{\\partial L}{\\partial \\mathbf{h}_t} = \\mathbf{W}_{hh}^\\top \\frac{\\partial L}{\\partial \\mathbf{h}_{t+1}} + \\mathbf{W}_{qh}^\\top \\frac{\\partial L}{\\partial \\mathbf{o}_t}"
        let b = DeliberateErrorTests.bpttBindings(t: t)
        #expect(try checkEquation(tex, bindings: b).passed)
        let all = try equationMutants(of: tex)
        #expect(all.count == 14)
        #expect(Set(all.map(\.kind)) == [.shiftIndex, .flipSign, .dropTerm, .dropTranspose, .swapFactors])
        for m in all { #expect(killed(m, b), "t = \(t): \(m.description) survived") }
    }
}
