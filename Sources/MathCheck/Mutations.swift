/// Mutation operators for checked equations (`rnnbook check --mutate`).
///
/// A check that passes proves little if it would also pass for a wrong equation. Each operator
/// below makes one small, typical mistake in an equation's TeX (a dropped transpose, an index off
/// by one, a flipped sign…). The caller checks every mutant against the values the run bound to
/// the original equation: a mutant is *killed* when its check fails or throws (an unbound symbol,
/// a shape mismatch), and a mutant that still passes reveals a check that cannot see that mistake
/// (a zero bias, a symmetric matrix, a tolerance that accepts anything).
///
/// Mutations are edits of the TeX source at the places the parser found: every syntax-tree node
/// knows the span of TeX it came from, so `\mathbf{W}_{hh}^\top` and `W_{hh}^{\top}` are handled
/// alike, the rest of the TeX is kept as the author wrote it, and braces stay balanced. Operators
/// avoid mutants that are equivalent for every value (swapping the operands of `\odot` or of a
/// scalar product), since such a mutant would always survive and accuse a sound check.

/// One mutated equation.
public struct EquationMutant: Sendable, Equatable {
    /// The operators. Each makes one mistake that authors make and checks should catch.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Drops a transpose mark (`^\top`, `^T`, `^{\top}`, `^\intercal`): the commonest error in
        /// matrix calculus; survives only when the matrix is symmetric (or a scalar).
        case dropTranspose
        /// Flips `+` ↔ `-` between terms, removes a leading minus, or negates the first term of a
        /// sum; survives when the term is zero (an unchecked, zero-initialised bias).
        case flipSign
        /// Drops one term of a sum (a forgotten bias or recurrent term).
        case dropTerm
        /// Shifts an index by one: an integer subscript (`t-1` → `t-2`, `t`; `i` → `i-1`, `i+1`;
        /// `T+t-i` → `T+t-i±1`) or a matrix power's exponent (`^{T-i}`). Off-by-one errors in time
        /// steps are the classic mistake of recurrent networks. Only subscripts that read as indices
        /// are shifted (`t`, `i`, `j`, `k`, `s`, `n`, `T`, `\tau` and numbers, with `+` and `-`);
        /// labels such as `xh` or `h` in `\mathbf{b}_h` are not.
        case shiftIndex
        /// Moves a bound of `\sum` or `\prod` by one (`\sum_{i=1}^{t}` → `i=0`, `i=2`, `^{t-1}`,
        /// `^{t+1}`): a range that starts or ends one step off.
        case moveBound
        /// Removes a function applied to one argument, keeping the argument in its parentheses
        /// (`\phi(X)` → `(X)`, `\exp\left(…\right)`, `\log p_t` → `p_t`, `\operatorname{softmax}`,
        /// `\sqrt{x}` → `{x}`), or replaces `\min(a, b)` / `\max(a, b)` by one of its arguments
        /// (clipping that never clips).
        case dropFunction
        /// `\min` ↔ `\max`.
        case swapMinMax
        /// Swaps two adjacent factors of a product (`A B` → `B A`, `A \cdot B` → `B \cdot A`):
        /// matrix products do not commute. Skipped where the swap cannot change the value:
        /// `\odot` (elementwise, commutative) and products with a factor that the book's notation
        /// marks as a scalar (a number, a norm, a non-bold lowercase or Greek symbol, and
        /// expressions of those). Also skipped next to `\sum`/`\prod`, which take everything after
        /// them as their body, so a swap would move factors into or out of the sum.
        case swapFactors
        /// Swaps numerator and denominator of a `\frac` (`\frac{1}{n}` → `\frac{n}{1}`).
        case invertFraction
        /// Swaps two adjacent dimensions of a shape claim (`\mathbb{R}^{n \times h}` →
        /// `\mathbb{R}^{h \times n}`); survives when the claim is checked with a square shape.
        case swapDimensions
    }

    public var kind: Kind
    /// What changed, for a report: "drop the transpose on W_{hh}", "t-1 → t in H_{t-1}".
    public var description: String
    /// 1-based column (in characters) in the original TeX where the change is.
    public var column: Int
    /// The mutated TeX.
    public var tex: String

    public init(kind: Kind, description: String, column: Int, tex: String) {
        self.kind = kind; self.description = description; self.column = column; self.tex = tex
    }
}

/// The mutants of an equation, ordered by column: each differs from `tex` by one small mistake
/// (see `EquationMutant.Kind`) and parses as an equation of the checked subset.
///
/// Mutants that equal the original or an earlier mutant (ignoring white space), and mutants that
/// no longer parse, are left out. Throws the parser's error when `tex` itself does not parse.
///
/// Judge a mutant with `checkEquation(mutant.tex, bindings:tolerance:)` and the original's
/// bindings and tolerance: it is killed when the verdict fails or the check throws. Shifted
/// indices and moved bounds (`.shiftIndex`, `.moveBound`) ask indexed families for one step
/// before or after the ones the original used (`h_{T+1}`, `a_{t-2}` at t = 1): a family that
/// traps outside its range (`{ a[$0] }`) must be guarded before mutants are checked.
public func equationMutants(of tex: String) throws(MathError) -> [EquationMutant] {
    let candidates = try mutationCandidates(of: tex)
    var seen: Set<String> = [withoutSpaces(tex)]
    return candidates.filter { m in
        seen.insert(withoutSpaces(m.tex)).inserted && (try? ParsedEquation(m.tex)) != nil
    }
}

/// Every mutant the operators propose, before duplicates and unparsable ones are left out.
func mutationCandidates(of tex: String) throws(MathError) -> [EquationMutant] {
    _ = try ParsedEquation(tex)
    var parser = try Parser(tex: tex)
    let statements = try parser.parseEquation()
    var mutator = Mutator(source: Array(tex), tokens: parser.tokens)
    for statement in statements {
        for side in statement.sides {
            switch side {
            case .expression(let node): mutator.walk(node)
            case .space(let dimensions, _, _): mutator.swapDimensions(dimensions)
            }
        }
    }
    let order = Dictionary(uniqueKeysWithValues: EquationMutant.Kind.allCases.enumerated().map { ($1, $0) })
    return mutator.mutants.enumerated().sorted {
        ($0.element.column, order[$0.element.kind]!, $0.offset) < ($1.element.column, order[$1.element.kind]!, $1.offset)
    }.map(\.element)
}

func withoutSpaces(_ s: String) -> String { s.filter { !$0.isWhitespace } }

/// Subscript symbols that read as integer indices.
let indexNames: Set<String> = ["i", "j", "k", "s", "n", "t", "T", "tau"]

private extension Node {
    /// The span of TeX (in characters, 0-based) this node came from.
    var start: Int { column - 1 }
    var end: Int { column - 1 + text.count }
}

private struct Mutator {
    let source: [Character]
    /// The parser's tokens (spacing commands dropped, `\left(` read as `(`), with their columns.
    let tokens: [Token]
    var mutants: [EquationMutant] = []

    init(source: [Character], tokens: [Token]) {
        self.source = source
        self.tokens = tokens.filter { !$0.isEnd }
    }

    func slice(_ a: Int, _ b: Int) -> String { a < b ? String(source[a..<b]) : "" }

    mutating func emit(_ kind: EquationMutant.Kind, _ description: String, at column: Int,
                       replacing range: Range<Int>, with text: String) {
        let tex = slice(0, range.lowerBound) + text + slice(range.upperBound, source.count)
        mutants.append(EquationMutant(kind: kind, description: description, column: column, tex: tex))
    }

    /// The index of the first token starting at or after `offset`.
    func tokenIndex(from offset: Int) -> Int? { tokens.firstIndex { $0.column - 1 >= offset } }

    func tokenEnd(_ t: Token) -> Int { t.column - 1 + t.text.count }

    /// The end of the group starting at token `i`: a `{…}` group, or the single token.
    func groupEnd(_ i: Int) -> Int {
        guard tokens[i].isPunct("{") else { return tokenEnd(tokens[i]) }
        var depth = 0
        for j in i..<tokens.count {
            if tokens[j].isPunct("{") { depth += 1 }
            if tokens[j].isPunct("}") { depth -= 1; if depth == 0 { return tokenEnd(tokens[j]) } }
        }
        return tokenEnd(tokens[tokens.count - 1])
    }

    // MARK: Walking the tree

    mutating func walk(_ node: Node) {
        switch node.kind {
        case .number:
            break
        case .symbol(let ref):
            shiftSubscripts(ref, node)
        case .negate, .add, .subtract:
            let terms = sumTerms(node)
            signs(terms)
            for term in terms { walk(term.negated ?? term.node) }
        case .product:
            let factors = productFactors(node)
            swapFactors(factors)
            factors.forEach { walk($0) }
        case .hadamard(let a, let b):
            walk(a); walk(b)
        case .divide(let a, let b):
            invertFraction(node, a, b)
            walk(a); walk(b)
        case .power(let base, let exponent):
            if isIndex(exponent), !symbolNames(exponent).isEmpty {
                for (old, new, range, replacement) in shifts(exponent) {
                    emit(.shiftIndex, "\(old) → \(new) in the power of \(brief(base))", at: exponent.column,
                         replacing: range, with: replacement)
                }
            } else {
                walk(exponent)
            }
            walk(base)
        case .transpose(let operand):
            dropTranspose(node, operand)
            walk(operand)
        case .call(let name, let args):
            functionMutants(node, name: name, args: args)
            args.forEach { walk($0) }
        case .apply(let ref, let args):
            shiftSubscripts(ref, node)
            if args.count == 1 { dropApplication(node) }
            args.forEach { walk($0) }
        case .tuple(let items):
            items.forEach { walk($0) }
        case .bigOperator(let isSum, let index, let lower, let upper, let body):
            let op = isSum ? "\\sum" : "\\prod"
            for (old, new, range, replacement) in shifts(lower) {
                emit(.moveBound, "lower bound of \(op) over \(index): \(index)=\(old) → \(index)=\(new)", at: lower.column,
                     replacing: range, with: replacement)
            }
            for (old, new, range, replacement) in shifts(upper) {
                emit(.moveBound, "upper bound of \(op) over \(index): \(old) → \(new)", at: upper.column,
                     replacing: range, with: replacement)
            }
            walk(body)
        case .blocks(let rows):
            rows.joined().forEach { walk($0) }
        case .norm(let a), .absolute(let a):
            walk(a)
        }
    }

    /// Whether a node's span is wider than its operands' (it was read from `( … )` or `{ … }`).
    func isGroup(_ node: Node) -> Bool {
        switch node.kind {
        case .add(_, let b), .subtract(_, let b), .product(_, let b, _), .hadamard(_, let b), .negate(let b):
            return node.end != b.end
        default: return false
        }
    }

    // MARK: Signs and terms

    /// A term of a sum: the node (with its leading minus, if any), the `+`/`-` before it, and for
    /// a leading `-a` the operand `a`.
    struct Term { var node: Node; var op: Token?; var negated: Node? }

    /// The terms of the sum chain `node` (`a + b - c`, `-a + b`, or `-a` alone). Parenthesised
    /// operands are terms of their own; the node itself is taken apart even when parenthesised.
    func sumTerms(_ node: Node) -> [Term] {
        switch node.kind {
        case .negate(let a):
            return [Term(node: node, op: nil, negated: a)]
        case .add(let a, let b), .subtract(let a, let b):
            let left: [Term]
            switch a.kind {
            case .add, .subtract, .negate: left = isGroup(a) ? [Term(node: a, op: nil)] : sumTerms(a)
            default: left = [Term(node: a, op: nil)]
            }
            let op = tokenIndex(from: a.end).map { tokens[$0] }
            return left + [Term(node: b, op: op)]
        default:
            return [Term(node: node, op: nil)]
        }
    }

    mutating func signs(_ terms: [Term]) {
        let first = terms[0].node
        if let operand = terms[0].negated {
            // The `-` is the last token before the operand (after a `(` when the node is a group).
            guard let minus = tokens.last(where: { $0.column - 1 < operand.start }), minus.isPunct("-") else { return }
            emit(.flipSign, "drop the minus before \(brief(operand))", at: minus.column,
                 replacing: (minus.column - 1)..<operand.start, with: "")
        } else if terms.count > 1 {
            emit(.flipSign, "negate the first term \(brief(first))", at: first.column,
                 replacing: first.start..<first.start, with: "-")
        }
        guard terms.count > 1 else { return }
        for (k, term) in terms.enumerated() {
            if k > 0, let op = term.op, op.isPunct("+") || op.isPunct("-") {
                let flipped = op.isPunct("+") ? "-" : "+"
                let was = op.isPunct("+") ? "+" : "-"
                emit(.flipSign, "\(was) → \(flipped) before \(brief(term.node))", at: op.column,
                     replacing: (op.column - 1)..<tokenEnd(op), with: flipped)
                // From the end of the previous term, so that `a + b - c` becomes `a - c`.
                emit(.dropTerm, "drop the term \(was) \(brief(term.node))", at: op.column,
                     replacing: terms[k - 1].node.end..<term.node.end, with: "")
            } else if k == 0, let next = terms[1].op {
                // The first term: keep a `-` that follows it as the new leading sign.
                let end = next.isPunct("+") ? terms[1].node.start : next.column - 1
                emit(.dropTerm, "drop the term \(brief(term.node))", at: term.node.column,
                     replacing: term.node.start..<end, with: "")
            }
        }
    }

    // MARK: Products and fractions

    func productFactors(_ node: Node) -> [Node] {
        guard case .product(let a, let b, _) = node.kind else { return [node] }
        if case .product = a.kind, !isGroup(a) { return productFactors(a) + [b] }
        return [a, b]
    }

    mutating func swapFactors(_ factors: [Node]) {
        for (a, b) in zip(factors, factors.dropFirst()) {
            guard !isScalarLike(a), !isScalarLike(b), !isBigOperator(a), !isBigOperator(b),
                  withoutSpaces(a.text) != withoutSpaces(b.text) else { continue }
            emit(.swapFactors, "swap \(brief(a)) and \(brief(b))", at: a.column,
                 replacing: a.start..<b.end, with: b.text + slice(a.end, b.start) + a.text)
        }
    }

    /// Whether the factor ends in an open `\sum`/`\prod` that would take the factors after it
    /// (`\sum_{i=1}^{n} …`, or `\log \sum …` without parentheses).
    func isBigOperator(_ node: Node) -> Bool {
        switch node.kind {
        case .bigOperator: return true
        case .call(_, let args): return args.last.map { $0.end == node.end && isBigOperator($0) } ?? false
        default: return false
        }
    }

    /// Whether the book's notation marks the value as a scalar: numbers, norms, non-bold symbols
    /// whose name starts with a lowercase letter (`c_t`, `\theta`, `p_t`), and expressions of those.
    func isScalarLike(_ node: Node) -> Bool {
        switch node.kind {
        case .number, .norm: return true
        case .symbol(let ref): return isScalarSymbol(ref, node)
        case .negate(let a), .power(let a, _), .transpose(let a), .absolute(let a): return isScalarLike(a)
        case .bigOperator(_, _, _, _, let body): return isScalarLike(body)
        case .add(let a, let b), .subtract(let a, let b), .product(let a, let b, _), .hadamard(let a, let b), .divide(let a, let b):
            return isScalarLike(a) && isScalarLike(b)
        case .call(_, let args): return args.allSatisfy(isScalarLike)
        case .apply(let ref, let args): return isScalarSymbol(ref, node) && args.allSatisfy(isScalarLike)
        case .tuple, .blocks: return false
        }
    }

    func isScalarSymbol(_ ref: SymbolReference, _ node: Node) -> Bool {
        let bold = ["\\mathbf", "\\boldsymbol", "\\bm", "\\textbf"].contains { node.text.contains($0) }
        guard !bold else { return false }
        return ref.parts.allSatisfy { part in
            // An accent names `hat(Y)`: look at the accented letter.
            let name = part.base.firstIndex(of: "(").map { part.base[part.base.index(after: $0)...] } ?? Substring(part.base)
            return name.first?.isLowercase ?? false
        }
    }

    mutating func invertFraction(_ node: Node, _ numerator: Node, _ denominator: Node) {
        guard ["\\frac", "\\dfrac", "\\tfrac"].contains(where: { node.text.hasPrefix($0) }),
              withoutSpaces(numerator.text) != withoutSpaces(denominator.text) else { return }
        emit(.invertFraction, "swap numerator and denominator of \(brief(node))", at: node.column,
             replacing: numerator.start..<denominator.end,
             with: denominator.text + slice(numerator.end, denominator.start) + numerator.text)
    }

    mutating func swapDimensions(_ dimensions: [Node]) {
        for (a, b) in zip(dimensions, dimensions.dropFirst()) where withoutSpaces(a.text) != withoutSpaces(b.text) {
            emit(.swapDimensions, "swap the dimensions \(a.text) and \(b.text)", at: a.column,
                 replacing: a.start..<b.end, with: b.text + slice(a.end, b.start) + a.text)
        }
    }

    // MARK: Transposes and functions

    mutating func dropTranspose(_ node: Node, _ operand: Node) {
        guard let caret = tokenIndex(from: operand.end), tokens[caret].isPunct("^"), caret + 1 < tokens.count else { return }
        emit(.dropTranspose, "drop the transpose on \(brief(operand))", at: tokens[caret].column,
             replacing: (tokens[caret].column - 1)..<groupEnd(caret + 1), with: "")
    }

    mutating func functionMutants(_ node: Node, name: String, args: [Node]) {
        guard let first = tokenIndex(from: node.start) else { return }
        // The function's name: `\exp`, or `\operatorname{softmax}`.
        let nameEnd = tokens[first].isCommand("operatorname") && first + 1 < tokens.count ? groupEnd(first + 1) : tokenEnd(tokens[first])
        let nameText = slice(node.start, nameEnd)
        if args.count == 1 {
            guard let after = tokenIndex(from: nameEnd) else { return }
            emit(.dropFunction, "drop \(nameText)", at: node.column,
                 replacing: node.start..<(tokens[after].column - 1), with: "")
        } else if name == "min" || name == "max" {
            for arg in args {
                let text = needsParentheses(arg) ? "(\(arg.text))" : arg.text
                emit(.dropFunction, "\(nameText)(…) → \(arg.text)", at: node.column,
                     replacing: node.start..<node.end, with: text)
            }
        }
        if name == "min" || name == "max" {
            let other = name == "min" ? "\\max" : "\\min"
            emit(.swapMinMax, "\(nameText) → \(other)", at: node.column, replacing: node.start..<nameEnd, with: other)
        }
    }

    /// `\phi(…)` and any other symbol applied to one parenthesised argument: drop the name.
    mutating func dropApplication(_ node: Node) {
        guard var i = tokenIndex(from: node.start) else { return }
        var depth = 0
        while i < tokens.count, tokens[i].column - 1 < node.end {
            let t = tokens[i]
            if t.isPunct("{") { depth += 1 } else if t.isPunct("}") { depth -= 1 } else if t.isPunct("("), depth == 0 { break }
            i += 1
        }
        guard i < tokens.count, tokens[i].isPunct("(") else { return }
        let paren = tokens[i].column - 1
        emit(.dropFunction, "drop \(slice(node.start, paren).trimmingCharactersInSpaces)", at: node.column,
             replacing: node.start..<paren, with: "")
    }

    func needsParentheses(_ node: Node) -> Bool {
        switch node.kind {
        case .number, .symbol, .call, .apply, .norm, .absolute, .blocks, .tuple: return false
        case .divide: return !node.text.hasPrefix("\\")
        default: return !isGroup(node)
        }
    }

    // MARK: Indices

    mutating func shiftSubscripts(_ ref: SymbolReference, _ node: Node) {
        for part in ref.parts {
            guard let e = part.subscriptExpression, isIndex(e) else { continue }
            for (old, new, range, replacement) in shifts(e) {
                emit(.shiftIndex, "\(old) → \(new) in \(display(ref, node))", at: e.column, replacing: range, with: replacement)
            }
        }
    }

    /// Integer expressions of index names and numbers with `+` and `-`.
    func isIndex(_ node: Node) -> Bool {
        switch node.kind {
        case .number(let x): return x >= 0 && x == x.rounded()
        case .symbol(let ref): return !ref.isDerivative && ref.parts[0].lowerIndex == nil && indexNames.contains(ref.parts[0].base)
        case .negate(let a): return isIndex(a)
        case .add(let a, let b), .subtract(let a, let b): return isIndex(a) && isIndex(b)
        default: return false
        }
    }

    func symbolNames(_ node: Node) -> [String] {
        switch node.kind {
        case .symbol(let ref): return ref.parts.map(\.base)
        case .negate(let a): return symbolNames(a)
        case .add(let a, let b), .subtract(let a, let b), .product(let a, let b, _): return symbolNames(a) + symbolNames(b)
        default: return []
        }
    }

    /// `e - 1` and `e + 1`, written by changing `e`'s trailing constant (`t-1` → `t-2`, `t`):
    /// (old text, new text, range to replace, replacement with braces added where needed).
    func shifts(_ e: Node) -> [(String, String, Range<Int>, String)] {
        var results: [String] = []
        if case .number(let x) = e.kind {
            guard x == x.rounded(), abs(x) < 1e9 else { return [] }
            let k = Int(x)
            results = (k >= 1 ? [String(k - 1)] : []) + [String(k + 1)]
        } else {
            var base = e.text, constant = 0
            if !isGroup(e), case .number(let c)? = lastOperand(e)?.kind, c == c.rounded(), let left = firstOperand(e) {
                base = slice(left.start, left.end)
                constant = Int(c) * (isSubtraction(e) ? -1 : 1)
            }
            func written(_ c: Int) -> String { c == 0 ? base : c > 0 ? "\(base)+\(c)" : "\(base)-\(-c)" }
            results = [written(constant - 1), written(constant + 1)]
        }
        // `_t` → `_{t-1}`: an unbraced subscript or superscript needs braces for more than one token.
        var before = e.start - 1
        while before >= 0, source[before].isWhitespace { before -= 1 }
        let bare = before >= 0 && (source[before] == "_" || source[before] == "^")
        return results.map { new in
            let single = new.count == 1 || new.allSatisfy(\.isNumber)
            return (e.text, new, e.start..<e.end, bare && !single ? "{\(new)}" : new)
        }
    }

    func lastOperand(_ e: Node) -> Node? {
        switch e.kind { case .add(_, let b), .subtract(_, let b): return b; default: return nil }
    }
    func firstOperand(_ e: Node) -> Node? {
        switch e.kind { case .add(let a, _), .subtract(let a, _): return a; default: return nil }
    }
    func isSubtraction(_ e: Node) -> Bool { if case .subtract = e.kind { return true }; return false }

    // MARK: Descriptions

    /// A symbol as a reader names it, without font commands: `W_{hh}`, `H_{t-1}`, `∂L/∂o_t`, `\theta`.
    func display(_ ref: SymbolReference, _ node: Node) -> String {
        let parts = ref.parts.map { part -> String in
            let greek = node.text.hasPrefix("\\" + part.base) && part.base.count > 1
            let base = greek ? "\\" + part.base : part.base
            guard let index = part.lowerIndex else { return base }
            return index.count == 1 ? "\(base)_\(index)" : "\(base)_{\(index)}"
        }
        return parts.count == 2 ? "∂\(parts[0])/∂\(parts[1])" : parts[0]
    }

    /// A short name for a node in a description: a symbol's display name, else its TeX (shortened).
    func brief(_ node: Node) -> String {
        switch node.kind {
        case .symbol(let ref): return display(ref, node)
        case .transpose(let a) where !isGroup(node):
            if case .symbol = a.kind { return brief(a) + "^⊤" }
        default: break
        }
        let text = node.text
        return text.count <= 40 ? text : String(text.prefix(37)) + "…"
    }
}
