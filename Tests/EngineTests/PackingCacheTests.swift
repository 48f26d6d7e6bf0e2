import Testing
@testable import Engine

/// The packing memo lives in the products layer (`PackingCache`), keyed by a tensor's storage:
/// a weight matrix used as a right operand again is packed once, a changed one is packed anew,
/// and the bits of every product are those of the unpacked product.
@Suite("Packing cache: packed right operands, keyed by storage", .serialized)
struct PackingCacheTests {
    static func matrix(seed: UInt64, _ rows: Int, _ columns: Int) -> Tensor<Float> {
        var g = PCG64(seed: seed)
        return Tensor(randomNormal: [rows, columns], standardDeviation: 1, generator: &g)
    }

    @Test func aMatrixIsPackedOnItsSecondUseAndKeptWhileUnchanged() throws {
        try #require(PackedMatrix<Float>.packingPays, "packing only pays on the AVX2 path; this CPU or RNNBOOK_KERNELS does not take it")
        let cache = PackingCache()
        let w = Self.matrix(seed: 1, 64, 96)
        #expect(cache.packed(w, transposed: false) == nil)  // first use: not worth packing yet
        let packed = try #require(cache.packed(w, transposed: false))
        #expect(packed.k == 64 && packed.n == 96)
        let copy = w  // the same storage: the same entry
        #expect(cache.packed(copy, transposed: false) != nil)
        // The transposed form is its own entry.
        #expect(cache.packed(w, transposed: true) == nil)
        #expect(try #require(cache.packed(w, transposed: true)).k == 96)
        #expect(cache.count == 2)
    }

    /// The cache holds the storage it packed from, so writing the matrix (as an optimizer step
    /// does) makes a copy with a new address: the old packing can never serve the new values.
    @Test func aWrittenMatrixIsNotServedItsOldPacking() throws {
        try #require(PackedMatrix<Float>.packingPays, "packing only pays on the AVX2 path")
        let cache = PackingCache()
        let x = Self.matrix(seed: 2, 8, 64)
        var w = Self.matrix(seed: 3, 64, 32)
        _ = cache.packed(w, transposed: false)
        let before = try #require(cache.packed(w, transposed: false))
        #expect(x.matmul(before).scalars.map(\.bitPattern) == x.matmul(w).scalars.map(\.bitPattern))
        w.scalars[0] += 1  // in place, as far as the owner can tell
        #expect(cache.packed(w, transposed: false) == nil)  // a new storage: counted afresh
        let after = try #require(cache.packed(w, transposed: false))
        #expect(x.matmul(after).scalars.map(\.bitPattern) == x.matmul(w).scalars.map(\.bitPattern))
        #expect(x.matmul(after).scalars != x.matmul(before).scalars)
    }

    @Test func theCacheKeepsAtMostItsCapacity() throws {
        try #require(PackedMatrix<Float>.packingPays, "packing only pays on the AVX2 path")
        let cache = PackingCache()
        let matrices = (0 ..< PackingCache.capacity + 5).map { Self.matrix(seed: UInt64(10 + $0), 16, 16) }
        for m in matrices { _ = cache.packed(m, transposed: false); _ = cache.packed(m, transposed: false) }
        #expect(cache.count == PackingCache.capacity)
        // The most recent ones are kept: packed at once.
        #expect(cache.packed(matrices.last!, transposed: false) != nil)
    }

    @Test func doublesAndVectorsAreNeverPacked() {
        let cache = PackingCache()
        var g = PCG64(seed: 4)
        let d = Tensor<Double>(randomNormal: [8, 8], standardDeviation: 1, generator: &g)
        let v = Tensor<Float>(randomNormal: [8], standardDeviation: 1, generator: &g)
        for _ in 0 ..< 3 {
            #expect(cache.packed(d, transposed: false) == nil)
            #expect(cache.packed(v, transposed: false) == nil)
        }
        #expect(cache.count == 0)
    }

    /// A leaf matrix in a chain of products (an RNN's W_hh: packed from its second use, and its
    /// transpose in the backward pass) gives the loss and gradients, bit for bit, of the same
    /// chain through a non-leaf copy of it (W + 0), which the cache never packs.
    @Test func productsThroughTheCacheGiveTheUnpackedBits() {
        let w = Self.matrix(seed: 5, 32, 32), h0 = Self.matrix(seed: 6, 4, 32)
        func run(leaf: Bool) -> (loss: Float, weight: [Float], state: [Float]) {
            let weight = Variable(w, requiresGrad: true), start = Variable(h0, requiresGrad: true)
            let right = leaf ? weight : weight + Variable(Tensor(zeros: [32, 32]))
            var h = start
            for _ in 0 ..< 6 { h = tanh(matmul(h, right)) }
            let loss = h.sum()
            loss.backward()
            return (loss.scalar, weight.gradient.scalars, start.gradient.scalars)
        }
        let cached = run(leaf: true), plain = run(leaf: false)
        #expect(cached.loss.bitPattern == plain.loss.bitPattern)
        #expect(cached.weight.map(\.bitPattern) == plain.weight.map(\.bitPattern))
        #expect(cached.state.map(\.bitPattern) == plain.state.map(\.bitPattern))
    }
}
