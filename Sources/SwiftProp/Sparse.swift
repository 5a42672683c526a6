/// Sparse input for the first layer: X in CSR (compressed sparse rows) form, as scipy.sparse holds it.
/// The first layer's product S_in = X W^1ᵀ and its weight gradient dW^1 = δ^1ᵀ X touch only the stored
/// entries of X; layer 1 needs no input gradient, so nothing else of the network sees X.

/// Rows of a CSR matrix: row r holds values[indptr[r] ..< indptr[r+1]] in columns indices[...]. The
/// offsets in indptr are absolute, so the rows from r on are the same arrays with indptr advanced by r.
public struct CSR<T: Scalar, I: FixedWidthInteger & SignedInteger> {
    public let values: UnsafePointer<T>
    public let indices: UnsafePointer<I>
    public let indptr: UnsafePointer<I>

    public init(values: UnsafePointer<T>, indices: UnsafePointer<I>, indptr: UnsafePointer<I>) {
        self.values = values; self.indices = indices; self.indptr = indptr
    }

    /// The same matrix from row `rows` on.
    @inline(__always) func advanced(by rows: Int) -> CSR { CSR(values: values, indices: indices, indptr: indptr + rows) }

    /// Entries of rows 0..<rows.
    @inline(__always) func nnz(rows: Int) -> Int { Int(indptr[rows]) - Int(indptr[0]) }

    /// Checks of a CSR matrix with `rows` rows and `cols` columns whose arrays hold `nnz` values and
    /// indices and `nIndptr` offsets, in time O(rows + nnz), reading only within those lengths.
    public func check(rows: Int, cols: Int, nnz: Int, nIndptr: Int) throws(CoreError) {
        guard nnz >= 0 else { throw CoreError(.size, "X (sparse) has a negative number of stored values, \(nnz)") }
        guard nIndptr == rows + 1 else {
            throw CoreError(.size, "X (sparse): indptr has \(nIndptr) entries, expected rows + 1 = \(rows + 1)")
        }
        guard indptr[0] == 0 else { throw CoreError(.argument, "X (sparse): indptr[0] must be 0, got \(indptr[0])") }
        for r in 0..<rows where indptr[r + 1] < indptr[r] {
            throw CoreError(.argument, "X (sparse): indptr must be non-decreasing, but indptr[\(r + 1)] = "
                            + "\(indptr[r + 1]) < indptr[\(r)] = \(indptr[r])")
        }
        guard Int(indptr[rows]) == nnz else {
            throw CoreError(.argument, "X (sparse): indptr[-1] = \(indptr[rows]) must equal the number of stored "
                            + "values, \(nnz)")
        }
        // min and max in one branch-free pass (it vectorises), the offending position only on failure
        var lo = I.max, hi = I.min
        for j in 0..<nnz { let c = indices[j]; lo = Swift.min(lo, c); hi = Swift.max(hi, c) }
        if nnz > 0, lo < 0 || Int(hi) >= cols {
            let bad = lo < 0 ? lo : hi
            let at = (0..<nnz).first { indices[$0] == bad } ?? 0
            throw CoreError(.argument, "X (sparse): indices[\(at)] = \(bad) is not a column in [0, \(cols))")
        }
    }
}

/// What a network reads as its input: dense rows, or CSR rows with 32- or 64-bit indices.
public enum Input<T: Scalar> {
    case dense(UnsafePointer<T>)
    case csr32(CSR<T, Int32>)
    case csr64(CSR<T, Int64>)

    /// The same input, `rows` samples further on (n: the input width).
    @inline(__always) func advanced(by rows: Int, n: Int) -> Input<T> {
        switch self {
        case .dense(let x): return .dense(x + rows * n)
        case .csr32(let x): return .csr32(x.advanced(by: rows))
        case .csr64(let x): return .csr64(x.advanced(by: rows))
        }
    }
}

/// Rows of the sparse first layer are taken in tiles of at most this many stored entries (or one row
/// that has more): the compact copy of W^1's columns a tile touches stays small.
let sparseTile = 1 << 14

/// Scratch of the sparse first layer for one tile of rows: the tile's distinct columns (sorted), each
/// entry's slot among them, and those columns of W^1 (or their gradient) as compact rows of n_1 values.
/// W^1 is (n_1, n_0) row-major, so one input column is spread over n_1 cache lines; gathered once per
/// tile in column order (the order W's rows are laid out in), the products then run over contiguous rows.
final class SparseScratch<T: Scalar> {
    let nIn: Int, nOut: Int
    /// Per input column: its slot + 1 in the current tile, 0 if absent (cleared after each tile).
    let mark: Buffer<Int32>
    private(set) var capacity = 0
    private(set) var columns: Buffer<Int>
    private(set) var slots: Buffer<Int32>
    private(set) var compact: Buffer<T>
    /// Distinct columns of the current tile.
    private(set) var count = 0

    init?(nIn: Int, nOut: Int) {
        guard let m = Buffer<Int32>(count: nIn), let c = Buffer<Int>(count: 0), let s = Buffer<Int32>(count: 0),
              let w = Buffer<T>(count: 0) else { return nil }
        self.nIn = nIn; self.nOut = nOut; mark = m; columns = c; slots = s; compact = w
    }

    /// Room for a tile of `entries` stored entries; false if memory ran out.
    func reserve(_ entries: Int) -> Bool {
        guard entries > capacity else { return true }
        let distinct = min(entries, nIn)
        let (values, overflow) = distinct.multipliedReportingOverflow(by: nOut)
        guard !overflow, let c = Buffer<Int>(count: distinct), let s = Buffer<Int32>(count: entries),
              let w = Buffer<T>(count: values) else { return false }
        columns = c; slots = s; compact = w; capacity = entries
        return true
    }

    // Entries first..<last of x (one tile, at most `capacity`): its sorted distinct columns and each
    // entry's slot (slots[j − first]).
    func index<I>(_ x: CSR<T, I>, first: Int, last: Int) {
        let mark = self.mark.base, columns = self.columns.base, slots = self.slots.base
        var n = 0
        for j in first..<last {
            let c = Int(x.indices[j])
            if mark[c] == 0 { columns[n] = c; n += 1; mark[c] = 1 }
        }
        var sorted = UnsafeMutableBufferPointer(start: columns, count: n)
        sorted.sort()
        for k in 0..<n { mark[columns[k]] = Int32(k + 1) }
        for j in first..<last { slots[j - first] = mark[Int(x.indices[j])] - 1 }
        for k in 0..<n { mark[columns[k]] = 0 }
        count = n
    }
}

/// Columns per block of the gather and scatter loops: a block of compact rows (64 · n_1 values) stays in
/// cache while each row of W^1 is read or written at those columns.
let columnBlock = 64

// wc is (count, nOut), W is (nOut, nIn), columns (count), sorted: wc[k, o] = W[o, columns[k]], o in outputs.
func gatherColumns<T: Scalar>(
    _ wc: UnsafeMutablePointer<T>, _ w: UnsafePointer<T>, columns: UnsafePointer<Int>, count: Int,
    nIn: Int, nOut: Int, outputs: Range<Int>
) {
    for k0 in stride(from: 0, to: count, by: columnBlock) {
        let k1 = min(count, k0 + columnBlock)
        for o in outputs {
            let wo = w + o * nIn
            for k in k0..<k1 { wc[k * nOut + o] = wo[columns[k]] }
        }
    }
}

// dW is (nOut, nIn), dwc (count, nOut), columns (count), sorted: dW[o, columns[k]] += dwc[k, o], o in outputs.
func scatterColumns<T: Scalar>(
    _ dW: UnsafeMutablePointer<T>, _ dwc: UnsafePointer<T>, columns: UnsafePointer<Int>, count: Int,
    nIn: Int, nOut: Int, outputs: Range<Int>
) {
    for k0 in stride(from: 0, to: count, by: columnBlock) {
        let k1 = min(count, k0 + columnBlock)
        for o in outputs {
            let g = dW + o * nIn
            for k in k0..<k1 { g[columns[k]] += dwc[k * nOut + o] }
        }
    }
}

// y is (·, nOut), x CSR, wc (count, nOut) the compact columns, slots the tile's (entry j at slots[j − base]):
// y[r, :] = Σ_j x_rj wc[slot_j, :] for r in rows, the sparse × dense product of S_in^1 = X W^1ᵀ.
func sparseForward<T: Scalar, I>(
    _ y: UnsafeMutablePointer<T>, _ x: CSR<T, I>, _ wc: UnsafePointer<T>, slots: UnsafePointer<Int32>, base: Int,
    nOut: Int, rows: Range<Int>
) {
    for r in rows {
        let yr = y + r * nOut
        yr.initialize(repeating: 0, count: nOut)
        for j in Int(x.indptr[r])..<Int(x.indptr[r + 1]) {
            let v = x.values[j], wk = wc + Int(slots[j - base]) * nOut
            for o in 0..<nOut { yr[o] += v * wk[o] }
        }
    }
}

// dwc is (count, nOut), delta (·, nOut), x CSR, slots as for sparseForward: dwc[k, outputs] = Σ over the
// entries x_rj of column k of the tile's rows of x_rj δ[r, outputs], equation (2) for the first layer in
// the compact columns. Sums in row order: the same bits on any number of threads (they split the outputs).
func sparseWeightGradient<T: Scalar, I>(
    _ dwc: UnsafeMutablePointer<T>, _ delta: UnsafePointer<T>, _ x: CSR<T, I>, slots: UnsafePointer<Int32>,
    base: Int, count: Int, nOut: Int, rows: Range<Int>, outputs: Range<Int>
) {
    for k in 0..<count { (dwc + k * nOut + outputs.lowerBound).initialize(repeating: 0, count: outputs.count) }
    for r in rows {
        let d = delta + r * nOut
        for j in Int(x.indptr[r])..<Int(x.indptr[r + 1]) {
            let v = x.values[j], g = dwc + Int(slots[j - base]) * nOut
            for o in outputs { g[o] += v * d[o] }
        }
    }
}

extension Network {
    /// The sparse scratch for the tiles of `x`'s first `rows` rows, of any block of them (nothing for dense
    /// rows); false if memory ran out.
    func prepareInput(_ x: Input<T>, rows: Int) -> Bool {
        switch x {
        case .dense: return true
        case .csr32(let c): return prepareSparse(c, rows: rows)
        case .csr64(let c): return prepareSparse(c, rows: rows)
        }
    }

    private func prepareSparse<I>(_ x: CSR<T, I>, rows: Int) -> Bool {
        if sparseScratch == nil { sparseScratch = SparseScratch<T>(nIn: sizes[0], nOut: sizes[1]) }
        guard let s = sparseScratch else { return false }
        var widest = 0  // a tile holds at most sparseTile entries, or one row with more
        for r in 0..<rows { widest = max(widest, Int(x.indptr[r + 1] - x.indptr[r])) }
        return s.reserve(max(min(sparseTile, x.nnz(rows: rows)), widest))
    }

    /// Calls body(first, last) for the tiles of rows 0..<rows: runs of rows with at most sparseTile
    /// entries, or single rows with more, after indexing the tile's columns in the scratch.
    @inline(__always)
    func sparseTiles<I>(_ x: CSR<T, I>, rows: Int, _ body: (SparseScratch<T>, Int, Int) -> Void) {
        let s = sparseScratch!  // prepareInput ran for these rows
        var first = 0
        while first < rows {
            var last = first + 1
            while last < rows, Int(x.indptr[last + 1] - x.indptr[first]) <= sparseTile { last += 1 }
            s.index(x, first: Int(x.indptr[first]), last: Int(x.indptr[last]))
            body(s, first, last)
            first = last
        }
    }

    /// body(range) over 0..<count, shared among the pool's threads when `work` multiply-adds pay for it.
    @inline(__always)
    func sparseParallel(count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        guard work >= 2 * workPerThread else { body(0..<count); return }
        parallelRanges(count: count, minCount: 2, align: 1) { _, r in body(r) }
    }

    // y is (rows, n_1): y = x W^1ᵀ for the first layer on either kind of input (prepareInput ran for a CSR x).
    @inline(__always)
    func inputForward(_ y: UnsafeMutablePointer<T>, _ x: Input<T>, rows: Int, wT: UnsafeMutablePointer<T>? = nil) {
        switch x {
        case .dense(let x): linearForward(y, x, w(0), rows: rows, nIn: sizes[0], nOut: sizes[1], wT: wT)
        case .csr32(let x): sparseInputForward(y, x, rows: rows)
        case .csr64(let x): sparseInputForward(y, x, rows: rows)
        }
    }

    private func sparseInputForward<I>(_ y: UnsafeMutablePointer<T>, _ x: CSR<T, I>, rows: Int) {
        let nIn = sizes[0], nOut = sizes[1], w = UnsafePointer(self.w(0))
        sparseTiles(x, rows: rows) { s, first, last in
            let wc = s.compact.base, columns = UnsafePointer(s.columns.base), count = s.count
            sparseParallel(count: nOut, work: count * nOut * 4) { o in
                gatherColumns(wc, w, columns: columns, count: count, nIn: nIn, nOut: nOut, outputs: o)
            }
            let slots = UnsafePointer(s.slots.base), base = Int(x.indptr[first])
            sparseParallel(count: last - first, work: x.nnz(rows: last) * nOut) { r in
                sparseForward(y, x, wc, slots: slots, base: base, nOut: nOut,
                              rows: first + r.lowerBound..<first + r.upperBound)
            }
        }
    }

    // The first layer's (2) and (3) on either kind of input (it needs no input gradient).
    @inline(__always)
    func inputBackward(_ x: Input<T>, delta: UnsafePointer<T>, rows: Int, accumulate: Bool) {
        let nIn = sizes[0], nOut = sizes[1], dW = self.dW(0), dB = self.dB(0)
        switch x {
        case .dense(let x):
            linearBackward(dx: nil, dW: dW, dB: dB, delta: delta, x: x, w: w(0), rows: rows, nIn: nIn, nOut: nOut,
                           accumulate: accumulate)
            return
        case .csr32(let x): sparseInputGradient(x, delta: delta, rows: rows, accumulate: accumulate)
        case .csr64(let x): sparseInputGradient(x, delta: delta, rows: rows, accumulate: accumulate)
        }
        // (3) dcost/dB = δ, summed over the rows of the batch
        if !accumulate { dB.initialize(repeating: 0, count: nOut) }
        for r in 0..<rows {
            let d = delta + r * nOut
            for k in 0..<nOut { dB[k] += d[k] }
        }
    }

    private func sparseInputGradient<I>(_ x: CSR<T, I>, delta: UnsafePointer<T>, rows: Int, accumulate: Bool) {
        let nIn = sizes[0], nOut = sizes[1], dW = self.dW(0)
        if !accumulate {  // dW^1 is dense: the columns no row touches hold 0
            sparseParallel(count: nOut, work: nOut * nIn) { o in
                (dW + o.lowerBound * nIn).initialize(repeating: 0, count: o.count * nIn)
            }
        }
        sparseTiles(x, rows: rows) { s, first, last in
            let dwc = s.compact.base, columns = UnsafePointer(s.columns.base), count = s.count
            let slots = UnsafePointer(s.slots.base), base = Int(x.indptr[first])
            sparseParallel(count: nOut, work: (x.nnz(rows: last) - x.nnz(rows: first)) * nOut) { o in
                sparseWeightGradient(dwc, delta, x, slots: slots, base: base, count: count, nOut: nOut,
                                     rows: first..<last, outputs: o)
            }
            sparseParallel(count: nOut, work: count * nOut * 4) { o in
                scatterColumns(dW, dwc, columns: columns, count: count, nIn: nIn, nOut: nOut, outputs: o)
            }
        }
    }

    /// The core's checks of an input of `rows` rows: a CSR matrix's structure (sparse: its array lengths).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func checkInput(_ x: Input<T>, rows: Int, sparse: SparseShape?) throws(CoreError) {
        switch x {
        case .dense: return
        case .csr32(let c): try c.check(rows: rows, cols: try sparseColumns(sparse), nnz: sparse!.nnz, nIndptr: sparse!.nIndptr)
        case .csr64(let c): try c.check(rows: rows, cols: try sparseColumns(sparse), nnz: sparse!.nnz, nIndptr: sparse!.nIndptr)
        }
    }

    private func sparseColumns(_ s: SparseShape?) throws(CoreError) -> Int {
        guard let s else { throw CoreError(.argument, "a sparse X needs its lengths") }
        guard s.cols == sizes[0] else {
            throw CoreError(.size, "X (sparse) has \(s.cols) columns, expected \(sizes[0]) (sizes[0])")
        }
        return s.cols
    }
}

/// The lengths of a CSR matrix's arrays, as the caller knows them: values and indices hold nnz
/// entries, indptr nIndptr, and the matrix has cols columns.
public struct SparseShape: Sendable {
    public let nnz: Int, nIndptr: Int, cols: Int
    public init(nnz: Int, nIndptr: Int, cols: Int) { self.nnz = nnz; self.nIndptr = nIndptr; self.cols = cols }
}

/// A mini-batch of CSR rows gathered from a larger matrix (training with shuffling), reused from batch
/// to batch and grown to the largest batch seen.
final class SparseBatch<T: Scalar> {
    let rows: Int
    private(set) var values: Buffer<T>
    private(set) var indices: Buffer<Int64>
    let indptr: Buffer<Int64>

    init?(rows: Int) {
        guard let v = Buffer<T>(count: 0), let i = Buffer<Int64>(count: 0), let p = Buffer<Int64>(count: rows + 1)
        else { return nil }
        self.rows = rows; values = v; indices = i; indptr = p
    }

    // Rows order[0..<rows] of x, in that order; the order entries are already checked. false if memory ran out.
    func gather<I>(_ x: CSR<T, I>, order: UnsafePointer<Int64>, rows: Int) -> Bool {
        var nnz = 0
        indptr.base[0] = 0
        for r in 0..<rows {
            let s = Int(order[r])
            nnz += Int(x.indptr[s + 1] - x.indptr[s])
            indptr.base[r + 1] = Int64(nnz)
        }
        if nnz > values.count {
            guard let v = Buffer<T>(count: nnz), let i = Buffer<Int64>(count: nnz) else { return false }
            values = v; indices = i
        }
        for r in 0..<rows {
            let s = Int(order[r]), from = Int(x.indptr[s]), count = Int(x.indptr[s + 1]) - from
            let to = Int(indptr.base[r])
            (values.base + to).update(from: x.values + from, count: count)
            for j in 0..<count { indices.base[to + j] = Int64(x.indices[from + j]) }
        }
        return true
    }

    var csr: CSR<T, Int64> {
        CSR(values: UnsafePointer(values.base), indices: UnsafePointer(indices.base), indptr: UnsafePointer(indptr.base))
    }
}
