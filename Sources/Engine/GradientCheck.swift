/// Finite-difference checks of the backward rules (in `Double`, where rounding is small enough
/// for central differences to agree with the analytic gradient to about 1e-8).

/// How far the analytic gradients are from central finite differences.
public struct GradientCheckResult: Sendable, CustomStringConvertible {
    /// Largest |a - n| / (|a| + |n|) per parameter (min-char-rnn's measure), in `wrt` order.
    public let relativeErrors: [Double]
    /// Largest |a - n| per parameter.
    public let absoluteErrors: [Double]
    /// The largest relative error over every element of every parameter; NaN when any is NaN.
    public var maxRelativeError: Double { relativeErrors.reduce(0, maxKeepingNaN) }
    /// The largest absolute error over every element of every parameter; NaN when any is NaN.
    public var maxAbsoluteError: Double { absoluteErrors.reduce(0, maxKeepingNaN) }

    public var description: String {
        "GradientCheckResult(maxRelativeError: \(maxRelativeError), maxAbsoluteError: \(maxAbsoluteError))"
    }
}

/// Compares the gradients that `backward()` gives for `loss` with central differences
/// (f(x+ε) - f(x-ε)) / 2ε for every element of every variable in `parameters`.
///
/// Elements where both gradients are below 1e-12 in size count as exact: there the relative
/// measure is all rounding noise. A NaN or infinite gradient, analytic or numeric, makes that
/// parameter's errors NaN, so no tolerance accepts it. `loss` must be deterministic and return a one-element value.
public func gradientCheck(of loss: () -> Variable<Double>, wrt parameters: [Variable<Double>],
                          epsilon: Double = 1e-5) -> GradientCheckResult {
    for p in parameters {
        checkPrecondition(p.requiresGrad, "gradientCheck: a parameter of shape \(p.shape) is not tracked (requiresGrad: false)")
        p.zeroGrad()
    }
    loss().backward()
    let analytic = parameters.map(\.gradient)
    for p in parameters { p.zeroGrad() }
    var relative: [Double] = [], absolute: [Double] = []
    for (p, a) in zip(parameters, analytic) {
        var worstRelative = 0.0, worstAbsolute = 0.0
        for i in 0..<p.value.count {
            let original = p.value.scalars[i]
            p.value.scalars[i] = original + epsilon
            let plus = withoutGradients { loss().scalar }
            p.value.scalars[i] = original - epsilon
            let minus = withoutGradients { loss().scalar }
            p.value.scalars[i] = original
            let numeric = (plus - minus) / (2 * epsilon)
            let difference = abs(a.scalars[i] - numeric)
            let size = abs(a.scalars[i]) + abs(numeric)
            // A NaN or infinity on either side is the worst error there is, never a skipped one.
            if !difference.isFinite || !size.isFinite {
                worstAbsolute = .nan; worstRelative = .nan
                continue
            }
            worstAbsolute = maxKeepingNaN(worstAbsolute, difference)
            if size > 1e-12 { worstRelative = maxKeepingNaN(worstRelative, difference / size) }
        }
        relative.append(worstRelative)
        absolute.append(worstAbsolute)
    }
    return GradientCheckResult(relativeErrors: relative, absoluteErrors: absolute)
}
