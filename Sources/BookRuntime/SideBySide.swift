import BookProtocol
import Engine
import Synchronization

/// Runs `body` on every element of `items` side by side, one per free core, and returns the
/// results in the order of `items`:
///
///     let runs = checkpoint("both-runs") {
///         sideBySide([SequenceSampling.sequential, .random]) { sampling in
///             train(sampling, epochs: numEpochs)
///         }
///     }
///
/// For independent work only: trainings from different seeds, strategies or samplings, each
/// with its own model and its own generator, reading shared data without changing it. Each
/// result is the same, to the bit, as when the element runs alone, so the page does not depend
/// on how many cores the build had (with one, the elements run one after the other).
///
/// Inside `body`, `progress` reports are combined into the block's one progress line (the
/// epochs of all elements, and each running element's metrics numbered from 1). What goes on
/// the page is made after `sideBySide` returns, in order: `show`, `record`, checks and
/// `checkpoint` inside `body` fail the block (their order would depend on which core finished
/// first), and so does a `sideBySide` inside another. Wrap the whole call in a `checkpoint`
/// to keep its results. `print` inside `body` is not forbidden, but lines of elements running
/// at once interleave.
public func sideBySide<T, R>(_ items: [T], _ body: (T) -> R) -> [R] {
    if SideBySideTask.current != nil {
        failBlock("sideBySide inside sideBySide: run the inner elements as part of the outer ones")
    }
    let context = BookContext.shared
    let combined = SideBySideProgress(count: items.count)
    // The task threads see this test's context (tests inject one) as the caller's thread does.
    let injected = BookContext.injected
    let wrap: (@escaping () -> Void) -> Void = { run in BookContext.$injected.withValue(injected) { run() } }
    return sideBySideMap(count: items.count, wrap: wrap) { i in
        SideBySideTask.$current.withValue(SideBySideTask(index: i, progress: combined, context: context)) {
            defer { combined.finish(i) }
            return body(items[i])
        }
    }
}

/// The element of a `sideBySide` call the calling thread runs.
struct SideBySideTask: Sendable {
    var index: Int
    var progress: SideBySideProgress
    var context: BookContext

    @TaskLocal static var current: SideBySideTask?

    /// Why `event` may not be emitted from inside a `sideBySide` element, or nil when it may
    /// (progress, and the failure that stops the block).
    static func problem(emitting event: ChannelEvent) -> String? {
        switch event {
        case .progress, .failure: return nil
        case .output: return "show inside sideBySide: show the results after sideBySide returns"
        case .metric(_, let name, _): return "record(\"\(name)\") inside sideBySide: record the results after sideBySide returns"
        case .check(let finding): return "a check (\(finding.label)) inside sideBySide: check the results after sideBySide returns"
        case .checkpoint(let note): return checkpointProblem(note.name)
        default: return "\(event) inside sideBySide: only progress may be reported from its elements"
        }
    }

    /// Why `checkpoint(name)` may not run inside an element.
    static func checkpointProblem(_ name: String) -> String {
        "checkpoint(\"\(name)\") inside sideBySide: wrap the whole sideBySide call in the checkpoint"
    }

    /// `progress` from this element: the block's combined line.
    func report(epoch: Int, of total: Int, metrics: [String: Double], tokensPerSecond: Double?) {
        let line = progress.report(index, epoch: epoch, of: total, metrics: metrics, tokensPerSecond: tokensPerSecond)
        context.emit(.progress(block: context.currentBlock, step: line.step, of: line.of, metrics: line.metrics,
                               tokensPerSecond: line.tokensPerSecond))
    }
}

/// The progress of every element of one `sideBySide` call, combined into one line.
final class SideBySideProgress: Sendable {
    struct Element {
        var epoch = 0, total: Int?
        var metrics: [String: Double] = [:]
        var tokensPerSecond: Double?
        var finished = false
    }
    private let elements: Mutex<[Element]>

    init(count: Int) { elements = Mutex(Array(repeating: Element(), count: count)) }

    /// Notes element `index`'s report and returns the combined line: the epochs of all elements
    /// (an element that has not reported yet counts as long as the longest reported), the
    /// metrics of the elements still running as "name #k" (k counted from 1), their tokens per
    /// second added up.
    func report(_ index: Int, epoch: Int, of total: Int, metrics: [String: Double], tokensPerSecond: Double?)
        -> (step: Int, of: Int, metrics: [String: Double], tokensPerSecond: Double?) {
        elements.withLock { all in
            all[index].epoch = epoch
            all[index].total = total
            all[index].metrics = metrics
            all[index].tokensPerSecond = tokensPerSecond
            let longest = all.compactMap(\.total).max() ?? total
            let step = all.map { $0.finished ? ($0.total ?? $0.epoch) : $0.epoch }.reduce(0, +)
            let of = all.map { $0.total ?? longest }.reduce(0, +)
            var combined: [String: Double] = [:]
            var speed: Double?
            for (k, e) in all.enumerated() where !e.finished {
                for (name, value) in e.metrics { combined["\(name) #\(k + 1)"] = value }
                if let t = e.tokensPerSecond { speed = (speed ?? 0) + t }
            }
            return (step, of, combined, speed)
        }
    }

    /// Element `index` returned: its epochs count in full, and its metrics leave the line.
    func finish(_ index: Int) { elements.withLock { $0[index].finished = true } }
}
