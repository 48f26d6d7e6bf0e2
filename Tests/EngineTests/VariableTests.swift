import Testing
@testable import Engine

@Suite("Variable tape")
struct VariableTests {
    @Test func simpleChainRule() {
        let x = Variable(Tensor<Double>([2.0, 3.0]), requiresGrad: true)
        let y = (x * x * 3).sum()        // d/dx = 6x
        y.backward()
        #expect(y.scalar == 39)
        #expect(x.gradient.scalars == [12, 18])
    }

    @Test func gradientsAccumulateUntilZeroed() {
        let x = Variable(Tensor<Double>([1.0]), requiresGrad: true)
        (x * 2).sum().backward()
        (x * 2).sum().backward()
        #expect(x.gradient.scalars == [4])
        x.zeroGrad()
        #expect(x.grad == nil)
        (x * 5).sum().backward()
        #expect(x.gradient.scalars == [5])
    }

    @Test func theTrackedGraphHoldsEachParameterOnceAndGrowsWithTheUnrolledSteps() {
        let w = Variable(Tensor<Double>([[0.5]]), requiresGrad: true)
        let b = Variable(Tensor<Double>([0.1]), requiresGrad: true)
        func unrolled(_ steps: Int) -> Variable<Double> {
            var h = Variable(Tensor<Double>([[1.0]]))          // a constant: not on the tape
            for _ in 0..<steps { h = tanh(matmul(h, w) + b) }
            return h.sum()
        }
        for steps in [1, 4] {
            let graph = unrolled(steps).trackedGraph
            let leaves = graph.filter(\.isLeaf)
            #expect(leaves.count == 2)
            #expect(leaves.contains { $0 === w } && leaves.contains { $0 === b })
            // matmul, + and tanh per step, then the sum.
            #expect(graph.count - leaves.count == 3 * steps + 1)
        }
        // Parents come before children; an untracked value has no graph.
        let graph = unrolled(2).trackedGraph
        #expect(graph.last?.operation == "sum")
        #expect(Variable(Tensor<Double>([1.0])).trackedGraph.isEmpty)
    }

    @Test func sharedSubexpressionGetsBothPaths() {
        let x = Variable(Tensor<Double>([3.0]), requiresGrad: true)
        let h = x * x
        (h + h * x).sum().backward()          // x² + x³ → 2x + 3x² = 33
        #expect(x.gradient.scalars == [33])
    }

    @Test func detachedStopsGradients() {
        let x = Variable(Tensor<Double>([3.0]), requiresGrad: true)
        let y = (x * x).detached()
        #expect(!y.requiresGrad)
        (x + y).sum().backward()
        #expect(x.gradient.scalars == [1])
    }

    @Test func withoutGradientsRecordsNothing() {
        let x = Variable(Tensor<Float>([1, 2]), requiresGrad: true)
        let y = withoutGradients { x * 2 }
        #expect(!y.requiresGrad)
        #expect(gradientsAreEnabled)
        #expect(y.value.scalars == [2, 4])
    }

    @Test func untrackedParameterGetsNoGradient() {
        let w = Variable(Tensor<Double>([1.0, 2.0]), requiresGrad: true)
        let c = Variable(Tensor<Double>([5.0, 7.0]))
        (w * c).sum().backward()
        #expect(w.gradient.scalars == [5, 7])
        #expect(c.grad == nil)
        #expect(!c.requiresGrad)
    }

    @Test func deepGraphDoesNotOverflowTheStack() {
        let x = Variable(Tensor<Float>([1]), requiresGrad: true)
        var y = x
        for _ in 0..<20_000 { y = y + 0 }
        y.sum().backward()
        #expect(x.gradient.scalars == [1])
    }

    @Test func softmaxIsStableForLargeLogits() {
        let logits = Tensor<Float>([[1000, 1001, 1002], [-1000, -1000, -1000]])
        let p = softmax(logits, alongAxis: 1)
        #expect(p.scalars.allSatisfy { $0.isFinite })
        #expect(abs(p[0, 2] - 0.66524) < 1e-4)
        #expect(abs(p[1, 0] - 1.0 / 3) < 1e-6)
        let loss = softmaxCrossEntropy(logits: logits, labels: [2, 0])
        #expect(abs(loss - (0.40761 + 1.09861) / 2) < 1e-4)
    }

    @Test func tensorHelpers() {
        #expect(Tensor<Float>(oneHot: [2, 0], depth: 3).scalars == [0, 0, 1, 1, 0, 0])
        let m = Tensor<Float>([[1, 5, 2], [7, 0, 7]])
        #expect(m.argmax(alongAxis: 1) == [1, 0])
        #expect(m.argmax(alongAxis: 0) == [1, 0, 1])
        let c = Tensor(concatenating: [m, m], alongAxis: 1)
        #expect(c.shape == [2, 6])
        #expect(c[1, 3] == 7)
        let s = Tensor(stacking: [m, m * 2])
        #expect(s.shape == [2, 2, 3])
        #expect(s[1, 1, 0] == 14)
        #expect(m.gather(rows: [1, 1, 0]).scalars == [7, 0, 7, 7, 0, 7, 1, 5, 2])
        #expect(sigmoid(Tensor<Double>([-800, 0, 800])).scalars == [0, 0.5, 1])
        #expect(relu(Tensor<Float>([-1, 2])).scalars == [0, 2])
    }

    @Test func broadcastingKernelMatchesClosurePath() {
        let a = Tensor<Double>(randomNormal: [4, 3], seed: 1)
        let row = Tensor<Double>([1, 2, 3]), column = Tensor<Double>([[1], [2], [3], [4]])
        let viaKernel = a + row - column * 2
        let viaClosure = Tensor.broadcastCombine(Tensor.broadcastCombine(a, row, +),
                                                 Tensor.broadcastCombine(column, Tensor(2.0), *), -)
        #expect(viaKernel == viaClosure)
        // Rank 3, broadcasting along a middle and an outer axis, small and large enough to be
        // split over the product threads (each output row finds its offsets from its index).
        for outer in [2, 40] {
            let x = Tensor<Double>(randomNormal: [outer, 3, 700], seed: 2)
            let y = Tensor<Double>(randomNormal: [3, 1], seed: 3), z = Tensor<Double>(randomNormal: [outer, 1, 700], seed: 4)
            #expect(x * y == Tensor.broadcastCombine(x, y, *), "[\(outer), 3, 700] * [3, 1]")
            #expect(x - z == Tensor.broadcastCombine(x, z, -), "[\(outer), 3, 700] - [\(outer), 1, 700]")
        }
    }
}

@Test("two backward passes add up: gradients are exactly twice those of one pass")
func backwardPassesAccumulate() {
    let w = Variable(Tensor<Double>(randomUniform: [4, 3], lower: -1, upper: 1, seed: 21), requiresGrad: true)
    let b = Variable(Tensor<Double>(randomUniform: [3], lower: -1, upper: 1, seed: 22), requiresGrad: true)
    let x = Variable(Tensor<Double>(randomUniform: [5, 4], lower: -1, upper: 1, seed: 23))
    func loss() -> Variable<Double> {
        var h = x
        for _ in 0..<3 { h = tanh(matmul(h[rows: 0..<5], w) + b).matmul(w.transposed) }
        return (h * h).sum()
    }
    loss().backward()
    let once = (w.gradient, b.gradient)
    loss().backward()
    // Doubling is exact in binary floating point, so the comparison can be exact too.
    #expect(w.gradient == once.0 * 2)
    #expect(b.gradient == once.1 * 2)
}
