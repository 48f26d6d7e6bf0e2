import BookProtocol

/// What a page or the index may say was checked: counts by kind of the checks that ran, and
/// the display equations no check touched. Never more than the findings show.
struct CheckSummary {
    /// Checks made (passed or failed) by what they checked, in reading order of `kinds`.
    var counts: [String: Int] = [:]
    /// Display equations no check touched: unlabelled, marked `unchecked`, or (in a failed or
    /// stopped run) labelled but never reached.
    var uncheckedEquations = 0

    static let kinds: [(key: String, one: String, many: String)] = [
        ("equation", "equation", "equations"), ("gradient", "gradient", "gradients"), ("claim", "claim", "claims"),
        ("output", "output", "outputs"), ("expectError", "expected error", "expected errors"),
        ("expect", "named check", "named checks"), ("value", "shown value", "shown values"),
    ]

    init() {}

    init(chapter: Chapter, result: ChapterResult?) {
        let checks = (result?.checks ?? []).filter { $0.verdict != .notChecked }
        let labels = Set(chapter.equations.compactMap(\.label))
        // An equation checked many times (in a loop, as a value and as a shape) is one equation.
        var equations = Set<String>()
        for c in checks {
            if labels.contains(c.label) && [.equation, .shape, .expectError].contains(c.kind) {
                if equations.insert(c.label).inserted { counts["equation", default: 0] += 1 }
                continue
            }
            let key = c.kind == .shape ? "equation" : c.kind.rawValue
            counts[key, default: 0] += 1
        }
        uncheckedEquations = chapter.equations.filter { e in e.label.map { !equations.contains($0) } ?? true }.count
    }

    static func + (a: CheckSummary, b: CheckSummary) -> CheckSummary {
        var s = a
        s.counts.merge(b.counts, uniquingKeysWith: +)
        s.uncheckedEquations += b.uncheckedEquations
        return s
    }

    /// "12 equations, 3 gradients, 9 claims checked; 5 display equations not checked".
    var sentence: String {
        let parts = Self.kinds.compactMap { k in counts[k.key].flatMap { $0 > 0 ? "\($0) \($0 == 1 ? k.one : k.many)" : nil } }
        var out = parts.isEmpty ? "nothing checked" : parts.joined(separator: ", ") + " checked"
        if uncheckedEquations > 0 {
            out += "; \(uncheckedEquations) display equation\(uncheckedEquations == 1 ? "" : "s") not checked"
        }
        return out
    }
}
