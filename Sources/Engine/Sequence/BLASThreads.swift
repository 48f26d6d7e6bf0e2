internal import CBLAS

/// Sets how many threads OpenBLAS uses for every later product in this process.
/// On an idle 2-core machine two threads nearly double the RNN's speed; on a busy one, a thread
/// that has to wait for a core stalls every product, and one thread is faster.
public func setBLASThreadCount(_ count: Int) {
    precondition(count > 0, "setBLASThreadCount: count must be positive, got \(count)")
    openblas_set_num_threads(Int32(count))
}

/// The number of threads OpenBLAS currently uses.
public func blasThreadCount() -> Int { Int(openblas_get_num_threads()) }
