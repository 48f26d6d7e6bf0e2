import Foundation

/// `{#sec-name}` at the end of a heading or `{#fig-name}` right after a figure, as the lifter found it.
struct AttributeLabel: Sendable, Equatable {
    var label: String
    var location: SourceLocation
}

/// A heading of a chapter, numbered as the book numbers it: `path` [3, 1] is section 3.1 of the
/// chapter (the page shows "2.3.1" in chapter 2).
public struct SectionInfo: Codable, Sendable, Equatable {
    public var level: Int
    public var path: [Int]
    /// `sec-…` when the heading has `{#sec-…}`.
    public var label: String?
    public var title: String
    public var location: SourceLocation
    public init(level: Int, path: [Int], label: String?, title: String, location: SourceLocation) {
        self.level = level; self.path = path; self.label = label; self.title = title; self.location = location
    }
}

/// A numbered figure: a paragraph holding only an image, or the plot of a code block with
/// `label="fig-…" fig-cap="…"`; its 1-based number in the chapter (both kinds share one sequence,
/// in document order).
public struct FigureInfo: Codable, Sendable, Equatable {
    public var number: Int
    public var label: String?
    public var location: SourceLocation
    /// True for a code block's plot (its caption is the block's `fig-cap`); nil for a Markdown figure.
    public var plot: Bool?
    public init(number: Int, label: String?, location: SourceLocation, plot: Bool = false) {
        self.number = number; self.label = label; self.location = location; self.plot = plot ? true : nil
    }
}

/// A label written `{#sec-…}`/`{#fig-…}` (the lifter's branch); nil for other `{#…}` text.
func attributeLabel(_ c: [Character], at i: Int, location: SourceLocation) throws -> (AttributeLabel, Int)? {
    let kinds = ["sec-", "fig-"]
    guard let kind = kinds.first(where: { c[(i + 2)...].starts(with: $0) }) else { return nil }
    let line = c[(i + 2)...].prefix(while: { $0 != "\n" })
    guard let close = line.firstIndex(of: "}") else {
        throw BookError("label '{#\(String(line))' is not closed by '}'; expected {#\(kind)NAME}", at: location)
    }
    let label = String(c[(i + 2)..<close])
    guard isValidLabel(label, prefix: kind) else {
        throw BookError("malformed label '{#\(label)}'; expected {#\(kind)NAME} with NAME made of ASCII letters, digits, '-' and '_' (so that @\(kind)NAME can refer to it)", at: location)
    }
    return (AttributeLabel(label: label, location: location), close + 1)
}

/// A label `@prefix…` can name: the prefix, then ASCII letters, digits, `-`, `_`, not ending in `-`.
func isValidLabel(_ label: String, prefix: String) -> Bool {
    guard label.hasPrefix(prefix), label.count > prefix.count, label.last != "-" else { return false }
    return label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
}

extension Chapter {
    /// Every label this chapter defines (equations, sections, figures) with where it is defined.
    var definedLabels: [String: SourceLocation] {
        var out: [String: SourceLocation] = [:]
        for e in equations { if let l = e.label { out[l] = e.location } }
        for s in sections ?? [] { if let l = s.label { out[l] = s.location } }
        for f in figures ?? [] { if let l = f.label { out[l] = f.location } }
        return out
    }

    /// The `@eq-…`, `@sec-…`, `@fig-…` references of the chapter's prose.
    var crossReferences: [(label: String, location: SourceLocation)] {
        inlines.compactMap { if case .reference(let label, let location) = $0 { (label, location) } else { nil } }
    }
}

/// The labels one chapter defines, with where: all that resolving the references of the other
/// chapters needs from it.
public struct ChapterLabels: Sendable {
    public var path: String
    public var slug: String
    public var labels: [String: SourceLocation]

    public init(_ chapter: Chapter) {
        path = chapter.path; slug = chapter.slug; labels = chapter.definedLabels
    }

    /// The labels of chapter `source` read without parsing the chapter: its maths and `{#…}`
    /// labels are lifted (front matter, Markdown and code are not parsed), so that another
    /// chapter that does not parse still lends its labels to a build (see `ParsedBook.labels()`).
    /// A label the full parse would refuse (`{#sec-…}` not ending a heading) counts here; that
    /// chapter's own build reports it.
    public init(scanning source: String, path: String) throws {
        self.path = path
        slug = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let (_, _, body) = splitFrontMatter(source.replacingOccurrences(of: "\r\n", with: "\n"))
        let lifted = try liftMath(from: body, file: path)
        var labels: [String: SourceLocation] = [:]
        for d in lifted.displays { if let l = d.label { labels[l] = d.location } }
        // A heading or figure is placed at the start of its line, where its label is written.
        for a in lifted.attributes { labels[a.label] = SourceLocation(file: path, line: a.location.line, column: 1) }
        for (label, location) in Self.plotLabels(in: body, path: path) {
            labels[label] = location
        }
        self.labels = labels
    }

    /// `label="fig-…"` on the opening fence of each ```` ```swift ```` block of `body` (the file
    /// with its front matter blanked, so lines keep their numbers), found line by line as
    /// CommonMark opens and closes fences: a fence inside another block's code is code.
    static func plotLabels(in body: String, path: String) -> [(String, SourceLocation)] {
        var out: [(String, SourceLocation)] = []
        var open: (mark: Character, count: Int)?
        for (k, line) in body.components(separatedBy: "\n").enumerated() {
            let indent = line.prefix(while: { $0 == " " }).count
            guard indent < 4 else { continue }
            let rest = line.dropFirst(indent)
            guard let mark = rest.first, mark == "`" || mark == "~" else { continue }
            let count = rest.prefix(while: { $0 == mark }).count
            guard count >= 3 else { continue }
            let info = rest.dropFirst(count).trimmingCharacters(in: .whitespaces)
            if let fence = open {
                if mark == fence.mark && count >= fence.count && info.isEmpty { open = nil }
                continue
            }
            open = (mark, count)
            let location = SourceLocation(file: path, line: k + 1, column: indent + 1)
            guard let words = try? fenceWords(info, at: location), words.first == "swift" else { continue }
            for word in words where word.hasPrefix("label=\"") && word.hasSuffix("\"") && word.count > 8 {
                out.append((String(word.dropFirst(7).dropLast()), location))
            }
        }
        return out
    }
}

/// Resolves cross-references across the book: a label of the chapter itself first, else the one
/// chapter that defines it.
public enum CrossReferences {
    /// Throws at the first reference of `chapter` that names no label of `book` (which may hold
    /// `chapter` itself) or a label that two other chapters define. `unparsed` names chapter
    /// files that did not parse, whose labels are unknown.
    public static func check(_ chapter: Chapter, in book: [Chapter], unparsed: [String] = []) throws {
        try check(chapter, labels: book.map(ChapterLabels.init), unknown: unparsed.map { ($0, "did not parse") })
    }

    /// The same with each other chapter's labels only; `unknown` names the chapter files whose
    /// labels are unknown and why ("did not parse", "could not be read: … over the limit").
    public static func check(_ chapter: Chapter, labels book: [ChapterLabels], unknown: [(path: String, why: String)]) throws {
        let own = chapter.definedLabels
        for (label, location) in chapter.crossReferences where own[label] == nil {
            var definers: [(String, SourceLocation)] = []
            for other in book where other.slug != chapter.slug {
                if let at = other.labels[label] { definers.append((other.path, at)) }
            }
            if definers.count > 1 {
                let places = definers.map { "\($0.1)" }.joined(separator: " and ")
                throw BookError("@\(label) is ambiguous: \(places) both define it; rename one of the labels", at: location)
            }
            if definers.isEmpty {
                let kind = label.prefix(while: { $0 != "-" }) + "-"
                let known = Set(book.flatMap { $0.labels.keys } + own.keys).filter { $0.hasPrefix(kind) }
                let what = kind == "eq-" ? "labelled equation" : kind == "sec-" ? "labelled section ({#sec-…} after a heading)" : "labelled figure ({#fig-…} after an image, or label=\"fig-…\" on a plot's code block)"
                var hint = Bibliography.suggestion(for: label, among: Array(known))
                if hint.isEmpty { hint = known.isEmpty ? "; the book has no \(kind) labels" : "" }
                let files = unknown.map { "\($0.path) \($0.why)" }.joined(separator: "; ")
                let note = unknown.isEmpty ? "" : " (\(files), so \(unknown.count == 1 ? "its labels are" : "their labels are") unknown)"
                throw BookError("@\(label) refers to no \(what) in the book\(hint)\(note)", at: location)
            }
        }
    }
}

/// Where a label lives in the built book, and how a reference to it reads.
struct CrossReferenceTarget: Sendable, Equatable {
    var page: String
    /// "2.1" for equation 1 of chapter 2, "2.3" for section 3, "2.1" for figure 1.
    var number: String
    var kind: Kind
    enum Kind: Sendable { case equation, section, figure }

    /// How the reference reads in prose: "(2.1)", "Section 2.3", "Figure 2.1".
    var text: String {
        switch kind {
        case .equation: "(\(number))"
        case .section: "Section \(number)"
        case .figure: "Figure \(number)"
        }
    }
}

/// Every label of the book, numbered by chapter position (chapter 1 is the first page).
struct CrossReferenceTargets: Sendable {
    private var byChapter: [String: [String: CrossReferenceTarget]] = [:]
    private var everywhere: [String: [CrossReferenceTarget]] = [:]

    init(_ chapters: [Chapter]) {
        for (position, chapter) in chapters.enumerated() {
            let n = position + 1
            var mine: [String: CrossReferenceTarget] = [:]
            var count = 0
            for eq in chapter.equations {
                guard let label = eq.label else { continue }
                count += 1
                mine[label] = CrossReferenceTarget(page: chapter.slug, number: "\(n).\(eq.number ?? count)", kind: .equation)
            }
            for s in chapter.sections ?? [] {
                if let label = s.label { mine[label] = CrossReferenceTarget(page: chapter.slug, number: Self.sectionNumber(chapter: n, s.path), kind: .section) }
            }
            for f in chapter.figures ?? [] {
                if let label = f.label { mine[label] = CrossReferenceTarget(page: chapter.slug, number: "\(n).\(f.number)", kind: .figure) }
            }
            byChapter[chapter.slug] = mine
            for (label, target) in mine { everywhere[label, default: []].append(target) }
        }
    }

    static func sectionNumber(chapter: Int, _ path: [Int]) -> String { ([chapter] + path).map(String.init).joined(separator: ".") }

    /// The target of `label` referenced from the chapter `slug`: its own label first, else the
    /// one other chapter's; nil when none or several.
    func target(_ label: String, from slug: String) -> CrossReferenceTarget? {
        if let own = byChapter[slug]?[label] { return own }
        let others = (everywhere[label] ?? []).filter { $0.page != slug }
        return others.count == 1 ? others[0] : nil
    }
}

/// Numbers a chapter's headings and figures while the parser walks its blocks, and gives each
/// `{#sec-…}`/`{#fig-…}` label to the block it ends.
struct ChapterOutline {
    private var attributes: [AttributeLabel]
    private var used: Set<Int> = []
    private var counters: [Int] = []
    private var seen: [String: SourceLocation] = [:]
    private(set) var sections: [SectionInfo] = []
    private(set) var figures: [FigureInfo] = []

    init(attributes: [AttributeLabel]) { self.attributes = attributes }

    /// The label of `kind` written in the block that starts at `location` (lines before `next`).
    private mutating func label(_ kind: String, at location: SourceLocation, before next: Int) throws -> String? {
        let mine = attributes.indices.filter { !used.contains($0) && attributes[$0].location.line >= location.line && attributes[$0].location.line < next }
        guard let first = mine.first else { return nil }
        let found = attributes[first]
        guard found.label.hasPrefix(kind) else { return nil }
        if mine.count > 1 {
            throw BookError("a second label '{#\(attributes[mine[1]].label)}' on the same \(kind == "sec-" ? "heading" : "figure"); it already has '{#\(found.label)}'", at: attributes[mine[1]].location)
        }
        if let earlier = seen[found.label] {
            throw BookError("label '\(found.label)' is already used at line \(earlier.line)", at: found.location)
        }
        used.insert(first)
        seen[found.label] = found.location
        return found.label
    }

    /// Numbers a heading (level 2 is a section, level 3 a subsection, …) and gives it its
    /// `{#sec-…}` label; nil for the chapter's title (level 1).
    mutating func addHeading(level: Int, title: String, at location: SourceLocation, before next: Int) throws -> SectionInfo? {
        let label = try self.label("sec-", at: location, before: next)
        if level == 1 {
            if let label {
                throw BookError("label '{#\(label)}' is on a level-1 heading, which is the chapter's title; label sections (## and below), or refer to the chapter by a link", at: location)
            }
            return nil
        }
        let depth = level - 1
        if counters.count < depth { counters += Array(repeating: 0, count: depth - counters.count) }
        counters = Array(counters.prefix(depth))
        counters[depth - 1] += 1
        let section = SectionInfo(level: level, path: counters, label: label, title: title.trimmingCharacters(in: .whitespaces), location: location)
        sections.append(section)
        return section
    }

    /// Numbers a figure (an image in a paragraph of its own).
    mutating func addFigure(at location: SourceLocation, before next: Int) throws {
        let label = try self.label("fig-", at: location, before: next)
        figures.append(FigureInfo(number: figures.count + 1, label: label, location: location))
    }

    /// Numbers the plot of a code block labelled `label="fig-…"` (at its fence), in the same
    /// sequence as Markdown figures; its label must be unique among the chapter's labels.
    mutating func addPlot(label: String, at location: SourceLocation) throws {
        if let earlier = seen[label] {
            throw BookError("label '\(label)' is already used at line \(earlier.line); each figure needs a label of its own", at: location)
        }
        seen[label] = location
        figures.append(FigureInfo(number: figures.count + 1, label: label, location: location, plot: true))
    }

    /// A label that no heading or figure took was written somewhere it labels nothing.
    func finish() throws {
        for (i, a) in attributes.enumerated() where !used.contains(i) {
            if a.label.hasPrefix("sec-") {
                throw BookError("label '{#\(a.label)}' is not at the end of a heading; write it as '## Title {#\(a.label)}'", at: a.location)
            }
            throw BookError("label '{#\(a.label)}' does not follow a figure; a figure is an image in a paragraph of its own, labelled as ![caption](path){#\(a.label)}", at: a.location)
        }
    }
}
