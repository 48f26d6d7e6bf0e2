import Foundation

#if !_endian(little)
#error("Tensor's Codable form assumes a little-endian machine")
#endif

// Codable forms of the engine's values, so that chapter code can keep trained models and
// tensors across builds (`checkpoint` in BookRuntime). Tensors store their scalars as raw
// little-endian bytes: bit-exact (a restored model computes exactly what the trained one did)
// and compact in any encoder (base64 in JSON, raw data in a property list).

extension Tensor: Codable {
    private enum CodingKeys: String, CodingKey { case scalarType, shape, bytes }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(String(describing: Scalar.self), forKey: .scalarType)
        try c.encode(shape, forKey: .shape)
        // The engine's scalars are IEEE 754 Float and Double; this machine stores them
        // little-endian (checked at compile time above), so the bytes are the bit patterns.
        let bytes = scalars.withUnsafeBufferPointer { Data(buffer: $0) }
        try c.encode(bytes, forKey: .bytes)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .scalarType)
        guard type == String(describing: Scalar.self) else {
            throw DecodingError.dataCorruptedError(forKey: .scalarType, in: c,
                debugDescription: "stored Tensor<\(type)> cannot be read as Tensor<\(Scalar.self)>")
        }
        let shape = try c.decode([Int].self, forKey: .shape)
        let bytes = try c.decode(Data.self, forKey: .bytes)
        let count = shape.reduce(1, *)
        let width = MemoryLayout<Scalar>.size
        guard shape.allSatisfy({ $0 >= 0 }), bytes.count == count * width else {
            throw DecodingError.dataCorruptedError(forKey: .bytes, in: c,
                debugDescription: "Tensor of shape \(shape) needs \(count * width) bytes, found \(bytes.count)")
        }
        var values = [Scalar](repeating: 0, count: count)
        values.withUnsafeMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
        self.init(shape: shape, scalars: values)
    }
}

extension TokenEncoding: Codable {}

/// A trained from-scratch model: its weights and token encoding (gradients are not kept).
extension ScratchRNNLanguageModel: Codable {
    private enum CodingKeys: String, CodingKey { case weights, encoding }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weights, forKey: .weights)
        try c.encode(encoding, forKey: .encoding)
    }
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(weights: try c.decode(RNNWeights<Scalar>.self, forKey: .weights),
                  encoding: try c.decode(TokenEncoding.self, forKey: .encoding))
    }
}

/// A trained fused model: its weights (buffers and gradients are rebuilt on use).
extension FusedRNNLanguageModel: Codable {
    private enum CodingKeys: String, CodingKey { case weights }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weights, forKey: .weights)
    }
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(weights: try c.decode(RNNWeights<Scalar>.self, forKey: .weights))
    }
}
