import Foundation

/// Reads chapters: front matter, maths lifted out, Markdown parsed by cmark, segments in order.
public struct ChapterParser: Sendable {
    public init() {}

    /// Parses the chapter at `url`; `displayPath` is how messages name it (`chapters/02-rnn.md`).
    public func parse(contentsOf url: URL, displayPath: String) throws -> Chapter {
        let source: String
        do { source = try String(contentsOf: url, encoding: .utf8) } catch {
            throw BookError("cannot read chapter: \(error.localizedDescription)", at: SourceLocation(file: displayPath, line: 1))
        }
        return try parse(source: source, path: displayPath)
    }

    /// Parses chapter `source` whose path relative to the book root is `path`.
    public func parse(source: String, path: String) throws -> Chapter {
        let slug = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let normalized = source.replacingOccurrences(of: "\r\n", with: "\n")
        let (yaml, yamlLine, body) = splitFrontMatter(normalized)
        let front = try yaml.map { try parseFrontMatter($0, firstLine: yamlLine, file: path) } ?? FrontMatter()
        let lifted = try liftMath(from: body, file: path)
        let blocks = readMarkdownBlocks(lifted.text)

        func originalLine(_ cmarkLine: Int) -> Int {
            let i = cmarkLine - 1
            return i >= 0 && i < lifted.originalLine.count ? lifted.originalLine[i] : cmarkLine
        }

        var inlines = lifted.inlines
        // A display marker that cmark put inside something else (a list item, a quote) becomes inline maths.
        func restoreStrayDisplays(_ html: String, lifted: LiftedText) -> String {
            guard html.contains(Placeholder.displayOpen) else { return html }
            return html.replacing(#/\x{E002}(\d+)\x{E003}/#) { match in
                guard let n = Int(match.1), n < lifted.displays.count else { return "" }
                inlines.append(.math(tex: lifted.displays[n].tex))
                return Placeholder.inline(inlines.count - 1)
            }
        }
        var segments: [Segment] = []
        var runnable = 0
        var labelled = 0
        var labels: [String: SourceLocation] = [:]
        var firstHeading: String?
        func appendProse(_ html: String) {
            if case .prose(let previous)? = segments.last { segments[segments.count - 1] = .prose(html: previous + html) }
            else { segments.append(.prose(html: html)) }
        }

        for block in blocks {
            let location = SourceLocation(file: path, line: originalLine(block.line), column: block.column)
            switch block.kind {
            case .codeBlock:
                let info = (block.info ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
                let language = info.first ?? ""
                let code = block.literal ?? ""
                // Fenced code starts on the line after the fence.
                let codeLocation = SourceLocation(file: path, line: originalLine(block.line + (block.fenced ? 1 : 0)), column: 1)
                if language == "swift" {
                    let options = try blockOptions(Array(info.dropFirst()), at: location)
                    let index: Int? = options.run ? runnable : nil
                    if options.run { runnable += 1 }
                    segments.append(.code(CodeBlock(language: "swift", code: code, options: options, index: index, location: codeLocation)))
                } else if language == "output", case .code(var previous)? = segments.last, previous.language == "swift",
                          previous.options.run, previous.expected == nil {
                    let tolerance = try outputTolerance(Array(info.dropFirst()), at: location)
                    previous.expected = ExpectedOutput(text: code, relativeTolerance: tolerance, location: codeLocation)
                    segments[segments.count - 1] = .code(previous)
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
                    segments.append(.equation(Equation(tex: d.tex, label: d.label, number: number, location: d.location)))
                } else if let image = block.image {
                    segments.append(.figure(path: image.url, caption: image.alt))
                } else {
                    appendProse(restoreStrayDisplays(block.html, lifted: lifted))
                }
            case .heading:
                if firstHeading == nil { firstHeading = block.plainText }
                appendProse(restoreStrayDisplays(block.html, lifted: lifted))
            case .other:
                appendProse(restoreStrayDisplays(block.html, lifted: lifted))
            }
        }
        // References must name an equation of this chapter, so a renamed label cannot dangle.
        for item in inlines {
            if case .reference(let label, let location) = item, labels[label] == nil {
                let known = labels.keys.sorted()
                throw BookError("@\(label) refers to no labelled equation; labels in this chapter: \(known.isEmpty ? "none" : known.joined(separator: ", "))", at: location)
            }
        }
        var chapter = Chapter(path: path, slug: slug, title: front.title ?? firstHeading ?? slug, params: front.params,
                              profiles: front.profiles, timeout: front.timeout, segments: segments, inlines: inlines)
        chapter.dataFiles = front.data.isEmpty ? nil : front.data
        return chapter
    }

    private func displayIndex(_ text: String) -> Int? {
        guard text.first == Placeholder.displayOpen, text.last == Placeholder.displayClose else { return nil }
        return Int(text.dropFirst().dropLast())
    }


    private func blockOptions(_ words: [String], at location: SourceLocation) throws -> BlockOptions {
        var options = BlockOptions()
        for word in words {
            switch word {
            case "hide": options.showCode = false
            case "norun": options.run = false
            case "expect-error": options.expectError = true
            default:
                if word.hasPrefix("timeout="), let t = Double(word.dropFirst(8)), t > 0 { options.timeout = t; continue }
                throw BookError("unknown swift block option '\(word)'; expected hide, norun, expect-error or timeout=SECONDS", at: location)
            }
        }
        return options
    }

    private func outputTolerance(_ words: [String], at location: SourceLocation) throws -> Double {
        var tolerance = 1e-6
        for word in words {
            if word.hasPrefix("tol="), let t = Double(word.dropFirst(4)), t >= 0 { tolerance = t; continue }
            throw BookError("unknown output block option '\(word)'; expected tol=NUMBER", at: location)
        }
        return tolerance
    }
}
