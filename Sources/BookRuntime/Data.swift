import BookProtocol
import Engine
import Foundation

/// A data file the program was not handed: what it looked for and how to declare it.
public struct UndeclaredDataError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// *The Time Machine* as chapters read it. The runner finds the file, checks its SHA-1 (see
/// `BookData.DataStore`) and hands the program the folder holding it in `$RNNBOOK_DATA`, but only
/// to a chapter whose front matter declares it (`data: timemachine.txt`); this only reads it.
public enum TimeMachine {
    /// The file's name in the handed-over folder (and the name the front matter declares).
    public static let fileName = "timemachine.txt"

    /// The text of `$RNNBOOK_DATA/timemachine.txt`.
    public static func loadText(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        guard let folder = environment[BookEnvironment.data], !folder.isEmpty else {
            throw UndeclaredDataError(description: "\(fileName) was not handed to this program (RNNBOOK_DATA is not set): declare it in the chapter's front matter with `data: \(fileName)`, and rnnbook finds, checks and hands it over before the program runs")
        }
        let path = URL(fileURLWithPath: folder).appendingPathComponent(fileName).path
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw UndeclaredDataError(description: "\(path): cannot read \(fileName) from the folder in RNNBOOK_DATA: \(error). Declare it in the chapter's front matter with `data: \(fileName)` so that rnnbook fetches and checks it first")
        }
    }
}

extension CharacterCorpus {
    /// The Time Machine corpus (see `TimeMachine.loadText` for where the file comes from).
    public static func timeMachine(preprocessing: TextPreprocessing = .perLine, maxTokens: Int? = nil) throws -> CharacterCorpus {
        CharacterCorpus(text: try TimeMachine.loadText(), preprocessing: preprocessing, maxTokens: maxTokens)
    }
}
