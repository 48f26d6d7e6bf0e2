import BookProtocol
import Foundation

extension PlotRenderer {
    /// Viridis stops: perceptually even, readable in grey print and on a dark page.
    static let viridis: [(Double, Double, Double)] = [
        (0x44, 0x01, 0x54), (0x47, 0x2d, 0x7b), (0x3b, 0x52, 0x8b), (0x2c, 0x72, 0x8e), (0x21, 0x91, 0x8c),
        (0x28, 0xae, 0x80), (0x5e, 0xc9, 0x62), (0xad, 0xdc, 0x30), (0xfd, 0xe7, 0x25),
    ]

    /// Colour for `t` in 0...1 on the viridis scale, as `#rrggbb`.
    static func colour(_ t: Double) -> String {
        let t = min(max(t.isFinite ? t : 0, 0), 1) * Double(viridis.count - 1)
        let i = min(Int(t), viridis.count - 2)
        let f = t - Double(i)
        let (a, b) = (viridis[i], viridis[i + 1])
        func mix(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * f).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// Rows × columns of coloured cells, row labels on the left, a colour bar on the right.
    /// `logY` makes the colour scale logarithmic (gradient norms span many decades).
    func heatmap(_ plot: PlotOutput) -> HTML {
        let matrix = plot.matrix ?? []
        let rows = matrix.count, cols = matrix.map(\.count).max() ?? 0
        let rowLabels = plot.categories ?? []
        let colLabels = plot.columns ?? []
        let labelWidth = min(120, max(30, (rowLabels.map { estimatedTextWidth($0) }.max() ?? 0) + 10))
        let left = labelWidth + (plot.yLabel.isEmpty ? 8 : 26), right = width - 90
        let top = 12.0, bottom = height - 50
        let values = matrix.flatMap { $0 }
        let scale = plot.logY ? PlotScale.logarithmic(values: values, from: bottom, to: top)
                              : PlotScale.linear(values: values, from: bottom, to: top)
        func unit(_ v: Double) -> Double {
            plot.logY ? (log10(v) - log10(scale.lower)) / (log10(scale.upper) - log10(scale.lower))
                      : (v - scale.lower) / (scale.upper - scale.lower)
        }
        let cw = (right - left) / Double(max(cols, 1)), ch = (bottom - top) / Double(max(rows, 1))
        var out = open(plot)
        out += "<g class=\"cells\">"
        for (r, row) in matrix.enumerated() {
            for (c, v) in row.enumerated() {
                let ok = v.isFinite && (!plot.logY || v > 0)
                let fill = ok ? Self.colour(unit(v)) : "#9a9a9a"
                let rl = r < rowLabels.count ? rowLabels[r] : "\(r)", cl = c < colLabels.count ? colLabels[c] : "\(c)"
                out += "<rect x=\"\(svgNumber(left + Double(c) * cw))\" y=\"\(svgNumber(top + Double(r) * ch))\" width=\"\(svgNumber(cw + 0.4))\" height=\"\(svgNumber(ch + 0.4))\" fill=\"\(fill)\"><title>\(rl), \(cl): \(formatValue(v, spec: ".4g"))</title></rect>"
            }
        }
        // Outlined cells (the targets of a prediction): a dark and a light ring, visible on any colour.
        for mark in plot.marks ?? [] where mark.count == 2 && mark[0] < rows && mark[1] < cols {
            let mx = left + Double(mark[1]) * cw, my = top + Double(mark[0]) * ch
            for (colour, inset) in [("#000000", 1.0), ("#ffffff", 2.5)] {
                out += "<rect class=\"mark\" x=\"\(svgNumber(mx + inset))\" y=\"\(svgNumber(my + inset))\" width=\"\(svgNumber(max(cw - 2 * inset, 1)))\" height=\"\(svgNumber(max(ch - 2 * inset, 1)))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\"/>"
            }
        }
        out += "</g><g class=\"axis\" fill=\"#444\">"
        // Label every row and column when the labels fit (single characters do, even narrow), else every k-th.
        let widest = (colLabels.map { estimatedTextWidth($0) }.max() ?? 12) + 2
        let rowStep = max(1, Int((14 / ch).rounded(.up))), colStep = max(1, Int((widest / cw).rounded(.up)))
        for r in stride(from: 0, to: rows, by: rowStep) {
            let label = r < rowLabels.count ? rowLabels[r] : "\(r)"
            out += "<text x=\"\(svgNumber(left - 5))\" y=\"\(svgNumber(top + (Double(r) + 0.5) * ch + 4))\" text-anchor=\"end\">\(label)</text>"
        }
        for c in stride(from: 0, to: cols, by: colStep) {
            let label = c < colLabels.count ? colLabels[c] : "\(c)"
            out += "<text x=\"\(svgNumber(left + (Double(c) + 0.5) * cw))\" y=\"\(svgNumber(bottom + 16))\" text-anchor=\"middle\">\(label)</text>"
        }
        if !plot.xLabel.isEmpty {
            out += "<text class=\"axis-label\" x=\"\(svgNumber((left + right) / 2))\" y=\"\(svgNumber(bottom + 36))\" text-anchor=\"middle\">\(plot.xLabel)</text>"
        }
        if let label = plot.markLabel, !(plot.marks ?? []).isEmpty {
            // Bottom right, clear of the centred axis label.
            let lx = right - estimatedTextWidth(label) - 16
            out += "<rect x=\"\(svgNumber(lx))\" y=\"\(svgNumber(bottom + 27))\" width=\"11\" height=\"11\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>"
            out += "<text x=\"\(svgNumber(lx + 16))\" y=\"\(svgNumber(bottom + 37))\">\(label)</text>"
        }
        if !plot.yLabel.isEmpty {
            out += "<text class=\"axis-label\" transform=\"translate(14 \(svgNumber((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(plot.yLabel)</text>"
        }
        // Colour bar: a vertical gradient with the value ticks of the scale.
        let gid = "\(idPrefix)-viridis"
        let bx = right + 18
        out += "<defs><linearGradient id=\"\(gid)\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">"
        for (i, _) in Self.viridis.enumerated() {
            let t = Double(i) / Double(Self.viridis.count - 1)
            out += "<stop offset=\"\(String(format: "%.3f", t))\" stop-color=\"\(Self.colour(t))\"/>"
        }
        out += "</linearGradient></defs>"
        out += "<rect class=\"colourbar\" x=\"\(svgNumber(bx))\" y=\"\(svgNumber(top))\" width=\"14\" height=\"\(svgNumber(bottom - top))\" fill=\"url(#\(gid))\" stroke=\"#666\" stroke-width=\"0.5\"/>"
        for t in scale.ticks {
            let py = scale.pixel(t)
            out += "<line x1=\"\(svgNumber(bx + 14))\" x2=\"\(svgNumber(bx + 18))\" y1=\"\(svgNumber(py))\" y2=\"\(svgNumber(py))\" stroke=\"#666\"/>"
            out += "<text x=\"\(svgNumber(bx + 21))\" y=\"\(svgNumber(py + 4))\">\(scale.label(t))</text>"
        }
        return out + "</g></svg>"
    }
}
