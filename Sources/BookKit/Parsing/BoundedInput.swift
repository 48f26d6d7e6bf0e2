import Foundation
import Yams

/// What rnnbook agrees to read from a book, so that one file cannot make a build slow or huge.
public enum InputLimits {
    /// Chapter files and bibliographies larger than this are refused before they are read.
    public static let maxFileBytes = 4 * 1024 * 1024
    /// The nodes YAML aliases (`*name`) may add to one document (front matter, bibliography),
    /// summed over its aliases and counted as the expanded tree would hold them: a few lines of
    /// nested anchors would otherwise expand to billions ("billion laughs").
    public static let yamlAliasNodes = 10_000
}

/// `4 MB`, `52.4 MB`, `900 KB`: a size for messages.
func describeBytes(_ bytes: Int) -> String {
    let mb = Double(bytes) / 1_048_576
    if mb >= 1 { return mb == mb.rounded() ? "\(Int(mb)) MB" : String(format: "%.1f MB", mb) }
    return "\(max(1, Int((Double(bytes) / 1024).rounded(.up)))) KB"
}

/// The text of the book's file `url` (`what` is "chapter" or "bibliography"; `displayPath` names
/// it in messages). A file over `limit` bytes is refused from its size alone (`stat`), and the
/// read stops at `limit` for files that do not know their size (a pipe, a device).
func readBoundedText(_ url: URL, displayPath: String, what: String, limit: Int = InputLimits.maxFileBytes) throws -> String {
    let at = SourceLocation(file: displayPath, line: 1)
    func tooLarge(_ size: String) -> BookError {
        BookError("\(what) \(displayPath) is \(size), over the \(describeBytes(limit)) limit for \(what) files (InputLimits.maxFileBytes); split it into smaller files", at: at)
    }
    var info = stat()
    if stat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) > limit {
        throw tooLarge("\(describeBytes(Int(info.st_size))) (\(info.st_size) bytes)")
    }
    let data: Data
    do {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        data = try handle.read(upToCount: limit + 1) ?? Data()
    } catch {
        throw BookError("cannot read \(what): \(describe(error))", at: at)
    }
    if data.count > limit { throw tooLarge("more than \(describeBytes(limit))") }
    guard let text = String(data: data, encoding: .utf8) else {
        throw BookError("cannot read \(what): \(displayPath) is not UTF-8 text", at: at)
    }
    return text
}

/// The one way rnnbook reads YAML (front matter, bibliographies): Yams' tree of `yaml`, after
/// making sure its aliases add at most `aliasBudget` nodes. `what` names the document in messages
/// ("YAML front matter"); `place` turns a Yams mark into a place in the book's file.
///
/// Yams shares an aliased node rather than copying it, so composing is cheap, but anything that
/// walks the tree walks every expansion, and composing itself hashes each mapping key in full
/// (its duplicate-key check): a key that aliases a nested anchor takes minutes. So the aliases
/// are counted before the document is composed, on a copy in which each alias `*name` is turned
/// into a plain scalar that starts with a private-use character (one character for one, so every
/// line and column stays). In that copy nothing expands; a plain scalar that starts with the
/// marker was an alias (a plain scalar cannot start with `*`), and `*` anywhere else (in quotes,
/// comments, block text, the middle of a word) only changes text. Walking the copy in document
/// order with the expanded size of each anchor as last defined gives each alias's size without
/// expanding anything.
func composeBoundedYAML(_ yaml: String, what: String, aliasBudget: Int = InputLimits.yamlAliasNodes,
                        at place: (Mark?) -> SourceLocation) throws -> Node? {
    func located(_ error: YamlError) -> BookError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return BookError("malformed \(what): \(problem)", at: place(mark))
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return BookError("malformed \(what): \(keys) used twice as a key of one mapping", at: place(context.mark))
        default:
            return BookError("malformed \(what): \(error)", at: place(nil))
        }
    }
    if let marker = aliasMarker(for: yaml) {
        let scalars = yaml.unicodeScalars
        var copy = String.UnicodeScalarView()
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let next = scalars.index(after: i)
            copy.append(scalars[i] == "*" && next < scalars.endIndex && isAnchorCharacter(scalars[next]) ? marker : scalars[i])
            i = next
        }
        // Its nodes hold their anchors weakly; the parser keeps them while the walk needs them.
        // The copy fails where the document fails (one character stands for one), and composing
        // the document to say so could already expand.
        do {
            let parser = try Parser(yaml: String(copy))
            if let root = try parser.singleRoot() {
                try withoutActuallyEscaping(place) { place in
                    var counter = AliasCounter(marker: marker, budget: aliasBudget, what: what, place: place)
                    try withExtendedLifetime(parser) { _ = try counter.size(of: root) }
                }
            }
        } catch let error as YamlError { throw located(error) }
    }
    do { return try Yams.compose(yaml: yaml) } catch let error as YamlError { throw located(error) }
}

/// Letters, digits, `-` and `_`: what libyaml takes as an anchor's or alias's name.
private func isAnchorCharacter(_ s: Unicode.Scalar) -> Bool {
    s.isASCII && (("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "-" || s == "_")
}

/// A private-use character `yaml` does not hold, when it may hold an alias (`*` then a name
/// character); nil when it cannot.
private func aliasMarker(for yaml: String) -> Unicode.Scalar? {
    guard yaml.contains("*") else { return nil }
    let used = Set(yaml.unicodeScalars.filter { (0xE000...0xF8FF).contains($0.value) })
    return (0xE000...0xF8FF).lazy.compactMap(Unicode.Scalar.init).first { !used.contains($0) }
}

/// Sizes of a YAML tree whose aliases are marker scalars (see `composeBoundedYAML`).
private struct AliasCounter {
    let marker: Unicode.Scalar
    let budget: Int
    let what: String
    let place: (Mark?) -> SourceLocation
    /// The expanded size of each anchor as last defined before the point of the walk.
    var anchors: [String: Int] = [:]
    /// Nodes the aliases so far add.
    var added = 0

    /// Nodes of `node` once its aliases are expanded; throws at the alias that passes the budget.
    mutating func size(of node: Node) throws -> Int {
        var n = 1
        switch node {
        case .scalar(let s):
            if s.style == .plain, s.string.unicodeScalars.first == marker {
                let name = String(String.UnicodeScalarView(s.string.unicodeScalars.dropFirst().prefix(while: isAnchorCharacter)))
                // An alias of no anchor is Yams' error to report, when the document is composed.
                if let expanded = anchors[name] {
                    n = expanded
                    added += expanded
                    if added > budget {
                        throw BookError("YAML alias *\(name) expands to \(expanded) node\(expanded == 1 ? "" : "s"), and with the aliases before it to \(added); aliases may add at most \(budget) nodes to the \(what) (InputLimits.yamlAliasNodes): write the values out instead of nesting anchors", at: place(s.mark))
                    }
                }
            }
        case .sequence(let s):
            for child in s { n += try size(of: child) }
        case .mapping(let m):
            for (key, value) in m { n += try size(of: key) + size(of: value) }
        case .alias:
            break
        }
        // Yams registers an anchor when its node ends: an alias inside it names an earlier one.
        if let anchor = node.anchor { anchors[anchor.rawValue] = n }
        return n
    }
}
