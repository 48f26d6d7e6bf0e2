import BookProtocol
@testable import BookRuntime
import Foundation
import Testing

/// `param` against the params file as the runner writes it (`ParamsFile.encoded()`), read back
/// through the file's bytes as the chapter program reads them.
@Suite("Params")
struct ParamTests {
    /// The runner's params, through the file's bytes, as a context's.
    func recorder(_ values: [String: ParamsFile.Value]) throws -> Recorder {
        let bytes = try ParamsFile(values).encoded()
        return Recorder(params: .runner(try ParamsFile(decoding: bytes)))
    }

    /// Doubles whose text form is easy to get wrong: not exact in binary, near the ends of the
    /// range, subnormal, negative zero, the sum that is not 0.3.
    static let awkwardDoubles: [Double] = [
        0.1, 1e-300, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, 0.1 + 0.2, 1.0, 9007199254740992.0.nextUp, 2.5e-8, -123.456e200,
    ]

    @Test(arguments: awkwardDoubles)
    func aDoubleArrivesBitForBit(value: Double) throws {
        let r = try recorder(["lr": .double(value)])
        let read = r.run { param("lr", default: 7.0) }
        #expect(read.bitPattern == value.bitPattern, "sent \(value) (\(String(value.bitPattern, radix: 16))), read \(read) (\(String(read.bitPattern, radix: 16)))")
        #expect(try r.events().isEmpty)
    }

    @Test(arguments: [Int.max, Int.min, 0, -1, 1 << 53 + 1])
    func anIntArrivesExactly(value: Int) throws {
        let r = try recorder(["steps": .int(value)])
        #expect(r.run { param("steps", default: 3) } == value)
    }

    @Test(arguments: [true, false])
    func aBoolArrives(value: Bool) throws {
        let r = try recorder(["shuffle": .bool(value)])
        #expect(r.run { param("shuffle", default: !value) } == value)
    }

    @Test(arguments: ["", "a \"quoted\" word", "two\nlines", "tab\there", "λ → ∞ 🙂", "1.0", "true"])
    func aStringArrivesExactly(value: String) throws {
        let r = try recorder(["name": .string(value)])
        #expect(r.run { param("name", default: "default") } == value)
    }

    /// An int param reads as a Double and a Float (`lr: 1`); a double param as a Float, rounded.
    @Test func numbersReadAsWiderTypes() throws {
        let r = try recorder(["n": .int(3), "lr": .double(0.1)])
        #expect(r.run { param("n", default: 0.0) } == 3.0)
        #expect(r.run { param("n", default: Float(0)) } == 3)
        #expect(r.run { param("lr", default: Float(0)) } == Float(0.1))
        #expect(r.run { param("n", default: "") } == "3")
    }

    /// The file's bytes name each value's type, so `1.0` does not come back as the int 1.
    @Test func theFileKeepsEachValuesType() throws {
        let file = ParamsFile(["a": .double(1.0), "b": .int(1), "c": .bool(true), "d": .string("1")])
        let text = String(decoding: try file.encoded(), as: UTF8.self)
        #expect(text == #"{"values":{"a":{"double":1},"b":{"int":1},"c":{"bool":true},"d":{"string":"1"}}}"#)
        #expect(try ParamsFile(decoding: file.encoded()) == file)
    }

    @Test func aValueWithoutItsTypeIsRefused() throws {
        #expect(throws: DecodingError.self) { try ParamsFile(decoding: Data(#"{"values":{"a":1}}"#.utf8)) }
        #expect(throws: DecodingError.self) { try ParamsFile(decoding: Data(#"{"values":{"a":{"int":1,"double":1}}}"#.utf8)) }
        #expect(throws: DecodingError.self) { try ParamsFile(decoding: Data(#"{"values":{"a":{"int":1.5}}}"#.utf8)) }
    }

    /// A name the front matter does not declare fails, listing what is declared (a misspelt name
    /// would silently ignore `--set`); `seed` need not be declared.
    @Test func anUndeclaredParamFailsNamingTheDeclaredOnes() throws {
        let r = try recorder(["num_hiddens": .int(64), "lr": .double(0.5)])
        let result = r.context.param("num_hidens", default: 1)
        #expect(result == .failure(ParamError(description: "param 'num_hidens' is not declared in the front matter's params (declared: lr, num_hiddens)")))
        #expect(r.context.param("seed", default: 5) == .success(5))
    }

    @Test(arguments: [
        (ParamsFile.Value.double(0.5), "param 'p' is the double 0.5 but the code reads it as Int"),
        (.int(3), "param 'p' is the int 3 but the code reads it as Bool"),
        (.string("fast"), "param 'p' is the string fast but the code reads it as Double"),
        (.bool(true), "param 'p' is the bool true but the code reads it as Int"),
    ])
    func aParamReadAsAnotherTypeFails(value: ParamsFile.Value, message: String) throws {
        let r = try recorder(["p": value])
        let error: ParamError?
        switch value {
        case .int: error = r.context.param("p", default: false).failure
        case .string: error = r.context.param("p", default: 0.0).failure
        default: error = r.context.param("p", default: 0).failure
        }
        #expect(error?.description == message)
    }

    /// Run by hand (no params file), every param takes its default and no name is refused.
    @Test func byHandEveryParamTakesItsDefault() throws {
        let r = Recorder()
        #expect(r.run { param("anything", default: 42) } == 42)
        #expect(r.run { param("lr", default: 0.25) } == 0.25)
        #expect(r.run { bookSeed } == 0)
    }

    /// A params file the runner named but that cannot be read fails every param, saying which
    /// file and why, rather than running on the defaults.
    @Test func anUnreadableParamsFileFailsEveryParam() throws {
        let dir = try temporaryFolder("params")
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = dir.appendingPathComponent("params.json")
        try Data(#"{"num_hiddens": ["int", "64"]}"#.utf8).write(to: broken)
        let files = BookContext.runnerFiles([BookEnvironment.params: broken.path])
        guard case .unreadable(let why) = files.params else { Issue.record("read as \(files.params)"); return }
        #expect(why.hasPrefix("the runner's params file \(broken.path) could not be read ("))
        let r = Recorder(params: files.params)
        let message = r.context.param("num_hiddens", default: 1).failure?.description ?? ""
        #expect(message.hasPrefix("param 'num_hiddens': the runner's params file \(broken.path)"))

        let missing = dir.appendingPathComponent("absent.json").path
        guard case .unreadable(let gone) = BookContext.runnerFiles([BookEnvironment.params: missing]).params else {
            Issue.record("a missing params file was read"); return
        }
        #expect(gone.contains(missing))
        #expect(BookContext.runnerFiles([:]).params == .byHand)
    }

    /// The file the runner writes is the file the runtime reads: through the environment.
    @Test func theEnvironmentNamesTheParamsFile() throws {
        let dir = try temporaryFolder("params")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("params.json")
        let file = ParamsFile(["lr": .double(0.1), "steps": .int(35)])
        try file.encoded().write(to: path)
        #expect(BookContext.runnerFiles([BookEnvironment.params: path.path]).params == .runner(file))
    }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}
