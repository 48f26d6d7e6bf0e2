/// Tokens of the LaTeX subset, each with the 1-based column (in characters) where it starts,
/// so every error can point into the equation's TeX.

/// An error from parsing or evaluating an equation, with the column in the TeX it refers to.
public struct MathError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The TeX is malformed (unbalanced braces, a missing operand).
        case syntax
        /// Valid TeX, but outside the subset the checker understands.
        case unsupported
        /// A symbol, function or index family the code did not bind.
        case unboundSymbol
        /// Operand shapes that do not fit the operation.
        case shapeMismatch
        /// A value of the wrong kind (a non-integer index, a negative matrix power).
        case invalidValue
        /// A set used as an operand (`\mathbf{b} \times \mathbb{R}^{1 \times q}` where `\in` was
        /// meant): not a statement about any value. The one evaluation error `verifyFails`
        /// accepts as showing an erratum, since no value could show more.
        case setAsOperand
        /// A symbol bound as a value but written like a function (`\sigma(\mathbf{z})` with
        /// `\sigma` bound to a number): a product or a call? Never guessed.
        case ambiguousApplication
    }
    public var kind: Kind
    /// 1-based column (in characters) into the TeX source; 0 when not tied to a place.
    public var column: Int
    public var message: String
    public init(_ kind: Kind, column: Int, _ message: String) {
        self.kind = kind; self.column = column; self.message = message
    }
    public var description: String { column > 0 ? "column \(column): \(message)" : message }
}

struct Token: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// `\name` (letters) or a control symbol such as `\,` `\|` `\{` (name is the character).
        case command(String)
        case letter(Character)
        /// A decimal number, `12` or `0.5`.
        case number(String)
        /// Any other single character: `+ - = ( ) [ ] { } ^ _ , . | & ' /` and so on.
        case punct(Character)
        case end
    }
    var kind: Kind
    var column: Int
    /// The source text of the token, used to quote sub-expressions in errors.
    var text: String
}

/// Unicode characters authors paste into TeX, mapped to the command they stand for.
let unicodeCommands: [Character: String] = [
    "∂": "partial", "⊤": "top", "×": "times", "·": "cdot", "⋅": "cdot", "⊙": "odot", "≈": "approx",
    "∈": "in", "←": "leftarrow", "∑": "sum", "∏": "prod", "α": "alpha", "β": "beta", "γ": "gamma",
    "δ": "delta", "ε": "epsilon", "η": "eta", "θ": "theta", "λ": "lambda", "μ": "mu", "ξ": "xi",
    "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi", "ϕ": "phi", "ψ": "psi", "ω": "omega",
    "Σ": "Sigma", "Φ": "Phi", "Θ": "Theta", "Ω": "Omega", "ℝ": "reals",
]

func tokenize(_ tex: String) throws(MathError) -> [Token] {
    let chars = Array(tex)
    var tokens: [Token] = []
    var i = 0
    while i < chars.count {
        let c = chars[i]
        let column = i + 1
        if c.isWhitespace { i += 1; continue }
        if c == "\\" {
            var j = i + 1
            guard j < chars.count else { throw MathError(.syntax, column: column, "a lone backslash ends the equation") }
            if chars[j].isASCII && chars[j].isLetter {
                while j < chars.count, chars[j].isASCII, chars[j].isLetter { j += 1 }
                let name = String(chars[(i + 1)..<j])
                tokens.append(Token(kind: .command(name), column: column, text: "\\" + name))
            } else {
                j += 1
                tokens.append(Token(kind: .command(String(chars[i + 1])), column: column, text: String(chars[i..<j])))
            }
            i = j
        } else if c.isASCII && c.isNumber {
            var j = i
            while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
            if j + 1 < chars.count, chars[j] == ".", chars[j + 1].isASCII, chars[j + 1].isNumber {
                j += 1
                while j < chars.count, chars[j].isASCII, chars[j].isNumber { j += 1 }
            }
            let s = String(chars[i..<j])
            tokens.append(Token(kind: .number(s), column: column, text: s))
            i = j
        } else if let name = unicodeCommands[c] {
            tokens.append(Token(kind: .command(name), column: column, text: String(c)))
            i += 1
        } else if c == "−" {
            tokens.append(Token(kind: .punct("-"), column: column, text: "−"))
            i += 1
        } else if c.isLetter {
            tokens.append(Token(kind: .letter(c), column: column, text: String(c)))
            i += 1
        } else {
            tokens.append(Token(kind: .punct(c), column: column, text: String(c)))
            i += 1
        }
    }
    tokens.append(Token(kind: .end, column: chars.count + 1, text: ""))
    return tokens
}
