// swift-tools-version: 6.0
import PackageDescription

// The kernel modules are compiled for their CPUs on x86-64 hosts (AVX-512: skylake-avx512;
// AVX2 + FMA: haswell); elsewhere they compile for the default CPU and are never called
// (`isSupported` is false there). -O even in debug builds: unoptimised SIMD code would be
// slower than BLAS, and the tests would take minutes.
#if arch(x86_64)
func kernelFlags(cpu: String) -> [SwiftSetting] {
    [.unsafeFlags(["-Xfrontend", "-target-cpu", "-Xfrontend", cpu]), .unsafeFlags(["-O"], .when(configuration: .debug))]
}
#else
func kernelFlags(cpu: String) -> [SwiftSetting] { [.unsafeFlags(["-O"], .when(configuration: .debug))] }
#endif

let package = Package(
    name: "rnnbook",
    // macOS 15: Synchronization's Mutex (shared state) is there from 15 on.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rnnbook", targets: ["rnnbook"]),
        // Chapter programs link this one dynamic library (Engine + MathCheck + BookRuntime),
        // so compiling a chapter never rebuilds the engine.
        .library(name: "BookRuntime", type: .dynamic, targets: ["BookRuntime"]),
        // Preloaded into chapter programs to list the files they read (their contents become
        // part of the cached run's key; see Sources/COpenLog/openlog.c).
        .library(name: "RnnbookOpenLog", type: .dynamic, targets: ["COpenLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        // `rnnbook serve`'s HTTP server: pure Swift on epoll, no further dependencies.
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCmark", pkgConfig: "libcmark",
                       providers: [.apt(["libcmark-dev"])]),
        // Compiled for AVX-512 and for AVX2 + FMA CPUs; the engine calls each only after
        // checking the CPU's flags.
        // KernelSupport's code is @inlinable and compiled inside each kernel module for its CPU.
        .target(name: "KernelSupport"),
        .target(name: "COpenLog", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "AVX512Kernels", dependencies: ["KernelSupport"], swiftSettings: kernelFlags(cpu: "skylake-avx512")),
        .target(name: "AVX2Kernels", dependencies: ["KernelSupport"], swiftSettings: kernelFlags(cpu: "haswell")),
        // Computes only: no files fetched, no hashing, no networking (issue 25).
        .target(name: "Engine", dependencies: [
            "CBLAS", "KernelSupport", "AVX512Kernels", "AVX2Kernels",
            .product(name: "RealModule", package: "swift-numerics"),
        ]),
        // The book's data files: found in $RNNBOOK_DATA or the cache, else downloaded, and
        // checked by SHA-1. The runner and the bench use it; chapter programs never link it.
        .target(name: "BookData", dependencies: [
            "BookProtocol",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // `rnnbook bench`: the timed configurations, their JSON records, the PyTorch comparison.
        .target(name: "EngineBench", dependencies: ["Engine", "BookData", "ProcessRunner"], exclude: ["Reference"]),
        .target(name: "MathCheck", dependencies: ["Engine", "BookProtocol"]),
        .target(name: "BookProtocol"),
        .target(name: "BookRuntime", dependencies: ["Engine", "MathCheck", "BookProtocol"]),
        // The one way rnnbook starts a program: fork + exec under a keeper, limits, timeouts, peak memory.
        .target(name: "ProcessRunner"),
        .target(name: "BookKit", dependencies: [
            "CCmark", "BookProtocol", "BookData", "ProcessRunner",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // `rnnbook serve`: file watching, the live-reload server, the failure panel.
        .target(name: "BookServe", dependencies: [
            "BookKit", "BookProtocol",
            .product(name: "FlyingFox", package: "FlyingFox"),
        ]),
        .executableTarget(name: "rnnbook", dependencies: [
            "BookKit", "Engine", "EngineBench", "BookServe",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // What the test targets share: running the rnnbook binary and other programs.
        .target(name: "TestSupport", dependencies: ["ProcessRunner"], path: "Tests/TestSupport"),
        .testTarget(name: "ProcessRunnerTests", dependencies: ["ProcessRunner", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "KernelSupport", "AVX512Kernels", "AVX2Kernels", "BookData", "TestSupport"]),
        .testTarget(name: "BookDataTests", dependencies: ["BookData"]),
        .testTarget(name: "EngineBenchTests", dependencies: ["EngineBench"]),
        .testTarget(name: "MathCheckTests", dependencies: ["MathCheck", "Engine"]),
        // The chapter-facing API in-process, against a context whose sealed channel is in memory.
        .testTarget(name: "BookRuntimeTests", dependencies: ["BookRuntime", "BookProtocol", "Engine"]),
        .testTarget(name: "BookKitTests", dependencies: ["BookKit", "BookProtocol", "BookData", "Engine", "rnnbook", "TestSupport"]),
        .testTarget(name: "BookServeTests", dependencies: ["BookServe", "BookKit", "BookProtocol", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
