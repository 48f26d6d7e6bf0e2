/// Programmer-error checks that keep their message in optimised builds.
///
/// `precondition` drops its message under `-O` (the library and chapter programs are built that
/// way), leaving the user a bare "precondition failure"; `fatalError` always prints it. Chapter
/// code that misuses the engine therefore sees, e.g., "matmul: shapes [2, 3] and [4, 5] do not
/// chain: 3 vs 4" together with the backtrace that points to the chapter line.
///
/// Use it instead of `precondition`, `assert` and `preconditionFailure` wherever chapter code can
/// trip a check. `package` so that MathCheck and BookRuntime (other targets of this package, linked
/// into the same BookRuntime library) share this one definition; chapter programs never see it.
/// Always-inlined with autoclosure arguments: the message is built only when the check fails, so
/// it costs no more than `precondition` in hot loops.
@inline(__always)
package func checkPrecondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                       file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}

/// The larger of two values, or NaN when either is NaN. `Swift.max` returns its first argument
/// when the comparison fails, so a running `max` over errors can drop a NaN and read as 0: every
/// error measure that a verdict rests on goes through this instead.
@inlinable
public func maxKeepingNaN<T: FloatingPoint>(_ a: T, _ b: T) -> T {
    a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
}
