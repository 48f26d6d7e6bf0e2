import BookKit
import Foundation

/// What `serve` adds to a page on its way out (the files in the output folder never hold it):
/// the live-reload script and, when the chapter's last build failed, the panel of findings.
public enum LivePage {
    /// Where the script and the event stream live; no output file can have these paths (hidden
    /// names are never served from the folder, and `_rnnbook` is not a name the build writes).
    public static let scriptPath = "/_rnnbook/live.js"
    public static let stylePath = "/_rnnbook/live.css"
    public static let eventsPath = "/_rnnbook/events"
    public static let sourcePrefix = "/_rnnbook/source/"

    /// The script every served page loads. It listens on the event stream and reloads its page
    /// when a build of its chapter (or, on the index, any build) finishes; a tab that is hidden
    /// closes its stream (browsers allow six connections to one server) and, when shown again,
    /// reloads if it missed a build (the `hello` event carries every page's generation).
    public static let script = #"""
    (function () {
      var me = document.currentScript;
      var page = me.dataset.page, generation = Number(me.dataset.generation);
      var source = null, note = null;
      var panel = document.getElementById('rnnbook-findings');
      if (panel && document.body.firstChild !== panel) document.body.insertBefore(panel, document.body.firstChild);
      function mine(d) { return d.pages.indexOf(page) >= 0; }
      function say(text) {
        if (!note) {
          note = document.createElement('div');
          note.id = 'rnnbook-live-status';
          note.setAttribute('role', 'status');
          document.body.appendChild(note);
        }
        note.textContent = text;
      }
      function connect() {
        if (source) return;
        source = new EventSource('/_rnnbook/events');
        source.addEventListener('hello', function (e) {
          var g = JSON.parse(e.data).generations;
          if ((g[page] || 0) > generation) location.reload();
        });
        source.addEventListener('building', function (e) {
          var d = JSON.parse(e.data);
          if (mine(d)) say('Rebuilding ' + d.paths.join(', ') + '…');
        });
        source.addEventListener('reload', function (e) {
          var d = JSON.parse(e.data);
          if (mine(d)) location.reload();
          else if (note) { note.remove(); note = null; }
        });
      }
      function disconnect() { if (source) { source.close(); source = null; } }
      document.addEventListener('visibilitychange', function () { if (document.hidden) disconnect(); else connect(); });
      window.addEventListener('pagehide', disconnect);
      if (!document.hidden) connect();
    })();
    """#

    /// Styles for the panel, the status note and the source view; they use the book's colours.
    /// A file of its own (`stylePath`), not a `<style>` element: the pages' content security
    /// policy runs no inline style.
    public static let style = """
    #rnnbook-findings { margin: 1rem auto; max-width: 60rem; font-family: var(--sans, sans-serif); }
    #rnnbook-findings li { margin: .25rem 0; }
    #rnnbook-findings a.loc { font-family: var(--mono, monospace); white-space: nowrap; }
    #rnnbook-findings .msg { white-space: pre-wrap; font-family: var(--mono, monospace); font-size: .9em; }
    #rnnbook-findings .below { color: var(--fg, inherit); margin-top: .5rem; }
    #rnnbook-live-status { position: fixed; right: 1rem; bottom: 1rem; padding: .4rem .8rem; border-radius: 6px;
      background: var(--fg, #222); color: var(--bg, #fff); font: .85rem var(--sans, sans-serif); opacity: .9; z-index: 10; }
    .rnnbook-source { font: .85rem/1.5 var(--mono, monospace); margin: 1rem; }
    .rnnbook-source ol { padding-left: 4.5em; }
    .rnnbook-source li { white-space: pre-wrap; }
    .rnnbook-source li:target { background: var(--fail-bg, #fdd); }
    .rnnbook-source .finding { color: var(--fail, #b00); }
    """

    /// The tag that loads `style`.
    static let styleTag = "<link rel=\"stylesheet\" id=\"rnnbook-live-style\" href=\"\(stylePath)\">"

    /// `html` followed by the style, the panel (if any) and the script. The page is not searched
    /// or cut: HTML parses what follows `</html>` into the end of the body (the parsing algorithm's
    /// "after after body" mode), and the script moves the panel to the top of the body.
    public static func inject(into html: String, page: String, generation: Int, panel: String?) -> String {
        let tag: HTML = "<script src=\"\(scriptPath)\" data-page=\"\(page)\" data-generation=\"\(generation)\"></script>"
        return html + styleTag + (panel ?? "") + tag.markup + "\n"
    }

    /// The page a request for a page maps to: a chapter's slug, or `index`.
    public static func pageName(forFile name: String) -> String {
        var base = (name as NSString).deletingPathExtension
        if base.hasSuffix(".last-good") { base = String(base.dropLast(".last-good".count)) }
        return base
    }

    /// What a failed chapter's panel says is below it.
    public enum Below: Equatable, Sendable {
        /// The last version that passed; `asBuilt` links to the page the failed build rendered.
        case lastPassed(asBuilt: String?)
        /// The chapter has never passed: the failed build's own page.
        case asBuilt
        /// No page is written for this chapter yet.
        case nothing
    }

    /// Link to a Markdown place in the source view, shown as `file:line:column`.
    static func link(_ location: SourceLocation?, known: Set<String>) -> HTML {
        guard let location else { return "" }
        let text = location.description
        guard known.contains(location.file) else { return "<span class=\"loc\">\(text)</span>: " }
        return "<a class=\"loc\" href=\"\(sourceHref(location.file, line: location.line))\">\(text)</a>: "
    }

    public static func sourceHref(_ path: String, line: Int? = nil) -> String {
        let encoded = path.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#;"))) ?? String($0) }
        return sourcePrefix + encoded.joined(separator: "/") + (line.map { "#L\($0)" } ?? "")
    }

    static func items(_ findings: [ShownFinding], known: Set<String>) -> HTML {
        findings.map { "<li>\(link($0.location, known: known))<span class=\"msg\">\($0.message)</span></li>" as HTML }.joined()
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        return " at \(f.string(from: date))"
    }

    /// The panel above a chapter page whose last build failed, or nil when there is nothing to say.
    public static func panel(for chapter: LiveChapter, general: [String], below: Below, known: Set<String>) -> String? {
        guard !chapter.findings.isEmpty || !general.isEmpty else { return nil }
        var out: HTML = "<aside class=\"failures\" id=\"rnnbook-findings\" role=\"alert\">"
        if !chapter.findings.isEmpty {
            out += "<p><strong>The last build of \(chapter.path) failed\(time(chapter.builtAt)).</strong></p>"
            out += "<ul>\(items(chapter.findings, known: known))</ul>"
        }
        if !general.isEmpty {
            out += "<p><strong>The last build had problems:</strong></p><ul>"
            out += general.map { "<li><span class=\"msg\">\($0)</span></li>" as HTML }.joined() + "</ul>"
        }
        switch below {
        case .lastPassed(let asBuilt):
            out += "<p class=\"below\">Below: the last version of this chapter that passed."
            if let asBuilt { out += " <a href=\"\(asBuilt)\">The page as this build rendered it.</a>" }
            out += "</p>"
        case .asBuilt:
            out += "<p class=\"below\">No version of this chapter has passed yet; below: the page this build rendered.</p>"
        case .nothing:
            out += "<p class=\"below\">No page has been written for this chapter yet.</p>"
        }
        return (out + "</aside>").markup
    }

    /// The panel above the index: every chapter whose last build failed, with its findings.
    public static func indexPanel(chapters: [LiveChapter], general: [String], known: Set<String>) -> String? {
        let failed = chapters.filter { !$0.findings.isEmpty }
        guard !failed.isEmpty || !general.isEmpty else { return nil }
        var out: HTML = "<aside class=\"failures\" id=\"rnnbook-findings\" role=\"alert\">"
        if !failed.isEmpty {
            out += "<p><strong>\(failed.count) chapter\(failed.count == 1 ? "" : "s") failed in the last build.</strong></p><ul>"
            for c in failed {
                out += "<li><a href=\"\(c.slug).html\">\(c.path)</a><ul>\(items(c.findings, known: known))</ul></li>"
            }
            out += "</ul>"
        }
        if !general.isEmpty {
            out += "<p><strong>The last build had problems:</strong></p><ul>"
            out += general.map { "<li><span class=\"msg\">\($0)</span></li>" as HTML }.joined() + "</ul>"
        }
        return (out + "</aside>").markup
    }

    /// A whole page for a chapter that has findings but no page file (it never parsed).
    public static func placeholder(title: String, bookTitle: String = "rnnbook serve") -> String {
        let page: HTML = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            + "<meta name=\"color-scheme\" content=\"light dark\">\n<title>\(title) · \(bookTitle)</title>\n"
            + "<link rel=\"stylesheet\" href=\"/assets/book.css\">\n</head>\n<body>\n<main id=\"main\"><p><a href=\"/index.html\">Contents</a></p>"
            + "<h1>\(title)</h1></main>\n</body>\n</html>\n"
        return page.markup
    }

    /// The chapter's Markdown with numbered lines (`#L12` is line 12) and each finding under its line.
    public static func sourceView(path: String, text: String, findings: [ShownFinding]) -> String {
        var byLine: [Int: [String]] = [:]
        for f in findings where f.location?.file == path {
            if let l = f.location { byLine[l.line, default: []].append(l.description + ": " + f.message) }
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { lines.removeLast() }
        var body: HTML = ""
        for (i, line) in lines.enumerated() {
            body += "<li id=\"L\(i + 1)\">\(line)"
            for message in byLine[i + 1] ?? [] { body += "\n<span class=\"finding\">✗ \(message)</span>" }
            body += "</li>"
        }
        let page: HTML = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            + "<meta name=\"color-scheme\" content=\"light dark\">\n<title>\(path)</title>\n"
            + "<link rel=\"stylesheet\" href=\"/assets/book.css\">\n</head>\n<body>\n"
            + "<div class=\"rnnbook-source\"><p><a href=\"/index.html\">Contents</a> · <strong>\(path)</strong> (as it is on disk now)</p>"
            + "<ol>\(body)</ol></div>\n</body>\n</html>\n"
        return page.markup
    }
}
