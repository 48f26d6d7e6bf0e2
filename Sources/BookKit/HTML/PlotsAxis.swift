import Foundation

/// A mapping from data values to one SVG coordinate, with the ticks a reader sees.
struct PlotScale {
    var lower: Double
    var upper: Double
    var log: Bool
    var ticks: [Double]
    var pixelFrom: Double
    var pixelTo: Double

    func pixel(_ v: Double) -> Double {
        let (a, b, x) = log ? (log10(lower), log10(upper), log10(v)) : (lower, upper, v)
        let t = b == a ? 0.5 : (x - a) / (b - a)
        return pixelFrom + t * (pixelTo - pixelFrom)
    }

    /// Linear scale whose ends sit on 1-2-5 ticks that contain every value.
    static func linear(values: [Double], includeZero: Bool = false, from: Double, to: Double) -> PlotScale {
        var lo = values.filter(\.isFinite).min() ?? 0
        var hi = values.filter(\.isFinite).max() ?? 1
        if includeZero { lo = min(lo, 0); hi = max(hi, 0) }
        if lo == hi { let pad = lo == 0 ? 1 : abs(lo) * 0.1; lo -= pad; hi += pad }
        let ticks = niceTicks(lo, hi)
        return PlotScale(lower: ticks.first!, upper: ticks.last!, log: false, ticks: ticks, pixelFrom: from, pixelTo: to)
    }

    /// Log-10 scale over the positive values, ticked at 1-2-5 per decade (1-9 when the range is short).
    static func logarithmic(values: [Double], from: Double, to: Double) -> PlotScale {
        let positive = values.filter { $0.isFinite && $0 > 0 }
        var lo = positive.min() ?? 1
        var hi = positive.max() ?? 10
        if lo == hi { lo /= 2; hi *= 2 }
        // A little room in log space so the extreme points are not on the frame.
        let pad = (log10(hi) - log10(lo)) * 0.04
        lo = pow(10, log10(lo) - pad); hi = pow(10, log10(hi) + pad)
        // Snap the ends to a nearby 1-2-5 value so the axis starts and ends on a labelled tick.
        func snapped(_ v: Double, down: Bool) -> Double {
            let k = floor(log10(v))
            let steps = [1.0, 2, 5, 10].map { $0 * pow(10, k) }
            let target = down ? steps.last { $0 <= v * 1.000001 } ?? v : steps.first { $0 >= v * 0.999999 } ?? v
            return (down ? v / target : target / v) <= 1.5 ? target : v
        }
        lo = snapped(lo, down: true); hi = snapped(hi, down: false)
        func candidates(_ mantissas: [Double]) -> [Double] {
            var out: [Double] = []
            for k in Int(floor(log10(lo)))...Int(ceil(log10(hi))) {
                for m in mantissas {
                    let v = m * pow(10, Double(k))
                    if v >= lo * 0.999999 && v <= hi * 1.000001 { out.append(v) }
                }
            }
            return out
        }
        var ticks = candidates([1])
        if ticks.count < 3 { ticks = candidates([1, 2, 5]) }
        if ticks.count < 3 { ticks = candidates([1, 2, 3, 4, 5, 6, 7, 8, 9]) }
        if ticks.count < 3 {
            // Less than a factor of about 3 end to end (perplexity 11 to 22): even 1…9 per decade
            // leaves one tick or none, and a reader cannot read the axis. Use evenly spaced
            // 1-2-5 steps instead, and let the axis end on the outer ones.
            let linear = niceTicks(lo, hi, count: 5).filter { $0 > 0 }
            if linear.count >= 2 {
                ticks = linear
                lo = min(lo, linear.first!); hi = max(hi, linear.last!)
            }
        }
        if ticks.count > 9 { ticks = stride(from: 0, to: ticks.count, by: (ticks.count + 7) / 8).map { ticks[$0] } }
        return PlotScale(lower: lo, upper: hi, log: true, ticks: ticks, pixelFrom: from, pixelTo: to)
    }

    /// Tick labels short enough for an axis: as few decimals as the step needs.
    func label(_ v: Double) -> String {
        if abs(v) >= 1e6 || (abs(v) < 1e-3 && v != 0) { return String(format: "%g", v) }
        if log && !Self.evenlySpaced(ticks) { return formatValue(v, spec: abs(v) >= 1e4 ? ",.0f" : nil) }
        let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : 1
        var decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        // A step of 2.5 × 10^k needs one digit more than its magnitude (0.0025 → 4 decimals).
        while decimals < 12, abs((step * pow(10, Double(decimals))).rounded() - step * pow(10, Double(decimals))) > 1e-6 {
            decimals += 1
        }
        return formatValue(v == 0 ? 0 : v, spec: abs(v) >= 1e4 ? ",.\(decimals)f" : ".\(decimals)f")
    }
}

extension PlotScale {
    /// Whether the ticks are equally far apart (linear steps, also used on a short log axis).
    static func evenlySpaced(_ ticks: [Double]) -> Bool {
        guard ticks.count >= 3 else { return false }
        let step = ticks[1] - ticks[0]
        return zip(ticks.dropFirst(), ticks).allSatisfy { abs(($0 - $1) - step) <= abs(step) * 1e-9 }
    }
}

/// About `count` ticks at multiples of 1, 2 or 5 times a power of ten, covering `lo...hi`.
func niceTicks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
    let rawStep = (hi - lo) / Double(max(count - 1, 1))
    let magnitude = pow(10, floor(log10(rawStep)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rawStep } ?? 10 * magnitude
    let start = floor(lo / step + 1e-9) * step
    let end = ceil(hi / step - 1e-9) * step
    var ticks: [Double] = []
    var v = start
    while v <= end + step * 1e-6 {
        // Round away binary noise (3 × 0.2 = 0.6000000000000001) so labels and tests see 0.6.
        ticks.append(abs(v) < step * 1e-9 ? 0 : Double(String(format: "%.12g", v))!)
        v = start + Double(ticks.count) * step
    }
    return ticks
}

/// Text width estimate for layout, since the server cannot measure fonts.
func estimatedTextWidth(_ text: String, fontSize: Double = 12) -> Double {
    text.reduce(0) { $0 + ($1.isASCII ? 0.6 : 1.0) } * fontSize
}

func svgNumber(_ v: Double) -> String { String(format: "%.1f", v) }
