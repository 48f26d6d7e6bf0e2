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
