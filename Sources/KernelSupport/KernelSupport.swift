/// What the kernel modules share, written once over the vector type. Every function here is
/// `@inlinable`, so its body is compiled inside the module that calls it, for that module's
/// CPU (AVX2Kernels for haswell, AVX512Kernels for skylake-avx512): this module itself is never
/// called at run time.
public enum KernelSupport {
    /// A vector of `V` floats from unaligned memory.
    @inlinable @inline(__always)
    public static func load<V: SIMD>(_ p: UnsafePointer<Float>, as _: V.Type = V.self) -> V where V.Scalar == Float {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// Stores a vector of floats to unaligned memory.
    @inlinable @inline(__always)
    public static func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>) where V.Scalar == Float {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Independent accumulator chains of `fmaLoop`. A core keeps `pipes × latency` fused
    /// multiply-adds in flight; the worst CPU the kernel modules run on needs 2 × 5 = 10
    /// (Haswell, Broadwell, Zen 1 and 2: two FMA pipes, 5-cycle latency), and two more leave room
    /// for the loop's own counter and branch and for a CPU we have not measured. Twelve
    /// accumulators and the loop's two constants fit AVX2's 16 vector registers, so none spills.
    public static let fmaLoopChains = 12

    /// The chains `fmaLoop` must have to reach the FMA peak on every CPU the kernels run on:
    /// two FMA pipes × 5 cycles of latency, plus 2 for the loop's own overhead.
    public static let fmaLoopChainsNeeded = 2 * 5 + 2

    /// The single-precision FMA peak of one core for vectors `V`: `fmaLoopChains` independent
    /// chains of fused multiply-adds, a ← s + a·m, run `iterations` times. Returns a value that
    /// depends on every chain, so none is dropped.
    @inlinable @inline(__always)
    public static func fmaLoop<V: SIMD>(_: V.Type, iterations: Int, seed: Float) -> Float where V.Scalar == Float {
        let m = V(repeating: 0.999_999), s = V(repeating: seed)
        var a0 = s, a1 = s + 1, a2 = s + 2, a3 = s + 3, a4 = s + 4, a5 = s + 5
        var a6 = s + 6, a7 = s + 7, a8 = s + 8, a9 = s + 9, a10 = s + 10, a11 = s + 11
        for _ in 0 ..< iterations {
            a0 = s.addingProduct(a0, m); a1 = s.addingProduct(a1, m); a2 = s.addingProduct(a2, m)
            a3 = s.addingProduct(a3, m); a4 = s.addingProduct(a4, m); a5 = s.addingProduct(a5, m)
            a6 = s.addingProduct(a6, m); a7 = s.addingProduct(a7, m); a8 = s.addingProduct(a8, m)
            a9 = s.addingProduct(a9, m); a10 = s.addingProduct(a10, m); a11 = s.addingProduct(a11, m)
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).sum()
    }

    /// Floating-point operations of one `fmaLoop` iteration for vectors `V`: one FMA (2 FLOPs)
    /// per lane per chain.
    @inlinable
    public static func fmaLoopFlopsPerIteration<V: SIMD>(_: V.Type) -> Int where V.Scalar == Float { 2 * fmaLoopChains * V.scalarCount }

    /// What `fmaLoop` returns, computed one scalar at a time for `chains` chains of `lanes` lanes:
    /// the reference the tests hold the vector loop (and its FLOP count) to.
    public static func fmaLoopReference(chains: Int, lanes: Int, iterations: Int, seed: Float) -> Float {
        var total: Float = 0
        for c in 0 ..< chains {
            var a = seed + Float(c)
            for _ in 0 ..< iterations { a = seed.addingProduct(a, 0.999_999) }
            total += a * Float(lanes)
        }
        return total
    }

    /// A branch-free tanh for `Float` that the compiler vectorises: the [13/6] rational
    /// approximation Eigen uses for `float` (`generic_fast_tanh_float`), accurate to a few ulp on
    /// the clamped range and exactly ±1 beyond it. Plain multiplies, adds and one divide (Swift
    /// never fuses them), so every CPU and every vector width gives the same bits: the engine's
    /// generic loop and `AVX2Kernels.tanh` compile this same body.
    @inlinable @inline(__always)
    public static func fastTanh(_ input: Float) -> Float {
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
}
