import Foundation
import Testing
@testable import BookKit

/// Issue 23, item 7: a decimal or a percentage in prose is a `{{…}}` value or claim, or marked
/// `{{quoted: …}}`; a number typed by hand fails the chapter at its file:line:column.
@Suite("Prose numbers")
struct ProseNumberTests {
    static func passes(_ source: String) throws { _ = try Wrong.parse(source) }

    @Test func aDecimalTypedIntoProseFailsAtTheNumber() throws {
        let e = try Wrong.error("# W\n\nFirst line.\nAfter training the loss is 0.5 or so.\n")
        #expect(e.location == Wrong.at(4, 28))
        #expect(e.message.contains("the prose quotes the number 0.5 by hand"))
        #expect(e.message.contains("show a recorded value ({{name}})"))
        #expect(e.message.contains("claim it ({{name ≈ 0.5 ± …}})"))
        #expect(e.message.contains("mark it quoted ({{quoted: 0.5}})"))
    }

    @Test func percentagesFailWithAndWithoutASpace() throws {
        let spaced = try Wrong.error("# W\n\nIt reaches 97 % accuracy.\n")
        #expect(spaced.location == Wrong.at(3, 12))
        #expect(spaced.message.contains("the percentage 97 % by hand"))
        #expect(spaced.message.contains("{{quoted: 97 %}}"))
        let glued = try Wrong.error("# W\n\nIt reaches 97% accuracy.\n")
        #expect(glued.location == Wrong.at(3, 12))
        #expect(glued.message.contains("the percentage 97%"))
        let word = try Wrong.error("# W\n\nIt reaches 3.5 percent more.\n")
        #expect(word.message.contains("the percentage 3.5 percent"))
        #expect(word.message.contains("show a recorded value ({{name:.1%}}), claim it ({{name:.1% ≈ 0.035 ± …}})"))
    }

    @Test func everyKindOfProseIsScanned() throws {
        #expect(try Wrong.error("# W\n\n## Rates of 0.1 {#sec-rates}\n").location == Wrong.at(3, 13))
        #expect(try Wrong.error("# W\n\n- one\n- two 1.5\n").location == Wrong.at(4, 7))
        #expect(try Wrong.error("# W\n\n> a quote of 2.5\n").location == Wrong.at(3, 14))
        #expect(try Wrong.error("# W\n\nSee [the 0.5 run](https://example.org).\n").location == Wrong.at(3, 10))
        #expect(try Wrong.error("# W\n\n![A rate of 0.5](figures/x.svg)\n").location == Wrong.at(3, 13))
        #expect(try Wrong.error("# W\n\n*emphasis 1e-3*\n").location == Wrong.at(3, 11))
        #expect(try Wrong.error("# W\n\nA leading dot .5 counts.\n").location == Wrong.at(3, 15))
        // Maths lifted out before the number still leaves the column the file's.
        #expect(try Wrong.error("# W\n\n$x_t$ and $y$ give 0.25.\n").location == Wrong.at(3, 20))
        // A wrapped line of a list item, indented more than cmark expects, keeps its column.
        #expect(try Wrong.error("# W\n\nText\n    more 0.75\n").location == Wrong.at(4, 10))
        #expect(try Wrong.error("# W\n\n- item\nlazy 0.75\n").location == Wrong.at(4, 6))
    }

    @Test func anExerciseQuestionIsProseToo() throws {
        let e = try Wrong.error("# W\n\n### Exercise: Rates {#ex-rates}\n\nTry a learning rate of 0.1.\n")
        #expect(e.location == Wrong.at(5, 24))
    }

    @Test func numbersOutsideProsePass() throws {
        try Self.passes("# W\n\nMaths $x = 0.5$, \\(y = 2.5\\) and $$z = 1.5$$ inline.\n")
        try Self.passes("# W\n\n$$\ny = 0.5 x\n$$ {#eq-half unchecked=\"a definition at 0.5\"}\n")
        try Self.passes("# W\n\nCode `lr = 0.5` and ``x = 97%``.\n")
        try Self.passes("# W\n\n```swift norun\nlet lr = 0.5 // 97 %\n```\n\n```text\n0.25\n```\n")
        try Self.passes("# W\n\n    indented code 0.5\n")
        try Self.passes("# W\n\nA value {{loss:.2f}} and a claim {{loss ≈ 0.5 ± 0.01}}, {{rate > 0.5}}.\n")
        try Self.passes("# W\n\nA [link](https://example.org/v0.5/1.5%20x) and <https://example.org/2.5>.\n")
        try Self.passes("# W\n\n[ref]: https://example.org/0.5\n\nA [ref] link.\n")
        try Self.passes("# W\n\nRaw <span title=\"0.5\">html</span>.\n")
        try Self.passes("# W\n\n## Rates {#sec-rates}\n\nSee @sec-rates.\n")
    }

    @Test func citationsPass() throws {
        var parser = ChapterParser()
        parser.bibliography = CitationFixtures.bibliography
        _ = try parser.parse(source: "# W\n\nAs shown [@werbos1990, p. 1.5] and @bengio2003neural.\n", path: Wrong.path)
    }

    @Test func integersYearsDatesAndVersionsPass() throws {
        try Self.passes("# W\n\nIn 1990, with 512 hidden units and 1,000 steps, on 2024-01-05, with cmark 0.30.2, v1.5 and fp16.\n")
    }

    @Test func aQuotedNumberPassesAndIsMarkedOnThePage() throws {
        let chapter = try Wrong.parse("# W\n\nThe paper reports {{quoted: 97 %}} and {{quoted:0.5}}, over\n{{quoted: 1.5\nbits}}.\n")
        let quoted = chapter.inlines.compactMap { if case .quoted(let text, let location) = $0 { (text, location) } else { nil } }
        #expect(quoted.map(\.0) == ["97 %", "0.5", "1.5 bits"])
        #expect(quoted.map(\.1) == [Wrong.at(3, 19), Wrong.at(3, 40), Wrong.at(4, 1)])
        let outline = BookOutline(title: "B", chapters: [("w", "W", "notrun")], targets: CrossReferenceTargets([chapter]))
        var page = ChapterPage(chapter: chapter, result: nil, outline: outline, position: 0)
        let html = page.render()
        #expect(html.contains("<span class=\"quoted\" title=\"quoted, not computed in this book\">97 %</span>"))
        #expect(html.contains("<span class=\"quoted\" title=\"quoted, not computed in this book\">1.5 bits</span>"))
        var index = SearchIndex()
        index.add(sections: page.searchSections, slug: "w", title: "W")
        #expect(index.entries.contains { $0.text.contains("The paper reports 97 % and 0.5, over 1.5 bits.") })
        // Not a check: nothing to judge.
        #expect(ProseJudge.findings(for: chapter, metrics: [:], profile: "default", runCompleted: true).isEmpty)
    }

    @Test func anEmptyQuotationIsAnError() throws {
        let e = try Wrong.error("# W\n\nThe paper reports {{quoted:}}.\n")
        #expect(e.location == Wrong.at(3, 19))
        #expect(e.message.contains("quotes nothing"))
        let blank = try Wrong.error("# W\n\nThe paper reports {{quoted:   }}.\n")
        #expect(blank.message.contains("quotes nothing"))
        let words = try Wrong.error("# W\n\nThe paper reports {{quoted: many}}.\n")
        #expect(words.message.contains("has no number in it"))
    }
}
