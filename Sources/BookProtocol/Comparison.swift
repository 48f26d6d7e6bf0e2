import Foundation

/// The one rule by which the book compares a number it found with the number it expected: claims
/// in prose, numbers in `output` blocks, gradient checks and the maths checker's verdict all use it.
///
/// A NaN or an infinity on either side fails, unless the check expects one (an `output` block that
/// prints `nan` on purpose): `NaN <= tolerance` is false, but `!(error > tolerance)` is true, and
/// `max(0, .nan)` is 0, so every comparison written by hand is one refactor away from passing NaN.
public struct NumberComparison: Sendable, Equatable {
    public enum Tolerance: Sendable, Equatable {
        /// |found − expected| ≤ t.
        case absolute(Double)
        /// |found − expected| ≤ t · max(|found|, |expected|).
        case relative(Double)
        public var value: Double { switch self { case .absolute(let t), .relative(let t): t } }
    }

    public var passed: Bool
    public var absoluteError: Double
    /// |found − expected| / max(|found|, |expected|); 0 when both are 0.
    public var relativeError: Double
    /// Set when a side or the tolerance is not a finite number: what was wrong, in words.
    public var problem: String?

    /// - Parameter expectsNonFinite: the expected side is NaN or ±infinity on purpose; the found
    ///   side must then be the same kind of value (NaN, or the same infinity).
    public init(found: Double, expected: Double, tolerance: Tolerance, expectsNonFinite: Bool = false) {
        absoluteError = Swift.abs(found - expected)
        let scale = Swift.max(Swift.abs(found), Swift.abs(expected))
        relativeError = absoluteError == 0 ? 0 : absoluteError / scale
        problem = nil
        if expectsNonFinite && !expected.isFinite {
            passed = expected.isNaN ? found.isNaN : found == expected
            if !passed { problem = "expected \(expected), found \(found)" }
            return
        }
        let t = tolerance.value
        guard t.isFinite && t >= 0 else {
            passed = false; problem = "the tolerance \(t) is not a finite non-negative number"; return
        }
        guard found.isFinite else { passed = false; problem = "found \(found), expected \(expected)"; return }
        guard expected.isFinite else { passed = false; problem = "expected \(expected), found \(found)"; return }
        switch tolerance {
        case .absolute: passed = Self.isWithin(absoluteError, t)
        case .relative: passed = found == expected || Self.isWithin(relativeError, t)
        }
    }

    /// Whether an error measure is within a tolerance: both finite, error ≤ tolerance. A NaN or
    /// infinite error (from a NaN or infinite value anywhere it was computed from) never passes.
    public static func isWithin(_ error: Double, _ tolerance: Double) -> Bool {
        error.isFinite && tolerance.isFinite && tolerance >= 0 && error <= tolerance
    }
}

/// The widest tolerance each kind of check may use without saying why. A check is evidence only
/// as far as its tolerance is tight: `tolerance: 1` on a gradient check accepts any gradient, and
/// `± 50 %` on a claim accepts most mistakes. Above its ceiling a check fails unless the author
/// gives a reason in the source (`verify(…, tolerance: 1e-3, because: "…")`,
/// ```` ```output tol=1e-2 because="…" ````, `{{x ≈ 1 ± 0.2 because …}}`), and the page shows
/// the tolerance and the reason on the badge. See `chapters/README.md`, "Tolerances".
public enum ToleranceCeiling {
    public enum Kind: String, Sendable, CaseIterable {
        case equation, gradient, output, claim
    }

    /// Relative error of a labelled equation (`verify`): the single-precision default.
    public static let equation = 1e-4
    /// The gradient check's error measure (relative to the finite difference, see `gradientCheck`).
    public static let gradient = 1e-4
    /// Relative error of a number in an `output` block.
    public static let output = 1e-3
    /// A claim's or an `expect`'s absolute tolerance, as a fraction of the claimed number.
    public static let claimRelative = 0.1
    /// A claim or `expect` near 0 has no scale of its own: its tolerance may be at most this.
    public static let claimNearZero = 1e-6

    /// The ceiling for one check; claims and `expect` scale theirs with the claimed number.
    public static func ceiling(_ kind: Kind, expected: Double = 0) -> Double {
        switch kind {
        case .equation: equation
        case .gradient: gradient
        case .output: output
        case .claim: Swift.max(claimRelative * Swift.abs(expected), claimNearZero)
        }
    }

    /// Why this tolerance may not be used as written (above the ceiling, with no reason given;
    /// or a reason given for a tolerance within the ceiling, where it would mislead), else nil.
    public static func problem(_ kind: Kind, tolerance: Double, expected: Double = 0, reason: String?) -> String? {
        let limit = ceiling(kind, expected: expected)
        let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        if tolerance > limit && (reason ?? "").isEmpty {
            let how: String
            switch kind {
            case .equation, .gradient: how = "add `because: \"why this much error is expected\"` to the call"
            case .output: how = "add `because=\"why\"` to the output fence"
            case .claim: how = "write the reason after the tolerance: `± \(tolerance) because …`"
            }
            return "tolerance \(formatTolerance(tolerance)) is above the ceiling \(formatTolerance(limit)) for \(kind.rawValue) checks, and no reason is given: a check this loose may not be able to fail; tighten it or \(how)"
        }
        if tolerance <= limit, let reason, !reason.isEmpty {
            return "a reason is given for tolerance \(formatTolerance(tolerance)) (\"\(reason)\"), but it is within the ceiling \(formatTolerance(limit)) for \(kind.rawValue) checks: remove the reason"
        }
        return nil
    }
}

/// A tolerance as the book prints it: `1e-06`, `0.05`.
public func formatTolerance(_ t: Double) -> String {
    if t == 0 { return "0" }
    let a = Swift.abs(t)
    if a >= 1e-3 && a < 1e5 {
        var s = String(format: "%.6f", t)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
    return String(format: "%.3g", t)
}
