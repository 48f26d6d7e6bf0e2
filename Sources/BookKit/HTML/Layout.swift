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
}
