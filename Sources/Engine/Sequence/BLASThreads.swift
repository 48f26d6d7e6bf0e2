internal import CBLAS

/// Sets how many threads OpenBLAS uses for every later product in this process.
/// The RNN's per-step products (32×512 by 512×512) run about as fast on one core as on two,
/// and one thread does not fight other processes for the second core.
public func setBLASThreadCount(_ count: Int) {
    precondition(count > 0, "setBLASThreadCount: count must be positive, got \(count)")
    openblas_set_num_threads(Int32(count))
}

/// The number of threads OpenBLAS currently uses.
public func blasThreadCount() -> Int { Int(openblas_get_num_threads()) }
