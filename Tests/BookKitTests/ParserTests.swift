import Testing
@testable import BookKit

@Suite("Chapter parsing")
struct ParserTests {
    let parser = ChapterParser()

    @Test func mathsSurvivesMarkdownUntouched() throws {
        let source = """
        ---
        title: T
        ---
        Inline $W_{xh} * b_h$ and GitBook $$x_t^*$$ and \\(a_1 \\times b_2\\) here.

        $$\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{b}_h)$$ {#eq-rnn-state}

        See @eq-rnn-state.
        """
        let chapter = try parser.parse(source: source, path: "chapters/t.md")
        let maths = chapter.inlines.compactMap { if case .math(let tex) = $0 { tex } else { nil } }
        #expect(maths == ["W_{xh} * b_h", "x_t^*", "a_1 \\times b_2"])
        let eq = try #require(chapter.equations.first)
        #expect(eq.tex == "\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{b}_h)")
        #expect(eq.label == "eq-rnn-state")
        #expect(eq.number == 1)
        #expect(eq.location.line == 6)
        // cmark saw placeholders, not maths: no <em> from the underscores or asterisks.
        guard let html = HTMLFixtures.markup(chapter.segments[0], of: chapter) else { Issue.record("expected prose first"); return }
        #expect(!html.contains("<em>"))
        #expect(html.contains("\u{E000}0\u{E001}"))
        #expect(chapter.inlines.contains(.reference(label: "eq-rnn-state", location: SourceLocation(file: "chapters/t.md", line: 8, column: 5))))
    }

    @Test func mathsInsideCodeIsCode() throws {
        let source = "Use `$x_t$` literally.\n\n```swift\nlet s = \"$a$ {{b}}\"\n```\n"
        let chapter = try parser.parse(source: source, path: "chapters/t.md")
        #expect(chapter.inlines.isEmpty)
        #expect(chapter.codeBlocks.first?.code == "let s = \"$a$ {{b}}\"\n")
    }

    @Test(arguments: [
        ("{{ppl ≈ 1.0 ± 0.1}}", "ppl", 1.0, 0.1, nil as String?),
        ("{{ppl ~ 2.5 +- 0.25 @default}}", "ppl", 2.5, 0.25, "default"),
        ("{{loss:.2f ≈ -3e-1 ± 1e-2 @quick}}", "loss", -0.3, 0.01, "quick"),
    ])
    func claims(text: String, metric: String, expected: Double, tolerance: Double, profile: String?) throws {
        // A claim's profile must be one the chapter defines.
        let chapter = try parser.parse(source: "---\nprofiles:\n  quick: {}\n---\nValue \(text).\n", path: "chapters/t.md")
        guard case .claim(let claim) = try #require(chapter.inlines.first) else { Issue.record("not a claim"); return }
        #expect(claim.metric == metric)
        #expect(abs(claim.expected - expected) < 1e-12)
        #expect(abs(claim.tolerance - tolerance) < 1e-12)
        #expect(claim.profile == profile)
        #expect(claim.location.line == 5 && claim.location.column == 7)
    }

    @Test(arguments: [
        ("{{seq < rand}}", "seq", ClaimBound(.less, metric: "rand"), nil as String?, nil as String?),
        ("{{ppl:.2f > 1.5e-3 @quick}}", "ppl", ClaimBound(.greater, number: 0.0015), "quick", ".2f"),
        ("{{err<1e-12}}", "err", ClaimBound(.less, number: 1e-12), nil, nil),
        ("{{a.b > c_d @default}}", "a.b", ClaimBound(.greater, metric: "c_d"), "default", nil),
    ])
    func comparisonClaims(text: String, metric: String, bound: ClaimBound, profile: String?, format: String?) throws {
        let chapter = try parser.parse(source: "---\nprofiles:\n  quick: {}\n---\nValue \(text).\n", path: "chapters/t.md")
        guard case .claim(let claim) = try #require(chapter.inlines.first) else { Issue.record("not a claim"); return }
        #expect(claim.metric == metric)
        #expect(claim.bound == bound)
        #expect(claim.profile == profile)
        #expect(claim.format == format)
        #expect(claim.location.line == 5 && claim.location.column == 7)
    }

    @Test(arguments: [
        ("{{a < a}}", "compares 'a' with itself"),
        ("{{a <= b}}", "expected a comparison"),
        ("{{a ≤ b}}", "expected a comparison"),
        ("{{1 < a}}", "a metric on the left"),
        ("{{a < }}", "expected a comparison"),
        ("{{a < b @nowhere}}", "profile 'nowhere', which this chapter does not define"),
    ])
    func malformedComparisonsSayWhatIsExpected(text: String, message: String) throws {
        let error = #expect(throws: BookError.self) {
            try parser.parse(source: "First line.\n\nValue \(text).\n", path: "chapters/t.md")
        }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(error?.location?.line == 3 && error?.location?.column == 7)
    }

    @Test func valuesWithFormats() throws {
        let chapter = try parser.parse(source: "A {{ppl}} and {{ppl:.3f}}.\n", path: "chapters/t.md")
        #expect(chapter.inlines.count == 2)
        if case .value(let name, let format, _) = chapter.inlines[1] { #expect(name == "ppl" && format == ".3f") }
        else { Issue.record("expected a value") }
    }

    @Test func codeBlocksOptionsAndExpectedOutput() throws {
        let source = """
        ```swift hide
        print(1)
        ```

        ```output tol=1e-3
        1
        ```

        ```swift norun
        x
        ```

        ```swift expect-error=run timeout=600
        y
        ```

        ```python
        z
        ```

        ![An unrolled RNN](figures/rnn.svg)
        """
        let chapter = try parser.parse(source: source, path: "chapters/t.md")
        let blocks = chapter.codeBlocks
        #expect(blocks.count == 4)
        #expect(blocks[0].index == 0 && !blocks[0].options.showCode && blocks[0].location.line == 2)
        #expect(blocks[0].expected?.text == "1\n" && blocks[0].expected?.relativeTolerance == 1e-3)
        #expect(blocks[1].index == nil && !blocks[1].options.run)
        #expect(blocks[2].index == 1 && blocks[2].options.expectError && blocks[2].options.timeout == 600)
        #expect(blocks[3].language == "python" && blocks[3].index == nil)
        #expect(chapter.segments.last == .figure(path: "figures/rnn.svg", caption: [.text("An unrolled RNN")]))
    }

    @Test func frontMatterTypesParamsAndProfiles() throws {
        let source = "---\ntitle: RNN\nparams:\n  h: 512\n  lr: 0.5\n  clip: true\n  name: tm\nprofiles:\n  quick:\n    h: 64\ntimeout: 60\n---\n# Body\n"
        let chapter = try parser.parse(source: source, path: "chapters/t.md")
        #expect(chapter.title == "RNN")
        #expect(chapter.params == ["h": .int(512), "lr": .double(0.5), "clip": .bool(true), "name": .string("tm")])
        #expect(chapter.profiles["quick"] == ["h": .int(64)])
        #expect(chapter.timeout == 60)
    }

    @Test func unknownFrontMatterKeyNamesItsLine() throws {
        let source = "---\ntitle: X\nparms:\n  h: 1\n---\n"
        let error = try #require(throws: BookError.self) { try parser.parse(source: source, path: "chapters/t.md") }
        #expect(error.location?.line == 3)
        #expect(error.description.contains("unknown front matter key 'parms'"))
        #expect(error.description.contains("params"))
    }

    @Test func malformedYAMLNamesItsLine() throws {
        let source = "---\ntitle: X\nparams: [1, 2\n---\n"
        let error = try #require(throws: BookError.self) { try parser.parse(source: source, path: "chapters/t.md") }
        #expect(error.description.hasPrefix("chapters/t.md:"))
        #expect(error.description.contains("malformed YAML"))
    }

    @Test func danglingReferenceIsAnError() throws {
        // References resolve across the book, so the parser leaves them to CrossReferences.check.
        let chapter = try parser.parse(source: "$$a$$ {#eq-a}\n\nSee @eq-b.\n", path: "chapters/t.md")
        let error = try #require(throws: BookError.self) { try CrossReferences.check(chapter, in: [chapter]) }
        #expect(error.location?.line == 3)
        #expect(error.message.contains("eq-a"))
    }

    @Test func equationsNumberedAmongLabelledOnly() throws {
        let chapter = try parser.parse(source: "$$a$$ {#eq-a}\n\n$$b$$\n\n$$\nc\n$$ {#eq-c}\n", path: "chapters/t.md")
        #expect(chapter.equations.map(\.number) == [1, nil, 2])
        #expect(chapter.equations.map(\.label) == ["eq-a", nil, "eq-c"])
        #expect(chapter.equations[2].location.line == 5)
    }

    @Test func rawHTMLInProseIsEscaped() throws {
        let chapter = try parser.parse(source: "Hello <script>alert(1)</script> there.\n", path: "chapters/t.md")
        guard let html = HTMLFixtures.markup(chapter.segments[0], of: chapter) else { Issue.record("no prose"); return }
        #expect(!html.contains("<script>"))
    }
}

@Suite("Output comparison")
struct OutputComparisonTests {
    @Test(arguments: [
        ("loss 1.0000001\n", "loss 1.0\n", 1e-6, true),
        ("loss 1.01\n", "loss 1.0\n", 1e-6, false),
        ("loss 1.0009\n", "loss 1.0\n", 1e-3, true),
        ("[1, 2.5e-3]\n", "[1.0, 0.0025]\n", 1e-9, true),
        ("ppl nan\n", "ppl nan\n", 1e-6, true),
        ("a 1\nb 2\n", "a 1\n", 1e-6, false),
        ("x1 3\n", "x2 3\n", 1e-6, false),
    ])
    func compares(actual: String, expected: String, tolerance: Double, matches: Bool) {
        // A nan in the expected block is there on purpose (the fence says `nonfinite`).
        #expect(OutputComparison(expected: expected, actual: actual, relativeTolerance: tolerance,
                                 expectsNonFinite: expected.contains("nan")).matches == matches)
    }

    @Test func diffIsReadable() {
        let c = OutputComparison(expected: "sum 6\nok\n", actual: "sum 7\nok\n", relativeTolerance: 1e-6)
        #expect(c.diff.contains("line 1"))
        #expect(c.diff.contains("- expected: sum 6"))
        #expect(c.diff.contains("+ got:      sum 7"))
        #expect(!c.diff.contains("line 2"))
    }
}
