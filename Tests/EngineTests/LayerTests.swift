import Testing
@testable import Engine

@Suite("Layers, losses and optimizers")
struct LayerTests {
    @Test func linearShapesAndValues() {
        var g = PCG64(seed: 1)
        let layer = Linear<Float>(inputSize: 3, outputSize: 2, generator: &g)
        #expect(layer.parameters.map(\.shape) == [[3, 2], [2]])
        #expect(layer.bias.value.scalars == [0, 0])
        let x = Variable(Tensor<Float>(ones: [5, 3]))
        let y = layer(x)
        #expect(y.shape == [5, 2])
        #expect(abs(y.value[0, 1] - layer.weight.value.sum(alongAxis: 0)[1]) < 1e-6)
        #expect(layer(Variable(Tensor<Float>(ones: [4, 5, 3]))).shape == [4, 5, 2])
    }

    @Test func initializersAreSeededAndScaled() {
        var g1 = PCG64(seed: 42), g2 = PCG64(seed: 42)
        let a = Initializer<Double>.normal(standardDeviation: 0.01).makeParameter([100, 100], generator: &g1)
        let b = Initializer<Double>.normal(standardDeviation: 0.01).makeParameter([100, 100], generator: &g2)
        #expect(a.value == b.value)
        let std = (a.value * a.value).mean().squareRoot()
        #expect(abs(std - 0.01) < 0.0005)
        #expect(a.requiresGrad)
    }

    @Test func rnnCellFollowsItsEquation() {
        var g = PCG64(seed: 3)
        let cell = RNNCell<Double>(inputSize: 3, hiddenSize: 4, weightInitializer: .normal(standardDeviation: 0.5), generator: &g)
        let x = Tensor<Double>(randomNormal: [2, 3], seed: 4), h = Tensor<Double>(randomNormal: [2, 4], seed: 5)
        let expected = tanh(x.matmul(cell.wxh.value) + h.matmul(cell.whh.value) + cell.bh.value)
        let got = cell(Variable(x), state: Variable(h)).value
        #expect((got - expected).maxAbs() < 1e-12)
    }

    @Test func rnnReturnsAllStatesAndTheLast() {
        var g = PCG64(seed: 5)
        let rnn = RNN<Float>(inputSize: 3, hiddenSize: 4, weightInitializer: .normal(standardDeviation: 0.5), generator: &g)
        let inputs = Variable(Tensor<Float>(randomNormal: [6, 2, 3], seed: 6))
        let (states, last) = rnn(inputs)
        #expect(states.shape == [6, 2, 4])
        #expect(last.shape == [2, 4])
        #expect(states.value[row: 5] == last.value)
        let head = OutputLayer<Float>(hiddenSize: 4, outputSize: 7, generator: &g)
        #expect(head(states).shape == [12, 7])
        #expect(rnn.parameters.count == 3 && head.parameters.count == 2)
    }

    @Test func rnnAndOutputLayerGradientsCheckOut() {
        var g = PCG64(seed: 7)
        let rnn = RNN<Double>(inputSize: 5, hiddenSize: 4, weightInitializer: .normal(standardDeviation: 0.5), generator: &g)
        let head = OutputLayer<Double>(hiddenSize: 4, outputSize: 5, weightInitializer: .normal(standardDeviation: 0.5), generator: &g)
        let tokens = [[0, 3], [1, 4], [2, 2], [4, 0]]
        let inputs = Variable(Tensor(stacking: tokens.map { Tensor<Double>(oneHot: $0, depth: 5) }))
        let h0 = Variable(Tensor<Double>(randomNormal: [2, 4], seed: 8), requiresGrad: true)
        let labels = [3, 4, 2, 2, 4, 0, 1, 1]
        let parameters = rnn.parameters + head.parameters + [h0]
        let result = gradientCheck(of: {
            softmaxCrossEntropy(logits: head(rnn(inputs, initialState: h0).states), labels: labels)
        }, wrt: parameters)
        #expect(result.maxRelativeError < 1e-6, "\(result)")
    }

    @Test func perplexityIsExpOfLoss() {
        #expect(perplexity(meanCrossEntropy: 0.0) == 1)
        // A uniform guess over V classes has loss log V and perplexity V.
        let logits = Tensor<Double>(zeros: [3, 28])
        let loss = softmaxCrossEntropy(logits: logits, labels: [0, 5, 27])
        #expect(abs(perplexity(meanCrossEntropy: loss) - 28) < 1e-9)
    }

    @Test func sgdStepsAgainstTheGradient() {
        let p = Variable(Tensor<Float>([1, 2]), requiresGrad: true)
        (p * p).sum().backward()          // g = 2p = [2, 4]
        SGD(learningRate: 0.1).step([p])
        #expect(p.value.scalars == [0.8, 1.6])
    }

    @Test func adagradFollowsMinCharRNN() {
        let p = Variable(Tensor<Double>([1, -2]), requiresGrad: true)
        let opt = Adagrad<Double>(learningRate: 0.1)
        p.grad = Tensor([0.5, 2])
        opt.step([p])
        #expect(abs(p.value[0] - (1 - 0.1 * 0.5 / (0.25 + 1e-8).squareRoot())) < 1e-12)
        p.grad = Tensor([0.5, 2])
        opt.step([p])                      // memory is now 2g², so the step is 0.1/√2
        #expect(abs(p.value[1] - (-2 - 0.1 - 0.1 / 2.0.squareRoot())) < 1e-9)
    }

    @Test func clippingByNormFollowsD2L() {
        let a = Variable(Tensor<Double>([3]), requiresGrad: true), b = Variable(Tensor<Double>([4]), requiresGrad: true)
        a.grad = Tensor([3]); b.grad = Tensor([4])
        let norm = clipGradients(of: [a, b], maxNorm: 1)
        #expect(norm == 5)
        #expect(abs(a.gradient[0] - 0.6) < 1e-12 && abs(b.gradient[0] - 0.8) < 1e-12)
        #expect(clipGradients(of: [a, b], maxNorm: 10) == 1.0)   // below θ: unchanged
        #expect(abs(a.gradient[0] - 0.6) < 1e-12)
    }

    @Test func clippingByValueClamps() {
        let a = Variable(Tensor<Float>([1, 2, 3]), requiresGrad: true)
        a.grad = Tensor([-9, 0.5, 7])
        #expect(clipGradients(of: [a], maxValue: 5) == 9)
        #expect(a.gradient.scalars == [-5, 0.5, 5])
    }

    /// XOR is not linearly separable, so a falling loss shows the hidden layer and its gradients work.
    @Test func mlpLearnsXOR() {
        var g = PCG64(seed: 2024)
        let mlp = MLP<Float>(sizes: [2, 8, 2], activation: .tanh, generator: &g)
        let x = Variable(Tensor<Float>([[0, 0], [0, 1], [1, 0], [1, 1]]))
        let labels = [0, 1, 1, 0]
        let optimizer = SGD<Float>(learningRate: 0.5)
        var loss: Float = .infinity
        for _ in 0..<1000 {
            zeroGradients(of: mlp.parameters)
            let l = softmaxCrossEntropy(logits: mlp(x), labels: labels)
            l.backward()
            optimizer.step(mlp.parameters)
            loss = l.scalar
        }
        #expect(loss < 0.02, "XOR loss after 1000 steps: \(loss)")
        let predictions = withoutGradients { mlp(x).value.argmax(alongAxis: 1) }
        #expect(predictions == labels)
    }
}
