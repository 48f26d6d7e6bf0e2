/// A branch-free tanh for `Float` arrays that the compiler vectorises (AVX2): the [13/6]
/// rational approximation Eigen uses for `float` (`generic_fast_tanh_float`), accurate to a
/// few ulp on the clamped range and exactly ±1 beyond it. glibc's `tanhf` is a scalar call per
/// element, which costs about as much as a fifth of the recurrent matrix products here.
@inline(__always)
func fastTanh(_ input: Float) -> Float {
    let x = min(max(input, -7.90531110763549805), 7.90531110763549805)
    let x2 = x * x
    var p: Float = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 + -8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    p = p * x
    var q: Float = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    // Tiny inputs: tanh x = x to float precision (and keeps −0 and denormals exact).
    return abs(input) < 0.0004 ? input : p / q
}

/// tanh of `count` elements in place: the vectorised approximation for `Float`, the exact
/// library function otherwise (gradient checks run in `Double`).
@inline(__always)
func tanhInPlace<Scalar: TensorScalar>(_ p: UnsafeMutablePointer<Scalar>, count: Int) {
    if Scalar.self == Float.self {
        let f = UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
        for i in 0 ..< count { f[i] = fastTanh(f[i]) }
    } else {
        for i in 0 ..< count { p[i] = Scalar.tanh(p[i]) }
    }
}
