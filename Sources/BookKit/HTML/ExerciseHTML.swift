import BookProtocol
import Foundation

/// Where an exercise's parts sit among the chapter's segments.
struct ExerciseParts {
    var exercise: Exercise
    /// The solution blocks (they follow one another).
    var solution: Range<Int>?
    var firstStarter: Int?
    var firstCheck: Int?
    /// Runnable indices of the solution blocks.
    var solutionBlocks: Set<Int> = []

    init(_ exercise: Exercise, in chapter: Chapter) {
        self.exercise = exercise
        for (k, block) in chapter.blocks(ofExercise: exercise.id) {
            switch block.options.role {
            case .solution?:
                solution = (solution?.lowerBound ?? k)..<(k + 1)
                if let i = block.index { solutionBlocks.insert(i) }
            case .starter?: firstStarter = firstStarter ?? k
            case .check?: firstCheck = firstCheck ?? k
            case nil: break
            }
        }
    }
}

/// An exercise on the page: a framed section with its number and title; the starter and the
/// checks labelled; the solution collapsed in the instructor edition and absent from the
/// student edition (a note says it ran and how its checks went).
extension ChapterPage {
    var exerciseParts: [ExerciseParts] { chapter.exercises.map { ExerciseParts($0, in: chapter) } }

    /// Whether segment `k` is left out of this page (a solution block in the student edition).
    func withholds(segment k: Int) -> Bool {
        edition == .student && exerciseParts.contains { $0.solution?.contains(k) == true }
    }

    /// The markup that goes before segment `k` (`k == segments.count`: after the last one):
    /// exercises and solutions that end there are closed, those that start there are opened,
    /// and the parts that start there get their label.
    mutating func exerciseBoundary(at k: Int) -> HTML {
        var out = solutionClosing(at: k)
        let all = exerciseParts
        for parts in all where parts.exercise.segments.upperBound == k && parts.exercise.segments.lowerBound < k {
            out += closing(parts)
        }
        for parts in all where parts.exercise.segments.lowerBound == k {
            out += opening(parts.exercise)
            if parts.exercise.segments.isEmpty { out += closing(parts) }
        }
        for parts in all {
            if parts.firstStarter == k {
                out += "<p class=\"exercise-part\">Starter code <span class=\"meta\">· fill in each <code>todo()</code>; not run in the book</span></p>"
            }
            if parts.solution?.lowerBound == k { out += solutionOpening(parts) }
            if parts.firstCheck == k {
                out += "<p class=\"exercise-part\">Checks <span class=\"meta\">· run after the solution in this build, and after your code by <code>rnnbook grade</code></span></p>"
            }
        }
        return out
    }

    private mutating func opening(_ exercise: Exercise) -> HTML {
        let level = min(max(exercise.level, 2), 6)
        let title: HTML = exercise.titleContent.isEmpty ? "" : " " + HTML(trusted: inlineHTML(exercise.titleContent))
        searchSections.append(SearchIndex.Section(anchor: exercise.id, title: "Exercise \(exercise.number) " + searchText(exercise.titleContent), text: ""))
        return "<section class=\"exercise\" id=\"\(links.id(exercise.id))\">"
            + "<h\(level) class=\"exercise-title\"><span class=\"exercise-no\">Exercise \(exercise.number)</span>\(title)"
            + "<a class=\"anchor\" href=\"\(links.local(exercise.id))\" aria-label=\"link to this exercise\">#</a></h\(level)>"
    }

    private func closing(_ parts: ExerciseParts) -> HTML {
        var out: HTML = ""
        if edition == .student, parts.solution != nil {
            out += "<p class=\"submit-hint\">To have your answer checked, put your code in a <code>```swift submission \(parts.exercise.id)```</code> block of a Markdown file and run <code>rnnbook grade \(chapter.path) --submission FILE</code>.</p>"
        }
        return out + "</section>"
    }

    private mutating func solutionOpening(_ parts: ExerciseParts) -> HTML {
        let blocks = parts.solutionBlocks
        if edition == .instructor {
            // A failed solution stays open: its error must not hide behind a click; in print every
            // solution is open (a closed <details> prints only its summary).
            let failed = result?.blocks.contains { blocks.contains($0.index) && $0.status == .failed } ?? false
            return "<details class=\"solution\"\(failed || links.isPrint ? " open" : "")><summary>Solution <span class=\"meta\">· run in this build; hidden from the student edition</span></summary>"
        }
        var badges: HTML = ""
        while let (i, check) = takeCheck(where: { $0.block.map(blocks.contains) ?? false }) {
            badges += " " + Badge.html(for: check, label: check.label, id: checkIDs[i])
        }
        let anchors = blocks.sorted().map { "<span id=\"\(links.id("block-\($0 + 1)"))\"></span>" as HTML }.joined()
        let ran: String
        switch result?.blocks.filter({ blocks.contains($0.index) }).map(\.status) {
        case nil: ran = "The reference solution has not been run."
        case let statuses? where statuses.allSatisfy({ $0 == .passed }): ran = "The build ran the reference solution, and the checks below passed with it."
        default: ran = "The build ran the reference solution, and it failed; the instructor edition shows why."
        }
        return "<div class=\"solution withheld\">\(anchors)<p><strong>Solution</strong> · not part of the student edition. \(ran)\(badges)</p></div>"
    }

    /// Closes the solution group before segment `k` when one ends there (instructor edition).
    private func solutionClosing(at k: Int) -> HTML {
        guard edition == .instructor else { return "" }
        return exerciseParts.contains { $0.solution?.upperBound == k } ? "</details>" : ""
    }

    static let exerciseCSS = #"""

/* Exercises */
.exercise { margin: 2.2rem 0; padding: .2rem 1.2rem .6rem; border: 1px solid var(--rule); border-left: 4px solid var(--accent);
            border-radius: 8px; background: color-mix(in srgb, var(--accent) 3%, transparent); }
.exercise-title { margin-top: 1rem; border-bottom: 0; }
.exercise-no { color: var(--accent); margin-right: .35rem; }
.exercise-part { font: 600 .82rem var(--sans); color: var(--muted); margin: 1.2rem 0 -.6rem; text-transform: uppercase; letter-spacing: .04em; }
.exercise-part .meta { text-transform: none; letter-spacing: 0; font-weight: 400; }
details.solution { margin: 1.2rem 0; border: 1px dashed var(--rule); border-radius: 7px; padding: .2rem .9rem; }
details.solution > summary { cursor: pointer; font: 600 .9rem var(--sans); padding: .4rem 0; }
details.solution > summary .meta { font-weight: 400; color: var(--muted); }
.solution.withheld { margin: 1.2rem 0; border: 1px dashed var(--rule); border-radius: 7px; padding: .6rem .9rem; font: .9rem var(--sans); }
.solution.withheld p { margin: 0; }
.submit-hint { font: .82rem var(--sans); color: var(--muted); }
@media print {
  .exercise { break-inside: auto; background: none; }
  details.solution > summary .meta, .submit-hint { display: none; }
}
"""#
}
