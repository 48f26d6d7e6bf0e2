/// Matrix powers and the spectral radius, for the chapter on exploding and vanishing gradients.

extension Tensor {
    /// This square matrix raised to the `k`-th power (k ≥ 0) by repeated squaring.
    public func power(_ k: Int) -> Tensor {
        checkPrecondition(rank == 2 && shape[0] == shape[1], "power: expected a square matrix, got shape \(shape)")
        checkPrecondition(k >= 0, "power: exponent must be non-negative, got \(k)")
        var result = Tensor(identity: shape[0])
        var base = self
        var e = k
        var first = true
        while e > 0 {
            if e & 1 == 1 { result = first ? base : result.matmul(base); first = false }
            e >>= 1
            if e > 0 { base = base.matmul(base) }
        }
        return result
    }

    /// The spectral radius ρ(A) = max |λᵢ| of a square matrix.
    ///
    /// Computed by Gelfand's formula ρ(A) = lim ‖Aᵏ‖^(1/k) with k = 2, 4, 8, … by repeated
    /// squaring in `Double`, renormalising each square and summing the logarithms of the norms,
    /// so nothing overflows. Unlike power iteration on a vector, this converges when the dominant
    /// eigenvalues are a complex pair or of equal modulus and opposite sign; the error after j
    /// squarings is about log(c)/2ʲ relative (c the constant in ‖Aᵏ‖ ≈ c ρᵏ), and a non-trivial
    /// Jordan block adds log(k)/k. Iterates until the estimate moves less than `tolerance`
    /// (relative), at most 64 squarings. Cost: one n×n product per squaring.
    public func spectralRadius(tolerance: Double = 1e-12) -> Scalar {
        checkPrecondition(rank == 2 && shape[0] == shape[1], "spectralRadius: expected a square matrix, got shape \(shape)")
        if count == 0 { return 0 }
        var b = Tensor<Double>(self)
        let norm = b.norm()
        if norm == 0 { return 0 }
        b *= 1 / norm
        var logNorm = Double.log(norm)      // log ‖A^(2^j)‖
        var scale = 1.0                     // 2^j
        var estimate = norm
        for _ in 0..<64 {
            b = b.matmul(b)
            let n = b.norm()
            if n == 0 || !n.isFinite { return n == 0 ? 0 : Scalar(estimate) }  // nilpotent: ρ = 0
            b *= 1 / n
            logNorm = 2 * logNorm + Double.log(n)
            scale *= 2
            let next = Double.exp(logNorm / scale)
            if Swift.abs(next - estimate) <= tolerance * Swift.max(next, Double.leastNormalMagnitude) {
                return Scalar(next)
            }
            estimate = next
        }
        return Scalar(estimate)
    }
}
