import Testing
@testable import Engine

/// One backward rule under test: the parameters and a scalar loss built from them.
struct GradientCase: CustomTestStringConvertible, Sendable {
    let name: String
    let build: @Sendable () -> (parameters: [Variable<Double>], loss: () -> Variable<Double>)
    var testDescription: String { name }
}

private func parameter(_ shape: [Int], seed: UInt64, lower: Double = -1, upper: Double = 1) -> Variable<Double> {
    Variable(Tensor(randomUniform: shape, lower: lower, upper: upper, seed: seed), requiresGrad: true)
}

/// Σ w ⊙ v with fixed random weights, so every output element gets a different upstream gradient.
private func weightedSum(_ v: Variable<Double>, seed: UInt64 = 99) -> Variable<Double> {
    (v * Variable(Tensor(randomUniform: v.shape, lower: -1, upper: 1, seed: seed))).sum()
}

private func unaryCase(_ name: String, lower: Double = -2, upper: Double = 2,
                       _ f: @escaping @Sendable (Variable<Double>) -> Variable<Double>) -> GradientCase {
    GradientCase(name: name) {
        let x = parameter([3, 4], seed: 1, lower: lower, upper: upper)
        return ([x], { weightedSum(f(x)) })
    }
}

private func binaryCase(_ name: String, _ shapeA: [Int], _ shapeB: [Int], lowerB: Double = -1,
                        _ f: @escaping @Sendable (Variable<Double>, Variable<Double>) -> Variable<Double>) -> GradientCase {
    GradientCase(name: name) {
        let a = parameter(shapeA, seed: 2), b = parameter(shapeB, seed: 3, lower: lowerB, upper: lowerB + 2)
        return ([a, b], { weightedSum(f(a, b)) })
    }
}

let gradientCases: [GradientCase] = [
    binaryCase("add same shape", [3, 4], [3, 4], +),
    binaryCase("add row vector", [3, 4], [4], +),
    binaryCase("add column vector", [3, 4], [3, 1], +),
    binaryCase("add scalar tensor", [3, 4], [], +),
    binaryCase("add 3-D and matrix", [2, 3, 4], [3, 4], +),
    binaryCase("subtract row", [3, 4], [1, 4], -),
    binaryCase("subtract from smaller", [4], [3, 4], -),
    binaryCase("multiply column", [3, 4], [3, 1], *),
    binaryCase("multiply same", [3, 4], [3, 4], *),
    binaryCase("divide row", [3, 4], [4], lowerB: 0.5, /),
    binaryCase("divide same", [3, 4], [3, 4], lowerB: 0.5, /),
    unaryCase("scalar arithmetic") { x in (2 * x + 3) * x - 1 / (x + 5) - x / 4 + (1 - x) },
    unaryCase("negate") { x in -x },
    binaryCase("matmul", [3, 4], [4, 5]) { a, b in matmul(a, b) },
    binaryCase("matmul 3-D left", [2, 3, 4], [4, 5]) { a, b in a.matmul(b) },
    unaryCase("tanh") { tanh($0) },
    unaryCase("sigmoid", lower: -6, upper: 6) { sigmoid($0) },
    unaryCase("relu", lower: 0.1, upper: 2) { x in relu(x) + relu(-x) * 3 },
    unaryCase("exp") { exp($0) },
    unaryCase("log", lower: 0.2, upper: 3) { log($0) },
    unaryCase("softmax last axis") { softmax($0, alongAxis: -1) },
    unaryCase("softmax axis 0") { softmax($0, alongAxis: 0) },
    unaryCase("logSoftmax") { logSoftmax($0, alongAxis: 1) },
    unaryCase("logSoftmax axis 0") { logSoftmax($0, alongAxis: 0) },
    unaryCase("sum all") { x in x.sum() * x.sum() },
    unaryCase("mean all") { x in x.mean() * x.mean() },
    unaryCase("sum along axis 0") { $0.sum(alongAxis: 0) },
    unaryCase("sum along axis 1 kept") { x in x.sum(alongAxis: 1, keepingDimension: true) * x },
    unaryCase("mean along axis") { $0.mean(alongAxis: -1) },
    unaryCase("reshaped") { $0.reshaped([2, -1]) },
    unaryCase("transposed") { x in matmul(x.transposed, x) },
    binaryCase("concatenate axis 0", [3, 4], [2, 4]) { a, b in concatenate([a, b, a], alongAxis: 0) },
    binaryCase("concatenate axis 1", [3, 4], [3, 2]) { a, b in concatenate([a, b], alongAxis: 1) },
    binaryCase("stack axis 0", [3, 4], [3, 4]) { a, b in stack([a, b]) },
    binaryCase("stack axis 1", [3, 4], [3, 4]) { a, b in stack([a, b], alongAxis: 1) },
    unaryCase("row slices") { x in x[rows: 1..<3] * x[rows: 0..<2] },
    unaryCase("row") { x in x[row: 2] * x[row: 0] + x[row: 1] },
    // The accumulating rules: a weight's deferred products from 2-D and 3-D uses summed in one
    // gemm, overlapping slices adding into one pending gradient, a slice added to the whole.
    binaryCase("matmul weight shared by several uses", [2, 3, 4], [4, 4]) { a, w in
        matmul(tanh(a.matmul(w)).reshaped([6, 4]), w) + matmul(a[row: 1], w).sum()
    },
    unaryCase("overlapping row slices and the whole") { x in
        (x[rows: 0..<2] + x[rows: 1..<3]) * x[rows: 0..<2] + x.sum(alongAxis: 0) + x[row: 1]
    },
    unaryCase("gather rows (embedding)") { x in gather(x, rows: [2, 0, 2, 1]) },
    GradientCase(name: "softmax cross-entropy") {
        let x = parameter([4, 5], seed: 4, lower: -3, upper: 3)
        return ([x], { softmaxCrossEntropy(logits: x, labels: [0, 4, 2, 2]) })
    },
    GradientCase(name: "softmax cross-entropy 3-D") {
        let x = parameter([2, 3, 5], seed: 5, lower: -3, upper: 3)
        return ([x], { softmaxCrossEntropy(logits: x, labels: [0, 1, 2, 3, 4, 0]) * 3 })
    },
    GradientCase(name: "RNN steps by hand") {
        let wxh = parameter([3, 4], seed: 6), whh = parameter([4, 4], seed: 7), bh = parameter([4], seed: 8)
        let xs = Tensor<Double>(randomNormal: [3, 2, 3], seed: 9)
        return ([wxh, whh, bh], {
            var h = Variable(Tensor<Double>(zeros: [2, 4]))
            var states: [Variable<Double>] = []
            for t in 0..<3 {
                h = tanh(matmul(Variable(xs[row: t]), wxh) + matmul(h, whh) + bh)
                states.append(h)
            }
            return softmaxCrossEntropy(logits: stack(states).reshaped([6, 4]), labels: [0, 1, 2, 3, 0, 1])
        })
    },
]

@Test("backward rule agrees with central differences", arguments: gradientCases)
func backwardRuleMatchesFiniteDifferences(_ testCase: GradientCase) {
    let (parameters, loss) = testCase.build()
    let result = gradientCheck(of: loss, wrt: parameters)
    #expect(result.maxRelativeError < 1e-6, "\(testCase.name): \(result)")
    // Comparing zero with zero would prove nothing: every gradient must be non-trivial.
    for p in parameters { p.zeroGrad() }
    loss().backward()
    #expect(parameters.allSatisfy { $0.gradient.maxAbs() > 1e-6 }, "\(testCase.name): a gradient is all zeros")
}

/// A weight used by many row blocks (an unrolled RNN's W_hh): its deferred products are summed
/// in several chunks of stacked rows (more than 256 rows in all), which must give Σ Xᵢᵀ Gᵢ.
@Test func weightGradientOverManyUsesSumsEveryChunk() {
    var generator = PCG64(seed: 7)
    let w = Variable(Tensor<Double>(randomNormal: [5, 3], generator: &generator), requiresGrad: true)
    let inputs = (0 ..< 13).map { _ in Tensor<Double>(randomNormal: [32, 5], generator: &generator) }
    let weights = (0 ..< 13).map { _ in Tensor<Double>(randomNormal: [32, 3], generator: &generator) }
    var loss = (matmul(Variable(inputs[0]), w) * Variable(weights[0])).sum()
    for i in 1 ..< 13 { loss = loss + (matmul(Variable(inputs[i]), w) * Variable(weights[i])).sum() }
    loss.backward()
    // d/dW Σᵢ sum((Xᵢ W) ⊙ Cᵢ) = Σᵢ Xᵢᵀ Cᵢ.
    var expected = Tensor<Double>(zeros: [5, 3])
    for i in 0 ..< 13 { expected = expected + inputs[i].matmul(weights[i], transposeSelf: true) }
    let error = zip(w.gradient.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
    #expect(error < 1e-12, "largest difference \(error)")
}

/// A NaN anywhere must make the check's error NaN, never 0: `max` alone skips NaN.
@Suite("Gradient check: NaN and infinity are never a small error")
struct GradientCheckNonFiniteTests {
    @Test func aNaNGradientGivesANaNError() {
        // log of a negative element: NaN loss, NaN gradients; before, the error read 0.
        let x = Variable(Tensor<Double>(shape: [3], scalars: [0.5, -1, 2]), requiresGrad: true)
        let result = gradientCheck(of: { log(x).sum() }, wrt: [x])
        #expect(result.maxRelativeError.isNaN)
        #expect(result.maxAbsoluteError.isNaN)
        #expect(!(result.maxRelativeError <= 1e-6) && !(result.maxRelativeError < 1))
    }

    @Test func aFiniteCheckStillMeasuresItsError() {
        let x = Variable(Tensor<Double>(shape: [3], scalars: [0.5, 1, 2]), requiresGrad: true)
        let result = gradientCheck(of: { log(x).sum() }, wrt: [x])
        #expect(result.maxRelativeError.isFinite && result.maxRelativeError < 1e-8)
    }

    @Test func maxAbsKeepsNaN() {
        #expect(Tensor<Double>(shape: [3], scalars: [1, .nan, 2]).maxAbs().isNaN)
        #expect(Tensor<Float>(shape: [3], scalars: [.nan, 1, 2]).maxAbs().isNaN)
        #expect(Tensor<Double>(shape: [3], scalars: [1, -3, 2]).maxAbs() == 3)
        #expect(Tensor<Double>(shape: [2], scalars: [1, -.infinity]).maxAbs() == .infinity)
    }
}

/// x ⊙ x with a backward rule that returns `factor` · 2x · g: a hand-derived gradient that is
/// wrong by a constant factor (factor 1 is the right rule).
private func squareWithRule(_ x: Variable<Double>, factor: Double) -> Variable<Double> {
    Variable(x.value * x.value, operation: "wrong square", parents: [x]) { g in [g * x.value * (2 * factor)] }
}

/// The measure must be able to exceed any tolerance an author could write: with
/// |a − n| / (|a| + |n|) a gradient ten times too large scored 0.82, so `tolerance: 1` passed it.
@Suite("Gradient check: the error measure has no ceiling")
struct GradientCheckMeasureTests {
    @Test(arguments: [(10.0, 9.0), (100.0, 99.0), (-1.0, 2.0), (0.0, 1.0), (1.0, 0.0)])
    func aWrongFactorScoresItsError(factor: Double, expected: Double) {
        let x = Variable(Tensor<Double>(shape: [4], scalars: [0.5, -1.5, 2, 0.75]), requiresGrad: true)
        let result = gradientCheck(of: { (squareWithRule(x, factor: factor) * Variable(Tensor(shape: [4], scalars: [1, 2, -1, 3]))).sum() },
                                   wrt: [x])
        // Central differences of a quadratic are exact up to rounding (~1e-10 relative).
        #expect(abs(result.maxRelativeError - expected) < 1e-6, "factor \(factor): \(result)")
        #expect(result.independentParameters.isEmpty)
    }

    @Test func aParameterTheLossDoesNotDependOnIsListed() {
        let x = Variable(Tensor<Double>(shape: [3], scalars: [0.5, 1, 2]), requiresGrad: true)
        let y = Variable(Tensor<Double>(shape: [2], scalars: [3, 4]), requiresGrad: true)
        // y was copied out of the graph by mistake before the loss was built: perturbing y changes
        // nothing, so both of its gradients are exactly zero and "agree".
        let copy = y.detached()
        let result = gradientCheck(of: { (x * x).sum() + (copy * 2).sum() }, wrt: [x, y])
        #expect(result.independentParameters == [1])
        #expect(result.relativeErrors[1] == 0)
        // Detached inside the loss, the finite difference still sees y: caught by value (error 1).
        let inside = gradientCheck(of: { (x * x).sum() + (y.detached() * 2).sum() }, wrt: [x, y])
        #expect(inside.independentParameters.isEmpty && abs(inside.relativeErrors[1] - 1) < 1e-9)
    }

    @Test func aGradientWhereTheLossIsFlatIsInfinitelyWrong() {
        // The loss ignores x, but the rule gives it a gradient: no finite difference to be
        // relative to, so the error is +∞ and no tolerance accepts it.
        let x = Variable(Tensor<Double>(shape: [2], scalars: [0.5, 1]), requiresGrad: true)
        let flat = { Variable(Tensor<Double>(zeros: [2]), operation: "flat", parents: [x]) { g in [g + 1] } }
        let result = gradientCheck(of: { flat().sum() }, wrt: [x])
        #expect(result.maxRelativeError == .infinity)
        #expect(!NumberComparisonStandIn.isWithin(result.maxRelativeError, 1e300))
    }

    @Test func tinyElementsBesideLargeOnesAreJudgedAgainstTheFloor() {
        // One element's gradient is 1e-9 of the others': its finite difference is mostly
        // rounding, so it is judged against a millionth of the largest, not against itself.
        let x = Variable(Tensor<Double>(shape: [3], scalars: [1, 2, 3]), requiresGrad: true)
        let weights = Variable(Tensor<Double>(shape: [3], scalars: [1e3, 1e-6, 2e3]))
        let result = gradientCheck(of: { (x * x * weights).sum() }, wrt: [x])
        #expect(result.maxRelativeError < 1e-6, "\(result)")
    }
}

/// `NumberComparison` lives in BookProtocol, which EngineTests does not import: the same rule.
private enum NumberComparisonStandIn {
    static func isWithin(_ error: Double, _ tolerance: Double) -> Bool { error.isFinite && error <= tolerance }
}
