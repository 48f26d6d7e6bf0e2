// swift-tools-version: 6.0
import PackageDescription

// The AVX-512 kernels are compiled for skylake-avx512 on x86-64 hosts; elsewhere they compile
// for the default CPU and are never called (`AVX512Kernels.isSupported` is false there).
#if arch(x86_64)
let avx512Flags: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-target-cpu", "-Xfrontend", "skylake-avx512"])]
#else
let avx512Flags: [SwiftSetting] = []
#endif

let package = Package(
    name: "rnnbook",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rnnbook", targets: ["rnnbook"]),
        // Chapter programs link this one dynamic library (Engine + MathCheck + BookRuntime),
        // so compiling a chapter never rebuilds the engine.
        .library(name: "BookRuntime", type: .dynamic, targets: ["BookRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CCmark", pkgConfig: "libcmark",
                       providers: [.apt(["libcmark-dev"])]),
        // Compiled for AVX-512 CPUs; the engine calls it only after checking the CPU's flags.
        // -O even in debug builds: unoptimised SIMD code would be slower than BLAS.
        .target(name: "AVX512Kernels", swiftSettings: avx512Flags + [
            .unsafeFlags(["-O"], .when(configuration: .debug)),
        ]),
        .target(name: "Engine", dependencies: [
            "CBLAS", "AVX512Kernels",
            .product(name: "RealModule", package: "swift-numerics"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "MathCheck", dependencies: ["Engine"]),
        .target(name: "BookProtocol"),
        .target(name: "BookRuntime", dependencies: ["Engine", "MathCheck", "BookProtocol"]),
        .target(name: "BookKit", dependencies: [
            "CCmark", "Engine", "MathCheck", "BookProtocol",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "rnnbook", dependencies: [
            "BookKit", "Engine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "AVX512Kernels"]),
        .testTarget(name: "MathCheckTests", dependencies: ["MathCheck", "Engine"]),
        .testTarget(name: "BookKitTests", dependencies: ["BookKit", "BookProtocol", "Engine", "rnnbook"]),
    ],
    swiftLanguageModes: [.v6]
)
