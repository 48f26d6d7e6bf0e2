import Synchronization

/// Packed right operands of matrix products, kept while the matrix they were packed from stays
/// unchanged: an RNN's W_hh multiplies the state at every step of a sequence (and its transpose
/// the gradient at every step back), and packing it once instead of in every product saves a
/// fifth of each (`PackedMatrix`). Owned by the products layer, so the autodiff values know
/// nothing of any kernel's layout.
///
/// Entries are keyed by the identity of the tensor's storage (the address of its scalars, with
/// its shape, element type and form) and hold a copy of the tensor's scalar array. Holding it is
/// what makes the key sound: a held storage can neither be freed (so its address is not reused
/// by another matrix) nor changed in place (the owner's next write makes a copy of its own,
/// copy-on-write, which has a new address). A matrix is packed on its second use in a form while
/// its storage is unchanged, as the memo on each `Variable` did before, and the bits of a product
/// are the same packed or not (tested), so the cache only changes how fast a product is.
///
/// At most `capacity` entries are kept, least recently used first out; with them at most that
/// many matrices (and their packed copies) stay alive after their owners let them go.
final class PackingCache: Sendable {
    static let shared = PackingCache()
    /// Enough for every matrix of a few models in training at once (each uses some 5 keys).
    static let capacity = 16

    private struct Key: Hashable {
        var address: UInt
        var rows: Int, columns: Int
        var transposed: Bool
        var scalar: ObjectIdentifier
    }

    private struct Entry {
        /// The tensor's scalar array: keeps its storage alive and unchanged.
        var source: any Sendable
        var uses: Int
        var packed: (any Sendable)?
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// `matrix` (rank 2), or its transpose when `transposed`, packed as the right operand of
    /// products, when it has already been used so since its storage last changed; nil on the
    /// first use, for other ranks, and where packing buys nothing (doubles, paths that read B in
    /// place). `matrix` should be one that lives across many products (a parameter).
    func packed<Scalar: TensorScalar>(_ matrix: Tensor<Scalar>, transposed: Bool) -> PackedMatrix<Scalar>? {
        guard matrix.rank == 2, matrix.count > 0, PackedMatrix<Scalar>.packingPays else { return nil }
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        let source = matrix.scalars
        let key = Key(address: source.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) },
                      rows: rows, columns: columns, transposed: transposed, scalar: ObjectIdentifier(Scalar.self))
        // nil: not (yet) worth packing; a packing: ready; true: pack it now.
        let (ready, packNow): (PackedMatrix<Scalar>?, Bool) = state.withLock { state in
            state.clock &+= 1
            if var entry = state.entries[key] {
                entry.lastUse = state.clock
                entry.uses += 1
                state.entries[key] = entry
                if let ready = entry.packed as? PackedMatrix<Scalar> { return (ready, false) }
                return (nil, entry.uses >= 2)
            }
            if state.entries.count >= Self.capacity, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                state.entries[oldest] = nil
            }
            state.entries[key] = Entry(source: source, uses: 1, packed: nil, lastUse: state.clock)
            return (nil, false)
        }
        if let ready { return ready }
        guard packNow else { return nil }
        // Packed outside the lock (it runs on the product threads); the held source cannot change meanwhile.
        let packed = source.withUnsafeBufferPointer {
            PackedMatrix(transposed: transposed, k: transposed ? columns : rows, n: transposed ? rows : columns,
                         b: $0.baseAddress!, ldb: columns)
        }
        state.withLock { state in
            if var entry = state.entries[key] { entry.packed = packed; state.entries[key] = entry }
        }
        return packed
    }

    /// Entries kept (for tests).
    var count: Int { state.withLock { $0.entries.count } }

    /// Forgets every entry (for tests).
    func removeAll() { state.withLock { $0.entries.removeAll() } }
}
