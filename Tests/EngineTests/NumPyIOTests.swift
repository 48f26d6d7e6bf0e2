import Foundation
import Testing
@testable import Engine
import TestSupport

/// Whether `python3` here imports NumPy (the round-trip tests need it; CI's machines have it).
private let pythonHasNumPy: Bool = (try? Program("/usr/bin/env", ["python3", "-c", "import numpy"]).run().status) == 0

@Suite("NumPy .npy and .npz")
struct NumPyIOTests {
    let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnnbook-npy-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    @Test func headerBytesFollowFormatOne() throws {
        let data = Tensor<Float>([[1, 2, 3], [4, 5, 6]]).npyData()
        let bytes = [UInt8](data)
        #expect(Array(bytes[0..<8]) == [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix(" \n"))
        #expect(Array(bytes[(10 + headerLength)...].prefix(4)) == [0x00, 0x00, 0x80, 0x3f])  // 1.0f
        #expect(bytes.count == 10 + headerLength + 6 * 4)
    }

    @Test(arguments: [[], [4], [2, 3], [2, 3, 4], [0, 3]])
    func npyRoundTrips(shape: [Int]) throws {
        let d = Tensor<Double>(randomNormal: shape, seed: 5)
        let url = directory.appendingPathComponent("d\(shape.count).npy")
        try d.save(npy: url)
        #expect(try Tensor<Double>(npy: url) == d)
        let f = Tensor<Float>(d)
        try f.save(npy: url)
        #expect(try Tensor<Float>(npy: url) == f)
        #expect(try Tensor<Double>(npy: url) == Tensor<Double>(f))   // float32 file read as Double
    }

    @Test func npzRoundTrips() throws {
        let url = directory.appendingPathComponent("params.npz")
        let w = Tensor<Float>(randomNormal: [3, 4], seed: 1), b = Tensor<Float>([1, 2, 3, 4])
        try NPZ.save([("W_xh", w), ("b_h", b)], to: url)
        let loaded = try NPZ.load(url, as: Float.self)
        #expect(loaded == ["W_xh": w, "b_h": b])
        #expect(NPZ.crc32(Data("123456789".utf8)) == 0xCBF43926)
    }

    @Test func badFilesGetClearMessages() throws {
        #expect(throws: NumPyFormatError.self) { try Tensor<Float>(npyData: Data("hello world".utf8)) }
        var ints = Tensor<Float>([1]).npyData()
        ints.replaceSubrange(21..<24, with: Data("<i8".utf8))
        do {
            _ = try Tensor<Float>(npyData: ints, source: "ints.npy")
            Issue.record("an int64 file was accepted")
        } catch {
            #expect(error.description == "ints.npy: expected dtype '<f4' or '<f8' (little-endian float), found '<i8'")
        }
    }

    /// Runs a Python snippet (only called where `pythonHasNumPy`).
    private func python(_ code: String) throws -> String {
        let run = try Program("/usr/bin/env", ["python3", "-c", code], workingDirectory: directory.path).run()
        #expect(run.status == 0, "python failed: \(run.stderr)")
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: pythonHasNumPy, "no python3 with NumPy here (`pip install numpy`)"))
    func numpyReadsWhatWeWrite() throws {
        let a = Tensor<Float>([[1.5, -2, 3], [4, 5, 6.25]])
        let b = Tensor<Double>(arange: 0, to: 24).reshaped([2, 3, 4]) / 7
        try a.save(npy: directory.appendingPathComponent("a.npy"))
        try b.save(npy: directory.appendingPathComponent("b.npy"))
        try NPZ.save([("a", Tensor<Double>(a)), ("b", b)], to: directory.appendingPathComponent("ab.npz"))
        let checks = """
        import numpy as np
        a = np.load('a.npy'); b = np.load('b.npy'); z = np.load('ab.npz')
        ok = a.dtype == np.float32 and a.shape == (2, 3) and np.array_equal(a, [[1.5, -2, 3], [4, 5, 6.25]])
        ok = ok and b.dtype == np.float64 and np.array_equal(b, np.arange(24.0).reshape(2, 3, 4) / 7)
        ok = ok and sorted(z.files) == ['a', 'b'] and np.array_equal(z['a'], a) and np.array_equal(z['b'], b)
        print('ok' if ok else 'mismatch')
        """
        let result = try python(checks)
        #expect(result == "ok")
    }

    @Test(.enabled(if: pythonHasNumPy, "no python3 with NumPy here (`pip install numpy`)"))
    func weReadWhatNumPyWrites() throws {
        let script = """
        import numpy as np
        np.save('n32.npy', np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32))
        np.save('n64.npy', np.linspace(0, 1, 5))
        np.save('n0.npy', np.float64(2.5))
        np.savez('n.npz', w=np.eye(3), v=np.arange(4, dtype=np.float32))
        print('written')
        """
        let result = try python(script)
        #expect(result == "written")
        #expect(try Tensor<Float>(npy: directory.appendingPathComponent("n32.npy")) == Tensor([[0.1, 0.2], [0.3, 0.4]]))
        #expect(try Tensor<Double>(npy: directory.appendingPathComponent("n64.npy")) == Tensor([0, 0.25, 0.5, 0.75, 1]))
        #expect(try Tensor<Double>(npy: directory.appendingPathComponent("n0.npy")) == Tensor(2.5))
        let z = try NPZ.load(directory.appendingPathComponent("n.npz"), as: Double.self)
        #expect(z["w"] == Tensor(identity: 3))
        #expect(z["v"] == Tensor([0, 1, 2, 3]))
    }
}
