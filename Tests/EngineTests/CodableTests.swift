import Foundation
import Testing
@testable import Engine

/// Checkpoints keep tensors and models through Codable: a restored model must compute exactly
/// what the stored one did, so the round trips are compared bit for bit.
@Suite("Codable tensors and models")
struct CodableTests {
    func roundTrip<T: Codable>(_ value: T, binary: Bool) throws -> T {
        if binary {
            let e = PropertyListEncoder()
            e.outputFormat = .binary
            return try PropertyListDecoder().decode(T.self, from: e.encode(value))
        }
        return try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }

    @Test(arguments: [false, true]) func tensorsKeepEveryBit(binary: Bool) throws {
        var f = Tensor<Float>(randomNormal: [3, 4], seed: 1)
        f.scalars[0] = -0.0; f.scalars[1] = .infinity; f.scalars[2] = .leastNonzeroMagnitude; f.scalars[3] = .nan
        let g = try roundTrip(f, binary: binary)
        #expect(g.shape == [3, 4])
        #expect(g.scalars.map(\.bitPattern) == f.scalars.map(\.bitPattern))
        let d = Tensor<Double>(randomNormal: [5], seed: 2)
        #expect(try roundTrip(d, binary: binary).scalars.map(\.bitPattern) == d.scalars.map(\.bitPattern))
        #expect(try roundTrip(Tensor<Double>(2.5), binary: binary) == Tensor<Double>(2.5))
    }

    @Test func aTensorOfAnotherTypeOrWrongSizeIsRejected() throws {
        let data = try JSONEncoder().encode(Tensor<Float>([1, 2, 3]))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Tensor<Double>.self, from: data) }
        var object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["shape"] = [4]
        let wrong = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Tensor<Float>.self, from: wrong) }
    }

    @Test func restoredModelsComputeTheSameLogits() throws {
        let (w, x, _) = randomLMProblem(Float.self)
        let scratch = ScratchRNNLanguageModel(weights: w, encoding: .embedding)
        let scratchBack = try roundTrip(scratch, binary: true)
        #expect(scratchBack.encoding == .embedding)
        #expect(scratchBack.weights == w)
        #expect(scratchBack.logits(inputs: x, batchSize: 3, initialState: nil).logits.scalars.map(\.bitPattern)
                == scratch.logits(inputs: x, batchSize: 3, initialState: nil).logits.scalars.map(\.bitPattern))
        let fused = FusedRNNLanguageModel(weights: w)
        let fusedBack = try roundTrip(fused, binary: false)
        #expect(fusedBack.weights == w)
        #expect(fusedBack.logits(inputs: x, batchSize: 3).logits.scalars.map(\.bitPattern)
                == fused.logits(inputs: x, batchSize: 3).logits.scalars.map(\.bitPattern))
    }
}
