import Foundation

/// The one JSON dialect of the side channel. Checks carry errors that may be infinite (a shape
/// mismatch) or NaN, which plain JSON cannot hold: both ends spell them as strings, so such an
/// event is never dropped on the way.
public enum ChannelCoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
