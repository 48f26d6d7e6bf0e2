import Engine
import Foundation

/// Shows a table whose first row is the header.
public func show(table rows: [[String]], caption: String? = nil) {
    checkPrecondition(!rows.isEmpty, "show(table:) needs at least a header row")
    show(table: Array(rows.dropFirst()), header: rows[0], caption: caption)
}

/// Shows a table with an explicit header.
public func show(table rows: [[String]], header: [String], caption: String? = nil) {
    emitOutput(.table(TableOutput(caption: caption, header: header, rows: rows)))
}

/// Shows a dictionary as a two-column table sorted by key.
public func show<Value>(table dictionary: [String: Value], header: [String] = ["name", "value"], caption: String? = nil) {
    let rows = dictionary.keys.sorted().map { [$0, "\(dictionary[$0]!)"] }
    show(table: rows, header: header, caption: caption)
}

/// Shows a tensor as a small matrix with its shape.
public func show<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>, label: String? = nil) {
    let values = tensor.scalars.map { Double($0) }
    emitOutput(.tensor(TensorOutput(label: label, shape: tensor.shape, values: values)))
}

/// Shows a plot (see `PlotOutput.lines`, `.bars`, `.heatmap`).
public func show(plot: PlotOutput) {
    emitOutput(.plot(plot))
}

/// Shows an SVG drawing made by chapter code (the page sanitises it).
public func show(svg: String, caption: String? = nil) {
    emitOutput(.svg(svg, caption: caption))
}

extension PlotOutput {
    /// Line plot of named series against 1, 2, 3, … (for example perplexity per epoch).
    public static func lines(_ series: [String: [Double]], x: String = "", y: String = "", logY: Bool = false,
                             title: String? = nil) -> PlotOutput {
        PlotOutput(kind: .lines, title: title, xLabel: x, yLabel: y, logY: logY,
                   series: series.keys.sorted().map { name in
                       let ys = series[name]!
                       return PlotSeries(name: name, x: ys.indices.map { Double($0 + 1) }, y: ys)
                   })
    }

    /// Line plot of named series, each with its own x values.
    public static func lines(_ series: [(name: String, x: [Double], y: [Double])], x: String = "", y: String = "",
                             logY: Bool = false, title: String? = nil) -> PlotOutput {
        for s in series { checkPrecondition(s.x.count == s.y.count, "series '\(s.name)': \(s.x.count) x values but \(s.y.count) y values") }
        return PlotOutput(kind: .lines, title: title, xLabel: x, yLabel: y, logY: logY,
                          series: series.map { PlotSeries(name: $0.name, x: $0.x, y: $0.y) })
    }

    /// Bar chart: one bar per label, in the given order.
    public static func bars(_ labels: [String], _ values: [Double], x: String = "", y: String = "", logY: Bool = false,
                            title: String? = nil) -> PlotOutput {
        checkPrecondition(labels.count == values.count, "bars: \(labels.count) labels but \(values.count) values")
        return PlotOutput(kind: .bars, title: title, xLabel: x, yLabel: y, logY: logY,
                          series: [PlotSeries(name: y, x: values.indices.map(Double.init), y: values)], categories: labels)
    }

    /// Heatmap of `matrix[row][column]` (for example gradient norms over time lags). Cells in
    /// `marked` are outlined, and `markLabel` says what the outline means.
    public static func heatmap(_ matrix: [[Double]], rows: [String]? = nil, columns: [String]? = nil,
                               x: String = "", y: String = "", title: String? = nil,
                               marked: [(row: Int, column: Int)] = [], markLabel: String? = nil) -> PlotOutput {
        for m in marked {
            checkPrecondition(m.row >= 0 && m.row < matrix.count && m.column >= 0 && m.column < matrix[m.row].count,
                              "heatmap: marked cell (\(m.row), \(m.column)) lies outside the \(matrix.count)-row matrix")
        }
        return PlotOutput(kind: .heatmap, title: title, xLabel: x, yLabel: y,
                          categories: rows ?? matrix.indices.map { "\($0)" }, matrix: matrix,
                          columns: columns ?? (matrix.first ?? []).indices.map { "\($0)" },
                          marks: marked.isEmpty ? nil : marked.map { [$0.row, $0.column] }, markLabel: markLabel)
    }
}

/// Records a named metric for prose (`{{name}}`), claims and the JSON; a non-finite value fails the
/// block, and so does a second value under a name already recorded (a claim could only be judged
/// against one of them: give each value its own name, `ppl_epoch_10`, `ppl_final`).
public func record(_ name: String, _ value: Double, file: String = #filePath, line: Int = #line) {
    let context = BookContext.shared
    guard value.isFinite else { failBlock("metric '\(name)' is \(value)") }
    if let first = context.noteMetric(name, at: "\(file):\(line)") {
        failBlock("\(file):\(line): metric '\(name)' is recorded a second time (first at \(first)); a claim about it would be judged against the last value only: give each value its own name")
    }
    context.emit(.metric(block: context.currentBlock, name: name, value: value))
}

/// Records a named metric of any floating-point or integer type.
public func record<T: BinaryFloatingPoint>(_ name: String, _ value: T, file: String = #filePath, line: Int = #line) {
    record(name, Double(value), file: file, line: line)
}
public func record<T: BinaryInteger>(_ name: String, _ value: T, file: String = #filePath, line: Int = #line) {
    record(name, Double(value), file: file, line: line)
}

/// Reports training progress: a live line on the terminal; a non-finite metric fails the block.
public func progress(epoch: Int, of total: Int, metrics: [String: Double] = [:], tokensPerSecond: Double? = nil) {
    let context = BookContext.shared
    for (name, value) in metrics.sorted(by: { $0.key < $1.key }) where !value.isFinite {
        failBlock("\(name) is \(value) at epoch \(epoch) of \(total)")
    }
    if let task = SideBySideTask.current {
        task.report(epoch: epoch, of: total, metrics: metrics, tokensPerSecond: tokensPerSecond)
        return
    }
    context.emit(.progress(block: context.currentBlock, step: epoch, of: total, metrics: metrics, tokensPerSecond: tokensPerSecond))
}

func emitOutput(_ output: RichOutput) {
    let context = BookContext.shared
    context.emit(.output(block: context.currentBlock, output))
}
