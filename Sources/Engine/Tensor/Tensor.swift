/// An n-dimensional array of `Float` or `Double`, row-major and contiguous.
///
/// A value type: `scalars` is a Swift array, so copies share storage until one of them is
/// written (copy-on-write). Shapes are `[Int]`; `[]` is a scalar, `[n]` a vector, `[r, c]` a
/// matrix, `[time, batch, feature]` a sequence.
public struct Tensor<Scalar: TensorScalar>: Sendable, Equatable {
    /// The extent of each axis.
    public internal(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.product`.
    public internal(set) var scalars: [Scalar]

    /// A tensor of the given shape holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Scalar]) {
        checkPrecondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative extent")
        checkPrecondition(shape.reduce(1, *) == scalars.count,
                     "Tensor shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A rank-0 tensor.
    public init(_ scalar: Scalar) { self.init(shape: [], scalars: [scalar]) }

    /// A vector.
    public init(_ vector: [Scalar]) { self.init(shape: [vector.count], scalars: vector) }

    /// A matrix from its rows; every row must have the same length.
    public init(_ rows: [[Scalar]]) {
        let columns = rows.first?.count ?? 0
        checkPrecondition(rows.allSatisfy { $0.count == columns },
                     "Tensor(rows): rows have different lengths \(rows.map(\.count))")
        self.init(shape: [rows.count, columns], scalars: rows.flatMap { $0 })
    }

    /// Every element equal to `value`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(repeating value: Scalar, shape: [Int]) {
        self.init(shape: shape, scalars: Array(repeating: value, count: shape.reduce(1, *)))
    }

    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }
    public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

    /// The n×n identity matrix.
    public init(identity n: Int) {
        var t = Tensor(zeros: [n, n])
        for i in 0..<n { t.scalars[i * n + i] = 1 }
        self = t
    }

    /// 0, step, 2·step, … below `end` (like `numpy.arange`).
    public init(arange start: Scalar = 0, to end: Scalar, step: Scalar = 1) {
        checkPrecondition(step != 0, "arange: step must not be zero")
        var values: [Scalar] = []
        var x = start
        while step > 0 ? x < end : x > end { values.append(x); x += step }
        self.init(values)
    }

    /// Normally distributed values from a seeded generator.
    public init(randomNormal shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1,
                generator: inout PCG64) {
        let n = shape.reduce(1, *)
        var values = [Scalar](); values.reserveCapacity(n)
        for _ in 0..<n { values.append(mean + standardDeviation * Scalar(generator.nextNormal())) }
        self.init(shape: shape, scalars: values)
    }

    /// Normally distributed values from a fresh generator seeded with `seed`.
    public init(randomNormal shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1, seed: UInt64) {
        var g = PCG64(seed: seed)
        self.init(randomNormal: shape, mean: mean, standardDeviation: standardDeviation, generator: &g)
    }

    /// Uniform values in [lower, upper) from a seeded generator.
    public init(randomUniform shape: [Int], lower: Scalar = 0, upper: Scalar = 1, generator: inout PCG64) {
        let n = shape.reduce(1, *)
        var values = [Scalar](); values.reserveCapacity(n)
        for _ in 0..<n { values.append(lower + (upper - lower) * Scalar(generator.nextUniform())) }
        self.init(shape: shape, scalars: values)
    }

    public init(randomUniform shape: [Int], lower: Scalar = 0, upper: Scalar = 1, seed: UInt64) {
        var g = PCG64(seed: seed)
        self.init(randomUniform: shape, lower: lower, upper: upper, generator: &g)
    }

    /// The same values converted to another scalar type.
    public init<Other: TensorScalar>(_ other: Tensor<Other>) {
        self.init(shape: other.shape, scalars: other.scalars.map { Scalar(Double($0)) })
    }

    // MARK: Shape

    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { scalars.count }
    /// The value of a rank-0 or one-element tensor.
    public var scalar: Scalar {
        checkPrecondition(scalars.count == 1, "scalar: tensor of shape \(shape) has \(scalars.count) elements, not 1")
        return scalars[0]
    }

    /// Row-major strides of `shape`.
    public static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = s
            s *= shape[axis]
        }
        return strides
    }

    /// The same elements with another shape; one extent may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            checkPrecondition(known > 0 && count % known == 0,
                         "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
            resolved[hole] = count / known
        }
        checkPrecondition(resolved.reduce(1, *) == count,
                     "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return Tensor(shape: resolved, scalars: scalars)
    }

    /// Mutable access to the elements for kernels that write in place.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    // MARK: Element access

    private func flatIndex(_ indices: [Int]) -> Int {
        checkPrecondition(indices.count == shape.count,
                     "index \(indices) has \(indices.count) components for a tensor of shape \(shape)")
        var flat = 0
        for (axis, i) in indices.enumerated() {
            checkPrecondition(i >= 0 && i < shape[axis], "index \(indices) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// One element by its full index.
    public subscript(_ indices: Int...) -> Scalar {
        get { scalars[flatIndex(indices)] }
        set { scalars[flatIndex(indices)] = newValue }
    }

    /// One element by its row-major position.
    public subscript(flat index: Int) -> Scalar {
        get { scalars[index] }
        set { scalars[index] = newValue }
    }

    /// The sub-tensor at `index` along the first axis (row of a matrix, step of a sequence).
    public subscript(row index: Int) -> Tensor {
        get {
            checkPrecondition(rank >= 1, "row subscript on a scalar")
            checkPrecondition(index >= 0 && index < shape[0], "row \(index) out of range for shape \(shape)")
            let size = count / Swift.max(shape[0], 1)
            return Tensor(shape: Array(shape.dropFirst()),
                          scalars: Array(scalars[index * size ..< (index + 1) * size]))
        }
        set {
            checkPrecondition(Array(shape.dropFirst()) == newValue.shape,
                         "row assignment: expected shape \(Array(shape.dropFirst())), got \(newValue.shape)")
            let size = newValue.count
            scalars.replaceSubrange(index * size ..< (index + 1) * size, with: newValue.scalars)
        }
    }

    /// Rows `range` along the first axis.
    public subscript(rows range: Range<Int>) -> Tensor {
        checkPrecondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows \(range) out of range for shape \(shape)")
        let size = count / Swift.max(shape[0], 1)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape, scalars: Array(scalars[range.lowerBound * size ..< range.upperBound * size]))
    }

    // MARK: Elementwise maps

    /// Applies `f` to every element.
    public func map(_ f: (Scalar) -> Scalar) -> Tensor {
        Tensor(shape: shape, scalars: scalars.map(f))
    }

    /// Combines two tensors of the same shape element by element.
    public func zip(_ other: Tensor, _ f: (Scalar, Scalar) -> Scalar) -> Tensor {
        checkPrecondition(shape == other.shape, "zip: shapes \(shape) and \(other.shape) differ")
        var out = [Scalar](repeating: 0, count: count)
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                for i in 0..<a.count { out[i] = f(a[i], b[i]) }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}

extension Array where Element == Int {
    /// Product of the extents (number of elements of a shape).
    public var shapeProduct: Int { reduce(1, *) }
}
