import BookProtocol
import BookData
import Foundation
import Yams

/// What a chapter's YAML front matter says.
struct FrontMatter: Sendable, Equatable {
    var title: String?
    var params: [String: ParamValue] = [:]
    var profiles: [String: [String: ParamValue]] = [:]
    var timeout: Double?
    /// Most memory the chapter's program may use, in MB (`memory:`).
    var memory: Int?
    /// Data files the chapter reads, by their names in `DataFile.catalog`: the runner fetches and
    /// verifies them and hands the program their folder; their contents enter the cache key.
    var data: [String] = []
    /// One paragraph for the contents page.
    var summary: String?
    /// The bibliography file (relative to the chapter's folder) and where the front matter names it.
    var bibliography: (path: String, location: SourceLocation)?

    static let knownKeys = ["title", "params", "profiles", "timeout", "memory", "data", "summary", "bibliography"]

    static func == (a: FrontMatter, b: FrontMatter) -> Bool {
        a.title == b.title && a.params == b.params && a.profiles == b.profiles && a.timeout == b.timeout && a.memory == b.memory && a.data == b.data
            && a.summary == b.summary && a.bibliography?.path == b.bibliography?.path
    }
}

/// Splits `---` front matter from the body. The body keeps the front matter's lines as blank
/// lines so that every line number cmark reports is a line number of the file.
func splitFrontMatter(_ source: String) -> (yaml: String?, yamlFirstLine: Int, body: String) {
    var lines = source.components(separatedBy: "\n")
    guard let first = lines.first, first.trimmingCharacters(in: .whitespaces) == "---" else {
        return (nil, 0, source)
    }
    guard let end = lines.indices.dropFirst().first(where: {
        let t = lines[$0].trimmingCharacters(in: .whitespaces); return t == "---" || t == "..."
    }) else { return (nil, 0, source) }
    let yaml = lines[1..<end].joined(separator: "\n")
    for i in 0...end { lines[i] = "" }
    return (yaml, 2, lines.joined(separator: "\n"))
}

/// Parses front matter YAML; every error names the Markdown line.
func parseFrontMatter(_ yaml: String, firstLine: Int, file: String) throws -> FrontMatter {
    func here(_ mark: Mark?) -> SourceLocation {
        SourceLocation(file: file, line: firstLine + (mark?.line ?? 1) - 1, column: mark?.column ?? 1)
    }
    let root = try composeBoundedYAML(yaml, what: "YAML front matter", at: here)
    var fm = FrontMatter()
    guard let root else { return fm }
    guard let mapping = root.mapping else {
        throw BookError("front matter must be a mapping of keys (\(FrontMatter.knownKeys.joined(separator: ", "))), found a \(kindName(root))", at: here(root.mark))
    }
    for (keyNode, value) in mapping {
        let key = keyNode.string ?? ""
        switch key {
        case "title":
            guard let s = value.string else { throw BookError("'title' must be text", at: here(value.mark)) }
            fm.title = s
        case "params":
            fm.params = try paramMapping(value, what: "params", here: here)
        case "profiles":
            guard let m = value.mapping else { throw BookError("'profiles' must map profile names to parameter overrides", at: here(value.mark)) }
            for (name, overrides) in m {
                guard let profile = name.scalar?.string, !profile.isEmpty else {
                    throw BookError("a profile name must be a plain word, found a \(kindName(name))", at: here(name.mark))
                }
                fm.profiles[profile] = try paramMapping(overrides, what: "profile '\(profile)'", here: here)
            }
        case "timeout":
            guard let t = value.float, t.isFinite, t > 0 else {
                throw BookError("'timeout' must be a positive number of seconds, found '\(value.string ?? kindName(value))'", at: here(value.mark))
            }
            fm.timeout = t
        case "memory":
            guard let mb = value.int, mb >= 16 else {
                throw BookError("'memory' must be a whole number of megabytes, at least 16, found '\(value.string ?? kindName(value))'", at: here(value.mark))
            }
            fm.memory = mb
        case "data":
            let entries: [(name: String, mark: Mark?)]
            if let s = value.string, value.scalar != nil { entries = [(name: s, mark: value.mark)] }
            else if let seq = value.sequence {
                entries = try seq.map { item in
                    guard let s = item.scalar?.string else { throw BookError("'data' entries must be file names, found a \(kindName(item))", at: here(item.mark)) }
                    return (name: s, mark: item.mark)
                }
            }
            else { throw BookError("'data' must be a file name or a list of them", at: here(value.mark)) }
            for entry in entries where DataFile.named(entry.name) == nil {
                throw BookError(unknownDataMessage(entry.name), at: here(entry.mark))
            }
            fm.data = entries.map(\.name)
        case "summary", "bibliography":
            guard let s = value.scalar?.string.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else {
                throw BookError("'\(key)' must be \(key == "summary" ? "one paragraph of text" : "a file name relative to the chapter's folder, such as references.yaml"), found \(value.scalar == nil ? "a \(kindName(value))" : "nothing")", at: here(value.mark))
            }
            if key == "summary" { fm.summary = s } else { fm.bibliography = (s, here(value.mark)) }
        default:
            throw BookError("unknown front matter key '\(key)'; expected one of: \(FrontMatter.knownKeys.joined(separator: ", "))", at: here(keyNode.mark))
        }
    }
    // Profiles may only override declared params, so a typo cannot silently do nothing.
    for (profile, overrides) in fm.profiles {
        for key in overrides.keys where fm.params[key] == nil {
            throw BookError("profile '\(profile)' overrides '\(key)', which is not in params (\(fm.params.keys.sorted().joined(separator: ", ")))", at: here(nil))
        }
    }
    return fm
}

/// "unknown data file 'x'; did you mean 'y'?" for a name close to a catalog name (or to its
/// name without the extension), with the names a chapter may declare.
func unknownDataMessage(_ name: String) -> String {
    let known = DataFile.catalog.map(\.name)
    func distance(_ candidate: String) -> Int {
        let stem = candidate.split(separator: ".").first.map(String.init) ?? candidate
        return min(editDistance(name.lowercased(), candidate.lowercased()), editDistance(name.lowercased(), stem.lowercased()))
    }
    let close = known.map { ($0, distance($0)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    return "unknown data file '\(name)'" + (close.map { "; did you mean '\($0)'?" } ?? "")
        + " (a chapter may declare: \(known.joined(separator: ", ")); rnnbook fetches and checks each by its SHA-1)"
}

private func kindName(_ node: Node) -> String {
    switch node {
    case .scalar: "scalar"
    case .mapping: "mapping"
    case .sequence: "list"
    case .alias: "alias"
    }
}

private func paramMapping(_ node: Node, what: String, here: (Mark?) -> SourceLocation) throws -> [String: ParamValue] {
    guard let m = node.mapping else { throw BookError("'\(what)' must be a mapping of names to values", at: here(node.mark)) }
    var out: [String: ParamValue] = [:]
    for (k, v) in m {
        guard let name = k.scalar?.string else { throw BookError("\(what): a param name must be a plain word, found a \(kindName(k))", at: here(k.mark)) }
        guard let value = paramValue(from: v) else {
            throw BookError("\(what): '\(name)' must be a finite number, true/false or text", at: here(v.mark))
        }
        out[name] = value
    }
    return out
}

/// Types a YAML scalar as YAML's core schema resolves it (plain `512` is an Int, `0.1` a Double).
func paramValue(from node: Node) -> ParamValue? {
    guard let scalar = node.scalar else { return nil }
    switch node.tag.rawValue {
    case Tag.Name.int.rawValue: return node.int.map(ParamValue.int)
    // `.nan` and `.inf` are YAML floats but never a parameter: they would pass silently into code.
    case Tag.Name.float.rawValue: return node.float.flatMap { $0.isFinite ? ParamValue.double($0) : nil }
    case Tag.Name.bool.rawValue: return node.bool.map(ParamValue.bool)
    default: return .string(scalar.string)
    }
}

/// Parses a `--set` value with the type of the param's default; nil when it does not fit.
public func parseParamValue(_ text: String, like existing: ParamValue) -> ParamValue? {
    switch existing {
    case .int: return Int(text).map(ParamValue.int)
    case .double: return Double(text).flatMap { $0.isFinite ? ParamValue.double($0) : nil }
    case .bool:
        switch text.lowercased() { case "true", "yes", "1": return .bool(true); case "false", "no", "0": return .bool(false); default: return nil }
    case .string: return .string(text)
    }
}

/// The profiles the chapters in `folder` define (`profiles:` in their front matter), sorted; for
/// `--help`, which names them. Only the first 64 KB of each file is read (front matter is at the
/// top; a chapter file may be huge, see `BoundedInput`), and a chapter that cannot be read or
/// parsed adds none: help never fails.
public func profilesDefined(inChaptersAt folder: URL) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    var profiles = Set<String>()
    for name in names.sorted() where name.hasSuffix(".md") && name != "README.md" {
        guard let handle = try? FileHandle(forReadingFrom: folder.appendingPathComponent(name)) else { continue }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 64 * 1024), let source = String(data: head, encoding: .utf8) else { continue }
        let (yaml, line, _) = splitFrontMatter(source)
        guard let yaml, let front = try? parseFrontMatter(yaml, firstLine: line, file: name) else { continue }
        profiles.formUnion(front.profiles.keys)
    }
    return profiles.sorted()
}
