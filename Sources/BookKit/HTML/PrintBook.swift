import Foundation

/// The whole book as one page for print, `book-print.html`: a title page, a contents page and
/// every chapter as its web page renders it (the same edition: the student edition's print has
/// no solutions), without navigation, rendered with print links (`PageLinks.print`: ids unique
/// across chapters, links between chapters inside the document). Its print stylesheet sets the
/// page margins, page numbers (CSS margin boxes) and wraps code. `PDFPrinter` turns it into `book.pdf`.
struct PrintBook {
    var title: String
    var edition: Edition
    static let fileName = "book-print.html"

    /// A chapter as the print book takes it: `ChapterPage.renderBody()` with print links, and
    /// its h2 sections (`ChapterPage.printSections`) for the contents.
    struct Part {
        var chapter: Chapter
        var body: HTML
        var sections: [(id: String, html: String)]
    }

    /// `parts`: each chapter, in book order.
    func html(parts: [Part]) -> String {
        var chapters: HTML = ""
        var contents: HTML = ""
        for (n, part) in parts.enumerated() {
            let slug = part.chapter.slug
            let number = n + 1
            chapters += "<section class=\"print-chapter\" id=\"\(Self.chapterID(slug))\">"
            chapters += "<p class=\"print-chapter-no\">Chapter \(number)</p>\(part.body)</section>\n"
            contents += "<li><a href=\"#\(Self.chapterID(slug))\"><span class=\"toc-no\">\(number)</span> \(part.chapter.title)</a>"
            if !part.sections.isEmpty {
                contents += "<ol>" + part.sections.map { "<li><a href=\"#\($0.id)\">\(HTML(trusted: $0.html))</a></li>" as HTML }.joined() + "</ol>"
            }
            contents += "</li>"
        }
        var page = Layout.head(title: title, extra: "<style>\(HTML(trusted: Self.css))</style>\n")
        page += "<main class=\"print-book\">"
        page += "<section class=\"print-cover\"><h1>\(title)</h1>"
        page += "<p class=\"print-edition\">\(edition == .student ? "Student edition" : "Instructor edition, with solutions")</p>"
        page += "<p class=\"print-note\">Made by rnnbook from the chapters' Markdown: each chapter says how many of its checks passed in the build that made this book, and each check's verdict is printed where it was made.</p></section>"
        page += "<nav class=\"print-toc\" id=\"contents\"><h2>Contents</h2><ol>\(contents)</ol></nav>\n"
        page += chapters + "</main>"
        return page.markup + Layout.foot
    }

    static func chapterID(_ slug: String) -> String { "ch-\(slug)" }

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
        // rename(2) replaces the old PDF in one step. (Foundation's replaceItemAt failed about
        // every other run here with "The file doesn't exist", leaving the new PDF unwritten.)
        guard rename(partial.path, pdf.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(at: partial)
            throw BookError("could not move the printed PDF into place at \(pdf.path): \(reason)")
        }
    }
}
