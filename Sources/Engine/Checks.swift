/// Programmer-error checks that keep their message in optimised builds.
///
/// `precondition` drops its message under `-O` (the library and chapter programs are built that
/// way), leaving the user a bare "precondition failure"; `fatalError` always prints it. Chapter
/// code that misuses the engine therefore sees, e.g., "matmul: shapes [2, 3] and [4, 5] do not
/// chain: 3 vs 4" together with the backtrace that points to the chapter line.
@inline(__always)
func checkPrecondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                       file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
