internal import CBLAS
import Foundation
import Synchronization

/// The engine's own threads for matrix products.
///
/// OpenBLAS itself always runs single-threaded: its threading costs about 13 % on the RNN's thin
/// per-step products (measured on both machine kinds), and its idle threads spin in
/// `sched_yield`. Instead `gemm` cuts a product into parts fixed by its shape (`productParts`)
/// and the calling thread and the workers *claim* parts from a shared counter until none are
/// left. So:
/// - the caller never waits for a worker that has not started: if every worker is asleep or has
///   no core (another process is busy), the caller computes all the parts itself;
/// - results never depend on the thread count or on who computed which part;
/// - nothing spins for long: a worker polls for new work for at most `idlePoll` (products come
///   microseconds apart inside a training step) and then sleeps on a semaphore; the caller
///   waits for parts still being computed by polling for at most `completionPoll`, then sleeps
///   until the last of them ends. Two builds on a 2-core machine therefore share the cores
///   instead of burning them (issue 11: spinning workers made two concurrent builds 30× slower).
final class ProductThreads: @unchecked Sendable {
    static let shared = ProductThreads()

    /// Threads that take part in a product, the caller included.
    var count: Int { threads.load(ordering: .relaxed) }
    private let threads: Atomic<Int>
    /// The persistent workers, made on demand (`workersFor`).
    private let workers = Mutex<[Worker]>([])
    /// Held by the one product that uses the workers at a time; another thread's product (tests
    /// run concurrently) then computes its parts alone.
    private let busy = Atomic<Bool>(false)

    /// The product being computed: generation (bits 32…63), one past the last unclaimed part
    /// (16…31), the first unclaimed part (0…15). The caller claims parts from the front, workers
    /// from the back, so with two threads each computes the same half of every product and keeps
    /// that half of a weight matrix in its own cache (a late worker just finds less to take). A
    /// part is claimed by a compare-and-exchange on the whole word, so a claim can only succeed
    /// for the generation it read.
    fileprivate let work = Atomic<UInt64>(0)
    /// The current product's body; written before `work` announces it, read after a claim.
    fileprivate var body: (@Sendable (Int) -> Void)?
    /// Parts of the current product finished so far.
    fileprivate let finished = Atomic<Int>(0)
    /// Set by a caller about to sleep until the last part is finished.
    fileprivate let callerSleeping = Atomic<Bool>(false)
    fileprivate let callerWake = DispatchSemaphore(value: 0)
    private var generation: UInt64 = 0

    /// How long an idle worker polls for the next product before it sleeps. Within a training step
    /// products come a few microseconds apart; a worker asleep in such a gap costs the caller
    /// nothing (it computes the parts itself) but loses the second core for that product.
    static let idlePoll: UInt64 = 50_000  // nanoseconds
    /// How long a caller that has run out of parts polls for the workers' last parts to finish
    /// before it sleeps (a part takes some 10–30 µs).
    static let completionPoll: UInt64 = 20_000

    /// Set in the child of a `fork()` (chapter programs run `expect-error` blocks that way):
    /// the child has none of the workers, so it computes every part on its own thread.
    fileprivate static let inForkedChild = Atomic<Bool>(false)

    /// Whether every product runs on the calling thread alone (in a forked child).
    static var runsAlone: Bool { inForkedChild.load(ordering: .relaxed) }

    /// A pool of `threads` participants (default: OpenBLAS's own default, which honours
    /// OPENBLAS_NUM_THREADS and the machine's core count). The engine uses `shared`; tests make
    /// their own to look at a pool no other test is using.
    init(threads: Int? = nil) {
        self.threads = Atomic(Swift.max(1, threads ?? Int(openblas_get_num_threads())))
        openblas_set_num_threads(1)
        pthread_atfork(nil, nil, productThreadsForgetWorkersInChild)
    }

    /// How many of this pool's workers are asleep on their semaphore (for tests: an idle pool
    /// must use no CPU).
    var sleepingWorkers: Int {
        workers.withLock { $0.filter(\.isSleeping).count }
    }

    /// Changes the number of threads used for later products.
    func setCount(_ n: Int) { threads.store(Swift.max(1, n), ordering: .relaxed) }

    /// Runs `part(i)` for every i in 0 ..< parts and returns when all are done: on the calling
    /// thread and on as many workers as are free to help.
    func run(parts: Int, _ part: @escaping @Sendable (Int) -> Void) {
        checkPrecondition(parts >= 0 && parts < 1 << 16, "ProductThreads.run: \(parts) parts")
        let helpers = count - 1
        // A task of `sideBySideMap` beside another keeps its products on its own thread.
        guard parts > 1, helpers > 0, !Self.runsAlone,
              SideBySideGroup.current?.othersRunning != true,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for i in 0 ..< parts { part(i) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        let team = workersFor(Swift.min(helpers, parts - 1))
        generation &+= 1
        let word = (generation & 0xffff_ffff) << 32 | UInt64(parts) << 16
        body = part
        finished.store(0, ordering: .relaxed)
        work.store(word, ordering: .sequentiallyConsistent)
        for w in team { w.wakeIfSleeping() }
        var done = 0
        while let i = claim(generation: word >> 32, fromBack: false) { part(i); done += 1 }
        // The rest was claimed by workers: wait for the last of them.
        if finished.add(done, ordering: .sequentiallyConsistent).newValue < parts { waitForWorkers(parts: parts) }
        body = nil
    }

    /// Claims the next part of the product of `generation` from the front or the back, or nil
    /// when none is left.
    fileprivate func claim(generation: UInt64, fromBack: Bool) -> Int? {
        var current = work.load(ordering: .acquiring)
        while true {
            let back = Int(current >> 16 & 0xffff), front = Int(current & 0xffff)
            guard current >> 32 == generation, front < back else { return nil }
            let desired = fromBack ? current - (1 << 16) : current + 1
            let (exchanged, original) = work.compareExchange(expected: current, desired: desired,
                                                             ordering: .acquiringAndReleasing)
            if exchanged { return fromBack ? back - 1 : front }
            current = original
        }
    }

    /// Called by a worker when it has finished `count` parts of the current product: wakes the
    /// caller if it sleeps (it checks whether every part is finished, and sleeps again if not).
    fileprivate func finish(_ count: Int) {
        guard count > 0 else { return }
        finished.add(count, ordering: .sequentiallyConsistent)
        if callerSleeping.load(ordering: .sequentiallyConsistent),
           callerSleeping.exchange(false, ordering: .sequentiallyConsistent) {
            callerWake.signal()
        }
    }

    private func waitForWorkers(parts: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while finished.load(ordering: .acquiring) < parts {
            polls &+= 1
            guard polls & 63 == 0 else { continue }
            if DispatchTime.now().uptimeNanoseconds - start < Self.completionPoll { continue }
            // Announce the sleep, then look once more: a worker that finishes the last part
            // after the announcement signals; one that finished before it is seen here.
            callerSleeping.store(true, ordering: .sequentiallyConsistent)
            if finished.load(ordering: .sequentiallyConsistent) < parts {
                callerWake.wait()
            } else if !callerSleeping.exchange(false, ordering: .sequentiallyConsistent) {
                callerWake.wait()  // a worker took the announcement: take its signal too
            }
        }
    }

    private func workersFor(_ n: Int) -> ArraySlice<Worker> {
        workers.withLock { workers in
            while workers.count < n { workers.append(Worker(pool: self, index: workers.count + 1)) }
            return workers.prefix(n)
        }
    }

    /// One persistent thread that helps with whatever product is current.
    private final class Worker: @unchecked Sendable {
        /// Strong: a worker lives as long as its pool (the shared one, for the process), and an
        /// unowned reference would cost two atomic operations on the pool's header at every use.
        private let pool: ProductThreads
        private let sleeping = Atomic<Bool>(false)
        private let wake = DispatchSemaphore(value: 0)

        init(pool: ProductThreads, index: Int) {
            self.pool = pool
            let thread = Thread { [self] in self.loop() }
            thread.name = "rnnbook-gemm-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }

        var isSleeping: Bool { sleeping.load(ordering: .relaxed) }

        func wakeIfSleeping() {
            if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
        }

        private func loop() {
            var seen: UInt64 = 0
            while true {
                let word = waitForWork(after: seen)
                seen = word >> 32
                var done = 0
                while let i = pool.claim(generation: seen, fromBack: true) {
                    // The body stays set until every claimed part is finished.
                    pool.body!(i)
                    done += 1
                }
                pool.finish(done)
            }
        }

        /// Polls for a product newer than generation `seen` for up to `idlePoll`, then sleeps.
        private func waitForWork(after seen: UInt64) -> UInt64 {
            var polls = 0
            var idleSince: UInt64 = 0
            while true {
                let word = pool.work.load(ordering: .acquiring)
                if word >> 32 != seen { return word }
                polls &+= 1
                guard polls & 63 == 0 else { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if idleSince == 0 { idleSince = now; continue }
                guard now - idleSince >= ProductThreads.idlePoll else { continue }
                // Announce the sleep, then look once more: a product posted after the
                // announcement wakes us; one posted before it is seen here.
                sleeping.store(true, ordering: .sequentiallyConsistent)
                if pool.work.load(ordering: .sequentiallyConsistent) >> 32 == seen {
                    wake.wait()
                } else if !sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                    wake.wait()  // the caller took the announcement: take its signal too
                }
                idleSince = 0
            }
        }
    }
}

/// `pthread_atfork` child handler (a plain function: it may capture nothing).
private func productThreadsForgetWorkersInChild() {
    ProductThreads.inForkedChild.store(true, ordering: .relaxed)
}

/// How a product is cut into parts: along C's columns or rows, in blocks of `size`; the last
/// part takes the rest. Fixed by the shape alone, so that the same product gives the same bits
/// whatever the thread count (OpenBLAS's rounding depends on the block shape it is given).
struct ProductParts: Equatable {
    var alongColumns: Bool
    var size: Int
    var count: Int
}

/// Parts of about 2¹⁷ multiply-adds or more (tens of microseconds), in whole multiples of 64
/// columns (or rows), so every kernel's blocks stay whole; products under 2¹⁸ multiply-adds,
/// or too thin to cut, are one part. With `wholeRows`, parts are cut only along rows, so each
/// holds whole rows of C (for part work such as a row's softmax).
func productParts(m: Int, n: Int, k: Int, wholeRows: Bool = false) -> ProductParts {
    let single = ProductParts(alongColumns: true, size: Swift.max(n, 1), count: 1)
    let unit = 64, work = m * n * k
    guard work >= 1 << 18 else { return single }
    func cut(_ extent: Int, _ across: Int) -> ProductParts? {
        guard extent >= 2 * unit else { return nil }
        let perUnit = Swift.max(1, across * k * unit)
        let units = Swift.max(1, ((1 << 17) + perUnit - 1) / perUnit)
        var size = units * unit
        while (extent + size - 1) / size >= 1 << 16 { size *= 2 }
        let count = (extent + size - 1) / size
        return count > 1 ? ProductParts(alongColumns: true, size: size, count: count) : nil
    }
    if !wholeRows, var p = cut(n, m) { p.alongColumns = true; return p }
    if var p = cut(m, n) { p.alongColumns = false; return p }
    return single
}

/// Elementwise work that belongs to a product's output, done part by part on the thread that
/// computes the part, right before or after it: an RNN step's input rows and bias before its
/// product, its tanh after. It then runs in parallel, on data still in that core's cache,
/// instead of on one thread between products while the other threads wait.
/// Each closure gets the part's rows and columns of C; the parts are disjoint.
public struct ProductPartWork: Sendable {
    public var before: (@Sendable (_ rows: Range<Int>, _ columns: Range<Int>) -> Void)?
    public var after: (@Sendable (_ rows: Range<Int>, _ columns: Range<Int>) -> Void)?
    /// Each part holds whole rows of C (columns 0 ..< n): work that reads a whole row, such as a
    /// softmax, needs it.
    public var wholeRows: Bool

    public init(before: (@Sendable (_ rows: Range<Int>, _ columns: Range<Int>) -> Void)? = nil,
                after: (@Sendable (_ rows: Range<Int>, _ columns: Range<Int>) -> Void)? = nil,
                wholeRows: Bool = false) {
        self.before = before; self.after = after; self.wholeRows = wholeRows
    }

    /// No work besides the product.
    public static let none = ProductPartWork()

    /// `part` wrapped in this work.
    func around(_ rows: Range<Int>, _ columns: Range<Int>, _ part: (Range<Int>, Range<Int>) -> Void) {
        before?(rows, columns)
        part(rows, columns)
        after?(rows, columns)
    }
}

/// Runs `part(rows, columns)` over the parts of an m×n product (see `productParts`), each inside
/// `work`, on the engine's product threads.
func forEachProductPart(m: Int, n: Int, k: Int, work: ProductPartWork = .none,
                        _ part: @escaping @Sendable (Range<Int>, Range<Int>) -> Void) {
    let parts = productParts(m: m, n: n, k: k, wholeRows: work.wholeRows)
    let extent = parts.alongColumns ? n : m
    ProductThreads.shared.run(parts: parts.count) { i in
        let range = i * parts.size ..< Swift.min((i + 1) * parts.size, extent)
        if parts.alongColumns { work.around(0 ..< m, range, part) } else { work.around(range, 0 ..< n, part) }
    }
}

/// Runs `compute(m, n, a, b, c)` over the parts of C = op(A)·op(B) (see `productParts`), each
/// inside `work`, with the part's extent and operands: its rows of op(A) and of C, its columns
/// of op(B) and of C (the leading dimensions stay those of the whole product).
func forEachProductBlock<Scalar>(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                 a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
                                 c: UnsafeMutablePointer<Scalar>, ldc: Int, work: ProductPartWork = .none,
                                 _ compute: @escaping @Sendable (Int, Int, UnsafePointer<Scalar>, UnsafePointer<Scalar>,
                                                                 UnsafeMutablePointer<Scalar>) -> Void) {
    let operands = ProductOperands(a: a, b: b, c: c)
    forEachProductPart(m: m, n: n, k: k, work: work) { rows, columns in
        compute(rows.count, columns.count,
                transposeA ? operands.a + rows.lowerBound : operands.a + rows.lowerBound * lda,
                transposeB ? operands.b + columns.lowerBound * ldb : operands.b + columns.lowerBound,
                operands.c + rows.lowerBound * ldc + columns.lowerBound)
    }
}

/// Runs `body` over 0 ..< count in chunks of `size` (2¹⁵ unless given), on the product threads
/// when there are two chunks or more: elementwise passes over large tensors (a gradient's norm,
/// an SGD step), and the fused RNN's groups of batch rows and parts of columns. The chunks are
/// fixed by the count alone, so a sum made chunk by chunk has the same bits for any thread
/// count.
func forEachElementChunk(count: Int, size: Int = 1 << 15, _ body: @escaping @Sendable (Range<Int>) -> Void) {
    let chunks = (count + size - 1) / size
    ProductThreads.shared.run(parts: chunks) { i in body(i * size ..< Swift.min((i + 1) * size, count)) }
}

/// Chunk size for elementwise maps (each element on its own, so any split gives the same bits):
/// an RNN state of 32 × 512 is two chunks, one per core, a few microseconds each.
let elementwiseMapChunk = 1 << 13

/// Raw operand pointers made sendable for the product threads: a product's operands outlive
/// the call that computes it, and its parts write disjoint blocks of C.
struct ProductOperands<Scalar>: @unchecked Sendable {
    let a: UnsafePointer<Scalar>, b: UnsafePointer<Scalar>, c: UnsafeMutablePointer<Scalar>
}

/// Sets how many threads the engine's matrix products use from now on (OpenBLAS itself stays
/// single-threaded; see `ProductThreads`).
public func setBLASThreadCount(_ count: Int) {
    checkPrecondition(count > 0, "setBLASThreadCount: count must be positive, got \(count)")
    ProductThreads.shared.setCount(count)
}

/// The number of threads the engine's matrix products use.
public func blasThreadCount() -> Int { ProductThreads.shared.count }

/// Runs `body` with OpenBLAS's own threading at the engine's thread count (for benchmarks that
/// compare the engine's products with OpenBLAS's), then back to single-threaded OpenBLAS.
public func withOpenBLASThreading<R>(_ body: () throws -> R) rethrows -> R {
    let pool = ProductThreads.shared
    openblas_set_num_threads(Int32(pool.count))
    defer { openblas_set_num_threads(1) }
    return try body()
}
