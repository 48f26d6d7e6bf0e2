/// Every environment variable rnnbook and its chapter programs read, each spelled here once: the
/// runner sets them and the runtime (or the engine, or rnnbook itself) reads them, so both sides
/// name the same variable by construction.
///
/// Not every reader can use these constants: `Sources/COpenLog/openlog.c` (C) reads `openLog`;
/// the engine reads `data` and `kernels` without depending on this module.
public enum BookEnvironment {
    // Runner → chapter program.

    /// Set when the runner hands the program its sealed side channel (see `ChannelHandoff`).
    public static let channel = "RNNBOOK_CHANNEL_FD"
    /// Path of the params file (`ParamsFile`, JSON).
    public static let params = "RNNBOOK_PARAMS"
    /// Path of the checkpoint configuration (`CheckpointConfiguration`, JSON).
    public static let checkpoints = "RNNBOOK_CHECKPOINTS"
    /// The chapter's Markdown path, relative to the book root.
    public static let chapter = "RNNBOOK_CHAPTER"
    /// Where the preloaded open log (libRnnbookOpenLog.so) appends the paths the program opens:
    /// a file path, or `fd:N` for an inherited descriptor.
    public static let openLog = "RNNBOOK_OPEN_LOG"

    // Read on both sides of the runner.

    /// Folder holding the data files (the Time Machine); handed to sandboxed programs read-only.
    public static let data = "RNNBOOK_DATA"
    /// Which kernels compute the engine's matrix products (`avx512`, `avx2`, `blas`).
    public static let kernels = "RNNBOOK_KERNELS"

    // Read by rnnbook itself.

    /// Another bubblewrap executable for the sandbox (tests name a missing one).
    public static let bubblewrap = "RNNBOOK_BWRAP"
    /// Makes root use the user-namespace sandbox of other users (tests).
    public static let sandboxUserNamespace = "RNNBOOK_SANDBOX_USERNS"
}
