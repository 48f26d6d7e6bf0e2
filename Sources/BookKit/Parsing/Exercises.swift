import Foundation

/// What a Swift block is to its exercise: `starter` (given to students, never run in the book),
/// `solution` (the reference answer, run in the book, withheld from the student edition) or
/// `check` (the exercise's checks, run after the solution in the book and after a student's
/// code by `rnnbook grade`).
public enum ExerciseRole: String, Codable, Sendable, CaseIterable {
    case starter, solution, check
}

/// An exercise: a heading `### Exercise: Title {#ex-name}` and everything after it up to the
/// next heading of the same or a higher level. Its prose is the question; its Swift blocks are
/// marked by their role (`ExerciseRole`), and plain Swift blocks in it run for every edition and
/// every submission (setup the question gives). Its solution blocks follow one another, starters
/// come before them and checks after them.
public struct Exercise: Codable, Sendable, Equatable {
    /// `ex-…`, unique in the chapter; submissions name it.
    public var id: String
    /// The heading after `Exercise:`, without its `{#ex-…}`.
    public var titleContent: [ProseInline]
    /// The heading as plain text after `Exercise:`, for messages and `grade`.
    public var title: String
    /// 1-based among the chapter's exercises.
    public var number: Int
    /// Heading level (1–6).
    public var level: Int
    /// Where the heading is.
    public var location: SourceLocation
    /// The exercise's segments (after its heading) in `Chapter.segments`.
    public var segments: Range<Int>
    public init(id: String, titleContent: [ProseInline], title: String, number: Int, level: Int, location: SourceLocation, segments: Range<Int>) {
        self.id = id; self.titleContent = titleContent; self.title = title; self.number = number; self.level = level
        self.location = location; self.segments = segments
    }
}

extension Chapter {
    /// The exercise with this id.
    public func exercise(_ id: String) -> Exercise? { exercises.first { $0.id == id } }

    /// Code blocks of exercise `id` in order, with their segment index.
    func blocks(ofExercise id: String) -> [(segment: Int, block: CodeBlock)] {
        guard let exercise = exercise(id) else { return [] }
        return exercise.segments.compactMap { k in
            if case .code(let b) = segments[k] { (k, b) } else { nil }
        }
    }

    /// Runnable blocks whose code an edition or a submission may not show: solutions and checks
    /// of exercises (checks print what the reference solution computed).
    var withheldBlockIndices: Set<Int> {
        Set(codeBlocks.compactMap { b in
            b.options.role == .solution || b.options.role == .check ? b.index : nil
        })
    }

    /// The chapter as a program for other code in place of exercise solutions: each exercise in
    /// `replacements` gets those blocks (runnable, in order) where its first solution block was,
    /// and loses its other solution blocks; an exercise not in `replacements` keeps its solution,
    /// or, with `dropOthers`, loses all its blocks (its names are scoped, so nothing outside it
    /// can miss them). Starters are removed (they are never part of a program). With
    /// `endingAfter`, everything after that exercise is cut. Runnable blocks are renumbered.
    public func substitutingSolutions(_ replacements: [String: [CodeBlock]], dropOthers: Bool = false,
                                      endingAfter last: String? = nil) -> Chapter {
        var copy = self
        var out: [Segment] = []
        var done: Set<String> = []
        let end = last.flatMap { exercise($0)?.segments.upperBound } ?? segments.count
        for (k, segment) in segments[..<end].enumerated() {
            guard case .code(let block) = segment, let id = block.exercise else { out.append(segment); continue }
            if block.options.role == .starter { continue }
            if let replacement = replacements[id] {
                guard block.options.role == .solution else { out.append(segment); continue }
                if done.insert(id).inserted {
                    for var b in replacement {
                        b.exercise = id
                        b.options.role = .solution
                        b.options.run = true
                        out.append(.code(b))
                    }
                }
            } else if !dropOthers {
                out.append(segment)
            }
            _ = k
        }
        var runnable = 0
        for k in out.indices {
            guard case .code(var b) = out[k] else { continue }
            if b.language == "swift" && b.options.run { b.index = runnable; runnable += 1 } else { b.index = nil }
            out[k] = .code(b)
        }
        copy.segments = out
        // Segment ranges no longer hold; exercises are known to the program by their blocks.
        copy.exercises = []
        return copy
    }
}

/// Follows the parser through a chapter's blocks and finds its exercises: opens one at an
/// `Exercise:` heading, closes it at the next heading of the same or a higher level, and
/// checks where each starter, solution and check block stands.
struct ExerciseScanner {
    let path: String
    private(set) var exercises: [Exercise] = []
    private var open: Open?
    /// Segment indices where prose must not be merged with the segment before (an exercise
    /// starts or ends there).
    private(set) var boundaries: Set<Int> = []

    private struct Open {
        var exercise: Exercise
        var solutions: [SourceLocation] = []
        var checks = 0
        var starters = 0
        /// Segment index of the last solution block.
        var lastSolutionSegment: Int?
    }

    init(path: String) { self.path = path }

    /// Handles a heading at `location` of `level` whose inlines are `content` and whose line in
    /// the file is `sourceLine`. Returns true when the heading opens an exercise (the page renders it).
    mutating func heading(level: Int, content: [ProseInline], plainText: String, sourceLine: String, at location: SourceLocation,
                          segmentCount: Int) throws -> Bool {
        if let o = open, level <= o.exercise.level { try close(at: segmentCount) }
        let text = plainText.trimmingCharacters(in: .whitespaces)
        let attribute = text.firstMatch(of: #/\{#([^}\s]*)\}\s*$/#)
        let id = attribute.map { String($0.1) }
        let isExercise = text.hasPrefix("Exercise:")
        let attributeColumn = (sourceLine.range(of: "{#").map { sourceLine.distance(from: sourceLine.startIndex, to: $0.lowerBound) + 1 }) ?? location.column
        let idLocation = SourceLocation(file: path, line: location.line, column: attributeColumn)
        guard isExercise else {
            if text.lowercased().hasPrefix("exercise:") {
                throw BookError("exercise heading must start with 'Exercise:' exactly, found '\(text.prefix(9))'; write ### Exercise: Title {#ex-name}", at: location)
            }
            if let id, id.hasPrefix("ex-") {
                throw BookError("heading with exercise id '{#\(id)}' must start with 'Exercise:' (### Exercise: Title {#\(id)}); found '\(text)'", at: location)
            }
            return false
        }
        guard let id else {
            throw BookError("exercise heading has no id: write '\(String(repeating: "#", count: level)) \(text) {#ex-name}' (submissions name the exercise by its id)", at: location)
        }
        guard id.wholeMatch(of: #/ex-[A-Za-z0-9][A-Za-z0-9_-]*/#) != nil else {
            throw BookError("malformed exercise id '{#\(id)}'; expected {#ex-NAME} with NAME made of letters, digits, '-' and '_'", at: idLocation)
        }
        if let o = open {
            throw BookError("exercise \(id) starts inside exercise \(o.exercise.id) (line \(o.exercise.location.line)); give it a heading of the same or a higher level", at: location)
        }
        if let earlier = exercises.first(where: { $0.id == id }) {
            throw BookError("exercise id '\(id)' is already used at line \(earlier.location.line)", at: idLocation)
        }
        let title = String(text.dropFirst("Exercise:".count))
            .replacing(#/\s*\{#[^}]*\}\s*$/#, with: "")
            .replacing(#/\x{E000}\d+\x{E001}/#, with: "…")
            .trimmingCharacters(in: .whitespaces)
        open = Open(exercise: Exercise(id: id, titleContent: Self.titleContent(content), title: title, number: exercises.count + 1, level: level,
                                       location: location, segments: segmentCount..<segmentCount))
        boundaries.insert(segmentCount)
        return true
    }

    /// A heading's inlines without the `Exercise:` in front and the `{#ex-…}` at the end.
    static func titleContent(_ content: [ProseInline]) -> [ProseInline] {
        var inlines = content
        if case .text(let first)? = inlines.first {
            let rest = first.drop(while: \.isWhitespace)
            let after = rest.hasPrefix("Exercise:") ? rest.dropFirst("Exercise:".count).drop(while: \.isWhitespace) : rest
            if after.isEmpty { inlines.removeFirst() } else { inlines[0] = .text(String(after)) }
        }
        if case .text(let last)? = inlines.last, let open = last.range(of: "{#", options: .backwards) {
            let attribute = last[open.upperBound...]
            if let close = attribute.firstIndex(of: "}"),
               attribute[attribute.index(after: close)...].allSatisfy(\.isWhitespace) {
                let before = String(last[..<open.lowerBound].reversed().drop(while: \.isWhitespace).reversed())
                if before.isEmpty { inlines.removeLast() } else { inlines[inlines.count - 1] = .text(before) }
            }
        }
        return inlines
    }

    /// Handles a Swift block with `role` at `location` (the fence), about to become segment
    /// `segmentCount`; `previousSegment` is the segment before it. Returns the exercise it belongs to.
    mutating func codeBlock(role: ExerciseRole?, at location: SourceLocation, segmentCount: Int) throws -> String? {
        guard var o = open else {
            if let role {
                throw BookError("a ```swift \(role.rawValue)``` block must be inside an exercise; start one with a heading '### Exercise: Title {#ex-name}' before it", at: location)
            }
            return nil
        }
        defer { open = o }
        switch role {
        case .starter?:
            if let first = o.solutions.first {
                throw BookError("a starter block must come before the exercise's solution (line \(first.line)); students fill it in and `grade` puts their code where the solution is", at: location)
            }
            o.starters += 1
        case .solution?:
            if let last = o.lastSolutionSegment, last != segmentCount - 1 {
                throw BookError("the solution blocks of exercise \(o.exercise.id) must follow one another (the last one is at line \(o.solutions.last!.line)); text or code between them would be shown to students. Put explanations in comments of the solution", at: location)
            }
            if o.checks > 0 {
                throw BookError("a solution block must come before the exercise's check blocks", at: location)
            }
            o.solutions.append(location)
            o.lastSolutionSegment = segmentCount
        case .check?:
            if o.solutions.isEmpty {
                throw BookError("a check block must come after the exercise's solution blocks; exercise \(o.exercise.id) has no ```swift solution``` block before it", at: location)
            }
            o.checks += 1
        case nil:
            break
        }
        return o.exercise.id
    }

    /// Closes the open exercise (at a heading of its level or above, or at the end of the chapter).
    mutating func close(at segmentCount: Int) throws {
        guard var o = open else { return }
        open = nil
        o.exercise.segments = o.exercise.segments.lowerBound..<segmentCount
        boundaries.insert(segmentCount)
        if !o.solutions.isEmpty && o.checks == 0 {
            throw BookError("exercise \(o.exercise.id) has a solution but no ```swift check``` block: nothing would tell a wrong answer from a right one (write checks with expect(\"name\", …))", at: o.exercise.location)
        }
        if o.starters > 0 && o.solutions.isEmpty {
            throw BookError("exercise \(o.exercise.id) has a starter but no ```swift solution``` block: the book cannot show that the exercise can be solved", at: o.exercise.location)
        }
        exercises.append(o.exercise)
    }
}

extension ExerciseRole {
    /// Applies the role word (if any) to block options and refuses options that make no sense
    /// with it. `words` are the fence's option words.
    static func apply(_ role: ExerciseRole?, to options: inout BlockOptions, words: [String], at location: SourceLocation) throws {
        guard let role else { return }
        options.role = role
        let allowed: Set<String>
        switch role {
        case .starter: allowed = []; options.run = false
        case .solution: allowed = ["timeout"]
        case .check: allowed = ["hide", "timeout", "public"]
        }
        for word in words where word != role.rawValue {
            let name = word.hasPrefix("timeout=") ? "timeout" : word.hasPrefix("public=") ? "public" : word
            if ExerciseRole(rawValue: word) != nil {
                throw BookError("a swift block has one exercise role; found '\(role.rawValue)' and '\(word)'", at: location)
            }
            if !allowed.contains(name) {
                let what: String
                switch role {
                case .starter: what = "a starter block is shown and never run in the book; it takes no other option"
                case .solution: what = "a solution block takes only timeout=SECONDS"
                case .check: what = "a check block takes only hide, public=\"name shown to students\" (with hide) and timeout=SECONDS"
                }
                throw BookError("swift block option '\(word)' cannot go with '\(role.rawValue)': \(what)", at: location)
            }
        }
    }
}
