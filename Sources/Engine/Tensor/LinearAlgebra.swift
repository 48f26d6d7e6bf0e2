internal import CBLAS

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

    /// The spectral radius ρ(A) = max |λᵢ| of a square matrix: every eigenvalue from LAPACK's
    /// `dgeev` (Hessenberg reduction, then the shifted QR algorithm, in `Double`), the largest
    /// modulus taken. NaN when an entry is NaN or infinite, or when the QR iteration does not
    /// converge.
    ///
    /// Not Gelfand's formula ρ = lim ‖Aᵏ‖^(1/k), which the first version used: for a
    /// non-normal matrix such as 0.5·I plus ones above the diagonal (16×16) the normalised
    /// powers underflowed entry by entry until what was left was nilpotent, and it returned 0.
    public func spectralRadius() -> Scalar {
        checkPrecondition(rank == 2 && shape[0] == shape[1], "spectralRadius: expected a square matrix, got shape \(shape)")
        let n = shape[0]
        if n == 0 { return 0 }
        // Row-major A read as column-major is Aᵀ, which has the same eigenvalues.
        var a = scalars.map { Double($0) }
        guard a.allSatisfy(\.isFinite) else { return Scalar(Double.nan) }
        var real = [Double](repeating: 0, count: n), imaginary = [Double](repeating: 0, count: n)
        var size = Int32(n), leading = Int32(n), one: Int32 = 1, info: Int32 = 0
        var noLeft = 0.0, noRight = 0.0, optimal = 0.0, query: Int32 = -1
        dgeev_("N", "N", &size, &a, &leading, &real, &imaginary, &noLeft, &one, &noRight, &one, &optimal, &query, &info, 1, 1)
        guard info == 0 else { return Scalar(Double.nan) }
        var workCount = Int32(Swift.max(optimal, Double(4 * n)))
        var work = [Double](repeating: 0, count: Int(workCount))
        dgeev_("N", "N", &size, &a, &leading, &real, &imaginary, &noLeft, &one, &noRight, &one, &work, &workCount, &info, 1, 1)
        guard info == 0 else { return Scalar(Double.nan) }
        var radius = 0.0
        for i in 0 ..< n { radius = Swift.max(radius, (real[i] * real[i] + imaginary[i] * imaginary[i]).squareRoot()) }
        return Scalar(radius)
    }
}
