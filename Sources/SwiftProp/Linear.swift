/// The affine layer S_in = S_out_prev · Wᵀ + Bᵀ (samples are rows) and its gradients: equations (2),
/// (3) and the matrix half of (1).

// W is (nOut, nIn), x is (rows, nIn), y is (rows, nOut): y = x Wᵀ, the matrix product of S_in = S_out_prev · Wᵀ + Bᵀ
// (the bias is added by activationForward in the same pass as f).
func linearForward<T: Scalar>(
    _ y: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, rows: Int, nIn: Int, nOut: Int
) {
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
