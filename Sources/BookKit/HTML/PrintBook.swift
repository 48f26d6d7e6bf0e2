import Foundation

/// The whole book as one page for print, `book-print.html`: a title page, a contents page and
/// every chapter as its web page renders it (the same edition: the student edition's print has
/// no solutions), without navigation, with ids made unique across chapters and links between
/// chapters turned into links inside the document. Its print stylesheet sets the page margins,
/// page numbers (CSS margin boxes) and wraps code. `PDFPrinter` turns it into `book.pdf`.
struct PrintBook {
    var title: String
    var edition: Edition
    static let fileName = "book-print.html"

    /// `pages`: each chapter and its rendered page, in book order.
    func html(pages: [(chapter: Chapter, html: String)]) -> String {
        let slugs = Set(pages.map(\.chapter.slug))
        var chapters = ""
        var contents = ""
        for (n, item) in pages.enumerated() {
            let slug = item.chapter.slug
            let body = Self.rewriteLinks(Self.chapterBody(of: item.html), slug: slug, slugs: slugs)
            let number = n + 1
            chapters += "<section class=\"print-chapter\" id=\"\(HTMLText.escape(Self.chapterID(slug)))\">"
            chapters += "<p class=\"print-chapter-no\">Chapter \(number)</p>\(body)</section>\n"
            contents += "<li><a href=\"#\(HTMLText.escape(Self.chapterID(slug)))\"><span class=\"toc-no\">\(number)</span> \(HTMLText.escape(item.chapter.title))</a>"
            let sections = Self.sections(in: body)
            if !sections.isEmpty {
                contents += "<ol>" + sections.map { "<li><a href=\"#\($0.id)\">\($0.html)</a></li>" }.joined() + "</ol>"
            }
            contents += "</li>"
        }
        var page = Layout.head(title: title)
        page = page.replacingOccurrences(of: "</head>", with: "<style>\(Self.css)</style>\n</head>")
        page += "<main class=\"print-book\">"
        page += "<section class=\"print-cover\"><h1>\(HTMLText.escape(title))</h1>"
        page += "<p class=\"print-edition\">\(edition == .student ? "Student edition" : "Instructor edition, with solutions")</p>"
        page += "<p class=\"print-note\">Made by rnnbook from the chapters' Markdown: each chapter says how many of its checks passed in the build that made this book, and each check's verdict is printed where it was made.</p></section>"
        page += "<nav class=\"print-toc\" id=\"contents\"><h2>Contents</h2><ol>\(contents)</ol></nav>\n"
        page += chapters + "</main>" + Layout.foot
        return page
    }

    static func chapterID(_ slug: String) -> String { "ch-\(slug)" }

    /// The part of a chapter page a reader of print needs: its header (title, verdicts), the
    /// failure banner if any, and the article; not the sidebar, navigation or run details.
    static func chapterBody(of page: String) -> String {
        guard let start = page.range(of: "<header class=\"chapter-head\">"),
              let end = page.range(of: "</article>", options: .backwards), start.lowerBound < end.lowerBound else {
            return page
        }
        // A solution is printed open: a closed <details> prints only its summary.
        return String(page[start.lowerBound..<end.upperBound])
            .replacingOccurrences(of: "<details class=\"solution\">", with: "<details class=\"solution\" open>")
    }

    /// Ids get the chapter's slug in front (every page has its own `check-1`, `block-1`);
    /// links within the page, to other chapters and to the index stay inside the document.
    static func rewriteLinks(_ html: String, slug: String, slugs: Set<String>) -> String {
        let prefix = HTMLText.escape(slug) + "--"
        var out = html.replacing(#/ id="([^"]*)"/#) { " id=\"\(prefix)\($0.1)\"" }
        out = out.replacing(#/href="([^"]*)"/#) { match in
            let target = String(match.1)
            if target.hasPrefix("#") { return "href=\"#\(prefix)\(target.dropFirst())\"" }
            let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let file = String(parts[0])
            if file == "index.html" { return "href=\"#contents\"" }
            guard file.hasSuffix(".html"), !file.contains("/"), !file.contains(":"),
                  let page = String(file.dropLast(5)).removingPercentEncoding, slugs.contains(page) else {
                return "href=\"\(target)\""
            }
            let escaped = HTMLText.escape(page)
            if parts.count == 2 { return "href=\"#\(escaped)--\(parts[1])\"" }
            return "href=\"#\(HTMLText.escape(chapterID(page)))\""
        }
        return out
    }

    /// The chapter's second-level headings (id and inner HTML without the anchor), for the contents.
    static func sections(in body: String) -> [(id: String, html: String)] {
        body.matches(of: #/<h2 id="([^"]*)">(.*?)</h2>/#).map { m in
            (String(m.1), String(m.2).replacing(#/<a class="anchor"[^>]*>#</a>/#, with: ""))
        }
    }

    static let css = #"""
@page { size: A4; margin: 18mm 17mm 20mm;
  @bottom-center { content: counter(page) " / " counter(pages); font: 8.5pt system-ui, "DejaVu Sans", sans-serif; color: #555; } }
@page :first { @bottom-center { content: none; } }
@media print {
  body { font-size: 10.5pt; }
  .print-book { max-width: none; padding: 0; }
  .print-cover { display: flex; flex-direction: column; justify-content: center; min-height: 230mm; }
  .print-cover h1 { font-size: 30pt; margin: 0 0 1rem; }
  .print-edition { font: 600 13pt var(--sans); color: var(--muted); }
  .print-note { color: var(--muted); max-width: 30rem; }
  .print-toc { break-before: page; }
  .print-toc > ol { list-style: none; padding: 0; }
  .print-toc > ol > li { margin: .7rem 0; font: 600 12pt var(--sans); }
  .print-toc ol ol { list-style: none; padding-left: 1.6rem; font: 400 10pt var(--sans); }
  .print-toc ol ol li { margin: .15rem 0; }
  .print-toc a { color: var(--fg); }
  .toc-no { display: inline-block; min-width: 1.6rem; color: var(--muted); }
  .print-chapter { break-before: page; }
  .print-chapter-no { font: 600 10pt var(--sans); color: var(--muted); text-transform: uppercase; letter-spacing: .08em; margin: 0; }
  .chapter-head .book-title { display: none; }
  pre, pre code, pre.code, pre.stdout, pre.stderr { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; }
  .cell { break-inside: auto; }
  pre.code { break-inside: auto; }
  svg { max-width: 100%; height: auto; }
}
"""#
}

/// Prints `book-print.html` to `book.pdf` with headless Chromium.
public struct PDFPrinter: Sendable {
    public var chromium: String

    /// Finds Chromium: `$RNNBOOK_CHROMIUM`, else `chromium`, `chromium-browser`, `google-chrome`
    /// or `google-chrome-stable` on PATH.
    public static func locate() throws -> PDFPrinter {
        let env = ProcessInfo.processInfo.environment
        if let path = env["RNNBOOK_CHROMIUM"] {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw BookError("RNNBOOK_CHROMIUM=\(path) is not an executable file; --pdf prints the book with headless Chromium")
            }
            return PDFPrinter(chromium: path)
        }
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            if let path = which(name) { return PDFPrinter(chromium: path) }
        }
        throw BookError("--pdf prints the book with headless Chromium, which is not installed (looked for chromium, chromium-browser, google-chrome on PATH); install it (apt-get install chromium) or set RNNBOOK_CHROMIUM to its path")
    }

    /// Prints `html` (a file) to `pdf`. The PDF is written beside it first and moved into place
    /// only when Chromium wrote a PDF, so a failed print keeps the last one.
    public func print(html: URL, to pdf: URL, timeout: Double = 300) throws {
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.appendingPathComponent("rnnbook-pdf-\(UUID().uuidString)")
        try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: scratch) }
        let partial = pdf.deletingLastPathComponent().appendingPathComponent(".\(pdf.lastPathComponent).partial")
        try? fm.removeItem(at: partial)
        let args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
                    "--user-data-dir=\(scratch.appendingPathComponent("profile").path)",
                    // Time for KaTeX and highlight.js to run before the page is printed.
                    "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw",
                    "--print-to-pdf=\(partial.path)", html.absoluteURL.absoluteString]
        let err = scratch.appendingPathComponent("stderr").path
        let process = Subprocess(executable: chromium, arguments: args, environment: ProcessInfo.processInfo.environment,
                                 workingDirectory: nil, stdoutPath: scratch.appendingPathComponent("stdout").path, stderrPath: err)
        let termination = try process.run(poll: { $0 > timeout ? .timedOut(seconds: timeout) : nil })
        let written = (try? Data(contentsOf: partial, options: .mappedIfSafe)) ?? Data()
        guard termination.succeeded, written.starts(with: Array("%PDF-".utf8)) else {
            try? fm.removeItem(at: partial)
            let log = ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "").split(separator: "\n").suffix(8).joined(separator: "\n")
            throw BookError("Chromium did not print \(html.lastPathComponent) to a PDF (\(chromium) \(termination)):\n\(log)")
        }
        if fm.fileExists(atPath: pdf.path) { _ = try fm.replaceItemAt(pdf, withItemAt: partial) } else { try fm.moveItem(at: partial, to: pdf) }
    }
}
