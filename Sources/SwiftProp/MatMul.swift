/// Products of at least this many multiply-adds (m·n·k) per thread are cut into slabs of C, one per
/// thread of the pool (Pool.swift); smaller ones run on the caller alone, where waking a thread costs
/// more than it saves.
let workPerThread = 1 << 17

/// Products up to this many multiply-adds skip BLAS: its per-call cost (argument checks, buffer
/// allocation, packing both operands, a separate pass for beta) outweighs the arithmetic there
/// (a 64-32-10 step at batch 32, or one sample through a small network).
let smallWork = 1 << 12

// Row-major C = alpha · op(A) · op(B) + beta · C, with op(A) (m, k), op(B) (k, n), C (m, n).
// Each slab is a single-threaded BLAS product over the whole k, so the sums are formed in the same
// order whatever the number of threads.
@inline(__always)
func matmul<T: Scalar>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
    let work = m * n * k
    if work <= smallWork {
        smallMatmul(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    guard work >= 2 * workPerThread, let pool = currentPool() else {
        blasGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let parts = min(pool.workers + 1, work / workPerThread)
    let byColumns = n >= m  // cut the longer side of C
    pool.run(parts: parts) { part in
        let r = partRange(part, of: parts, count: byColumns ? n : m, align: 16)
        guard !r.isEmpty else { return }
        let s = r.lowerBound
        if byColumns {  // columns s..<s+count of C are op(A) times those columns of op(B)
            blasGemm(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
                     b: b + (transB ? s * ldb : s), ldb: ldb, beta: beta, c: c + s, ldc: ldc)
        } else {        // rows s..<s+count of C are those rows of op(A) times op(B)
            blasGemm(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                     a: a + (transA ? s : s * lda), lda: lda, b: b, ldb: ldb, beta: beta, c: c + s * ldc, ldc: ldc)
        }
    }
}

// One BLAS call. For beta = 0 the BLAS clears C in a separate pass, one call per row of a row-major
// C (7.5 % of a 64-32-10 epoch in callgrind): C is cleared here instead, in one call when its rows
// are contiguous, and the product accumulated with beta = 1, which the BLAS applies for free.
@inline(__always)
func blasGemm<T: Scalar>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
    var beta = beta
    if beta == 0 {
        if ldc == n { c.initialize(repeating: 0, count: m * n) } else { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }
        beta = 1
    }
    T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
           b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

// Same contract as matmul, in plain loops for small sizes. With B not transposed each row of C is
// built from rows of B (contiguous, vectorised over n, four rows of B per pass over the row of C);
// with B transposed each element is a dot product of two contiguous rows (SIMD accumulators).
@inline(__always)
func smallMatmul<T: Scalar>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
    @inline(__always) func aAt(_ i: Int, _ p: Int) -> T { transA ? a[p * lda + i] : a[i * lda + p] }
    for i in 0..<m {
        let ci = c + i * ldc
        if transB {
            for j in 0..<n {
                let s = alpha * dot(transA ? nil : a + i * lda, a + i, stride: lda, b + j * ldb, k)
                ci[j] = beta == 0 ? s : beta * ci[j] + s
            }
            continue
        }
        if beta == 0 { ci.initialize(repeating: 0, count: n) } else if beta != 1 { for j in 0..<n { ci[j] *= beta } }
        var p = 0
        while p + 4 <= k {
            let a0 = alpha * aAt(i, p), a1 = alpha * aAt(i, p + 1), a2 = alpha * aAt(i, p + 2), a3 = alpha * aAt(i, p + 3)
            let b0 = b + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb
            for j in 0..<n { ci[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j] }
            p += 4
        }
        while p < k {
            let a0 = alpha * aAt(i, p), b0 = b + p * ldb
            for j in 0..<n { ci[j] += a0 * b0[j] }
            p += 1
        }
    }
}

// Σ_p x[p]·y[p] over k terms; x is `contiguous` if given, else `strided` with that stride.
@inline(__always)
func dot<T: Scalar>(_ contiguous: UnsafePointer<T>?, _ strided: UnsafePointer<T>, stride: Int,
                    _ y: UnsafePointer<T>, _ k: Int) -> T {
    guard let x = contiguous else {
        var s: T = 0
        for p in 0..<k { s += strided[p * stride] * y[p] }
        return s
    }
    var acc = SIMD8<T>(), p = 0
    while p + 8 <= k {
        acc += UnsafeRawPointer(x + p).loadUnaligned(as: SIMD8<T>.self)
             * UnsafeRawPointer(y + p).loadUnaligned(as: SIMD8<T>.self)
        p += 8
    }
    var s = acc.sum()
    while p < k { s += x[p] * y[p]; p += 1 }
    return s
}
