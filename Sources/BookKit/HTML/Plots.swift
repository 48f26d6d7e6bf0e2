import BookProtocol
import Foundation

/// Draws a `PlotOutput` as inline SVG: line plots, bar charts and heatmaps.
/// Colours come from CSS custom properties (with fixed fallbacks), so plots follow dark mode
/// on screen and print in light colours.
public struct PlotRenderer: Sendable {
    public var width: Double = 640
    public var height: Double = 380
    /// Prefix for ids inside the SVG (gradients), unique per plot on a page.
    public var idPrefix: String
    public init(idPrefix: String = "plot") { self.idPrefix = idPrefix }

    /// Fallback series colours (Okabe-Ito, readable for colour-blind readers).
    static let palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7f7f7f", "#000000"]

    /// The SVG markup for `plot`, sized by its viewBox to the width of its container.
    public func svg(for plot: PlotOutput) -> String { markup(for: plot).markup }

    func markup(for plot: PlotOutput) -> HTML {
        switch plot.kind {
        case .lines: lines(plot)
        case .bars: bars(plot)
        case .heatmap: heatmap(plot)
        }
    }

    func open(_ plot: PlotOutput, height h: Double? = nil) -> HTML {
        let title = plot.title ?? [plot.yLabel, plot.xLabel].filter { !$0.isEmpty }.joined(separator: " against ")
        return "<svg class=\"plot plot-\(plot.kind.rawValue)\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(svgNumber(width)) \(svgNumber(h ?? height))\" role=\"img\" font-size=\"12\">"
            + "<title>\(title)</title>"
    }

    /// Frame, grid, ticks and axis labels around the area `x0...x1`, `y1...y0` (y grows down).
    func axes(x: PlotScale?, y: PlotScale, xLabel: String, yLabel: String, x0: Double, x1: Double, y0: Double, y1: Double) -> HTML {
        var out: HTML = "<g class=\"grid\" stroke=\"#d0d0d0\" stroke-width=\"1\">"
        for t in y.ticks { let py = y.pixel(t); out += "<line x1=\"\(svgNumber(x0))\" x2=\"\(svgNumber(x1))\" y1=\"\(svgNumber(py))\" y2=\"\(svgNumber(py))\"/>" }
        if let x { for t in x.ticks { let px = x.pixel(t); out += "<line y1=\"\(svgNumber(y0))\" y2=\"\(svgNumber(y1))\" x1=\"\(svgNumber(px))\" x2=\"\(svgNumber(px))\"/>" } }
        out += "</g><g class=\"axis\" fill=\"#444\">"
        out += "<path class=\"frame\" fill=\"none\" stroke=\"#666\" d=\"M\(svgNumber(x0)),\(svgNumber(y1))V\(svgNumber(y0))H\(svgNumber(x1))\"/>"
        for t in y.ticks {
            out += "<text x=\"\(svgNumber(x0 - 6))\" y=\"\(svgNumber(y.pixel(t) + 4))\" text-anchor=\"end\">\(y.label(t))</text>"
        }
        if let x {
            for t in x.ticks {
                out += "<text x=\"\(svgNumber(x.pixel(t)))\" y=\"\(svgNumber(y0 + 16))\" text-anchor=\"middle\">\(x.label(t))</text>"
            }
        }
        if !xLabel.isEmpty {
            out += "<text class=\"axis-label\" x=\"\(svgNumber((x0 + x1) / 2))\" y=\"\(svgNumber(y0 + 36))\" text-anchor=\"middle\">\(xLabel)</text>"
        }
        if !yLabel.isEmpty {
            let cy = (y0 + y1) / 2
            out += "<text class=\"axis-label\" transform=\"translate(14 \(svgNumber(cy))) rotate(-90)\" text-anchor=\"middle\">\(yLabel)</text>"
        }
        return out + "</g>"
    }

    /// A row of legend entries above the plot area; wraps when it runs out of width.
    func legend(_ names: [String], x0: Double, x1: Double, top: Double, swatch: (Int) -> HTML) -> (svg: HTML, height: Double) {
        var out: HTML = "<g class=\"legend\" fill=\"#444\">"
        var x = x0, y = top + 10
        for (i, name) in names.enumerated() {
            let w = 26 + estimatedTextWidth(name) + 14
            if x + w > x1 && x > x0 { x = x0; y += 18 }
            out += "<g transform=\"translate(\(svgNumber(x)) \(svgNumber(y)))\">\(swatch(i))<text x=\"24\" y=\"4\">\(name)</text></g>"
            x += w
        }
        return (out + "</g>", y - top + 12)
    }

    func lines(_ plot: PlotOutput) -> HTML {
        let series = plot.series
        let left = 64.0, right = width - 16
        let legendBlock = series.count > 1
            ? legend(series.map(\.name), x0: left, x1: right, top: 6) { i in
                "<line class=\"s\(i % 8)\" x1=\"0\" x2=\"18\" y1=\"0\" y2=\"0\" stroke=\"\(Self.palette[i % 8])\" stroke-width=\"2.5\"/>"
            }
            : (svg: "", height: 0)
        let top = 14 + legendBlock.height, bottom = height - 46
        let xs = series.flatMap(\.x), ys = series.flatMap(\.y)
        var x = PlotScale.linear(values: xs, from: left, to: right)
        // Epochs and steps start where the data starts, not at a rounded-down tick.
        if let lo = xs.min(), let hi = xs.max(), lo < hi { x.lower = lo; x.upper = hi; x.ticks = x.ticks.filter { $0 >= lo - 1e-9 && $0 <= hi + 1e-9 } }
        let y = plot.logY ? PlotScale.logarithmic(values: ys, from: bottom, to: top)
                          : PlotScale.linear(values: ys, from: bottom, to: top)
        let offAxis = plot.logY && series.contains { s in zip(s.x, s.y).contains { $0.isFinite && $1.isFinite && $1 <= 0 } }
        var out = open(plot, height: height + (offAxis ? 18 : 0)) + legendBlock.svg
        out += axes(x: x, y: y, xLabel: plot.xLabel, yLabel: plot.yLabel, x0: left, x1: right, y0: bottom, y1: top)
        for (i, s) in series.enumerated() {
            var path = ""
            var penDown = false
            var points: [(Double, Double)] = []
            var below: [(Double, Double)] = []
            for (xv, yv) in zip(s.x, s.y) {
                // A log axis has no place for 0 or less: such a point is marked on the bottom
                // edge (▼, with its value in the tooltip), never silently dropped.
                if plot.logY && xv.isFinite && yv.isFinite && yv <= 0 { below.append((xv, yv)); penDown = false; continue }
                guard xv.isFinite, yv.isFinite, !plot.logY || yv > 0 else { penDown = false; continue }
                let p = (x.pixel(xv), y.pixel(yv))
                path += (penDown ? "L" : "M") + "\(svgNumber(p.0)),\(svgNumber(p.1))"
                penDown = true
                points.append(p)
            }
            let colour = Self.palette[i % 8]
            out += "<g class=\"series s\(i % 8)\" stroke=\"\(colour)\" fill=\"\(colour)\"><title>\(s.name)</title>"
            out += "<path d=\"\(path)\" fill=\"none\" stroke-width=\"2\" stroke-linejoin=\"round\"/>"
            if points.count <= 40 {
                for p in points { out += "<circle cx=\"\(svgNumber(p.0))\" cy=\"\(svgNumber(p.1))\" r=\"2.6\" stroke=\"none\"/>" }
            }
            for (xv, yv) in below {
                let px = x.pixel(xv)
                out += "<path class=\"off-axis\" d=\"M\(svgNumber(px - 5)),\(svgNumber(bottom - 9))H\(svgNumber(px + 5))L\(svgNumber(px)),\(svgNumber(bottom - 1))Z\" stroke=\"none\">"
                    + "<title>\(s.name): \(x.label(xv)) → \(formatValue(yv, spec: nil)) (no place on a log axis)</title></path>"
            }
            out += "</g>"
        }
        if offAxis {
            out += "<text class=\"off-axis-note\" x=\"\(svgNumber(right))\" y=\"\(svgNumber(height + 10))\" text-anchor=\"end\" fill=\"#444\">▼ on the bottom edge: a value of 0 or less, which a log axis cannot show</text>"
        }
        return out + "</svg>"
    }

    func bars(_ plot: PlotOutput) -> HTML {
        let series = plot.series
        let count = max(series.map(\.y.count).max() ?? 0, plot.categories?.count ?? 0)
        let labels: [String] = (0..<count).map { i in barLabel(plot, i) }
        let left = 64.0, right = width - 16
        let legendBlock = series.count > 1
            ? legend(series.map(\.name), x0: left, x1: right, top: 6) { i in
                "<rect class=\"s\(i % 8)\" x=\"0\" y=\"-6\" width=\"18\" height=\"12\" fill=\"\(Self.palette[i % 8])\"/>"
            }
            : (svg: "", height: 0)
        let rotate = count > 0 && (labels.map { estimatedTextWidth($0) }.max() ?? 0) > (right - left) / Double(count) - 2
        let labelRoom = rotate ? min(90, (labels.map { estimatedTextWidth($0) }.max() ?? 0) * 0.75 + 10) : 0
        let top = 14 + legendBlock.height, bottom = height - 46 - labelRoom
        let y = plot.logY ? PlotScale.logarithmic(values: series.flatMap(\.y), from: bottom, to: top)
                          : PlotScale.linear(values: series.flatMap(\.y), includeZero: true, from: bottom, to: top)
        var out = open(plot) + legendBlock.svg
        out += axes(x: nil, y: y, xLabel: "", yLabel: plot.yLabel, x0: left, x1: right, y0: bottom, y1: top)
        let band = (right - left) / Double(max(count, 1))
        let fill = series.count > 1 ? 0.8 : 0.6
        let barWidth = band * fill / Double(max(series.count, 1))
        let base = y.pixel(plot.logY ? y.lower : (y.lower <= 0 && y.upper >= 0 ? 0 : y.lower))
        for (si, s) in series.enumerated() {
            let colour = Self.palette[si % 8]
            out += "<g class=\"series s\(si % 8)\" fill=\"\(colour)\">"
            for (i, v) in s.y.enumerated() where v.isFinite && (!plot.logY || v > 0) {
                let px = left + band * (Double(i) + (1 - fill) / 2) + barWidth * Double(si)
                let py = y.pixel(v)
                out += "<rect x=\"\(svgNumber(px))\" y=\"\(svgNumber(min(py, base)))\" width=\"\(svgNumber(max(barWidth - 1, 1)))\" height=\"\(svgNumber(abs(base - py)))\"><title>\(labels[i]): \(formatValue(v, spec: nil))</title></rect>"
            }
            out += "</g>"
        }
        out += "<g class=\"axis\" fill=\"#444\">"
        for (i, label) in labels.enumerated() {
            let cx = left + band * (Double(i) + 0.5)
            if rotate {
                out += "<text transform=\"translate(\(svgNumber(cx + 4)) \(svgNumber(bottom + 12))) rotate(-40)\" text-anchor=\"end\">\(label)</text>"
            } else {
                out += "<text x=\"\(svgNumber(cx))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(label)</text>"
            }
        }
        if !plot.xLabel.isEmpty {
            out += "<text class=\"axis-label\" x=\"\(svgNumber((left + right) / 2))\" y=\"\(svgNumber(height - 10))\" text-anchor=\"middle\">\(plot.xLabel)</text>"
        }
        return out + "</g></svg>"
    }
}

/// The label of bar `i`: its category, else its x position, else its ordinal.
func barLabel(_ plot: PlotOutput, _ i: Int) -> String {
    if let c = plot.categories, i < c.count { return c[i] }
    if let s = plot.series.first, i < s.x.count { return formatValue(s.x[i], spec: nil) }
    return String(i + 1)
}
