@_exported import BookProtocol
import Engine
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Entry points the generated chapter program calls between blocks. Underscored: authors never
// write them; the runner's program generator does.

/// Monotonic seconds, for block durations.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// C's `stdout` stream, found by name: Swift 6 refuses the global `stdout` as shared mutable state.
private func cStream(_ name: String) -> UnsafeMutablePointer<FILE>? {
    guard let symbol = dlsym(nil, name) else { return nil }
    return symbol.assumingMemoryBound(to: UnsafeMutablePointer<FILE>?.self).pointee
}

/// Called once before the first block.
public func _bookChapterStart() {
    // Line-buffered stdout: a crash loses at most the current line, not a whole block's output.
    if let out = cStream("stdout") { setvbuf(out, nil, _IOLBF, 0) }
    _ = BookContext.shared
}

/// Marks the start of block `index`: flushes the streams and tells the runner where, in the
/// captured files, this block's output begins. The runner splits output by these offsets, never
/// by anything the program prints.
public func _bookBlockStart(_ index: Int) {
    let context = BookContext.shared
    let now = monotonicSeconds()
    if let previous = context.startBlock(index, at: now) {
        fflush(nil)
        context.emit(.blockEnd(index: previous.block, seconds: now - previous.started))
    }
    fflush(nil)
    let out = Int(lseek(1, 0, SEEK_CUR)), err = Int(lseek(2, 0, SEEK_CUR))
    context.emit(.blockStart(index: index, stdoutOffset: max(out, 0), stderrOffset: max(err, 0)))
}

/// Called after the last block.
public func _bookChapterEnd() {
    let context = BookContext.shared
    fflush(nil)
    if let running = context.stopBlock() {
        context.emit(.blockEnd(index: running.block, seconds: monotonicSeconds() - running.started))
    }
}

/// Starts an `expect-error` block. The block runs in a forked child so that its crash cannot
/// take the chapter down; returns true in the child (which runs the block), false in the parent
/// (which skips it and records whether the child failed as the author expected).
public func _bookExpectErrorBegin(_ index: Int) -> Bool {
    let context = BookContext.shared
    fflush(nil)
    // The child's events (what it shows, its failure) go on the channel too, numbered after the
    // parent's: it reports how far it took the sequence on this pipe (see `reportSequence`).
    var report: [Int32] = [-1, -1]
    let piped = pipe(&report) == 0
    checkPrecondition(piped, "no pipe for expect-error block \(index): \(String(cString: strerror(errno)))")
    let pid = fork()
    checkPrecondition(pid >= 0, "fork failed for expect-error block \(index)")
    if pid == 0 {
        close(report[0])
        _ = fcntl(report[1], F_SETFD, FD_CLOEXEC)
        context.reportSequence(to: report[1])
        return true
    }
    close(report[1])
    // Read to the end before waiting: a child that emits much must not block on a full pipe.
    var reported = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(report[0], $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        reported += buffer[0..<n]
    }
    close(report[0])
    if reported.count >= 8 {
        let last = reported[(reported.count / 8 * 8 - 8)...].prefix(8)
        context.continueSequence(from: last.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let exitedCleanly = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
    let how = (status & 0x7f) == 0 ? "exited with status \((status >> 8) & 0xff)" : "stopped by signal \(status & 0x7f)"
    context.emit(.check(Finding(
        kind: .expectError, label: "block \(index + 1)", passed: !exitedCleanly,
        message: exitedCleanly ? "the block was expected to fail but ran to completion"
                               : "the block failed as expected (\(how))",
        block: index)))
    return false
}

/// Ends an `expect-error` block in the child: reaching here means the block succeeded.
public func _bookExpectErrorEnd(_ index: Int) -> Never {
    fflush(nil)
    _exit(0)
}

/// Fails the running block on purpose: tells the runner why, then exits non-zero.
public func failBlock(_ message: String) -> Never {
    let context = BookContext.shared
    fflush(nil)
    context.emit(.failure(block: context.currentBlock, message: message))
    exit(1)
}

/// `file:line:column: ` of a call in chapter code (`#sourceLocation` makes it the Markdown's).
func place(_ file: String, _ line: Int, _ column: Int) -> String { "\(file):\(line):\(column): " }
