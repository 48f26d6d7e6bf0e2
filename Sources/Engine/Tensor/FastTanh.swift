import AVX2Kernels
import KernelSupport

/// The engine's tanh for `Float`: `KernelSupport.fastTanh`, the [13/6] rational approximation
/// Eigen uses for `float` (a few ulp; glibc's `tanhf` is a scalar call per element, which cost
/// about a fifth of the recurrent products here). On CPUs with AVX2 (unless the process computes
/// on the `blas` path, which keeps the baseline code exercised) the loop runs in `AVX2Kernels`,
/// 8 lanes wide; both compile the same body, and give the same bits (tested).
@inline(__always)
func fastTanh(_ input: Float) -> Float { KernelSupport.fastTanh(input) }

/// Whether elementwise loops run in `AVX2Kernels` (see `fastTanh`).
var elementwiseOnAVX2: Bool { ProductKernelPath.current != .blas && avx2Elementwise }
private let avx2Elementwise = AVX2Kernels.isSupported(cpuFlags: MatrixKernels.cpuFlags)

/// y = tanh(x) for `count` elements (x may equal y): the approximation for `Float`, the exact
/// library function otherwise (gradient checks run in `Double`).
@inline(__always)
func tanh<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count: Int) {
    if Scalar.self == Float.self {
        let xf = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
        let yf = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
        if elementwiseOnAVX2 { AVX2Kernels.tanh(xf, into: yf, count: count); return }
        // In place through one pointer, so that the loop vectorises (see `AVX2Kernels.tanh`).
        if xf == UnsafePointer(yf) { for i in 0 ..< count { yf[i] = fastTanh(yf[i]) }; return }
        for i in 0 ..< count { yf[i] = fastTanh(xf[i]) }
    } else {
        for i in 0 ..< count { y[i] = Scalar.tanh(x[i]) }
    }
}

/// tanh of `count` elements in place.
@inline(__always)
func tanhInPlace<Scalar: TensorScalar>(_ p: UnsafeMutablePointer<Scalar>, count: Int) {
    tanh(UnsafePointer(p), into: p, count: count)
}
