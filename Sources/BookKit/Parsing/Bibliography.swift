import Foundation
import Yams

/// A person's name as CSL writes it: `family` and `given`, or one `literal` (an organisation).
public struct BibName: Codable, Sendable, Equatable {
    public var family: String?
    public var given: String?
    public var literal: String?
    public init(family: String? = nil, given: String? = nil, literal: String? = nil) {
        self.family = family; self.given = given; self.literal = literal
    }
    /// The name as it leads a citation: the family name, else the literal.
    var short: String { family ?? literal ?? given ?? "" }
}

/// One work of the bibliography (a CSL item), with what the pages need to cite and list it.
public struct BibEntry: Codable, Sendable, Equatable {
    public var id: String
    /// CSL type: `article-journal`, `book`, `paper-conference`, `report`, `article`, …
    public var type: String
    public var title: String
    public var authors: [BibName]
    public var editors: [BibName]
    public var year: Int
    public var containerTitle: String?
    public var collectionTitle: String?
    public var volume: String?
    public var issue: String?
    public var page: String?
    public var publisher: String?
    public var publisherPlace: String?
    public var genre: String?
    public var number: String?
    public var edition: String?
    public var url: String?
    public var doi: String?
    public var note: String?
    /// `a`, `b`, … when two works would otherwise cite alike ("Bengio et al. 2003a").
    public var yearSuffix: String = ""
    /// Where the entry starts in the bibliography file.
    public var location: SourceLocation

    /// "Werbos", "Tallec and Ollivier", "Bengio et al.": the names part of an author-year citation.
    public var citationNames: String {
        let names = (authors.isEmpty ? editors : authors).map(\.short)
        switch names.count {
        case 0: return title
        case 1: return names[0]
        case 2: return "\(names[0]) and \(names[1])"
        default: return "\(names[0]) et al."
        }
    }
    /// "2003" or "2003a".
    public var citationYear: String { "\(year)\(yearSuffix)" }
    /// Reference lists are ordered by names, then year, then title.
    var sortKey: String { "\((authors.isEmpty ? editors : authors).map(\.short).joined(separator: " ").lowercased()) \(year)\(yearSuffix) \(title.lowercased())" }
}

/// The works a book cites, read from a CSL-YAML or CSL-JSON file; every problem is an error at
/// the file's line.
public struct Bibliography: Sendable, Equatable {
    /// Path as messages name it (`chapters/references.yaml`).
    public var path: String
    public var entries: [String: BibEntry]

    /// File names looked for in a chapter's folder when its front matter names no bibliography.
    public static let defaultNames = ["references.yaml", "references.yml", "references.json"]

    /// Reads `url` (`.json` as CSL-JSON, anything else as CSL-YAML); `displayPath` names it in messages.
    public static func load(contentsOf url: URL, displayPath: String) throws -> Bibliography {
        let text = try readBoundedText(url, displayPath: displayPath, what: "bibliography")
        return try url.pathExtension.lowercased() == "json" ? parse(json: text, path: displayPath) : parse(yaml: text, path: displayPath)
    }

    /// Parses CSL-YAML: a list of items, or a mapping with the list under `references:`.
    public static func parse(yaml: String, path: String) throws -> Bibliography {
        let node = try composeBoundedYAML(yaml, what: "bibliography YAML") { mark in
            SourceLocation(file: path, line: mark?.line ?? 1, column: mark?.column ?? 1)
        }
        guard let node else { throw BookError("the bibliography is empty; expected a list of CSL items (id, type, title, author, issued)", at: SourceLocation(file: path, line: 1)) }
        return try build(from: Tree(node), path: path)
    }

    /// Parses CSL-JSON: an array of items. JSON carries no line numbers, so a problem in an item
    /// is reported at the line of the item's `"id"`.
    public static func parse(json: String, path: String) throws -> Bibliography {
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: Data(json.utf8)) } catch {
            let ns = error as NSError
            let detail = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            // Foundation names the place as an index or in its message ("around character 25").
            var line = 1
            let index = ns.userInfo["NSJSONSerializationErrorIndex"] as? Int
                ?? detail.firstMatch(of: #/character (\d+)/#).flatMap { Int($0.1) }
            if let index {
                line = json.utf8.prefix(index).filter { $0 == UInt8(ascii: "\n") }.count + 1
            } else if let m = detail.firstMatch(of: #/line (\d+)/#), let l = Int(m.1) {
                line = l
            }
            throw BookError("malformed bibliography JSON: \(detail)", at: SourceLocation(file: path, line: line))
        }
        return try build(from: Tree(json: value, source: json, line: 1), path: path)
    }

    // MARK: Reading items

    /// A YAML or JSON value with the line it starts on.
    indirect enum Tree {
        case scalar(String, line: Int, column: Int)
        case list([Tree], line: Int, column: Int)
        case map([(String, Tree)], line: Int, column: Int)

        init(_ node: Node) {
            let line = node.mark?.line ?? 1, column = node.mark?.column ?? 1
            switch node {
            case .scalar(let s): self = .scalar(s.string, line: line, column: column)
            case .sequence(let s): self = .list(s.map(Tree.init), line: line, column: column)
            case .mapping(let m): self = .map(m.map { ($0.key.string ?? "", Tree($0.value)) }, line: line, column: column)
            case .alias: self = .scalar("", line: line, column: column)
            }
        }

        /// JSON values get the line of their item's `"id"` (found in `source`), else `line`.
        init(json: Any, source: String, line: Int) {
            switch json {
            case let a as [Any]:
                self = .list(a.map { Tree(json: $0, source: source, line: Tree.line(ofItem: $0, in: source) ?? line) }, line: line, column: 1)
            case let d as [String: Any]:
                let l = Tree.line(ofItem: d, in: source) ?? line
                self = .map(d.keys.sorted().map { ($0, Tree(json: d[$0]!, source: source, line: l)) }, line: l, column: 1)
            case let n as NSNumber:
                // Whole numbers read back as written (a volume `3`, not `3.0`).
                let d = n.doubleValue
                self = .scalar(d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)", line: line, column: 1)
            case let s as String: self = .scalar(s, line: line, column: 1)
            case is NSNull: self = .scalar("", line: line, column: 1)
            default: self = .scalar("\(json)", line: line, column: 1)
            }
        }

        static func line(ofItem value: Any, in source: String) -> Int? {
            guard let d = value as? [String: Any], let id = d["id"] as? String else { return nil }
            let escaped = NSRegularExpression.escapedPattern(for: id)
            guard let r = source.range(of: "\"id\"\\s*:\\s*\"\(escaped)\"", options: .regularExpression) else { return nil }
            return source[..<r.lowerBound].filter { $0 == "\n" }.count + 1
        }

        var line: Int { switch self { case .scalar(_, let l, _), .list(_, let l, _), .map(_, let l, _): l } }
        var column: Int { switch self { case .scalar(_, _, let c), .list(_, _, let c), .map(_, _, let c): c } }
        var kind: String { switch self { case .scalar: "text"; case .list: "list"; case .map: "mapping" } }
        var text: String? { if case .scalar(let s, _, _) = self { s } else { nil } }
    }

    static func build(from root: Tree, path: String) throws -> Bibliography {
        func at(_ t: Tree) -> SourceLocation { SourceLocation(file: path, line: t.line, column: t.column) }
        var items: [Tree]
        switch root {
        case .list(let l, _, _): items = l
        case .map(let m, _, _):
            guard let refs = m.first(where: { $0.0 == "references" })?.1, case .list(let l, _, _) = refs else {
                throw BookError("a bibliography is a list of CSL items (or a mapping with the list under 'references:'), found a mapping without 'references'", at: at(root))
            }
            items = l
        case .scalar:
            throw BookError("a bibliography is a list of CSL items (id, type, title, author, issued), found text", at: at(root))
        }
        var entries: [String: BibEntry] = [:]
        for item in items {
            let entry = try Self.entry(item, path: path)
            if let earlier = entries[entry.id] {
                throw BookError("bibliography id '\(entry.id)' is used twice (first at line \(earlier.location.line)); every item needs its own id", at: entry.location)
            }
            entries[entry.id] = entry
        }
        disambiguate(&entries)
        return Bibliography(path: path, entries: entries)
    }

    /// CSL's variables (the spec's list plus the keys Zotero's CSL-JSON adds); anything else is a typo.
    static let knownFields: Set<String> = [
        "id", "type", "categories", "language", "journalAbbreviation", "shortTitle", "citation-key",
        "abstract", "annote", "archive", "archive_collection", "archive_location", "archive-place", "authority",
        "call-number", "chapter-number", "citation-label", "citation-number", "collection-number", "collection-title",
        "container-title", "container-title-short", "dimensions", "division", "DOI", "edition", "event", "event-title",
        "event-place", "genre", "ISBN", "ISSN", "issue", "jurisdiction", "keyword", "license", "medium", "note", "number",
        "number-of-pages", "number-of-volumes", "original-publisher", "original-publisher-place", "original-title",
        "page", "page-first", "part-number", "part-title", "PMCID", "PMID", "printing-number", "publisher",
        "publisher-place", "references", "reviewed-genre", "reviewed-title", "scale", "section", "source", "status",
        "supplement-number", "title", "title-short", "URL", "version", "volume", "volume-title", "year-suffix",
        "author", "chair", "collection-editor", "compiler", "composer", "container-author", "contributor", "curator",
        "director", "editor", "editorial-director", "executive-producer", "guest", "host", "illustrator", "interviewer",
        "narrator", "organizer", "original-author", "performer", "producer", "recipient", "reviewed-author",
        "script-writer", "series-creator", "translator",
        "accessed", "available-date", "event-date", "issued", "original-date", "submitted",
    ]

    static let knownTypes: Set<String> = [
        "article", "article-journal", "article-magazine", "article-newspaper", "bill", "book", "broadcast", "chapter",
        "classic", "collection", "dataset", "document", "entry", "entry-dictionary", "entry-encyclopedia", "event",
        "figure", "graphic", "hearing", "interview", "legal_case", "legislation", "manuscript", "map", "motion_picture",
        "musical_score", "pamphlet", "paper-conference", "patent", "performance", "periodical", "personal_communication",
        "post", "post-weblog", "regulation", "report", "review", "review-book", "software", "song", "speech", "standard",
        "thesis", "treaty", "webpage",
    ]

    static func entry(_ item: Tree, path: String) throws -> BibEntry {
        func at(_ t: Tree) -> SourceLocation { SourceLocation(file: path, line: t.line, column: t.column) }
        guard case .map(let fields, _, _) = item else {
            throw BookError("a bibliography item must be a mapping of CSL fields (id, type, title, author, issued), found \(item.kind)", at: at(item))
        }
        var byName: [String: Tree] = [:]
        for (key, value) in fields {
            guard knownFields.contains(key) else {
                let hint = knownFields.first { $0.lowercased() == key.lowercased() }.map { " (did you mean '\($0)'?)" } ?? ""
                throw BookError("unknown CSL field '\(key)'\(hint); expected CSL variables such as id, type, title, author, issued, container-title, volume, issue, page, publisher, URL, DOI", at: at(value))
            }
            byName[key] = value
        }
        func text(_ key: String, required: Bool = false) throws -> String? {
            guard let t = byName[key] else {
                if required { throw BookError("bibliography item has no '\(key)'; every item needs id, type, title, author (or editor) and issued", at: at(item)) }
                return nil
            }
            guard let s = t.text?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else {
                throw BookError("'\(key)' must be non-empty text, found \(t.text == nil ? t.kind : "nothing")", at: at(t))
            }
            return s
        }
        let id = try text("id", required: true)!
        guard id.first.map({ $0.isLetter || $0.isNumber || $0 == "_" }) == true,
              id.allSatisfy({ $0.isLetter || $0.isNumber || "_:.#$%&-+?<>~/".contains($0) }) else {
            throw BookError("bibliography id '\(id)' cannot be cited as @\(id); use letters, digits and _:.-/ (starting with a letter, digit or _)", at: at(byName["id"]!))
        }
        let type = try text("type", required: true)!
        guard knownTypes.contains(type) else {
            throw BookError("'\(id)': unknown CSL type '\(type)'; expected one of article-journal, book, chapter, paper-conference, report, thesis, article, webpage, … (CSL 1.0.2)", at: at(byName["type"]!))
        }
        let authors = try names("author", byName, at: at)
        let editors = try names("editor", byName, at: at)
        if authors.isEmpty && editors.isEmpty {
            throw BookError("'\(id)' has no author or editor; an author-year citation needs names", at: at(item))
        }
        guard let issued = byName["issued"] else {
            throw BookError("'\(id)' has no 'issued' date; an author-year citation needs the year (issued: {date-parts: [[2003]]} or issued: 2003)", at: at(item))
        }
        var entry = BibEntry(id: id, type: type, title: try text("title", required: true)!, authors: authors, editors: editors,
                             year: try year(issued, id: id, at: at), location: at(item))
        entry.containerTitle = try text("container-title")
        entry.collectionTitle = try text("collection-title")
        entry.volume = try text("volume")
        entry.issue = try text("issue")
        entry.page = try text("page")
        entry.publisher = try text("publisher")
        entry.publisherPlace = try text("publisher-place")
        entry.genre = try text("genre")
        entry.number = try text("number")
        entry.edition = try text("edition")
        entry.note = try text("note")
        entry.url = try text("URL")
        entry.doi = try text("DOI")
        if let url = entry.url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            throw BookError("'\(id)': URL '\(url)' must start with https:// or http://", at: at(byName["URL"]!))
        }
        return entry
    }

    static func names(_ key: String, _ fields: [String: Tree], at: (Tree) -> SourceLocation) throws -> [BibName] {
        guard let t = fields[key] else { return [] }
        guard case .list(let items, _, _) = t else {
            throw BookError("'\(key)' must be a list of names ({family: …, given: …} or {literal: …}), found \(t.kind)", at: at(t))
        }
        return try items.map { item in
            guard case .map(let parts, _, _) = item else {
                throw BookError("a name in '\(key)' must be a mapping such as {family: Elman, given: Jeffrey L.} or {literal: …}, found \(item.kind)", at: at(item))
            }
            var name = BibName()
            for (k, v) in parts {
                let s = v.text?.trimmingCharacters(in: .whitespaces)
                switch k {
                case "family": name.family = s
                case "given": name.given = s
                case "literal": name.literal = s
                case "dropping-particle", "non-dropping-particle", "suffix", "comma-suffix", "static-ordering", "parse-names": continue
                default: throw BookError("unknown name part '\(k)' in '\(key)'; expected family, given or literal", at: at(v))
                }
            }
            guard (name.family ?? name.literal).map({ !$0.isEmpty }) == true else {
                throw BookError("a name in '\(key)' has neither 'family' nor 'literal'", at: at(item))
            }
            return name
        }
    }

    /// `issued: 2003`, `issued: "2003"`, `issued: {date-parts: [[2003, 5]]}` or `issued: {raw: "2003"}`.
    static func year(_ t: Tree, id: String, at: (Tree) -> SourceLocation) throws -> Int {
        func fail() -> BookError {
            BookError("'\(id)': cannot read a year from 'issued'; write issued: {date-parts: [[2003]]} or issued: 2003", at: at(t))
        }
        switch t {
        case .scalar(let s, _, _):
            guard let y = Int(s.prefix(4)), s.count == 4 || s.dropFirst(4).first == "-" else { throw fail() }
            return y
        case .map(let m, _, _):
            if let parts = m.first(where: { $0.0 == "date-parts" })?.1, case .list(let outer, _, _) = parts,
               case .list(let inner, _, _)? = outer.first, let first = inner.first?.text, let y = Int(first) { return y }
            if let raw = m.first(where: { $0.0 == "raw" || $0.0 == "literal" })?.1.text, let y = Int(raw.prefix(4)) { return y }
            throw fail()
        case .list: throw fail()
        }
    }

    /// Gives works that would cite alike ("Bengio et al. 2003") the suffixes a, b, … in title order.
    static func disambiguate(_ entries: inout [String: BibEntry]) {
        let groups = Dictionary(grouping: entries.values, by: { "\($0.citationNames)|\($0.year)" })
        for (_, group) in groups where group.count > 1 {
            for (i, e) in group.sorted(by: { ($0.title.lowercased(), $0.id) < ($1.title.lowercased(), $1.id) }).enumerated() {
                entries[e.id]?.yearSuffix = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(min(i, 25))))
            }
        }
    }

    /// The bibliography a chapter in `directory` uses: the file its front matter names, else one
    /// of `defaultNames` there, else none. `bookRoot` makes the message paths relative.
    static func find(named: String?, at location: SourceLocation?, in directory: URL, chapterPath: String) throws -> Bibliography? {
        let folder = (chapterPath as NSString).deletingLastPathComponent
        func display(_ name: String) -> String { folder.isEmpty ? name : "\(folder)/\(name)" }
        if let named {
            if named.hasPrefix("/") || named.split(separator: "/").contains("..") {
                throw BookError("bibliography '\(named)' must be a path relative to the chapter's folder, inside it", at: location)
            }
            let url = directory.appendingPathComponent(named)
            guard FileManager.default.isReadableFile(atPath: url.path) else {
                throw BookError("bibliography not found: expected a file at \(url.standardizedFileURL.path) (written '\(named)', relative to the chapter's folder)", at: location)
            }
            return try load(contentsOf: url, displayPath: display(named))
        }
        for name in defaultNames {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.isReadableFile(atPath: url.path) { return try load(contentsOf: url, displayPath: display(name)) }
        }
        return nil
    }
}
