/// rnnbook's version: the one place it is written. `rnnbook --version`, the pages ("built with
/// rnnbook 0.28.0") and each result's `versions.rnnbook` read it. The runner's cache key
/// (`ChapterRunner.generatorVersion`) is another thing, kept under its own name (`versions.runner`).
public enum RNNBookVersion {
    public static let current = "0.28.0"
}
