import BookKit
import BookProtocol
import Foundation
import Synchronization

/// A problem of the last build, as the page shows it: where (a Markdown place, when known) and what.
public struct ShownFinding: Equatable, Sendable {
    public var location: SourceLocation?
    public var message: String

    public init(location: SourceLocation?, message: String) { self.location = location; self.message = message }

    /// A finding of a run: its place, then `label: message` as the terminal prints it.
    public init(_ finding: Finding) {
        location = finding.location
        message = (finding.kind.isCheck ? "\(finding.label): " : "") + finding.message
    }

    /// A chapter that did not parse.
    public init(_ error: BookError) { location = error.location; message = error.message }
}

/// What the server knows of one chapter between builds.
public struct LiveChapter: Equatable, Sendable {
    /// Relative to the book root (`chapters/02-rnn.md`), as in every message.
    public var path: String
    public var file: URL
    public var slug: String
    /// The last build's failures; empty when it passed (or the chapter has not been built).
    public var findings: [ShownFinding] = []
    /// Whether the last result written for the chapter passed (nil: none yet).
    public var lastResultPassed: Bool?
    /// When the last build of the chapter finished.
    public var builtAt: Date?
    /// False when the last build could not parse the chapter, so wrote no page for it.
    public var lastBuildWrotePage = true
    /// Set by every build of the chapter, always upwards (also across restarts of `serve`); a
    /// page knows the generation it was served at.
    public var generation = 0

    public init(path: String, file: URL, slug: String) { self.path = path; self.file = file; self.slug = slug }
}

/// The chapters and their latest findings, shared by the build loop (which writes) and the
/// server's connections (which read).
public final class LiveState: Sendable {
    private struct Contents {
        var chapters: [String: LiveChapter] = [:]
        var problems: [String] = []
        var indexGeneration = 0
        /// Generations count up from the start time in milliseconds, so that a page left open from
        /// an earlier `serve` sees a newer generation and reloads.
        var counter = Int(Date().timeIntervalSince1970 * 1000)
    }
    private let contents = Mutex(Contents())

    public init() {}

    public func chapter(slug: String) -> LiveChapter? { contents.withLock { $0.chapters[slug] } }
    public func chapter(path: String) -> LiveChapter? { contents.withLock { s in s.chapters.values.first { $0.path == path } } }
    public var all: [LiveChapter] { contents.withLock { s in s.chapters.values.sorted { $0.slug < $1.slug } } }
    /// Problems of the last build that belong to no one chapter (a page not written, a build
    /// that could not start); every page shows them.
    public var generalProblems: [String] { contents.withLock { $0.problems } }

    /// The generation a page is served at: its chapter's, or the index's (every build changes it).
    public func generation(of page: String) -> Int {
        contents.withLock { page == "index" ? $0.indexGeneration : $0.chapters[page]?.generation ?? 0 }
    }

    /// Every page's generation, for a page that (re)connects to see whether it missed a build.
    public var generations: [String: Int] {
        contents.withLock {
            var g = $0.chapters.mapValues(\.generation)
            g["index"] = $0.indexGeneration
            return g
        }
    }

    /// Makes the known chapters exactly `files` (by slug), keeping what is known of each.
    public func setChapters(_ files: [(path: String, file: URL, slug: String)]) {
        contents.withLock { s in
            var next: [String: LiveChapter] = [:]
            for f in files {
                var c = s.chapters[f.slug] ?? LiveChapter(path: f.path, file: f.file, slug: f.slug)
                c.path = f.path; c.file = f.file
                next[f.slug] = c
            }
            s.chapters = next
        }
    }

    /// Records a finished build of `slug`: its findings and whether a passing result now stands.
    /// `passed` is nil when the build wrote no result (the chapter did not parse, or the build
    /// could not start).
    public func finished(_ slug: String, findings: [ShownFinding], passed: Bool?, at date: Date = Date()) {
        contents.withLock { s in
            guard var c = s.chapters[slug] else { return }
            c.findings = findings
            if let passed { c.lastResultPassed = passed }
            c.lastBuildWrotePage = passed != nil
            c.builtAt = date
            s.counter += 1
            c.generation = s.counter
            s.chapters[slug] = c
        }
    }

    /// Records the end of a build: its general problems, and a new index.
    public func finishedBuild(problems: [String]) {
        contents.withLock { s in
            s.problems = problems
            s.counter += 1
            s.indexGeneration = s.counter
        }
    }
}
