import Foundation
import Testing
@testable import Engine
import TestSupport

/// `swift test` runs the suites below on the kernel path this process chose (the fastest the
/// CPU runs, or `RNNBOOK_KERNELS`). This test runs them once more in a child test process for
/// every *other* path this CPU can execute, so a machine with AVX-512 cannot hide a failure of
/// the AVX2 or OpenBLAS paths that other machines take, and one command tests them all.
@Suite("Every kernel path this CPU runs")
struct OtherKernelPathTests {
    /// The suites whose results depend on the kernel path.
    static let pathSuites = ["MatrixKernelTests", "LMKernelPathTests", "LMFusedTests", "LMScratchTests", "LMLogitGapTests",
                             "ParallelElementwiseTests"]

    static let otherPaths: [ProductKernelPath] = ProcessInfo.processInfo.environment["RNNBOOK_KERNEL_PATH_CHILD"] == nil
        ? ProductKernelPath.supported(cpuFlags: MatrixKernels.cpuFlags).filter { $0 != ProductKernelPath.current } : []

    @Test(arguments: otherPaths)
    func productAndLanguageModelTestsPassOn(path: ProductKernelPath) throws {
        let run = try Program(CommandLine.arguments[0], ["--testing-library", "swift-testing", "--filter", Self.pathSuites.joined(separator: "|")],
                              environment: ["RNNBOOK_KERNELS": path.rawValue, "RNNBOOK_KERNEL_PATH_CHILD": "1"]).run()
        let log = run.stdout + run.stderr
        let failures = log.split(separator: "\n").filter { $0.contains("✘") }.prefix(20)
        #expect(run.status == 0,
                "RNNBOOK_KERNELS=\(path.rawValue): the product and language-model tests failed (\(run.termination)):\n\(failures.joined(separator: "\n"))")
        // It must have run the suites, not filtered everything away.
        let summary = log.split(separator: "\n").last { $0.contains("Test run with") } ?? ""
        let count = summary.split(separator: " ").drop { $0 != "with" }.dropFirst().first.flatMap { Int($0) } ?? 0
        #expect(count >= 20, "RNNBOOK_KERNELS=\(path.rawValue): expected the path's suites to run, found: \(summary.isEmpty ? "no summary line" : String(summary))")
    }
}
