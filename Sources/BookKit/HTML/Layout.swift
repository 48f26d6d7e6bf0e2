/// The `<head>` and closing of every page: our stylesheet, KaTeX, highlight.js, our script.
enum Layout {
    /// `extra`: more of the head (the print book's stylesheet), after ours.
    static func head(title: String, extra: HTML = "") -> HTML {
        opening(title: title) + """
        <link rel="stylesheet" href="assets/katex/katex.min.css">
        <link rel="stylesheet" href="assets/book.css">
        <link rel="stylesheet" href="assets/course.css">
        <script defer src="assets/katex/katex.min.js"></script>
        <script defer src="assets/highlight/highlight.min.js"></script>
        <script defer src="assets/book.js"></script>
        <script defer src="assets/search.js"></script>
        \(extra)</head>
        <body>

        """
    }

    /// The start of every document, up to its title (the head's rest follows).
    static func opening(title: String) -> HTML {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>\(title)</title>

        """
    }

    static let foot = "\n</body>\n</html>\n"

    /// The class of build plumbing: cache pills, Markdown locations and run times of blocks,
    /// checkpoint notes, engine and CPU rows. Hidden until the reader turns on "Build details"
    /// (`buildToggle`); never on a failure, whose verdict and location everyone sees.
    static let plumbing = "plumbing"

    /// The "Build details" switch of a page's header: shown only when book.js runs (it does
    /// nothing without it); its state is kept in `localStorage`, so it holds on every page.
    /// (No inline script: `serve`'s content security policy would block it.)
    static let buildToggle: HTML = "<label class=\"build-toggle\"><input type=\"checkbox\" class=\"build-toggle-input\" role=\"switch\"> Build details</label>"

    /// The query that stacks a chapter's contents above its text (the stylesheet's phone layout).
    static let narrowQuery = "(max-width: 860px)"
}
