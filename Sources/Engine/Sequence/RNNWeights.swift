/// The parameters of the character RNN language model of the reference chapters:
/// h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h), o_t = h_t W_hq + b_q, with one-hot x_t.
public struct RNNWeights<Scalar: TensorScalar>: Sendable, Equatable, Codable {
    /// W_xh, [vocabulary, hidden]; with one-hot inputs row v is the embedding of token v.
    public var wxh: Tensor<Scalar>
    /// W_hh, [hidden, hidden].
    public var whh: Tensor<Scalar>
    /// b_h, [hidden].
    public var bh: Tensor<Scalar>
    /// W_hq, [hidden, vocabulary].
    public var whq: Tensor<Scalar>
    /// b_q, [vocabulary].
    public var bq: Tensor<Scalar>

    public init(wxh: Tensor<Scalar>, whh: Tensor<Scalar>, bh: Tensor<Scalar>, whq: Tensor<Scalar>, bq: Tensor<Scalar>) {
        let v = wxh.shape[0], h = wxh.shape[1]
        checkPrecondition(wxh.rank == 2 && whh.shape == [h, h] && bh.shape == [h] && whq.shape == [h, whq.shape[1]]
                     && bq.shape == [whq.shape[1]],
                     "RNNWeights: inconsistent shapes wxh \(wxh.shape) whh \(whh.shape) bh \(bh.shape) whq \(whq.shape) bq \(bq.shape)")
        _ = v
        self.wxh = wxh; self.whh = whh; self.bh = bh; self.whq = whq; self.bq = bq
    }

    /// d2l's initialisation: weights N(0, σ²) drawn in the order W_xh, W_hh, W_hq; biases zero.
    public init(vocabularySize: Int, hiddenSize: Int, outputSize: Int? = nil,
                standardDeviation: Scalar = 0.01, generator: inout PCG64) {
        let q = outputSize ?? vocabularySize
        let wxh = Tensor<Scalar>(randomNormal: [vocabularySize, hiddenSize], standardDeviation: standardDeviation, generator: &generator)
        let whh = Tensor<Scalar>(randomNormal: [hiddenSize, hiddenSize], standardDeviation: standardDeviation, generator: &generator)
        let whq = Tensor<Scalar>(randomNormal: [hiddenSize, q], standardDeviation: standardDeviation, generator: &generator)
        self.init(wxh: wxh, whh: whh, bh: Tensor(zeros: [hiddenSize]), whq: whq, bq: Tensor(zeros: [q]))
    }

    /// All zeros, shaped like `other` (a gradient accumulator).
    public init(zerosLike other: RNNWeights) {
        self.init(wxh: Tensor(zeros: other.wxh.shape), whh: Tensor(zeros: other.whh.shape),
                  bh: Tensor(zeros: other.bh.shape), whq: Tensor(zeros: other.whq.shape), bq: Tensor(zeros: other.bq.shape))
    }

    /// The same values in another scalar type.
    public init<Other: TensorScalar>(_ other: RNNWeights<Other>) {
        self.init(wxh: Tensor(other.wxh), whh: Tensor(other.whh), bh: Tensor(other.bh),
                  whq: Tensor(other.whq), bq: Tensor(other.bq))
    }

    public var vocabularySize: Int { wxh.shape[0] }
    public var hiddenSize: Int { wxh.shape[1] }
    public var outputSize: Int { whq.shape[1] }

    /// The five tensors in d2l's order (W_xh, W_hh, b_h, W_hq, b_q).
    public var all: [Tensor<Scalar>] {
        get { [wxh, whh, bh, whq, bq] }
        set {
            checkPrecondition(newValue.count == 5, "RNNWeights.all: expected 5 tensors, got \(newValue.count)")
            self = RNNWeights(wxh: newValue[0], whh: newValue[1], bh: newValue[2], whq: newValue[3], bq: newValue[4])
        }
    }
    public static var names: [String] { ["W_xh", "W_hh", "b_h", "W_hq", "b_q"] }

    /// √(Σ over all tensors of Σ x²), the norm that global clipping uses (`globalNorm(of:)`).
    public var globalNorm: Scalar { Engine.globalNorm(of: all) }

    /// `self += alpha * other`, tensor by tensor (BLAS axpy).
    public mutating func add(_ other: RNNWeights, scaledBy alpha: Scalar = 1) {
        wxh.add(other.wxh, scaledBy: alpha); whh.add(other.whh, scaledBy: alpha); bh.add(other.bh, scaledBy: alpha)
        whq.add(other.whq, scaledBy: alpha); bq.add(other.bq, scaledBy: alpha)
    }

    /// Rescales so the global norm is at most `maxNorm` (`clipByGlobalNorm`, d2l `grad_clipping`);
    /// returns the norm before.
    @discardableResult
    public mutating func clip(maxNorm: Scalar) -> Scalar {
        // Moved out and back, so each buffer is uniquely held and scaled in place.
        var tensors = [wxh, whh, bh, whq, bq]
        let empty = Tensor<Scalar>(zeros: [0])
        wxh = empty; whh = empty; bh = empty; whq = empty; bq = empty
        let norm = clipByGlobalNorm(&tensors, maxNorm: maxNorm)
        wxh = tensors[0]; whh = tensors[1]; bh = tensors[2]; whq = tensors[3]; bq = tensors[4]
        return norm
    }
}
