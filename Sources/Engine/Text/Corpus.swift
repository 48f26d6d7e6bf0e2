/// Character-level preprocessing, vocabulary and corpus of the reference chapters.

/// How raw text becomes the character stream the language models read.
public enum TextPreprocessing: String, Sendable, CaseIterable, Codable {
    /// d2l, Chinese edition: per line, runs of non-letters become one space, the line is trimmed
    /// and lower-cased, and lines are joined without a separator (170,580 characters).
    case perLine
    /// d2l, English edition: the same substitution over the whole text, no trimming (173,428).
    case wholeText

    /// The preprocessed characters of `text`.
    public func apply(to text: String) -> [Character] {
        switch self {
        case .perLine:
            // Python's readlines keeps "\n" with each line, which the substitution turns into
            // a space that strip() then removes; splitting on newlines gives the same lines.
            var out: [Character] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let cleaned = Self.lettersOnly(line)
                out.append(contentsOf: cleaned.trimmingSpaces())
            }
            return out
        case .wholeText:
            return Self.lettersOnly(Substring(text))
        }
    }

    /// ASCII letters lower-cased; every maximal run of anything else becomes one space
    /// (the regular expression `[^A-Za-z]+` → " ").
    static func lettersOnly(_ s: Substring) -> [Character] {
        var out: [Character] = []
        out.reserveCapacity(s.utf8.count)
        var inRun = false
        for byte in s.utf8 {
            let isUpper = byte >= 65 && byte <= 90, isLower = byte >= 97 && byte <= 122
            if isUpper || isLower {
                out.append(Character(Unicode.Scalar(isUpper ? byte + 32 : byte)))
                inRun = false
            } else if !inRun {
                out.append(" ")
                inRun = true
            }
        }
        return out
    }
}

extension Array where Element == Character {
    fileprivate func trimmingSpaces() -> ArraySlice<Character> {
        var lo = startIndex, hi = endIndex
        while lo < hi && self[lo] == " " { lo += 1 }
        while hi > lo && self[hi - 1] == " " { hi -= 1 }
        return self[lo..<hi]
    }
}

/// Token ↔ index maps. Index 0 is `<unk>`, then reserved tokens, then tokens by descending
/// frequency (ties: first occurrence first, as Python's stable sort of a `Counter` gives) or
/// alphabetically.
public struct Vocabulary: Sendable, Equatable {
    public enum Ordering: Sendable { case byFrequency, alphabetical }
    public static let unknown = "<unk>"

    /// All tokens in index order.
    public let tokens: [String]
    /// How often each token occurred in the text the vocabulary was built from (in index order; 0 for reserved).
    public let frequencies: [Int]
    private let indexOf: [String: Int]

    /// Builds the vocabulary of `tokens`, dropping tokens rarer than `minimumFrequency`.
    public init<S: Sequence>(tokens source: S, minimumFrequency: Int = 0,
                             reservedTokens: [String] = [], ordering: Ordering = .byFrequency)
    where S.Element == String {
        var counts: [String: Int] = [:]
        var firstSeen: [String: Int] = [:]
        for (i, t) in source.enumerated() {
            counts[t, default: 0] += 1
            if firstSeen[t] == nil { firstSeen[t] = i }
        }
        var kept = counts.filter { $0.value >= minimumFrequency }.map { ($0.key, $0.value) }
        switch ordering {
        case .byFrequency:
            kept.sort { $0.1 != $1.1 ? $0.1 > $1.1 : firstSeen[$0.0]! < firstSeen[$1.0]! }
        case .alphabetical:
            kept.sort { $0.0 < $1.0 }
        }
        var tokens = [Self.unknown] + reservedTokens
        var freqs = [Int](repeating: 0, count: tokens.count)
        for (t, c) in kept where !tokens.contains(t) { tokens.append(t); freqs.append(c) }
        self.tokens = tokens
        self.frequencies = freqs
        var map: [String: Int] = [:]
        for (i, t) in tokens.enumerated() { map[t] = i }
        indexOf = map
    }

    /// Characters as one-character tokens.
    public init(characters: [Character], ordering: Ordering = .byFrequency) {
        self.init(tokens: characters.map(String.init), ordering: ordering)
    }

    public var count: Int { tokens.count }
    /// The index of `token`, or 0 (`<unk>`) when it is not in the vocabulary.
    public func index(of token: String) -> Int { indexOf[token] ?? 0 }
    public func index(of character: Character) -> Int { index(of: String(character)) }
    /// The indices of the characters of `text`.
    public func indices(of text: String) -> [Int] { text.map { index(of: $0) } }
    /// The token at `index`.
    public func token(at index: Int) -> String {
        checkPrecondition(index >= 0 && index < tokens.count, "token(at:): index \(index) outside 0..<\(tokens.count)")
        return tokens[index]
    }
    /// The text spelled by `indices` (tokens concatenated).
    public func text(of indices: [Int]) -> String { indices.map { token(at: $0) }.joined() }
}

/// A character corpus: the token indices and their vocabulary.
public struct CharacterCorpus: Sendable {
    public let indices: [Int]
    public let vocabulary: Vocabulary

    /// Preprocesses `text`, builds the vocabulary over all of it, then keeps the first
    /// `maxTokens` indices when given (the reference uses 10,000).
    public init(text: String, preprocessing: TextPreprocessing = .perLine, maxTokens: Int? = nil,
                ordering: Vocabulary.Ordering = .byFrequency) {
        let chars = preprocessing.apply(to: text)
        let vocab = Vocabulary(characters: chars, ordering: ordering)
        var idx = chars.map { vocab.index(of: $0) }
        if let m = maxTokens, m > 0, m < idx.count { idx = Array(idx.prefix(m)) }
        indices = idx
        vocabulary = vocab
    }
}
