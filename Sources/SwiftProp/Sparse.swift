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

/// Rows of the CSR kernels' loops are taken in tiles of about this many stored entries, which stay in
/// cache while every output (every row of W) is run over them.
let sparseTile = 4096

// y is (rows, nOut), x is CSR (rows, nIn), W is (nOut, nIn): y[:, outputs] = (x Wᵀ)[:, outputs]. Output o
// reads row o of W at the columns of x's entries; rows are taken in tiles so those entries stay in cache.
func sparseForward<T: Scalar, I>(
    _ y: UnsafeMutablePointer<T>, _ x: CSR<T, I>, _ w: UnsafePointer<T>, rows: Int, nIn: Int, nOut: Int,
    outputs: Range<Int>
) {
    var first = 0
    while first < rows {
        var last = first + 1  // a tile: rows first..<last, at least one
        while last < rows, Int(x.indptr[last + 1] - x.indptr[first]) <= sparseTile { last += 1 }
        for o in outputs {
            let wo = w + o * nIn
            for r in first..<last {
                var s: T = 0
                for j in Int(x.indptr[r])..<Int(x.indptr[r + 1]) { s += x.values[j] * wo[Int(x.indices[j])] }
                y[r * nOut + o] = s
            }
        }
        first = last
    }
}

// dW is (nOut, nIn), delta is (rows, nOut), x is CSR (rows, nIn): dW[outputs, :] (+)= (δᵀ x)[outputs, :],
// equation (2) for the first layer. Each dW[o, c] sums its rows in order: the same bits on any number of
// threads (they split the outputs).
func sparseWeightGradient<T: Scalar, I>(
    _ dW: UnsafeMutablePointer<T>, _ delta: UnsafePointer<T>, _ x: CSR<T, I>, rows: Int, nIn: Int, nOut: Int,
    outputs: Range<Int>, accumulate: Bool
) {
    if !accumulate { (dW + outputs.lowerBound * nIn).initialize(repeating: 0, count: outputs.count * nIn) }
    var first = 0
    while first < rows {
        var last = first + 1
        while last < rows, Int(x.indptr[last + 1] - x.indptr[first]) <= sparseTile { last += 1 }
        for o in outputs {
            let g = dW + o * nIn
            for r in first..<last {
                let d = delta[r * nOut + o]
                if d == 0 { continue }  // relu zeros: no entries to scatter
                for j in Int(x.indptr[r])..<Int(x.indptr[r + 1]) { g[Int(x.indices[j])] += d * x.values[j] }
            }
        }
        first = last
    }
}

extension Network {
    // y is (rows, n_1): y = x W^1ᵀ for the first layer on either kind of input; `threads`: share the
    // outputs among the pool's threads (false inside a part already running on the pool).
    @inline(__always)
    func inputForward(_ y: UnsafeMutablePointer<T>, _ x: Input<T>, rows: Int, wT: UnsafeMutablePointer<T>? = nil,
                      threads: Bool) {
        let nIn = sizes[0], nOut = sizes[1], w = self.w(0)
        switch x {
        case .dense(let x):
            linearForward(y, x, w, rows: rows, nIn: nIn, nOut: nOut, wT: wT)
        case .csr32(let x):
            sparseProduct(x, rows: rows, nOut: nOut, threads: threads) {
                sparseForward(y, x, w, rows: rows, nIn: nIn, nOut: nOut, outputs: $0)
            }
        case .csr64(let x):
            sparseProduct(x, rows: rows, nOut: nOut, threads: threads) {
                sparseForward(y, x, w, rows: rows, nIn: nIn, nOut: nOut, outputs: $0)
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
        case .csr32(let x):
            sparseProduct(x, rows: rows, nOut: nOut, threads: true) {
                sparseWeightGradient(dW, delta, x, rows: rows, nIn: nIn, nOut: nOut, outputs: $0, accumulate: accumulate)
            }
        case .csr64(let x):
            sparseProduct(x, rows: rows, nOut: nOut, threads: true) {
                sparseWeightGradient(dW, delta, x, rows: rows, nIn: nIn, nOut: nOut, outputs: $0, accumulate: accumulate)
            }
        }
        // (3) dcost/dB = δ, summed over the rows of the batch
        if !accumulate { dB.initialize(repeating: 0, count: nOut) }
        for r in 0..<rows {
            let d = delta + r * nOut
            for k in 0..<nOut { dB[k] += d[k] }
        }
    }

    /// Runs body over ranges of the outputs, shared among the pool's threads when the product is large.
    @inline(__always)
    func sparseProduct<I>(_ x: CSR<T, I>, rows: Int, nOut: Int, threads: Bool, _ body: (Range<Int>) -> Void) {
        // multiply-adds as the dense products count them (MatMul.swift): threads pay from 2 · workPerThread
        guard threads, x.nnz(rows: rows) * nOut >= 2 * workPerThread else { body(0..<nOut); return }
        parallelRanges(count: nOut, minCount: 2, align: 1) { _, r in body(r) }
    }

    /// The core's checks of an input of `rows` rows: a CSR matrix's structure (sparse: its array lengths).
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
