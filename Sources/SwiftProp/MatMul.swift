import _CBLAS

/// Matrix products below this many multiply-adds (m·n·k) run on one BLAS thread: waking OpenBLAS's
/// pool costs more than it saves there, and on a busy machine a pool thread that is not scheduled
/// stalls the whole product (seen here: a 64-128-128-10 step took 47 ms on 2 threads, 1 ms on 1, on a
/// loaded 2-core machine).
let singleThreadWork = 1 << 21

// Row-major C = alpha · op(A) · op(B) + beta · C, with op(A) (m, k), op(B) (k, n), C (m, n).
@inline(__always)
func matmul<T: Scalar>(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
) {
    // (the library exports no per-call-thread setting: the pool size is set around the call; the
    // threads themselves stay alive, so going back is only a store)
    let threads = scipy_openblas_get_num_threads()
    if threads > 1 && m * n * k < singleThreadWork {
        scipy_openblas_set_num_threads(1)
        T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        scipy_openblas_set_num_threads(threads)
    } else {
        T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
