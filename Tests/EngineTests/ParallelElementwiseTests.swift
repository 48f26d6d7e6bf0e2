import Testing
@testable import Engine

/// Elementwise maps, softmax, concatenation and gradient blocks over 2¹⁴ elements or more run in chunks
/// on the product threads. Each element is computed on its own, so the results must equal a
/// plain loop bit for bit, on every thread count (these shapes are above the threshold; the
/// other tests mostly use small tensors, which stay on one thread).
@Suite("Elementwise work split over the product threads")
struct ParallelElementwiseTests {
    /// 40 × 700 = 28,000 elements: four chunks of 2¹³, the last one partial.
    static let shape = [40, 700]

    func results(threads: Int) -> [[Float]] {
        let before = blasThreadCount()
        defer { setBLASThreadCount(before) }
        setBLASThreadCount(threads)
        let a = Tensor<Float>(randomNormal: Self.shape, seed: 1), b = Tensor<Float>(randomNormal: Self.shape, seed: 2)
        let bias = Tensor<Float>(randomNormal: [700], seed: 3)
        let y = a.applying(.tanh)
        let joined = Tensor(concatenating: [a, b, y], alongAxis: 0)
        var block: Tensor<Float>? = nil
        Tensor.addBlock(of: joined, from: 5, count: 20_000, into: &block, shape: [30_000], at: 7)
        Tensor.addBlock(of: joined, from: 9, count: 20_000, into: &block, shape: [30_000], at: 3)
        let slices = Tensor(shape: Self.slicedShape, scalars: a.scalars)
        return [(a + b).scalars, (a * b).scalars, (a + bias).scalars, (a - 2).scalars, y.scalars,
                Tensor.unaryGradient(.tanh, input: a, output: y, upstream: b).scalars, joined.scalars, block!.scalars,
                logSoftmax(a).scalars, softmax(a).scalars, softmax(slices, alongAxis: 1).scalars]
    }

    /// The same elements as 4 slices of 10 × 700, for a softmax along the middle axis (4 chunks of
    /// one slice, each 700 softmaxes with a stride of 700).
    static let slicedShape = [4, 10, 700]

    /// Softmax (or log-softmax) of `x` as `outer` × `n` × `inner` along the middle axis, one
    /// slice after another in a plain loop, with the kernel's arithmetic.
    static func plainSoftmax(_ x: [Float], outer: Int, n: Int, inner: Int, logarithm: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for i in 0 ..< outer {
            for k in 0 ..< inner {
                let base = i * n * inner + k
                var m = -Float.infinity
                for j in 0 ..< n { m = max(m, x[base + j * inner]) }
                var total: Float = 0
                for j in 0 ..< n { let e = Float.exp(x[base + j * inner] - m); out[base + j * inner] = e; total += e }
                let logTotal = Float.log(total), r = 1 / total
                for j in 0 ..< n {
                    out[base + j * inner] = logarithm ? x[base + j * inner] - m - logTotal : out[base + j * inner] * r
                }
            }
        }
        return out
    }

    @Test func chunkedResultsEqualPlainLoops() {
        let a = Tensor<Float>(randomNormal: Self.shape, seed: 1), b = Tensor<Float>(randomNormal: Self.shape, seed: 2)
        let bias = Tensor<Float>(randomNormal: [700], seed: 3)
        let n = a.count
        let y = (0 ..< n).map { fastTanh(a.scalars[$0]) }
        let joined = a.scalars + b.scalars + y
        var block = [Float](repeating: 0, count: 30_000)
        for i in 0 ..< 20_000 { block[7 + i] = joined[5 + i] }
        for i in 0 ..< 20_000 { block[3 + i] += joined[9 + i] }
        let expected: [[Float]] = [
            (0 ..< n).map { a.scalars[$0] + b.scalars[$0] }, (0 ..< n).map { a.scalars[$0] * b.scalars[$0] },
            (0 ..< n).map { a.scalars[$0] + bias.scalars[$0 % 700] }, (0 ..< n).map { a.scalars[$0] - 2 }, y,
            (0 ..< n).map { b.scalars[$0] * (1 - y[$0] * y[$0]) }, joined, block,
            Self.plainSoftmax(a.scalars, outer: 40, n: 700, inner: 1, logarithm: true),
            Self.plainSoftmax(a.scalars, outer: 40, n: 700, inner: 1, logarithm: false),
            Self.plainSoftmax(a.scalars, outer: 4, n: 10, inner: 700, logarithm: false),
        ]
        let names = ["a + b", "a * b", "a + bias row", "a - 2", "tanh", "tanh gradient", "concatenation", "gradient blocks",
                     "log-softmax of rows", "softmax of rows", "softmax along the middle axis"]
        for threads in [1, 2, 3] {
            for (name, (got, want)) in zip(names, zip(results(threads: threads), expected)) {
                #expect(got.count == want.count && zip(got, want).allSatisfy { $0.bitPattern == $1.bitPattern },
                        "\(name), \(threads) threads")
            }
        }
    }
}
