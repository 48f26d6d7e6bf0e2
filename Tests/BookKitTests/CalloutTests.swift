import BookProtocol
import Foundation
import Testing
@testable import BookKit

/// Quarto callouts (`::: {.callout-note …}` … `:::`) and folded code (```` ```swift fold ````).
@Suite("Callouts and folded code")
struct CalloutTests {
    let parser = ChapterParser()

    private func chapter(_ body: String) throws -> Chapter {
        try parser.parse(source: "---\ntitle: T\n---\n" + body, path: "chapters/t.md")
    }

    private func page(_ c: Chapter, links: PageLinks = .web) -> String {
        let outline = BookOutline(title: "B", chapters: [(c.slug, c.title, "passed")], targets: CrossReferenceTargets([]))
        var page = ChapterPage(chapter: c, result: nil, outline: outline, position: 0, links: links)
        return page.render().description
    }

    /// The parser's error for `body`, as "line: message".
    private func error(_ body: String) -> (line: Int, message: String)? {
        do { _ = try chapter(body); return nil } catch let e as BookError { return (e.location?.line ?? 0, e.message) } catch { return (0, "\(error)") }
    }

    private static let checked = """
    Before the box.

    ::: {.callout-note collapse="true" title="How this page is checked"}
    The checker compares a < b & c value.

    ```swift
    let x = 1
    ```

    More inside.
    :::

    After the box.
    """

    @Test func aCollapsedCalloutHoldsItsBlocksAndNothingElse() throws {
        let c = try chapter(Self.checked)
        let callout = try #require(c.callouts?.first)
        #expect(c.callouts?.count == 1)
        #expect(callout.kind == .note && callout.collapse && callout.title == "How this page is checked")
        #expect(callout.location.line == 6)
        // Prose before, then [prose, code, prose] inside, then prose after: four boundaries kept apart.
        #expect(c.segments.count == 5)
        #expect(callout.segments == 1 ..< 4)
        let html = page(c)
        let open = try #require(html.range(of: "<details class=\"callout callout-note\"><summary>How this page is checked</summary>"))
        let close = try #require(html.range(of: "</details>", range: open.upperBound ..< html.endIndex))
        let inside = String(html[open.upperBound ..< close.lowerBound])
        #expect(inside.contains("The checker compares a &lt; b &amp; c value."))
        #expect(inside.contains("let"))
        #expect(inside.contains("More inside."))
        #expect(!inside.contains("After the box") && !inside.contains("Before the box"))
        #expect(html[close.upperBound...].contains("After the box."))
        #expect(!html.contains(":::"))
    }

    @Test func aCalloutIsOpenInPrintAndAnAsideWhenItDoesNotCollapse() throws {
        let c = try chapter(Self.checked)
        #expect(page(c, links: .print(slug: c.slug, slugs: [c.slug])).contains("<details class=\"callout callout-note\" open><summary>"))
        let plain = try chapter("::: {.callout-warning}\nCareful.\n:::\n")
        #expect(page(plain).contains("<aside class=\"callout callout-warning\"><p class=\"callout-title\">Warning</p>"))
    }

    @Test func colonsInsideFencedCodeAreCode() throws {
        let c = try chapter("```text\n::: {.callout-note}\n:::\n```\n")
        #expect(c.callouts == nil)
        guard case .code(let block) = c.segments.first else { Issue.record("expected a code block"); return }
        #expect(block.code.contains("::: {.callout-note}"))
    }

    @Test func linesAfterACalloutKeepTheirNumbers() throws {
        // The fence lines are blanked, not removed: a mistake after the box names its own line.
        let e = try #require(error("::: {.callout-tip}\nA tip.\n:::\n\nSee @eq-nowhere and $x$.\n\n```swift wrong\n```\n"))
        #expect(e.line == 10, "\(e)")
    }

    @Test(arguments: [
        ("::: {.callout-note}\nText.\n", 4, "never closed"),
        ("Text.\n\n:::\n", 6, "none is open"),
        ("::: {.callout-note}\nA.\n\n::: {.callout-tip}\nB.\n:::\n:::\n", 7, "do not nest"),
        ("::: {.callout-notes}\nA.\n:::\n", 4, "unknown callout class '.callout-notes'; expected one of .callout-note"),
        ("::: {.callout-note colapse=\"true\"}\nA.\n:::\n", 4, "unknown callout attribute 'colapse'"),
        ("::: {.callout-note collapse=\"yes\"}\nA.\n:::\n", 4, "must be \"true\" or \"false\""),
        ("::: {.callout-note title=\"\"}\nA.\n:::\n", 4, "title=\"\" is empty"),
        ("::: {.callout-note title=\"open}\nA.\n:::\n", 4, "is not closed"),
        ("::: callout-note\nA.\n:::\n", 4, "attributes in braces"),
        ("::: {collapse=\"true\"}\nA.\n:::\n", 4, "needs its kind"),
        ("::: {.callout-note}\n:::\n", 4, "holds nothing"),
        ("::: {.callout-note}\n## Inside\n:::\n", 5, "a heading cannot go inside a callout (opened at line 4)"),
    ] as [(String, Int, String)])
    func mistakesInACalloutSayWhere(body: String, line: Int, fragment: String) throws {
        let e = try #require(error(body), "expected an error for \(body)")
        #expect(e.line == line, "\(e)")
        #expect(e.message.contains(fragment), "\(e.message)")
    }

    @Test func anExercisePartCannotSitInACallout() throws {
        let body = "## Exercises\n\n### Exercise: One {#ex-one}\n\nDo it.\n\n::: {.callout-note}\n```swift solution\nlet a = 1\n```\n:::\n"
        let e = try #require(error(body))
        #expect(e.line == 11 && e.message.contains("swift solution block cannot go inside a callout"), "\(e)")
    }

    @Test func aFoldedBlockShowsItsCodeCollapsedAndItsOutputInView() throws {
        let c = try chapter("```swift fold\nlet a = 1\nlet b = 2\nprint(a + b)\n```\n")
        guard case .code(let block) = c.segments.first else { Issue.record("expected a code block"); return }
        #expect(block.options.foldCode && block.options.showCode && block.options.run)
        let html = page(c)
        let fold = try #require(html.range(of: "<details class=\"code-fold\"><summary>Code, 3 lines</summary>"))
        #expect(html[fold.upperBound...].hasPrefix("<pre class=\"code\">"))
        #expect(page(c, links: .print(slug: c.slug, slugs: [c.slug])).contains("<details class=\"code-fold\" open>"))
        // A plain block is not folded.
        #expect(!page(try chapter("```swift\nlet a = 1\n```\n")).contains("code-fold\""))
    }

    @Test func foldAndHideContradictEachOtherAndASolutionIsAlreadyFolded() throws {
        let both = try #require(error("```swift fold hide\nlet a = 1\n```\n"))
        #expect(both.line == 4 && both.message.contains("'fold' and 'hide' contradict"), "\(both)")
        let solution = try #require(error("## Exercises\n\n### Exercise: One {#ex-one}\n\n```swift solution fold\nlet a = 1\n```\n"))
        #expect(solution.message.contains("option 'fold' cannot go with 'solution'"), "\(solution)")
    }
}
