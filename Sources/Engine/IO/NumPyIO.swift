import Foundation

/// Reading and writing NumPy's `.npy` (format 1.0, C order, little-endian `<f4`/`<f8`) and
/// `.npz` (a zip archive of `.npy` files, written uncompressed), so that parameters, batches and
/// gradients can be cross-checked in Python.

/// A file that is not the NumPy data we can read: says which file, what was expected, what was found.
public struct NumPyFormatError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Tensor {
    /// The tensor as the bytes of a `.npy` file (format 1.0, header padded to 64 bytes).
    public func npyData() -> Data {
        let shapeText = shape.isEmpty ? "()" : shape.count == 1 ? "(\(shape[0]),)"
            : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(Scalar.npyDescriptor)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        scalars.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!)
            .assumingMemoryBound(to: UInt8.self), count: $0.count * MemoryLayout<Scalar>.size)) }
        return data
    }

    /// Reads `.npy` bytes holding float32 or float64 data (converted to `Scalar`).
    /// `source` names the file in error messages.
    public init(npyData data: Data, source: String = "<npy data>") throws(NumPyFormatError) {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw NumPyFormatError("\(source): expected a .npy file starting with \\x93NUMPY, found \(bytes.prefix(6).map { String(format: "%02x", $0) }.joined(separator: " "))")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NumPyFormatError("\(source): truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; headerStart = 12
        default: throw NumPyFormatError("\(source): expected .npy format version 1, 2 or 3, found \(major).\(bytes[7])")
        }
        guard bytes.count >= headerStart + headerLength,
              let header = String(bytes: bytes[headerStart ..< headerStart + headerLength], encoding: .utf8) else {
            throw NumPyFormatError("\(source): truncated or unreadable .npy header")
        }
        func field(_ key: String) -> Substring? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return header[r.upperBound...].drop { $0 == " " }
        }
        guard let descrField = field("descr"), descrField.first == "'",
              let descr = descrField.dropFirst().split(separator: "'", maxSplits: 1).first.map(String.init) else {
            throw NumPyFormatError("\(source): the .npy header has no 'descr': \(header)")
        }
        let elementSize: Int
        switch descr {
        case "<f4": elementSize = 4
        case "<f8": elementSize = 8
        default: throw NumPyFormatError("\(source): expected dtype '<f4' or '<f8' (little-endian float), found '\(descr)'")
        }
        if let order = field("fortran_order"), order.hasPrefix("True") {
            throw NumPyFormatError("\(source): expected C order, found fortran_order True (save np.ascontiguousarray(x))")
        }
        guard let shapeField = field("shape"), shapeField.first == "(",
              let close = shapeField.firstIndex(of: ")") else {
            throw NumPyFormatError("\(source): the .npy header has no 'shape': \(header)")
        }
        var shape: [Int] = []
        for part in shapeField[shapeField.index(after: shapeField.startIndex) ..< close].split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let n = Int(text.hasSuffix("L") ? String(text.dropLast()) : text), n >= 0 else {
                throw NumPyFormatError("\(source): expected integer extents in 'shape', found '\(text)'")
            }
            shape.append(n)
        }
        let count = shape.reduce(1, *)
        let start = headerStart + headerLength
        guard bytes.count - start == count * elementSize else {
            throw NumPyFormatError("\(source): shape \(shape) of \(descr) needs \(count * elementSize) data bytes, found \(bytes.count - start)")
        }
        var values = [Scalar](); values.reserveCapacity(count)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + start
            for i in 0..<count {
                if elementSize == 4 {
                    values.append(Scalar(Double(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))))
                } else {
                    values.append(Scalar(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))))
                }
            }
        }
        self.init(shape: shape, scalars: values)
    }

    /// Writes the tensor as a `.npy` file.
    public func save(npy url: URL) throws {
        try npyData().write(to: url)
    }

    /// Reads a `.npy` file of float32 or float64 data.
    public init(npy url: URL) throws {
        let data = try Data(contentsOf: url)
        try self.init(npyData: data, source: url.path)
    }
}

/// `.npz` archives: named tensors in one zip file, as `numpy.savez` writes and `numpy.load` reads.
public enum NPZ {
    /// Writes `arrays` (name → tensor, stored as `name.npy` in the given order) uncompressed.
    public static func save<S: TensorScalar>(_ arrays: [(name: String, tensor: Tensor<S>)], to url: URL) throws {
        var archive = Data(), central = Data()
        for (name, tensor) in arrays {
            let payload = tensor.npyData()
            let fileName = Array((name + ".npy").utf8)
            let crc = crc32(payload)
            let offset = UInt32(archive.count)
            // Local file header: version 2.0, no flags, method 0 (stored), DOS time 1980-01-01.
            archive.append(le32(0x04034b50)); archive.append(le16(20)); archive.append(le16(0)); archive.append(le16(0))
            archive.append(le16(0)); archive.append(le16(0x21))
            archive.append(le32(crc)); archive.append(le32(UInt32(payload.count))); archive.append(le32(UInt32(payload.count)))
            archive.append(le16(UInt16(fileName.count))); archive.append(le16(0))
            archive.append(contentsOf: fileName)
            archive.append(payload)
            central.append(le32(0x02014b50)); central.append(le16(20)); central.append(le16(20)); central.append(le16(0))
            central.append(le16(0)); central.append(le16(0)); central.append(le16(0x21))
            central.append(le32(crc)); central.append(le32(UInt32(payload.count))); central.append(le32(UInt32(payload.count)))
            central.append(le16(UInt16(fileName.count))); central.append(le16(0)); central.append(le16(0))
            central.append(le16(0)); central.append(le16(0)); central.append(le32(0)); central.append(le32(offset))
            central.append(contentsOf: fileName)
        }
        let centralOffset = UInt32(archive.count)
        archive.append(central)
        archive.append(le32(0x06054b50)); archive.append(le16(0)); archive.append(le16(0))
        archive.append(le16(UInt16(arrays.count))); archive.append(le16(UInt16(arrays.count)))
        archive.append(le32(UInt32(central.count))); archive.append(le32(centralOffset)); archive.append(le16(0))
        try archive.write(to: url)
    }

    /// Reads every `.npy` member of an uncompressed `.npz` (as `numpy.savez` writes), keyed by
    /// name without `.npy`. Compressed archives (`savez_compressed`) are refused with a message.
    public static func load<S: TensorScalar>(_ url: URL, as: S.Type = S.self) throws -> [String: Tensor<S>] {
        let bytes = [UInt8](try Data(contentsOf: url))
        let source = url.path
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        func u64(_ i: Int) -> Int { u32(i) | u32(i + 4) << 32 }
        // The end-of-central-directory record sits in the last 22 + 65535 bytes.
        var eocd = -1
        var i = bytes.count - 22
        while i >= Swift.max(0, bytes.count - 22 - 65535) {
            if u32(i) == 0x06054b50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw NumPyFormatError("\(source): expected a zip archive (.npz), found no end-of-central-directory record") }
        let entries = u16(eocd + 10)
        var p = u32(eocd + 16)
        var result: [String: Tensor<S>] = [:]
        for _ in 0..<entries {
            guard p + 46 <= bytes.count, u32(p) == 0x02014b50 else {
                throw NumPyFormatError("\(source): corrupt zip central directory at byte \(p)")
            }
            let method = u16(p + 10)
            var compressed = u32(p + 20), uncompressed = u32(p + 24)
            let nameLength = u16(p + 28), extraLength = u16(p + 30), commentLength = u16(p + 32)
            var localOffset = u32(p + 42)
            let name = String(decoding: bytes[(p + 46) ..< (p + 46 + nameLength)], as: UTF8.self)
            // Zip64 extra field (numpy writes with force_zip64): 64-bit sizes and offset, in this order,
            // present only for the 32-bit fields that are 0xFFFFFFFF.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e), size = u16(e + 2)
                if id == 0x0001 {
                    var q = e + 4
                    if uncompressed == 0xFFFF_FFFF { uncompressed = u64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = u64(q); q += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = u64(q) }
                }
                e += 4 + size
            }
            p = extraEnd + commentLength
            guard method == 0 else {
                throw NumPyFormatError("\(source): member \(name) is compressed (method \(method)); expected stored (numpy.savez, not savez_compressed)")
            }
            guard u32(localOffset) == 0x04034b50 else {
                throw NumPyFormatError("\(source): corrupt local header for member \(name)")
            }
            let dataStart = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
            guard dataStart + compressed <= bytes.count else {
                throw NumPyFormatError("\(source): member \(name) runs past the end of the file")
            }
            let key = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            result[key] = try Tensor<S>(npyData: Data(bytes[dataStart ..< dataStart + compressed]), source: "\(source)[\(name)]")
        }
        return result
    }

    private static func le16(_ v: UInt16) -> Data { Data([UInt8(v & 0xff), UInt8(v >> 8)]) }
    private static func le32(_ v: UInt32) -> Data { Data((0..<4).map { UInt8((v >> (8 * $0)) & 0xff) }) }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (IEEE 802.3), as zip requires for every member.
    static func crc32(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data { c = crcTable[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
