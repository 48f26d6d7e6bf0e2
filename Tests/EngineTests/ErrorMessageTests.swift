import Foundation
import Testing
@testable import Engine

/// Bad use stops with a message that names what was expected and what was found. Each case runs
/// in a child process (Swift Testing exit tests) and its standard error is checked.
@Suite("Errors for bad use")
struct ErrorMessageTests {
    @Test func mismatchedBroadcastNamesBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>(zeros: [2, 3]) + Tensor<Float>(zeros: [4])
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("cannot broadcast shapes [2, 3] and [4]"), "\(text)")
    }

    @Test func matmulMismatchNamesBothShapes() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = matmul(Variable(Tensor<Float>(zeros: [2, 3])), Variable(Tensor<Float>(zeros: [4, 5])))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("matmul: shapes [2, 3] and [4, 5] do not chain: 3 vs 4"), "\(text)")
    }

    @Test func backwardFromNonScalarIsRefused() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Variable(Tensor<Float>(ones: [2, 2]), requiresGrad: true)
            (x * 2).backward()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("backward() needs a scalar (one-element) value such as a loss, got shape [2, 2]"), "\(text)")
    }

    @Test func gradientOfUntrackedValueIsRefused() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Variable(Tensor<Float>(ones: [3]))
            _ = x.gradient
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("gradient asked of a value that is not tracked"), "\(text)")
    }

    @Test func backwardWithNothingTrackedIsRefused() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Variable(Tensor<Float>(ones: [3]))
            x.sum().backward()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("depends on no tracked variable"), "\(text)")
    }

    @Test func rnnCellWrongStateShape() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            var g = PCG64(seed: 1)
            let cell = RNNCell<Float>(inputSize: 3, hiddenSize: 4, generator: &g)
            _ = cell(Variable(Tensor(zeros: [2, 3])), state: Variable(Tensor(zeros: [2, 5])))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("RNNCell: state of shape [2, 5] should be [2, 4]"), "\(text)")
    }
}
