import Foundation

/// Printing that reads like NumPy and PyTorch: the shape, then nested brackets with aligned,
/// rounded values; tensors over 1000 elements show the first and last three entries of each
/// axis with `...` between (NumPy's `threshold` and `edgeitems`).
extension Tensor: CustomStringConvertible, CustomDebugStringConvertible {
    /// How many elements a tensor may have before it is printed with elisions.
    public static var printThreshold: Int { 1000 }
    /// Entries shown at each end of an elided axis.
    public static var printEdgeItems: Int { 3 }

    public var description: String {
        "Tensor<\(Scalar.self)> shape \(shape)\n" + formattedValues()
    }

    public var debugDescription: String { description }

    /// Just the bracketed values, as `numpy.array2string` prints them.
    public func formattedValues(decimals: Int = 4) -> String {
        if rank == 0 { return format(scalars.first ?? 0, style: numberStyle(for: scalars), decimals: decimals) }
        let elide = count > Self.printThreshold
        let edge = Self.printEdgeItems
        func shown(_ n: Int) -> [Int?] {  // nil marks the "..." position
            elide && n > 2 * edge ? Array(0..<edge).map { Optional($0) } + [nil] + Array((n - edge)..<n).map { Optional($0) }
                                  : Array(0..<n).map { Optional($0) }
        }
        // Gather the visible values first so that the column width fits them all.
        let strides = Tensor.strides(of: shape)
        var visible: [Scalar] = []
        func collect(_ axis: Int, _ offset: Int) {
            for i in shown(shape[axis]) {
                guard let i else { continue }
                if axis == rank - 1 { visible.append(scalars[offset + i]) } else { collect(axis + 1, offset + i * strides[axis]) }
            }
        }
        collect(0, 0)
        let style = numberStyle(for: visible)
        let width = visible.map { format($0, style: style, decimals: decimals).count }.max() ?? 1
        func cell(_ x: Scalar) -> String {
            let s = format(x, style: style, decimals: decimals)
            return String(repeating: " ", count: width - s.count) + s
        }
        func render(_ axis: Int, _ offset: Int) -> String {
            let indices = shown(shape[axis])
            if axis == rank - 1 {
                return "[" + indices.map { $0.map { cell(scalars[offset + $0]) } ?? "..." }.joined(separator: ", ") + "]"
            }
            let separator = "," + String(repeating: "\n", count: rank - 1 - axis) + String(repeating: " ", count: axis + 1)
            return "[" + indices.map { $0.map { render(axis + 1, offset + $0 * strides[axis]) } ?? "..." }
                .joined(separator: separator) + "]"
        }
        if shape.contains(0) { return "[]" }
        return render(0, 0)
    }

    private enum NumberStyle { case integer, fixed, scientific }

    private func numberStyle(for values: [Scalar]) -> NumberStyle {
        let finite = values.filter { $0.isFinite }
        if finite.allSatisfy({ $0 == $0.rounded() && Swift.abs($0) < 1e6 }) { return .integer }
        let magnitudes = finite.map { Swift.abs($0) }.filter { $0 != 0 }
        guard let largest = magnitudes.max(), let smallest = magnitudes.min() else { return .fixed }
        return largest >= 1e6 || smallest < 1e-4 || largest / smallest > 1e6 ? .scientific : .fixed
    }

    private func format(_ x: Scalar, style: NumberStyle, decimals: Int) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        switch style {
        case .integer: return String(format: "%.0f.", Double(x))
        case .fixed: return String(format: "%.\(decimals)f", Double(x))
        case .scientific: return String(format: "%.\(decimals)e", Double(x))
        }
    }
}
