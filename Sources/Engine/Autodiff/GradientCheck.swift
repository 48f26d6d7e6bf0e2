/// Finite-difference checks of the backward rules (in `Double`, where rounding is small enough
/// for central differences to agree with the analytic gradient to about 1e-8).

/// How far the analytic gradients are from central finite differences.
public struct GradientCheckResult: Sendable, CustomStringConvertible {
    /// Largest |a − n| / max(|n|, 1e-6 · max|n|) per parameter, in `wrt` order: the error relative
    /// to the finite difference, floored at a millionth of the parameter's largest one (where the
    /// differences are all rounding). Unbounded: a gradient 10× too large scores 9, a sign flip 2,
    /// a missing term where it matters 1 or more; `+∞` where autodiff gives a gradient the loss
    /// does not have (every finite difference 0).
    public let relativeErrors: [Double]
    /// Largest |a - n| per parameter.
    public let absoluteErrors: [Double]
    /// Parameters (indices into `wrt`) whose analytic and numeric gradients are both exactly zero
    /// everywhere: the loss does not depend on them here, so the check shows nothing about them.
    public let independentParameters: [Int]
    /// The largest relative error over every element of every parameter; NaN when any is NaN.
    public var maxRelativeError: Double { relativeErrors.reduce(0, maxKeepingNaN) }
    /// The largest absolute error over every element of every parameter; NaN when any is NaN.
    public var maxAbsoluteError: Double { absoluteErrors.reduce(0, maxKeepingNaN) }

    public init(relativeErrors: [Double], absoluteErrors: [Double], independentParameters: [Int] = []) {
        self.relativeErrors = relativeErrors; self.absoluteErrors = absoluteErrors
        self.independentParameters = independentParameters
    }

    public var description: String {
        "GradientCheckResult(maxRelativeError: \(maxRelativeError), maxAbsoluteError: \(maxAbsoluteError), independentParameters: \(independentParameters))"
    }
}

/// Compares the gradients that `backward()` gives for `loss` with central differences
/// (f(x+ε) - f(x-ε)) / 2ε for every element of every variable in `parameters`.
///
/// The error of an element is |a − n| / max(|n|, floor) with floor = 1e-6 · the parameter's
/// largest |n|: relative to the reference (the finite difference), so it has no ceiling, and a
/// tolerance of 1 no longer accepts any gradient. A NaN or infinite gradient, analytic or numeric,
/// makes that parameter's errors NaN, so no tolerance accepts it. A parameter whose gradients are
/// both zero everywhere is listed in `independentParameters`. `loss` must be deterministic and
/// return a one-element value.
public func gradientCheck(of loss: () -> Variable<Double>, wrt parameters: [Variable<Double>],
                          epsilon: Double = 1e-5) -> GradientCheckResult {
    for p in parameters {
        checkPrecondition(p.requiresGrad, "gradientCheck: a parameter of shape \(p.shape) is not tracked (requiresGrad: false)")
        p.zeroGrad()
    }
    loss().backward()
    let analytic = parameters.map(\.gradient)
    for p in parameters { p.zeroGrad() }
    var relative: [Double] = [], absolute: [Double] = [], independent: [Int] = []
    for (k, (p, a)) in zip(parameters, analytic).enumerated() {
        var numeric = [Double](repeating: 0, count: p.value.count)
        for i in 0..<p.value.count {
            let original = p.value.scalars[i]
            p.value.scalars[i] = original + epsilon
            let plus = withoutGradients { loss().scalar }
            p.value.scalars[i] = original - epsilon
            let minus = withoutGradients { loss().scalar }
            p.value.scalars[i] = original
            numeric[i] = (plus - minus) / (2 * epsilon)
        }
        var largest = 0.0
        for n in numeric where n.isFinite { largest = max(largest, abs(n)) }
        let floor = 1e-6 * largest
        var worstRelative = 0.0, worstAbsolute = 0.0, allZero = true
        for i in 0..<numeric.count {
            let ai = a.scalars[i], ni = numeric[i]
            if ai != 0 || ni != 0 { allZero = false }
            let difference = abs(ai - ni)
            // A NaN or infinity on either side is the worst error there is, never a skipped one.
            if !difference.isFinite || !ai.isFinite || !ni.isFinite {
                worstAbsolute = .nan; worstRelative = .nan
                continue
            }
            worstAbsolute = maxKeepingNaN(worstAbsolute, difference)
            if difference == 0 { continue }
            // Every finite difference 0 but autodiff says otherwise: infinitely wrong.
            let reference = max(abs(ni), floor)
            worstRelative = maxKeepingNaN(worstRelative, reference > 0 ? difference / reference : .infinity)
        }
        if allZero && p.value.count > 0 { independent.append(k) }
        relative.append(worstRelative)
        absolute.append(worstAbsolute)
    }
    return GradientCheckResult(relativeErrors: relative, absoluteErrors: absolute, independentParameters: independent)
}
