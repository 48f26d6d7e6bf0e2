import ProcessRunner

// BookKit's names for what it uses of ProcessRunner (the one way rnnbook starts a program),
// so that BookKit's files, and the command line that imports only BookKit, need no import of
// their own.

public typealias Termination = ProcessRunner.Termination
typealias Subprocess = ProcessRunner.Subprocess

/// Seconds as a person reads them: "1.25 s" under ten seconds, "42 s" above.
func formatSeconds(_ s: Double) -> String { ProcessRunner.formatSeconds(s) }

/// Finds `name` on PATH.
func which(_ name: String) -> String? { ProcessRunner.which(name) }

/// Runs a short command and returns its stdout (for `swiftc --version`, `pkg-config`).
func captureOutput(_ executable: String, _ arguments: [String]) -> String? { ProcessRunner.captureOutput(executable, arguments) }

/// On Ctrl-C, SIGTERM or SIGHUP: kills every program the build started, then exits 128 + the
/// signal (the pages of earlier builds are left as they are).
public func installInterruptHandler() { ProcessRunner.installInterruptHandler() }
