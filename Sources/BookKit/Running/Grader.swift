import BookProtocol
import Foundation
import Synchronization

/// Grades submissions against a chapter's exercises (`rnnbook grade`).
///
/// For each exercise, the chapter's program is cut after the exercise and the exercise's
/// solution blocks are replaced: first by the reference solution itself (which must pass every
/// check: it names the checks and proves they can pass), then by each submission's code for that
/// exercise. Everything before the exercise runs as in the book (earlier exercises with their
/// reference solutions, whose names are scoped away), so a submission is judged on the same
/// state the book's solution was. Each run is a fresh compile and run, never cached.
public struct Grader: Sendable {
    public var settings: BuildSettings

    /// `settings.outputDirectory` is a scratch folder (compiled programs go under it).
    public init(settings: BuildSettings) {
        self.settings = settings
        self.settings.force = true
        self.settings.edition = .instructor
    }

    /// A submission's run may take this long at least, whatever its reference took.
    public static let minimumSubmissionTimeout: Double = 30

    /// The timeout of a submission's run: three times its reference solution's run, at least
    /// `minimumSubmissionTimeout`.
    static func submissionTimeout(reference seconds: Double?) -> Double {
        max(minimumSubmissionTimeout, 3 * (seconds ?? minimumSubmissionTimeout))
    }

    /// One check's verdict for one submission.
    public struct CheckVerdict: Codable, Sendable, Equatable {
        public enum Verdict: String, Codable, Sendable { case passed, failed, notRun = "not run" }
        public var name: String
        public var kind: String
        public var verdict: Verdict
        public var message: String
        /// Where the check is (the chapter's check block, or the line of the `expect` call).
        public var location: String?
    }

    /// One exercise of one submission.
    public struct ExerciseGrade: Codable, Sendable, Equatable {
        public var id: String
        public var title: String
        public var checks: [CheckVerdict]
        /// Why checks did not run (no code for the exercise, a compile error, a crash), located.
        public var problem: String?
        /// Files the run tried to open and could not (outside its sandbox, or missing).
        public var outsideSandbox: [String]?
        public var passed: Int { checks.filter { $0.verdict == .passed }.count }
        public var allPassed: Bool { problem == nil && !checks.isEmpty && checks.allSatisfy { $0.verdict == .passed } }
        enum CodingKeys: String, CodingKey { case id, title, checks, problem, outsideSandbox, passedCount, total, allPassed }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id); try c.encode(title, forKey: .title); try c.encode(checks, forKey: .checks)
            try c.encodeIfPresent(problem, forKey: .problem)
            try c.encodeIfPresent(outsideSandbox, forKey: .outsideSandbox)
            try c.encode(passed, forKey: .passedCount); try c.encode(checks.count, forKey: .total); try c.encode(allPassed, forKey: .allPassed)
        }
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id); title = try c.decode(String.self, forKey: .title)
            checks = try c.decode([CheckVerdict].self, forKey: .checks); problem = try c.decodeIfPresent(String.self, forKey: .problem)
            outsideSandbox = try c.decodeIfPresent([String].self, forKey: .outsideSandbox)
        }
        init(id: String, title: String, checks: [CheckVerdict], problem: String?) {
            self.id = id; self.title = title; self.checks = checks; self.problem = problem
        }
    }

    /// One submission file.
    public struct SubmissionGrade: Codable, Sendable, Equatable {
        public var file: String
        /// A problem with the file itself (it does not parse, it names no such exercise).
        public var problem: String?
        public var exercises: [ExerciseGrade]
        public var allPassed: Bool { problem == nil && !exercises.isEmpty && exercises.allSatisfy(\.allPassed) }
    }

    public struct Report: Codable, Sendable, Equatable {
        public var chapter: String
        public var profile: String
        /// The reference solutions' runs: every check must pass there.
        public var reference: [ExerciseGrade]
        public var submissions: [SubmissionGrade]
        public var allPassed: Bool { reference.allSatisfy(\.allPassed) && submissions.allSatisfy(\.allPassed) }
    }

    /// Grades `submissions` (files, as `Submission.files` found them) against the exercises of
    /// the chapter at `chapterURL`; `only` limits the exercises (every gradable one by default).
    public func grade(chapterURL: URL, displayPath: String, submissions: [(url: URL, displayPath: String)],
                      only: [String], parallel: Int, executor: TaskExecutor? = nil, terminal: Terminal) throws -> Report {
        let source = try readBoundedText(chapterURL, displayPath: displayPath, what: "chapter")
        let chapter = try ChapterParser().parse(source: source, path: displayPath, baseDirectory: chapterURL.deletingLastPathComponent())
        try BookBuilder(settings: settings).validateOverrides([chapter])
        let gradable = chapter.gradableExercises.map(\.id)
        guard !gradable.isEmpty else {
            throw UsageError("\(displayPath) has no exercise with a solution and checks to grade against")
        }
        for id in only where !gradable.contains(id) {
            throw UsageError("--exercise \(id): \(displayPath) has no such exercise to grade; exercises: \(gradable.joined(separator: ", "))")
        }
        let selected = only.isEmpty ? gradable : gradable.filter(only.contains)
        let runner = try ChapterRunner(settings: settings)
        let scratch = settings.outputDirectory
        try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let interfaces = Dictionary(uniqueKeysWithValues: selected.map { id in
            (id, SubmissionNames.Interface(exercise: id, chapter: chapter, swiftc: runner.toolchain.swiftc, work: scratch))
        })
        let parsed: [(path: String, submission: Result<Submission, BookError>)] = submissions.map { file in
            do {
                let s = try Submission.read(contentsOf: file.url, displayPath: file.displayPath)
                try s.validate(against: chapter, gradable: gradable)
                for id in selected {
                    guard let blocks = s.parts[id] else { continue }
                    if let error = SubmissionNames.shadowing(submission: blocks, interface: interfaces[id]!,
                                                             swiftc: runner.toolchain.swiftc, work: scratch) { throw error }
                }
                return (file.displayPath, .success(s))
            } catch let error as BookError {
                return (file.displayPath, .failure(error))
            } catch {
                return (file.displayPath, .failure(BookError(describe(error), at: SourceLocation(file: file.displayPath, line: 1))))
            }
        }

        // Runs: the reference of each selected exercise, then each submission's answer to it.
        struct Job: Sendable { var exercise: String; var submission: Int?; var blocks: [CodeBlock] }
        var jobs: [Job] = selected.map { id in
            Job(exercise: id, submission: nil, blocks: chapter.blocks(ofExercise: id).map(\.block).filter { $0.options.role == .solution })
        }
        for (n, item) in parsed.enumerated() {
            guard case .success(let s) = item.submission else { continue }
            for id in selected { if let blocks = s.parts[id] { jobs.append(Job(exercise: id, submission: n, blocks: blocks)) } }
        }
        let jobList = jobs
        let engine = runner.toolchain.engineIdentity
        terminal.number(chapters: [])
        @Sendable func run(_ k: Int, _ job: Job, timeout: Double?) -> ChapterResult {
            var graded = chapter.substitutingSolutions([job.exercise: job.blocks], endingAfter: job.exercise)
            // Every run gets its own work folder.
            graded.slug = "grade-\(k)"
            let who = job.submission.map { parsed[$0].path } ?? "reference solution"
            terminal.status("grading \(job.exercise): \(who)")
            var r = runner
            r.settings.timeout = timeout
            return r.run(graded, source: source, engineIdentity: engine, terminal: terminal)
        }
        /// The runs of `ks`, here (`parallel` at a time) or as tasks of the executor (Slurm).
        func runAll(_ ks: [Int], timeout: @escaping @Sendable (Job) -> Double?) throws -> [ChapterResult] {
            guard let executor else { return parallelMap(ks, jobs: parallel) { _, k in run(k, jobList[k], timeout: timeout(jobList[k])) } }
            let tasks = ks.map { k in
                let job = jobList[k]
                var graded = chapter.substitutingSolutions([job.exercise: job.blocks], endingAfter: job.exercise)
                graded.slug = "grade-\(k)"
                var s = settings
                s.timeout = timeout(job)
                var task = RunTask(label: "\(job.exercise): \(job.submission.map { parsed[$0].path } ?? "reference solution")",
                                   settings: s, chapter: graded, source: source)
                // One Slurm task per submission (its exercises one after another); the reference solutions one task.
                task.group = job.submission.map { parsed[$0].path } ?? "reference solutions"
                return task
            }
            return try zip(tasks, executor.run(tasks, terminal: terminal)).map { task, outcome in
                outcome.result ?? .unfinished(task.chapter, profile: settings.profile,
                                              why: "the run did not finish: \(outcome.reason ?? "no result")", versions: runner.versions)
            }
        }
        // The reference solutions first: each submission may take a few times what its reference took.
        let references = jobList.indices.filter { jobList[$0].submission == nil }
        let referenceResults = try runAll(references) { _ in settings.timeout }
        var seconds: [String: Double] = [:]
        for (n, k) in references.enumerated() { seconds[jobList[k].exercise] = max(0, referenceResults[n].seconds - referenceResults[n].compileSeconds) }
        let referenceSeconds = seconds
        let answers = jobList.indices.filter { jobList[$0].submission != nil }
        let answerResults = try runAll(answers) { job in settings.timeout ?? Self.submissionTimeout(reference: referenceSeconds[job.exercise]) }
        var results = [ChapterResult?](repeating: nil, count: jobList.count)
        for (n, k) in references.enumerated() { results[k] = referenceResults[n] }
        for (n, k) in answers.enumerated() { results[k] = answerResults[n] }
        terminal.clear()

        func grade(_ k: Int, against reference: [CheckVerdict]?) -> ExerciseGrade {
            let job = jobList[k]
            let graded = chapter.substitutingSolutions([job.exercise: job.blocks], endingAfter: job.exercise)
            let title = chapter.exercise(job.exercise)?.title ?? job.exercise
            var g = Self.verdicts(of: results[k]!, graded: graded, exercise: job.exercise, title: title, reference: reference)
            g.outsideSandbox = results[k]!.outsideSandbox.flatMap { $0.isEmpty ? nil : $0 }
            return g
        }
        var reference: [String: ExerciseGrade] = [:]
        for (k, job) in jobList.enumerated() where job.submission == nil { reference[job.exercise] = grade(k, against: nil) }
        var grades: [SubmissionGrade] = []
        for (n, item) in parsed.enumerated() {
            switch item.submission {
            case .failure(let error):
                grades.append(SubmissionGrade(file: item.path, problem: error.description, exercises: []))
            case .success(let s):
                var exercises: [ExerciseGrade] = []
                for id in selected {
                    let ref = reference[id]!
                    let title = chapter.exercise(id)?.title ?? id
                    if !ref.allPassed {
                        exercises.append(ExerciseGrade(id: id, title: title, checks: [], problem: "not graded: the reference solution does not pass its own checks"))
                    } else if let k = jobList.indices.first(where: { jobList[$0].exercise == id && jobList[$0].submission == n }) {
                        exercises.append(grade(k, against: ref.checks))
                    } else {
                        let checks = ref.checks.map { CheckVerdict(name: $0.name, kind: $0.kind, verdict: .notRun, message: "no code for \(id)", location: $0.location) }
                        exercises.append(ExerciseGrade(id: id, title: title, checks: checks,
                                                       problem: "\(s.path): no ```swift submission \(id)``` block (or '// submission: \(id)' line)"))
                    }
                }
                grades.append(SubmissionGrade(file: item.path, problem: nil, exercises: exercises))
            }
        }
        return Report(chapter: displayPath, profile: settings.profile, reference: selected.map { reference[$0]! }, submissions: grades)
    }

    /// The verdicts of exercise `id`'s checks in `result`. With `reference` (the reference
    /// solution's verdicts), every reference check is listed: a check this run did not reach is
    /// `not run`, with the reason (the first problem of the run).
    static func verdicts(of result: ChapterResult, graded: Chapter, exercise id: String, title: String,
                         reference: [CheckVerdict]?) -> ExerciseGrade {
        let checkBlocks = Set(graded.codeBlocks.compactMap { $0.exercise == id && $0.options.role == .check ? $0.index : nil })
        let found = result.findings.filter { $0.kind.isCheck && ($0.block.map(checkBlocks.contains) ?? false) }.map { f in
            CheckVerdict(name: f.label, kind: f.kind.rawValue, verdict: f.passed ? .passed : (f.verdict == .notChecked ? .notRun : .failed),
                         message: f.message, location: f.locationText)
        }
        let problem = result.findings.first { !$0.kind.isCheck && $0.failed }?.description
        // A run whose channel was written by someone else has no verdict to believe: every check fails.
        if result.channelTampered == true {
            let checks = (reference ?? found).map { c in
                CheckVerdict(name: c.name, kind: c.kind, verdict: .failed, message: "not believed: \(ChannelReader.tamperMessage)", location: c.location)
            }
            return ExerciseGrade(id: id, title: title, checks: checks, problem: problem ?? ChannelReader.tamperMessage)
        }
        guard let reference else {
            let problemText = problem ?? (found.isEmpty ? "the check blocks reported no check (write them with expect(\"name\", …))" : nil)
            return ExerciseGrade(id: id, title: title, checks: found, problem: problemText)
        }
        // Pair this run's checks with the reference's by name and occurrence.
        var remaining = found
        var checks: [CheckVerdict] = []
        for r in reference {
            if let i = remaining.firstIndex(where: { $0.name == r.name && $0.kind == r.kind }) {
                checks.append(remaining.remove(at: i))
            } else {
                checks.append(CheckVerdict(name: r.name, kind: r.kind, verdict: .notRun,
                                           message: problem.map { "not run: \($0)" } ?? "not run: the check blocks ended before this check",
                                           location: r.location))
            }
        }
        return ExerciseGrade(id: id, title: title, checks: checks + remaining, problem: problem)
    }
}

extension Grader.Report {
    /// The report for a terminal: per submission, per exercise, one line per check.
    public var text: String {
        var out = "Grading \(chapter) (profile \(profile))\n"
        let broken = reference.filter { !$0.allPassed }
        out += "reference solutions: " + reference.map { "\($0.id) \($0.passed)/\($0.checks.count) checks passed" }.joined(separator: ", ") + "\n"
        for r in broken {
            out += "  \(r.id): the reference solution does not pass its own checks\(r.problem.map { ": \($0)" } ?? "")\n"
            for c in r.checks where c.verdict != .passed { out += "    \(c.verdict.rawValue.uppercased()) \(c.name): \(c.message)\n" }
            if let outside = r.outsideSandbox { out += "    it could not open (outside the sandbox, or missing): \(outside.joined(separator: ", "))\n" }
        }
        for s in submissions {
            out += "\n\(s.file)\n"
            if let problem = s.problem { out += "  NOT GRADED: \(problem)\n"; continue }
            for e in s.exercises {
                out += "  \(e.id)  \(e.title)  \(e.passed)/\(e.checks.count) checks passed\n"
                if let problem = e.problem { out += "    problem: \(problem.replacingOccurrences(of: "\n", with: "\n      "))\n" }
                if let outside = e.outsideSandbox { out += "    could not open (outside its sandbox, or missing): \(outside.joined(separator: ", "))\n" }
                let width = e.checks.map(\.name.count).max() ?? 0
                for c in e.checks {
                    let mark = c.verdict == .passed ? "passed " : c.verdict == .failed ? "FAILED " : "NOT RUN"
                    let name = c.name.padding(toLength: width, withPad: " ", startingAt: 0)
                    // A failed check says where it is, so the student can read it.
                    let place = c.verdict == .failed ? c.location.map { "  (\($0))" } ?? "" : ""
                    let message = c.verdict == .notRun && e.problem != nil ? "" : "  \(c.message)\(place)"
                    out += "    \(mark)  \(name)\(message.replacingOccurrences(of: "\n", with: "\n      "))\n"
                }
            }
        }
        let passed = submissions.filter(\.allPassed).count
        out += "\n\(passed) of \(submissions.count) submission\(submissions.count == 1 ? "" : "s") passed every check"
        if !submissions.isEmpty {
            out += " (" + submissions.map { s in
                "\(s.file) \(s.exercises.reduce(0) { $0 + $1.passed })/\(s.exercises.reduce(0) { $0 + $1.checks.count })"
            }.joined(separator: ", ") + ")"
        }
        return out + "\n"
    }
}

/// `body` over `items` with up to `jobs` at a time, results in order.
func parallelMap<T, R>(_ items: [T], jobs: Int, _ body: @escaping @Sendable (Int, T) -> R) -> [R] where T: Sendable, R: Sendable {
    let box = ParallelResults<R>(items.count)
    let group = DispatchGroup()
    let semaphore = DispatchSemaphore(value: max(1, jobs))
    let queue = DispatchQueue(label: "rnnbook.parallel", attributes: .concurrent)
    for (k, item) in items.enumerated() {
        semaphore.wait()
        group.enter()
        queue.async {
            defer { semaphore.signal(); group.leave() }
            let r = body(k, item)
            box.values.withLock { $0[k] = r }
        }
    }
    group.wait()
    return box.values.withLock { $0.map { $0! } }
}

private final class ParallelResults<R: Sendable>: Sendable {
    let values: Mutex<[R?]>
    init(_ n: Int) { values = Mutex(Array(repeating: nil, count: n)) }
}
