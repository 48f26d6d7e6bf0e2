import Foundation
import BookProtocol

/// Reads chapters: front matter, maths lifted out, Markdown parsed by cmark, segments in order.
public struct ChapterParser: Sendable {
    public init() {}

    /// Parses the chapter at `url`; `displayPath` is how messages name it (`chapters/02-rnn.md`).
    public func parse(contentsOf url: URL, displayPath: String) throws -> Chapter {
        let source = try readBoundedText(url, displayPath: displayPath, what: "chapter")
        return try parse(source: source, path: displayPath, baseDirectory: url.deletingLastPathComponent())
    }

    /// Parses chapter `source` whose path relative to the book root is `path`. With `baseDirectory`
    /// (the folder of the chapter file) every local image must exist there; without it (sources
    /// made up in tests) images are not looked for.
    public func parse(source: String, path: String, baseDirectory: URL? = nil) throws -> Chapter {
        let slug = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let normalized = source.replacingOccurrences(of: "\r\n", with: "\n")
        let (yaml, yamlLine, body) = splitFrontMatter(normalized)
        if yaml == nil, normalized.prefix(while: { $0 != "\n" }).trimmingCharacters(in: .whitespaces) == "---" {
            throw BookError("front matter opened by '---' is never closed; expected a line '---' after the YAML", at: SourceLocation(file: path, line: 1))
        }
        let front = try yaml.map { try parseFrontMatter($0, firstLine: yamlLine, file: path) } ?? FrontMatter()
        let calloutScan = try CalloutScan(body: body, file: path)
        let lifted = try liftMath(from: calloutScan.text, file: path)
        let sourceLines = normalized.components(separatedBy: "\n")
        let liftedLines = lifted.text.components(separatedBy: "\n")

        func originalLine(_ cmarkLine: Int) -> Int {
            let i = cmarkLine - 1
            return i >= 0 && i < lifted.originalLine.count ? lifted.originalLine[i] : cmarkLine
        }
        /// cmark counts columns in UTF-8 bytes of the lifted text; messages count characters of the file.
        func originalColumn(cmarkLine: Int, byteColumn: Int) -> Int {
            let i = cmarkLine - 1
            guard i >= 0, i < liftedLines.count else { return byteColumn }
            let prefix = String(decoding: Array(liftedLines[i].utf8).prefix(max(byteColumn - 1, 0)), as: UTF8.self)
            return prefix.count + 1
        }
        let inlines = lifted.inlines
        // Placeholders in cmark's text nodes become the lifted items again; a display marker that
        // cmark put inside something else (a list item, a quote) becomes inline maths.
        let copy = MarkdownCopy(text: { liftedInlines($0, lifted: lifted) }, location: { line, column in
            SourceLocation(file: path, line: originalLine(line), column: originalColumn(cmarkLine: line, byteColumn: column))
        })
        let blocks = readMarkdownBlocks(lifted.text, copy: copy)

        var segments: [Segment] = []
        var runnable = 0
        var labelled = 0
        var labels: [String: SourceLocation] = [:]
        var firstHeading: String?
        var exercises = ExerciseScanner(path: path)
        // Callouts: each starts at the first block after its opening line and ends at the first after its closing one.
        var callouts = calloutScan.found.map(\.callout)
        var calloutStarts: [Int?] = Array(repeating: nil, count: callouts.count)
        var calloutEnded = Array(repeating: false, count: callouts.count)
        var calloutBoundaries: Set<Int> = []
        func advanceCallouts(before line: Int) throws {
            for (i, f) in calloutScan.found.enumerated() {
                if calloutStarts[i] == nil, f.openLine < line { calloutStarts[i] = segments.count; calloutBoundaries.insert(segments.count) }
                if let start = calloutStarts[i], !calloutEnded[i], f.closeLine < line {
                    guard start < segments.count else {
                        throw BookError("callout holds nothing between its opening line and its ':::' (line \(f.closeLine)); put its content inside or remove it", at: callouts[i].location)
                    }
                    callouts[i].segments = start ..< segments.count; calloutEnded[i] = true
                    calloutBoundaries.insert(segments.count)
                }
            }
        }
        func calloutOpen(at line: Int) -> Callout? {
            calloutScan.found.first { $0.openLine < line && line < $0.closeLine }?.callout
        }
        func appendProse(_ block: ProseBlock) {
            if case .prose(let previous)? = segments.last, !exercises.boundaries.contains(segments.count),
               !calloutBoundaries.contains(segments.count) { segments[segments.count - 1] = .prose(previous + [block]) }
            else { segments.append(.prose([block])) }
        }
        /// Where `image` of `block` is in the file.
        func imageLocation(_ image: MarkdownImage, in block: MarkdownBlock) -> SourceLocation {
            let cmarkLine = image.line > 0 ? image.line : block.line
            let line = originalLine(cmarkLine)
            // Maths lifted out of the line shifts columns: find the same `![` in the file's line.
            var column = 1
            let li = cmarkLine - 1, si = line - 1
            if li >= 0, li < liftedLines.count, si >= 0, si < sourceLines.count {
                let bytes = Array(liftedLines[li].utf8)
                // The image is the k-th `![` starting at or before cmark's column (which names its `!` or `[`).
                let limit = min(image.column, bytes.count - 1)
                var k = 0
                var b = 0
                while b < limit { if bytes[b] == 0x21 && bytes[b + 1] == 0x5B { k += 1 }; b += 1 }
                let chars = Array(sourceLines[si])
                var seen = 0
                for c in 0..<max(chars.count - 1, 0) where chars[c] == "!" && chars[c + 1] == "[" {
                    seen += 1
                    if seen == max(k, 1) { column = c + 1; break }
                }
            }
            return SourceLocation(file: path, line: line, column: column)
        }

        /// A fence's info string as written: cmark would take `\|` in a caption's maths for an
        /// escaped `|`, and `&amp;` for `&`; fence lines are not lifted, so the lifted line is the file's.
        func rawInfo(cmarkLine: Int) -> String? {
            let i = cmarkLine - 1
            guard i >= 0, i < liftedLines.count else { return nil }
            let line = liftedLines[i].drop(while: { $0 == " " })
            guard let mark = line.first, mark == "`" || mark == "~" else { return nil }
            let count = line.prefix(while: { $0 == mark }).count
            guard count >= 3 else { return nil }
            return line.dropFirst(count).trimmingCharacters(in: .whitespaces)
        }

        var outline = ChapterOutline(attributes: lifted.attributes)
        for (blockIndex, block) in blocks.enumerated() {
            let location = SourceLocation(file: path, line: originalLine(block.line), column: originalColumn(cmarkLine: block.line, byteColumn: block.column))
            let nextLine = blockIndex + 1 < blocks.count ? originalLine(blocks[blockIndex + 1].line) : Int.max
            try advanceCallouts(before: location.line)
            // Code that cmark put inside a list item or a block quote is never run.
            for nested in block.nestedCode {
                let at = SourceLocation(file: path, line: originalLine(nested.line), column: originalColumn(cmarkLine: nested.line, byteColumn: nested.column))
                let info = try fenceWords(nested.info, at: at)
                let language = info.first ?? ""
                try checkLanguageSpelling(info, at: at)
                if language == "swift", case let options = try blockOptions(Array(info.dropFirst()), at: at), options.run || options.role != nil {
                    let what = options.role.map { "swift \($0.rawValue) block inside a \(nested.container) would not be part of its exercise" } ?? "swift block inside a \(nested.container) is not run"
                    throw BookError("a \(what); move it to the top level (or write ```swift norun``` to only show it)", at: at)
                }
                if language == "output" {
                    throw BookError("an output block inside a \(nested.container) is never compared with a block's output; move it to the top level right after its swift block (or write ```text``` to only show it)", at: at)
                }
            }
            if let baseDirectory {
                for image in block.images { try checkImage(image.url, at: imageLocation(image, in: block), baseDirectory: baseDirectory) }
            }
            switch block.kind {
            case .codeBlock:
                let info = try fenceWords(block.fenced ? rawInfo(cmarkLine: block.line) ?? block.info ?? "" : block.info ?? "", at: location)
                let language = info.first ?? ""
                if block.fenced { try checkLanguageSpelling(info, at: location) }
                let code = block.literal ?? ""
                // Fenced code starts on the line after the fence.
                let codeLocation = SourceLocation(file: path, line: originalLine(block.line + (block.fenced ? 1 : 0)), column: 1)
                if language == "swift" {
                    let options = try blockOptions(Array(info.dropFirst()), at: location)
                    if let label = options.figureLabel { try outline.addPlot(label: label, at: location) }
                    if let role = options.role, let callout = calloutOpen(at: location.line) {
                        throw BookError("a swift \(role.rawValue) block cannot go inside a callout (opened at line \(callout.location.line)): the exercise's own boxes would cross it; close the callout before the block", at: location)
                    }
                    let index: Int? = options.run ? runnable : nil
                    if options.run { runnable += 1 }
                    var swiftBlock = CodeBlock(language: "swift", code: code, options: options, index: index, location: codeLocation)
                    swiftBlock.exercise = try exercises.codeBlock(role: options.role, at: location, segmentCount: segments.count)
                    segments.append(.code(swiftBlock))
                } else if language == "output", case .code(var previous)? = segments.last, previous.language == "swift",
                          previous.options.run, previous.expected == nil {
                    // A check block's printing is in a submission's hands (it can print the
                    // expected text and silence the rest), so `grade` could not believe it.
                    if previous.options.role == .check {
                        throw BookError("an output block cannot judge a ```swift check``` block: under `rnnbook grade` a submission controls what the program prints; check the value with expect(…) instead", at: location)
                    }
                    previous.expected = try expectedOutput(Array(info.dropFirst()), text: code, at: location, codeLocation: codeLocation)
                    segments[segments.count - 1] = .code(previous)
                } else if language == "output" {
                    let found: String
                    switch segments.last {
                    case .code(let previous)? where previous.language == "swift" && !previous.options.run:
                        found = "a swift \(previous.options.role == .starter ? "starter" : "norun") block, which is never run"
                    case .code(let previous)? where previous.language == "swift":
                        found = "a swift block that already has its expected output (line \(previous.expected?.location.line ?? 0))"
                    case .code(let previous)?: found = "a \(previous.language.isEmpty ? "plain" : previous.language) code block"
                    case .prose?: found = "prose"
                    case .equation?: found = "an equation"
                    case .figure?: found = "a figure"
                    case nil: found = "nothing (it is the chapter's first block)"
                    }
                    throw BookError("an output block must come right after the runnable swift block whose output it is, found it after \(found); write ```text``` to only show text", at: location)
                } else {
                    var options = BlockOptions(); options.run = false
                    segments.append(.code(CodeBlock(language: language, code: code, options: options, index: nil, location: codeLocation)))
                }
            case .paragraph:
                let trimmed = block.plainText?.trimmingCharacters(in: .whitespacesAndNewlines)
                if let trimmed, let n = displayIndex(trimmed) {
                    let d = lifted.displays[n]
                    var number: Int?
                    if let label = d.label {
                        if let earlier = labels[label] {
                            throw BookError("equation label '\(label)' is already used at line \(earlier.line)", at: d.location)
                        }
                        labels[label] = d.location
                        labelled += 1
                        number = labelled
                    }
                    segments.append(.equation(Equation(tex: d.tex, label: d.label, number: number, location: d.location, unchecked: d.unchecked)))
                } else if let image = block.image {
                    try outline.addFigure(at: location, before: nextLine)
                    let caption = ProseBlock.flattened([block.content]).lazy.flatMap(\.inlines).compactMap { inline -> [ProseInline]? in
                        if case .image(_, _, let alt) = inline { alt } else { nil }
                    }.first ?? []
                    segments.append(.figure(path: image.url, caption: caption))
                } else {
                    appendProse(block.content)
                }
            case .heading:
                if let callout = calloutOpen(at: location.line) {
                    throw BookError("a heading cannot go inside a callout (opened at line \(callout.location.line)): sections are numbered and listed in the contents; close the callout with ':::' before the heading, or write the words in bold", at: location)
                }
                if firstHeading == nil { firstHeading = block.plainText }
                let headingLine = location.line - 1 < sourceLines.count ? sourceLines[location.line - 1] : ""
                guard case .heading(let level, let content, _) = block.content.kind else { continue }
                if try exercises.heading(level: level, content: content, plainText: block.plainText ?? "", sourceLine: headingLine,
                                         at: location, segmentCount: segments.count) { continue }
                let section = try outline.addHeading(level: level, title: block.plainText ?? "", at: location, before: nextLine)
                appendProse(ProseBlock(.heading(level: level, content: content, section: section), at: block.content.location))
            case .other:
                appendProse(block.content)
            }
        }
        try exercises.close(at: segments.count)
        try advanceCallouts(before: Int.max)
        // A decimal or a percentage typed into prose can disagree with the run without anyone noticing:
        // it is shown from the run ({{name}}), claimed ({{name ≈ v ± t}}) or marked {{quoted: …}}.
        var spans: [Int: [TextSpan]] = [:]
        for block in blocks { for span in block.textSpans { spans[span.line, default: []].append(span) } }
        for number in lifted.numbers where (spans[number.liftedLine + 1] ?? []).contains(where: {
            $0.start <= number.liftedColumn && number.liftedColumn <= $0.end
        }) {
            throw number.error
        }
        // A claim limited to a profile no one defines would never be checked.
        let knownProfiles = ["default"] + front.profiles.keys.sorted()
        for item in inlines {
            if case .claim(let claim) = item, let profile = claim.profile, !knownProfiles.contains(profile) {
                throw BookError("claim on '\(claim.metric)' is limited to profile '\(profile)', which this chapter does not define; known profiles: \(knownProfiles.joined(separator: ", ")) (add it under 'profiles:' in the front matter)", at: claim.location)
            }
        }
        // References are resolved across the book (CrossReferences.check, run by the builder);
        // labels must sit where they label something, and be unique in the chapter.
        try outline.finish()
        var chapter = Chapter(path: path, slug: slug, title: front.title ?? firstHeading ?? slug, params: front.params,
                              profiles: front.profiles, timeout: front.timeout, segments: segments, inlines: inlines)
        chapter.memoryLimitMB = front.memory
        chapter.dataFiles = front.data.isEmpty ? nil : front.data
        chapter.summary = front.summary
        chapter.sections = outline.sections.isEmpty ? nil : outline.sections
        chapter.figures = outline.figures.isEmpty ? nil : outline.figures
        chapter.references = try citedWorks(inlines, front: front, baseDirectory: baseDirectory, path: path)
        chapter.exercises = exercises.exercises
        chapter.callouts = callouts.isEmpty ? nil : callouts
        return chapter
    }

    /// Set before parsing when the chapter's bibliography is not read from disk (tests, sources
    /// made up without a folder); a bibliography beside the chapter or named in front matter wins.
    public var bibliography: Bibliography?

    /// The works the chapter cites, checked against its bibliography; nil when it cites none.
    private func citedWorks(_ inlines: [InlineItem], front: FrontMatter, baseDirectory: URL?, path: String) throws -> [BibEntry]? {
        let citations = inlines.compactMap { if case .citation(let c) = $0 { c } else { nil } }
        var bibliography = self.bibliography
        if let baseDirectory {
            bibliography = try Bibliography.find(named: front.bibliography?.path, at: front.bibliography?.location,
                                                 in: baseDirectory, chapterPath: path) ?? bibliography
        } else if let named = front.bibliography, self.bibliography == nil {
            throw BookError("bibliography '\(named.path)' cannot be read: the chapter was given without its folder", at: named.location)
        }
        guard let first = citations.first?.items.first else { return nil }
        guard let bibliography else {
            throw BookError("@\(first.key) cites a work, but the chapter has no bibliography: put a CSL-YAML file references.yaml (or references.json) beside the chapter, or name one in the front matter (bibliography: refs.yaml). To write a literal @, escape it: \\@", at: first.location)
        }
        return try bibliography.resolve(citations)
    }

    private func displayIndex(_ text: String) -> Int? {
        guard text.first == Placeholder.displayOpen, text.last == Placeholder.displayClose else { return nil }
        return Int(text.dropFirst().dropLast())
    }


    /// A fence meant as `swift` or `output` but not written exactly so would be shown and never run
    /// or compared: `Swift`, `SWIFT`, `swift,hide`, `swift{hide}`, `{.swift}`, `swfit`.
    private func checkLanguageSpelling(_ info: [String], at location: SourceLocation) throws {
        guard let language = info.first, language != "swift", language != "output" else { return }
        let lower = language.lowercased()
        let word = String(lower.drop(while: { !$0.isLetter }).prefix(while: { $0.isLetter }))
        for (reserved, what) in [("swift", "run"), ("output", "compared with the block's output")] {
            guard word == reserved || (word.count >= 4 && oneEditApart(word, reserved)) else { continue }
            // Options glued to the language (`swift,hide`, `swift{hide}`, `{.swift .hide}`) become words.
            let glued = lower.dropFirst(lower.distance(from: lower.startIndex, to: lower.firstIndex(where: \.isLetter) ?? lower.startIndex) + word.count)
            let isOptionCharacter: (Character) -> Bool = { $0.isLetter || $0.isNumber || "-=.+_".contains($0) }
            let words = glued.split(whereSeparator: { !isOptionCharacter($0) }).map { String($0.drop(while: { $0 == "." })) }
                + info.dropFirst().map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "{}.,;")) }
            let options = words.filter { !$0.isEmpty }
            let fix = "```" + ([reserved] + options).joined(separator: " ") + "```"
            let why = word == reserved ? (language.count == word.count ? "the language in lower case" : "options separated by spaces") : "did you mean '\(reserved)'?"
            throw BookError("fence language '\(language)' is not \(what): write \(fix) (\(why)); for code that is only shown, use another language such as ```text```", at: location)
        }
    }

    /// True when `a` becomes `b` by one insertion, deletion, substitution or swap of neighbours.
    private func oneEditApart(_ a: String, _ b: String) -> Bool {
        let x = Array(a), y = Array(b)
        if x == y { return false }
        if x.count == y.count {
            let diff = x.indices.filter { x[$0] != y[$0] }
            if diff.count == 1 { return true }
            return diff.count == 2 && diff[1] == diff[0] + 1 && x[diff[0]] == y[diff[1]] && x[diff[1]] == y[diff[0]]
        }
        let (short, long) = x.count < y.count ? (x, y) : (y, x)
        guard long.count == short.count + 1 else { return false }
        var i = 0
        while i < short.count && short[i] == long[i] { i += 1 }
        return short[i...] == long[(i + 1)...]
    }

    /// A local image must be a file in the chapter's folder (or below it): the page copies it from there.
    private func checkImage(_ url: String, at location: SourceLocation, baseDirectory: URL) throws {
        let lower = url.lowercased()
        if url.isEmpty || url.hasPrefix("#") || lower.contains("://") || lower.hasPrefix("data:") || lower.hasPrefix("mailto:") { return }
        let path = url.removingPercentEncoding ?? url
        if path.hasPrefix("/") {
            throw BookError("figure path '\(url)' is absolute; expected a path relative to the chapter's folder, such as figures/name.svg", at: location)
        }
        if path.split(separator: "/").contains("..") {
            throw BookError("figure path '\(url)' leaves the chapter's folder; expected a file under it, such as figures/name.svg", at: location)
        }
        let file = baseDirectory.appendingPathComponent(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue,
              FileManager.default.isReadableFile(atPath: file.path) else {
            throw BookError("figure not found: expected a file at \(file.standardizedFileURL.path) (written '\(url)', relative to the chapter's folder)", at: location)
        }
    }

    private func blockOptions(_ words: [String], at location: SourceLocation) throws -> BlockOptions {
        var options = BlockOptions()
        var role: ExerciseRole?
        for word in words {
            switch word {
            case "hide": options.showCode = false
            case "fold": options.foldCode = true
            case "norun": options.run = false
            case "expect-error":
                throw BookError("expect-error must name the stage at which the block fails: write expect-error=compile (the compiler rejects it) or expect-error=run (it compiles and fails when run), optionally with message=\"part of the error\"", at: location)
            default:
                if word.hasPrefix("expect-error=") {
                    guard let stage = ErrorStage(rawValue: String(word.dropFirst(13))) else {
                        throw BookError("unknown stage in '\(word)'; expected expect-error=compile or expect-error=run", at: location)
                    }
                    options.expectError = true; options.expectErrorStage = stage; continue
                }
                if let message = try quotedOption(word, key: "message", at: location) {
                    guard !message.isEmpty else { throw BookError("message=\"\" is empty; give a part of the error text the block must produce", at: location) }
                    options.expectErrorMessage = message; continue
                }
                if let name = try quotedOption(word, key: "public", at: location) {
                    guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                        throw BookError("public=\"\" is empty; give the name the student edition shows for this block's hidden checks", at: location)
                    }
                    options.publicName = name; continue
                }
                if let label = try quotedOption(word, key: "label", at: location) {
                    guard options.figureLabel == nil else {
                        throw BookError("label= is given twice on one block; a block shows one figure, with one label", at: location)
                    }
                    guard isValidLabel(label, prefix: "fig-") else {
                        throw BookError("label=\"\(label)\" is not a figure label; expected label=\"fig-NAME\" with NAME made of ASCII letters, digits, '-' and '_' (so that @fig-NAME can refer to it)", at: location)
                    }
                    options.figureLabel = label; continue
                }
                if let caption = try quotedOption(word, key: "fig-cap", at: location) {
                    guard options.figureCaption == nil else {
                        throw BookError("fig-cap= is given twice on one block; a figure has one caption", at: location)
                    }
                    guard !caption.trimmingCharacters(in: .whitespaces).isEmpty else {
                        throw BookError("fig-cap=\"\" is empty; expected a caption that says what the plot shows", at: location)
                    }
                    guard CaptionPiece.pieces(caption) != nil else {
                        throw BookError("fig-cap=\"\(caption)\" opens inline maths with '$' that no '$' closes (or encloses nothing); expected $…$ around maths, and \\$ for a dollar sign", at: location)
                    }
                    options.figureCaption = caption; continue
                }
                if word.hasPrefix("timeout="), let t = Double(word.dropFirst(8)), t > 0 { options.timeout = t; continue }
                if let r = ExerciseRole(rawValue: word) { role = role ?? r; continue }
                throw BookError("unknown swift block option '\(word)'; expected hide, fold, norun, expect-error=compile, expect-error=run, message=\"…\", timeout=SECONDS, label=\"fig-NAME\" with fig-cap=\"caption\", or in an exercise starter, solution or check", at: location)
            }
        }
        try checkFigureOptions(options, role: role, at: location)
        if options.expectErrorMessage != nil && !options.expectError {
            throw BookError("message=\"…\" names the error an expect-error block must produce, but this block has no expect-error=compile or expect-error=run", at: location)
        }
        // A norun block is never run: hiding its code would show nothing, and the other options would never apply.
        if !options.run, let extra = words.first(where: { $0 != "norun" }) {
            throw BookError("swift block option '\(extra)' has no effect with norun (the block is only shown, never run); remove one of them", at: location)
        }
        if options.foldCode && !options.showCode {
            throw BookError("swift block options 'fold' and 'hide' contradict each other: fold shows the code collapsed, hide does not show it; keep one", at: location)
        }
        try ExerciseRole.apply(role, to: &options, words: words, at: location)
        // Only a hidden check's name is withheld; a shown block shows its names in its code.
        if options.publicName != nil && (options.role != .check || options.showCode) {
            throw BookError("public=\"…\" names the checks of a hidden check block in the student edition; write it on a ```swift check hide``` block", at: location)
        }
        return options
    }

    /// `label="fig-…"` and `fig-cap="…"` go together, on a block that runs and whose output every
    /// edition shows: a caption must sit on a plot, and a figure number on a page of either edition.
    private func checkFigureOptions(_ options: BlockOptions, role: ExerciseRole?, at location: SourceLocation) throws {
        guard options.figureLabel != nil || options.figureCaption != nil else { return }
        guard let label = options.figureLabel else {
            throw BookError("fig-cap=\"…\" captions a numbered figure, but this block has no label; expected label=\"fig-NAME\" beside it (so that @fig-NAME can refer to the plot)", at: location)
        }
        guard options.figureCaption != nil else {
            throw BookError("label=\"\(label)\" numbers the block's plot as a figure, which needs a caption; expected fig-cap=\"what the plot shows\" beside it", at: location)
        }
        if !options.run {
            throw BookError("label=\"\(label)\" and fig-cap= number the plot a block shows, but a norun block is never run and shows none; remove them, or let the block run", at: location)
        }
        if options.expectError {
            throw BookError("label=\"\(label)\" and fig-cap= cannot go on an expect-error block: its point is that it fails, and a caption must sit on a plot; show the plot from a block of its own", at: location)
        }
        if let role {
            throw BookError("label=\"\(label)\" and fig-cap= cannot go on a swift \(role.rawValue) block: the student edition leaves out solutions (and what check blocks show, and never runs starters), so the figure would be numbered in one edition only; show the plot from a block outside the exercise, or from a setup block in it", at: location)
        }
    }

    /// An `output` block's options: `tol=NUMBER`, `because="reason"` (required above
    /// `ToleranceCeiling.output`, refused within it), `nonfinite` (the block expects a nan or inf).
    /// The ceiling is a fact of the source alone, so breaking it is an input error at the fence:
    /// `rnnbook check` finds it without running anything, like every other fence mistake.
    private func expectedOutput(_ words: [String], text: String, at location: SourceLocation, codeLocation: SourceLocation) throws -> ExpectedOutput {
        var tolerance = 1e-6
        var reason: String?
        var nonfinite = false
        for word in words {
            if word.hasPrefix("tol="), let t = Double(word.dropFirst(4)), t >= 0, t.isFinite { tolerance = t; continue }
            if word == "nonfinite" { nonfinite = true; continue }
            if let r = try quotedOption(word, key: "because", at: location) { reason = r; continue }
            throw BookError("unknown output block option '\(word)'; expected tol=NUMBER, because=\"reason\" or nonfinite", at: location)
        }
        if let problem = ToleranceCeiling.problem(.output, tolerance: tolerance, reason: reason) {
            throw BookError("output block: \(problem)", at: location)
        }
        // A nan or inf written in the block is expected only on purpose.
        let lines = text.components(separatedBy: "\n")
        var firstNonFinite: (line: Int, column: Int, word: String)?
        for (k, line) in lines.enumerated() {
            if let hit = OutputComparison.nonFiniteToken(in: line) { firstNonFinite = (k, hit.column, hit.word); break }
        }
        if let hit = firstNonFinite, !nonfinite {
            throw BookError("the expected output contains '\(hit.word)', which a printed value matches only on purpose: if the block is meant to print a NaN or an infinity, write ```output nonfinite```; otherwise the code has a bug to fix", at: SourceLocation(file: codeLocation.file, line: codeLocation.line + hit.line, column: hit.column))
        }
        if nonfinite && firstNonFinite == nil {
            throw BookError("output block says nonfinite, but its expected text has no nan or inf; remove nonfinite", at: location)
        }
        return ExpectedOutput(text: text, relativeTolerance: tolerance, location: codeLocation,
                              toleranceReason: reason?.trimmingCharacters(in: .whitespaces), expectsNonFinite: nonfinite)
    }

    /// `key="value"` (the quotes kept by `fenceWords`): the value, or nil when `word` is not `key=…`.
    private func quotedOption(_ word: String, key: String, at location: SourceLocation) throws -> String? {
        guard word.hasPrefix(key + "=") else { return nil }
        let value = word.dropFirst(key.count + 1)
        guard value.count >= 2, value.first == "\"", value.last == "\"" else {
            throw BookError("\(key)= takes a double-quoted text: \(key)=\"…\", found \(word)", at: location)
        }
        return String(value.dropFirst().dropLast())
    }
}

/// A fence's info string split into words at whitespace, except inside double quotes, so that
/// `because="sums in another order"` is one word (quotes kept). An unclosed quote is an error.
func fenceWords(_ info: String, at location: SourceLocation) throws -> [String] {
    var words: [String] = []
    var word = ""
    var quoted = false
    for ch in info {
        if ch == "\"" { quoted.toggle(); word.append(ch); continue }
        if ch.isWhitespace && !quoted {
            if !word.isEmpty { words.append(word); word = "" }
            continue
        }
        word.append(ch)
    }
    if quoted {
        throw BookError("fence option '\(word)' opens a double quote that is never closed; write key=\"text\" on the fence line", at: location)
    }
    if !word.isEmpty { words.append(word) }
    return words
}
