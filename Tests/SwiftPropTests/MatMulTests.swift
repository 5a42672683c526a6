import Testing
@testable import SwiftProp

// matmul against a plain triple loop in Double, for every transpose combination, alpha and beta,
// padded leading dimensions, and sizes on both sides of its three paths: the small-product loops
// (m·n·k ≤ smallWork), one BLAS call, and slabs of C on the worker pool (odd sizes, so that the
// slab bounds fall inside the matrix and the last slab is short).

// Serialized: the thread count is process-wide, and each case must run with its own.
@Suite(.serialized) struct MatMulTests {
    @Test("matmul matches a triple loop on every path and thread count", arguments: scalarTypes, [1, 2, 3])
    func matmulMatchesTripleLoop(type: any Scalar.Type, threads: Int) {
        checkMatmul(type, threads: threads)
    }
}

func checkMatmul<T: Scalar>(_: T.Type, threads: Int) {
    let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 8, 4), (1, 2, 8), (3, 5, 7), (16, 16, 16),        // small loops
        (32, 10, 32), (33, 31, 65),                          // one BLAS call
        (129, 67, 97), (37, 301, 53), (300, 9, 211),         // slabs (by columns, by rows)
    ]
    #expect(shapes.contains { $0.m * $0.n * $0.k <= smallWork })
    #expect(shapes.contains { $0.m * $0.n * $0.k >= 2 * workPerThread && $0.n >= $0.m })
    #expect(shapes.contains { $0.m * $0.n * $0.k >= 2 * workPerThread && $0.n < $0.m })
    let saved = threadCount()
    setThreadCount(threads)
    defer { setThreadCount(saved) }
    var rng = SplitMix64(seed: 0x3A7_0000 &+ UInt64(threads))
    for (m, n, k) in shapes {
        for transA in [false, true] {
            for transB in [false, true] {
                for (alpha, beta) in [(1.0, 0.0), (-0.5, 1.0), (2.0, 0.5)] {
                    // op(A) is (m, k): stored (m, k) or, transposed, (k, m); one spare column each
                    let (aRows, aCols) = transA ? (k, m) : (m, k), lda = aCols + 1
                    let (bRows, bCols) = transB ? (n, k) : (k, n), ldb = bCols + 1
                    let ldc = n + 2
                    let a = (0..<(aRows * lda)).map { _ in roundTrip(rng.uniform(-1, 1), T.self) }
                    let b = (0..<(bRows * ldb)).map { _ in roundTrip(rng.uniform(-1, 1), T.self) }
                    let c0 = (0..<(m * ldc)).map { _ in roundTrip(rng.uniform(-1, 1), T.self) }
                    let aT = allocate(a.map { T($0) }), bT = allocate(b.map { T($0) }), cT = allocate(c0.map { T($0) })
                    defer { aT.deallocate(); bT.deallocate(); cT.deallocate() }
                    matmul(transA: transA, transB: transB, m: m, n: n, k: k, alpha: T(alpha), a: aT, lda: lda,
                           b: bT, ldb: ldb, beta: T(beta), c: cT, ldc: ldc)
                    let eps = Double(T.ulpOfOne)
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var s = 0.0, scale = 0.0
                            for p in 0..<k {
                                let x = transA ? a[p * lda + i] : a[i * lda + p]
                                let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                                s += x * y; scale += abs(x * y)
                            }
                            let ref = alpha * s + beta * c0[i * ldc + j]
                            let bound = 2 * Double(k + 2) * eps * (abs(alpha) * scale + abs(beta * c0[i * ldc + j])) + 1e-300
                            worst = max(worst, abs(Double(cT[i * ldc + j]) - ref) / bound)
                        }
                        // the padding columns of C are not C: untouched
                        for j in n..<ldc { #expect(cT[i * ldc + j] == T(c0[i * ldc + j])) }
                    }
                    #expect(worst <= 1, "\(T.self) \(threads) threads (\(m), \(n), \(k)) transA \(transA) transB \(transB) alpha \(alpha) beta \(beta): \(worst)× the error bound")
                }
            }
        }
    }
}

@Test("the pool's ranges cover 0..<count once, in aligned contiguous parts")
func partRangesCover() {
    for count in [0, 1, 15, 16, 17, 100, 1000] {
        for parts in 1...5 {
            let ranges = (0..<parts).map { partRange($0, of: parts, count: count, align: 16) }
            #expect(ranges.first?.lowerBound == 0 || count == 0)
            #expect(ranges.last?.upperBound == count)
            for i in 1..<parts {
                #expect(ranges[i].lowerBound == ranges[i - 1].upperBound)
                #expect(ranges[i].lowerBound % 16 == 0 || ranges[i].lowerBound == count)
            }
        }
    }
}

@Test("transpose writes aᵀ for shapes on both sides of its 4 × 4 tiles", arguments: scalarTypes)
func transposeIsExact(type: any Scalar.Type) {
    func check<T: Scalar>(_: T.Type) {
        for (rows, cols) in [(1, 1), (1, 7), (5, 1), (4, 4), (8, 12), (10, 32), (32, 64), (13, 7), (33, 65)] {
            let a = (0..<(rows * cols)).map { T($0 + 1) }
            let pa = allocate(a), pt = allocate(repeating: T(-1), count: rows * cols + 1)
            defer { pa.deallocate(); pt.deallocate() }
            transpose(pt, pa, rows: rows, cols: cols)
            var wrong = 0
            for r in 0..<rows { for c in 0..<cols where pt[c * rows + r] != a[r * cols + c] { wrong += 1 } }
            #expect(wrong == 0, "\(T.self) (\(rows), \(cols)): \(wrong) misplaced values")
            #expect(pt[rows * cols] == T(-1), "\(T.self) (\(rows), \(cols)): wrote past the end")
        }
    }
    check(type)
}

@Test("linearForward gives the same S_in with and without the transposed-W scratch", arguments: scalarTypes)
func linearForwardScratchPath(type: any Scalar.Type) {
    func check<T: Scalar>(_: T.Type) {
        var rng = SplitMix64(seed: 41)
        // (rows, nIn, nOut): transposed (small W, enough rows), and not (too few rows, W too large, tiny product)
        let shapes = [(32, 64, 32), (17, 13, 30), (257, 64, 10), (8, 64, 32), (20, 200, 100), (16, 4, 8)]
        #expect(shapes.contains { transposesWeights(rows: $0.0, nIn: $0.1, nOut: $0.2) })
        #expect(shapes.contains { !transposesWeights(rows: $0.0, nIn: $0.1, nOut: $0.2) })
        for (rows, nIn, nOut) in shapes {
            let x = allocate((0..<(rows * nIn)).map { _ in T(rng.uniform(-1, 1)) })
            let w = allocate((0..<(nOut * nIn)).map { _ in T(rng.uniform(-1, 1)) })
            let y1 = allocate(repeating: T(0), count: rows * nOut), y2 = allocate(repeating: T(0), count: rows * nOut)
            let scratch = allocate(repeating: T(0), count: nIn * nOut)
            defer { x.deallocate(); w.deallocate(); y1.deallocate(); y2.deallocate(); scratch.deallocate() }
            linearForward(y1, x, w, rows: rows, nIn: nIn, nOut: nOut)
            linearForward(y2, x, w, rows: rows, nIn: nIn, nOut: nOut, wT: scratch)
            var worst = 0.0
            for i in 0..<rows {
                for j in 0..<nOut {
                    var s = 0.0, scale = 0.0
                    for p in 0..<nIn { let t = Double(x[i * nIn + p]) * Double(w[j * nIn + p]); s += t; scale += abs(t) }
                    let bound = 2 * Double(nIn + 2) * Double(T.ulpOfOne) * scale + 1e-300
                    worst = max(worst, abs(Double(y1[i * nOut + j]) - s) / bound, abs(Double(y2[i * nOut + j]) - s) / bound)
                }
            }
            #expect(worst <= 1, "\(T.self) (\(rows), \(nIn), \(nOut)): \(worst)× the error bound")
        }
    }
    check(type)
}
