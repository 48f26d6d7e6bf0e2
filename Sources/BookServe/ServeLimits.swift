import FlyingFox
import Foundation

/// How much `serve` lets its clients hold, and how long it waits for them. The server is for one
/// reader's browser on 127.0.0.1, but any local program can connect: none of them may stop it
/// from answering, or starve the build of file descriptors.
public struct ServeLimits: Sendable {
    /// Connections served at once. A browser opens at most six to one server (one of them for
    /// each open page's event stream); further connections wait in the kernel's queue, holding
    /// no descriptor of ours, until one closes. Far below the usual 1024 descriptors a process
    /// may open, so that the builds `serve` runs keep theirs.
    public static let maxConnections = 64
    /// Seconds a connection has to send a whole request head: from its opening, or from the end
    /// of the previous response on a kept-alive connection. Counted from the start, not between
    /// reads, so a client that sends a byte every few seconds (slowloris) is closed too.
    public static let requestTimeout: TimeInterval = 15
    /// Seconds each write of a response may wait for the client to read.
    public static let writeTimeout: TimeInterval = 30
    /// Seconds the handler may take to make a response (the event stream's body is not counted).
    public static let handlerTimeout: TimeInterval = 30
    /// Bytes of request line and header fields; more is refused with 431.
    public static let maxRequestHead = 16 * 1024
    /// The first wait after a failed accept; it doubles on each failure in a row up to `maxRetryDelay`.
    public static let firstRetryDelay: TimeInterval = 0.05
    public static let maxRetryDelay: TimeInterval = 2

    public var maxConnections: Int
    public var requestTimeout: TimeInterval
    public var writeTimeout: TimeInterval
    public var handlerTimeout: TimeInterval
    public var maxRequestHead: Int
    public var firstRetryDelay: TimeInterval
    public var maxRetryDelay: TimeInterval

    public init(maxConnections: Int = Self.maxConnections, requestTimeout: TimeInterval = Self.requestTimeout,
                writeTimeout: TimeInterval = Self.writeTimeout, handlerTimeout: TimeInterval = Self.handlerTimeout,
                maxRequestHead: Int = Self.maxRequestHead, firstRetryDelay: TimeInterval = Self.firstRetryDelay,
                maxRetryDelay: TimeInterval = Self.maxRetryDelay) {
        precondition(maxConnections > 0, "maxConnections must be positive")
        self.maxConnections = maxConnections; self.requestTimeout = requestTimeout; self.writeTimeout = writeTimeout
        self.handlerTimeout = handlerTimeout; self.maxRequestHead = maxRequestHead
        self.firstRetryDelay = firstRetryDelay; self.maxRetryDelay = maxRetryDelay
    }
}

/// The headers every response of `serve` carries.
public enum SecurityHeaders {
    /// The search box's `onsubmit` handler on every page (`SearchIndex.box` in BookKit), and
    /// its SHA-256: with `'unsafe-hashes'` the policy lets exactly that handler run.
    static let searchBoxHandler = "return false"
    static let searchBoxHandlerHash = "sha256-GZIcz60Uwd6wT3vaYke/atSr53TehbYAPepOa3d03Vw="

    /// The pages load their scripts (book.js, KaTeX, highlight.js, search, the live script),
    /// styles (book.css, KaTeX's, the live panel's) and KaTeX's fonts from the server itself;
    /// figures are files or `data:` SVG images; the live script's EventSource goes to the same
    /// origin. No inline script or style runs, apart from the search box's one handler; KaTeX
    /// sets its sizes through the DOM (`element.style`), which a policy does not restrict.
    public static let contentSecurityPolicy = [
        "default-src 'self'",
        "script-src 'self' 'unsafe-hashes' '\(searchBoxHandlerHash)'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// `headers` with the policy and `nosniff` (a file is never read as another type than the
    /// one it is sent as: a chapter's output cannot become a script).
    public static func apply(to headers: inout HTTPHeaders) {
        headers[HTTPHeader("X-Content-Type-Options")] = "nosniff"
        headers[HTTPHeader("Content-Security-Policy")] = contentSecurityPolicy
    }
}
