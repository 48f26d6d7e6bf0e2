import Foundation

/// Where the Debian packages put the JavaScript the pages use; copied into `output/assets/`.
public struct AssetSources: Sendable {
    /// Holds `katex.min.js`, `katex.min.css`, `fonts/` (package `libjs-katex`).
    public var katexDirectory: URL
    /// Holds `highlight.min.js` (package `libjs-highlight.js`).
    public var highlightDirectory: URL
    public init(katexDirectory: URL, highlightDirectory: URL) {
        self.katexDirectory = katexDirectory; self.highlightDirectory = highlightDirectory
    }
    /// The paths of Debian's `libjs-katex` and `libjs-highlight.js`.
    public static let debian = AssetSources(
        katexDirectory: URL(fileURLWithPath: "/usr/share/javascript/katex"),
        highlightDirectory: URL(fileURLWithPath: "/usr/share/javascript/highlight.js"))
}

enum AssetCopier {
    /// Copies KaTeX (script, stylesheet, fonts) and highlight.js, and writes our CSS and script.
    static func install(from sources: AssetSources, into assets: URL) throws {
        let fm = FileManager.default
        let katex = sources.katexDirectory
        let katexJS = try first(of: ["katex.min.js", "katex.js"], in: katex, package: "libjs-katex", what: "KaTeX")
        let katexCSS = try first(of: ["katex.min.css", "katex.css"], in: katex, package: "libjs-katex", what: "the KaTeX stylesheet")
        let fonts = katex.appendingPathComponent("fonts").resolvingSymlinksInPath()
        let fontFiles = (try? fm.contentsOfDirectory(atPath: fonts.path))?.filter { $0.hasPrefix("KaTeX_") } ?? []
        guard !fontFiles.isEmpty else {
            throw BookError("KaTeX fonts not found in \(fonts.path) (expected KaTeX_*.woff2); install the Debian package libjs-katex: apt-get install libjs-katex")
        }
        let hljs = try first(of: ["highlight.min.js", "highlight.js"], in: sources.highlightDirectory,
                             package: "libjs-highlight.js", what: "highlight.js")

        let katexOut = assets.appendingPathComponent("katex")
        let fontsOut = katexOut.appendingPathComponent("fonts")
        let hljsOut = assets.appendingPathComponent("highlight")
        for dir in [fontsOut, hljsOut] { try fm.createDirectory(at: dir, withIntermediateDirectories: true) }
        try copy(katexJS, to: katexOut.appendingPathComponent("katex.min.js"))
        try copy(katexCSS, to: katexOut.appendingPathComponent("katex.min.css"))
        for f in fontFiles { try copy(fonts.appendingPathComponent(f), to: fontsOut.appendingPathComponent(f)) }
        try copy(hljs, to: hljsOut.appendingPathComponent("highlight.min.js"))
        try write(Stylesheet.css + ChapterPage.exerciseCSS, to: assets.appendingPathComponent("book.css"))
        try write(Stylesheet.script, to: assets.appendingPathComponent("book.js"))
        try write(CourseAssets.css, to: assets.appendingPathComponent("course.css"))
        try write(CourseAssets.script, to: assets.appendingPathComponent("search.js"))
    }

    static func first(of names: [String], in dir: URL, package: String, what: String) throws -> URL {
        for n in names {
            let u = dir.appendingPathComponent(n).resolvingSymlinksInPath()
            if FileManager.default.isReadableFile(atPath: u.path) { return u }
        }
        throw BookError("\(what) not found: expected \(dir.appendingPathComponent(names[0]).path); install the Debian package \(package): apt-get install \(package)")
    }

    /// Copies bytes, not links: Debian ships some of these files as symlinks.
    static func copy(_ source: URL, to destination: URL) throws {
        let data = try Data(contentsOf: source.resolvingSymlinksInPath())
        if let existing = try? Data(contentsOf: destination), existing == data { return }
        try data.write(to: destination, options: .atomic)
    }

    static func write(_ text: String, to destination: URL) throws {
        try copy(data: Data(text.utf8), to: destination)
    }

    static func copy(data: Data, to destination: URL) throws {
        if let existing = try? Data(contentsOf: destination), existing == data { return }
        try data.write(to: destination, options: .atomic)
    }
}
