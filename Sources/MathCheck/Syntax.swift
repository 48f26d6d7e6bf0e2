/// The expression tree of an equation and the parser that builds it from TeX tokens.
///
/// The subset, and how each construct reads (see also `Docs` in Check.swift):
/// - symbols: a letter, a Greek command, or a font command around letters (`\mathbf{W}`,
///   `\textrm{prod}`), with an optional subscript `_x` / `_{t-1}` / `_\textrm{xh}`;
/// - `\frac{\partial A}{\partial B}`: a derivative symbol the code binds;
/// - `+ -`, juxtaposition / `\cdot` / `\times` (product by shape), `\odot` (elementwise), `/`;
/// - `^\top`, `^T`, `^{\top}` transpose; any other superscript is a power;
/// - `\frac{a}{b}`, `( )`, `\left( \right)`, `{ }`, `[A, B]`, `\begin{bmatrix}`, `\|x\|`, `|x|`;
/// - functions `\tanh \exp \log \ln \sqrt \min \max \operatorname{f}`, and any symbol the code
///   binds as a function, applied to a parenthesised argument list (or, for the commands, to
///   the next factor: `\log p_t`);
/// - `\sum_{i=a}^{b}` / `\prod_{i=a}^{b}` over the product that follows them;
/// - relations `=`, `\approx`, `\leftarrow` (checked against the first side) and
///   `\in \mathbb{R}^{n \times d}` (a shape claim); statements separated by `,` `;` `\quad` `\\`.

/// One piece of a symbol name: a base (`H`, `tau`, `softmax`) and an optional subscript.
struct SymbolPart: Sendable {
    var base: String
    /// Canonical subscript text (`t-1`, `xh`), without braces, spaces or font commands.
    var lowerIndex: String?
    /// The subscript parsed as an expression, when it is one (`T+t-i`); used as an integer index.
    var subscriptExpression: Node?
    var canonical: String { lowerIndex.map { "\(base)_\($0)" } ?? base }
}

/// A symbol (one part) or a derivative `∂A/∂B` (two parts).
struct SymbolReference: Sendable {
    var parts: [SymbolPart]
    var isDerivative: Bool { parts.count == 2 }
    static func canonical(_ parts: [SymbolPart]) -> String {
        parts.count == 2 ? "∂\(parts[0].canonical)/∂\(parts[1].canonical)" : parts[0].canonical
    }
    var canonical: String { Self.canonical(parts) }
}

indirect enum NodeKind: Sendable {
    case number(Double)
    case symbol(SymbolReference)
    case negate(Node)
    case add(Node, Node)
    case subtract(Node, Node)
    /// Juxtaposition, `\cdot` or `\times`: scalar, matrix or vector product chosen by shape.
    case product(Node, Node, dot: Bool)
    case hadamard(Node, Node)
    case divide(Node, Node)
    case power(Node, exponent: Node)
    case transpose(Node)
    /// A TeX function command (`\exp`), always a function.
    case call(String, [Node])
    /// A symbol followed by a parenthesised list: a call if the name is a function, else a product.
    case apply(SymbolReference, [Node])
    case tuple([Node])
    case bigOperator(isSum: Bool, index: String, lower: Node, upper: Node, body: Node)
    /// Block matrix: rows of entries, concatenated along columns then rows.
    case blocks([[Node]])
    case norm(Node)
    case absolute(Node)
}

/// A node of the expression tree with the TeX it came from.
struct Node: Sendable {
    var kind: NodeKind
    var column: Int
    var text: String
}

enum Relation: Sendable, Equatable { case equal, approx, assign }

/// One side of a statement: an expression, or the set in a shape claim.
enum Side: Sendable {
    case expression(Node)
    case space(dimensions: [Node], column: Int, text: String)
}

/// A chain `a = b ≈ c` or a claim `X ∈ ℝ^{n×d}`.
struct Statement: Sendable {
    var sides: [Side]
    var relations: [Relation?]   // nil for `\in`
}

private let greekLetters: Set<String> = [
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
    "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
    "ell",
]
/// Font commands do not change a symbol's identity: `\mathbf{W}` is `W`.
let fontCommands: Set<String> = [
    "mathbf", "mathrm", "textrm", "boldsymbol", "mathit", "text", "bm", "mathsf", "textbf", "textit",
    "mathnormal", "mathcal", "textsf", "mathtt",
]
/// TeX function commands the checker evaluates.
let functionCommands: Set<String> = ["tanh", "exp", "log", "ln", "sin", "cos", "min", "max", "sqrt"]
/// Spacing and sizing commands that carry no meaning for evaluation.
private let ignoredCommands: Set<String> = [
    ",", "!", ";", ":", " ", "displaystyle", "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr",
    "Bigl", "Bigr", "biggl", "biggr", "nonumber", "notag",
]
private let layoutEnvironments: Set<String> = ["aligned", "align", "align*", "split", "gathered", "equation", "equation*"]
private let matrixEnvironments: Set<String> = ["bmatrix", "pmatrix", "matrix", "Bmatrix"]

extension Token {
    var isEnd: Bool { if case .end = kind { return true }; return false }
    func isPunct(_ c: Character) -> Bool { if case .punct(c) = kind { return true }; return false }
    func isCommand(_ n: String) -> Bool { if case .command(n) = kind { return true }; return false }
    var commandName: String? { if case .command(let n) = kind { return n }; return nil }
    var relation: Relation?? {
        switch kind {
        case .punct("="): return .some(.equal)
        case .command("approx"): return .some(.approx)
        case .command("leftarrow"), .command("gets"), .command("coloneqq"): return .some(.assign)
        case .command("in"): return .some(nil)
        default: return nil
        }
    }
}

/// Drops spacing commands, `\left`/`\right`, layout environments and alignment `&` outside matrices.
private let sizingCommands: Set<String> = ["left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr"]

private func clean(_ input: [Token], source: [Character]) -> [Token] {
    var tokens = input
    var out: [Token] = []
    var i = 0, matrixDepth = 0
    func environmentName(at j: Int) -> (String, Int)? {
        guard j + 1 < tokens.count, tokens[j + 1].isPunct("{") else { return nil }
        var k = j + 2, name = ""
        while k < tokens.count, !tokens[k].isPunct("}"), !tokens[k].isEnd { name += tokens[k].text; k += 1 }
        return (name, k + 1)
    }
    while i < tokens.count {
        let t = tokens[i]
        if let name = t.commandName, ignoredCommands.contains(name) {
            // `\left(` acts as `(`, but quoted sub-expressions should still show `\left`.
            if sizingCommands.contains(name), i + 1 < tokens.count, !tokens[i + 1].isEnd {
                let next = tokens[i + 1]
                tokens[i + 1].text = String(source[(t.column - 1)..<(next.column - 1 + next.text.count)])
                tokens[i + 1].column = t.column
            }
            i += 1; continue
        }
        if t.isCommand("begin") || t.isCommand("end"), let (env, next) = environmentName(at: i) {
            if layoutEnvironments.contains(env) { i = next; continue }
            if matrixEnvironments.contains(env) { matrixDepth += t.isCommand("begin") ? 1 : -1 }
        }
        if t.isPunct("&") && matrixDepth == 0 { i += 1; continue }
        out.append(t)
        i += 1
    }
    return out
}

struct Parser {
    var tokens: [Token]
    var position = 0
    let source: [Character]
    /// Key mode reads binding names written by code: an unbraced subscript takes the rest (`H_t-1`).
    var keyMode = false

    init(tex: String) throws(MathError) {
        source = Array(tex)
        tokens = clean(try tokenize(tex), source: source)
    }

    init(tokens: [Token], source: [Character]) {
        self.tokens = tokens + [Token(kind: .end, column: (tokens.last.map { $0.column + $0.text.count }) ?? 1, text: "")]
        self.source = source
    }

    var peek: Token { tokens[position] }
    mutating func advance() -> Token { let t = tokens[position]; if !t.isEnd { position += 1 }; return t }

    /// The TeX between token `start` (inclusive) and the current position.
    func text(from start: Int) -> String {
        guard start < position else { return tokens[start].text }
        let a = tokens[start].column - 1
        let last = tokens[position - 1]
        let b = min(last.column - 1 + last.text.count, source.count)
        return a < b ? String(source[a..<b]) : tokens[start].text
    }

    func describe(_ t: Token) -> String { t.isEnd ? "the end of the equation" : "`\(t.text)`" }

    mutating func expect(_ c: Character, _ context: String) throws(MathError) {
        let t = advance()
        guard t.isPunct(c) else {
            throw MathError(.syntax, column: t.column, "expected `\(c)` \(context), found \(describe(t))")
        }
    }

    func unsupported(_ t: Token, _ what: String? = nil) -> MathError {
        MathError(.unsupported, column: t.column,
                  "\(what ?? "`\(t.text)`") is outside the TeX subset MathCheck understands")
    }

    // MARK: Statements

    mutating func parseEquation() throws(MathError) -> [Statement] {
        var statements: [Statement] = []
        while true {
            skipSeparators()
            if peek.isEnd { break }
            statements.append(try parseStatement())
            let t = peek
            if !t.isEnd && !isSeparator(t) {
                throw MathError(.syntax, column: t.column,
                                "expected an operator, a relation or the end of the equation, found \(describe(t))")
            }
        }
        return statements
    }

    func isSeparator(_ t: Token) -> Bool {
        t.isPunct(",") || t.isPunct(".") || t.isPunct(";") || t.isCommand("quad") || t.isCommand("qquad")
            || t.isCommand("\\")
    }

    mutating func skipSeparators() { while isSeparator(peek) { _ = advance() } }

    /// `\\` followed by a relation continues the chain (aligned environments: `&= …`).
    mutating func skipContinuation() {
        var p = position
        while tokens[p].isCommand("\\") { p += 1 }
        if p != position, tokens[p].relation != nil { position = p }
    }

    mutating func parseStatement() throws(MathError) -> Statement {
        var sides: [Side] = [.expression(try parseExpression())]
        var relations: [Relation?] = []
        while true {
            skipContinuation()
            guard let relation = peek.relation else { break }
            _ = advance()
            relations.append(relation)
            if relation == nil { sides.append(try parseSpace()) } else { sides.append(.expression(try parseExpression())) }
        }
        return Statement(sides: sides, relations: relations)
    }

    /// `\mathbb{R}^{n \times d}` after `\in`.
    mutating func parseSpace() throws(MathError) -> Side {
        let start = position
        let t = advance()
        var ok = false
        if t.isCommand("mathbb") {
            let g = try groupTokens()
            ok = g.count == 1 && g[0].text == "R"
        } else if t.isCommand("reals") {
            ok = true
        }
        guard ok else { throw unsupported(t, "a set other than \\mathbb{R}^{…} after \\in") }
        var dims: [Node] = []
        if peek.isPunct("^") {
            _ = advance()
            let group = try groupTokens()
            var sub = Parser(tokens: group, source: source)
            while true {
                dims.append(try sub.parseTerm(stopAtTimes: true))
                if sub.peek.isEnd { break }
                let sep = sub.advance()
                guard sep.isCommand("times") else {
                    throw MathError(.syntax, column: sep.column, "expected `\\times` between dimensions, found \(sub.describe(sep))")
                }
            }
        }
        return .space(dimensions: dims, column: t.column, text: text(from: start))
    }

    /// The tokens of a `{…}` group (without braces) or a single token.
    mutating func groupTokens() throws(MathError) -> [Token] {
        let open = advance()
        if open.isEnd { throw MathError(.syntax, column: open.column, "expected a group `{…}`, found the end of the equation") }
        guard open.isPunct("{") else { return [open] }
        var depth = 1
        var group: [Token] = []
        while true {
            let t = advance()
            if t.isEnd { throw MathError(.syntax, column: open.column, "unbalanced `{`: no matching `}`") }
            if t.isPunct("{") { depth += 1 }
            if t.isPunct("}") { depth -= 1; if depth == 0 { break } }
            group.append(t)
        }
        return group
    }

    // MARK: Expressions

    mutating func parseExpression() throws(MathError) -> Node {
        let start = position
        var lhs: Node
        if peek.isPunct("-") {
            _ = advance()
            let operand = try parseTerm()
            lhs = Node(kind: .negate(operand), column: tokens[start].column, text: text(from: start))
        } else {
            if peek.isPunct("+") { _ = advance() }
            lhs = try parseTerm()
        }
        while peek.isPunct("+") || peek.isPunct("-") {
            let plus = advance().isPunct("+")
            let rhs = try parseTerm()
            lhs = Node(kind: plus ? .add(lhs, rhs) : .subtract(lhs, rhs), column: tokens[start].column, text: text(from: start))
        }
        return lhs
    }

    func startsFactor(_ t: Token) -> Bool {
        switch t.kind {
        case .letter, .number: return true
        case .punct(let c): return c == "(" || c == "[" || c == "{"
        case .command(let n):
            return !(n == "cdot" || n == "times" || n == "odot" || n == "\\" || n == "|" || n == "rVert"
                     || n == "quad" || n == "qquad" || n == "in" || n == "approx" || n == "leftarrow"
                     || n == "gets" || n == "end" || n == "right" || n == "coloneqq" || n == "rvert")
        case .end: return false
        }
    }

    mutating func parseTerm(stopAtTimes: Bool = false) throws(MathError) -> Node {
        let start = position
        var lhs = try parseFactor()
        while true {
            let t = peek
            let kind: (Node, Node) -> NodeKind
            if t.isCommand("cdot") || (t.isCommand("times") && !stopAtTimes) {
                _ = advance(); kind = { .product($0, $1, dot: true) }
            } else if t.isCommand("odot") {
                _ = advance(); kind = { .hadamard($0, $1) }
            } else if t.isPunct("/") {
                _ = advance(); kind = { .divide($0, $1) }
            } else if startsFactor(t) && !(stopAtTimes && t.isCommand("times")) {
                kind = { .product($0, $1, dot: false) }
            } else { break }
            let rhs = try parseFactor()
            lhs = Node(kind: kind(lhs, rhs), column: tokens[start].column, text: text(from: start))
        }
        return lhs
    }

    mutating func parseFactor() throws(MathError) -> Node {
        let start = position
        var node = try parsePrimary()
        while true {
            if peek.isPunct("^") {
                _ = advance()
                let group = try groupTokens()
                if isTransposeMark(group) {
                    node = Node(kind: .transpose(node), column: tokens[start].column, text: text(from: start))
                } else if group.count == 1, group[0].isCommand("prime") {
                    node = try primed(node)
                } else {
                    var sub = Parser(tokens: group, source: source)
                    let exponent = try sub.parseExpression()
                    if !sub.peek.isEnd { throw MathError(.syntax, column: sub.peek.column, "unexpected \(sub.describe(sub.peek)) in a superscript") }
                    node = Node(kind: .power(node, exponent: exponent), column: tokens[start].column, text: text(from: start))
                }
            } else if peek.isPunct("'") {
                _ = advance()
                node = try primed(node)
            } else if peek.isPunct("_") {
                throw MathError(.unsupported, column: peek.column,
                                "a subscript after `\(node.text)`: write the subscript before the superscript (`W_{hh}^\\top`)")
            } else { break }
        }
        return node
    }

    func isTransposeMark(_ group: [Token]) -> Bool {
        let names = group.filter { !($0.commandName.map(fontCommands.contains) ?? false) && !$0.isPunct("{") && !$0.isPunct("}") }
        guard names.count == 1 else { return false }
        if case .letter("T") = names[0].kind { return true }
        return names[0].isCommand("top") || names[0].isCommand("intercal")
    }

    func primed(_ node: Node) throws(MathError) -> Node {
        guard case .symbol(var ref) = node.kind, !ref.isDerivative else {
            throw MathError(.unsupported, column: node.column, "a prime on `\(node.text)`: only symbols may carry primes")
        }
        ref.parts[0].base += "'"
        return Node(kind: .symbol(ref), column: node.column, text: node.text + "'")
    }

    mutating func parsePrimary() throws(MathError) -> Node {
        let start = position
        let t = advance()
        func node(_ k: NodeKind) -> Node { Node(kind: k, column: t.column, text: text(from: start)) }
        switch t.kind {
        case .end:
            throw MathError(.syntax, column: t.column, "expected an operand, found the end of the equation")
        case .number(let s):
            return node(.number(Double(s)!))
        case .letter(let c):
            return try symbolNode(base: String(c), start: start)
        case .punct("("):
            let items = try parseList(closing: ")")
            return node(items.count == 1 ? items[0].kind : .tuple(items))
        case .punct("["):
            var rows: [[Node]] = [[]]
            while true {
                rows[rows.count - 1].append(try parseExpression())
                let sep = advance()
                if sep.isPunct("]") { break }
                if sep.isPunct(";") { rows.append([]); continue }
                guard sep.isPunct(",") else { throw MathError(.syntax, column: sep.column, "expected `,`, `;` or `]` in a bracket list, found \(describe(sep))") }
            }
            return node(.blocks(rows))
        case .punct("{"):
            let inner = try parseExpression()
            try expect("}", "to close the group opened at column \(t.column)")
            return node(inner.kind)
        case .punct("|"):
            let inner = try parseExpression()
            try expect("|", "to close the absolute value opened at column \(t.column)")
            return node(.absolute(inner))
        case .punct:
            throw MathError(.syntax, column: t.column, "expected an operand, found \(describe(t))")
        case .command(let name):
            return try commandPrimary(name, token: t, start: start)
        }
    }

    mutating func parseList(closing: Character) throws(MathError) -> [Node] {
        var items: [Node] = []
        while true {
            items.append(try parseExpression())
            let sep = advance()
            if sep.isPunct(closing) { return items }
            guard sep.isPunct(",") else {
                throw MathError(.syntax, column: sep.column, "expected `,` or `\(closing)`, found \(describe(sep))")
            }
        }
    }

    mutating func commandPrimary(_ name: String, token t: Token, start: Int) throws(MathError) -> Node {
        func node(_ k: NodeKind) -> Node { Node(kind: k, column: t.column, text: text(from: start)) }
        if greekLetters.contains(name) { return try symbolNode(base: name, start: start) }
        if fontCommands.contains(name) {
            let group = try groupTokens()
            if !group.isEmpty, group.allSatisfy({ if case .letter = $0.kind { return true }; if case .number = $0.kind { return true }; return false }) {
                return try symbolNode(base: group.map(\.text).joined(), start: start)
            }
            var sub = Parser(tokens: group, source: source)
            let inner = try sub.parsePrimary()
            if !sub.peek.isEnd { throw unsupported(sub.peek, "`\(t.text){…}` around more than one symbol") }
            if case .symbol(let ref) = inner.kind, !ref.isDerivative, ref.parts[0].lowerIndex == nil {
                return try symbolNode(base: ref.parts[0].base, start: start)
            }
            return node(inner.kind)
        }
        if ["hat", "tilde", "bar", "widehat", "widetilde", "overline"].contains(name) {
            // An accent makes a new symbol: `\hat{\mathbf{Y}}` is `hat(Y)`, distinct from `Y`.
            let group = try groupTokens()
            var sub = Parser(tokens: group, source: source)
            let inner = try sub.parsePrimary()
            guard case .symbol(let ref) = inner.kind, !ref.isDerivative, ref.parts[0].lowerIndex == nil, sub.peek.isEnd else {
                throw unsupported(t, "`\(t.text){…}` around anything but one symbol")
            }
            return try symbolNode(base: "\(name)(\(ref.parts[0].base))", start: start)
        }
        switch name {
        case "frac", "dfrac", "tfrac":
            let numerator = try groupTokens()
            let denominator = try groupTokens()
            if numerator.first?.isCommand("partial") == true {
                guard denominator.first?.isCommand("partial") == true else {
                    throw MathError(.syntax, column: t.column, "a derivative needs `\\partial` in both numerator and denominator")
                }
                let a = try derivativePart(numerator)
                let b = try derivativePart(denominator)
                return node(.symbol(SymbolReference(parts: [a, b])))
            }
            var top = Parser(tokens: numerator, source: source)
            var bottom = Parser(tokens: denominator, source: source)
            let n = try top.parseExpression(), d = try bottom.parseExpression()
            for p in [top, bottom] where !p.peek.isEnd {
                throw MathError(.syntax, column: p.peek.column, "unexpected \(p.describe(p.peek)) in \\frac")
            }
            return node(.divide(n, d))
        case "sum", "prod":
            var index: String?, lower: Node?, upper: Node?
            for _ in 0..<2 {
                if peek.isPunct("_") {
                    _ = advance()
                    let group = try groupTokens()
                    var sub = Parser(tokens: group, source: source)
                    let v = sub.advance()
                    switch v.kind {
                    case .letter(let c): index = String(c)
                    case .command(let g) where greekLetters.contains(g): index = g
                    default: throw MathError(.unsupported, column: v.column, "\\\(name) needs a lower limit `_{i=a}`, found \(sub.describe(v))")
                    }
                    if sub.peek.isEnd {
                        throw MathError(.unsupported, column: t.column, "\\\(name) without both limits `_{i=a}^{b}` (an implicit range cannot be checked)")
                    }
                    try sub.expect("=", "in the lower limit of \\\(name)")
                    lower = try sub.parseExpression()
                    if !sub.peek.isEnd { throw MathError(.syntax, column: sub.peek.column, "unexpected \(sub.describe(sub.peek)) in the lower limit") }
                } else if peek.isPunct("^") {
                    _ = advance()
                    let group = try groupTokens()
                    var sub = Parser(tokens: group, source: source)
                    upper = try sub.parseExpression()
                    if !sub.peek.isEnd { throw MathError(.syntax, column: sub.peek.column, "unexpected \(sub.describe(sub.peek)) in the upper limit") }
                }
            }
            guard let index, let lower, let upper else {
                throw MathError(.unsupported, column: t.column, "\\\(name) without both limits `_{i=a}^{b}` (an implicit range cannot be checked)")
            }
            let body = try parseTerm()
            return node(.bigOperator(isSum: name == "sum", index: index, lower: lower, upper: upper, body: body))
        case "operatorname":
            let group = try groupTokens()
            return try functionCall(group.map(\.text).joined(), token: t, start: start)
        case _ where functionCommands.contains(name):
            if name == "sqrt" {
                let group = try groupTokens()
                var sub = Parser(tokens: group, source: source)
                let arg = try sub.parseExpression()
                return node(.call("sqrt", [arg]))
            }
            return try functionCall(name, token: t, start: start)
        case "|", "lVert", "Vert":
            let inner = try parseExpression()
            let close = advance()
            guard close.isCommand("|") || close.isCommand("rVert") || close.isCommand("Vert") else {
                throw MathError(.syntax, column: close.column, "expected `\\|` to close the norm opened at column \(t.column), found \(describe(close))")
            }
            return node(.norm(inner))
        case "lvert":
            let inner = try parseExpression()
            let close = advance()
            guard close.isCommand("rvert") else { throw MathError(.syntax, column: close.column, "expected `\\rvert`, found \(describe(close))") }
            return node(.absolute(inner))
        case "begin":
            let env = try groupTokens().map(\.text).joined()
            guard matrixEnvironments.contains(env) else { throw unsupported(t, "the environment `\(env)`") }
            var rows: [[Node]] = [[]]
            while true {
                rows[rows.count - 1].append(try parseExpression())
                let sep = advance()
                if sep.isPunct("&") { continue }
                if sep.isCommand("\\") {
                    if peek.isCommand("end") { _ = advance(); _ = try groupTokens(); break }
                    rows.append([]); continue
                }
                if sep.isCommand("end") { _ = try groupTokens(); break }
                throw MathError(.syntax, column: sep.column, "expected `&`, `\\\\` or `\\end{\(env)}` in a matrix, found \(describe(sep))")
            }
            return node(.blocks(rows))
        case "partial":
            throw unsupported(t, "`\\partial` outside `\\frac{\\partial …}{\\partial …}`")
        case "mathbb":
            // A set in a product or sum: `b_q \times \mathbb{R}^{1 \times q}` where `\in` was meant.
            throw MathError(.setAsOperand, column: t.column,
                            "`\\mathbb{…}` is a set, which only a shape claim `X \\in \\mathbb{R}^{…}` can use; here it is an operand (was `\\in` meant?)")
        default:
            throw unsupported(t)
        }
    }

    /// `\exp(x)`, `\exp\left(x\right)`, `\log p_t`.
    mutating func functionCall(_ name: String, token t: Token, start: Int) throws(MathError) -> Node {
        let args: [Node]
        if peek.isPunct("(") {
            _ = advance()
            args = try parseList(closing: ")")
        } else {
            args = [try parseFactor()]
        }
        return Node(kind: .call(name, args), column: t.column, text: text(from: start))
    }

    /// A symbol with its base already read: the optional subscript, then `(…)` application.
    mutating func symbolNode(base: String, start: Int) throws(MathError) -> Node {
        var part = SymbolPart(base: base)
        if peek.isPunct("_") {
            _ = advance()
            let group: [Token]
            if keyMode && !peek.isPunct("{") {
                var rest: [Token] = []
                while !peek.isEnd { rest.append(advance()) }
                group = rest
            } else if let f = peek.commandName, fontCommands.contains(f) {
                _ = advance()
                group = try groupTokens()
            } else {
                group = try groupTokens()
            }
            part.lowerIndex = canonicalText(group)
            var sub = Parser(tokens: group, source: source)
            if let e = try? sub.parseExpression(), sub.peek.isEnd { part.subscriptExpression = e }
        }
        let ref = SymbolReference(parts: [part])
        let column = tokens[start].column
        if peek.isPunct("(") {
            _ = advance()
            let args = try parseList(closing: ")")
            return Node(kind: .apply(ref, args), column: column, text: text(from: start))
        }
        return Node(kind: .symbol(ref), column: column, text: text(from: start))
    }

    /// `\partial L` or `\partial \mathbf{h}_{t}`: exactly one symbol after `\partial`.
    func derivativePart(_ group: [Token]) throws(MathError) -> SymbolPart {
        var sub = Parser(tokens: Array(group.dropFirst()), source: source)
        let inner = try sub.parsePrimary()
        guard case .symbol(let ref) = inner.kind, !ref.isDerivative, sub.peek.isEnd else {
            let at = sub.peek.isEnd ? inner.column : sub.peek.column
            throw MathError(.unsupported, column: at,
                            "a derivative of `\(inner.text)…`: write `\\partial` followed by one symbol (name the function, e.g. `\\partial f_t`)")
        }
        return ref.parts[0]
    }
}

/// Canonical text of a subscript: token texts without braces, spaces or font commands;
/// Greek commands by name (`\tau` → `tau`).
func canonicalText(_ tokens: [Token]) -> String {
    var s = ""
    for t in tokens {
        switch t.kind {
        case .command(let n) where fontCommands.contains(n): continue
        case .command(let n): s += n
        case .punct("{"), .punct("}"): continue
        case .end: continue
        default: s += t.text
        }
    }
    return s
}

/// The canonical name of a symbol as code writes it in a binding key.
///
/// Font commands, braces and spaces are dropped, Greek letters are spelled by name, and a
/// derivative is written `∂A/∂B`:
/// `\mathbf{H}_{t-1}`, `H_{t-1}` and `H_t-1` → `H_t-1`; `W_\textrm{xh}`, `W_{xh}` → `W_xh`;
/// `\frac{\partial L}{\partial \mathbf{h}_t}`, `∂L/∂h_t`, `dL/dh_t` → `∂L/∂h_t`; `\tau`, `τ` → `tau`.
public func canonicalSymbolName(_ key: String) -> String {
    let trimmed = key.trimmingCharactersInSpaces
    // `∂A/∂B` and `dA/dB` written inline by code.
    if let slash = trimmed.firstIndex(of: "/") {
        let a = String(trimmed[..<slash]), b = String(trimmed[trimmed.index(after: slash)...])
        func strip(_ s: String) -> String? {
            for p in ["∂", "\\partial", "d"] where s.hasPrefix(p) && s.count > p.count { return String(s.dropFirst(p.count)) }
            return nil
        }
        if let x = strip(a), let y = strip(b) { return "∂\(canonicalSymbolName(x))/∂\(canonicalSymbolName(y))" }
    }
    guard var parser = try? Parser(tex: trimmed) else { return trimmed.filter { !$0.isWhitespace } }
    parser.keyMode = true
    if let node = try? parser.parsePrimary(), parser.peek.isEnd {
        switch node.kind {
        case .symbol(let ref): return ref.canonical
        case .apply(let ref, _): return ref.canonical
        default: break
        }
    }
    if parser.tokens.count == 2, let n = parser.tokens[0].commandName { return n }
    return trimmed.filter { !$0.isWhitespace && $0 != "{" && $0 != "}" }
}

extension String {
    var trimmingCharactersInSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
