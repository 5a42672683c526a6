/// The affine layer S_in = S_out_prev · Wᵀ + Bᵀ (samples are rows) and its gradients: equations (2),
/// (3) and the matrix half of (1).

// W is (nOut, nIn), x is (rows, nIn), y is (rows, nOut): y = x Wᵀ, the matrix product of S_in = S_out_prev · Wᵀ + Bᵀ
// (the bias is added by activationForward in the same pass as f). wT, if given, holds nIn·nOut values of scratch.
func linearForward<T: Scalar>(
    _ y: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, rows: Int, nIn: Int, nOut: Int,
    wT: UnsafeMutablePointer<T>? = nil
) {
    if let wT, transposesWeights(rows: rows, nIn: nIn, nOut: nOut) {
        transpose(wT, w, rows: nOut, cols: nIn)
        matmul(transA: false, transB: false, m: rows, n: nOut, k: nIn,
               alpha: 1, a: x, lda: nIn, b: wT, ldb: nOut, beta: 0, c: y, ldc: nOut)
        return
    }
    matmul(transA: false, transB: true, m: rows, n: nOut, k: nIn,
           alpha: 1, a: x, lda: nIn, b: w, ldb: nIn, beta: 0, c: y, ldc: nOut)
}

// W, dW are (nOut, nIn), x is (rows, nIn), delta is (rows, nOut), dx is (rows, nIn).
// accumulate: add to dW, dB (a later chunk of the same batch) instead of overwriting them.
func linearBackward<T: Scalar>(
    dx: UnsafeMutablePointer<T>?, dW: UnsafeMutablePointer<T>, dB: UnsafeMutablePointer<T>,
    delta: UnsafePointer<T>, x: UnsafePointer<T>, w: UnsafePointer<T>,
    rows: Int, nIn: Int, nOut: Int, accumulate: Bool
) {
    // (2) dcost/dW = δᵀ S_out_prev, summed over the rows of the batch
    matmul(transA: true, transB: false, m: nOut, n: nIn, k: rows,
           alpha: 1, a: delta, lda: nOut, b: x, ldb: nIn, beta: accumulate ? 1 : 0, c: dW, ldc: nIn)
    // (3) dcost/dB = δ, summed over the rows of the batch
    if !accumulate { dB.initialize(repeating: 0, count: nOut) }
    for r in 0..<rows {
        let d = delta + r * nOut
        for k in 0..<nOut { dB[k] += d[k] }
    }
    // (1), matrix half: dcost/dS_out_prev = δ W; the caller applies ⊙ f'(S_in_prev)
    if let dx {
        matmul(transA: false, transB: false, m: rows, n: nIn, k: nOut,
               alpha: 1, a: delta, lda: nOut, b: w, ldb: nIn, beta: 0, c: dx, ldc: nIn)
    }
}

/// Weights of at most this many values are transposed before a forward product that goes to BLAS.
/// OpenBLAS's small-matrix kernels are slower with B transposed (x Wᵀ, 32 rows, W 32×64: 1.9 µs against
/// 0.9 µs for x·(Wᵀ stored) with its SkylakeX kernels, 2.6 against 2.1 with its Haswell ones); copying a
/// small W costs less than that difference, a large one more.
let transposeLimit = 1 << 14

/// Whether linearForward, given scratch, runs x·(Wᵀ copied) rather than x Wᵀ: a BLAS product (not the plain
/// loops of tiny ones) over enough rows to pay for the copy, with a small W.
@inline(__always)
func transposesWeights(rows: Int, nIn: Int, nOut: Int) -> Bool {
    rows >= 16 && nIn * nOut <= transposeLimit && rows * nIn * nOut > smallWork
}

// a is (rows, cols), aT is (cols, rows): aT = aᵀ. In 4 × 4 tiles of SIMD loads and stores (lane shuffles in
// between); element by element, the stride-`rows` stores cost more than the product they serve.
func transpose<T: Scalar>(_ aT: UnsafeMutablePointer<T>, _ a: UnsafePointer<T>, rows: Int, cols: Int) {
    @inline(__always) func load(_ p: UnsafePointer<T>) -> SIMD4<T> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<T>.self) }
    @inline(__always) func store(_ v: SIMD4<T>, _ p: UnsafeMutablePointer<T>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<T>.self) }
    let r4 = rows & ~3, c4 = cols & ~3
    var r = 0
    while r < r4 {
        var c = 0
        while c < c4 {
            let p = a + (r &* cols &+ c)
            let v0 = load(p), v1 = load(p + cols), v2 = load(p + 2 &* cols), v3 = load(p + 3 &* cols)
            let q = aT + (c &* rows &+ r)
            store(SIMD4(v0[0], v1[0], v2[0], v3[0]), q)
            store(SIMD4(v0[1], v1[1], v2[1], v3[1]), q + rows)
            store(SIMD4(v0[2], v1[2], v2[2], v3[2]), q + 2 &* rows)
            store(SIMD4(v0[3], v1[3], v2[3], v3[3]), q + 3 &* rows)
            c &+= 4
        }
        for c in c4..<cols { for k in r..<r + 4 { aT[c &* rows &+ k] = a[k &* cols &+ c] } }
        r &+= 4
    }
    for k in r4..<rows { for c in 0..<cols { aT[c &* rows &+ k] = a[k &* cols &+ c] } }
}
