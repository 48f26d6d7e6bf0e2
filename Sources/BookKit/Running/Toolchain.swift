import Crypto
import Foundation

/// Where the engine's built modules and library are, and how to compile a chapter against them.
public struct Toolchain: Sendable {
    /// Folder of the running `rnnbook` executable (SwiftPM's build products folder).
    public var binDirectory: URL
    public var swiftc: String
    /// Extra folders holding module maps that clients of the engine's modules need (CBLAS).
    public var includeDirectories: [String]
    /// Module maps of the C modules the engine's public imports bring in (`_NumericsShims`).
    public var moduleMapFiles: [String] = []
    public var libraryName = "BookRuntime"
    /// Versions and flags of the tools, cached across builds.
    public var facts: ToolFacts

    /// Finds the products next to the running executable (resolving /proc/self/exe).
    public static func locate(scratch: URL) throws -> Toolchain {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var bin = URL(fileURLWithPath: exe).deletingLastPathComponent()
        if let override = ProcessInfo.processInfo.environment["RNNBOOK_BIN"] { bin = URL(fileURLWithPath: override) }
        let library = bin.appendingPathComponent("libBookRuntime.so").path
        let modules = bin.appendingPathComponent("Modules/Engine.swiftmodule").path
        guard FileManager.default.fileExists(atPath: library), FileManager.default.fileExists(atPath: modules) else {
            throw BookError("the engine is not built next to rnnbook (looked for libBookRuntime.so and Modules/Engine.swiftmodule in \(bin.path)); run `swift build --product BookRuntime` (or `swift build`) first")
        }
        guard let swiftc = which(ProcessInfo.processInfo.environment["SWIFTC"] ?? "swiftc") else {
            throw BookError("swiftc is not on PATH; chapters are compiled with it")
        }
        let facts = ToolFacts.load(swiftc: swiftc, cache: scratch.appendingPathComponent("toolchain.json"))
        let includes = try writeCBLASModuleMap(into: scratch.appendingPathComponent("cblas"), facts: facts)
        return Toolchain(binDirectory: bin, swiftc: swiftc, includeDirectories: includes,
                         moduleMapFiles: dependencyModuleMaps(bin: bin), facts: facts)
    }

    /// Clients of Engine need the CBLAS module map on their include path, even though the
    /// engine imports it internally; this writes the same map as `Sources/CBLAS` does.
    static func writeCBLASModuleMap(into dir: URL, facts: ToolFacts) throws -> [String] {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let map = "module CBLAS [system] {\n    header \"shim.h\"\n    link \"openblas\"\n    export *\n}\n"
        let shim = "#include <cblas.h>\n"
        try writeIfChanged(map, to: dir.appendingPathComponent("module.modulemap"))
        try writeIfChanged(shim, to: dir.appendingPathComponent("shim.h"))
        return [dir.path] + facts.openBLASIncludes
    }

    /// The C modules that chapter programs reach through the engine's public imports, each as
    /// (package, module map inside its checkout): Engine imports RealModule (swift-numerics),
    /// which imports `_NumericsShims`. Nothing else: Engine imports no Crypto, so a chapter
    /// compile needs none of BoringSSL's module maps.
    static let clientCModuleMaps = [("swift-numerics", "Sources/_NumericsShims/include/module.modulemap")]

    /// The module maps of `clientCModuleMaps`, in the package's `checkouts` folder: the first
    /// folder above the products folder that holds one (`.build/checkouts` for
    /// `.build/<triple>/release`). A map not found is left out (the compiler then names the
    /// missing module).
    static func dependencyModuleMaps(bin: URL) -> [String] {
        var folder = bin.standardizedFileURL
        for _ in 0 ..< 4 {
            folder = folder.deletingLastPathComponent()
            let checkouts = folder.appendingPathComponent("checkouts")
            guard FileManager.default.fileExists(atPath: checkouts.path) else { continue }
            return clientCModuleMaps.map { checkouts.appendingPathComponent($0.0).appendingPathComponent($0.1).path }
                .filter { FileManager.default.fileExists(atPath: $0) }
        }
        return []
    }

    /// Arguments for `swiftc` compiling `source` into `executable`.
    func compileArguments(source: String, executable: String, optimize: Bool = true) -> [String] {
        var args = [source, "-o", executable, "-g", "-swift-version", "5", "-module-name", "Chapter",
                    "-I", binDirectory.appendingPathComponent("Modules").path,
                    "-L", binDirectory.path, "-l\(libraryName)",
                    "-Xlinker", "-rpath", "-Xlinker", binDirectory.path]
        if optimize { args.append("-O") } else { args.append("-Onone") }
        // Frame pointers: the Swift backtracer on Linux walks them, and -O code omits them, so a
        // crash inside the engine (a failed check) or in a chapter function stopped before the
        // chapter's frame, the one that names the Markdown line. Chapter code is glue around the
        // engine; one register fewer there costs nothing measurable.
        args += ["-Xcc", "-fno-omit-frame-pointer"]
        for dir in includeDirectories { args += ["-I", dir] }
        for map in moduleMapFiles { args += ["-Xcc", "-fmodule-map-file=\(map)"] }
        return args
    }

    /// `swiftc --version`, first line.
    public var compilerVersion: String { facts.swiftcVersion }

    /// Hash of the engine as chapters see it: the library and the module interfaces.
    public var engineIdentity: String {
        var hasher = SHA256()
        for file in ["libBookRuntime.so", "Modules/Engine.swiftmodule", "Modules/BookRuntime.swiftmodule", "Modules/MathCheck.swiftmodule"] {
            let url = binDirectory.appendingPathComponent(file)
            if let data = try? Data(contentsOf: url, options: .mappedIfSafe) { hasher.update(data: data) }
            hasher.update(data: Data(file.utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// OpenBLAS version from pkg-config.
    public var openBLASVersion: String { facts.openBLASVersion }
}

/// What `swiftc --version` and pkg-config say. Asking them costs about half a second on a busy
/// machine, which would be most of a cached rebuild, so the answers are kept in
/// `output/.cache/toolchain.json`, keyed by the identity (path, size, mtime) of swiftc and of
/// OpenBLAS's pkg-config file: a new compiler or OpenBLAS changes the key.
public struct ToolFacts: Codable, Sendable {
    public var key: String
    public var swiftcVersion: String
    public var openBLASVersion: String
    public var openBLASIncludes: [String]

    static func identity(swiftc: String) -> String {
        let real = URL(fileURLWithPath: swiftc).resolvingSymlinksInPath().path
        let pcDirs = ["/usr/lib/x86_64-linux-gnu/pkgconfig", "/usr/lib/aarch64-linux-gnu/pkgconfig", "/usr/lib/pkgconfig",
                      "/usr/share/pkgconfig", "/usr/local/lib/pkgconfig"]
        let pc = pcDirs.map { "\($0)/openblas.pc" }.first { FileManager.default.fileExists(atPath: $0) }
        func stamp(_ path: String?) -> String {
            guard let path, let a = try? FileManager.default.attributesOfItem(atPath: path) else { return "none" }
            let m = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(path):\(a[.size] as? Int ?? 0):\(m)"
        }
        return [stamp(real), stamp(pc), ProcessInfo.processInfo.environment["PKG_CONFIG_PATH"] ?? ""].joined(separator: "|")
    }

    static func load(swiftc: String, cache: URL) -> ToolFacts {
        let key = identity(swiftc: swiftc)
        if let data = try? Data(contentsOf: cache), let facts = try? JSONDecoder().decode(ToolFacts.self, from: data), facts.key == key {
            return facts
        }
        let pkgConfig = which("pkg-config") ?? "/usr/bin/pkg-config"
        let version = captureOutput(swiftc, ["--version"])?.split(separator: "\n").first.map(String.init) ?? "unknown"
        let includes = (captureOutput(pkgConfig, ["--cflags-only-I", "openblas"]) ?? "")
            .split(separator: " ").filter { $0.hasPrefix("-I") }.map { String($0.dropFirst(2)) }
        let facts = ToolFacts(key: key, swiftcVersion: version,
                              openBLASVersion: captureOutput(pkgConfig, ["--modversion", "openblas"]) ?? "unknown",
                              openBLASIncludes: includes)
        if let data = try? JSONEncoder().encode(facts) { try? writeAtomically(data, to: cache) }
        return facts
    }
}

/// Atomic write: a temporary file in the same folder, then rename, so readers never see half a file.
public func writeAtomically(_ data: Data, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString).tmp")
    try data.write(to: temp)
    if rename(temp.path, url.path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: temp)
        throw BookError("cannot write \(url.path): \(reason)")
    }
}

func writeIfChanged(_ text: String, to url: URL) throws {
    if let existing = try? String(contentsOf: url, encoding: .utf8), existing == text { return }
    try writeAtomically(Data(text.utf8), to: url)
}
