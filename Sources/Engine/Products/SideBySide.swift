import Foundation
import Synchronization

/// Independent pieces of work run side by side, one per core: trainings from different seeds,
/// strategies or samplings that share nothing but read-only data.
///
/// Why: an RNN's step products are small (a 32×512 state by a 512×512 matrix is some 80 µs on
/// two cores), so cutting each of them across the cores costs a hand-over per product and leaves
/// a core idle while the other finishes its part. Two independent trainings, each on one core
/// with its products whole, do the same work with neither (issue 29: the chapter's two
/// from-scratch trainings side by side took about 0.6 of the time they took one after the other).
///
/// Determinism: task i computes exactly what it computes alone. Its products are cut into the
/// same parts as always (`productParts` depends on the shape alone) and only the threads that
/// compute the parts differ; a task's results go to slot i whatever thread ran it and whenever
/// it finished. So the results are the same bits for any thread count, in any order.
///
/// While two or more tasks run, each computes its products on its own thread (the product
/// threads would put three threads on two cores); the last one still running gets the product
/// threads back. Nothing spins: threads that run out of tasks end, and the caller waits on a
/// semaphore.
final class SideBySideGroup: Sendable {
    /// Tasks now running.
    let running = Atomic<Int>(0)

    /// Whether another task of this group is running besides the caller's.
    var othersRunning: Bool { running.load(ordering: .relaxed) > 1 }

    /// The group whose task the calling thread runs (nil outside one); bound per task thread.
    @TaskLocal static var current: SideBySideGroup?
}

/// The body and the results made sendable for the task threads: `sideBySideMap` waits for
/// every thread to end its work before it returns, so both outlive every use. The body is
/// reached through a pointer, so that the threads (which may live a moment longer) hold no
/// reference to it when `withoutActuallyEscaping` checks that it did not escape.
private struct SideBySideJob<R>: @unchecked Sendable {
    let body: UnsafeMutablePointer<(Int) -> R>
    let results: UnsafeMutableBufferPointer<R?>
    let wrap: (@escaping () -> Void) -> Void
}

/// Runs `body(i)` for every i in 0 ..< count, side by side on up to `threads` threads (default:
/// the engine's thread count, `blasThreadCount()`), and returns the results in index order.
///
/// - `body` must not change anything another task reads (give each task its own model, its own
///   generator from its own seed); read-only captures (a corpus, a vocabulary) are fine.
/// - With one thread, one task, or inside another `sideBySideMap`, the tasks run one after the
///   other on the calling thread, in order.
/// - `wrap` runs around each task thread's work, to bind what the caller's thread has bound
///   (the book runtime binds its context there); gradient recording (`withoutGradients`) is
///   carried over by this function.
public func sideBySideMap<R>(count: Int, threads: Int? = nil,
                             wrap: @escaping (@escaping () -> Void) -> Void = { $0() },
                             _ body: (Int) -> R) -> [R] {
    checkPrecondition(count >= 0, "sideBySideMap: count must not be negative, got \(count)")
    let threadCount = Swift.min(count, Swift.max(1, threads ?? blasThreadCount()))
    guard threadCount > 1, SideBySideGroup.current == nil, !ProductThreads.runsAlone else {
        return (0 ..< count).map(body)
    }
    let results = UnsafeMutableBufferPointer<R?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer { results.deinitialize(); results.deallocate() }
    let group = SideBySideGroup()
    let next = Atomic<Int>(0)
    let gradients = GradientMode.isEnabled
    withoutActuallyEscaping(body) { body in
        let pointer = UnsafeMutablePointer<(Int) -> R>.allocate(capacity: 1)
        pointer.initialize(to: body)
        defer { pointer.deinitialize(count: 1); pointer.deallocate() }
        let job = SideBySideJob(body: pointer, results: results, wrap: wrap)
        /// Claims tasks until none is left; each counts as running while it runs.
        let work: @Sendable () -> Void = {
            SideBySideGroup.$current.withValue(group) {
                GradientMode.$isEnabled.withValue(gradients) {
                    while true {
                        let i = next.add(1, ordering: .relaxed).oldValue
                        guard i < count else { break }
                        group.running.add(1, ordering: .relaxed)
                        job.results[i] = job.body.pointee(i)
                        group.running.subtract(1, ordering: .relaxed)
                    }
                }
            }
        }
        let ended = DispatchSemaphore(value: 0)
        for index in 1 ..< threadCount {
            let thread = Thread {
                job.wrap(work)
                ended.signal()
            }
            thread.name = "rnnbook-side-by-side-\(index)"
            // As much stack as the main thread: a task may be a whole training, with deep calls.
            thread.stackSize = 8 << 20
            thread.start()
        }
        job.wrap(work)
        for _ in 1 ..< threadCount { ended.wait() }
    }
    return results.map { $0! }
}

/// `sideBySideMap` over an array's elements.
public func sideBySideMap<T, R>(_ items: [T], threads: Int? = nil,
                                wrap: @escaping (@escaping () -> Void) -> Void = { $0() },
                                _ body: (T) -> R) -> [R] {
    sideBySideMap(count: items.count, threads: threads, wrap: wrap) { body(items[$0]) }
}
