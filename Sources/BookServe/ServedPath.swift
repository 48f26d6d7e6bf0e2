import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which file under the output folder a request names. Only regular files inside the folder are
/// ever served: no `..`, no hidden names (`.cache/`, the lock, the marker), no symbolic link
/// that leads outside or to a hidden name, no NUL.
public enum ServedPath {
    /// The file `path` (an already percent-decoded URL path such as `/02-rnn.html`) names under
    /// `root`, or nil. `/` is `index.html`.
    public static func resolve(_ path: String, under root: URL) -> URL? {
        guard path.hasPrefix("/"), !path.contains("\0") else { return nil }
        var components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if components.isEmpty { components = ["index.html"] }
        // ".." and "." and every hidden name start with a dot.
        guard components.allSatisfy({ !$0.hasPrefix(".") }) else { return nil }
        guard let realRoot = realPath(root.path) else { return nil }
        let candidate = components.reduce(URL(fileURLWithPath: realRoot)) { $0.appendingPathComponent($1) }
        // Symbolic links are followed, then the target must still be inside the root, and no
        // part of its path below the root may be hidden: a link `notes.json -> .cache/a.json` or
        // `figures -> .git` names a hidden file by a visible name.
        let prefix = realRoot.hasSuffix("/") ? realRoot : realRoot + "/"
        guard let real = realPath(candidate.path), real.hasPrefix(prefix),
              real.dropFirst(prefix.count).split(separator: "/").allSatisfy({ !$0.hasPrefix(".") }) else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return URL(fileURLWithPath: real)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The `Content-Type` for a file name.
    public static func contentType(of name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "html", "htm": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "json": "application/json"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "webp": "image/webp"
        case "woff2": "font/woff2"
        case "woff": "font/woff"
        case "ttf": "font/ttf"
        case "txt", "md": "text/plain; charset=utf-8"
        default: "application/octet-stream"
        }
    }
}
