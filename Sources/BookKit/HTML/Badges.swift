import BookProtocol
import Foundation

/// The green or red verdict mark with its numbers on hover, focus or tap (CSS only, no script).
enum Badge {
    case pass, fail, unchecked

    var cssClass: String { switch self { case .pass: "pass"; case .fail: "fail"; case .unchecked: "unchecked" } }
    var mark: String { switch self { case .pass: "✓"; case .fail: "✗"; case .unchecked: "–" } }

    /// `label` is visible next to the mark; `rows` are the detail lines (already plain text).
    static func html(_ verdict: Badge, label: String?, rows: [(String, String)], id: String? = nil) -> HTML {
        let summary = rows.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
        var out: HTML = "<span class=\"badge \(verdict.cssClass)\" tabindex=\"0\""
        if let id { out += " id=\"\(id)\"" }
        out += " aria-label=\"\(summary)\">"
        out += "<span class=\"badge-mark\" aria-hidden=\"true\">\(verdict.mark)</span>"
        if let label { out += "<span class=\"badge-label\">\(label)</span>" }
        out += "<span class=\"badge-detail\" role=\"tooltip\">"
        for (k, v) in rows { out += "<span class=\"row\"><b>\(k)</b> \(v)</span>" }
        return out + "</span></span>"
    }

    /// The detail rows of a check record: what was checked, the numbers, the shapes.
    static func rows(for check: Finding) -> [(String, String)] {
        var rows: [(String, String)] = [("check", "\(check.kind.rawValue) · \(check.label)")]
        if !check.message.isEmpty { rows.append(("result", check.message)) }
        if let e = check.maxAbsError { rows.append(("max |Δ|", formatValue(e, spec: ".3g"))) }
        if let e = check.maxRelError { rows.append(("max rel. error", formatValue(e, spec: ".3g"))) }
        if let t = check.tolerance {
            rows.append(("tolerance", formatTolerance(t) + (check.toleranceReason.map { ", because \($0)" } ?? "")))
        }
        if let shapes = check.shapes, !shapes.isEmpty {
            let text = shapes.keys.sorted().map { "\($0) \(shapes[$0]!.map(String.init).joined(separator: "×"))" }
                .joined(separator: ", ")
            rows.append(("shapes", text))
        }
        if let e = check.expected { rows.append(("expected", e)) }
        if let f = check.found { rows.append(("found", f)) }
        if let place = check.locationText { rows.append(("where", place)) }
        return rows
    }

    static func html(for check: Finding, label: String? = nil, rows: [(String, String)]? = nil, id: String? = nil) -> HTML {
        // A tolerance above its ceiling is part of what the check says: shown, not only on hover.
        let shown = check.toleranceReason != nil && check.tolerance != nil
            ? [label, "±\(formatTolerance(check.tolerance!))"].compactMap { $0 }.joined(separator: " ") : label
        return html(Badge(check.verdict), label: shown, rows: rows ?? self.rows(for: check), id: id)
    }

    init(_ verdict: Finding.Verdict) {
        switch verdict { case .passed: self = .pass; case .failed: self = .fail; case .notChecked: self = .unchecked }
    }
}
