import Engine
import Foundation

/// Values the code binds to the symbols of an equation, keyed by canonical name
/// (`canonicalSymbolName`): `"H_{t-1}"`, `"\\mathbf{H}_{t-1}"` and `"H_t-1"` are one key.
///
/// Not `Sendable`: it holds closures from chapter code and lives for one check.
public struct Bindings {
    /// Tensors (scalars are rank-0 tensors).
    public private(set) var values: [String: Tensor<Double>] = [:]
    /// Families indexed by an integer subscript: `o` answers `\mathbf{o}_{T+t-i}` with `o(T+t-i)`.
    public private(set) var indexed: [String: (Int) -> Tensor<Double>] = [:]
    /// Functions applied in the equation (`phi`, `f`, `l`), by canonical name; each takes its arguments.
    public private(set) var functions: [String: ([Tensor<Double>]) -> Tensor<Double>] = [:]
    /// Integers for indices and dimensions (`t`, `T`, `tau`, `n`, `d`).
    public private(set) var integers: [String: Int] = [:]

    /// Bindings from dictionaries whose keys are normalised with `canonicalSymbolName`.
    public init(values: [String: Tensor<Double>] = [:], indexed: [String: (Int) -> Tensor<Double>] = [:],
                functions: [String: (Tensor<Double>) -> Tensor<Double>] = [:], integers: [String: Int] = [:]) {
        for (k, v) in values { bind(k, v) }
        for (k, f) in indexed { bind(k, indexed: f) }
        for (k, f) in functions { bind(k, function: f) }
        for (k, v) in integers { bind(k, integer: v) }
    }

    private static func key(_ name: String, _ existing: [String], _ what: String) -> String {
        let key = canonicalSymbolName(name)
        checkPrecondition(!existing.contains(key),
                     "MathCheck: `\(name)` is bound twice as \(what) (its canonical name `\(key)` is already taken)")
        return key
    }

    public mutating func bind(_ name: String, _ value: Tensor<Double>) {
        values[Self.key(name, Array(values.keys), "a value")] = value
    }
    public mutating func bind(_ name: String, _ value: Double) { bind(name, Tensor(value)) }
    public mutating func bind(_ name: String, integer: Int) {
        integers[Self.key(name, Array(integers.keys), "an integer")] = integer
    }
    public mutating func bind(_ name: String, indexed family: @escaping (Int) -> Tensor<Double>) {
        indexed[Self.key(name, Array(indexed.keys), "an indexed family")] = family
    }
    public mutating func bind(_ name: String, function: @escaping (Tensor<Double>) -> Tensor<Double>) {
        functions[Self.key(name, Array(functions.keys), "a function")] = { args in function(args[0]) }
        arities[canonicalSymbolName(name)] = 1
    }
    /// A function of several arguments, such as `l(y_t, o_t)` or `f(x_t, h_{t-1}, w_h)`.
    public mutating func bind(_ name: String, arguments: Int, function: @escaping ([Tensor<Double>]) -> Tensor<Double>) {
        functions[Self.key(name, Array(functions.keys), "a function")] = function
        arities[canonicalSymbolName(name)] = arguments
    }
    var arities: [String: Int] = [:]

    /// Every bound name, for error messages: values, `family(·)`, `function()`, integers.
    public var boundNames: [String] {
        (Array(values.keys) + indexed.keys.map { "\($0)(·)" } + functions.keys.map { "\($0)()" }
         + integers.keys.map { "\($0) (integer)" }).sorted()
    }
}

/// Names of the functions MathCheck knows without a binding.
let builtinFunctions: Set<String> = [
    "tanh", "exp", "log", "ln", "sin", "cos", "sqrt", "sigma", "sigmoid", "softmax", "relu", "ReLU",
    "min", "max", "prod", "abs",
]

/// An evaluated sub-expression. Rank-1 tensors are NumPy-style vectors; a transposed one is a
/// row vector, so that `g h^\top` is an outer product and `u^\top v` a dot product.
struct Value {
    var tensor: Tensor<Double>
    var isRow = false
    var shape: [Int] { tensor.shape }
    var rank: Int { tensor.rank }
}

func format(_ x: Double) -> String { String(format: "%.6g", x) }
func format(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

struct Evaluator {
    let bindings: Bindings
    var loop: [String: Int] = [:]
    var shapes: [String: [Int]] = [:]

    init(bindings: Bindings) { self.bindings = bindings }

    func mismatch(_ node: Node, _ message: String) -> MathError {
        MathError(.shapeMismatch, column: node.column, "in `\(node.text)`: \(message)")
    }

    // MARK: Integers (indices, limits, dimensions, matrix powers)

    func integer(_ node: Node) throws(MathError) -> Int {
        func fail(_ why: String) -> MathError {
            MathError(.invalidValue, column: node.column, "`\(node.text)` must be an integer: \(why)")
        }
        switch node.kind {
        case .number(let x):
            guard x == x.rounded() else { throw fail("\(format(x)) is not whole") }
            return Int(x)
        case .symbol(let ref) where !ref.isDerivative && ref.parts[0].lowerIndex == nil:
            let name = ref.parts[0].base
            if let v = loop[name] { return v }
            if let v = bindings.integers[name] { return v }
            if let t = bindings.values[name], t.count == 1, t.scalars[0] == t.scalars[0].rounded() { return Int(t.scalars[0]) }
            throw MathError(.unboundSymbol, column: node.column,
                            "`\(name)` is not bound as an integer (bound integers: \(bindings.integers.keys.sorted().joined(separator: ", ")))")
        case .negate(let a): return -(try integer(a))
        case .add(let a, let b): return try integer(a) + integer(b)
        case .subtract(let a, let b): return try integer(a) - integer(b)
        case .product(let a, let b, _): return try integer(a) * integer(b)
        default: throw fail("only numbers, bound integers, + - and products may appear here")
        }
    }

    // MARK: Symbols

    mutating func resolve(_ ref: SymbolReference, _ node: Node) throws(MathError) -> Value {
        if !ref.isDerivative, ref.parts[0].lowerIndex == nil, let v = loop[ref.parts[0].base] {
            return Value(tensor: Tensor(Double(v)))
        }
        let mentionsLoop = ref.parts.contains { part in
            part.subscriptExpression.map { symbolNames(in: $0).contains { loop[$0] != nil } } ?? false
        }
        let name = ref.canonical
        if !mentionsLoop, let t = bindings.values[name] {
            shapes[name] = t.shape
            return Value(tensor: t)
        }
        if !ref.isDerivative, ref.parts[0].lowerIndex == nil, let k = bindings.integers[name] {
            return Value(tensor: Tensor(Double(k)))
        }
        // Indexed: one subscript evaluates to an integer k; look up the family or `name_k`.
        var indexError: MathError?
        for (i, part) in ref.parts.enumerated() {
            guard let expr = part.subscriptExpression else { continue }
            var stripped = ref.parts
            stripped[i].lowerIndex = nil
            let family = SymbolReference.canonical(stripped)
            let k: Int
            do { k = try integer(expr) } catch {
                if bindings.indexed[family] != nil { indexError = error }
                continue
            }
            if let f = bindings.indexed[family] {
                let t = f(k)
                shapes["\(family)(·)"] = t.shape
                return Value(tensor: t)
            }
            var concrete = ref.parts
            concrete[i].lowerIndex = String(k)
            let literal = SymbolReference.canonical(concrete)
            if let t = bindings.values[literal] {
                shapes[literal] = t.shape
                return Value(tensor: t)
            }
        }
        if let indexError { throw indexError }
        // Suggest a family only where the subscript reads as an index (`t-1`, `3`), not a label (`xh`).
        let indexLike = ref.parts.contains { part in
            guard let e = part.subscriptExpression else { return false }
            return symbolNames(in: e).allSatisfy { loop[$0] != nil || bindings.integers[$0] != nil }
        }
        let hint = indexLike ? " (or an indexed family for its subscript)" : ""
        throw MathError(.unboundSymbol, column: node.column,
                        "no binding for `\(name)` (from `\(node.text)`)\(hint); bound: \(bindings.boundNames.joined(separator: ", "))")
    }

    func symbolNames(in node: Node) -> [String] {
        switch node.kind {
        case .symbol(let ref): return ref.parts.map(\.base)
        case .negate(let a): return symbolNames(in: a)
        case .add(let a, let b), .subtract(let a, let b), .product(let a, let b, _): return symbolNames(in: a) + symbolNames(in: b)
        default: return []
        }
    }

    // MARK: Expressions

    mutating func evaluate(_ node: Node) throws(MathError) -> Value {
        switch node.kind {
        case .number(let x): return Value(tensor: Tensor(x))
        case .symbol(let ref): return try resolve(ref, node)
        case .negate(let a):
            var v = try evaluate(a); v.tensor = -v.tensor; return v
        case .add(let a, let b): return try elementwise(node, a, b, "add", +)
        case .subtract(let a, let b): return try elementwise(node, a, b, "subtract", -)
        case .hadamard(let a, let b): return try elementwise(node, a, b, "multiply elementwise (\\odot)", *)
        case .divide(let a, let b): return try elementwise(node, a, b, "divide", /)
        case .product(let a, let b, let dot):
            return try product(node, try evaluate(a), a.text, try evaluate(b), b.text, dot: dot)
        case .transpose(let a):
            var v = try evaluate(a)
            switch v.rank {
            case 0: return v
            case 1: v.isRow.toggle(); return v
            case 2: return Value(tensor: v.tensor.transposed)
            default: throw mismatch(node, "cannot transpose `\(a.text)` of shape \(format(v.shape)): only vectors and matrices")
            }
        case .power(let a, let exponent):
            let base = try evaluate(a)
            if base.rank == 0 {
                let e = try evaluate(exponent)
                guard e.rank == 0 else { throw mismatch(node, "exponent `\(exponent.text)` has shape \(format(e.shape)), not a scalar") }
                return Value(tensor: Tensor(Foundation.pow(base.tensor.scalar, e.tensor.scalar)))
            }
            guard base.rank == 2, base.shape[0] == base.shape[1] else {
                throw mismatch(node, "a power `^{\(exponent.text)}` needs a scalar or a square matrix, but `\(a.text)` has shape \(format(base.shape))")
            }
            let k = try integer(exponent)
            guard k >= 0 else {
                throw MathError(.invalidValue, column: exponent.column, "the matrix power `\(node.text)` has exponent \(k) < 0 (inverses are outside the subset)")
            }
            return Value(tensor: matrixPower(base.tensor, k))
        case .call(let name, let args):
            return try call(name, args, node)
        case .apply(let ref, let args):
            let name = ref.canonical
            if !ref.isDerivative, ref.parts[0].lowerIndex == nil,
               bindings.functions[name] != nil || (builtinFunctions.contains(name) && bindings.values[name] == nil) {
                return try call(name, args, node)
            }
            let symbolNode = Node(kind: .symbol(ref), column: node.column, text: String(node.text.prefix { $0 != "(" }))
            // `\mathbf{W}(\mathbf{x} + \mathbf{b})` is a product by convention; `\sigma(\mathbf{z})`,
            // `f(x)`, `\phi_h(…)` read as functions. Bound as a value, such a name would silently
            // become a factor (code that forgot the sigmoid would pass): refuse to guess.
            let bold = ["\\mathbf", "\\boldsymbol", "\\bm", "\\mathbb"].contains { symbolNode.text.hasPrefix($0) }
            if !bold, !ref.isDerivative, args.count == 1, bindings.values[name] != nil {
                throw MathError(.ambiguousApplication, column: node.column,
                                "`\(node.text)` writes `\(symbolNode.text)` like a function applied to `\(args[0].text)`, but `\(name)` is bound as a value, not a function: bind it in `functions:` if it is one, or write the product explicitly (`\(symbolNode.text) \\cdot (\(args[0].text))`)")
            }
            guard args.count == 1 else {
                throw MathError(.unboundSymbol, column: node.column,
                                "`\(node.text)` applies `\(name)` to \(args.count) arguments, but no function `\(name)` is bound; bound functions: \(bindings.functions.keys.sorted().joined(separator: ", "))")
            }
            let f = try resolve(ref, symbolNode)
            return try product(node, f, symbolNode.text, try evaluate(args[0]), args[0].text, dot: false)
        case .tuple:
            throw MathError(.unsupported, column: node.column, "a list `\(node.text)` is only meaningful as the arguments of a function")
        case .bigOperator(let isSum, let index, let lower, let upper, let body):
            let a = try integer(lower), b = try integer(upper)
            let saved = loop[index]
            defer { loop[index] = saved }
            var acc: Value?
            if a <= b {
                for i in a...b {
                    loop[index] = i
                    let v = try evaluate(body)
                    if let current = acc {
                        if isSum {
                            let s = try broadcastShape(node, current.shape, v.shape, "add the terms of")
                            _ = s
                            acc = Value(tensor: current.tensor + v.tensor, isRow: current.isRow)
                        } else {
                            acc = try product(node, current, "the product so far", v, body.text, dot: false)
                        }
                    } else { acc = v }
                }
            }
            return acc ?? Value(tensor: Tensor(isSum ? 0 : 1))
        case .blocks(let rows):
            return try blocks(rows, node)
        case .norm(let a):
            return Value(tensor: Tensor(try evaluate(a).tensor.norm()))
        case .absolute(let a):
            var v = try evaluate(a); v.tensor = v.tensor.map(Swift.abs); return v
        }
    }

    /// The shape of `a ∘ b` for an elementwise operation, broadcast only the way the TeX means
    /// it: equal shapes; a scalar (one element) with anything; or a row added to every row, i.e.
    /// the smaller shape, without its leading 1s, is the trailing part of the larger (`[h]` or
    /// `[1, h]` with `[n, h]`). Any other size-1 axis is not stretched: a `[h, 1]` column does not
    /// pass for a `1×h` row, and `[h]` with `[h, 1]` is not an `h×h` table.
    static func rowBroadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        if a == b { return a }
        if b.reduce(1, *) == 1 && b.count <= a.count { return a }
        if a.reduce(1, *) == 1 && a.count <= b.count { return b }
        func stripped(_ s: [Int]) -> [Int] { Array(s.drop { $0 == 1 }) }
        let (long, short) = a.count >= b.count ? (a, b) : (b, a)
        let core = stripped(short)
        guard core.count <= long.count, Array(long.suffix(core.count)) == core else { return nil }
        return long
    }

    func broadcastShape(_ node: Node, _ a: [Int], _ b: [Int], _ verb: String) throws(MathError) -> [Int] {
        guard let shape = Self.rowBroadcastShape(a, b) else {
            throw mismatch(node, "cannot \(verb) shapes \(format(a)) and \(format(b)) (only equal shapes, a scalar, or a row added to every row are combined)")
        }
        return shape
    }

    mutating func elementwise(_ node: Node, _ a: Node, _ b: Node, _ verb: String,
                              _ op: (Tensor<Double>, Tensor<Double>) -> Tensor<Double>) throws(MathError) -> Value {
        let x = try evaluate(a), y = try evaluate(b)
        guard Self.rowBroadcastShape(x.shape, y.shape) != nil else {
            throw mismatch(node, "cannot \(verb) `\(a.text)` of shape \(format(x.shape)) and `\(b.text)` of shape \(format(y.shape)): only equal shapes, a scalar, or a row added to every row are combined; no other axis of size 1 is stretched")
        }
        return Value(tensor: op(x.tensor, y.tensor), isRow: x.rank >= y.rank ? x.isRow : y.isRow)
    }

    /// Juxtaposition, `\cdot`, `\times`: scalar × anything scales; matrix × matrix, matrix × vector
    /// and vector × matrix are matrix products; column × row is an outer product; row × column
    /// (or `u \cdot v`) a dot product.
    func product(_ node: Node, _ x: Value, _ xText: String, _ y: Value, _ yText: String, dot: Bool) throws(MathError) -> Value {
        let describe = "`\(xText)` of shape \(format(x.shape))\(x.isRow ? " (row)" : "") by `\(yText)` of shape \(format(y.shape))\(y.isRow ? " (row)" : "")"
        if x.rank == 0 { return Value(tensor: x.tensor.scalar * y.tensor, isRow: y.isRow) }
        if y.rank == 0 { return Value(tensor: x.tensor * y.tensor.scalar, isRow: x.isRow) }
        switch (x.rank, y.rank) {
        case (1, 1):
            if x.isRow && !y.isRow || dot {
                guard x.shape == y.shape else { throw mismatch(node, "cannot take the dot product of \(describe)") }
                return Value(tensor: Tensor((x.tensor * y.tensor).sum()))
            }
            if !x.isRow && y.isRow {
                return Value(tensor: x.tensor.reshaped([-1, 1]).matmul(y.tensor.reshaped([1, -1])))
            }
            throw mismatch(node, "cannot multiply \(describe): transpose one of them (`^\\top`) for an outer or dot product, or use `\\odot`")
        case (2, 1):
            guard !y.isRow, x.shape[1] == y.shape[0] else {
                throw mismatch(node, "cannot multiply \(describe): \(y.isRow ? "a matrix times a row vector" : "inner dimensions \(x.shape[1]) and \(y.shape[0]) differ")")
            }
            return Value(tensor: x.tensor.matmul(y.tensor.reshaped([-1, 1])).reshaped([-1]))
        case (1, 2):
            guard x.shape[0] == y.shape[0] else {
                throw mismatch(node, "cannot multiply \(describe): inner dimensions \(x.shape[0]) and \(y.shape[0]) differ")
            }
            return Value(tensor: x.tensor.reshaped([1, -1]).matmul(y.tensor).reshaped([-1]), isRow: x.isRow)
        case (let r, 2) where r >= 2:
            guard x.shape[r - 1] == y.shape[0] else {
                let hint = x.shape == y.shape ? " (use `\\odot` for an elementwise product)" : ""
                throw mismatch(node, "cannot multiply \(describe): inner dimensions \(x.shape[r - 1]) and \(y.shape[0]) differ\(hint)")
            }
            return Value(tensor: x.tensor.matmul(y.tensor))
        default:
            throw mismatch(node, "cannot multiply \(describe)")
        }
    }

    func matrixPower(_ m: Tensor<Double>, _ k: Int) -> Tensor<Double> {
        var result = Tensor<Double>(identity: m.shape[0]), base = m, e = k
        while e > 0 {
            if e & 1 == 1 { result = result.matmul(base) }
            e >>= 1
            if e > 0 { base = base.matmul(base) }
        }
        return result
    }

    mutating func call(_ name: String, _ argNodes: [Node], _ node: Node) throws(MathError) -> Value {
        var args: [Value] = []
        for a in argNodes { args.append(try evaluate(a)) }
        func arity(_ n: Int) throws(MathError) {
            guard args.count == n else {
                throw MathError(.invalidValue, column: node.column, "`\(name)` takes \(n) argument\(n == 1 ? "" : "s"), `\(node.text)` gives \(args.count)")
            }
        }
        if let f = bindings.functions[name] {
            try arity(bindings.arities[name] ?? args.count)
            return Value(tensor: f(args.map(\.tensor)))
        }
        func map(_ f: (Double) -> Double) throws(MathError) -> Value {
            try arity(1); return Value(tensor: args[0].tensor.map(f), isRow: args[0].isRow)
        }
        switch name {
        case "tanh": return try map(Foundation.tanh)
        case "exp": return try map(Foundation.exp)
        case "log", "ln": return try map(Foundation.log)
        case "sin": return try map(Foundation.sin)
        case "cos": return try map(Foundation.cos)
        case "sqrt": return try map { $0.squareRoot() }
        case "abs": return try map(Swift.abs)
        case "sigma", "sigmoid": return try map { 1 / (1 + Foundation.exp(-$0)) }
        case "relu", "ReLU": return try map { Swift.max($0, 0) }
        case "softmax":
            try arity(1)
            let t = args[0].tensor
            guard t.rank >= 1 else { return Value(tensor: Tensor(1)) }
            let n = t.shape[t.rank - 1]
            var out = t.scalars
            for start in stride(from: 0, to: out.count, by: Swift.max(n, 1)) {
                let row = out[start..<start + n]
                let m = row.max() ?? 0
                let e = row.map { Foundation.exp($0 - m) }
                let s = e.reduce(0, +)
                for j in 0..<n { out[start + j] = e[j] / s }
            }
            return Value(tensor: Tensor(shape: t.shape, scalars: out), isRow: args[0].isRow)
        case "min", "max":
            let pick: (Double, Double) -> Double = name == "min" ? { Swift.min($0, $1) } : { Swift.max($0, $1) }
            if args.count == 1 { return Value(tensor: Tensor(args[0].tensor.scalars.reduce(args[0].tensor.scalars.first ?? 0, pick))) }
            try arity(2)
            _ = try broadcastShape(node, args[0].shape, args[1].shape, "compare")
            return Value(tensor: Tensor.broadcastCombine(args[0].tensor, args[1].tensor, pick))
        case "prod":
            // d2l's prod: multiply after whatever transposition makes the shapes chain;
            // two vectors give their outer product.
            try arity(2)
            let (a, b) = (args[0], args[1])
            if a.rank == 1 && b.rank == 1 {
                return Value(tensor: a.tensor.reshaped([-1, 1]).matmul(b.tensor.reshaped([1, -1])))
            }
            let candidates: [(Value, Value)] = [
                (a, b), (Value(tensor: a.tensor), Value(tensor: b.tensor.transposed)),
                (Value(tensor: a.tensor.transposed), Value(tensor: b.tensor)), (b, a),
            ]
            for (x, y) in candidates {
                if let v = try? product(node, x, argNodes[0].text, y, argNodes[1].text, dot: false) { return v }
            }
            throw mismatch(node, "prod(\(argNodes[0].text), \(argNodes[1].text)): shapes \(format(a.shape)) and \(format(b.shape)) do not chain in any order")
        default:
            throw MathError(.unboundSymbol, column: node.column,
                            "no function `\(name)` is bound (in `\(node.text)`); bound functions: \(bindings.functions.keys.sorted().joined(separator: ", ")); built in: \(builtinFunctions.sorted().joined(separator: ", "))")
        }
    }

    /// `[A, B]` and `\begin{bmatrix}`: entries of a row side by side, rows stacked.
    mutating func blocks(_ rows: [[Node]], _ node: Node) throws(MathError) -> Value {
        var values: [[Value]] = []
        for row in rows {
            var r: [Value] = []
            for e in row { r.append(try evaluate(e)) }
            values.append(r)
        }
        let all = values.flatMap { $0 }
        if all.allSatisfy({ $0.rank == 0 }) {
            let cols = values[0].count
            guard values.allSatisfy({ $0.count == cols }) else { throw mismatch(node, "rows have different lengths") }
            let scalars = all.map { $0.tensor.scalar }
            if values.count == 1 || cols == 1 { return Value(tensor: Tensor(scalars)) }
            return Value(tensor: Tensor(shape: [values.count, cols], scalars: scalars))
        }
        if all.allSatisfy({ $0.rank == 1 }) && (values.count == 1 || values.allSatisfy { $0.count == 1 }) {
            return Value(tensor: Tensor(all.flatMap { $0.tensor.scalars }))
        }
        guard all.allSatisfy({ $0.rank == 2 }) else {
            throw mismatch(node, "blocks of shapes \(all.map { format($0.shape) }.joined(separator: ", ")): mix of ranks; use matrices throughout")
        }
        var stacked: [Tensor<Double>] = []
        for (i, row) in values.enumerated() {
            let height = row[0].shape[0]
            guard row.allSatisfy({ $0.shape[0] == height }) else {
                throw mismatch(node, "row \(i + 1) joins blocks of shapes \(row.map { format($0.shape) }.joined(separator: ", ")): their row counts differ")
            }
            var scalars: [Double] = []
            let width = row.reduce(0) { $0 + $1.shape[1] }
            for r in 0..<height {
                for block in row {
                    let w = block.shape[1]
                    scalars += block.tensor.scalars[(r * w)..<((r + 1) * w)]
                }
            }
            stacked.append(Tensor(shape: [height, width], scalars: scalars))
        }
        let width = stacked[0].shape[1]
        guard stacked.allSatisfy({ $0.shape[1] == width }) else {
            throw mismatch(node, "stacked rows have widths \(stacked.map { String($0.shape[1]) }.joined(separator: ", ")): they differ")
        }
        return Value(tensor: Tensor(shape: [stacked.reduce(0) { $0 + $1.shape[0] }, width],
                                    scalars: stacked.flatMap(\.scalars)))
    }
}
