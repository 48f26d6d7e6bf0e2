internal import CBLAS
import Foundation
import Synchronization

/// The engine's own threads for matrix products.
///
/// OpenBLAS's threading splits each product into blocks that its threads exchange through shared
/// flags. For the RNN's per-step products ([32, 512] · [512, 512]) that bookkeeping is costly:
/// measured on this 2-core machine with OpenBLAS's kernels on both sides, 2 OpenBLAS threads
/// reach 154 GFLOP/s, while two single-threaded calls, each computing half of the output's
/// columns on its own thread, reach 177. So OpenBLAS itself always runs single-threaded, and
/// `gemm` below splits a large enough product into independent column (or row) blocks, one per
/// thread, at multiples of 32 so that the kernels' blocks do not move: a split product equals
/// the unsplit one bit for bit (tested).
///
/// Workers spin briefly between products (a training step issues one every few microseconds),
/// then sleep on a semaphore, so an idle process uses no CPU.
final class ProductThreads: @unchecked Sendable {
    static let shared = ProductThreads()

    /// Threads that take part in a product, the caller included.
    var count: Int { threads.load(ordering: .relaxed) }
    private let threads: Atomic<Int>
    private var workers: [Worker] = []
    private let lock = NSLock()
    /// Held by the one product that uses the workers at a time.
    private let busy = Atomic<Bool>(false)
    /// Set in the child of a `fork()` (chapter programs run `expect-error` blocks that way):
    /// the child has none of the workers, so it computes every product on its own thread.
    fileprivate static let inForkedChild = Atomic<Bool>(false)

    private init() {
        // OpenBLAS's own default honours OPENBLAS_NUM_THREADS and the machine's core count.
        threads = Atomic(Swift.max(1, Int(openblas_get_num_threads())))
        openblas_set_num_threads(1)
        pthread_atfork(nil, nil, productThreadsForgetWorkersInChild)
    }

    /// Changes the number of threads used for later products.
    func setCount(_ n: Int) { threads.store(Swift.max(1, n), ordering: .relaxed) }

    /// Runs `part(i)` for i in 0 ..< parts, part 0 on the calling thread, the others on workers,
    /// and returns when all are done.
    /// Returns false, having run nothing, when another thread's product holds the workers
    /// (tests run concurrently): the caller then computes its product alone.
    func run(parts: Int, _ part: (Int) -> Void) -> Bool {
        if parts <= 1 { part(0); return true }
        if Self.inForkedChild.load(ordering: .relaxed) { return false }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        let helpers = workersFor(parts - 1)
        withoutActuallyEscaping(part) { part in
            var tickets: [Int] = []
            tickets.reserveCapacity(helpers.count)
            for (i, w) in helpers.enumerated() { tickets.append(w.post { part(i + 1) }) }
            part(0)
            for (w, t) in zip(helpers, tickets) { w.wait(for: t) }
        }
        return true
    }

    private func workersFor(_ n: Int) -> ArraySlice<Worker> {
        lock.lock(); defer { lock.unlock() }
        while workers.count < n { workers.append(Worker(index: workers.count + 1)) }
        return workers.prefix(n)
    }

    /// One persistent thread that runs posted jobs in order.
    private final class Worker: @unchecked Sendable {
        private let posted = Atomic<Int>(0)
        private let completed = Atomic<Int>(0)
        private let sleeping = Atomic<Bool>(false)
        private let wake = DispatchSemaphore(value: 0)
        /// The job of the latest ticket; written before `posted` is raised, read after.
        private var job: (() -> Void)?
        /// How long a worker keeps polling for the next job before it sleeps. A training step
        /// issues products tens of microseconds apart; a worker that slept in such a gap would
        /// pay a wake-up for every product, and a woken thread may land on the waker's core.
        private static let spinNanoseconds: UInt64 = 2_000_000

        init(index: Int) {
            let thread = Thread { [self] in self.loop() }
            thread.name = "rnnbook-gemm-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }

        /// Posts `body` and returns its ticket for `wait(for:)`. One job at a time per worker.
        func post(_ body: @escaping () -> Void) -> Int {
            job = body
            let ticket = posted.add(1, ordering: .sequentiallyConsistent).newValue
            if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
            return ticket
        }

        func wait(for ticket: Int) {
            while completed.load(ordering: .acquiring) < ticket {}
            job = nil
        }

        private func loop() {
            var seen = 0
            while true {
                var spins = 0
                var idleSince: UInt64 = 0
                while posted.load(ordering: .acquiring) == seen {
                    spins &+= 1
                    guard spins & 1023 == 0 else { continue }  // read the clock now and then
                    let now = DispatchTime.now().uptimeNanoseconds
                    if idleSince == 0 { idleSince = now; continue }
                    if now - idleSince >= Self.spinNanoseconds {
                        // Announce the sleep, then look once more: a post that raced with the
                        // announcement either is seen here or signals the semaphore.
                        sleeping.store(true, ordering: .sequentiallyConsistent)
                        if posted.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                        sleeping.store(false, ordering: .sequentiallyConsistent)
                        idleSince = 0
                    }
                }
                seen += 1
                job!()
                completed.store(seen, ordering: .releasing)
            }
        }
    }
}

/// `pthread_atfork` child handler (a plain function: it may capture nothing).
private func productThreadsForgetWorkersInChild() {
    ProductThreads.inForkedChild.store(true, ordering: .relaxed)
}

extension TensorScalar {
    /// C = alpha · op(A) · op(B) + beta · C, row-major, split across the engine's product
    /// threads when it is large enough (see `ProductThreads`); the single entry point for every
    /// matrix product of the engine.
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Self, a: UnsafePointer<Self>, lda: Int,
                            b: UnsafePointer<Self>, ldb: Int,
                            beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        let threads = ProductThreads.shared.count
        // Below ~2·10⁵ multiply-adds a product takes a few microseconds: not worth a hand-off.
        if threads > 1, m * n * k >= 1 << 18, let (alongColumns, blocks) = gemmSplit(m: m, n: n, threads: threads) {
            let extent = alongColumns ? n : m
            // Blocks of whole multiples of 32, the last one takes the rest.
            let step = ((extent + blocks - 1) / blocks + 31) / 32 * 32
            let split = ProductThreads.shared.run(parts: blocks) { i in
                let start = Swift.min(i * step, extent), end = Swift.min(start + step, extent)
                guard end > start else { return }
                if alongColumns {
                    // Columns start..<end of op(B) and of C.
                    kernelGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: end - start, k: k, alpha: alpha,
                               a: a, lda: lda, b: transposeB ? b + start * ldb : b + start, ldb: ldb,
                               beta: beta, c: c + start, ldc: ldc)
                } else {
                    // Rows start..<end of op(A) and of C.
                    kernelGemm(transposeA: transposeA, transposeB: transposeB, m: end - start, n: n, k: k, alpha: alpha,
                               a: transposeA ? a + start : a + start * lda, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: c + start * ldc, ldc: ldc)
                }
            }
            if split { return }
        }
        kernelGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                   a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// How to split an m×n product over `threads`: along the columns when they are wide enough,
/// else along the rows, else not at all. Returns (along columns?, number of blocks).
func gemmSplit(m: Int, n: Int, threads: Int) -> (Bool, Int)? {
    let minimum = 64
    if n >= minimum * 2 { return (true, Swift.min(threads, n / minimum)) }
    if m >= minimum * 2 { return (false, Swift.min(threads, m / minimum)) }
    return nil
}

/// Sets how many threads the engine's matrix products use from now on (OpenBLAS itself stays
/// single-threaded; see `ProductThreads`). On an idle 2-core machine two threads nearly double
/// an RNN's speed; on a busy one, a thread that has to wait for a core stalls every product.
public func setBLASThreadCount(_ count: Int) {
    checkPrecondition(count > 0, "setBLASThreadCount: count must be positive, got \(count)")
    ProductThreads.shared.setCount(count)
}

/// The number of threads the engine's matrix products use.
public func blasThreadCount() -> Int { ProductThreads.shared.count }

/// Runs `body` with OpenBLAS's own threading at the engine's thread count (for benchmarks that
/// compare the engine's split products with OpenBLAS's), then back to single-threaded OpenBLAS.
public func withOpenBLASThreading<R>(_ body: () throws -> R) rethrows -> R {
    let pool = ProductThreads.shared
    openblas_set_num_threads(Int32(pool.count))
    defer { openblas_set_num_threads(1) }
    return try body()
}
