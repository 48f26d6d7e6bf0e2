/// A small chapter with two realistic exercises, and submissions for them.
enum ExerciseFixtures {
    /// Line numbers below are asserted by the tests: edit with care.
    static let chapter = """
    ---
    title: Hidden States, Practised
    params:
      n: 3
      d: 5
      h: 4
    profiles:
      quick: {}
    ---
    # Hidden States, Practised

    One step of a recurrent network:

    $$\\mathbf{H}_t = \\phi(\\mathbf{X}_t \\mathbf{W}_{xh} + \\mathbf{H}_{t-1} \\mathbf{W}_{hh} + \\mathbf{b}_h)$$ {#eq-rnn-state}

    ```swift
    let n = param("n", default: 3), d = param("d", default: 5), h = param("h", default: 4)
    var rng = PCG64(seed: 7)
    let Wxh = Tensor<Double>(randomNormal: [d, h], standardDeviation: 0.3, generator: &rng)
    let Whh = Tensor<Double>(randomNormal: [h, h], standardDeviation: 0.3, generator: &rng)
    let bh = Tensor<Double>(randomNormal: [1, h], standardDeviation: 0.1, generator: &rng)
    let Xt = Tensor<Double>(randomNormal: [n, d], generator: &rng)
    let Hprev = Tensor<Double>(randomNormal: [n, h], standardDeviation: 0.5, generator: &rng)
    print("inputs", Xt.shape, "state", Hprev.shape)
    ```

    ## Exercises

    ### Exercise: One step by hand {#ex-step}

    Write `rnnStep`, which computes @eq-rnn-state with $\\phi = \\tanh$ from the weights above.

    ```swift starter
    func rnnStep(_ X: Tensor<Double>, _ H: Tensor<Double>) -> Tensor<Double> {
        todo("tanh of X W_xh + H W_hh + b_h")
    }
    ```

    ```swift solution
    func rnnStep(_ X: Tensor<Double>, _ H: Tensor<Double>) -> Tensor<Double> {
        (X.matmul(Wxh) + H.matmul(Whh) + bh).map { Foundation.tanh($0) }
    }
    let SECRET_STEP = rnnStep(Xt, Hprev)
    print("solution says", SECRET_STEP[0, 0])
    ```

    ```swift check
    let mine = rnnStep(Xt, Hprev)
    expect("shape", mine.shape, equals: [n, h])
    expect("bounded by tanh", mine.scalars.allSatisfy { abs($0) < 1 }, "every entry of tanh(…) lies in (-1, 1)")
    verify("eq-rnn-state", ["X_t": Xt, "W_xh": Wxh, "H_{t-1}": Hprev, "W_hh": Whh, "b_h": bh, "H_t": mine],
           functions: ["phi": { $0.map { Foundation.tanh($0) } }])
    ```

    ### Exercise: Perplexity of a uniform model {#ex-uniform}

    A model that spreads its probability evenly over $V$ tokens has perplexity $V$. Write
    `perplexity`, the exponential of the mean negative log-probability of the true tokens.

    ```swift starter
    func perplexity(_ probabilities: [Double]) -> Double {
        todo()
    }
    ```

    ```swift solution
    func perplexity(_ probabilities: [Double]) -> Double {
        let SECRET_MEAN = probabilities.map { -Foundation.log($0) }.reduce(0, +) / Double(probabilities.count)
        return Foundation.exp(SECRET_MEAN)
    }
    record("uniform_ppl", perplexity(Array(repeating: 1.0 / 28, count: 10)))
    ```

    ```swift check
    expect("uniform over 28", perplexity(Array(repeating: 1.0 / 28, count: 10)), near: 28, tolerance: 1e-9)
    expect("certain model", perplexity([1, 1, 1]), near: 1, tolerance: 1e-12)
    expect("two tokens", perplexity([0.5, 0.25]), near: Foundation.sqrt(8), tolerance: 1e-9)
    ```

    ## After the exercises

    The chapter goes on without the solutions' names: `rnnStep` is not defined here.

    ```swift
    print("h =", h)
    ```
    """

    /// A right answer to both exercises (different code from the reference).
    static let rightSubmission = """
    # My answers

    Notes are fine here; only the submission blocks run.

    ```swift submission ex-step
    func rnnStep(_ X: Tensor<Double>, _ H: Tensor<Double>) -> Tensor<Double> {
        let z = X.matmul(Wxh) + H.matmul(Whh) + bh
        return z.map { Foundation.tanh($0) }
    }
    ```

    ```swift submission ex-uniform
    func perplexity(_ probabilities: [Double]) -> Double {
        var total = 0.0
        for p in probabilities { total += Foundation.log(p) }
        return Foundation.exp(-total / Double(probabilities.count))
    }
    ```
    """

    /// Right for ex-step, wrong for ex-uniform (forgets the minus sign: 1/V instead of V).
    static let wrongSubmission = """
    ```swift submission ex-step
    func rnnStep(_ X: Tensor<Double>, _ H: Tensor<Double>) -> Tensor<Double> {
        (X.matmul(Wxh) + H.matmul(Whh) + bh).map { Foundation.tanh($0) }
    }
    ```

    ```swift submission ex-uniform
    func perplexity(_ probabilities: [Double]) -> Double {
        Foundation.exp(probabilities.map { Foundation.log($0) }.reduce(0, +) / Double(probabilities.count))
    }
    ```
    """
}
