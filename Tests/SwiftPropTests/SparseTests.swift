import Glibc
import Testing
@testable import SwiftProp

// The sparse first layer (Sparse.swift): its kernels against the dense products on the same matrix made
// dense, the network's passes on CSR rows against the same passes on dense rows, the poisson pair against
// finite differences, and the CSR structure checks with their messages.

/// A random CSR matrix (rows, cols) with about `density` of its entries stored, row 1 (if any) empty and
/// row 2 (if any) full; its dense form too.
struct RandomCSR {
    var values: [Double] = [], indices: [Int64] = [], indptr: [Int64] = [0], dense: [Double]

    init(rows: Int, cols: Int, density: Double, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        dense = Array(repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols where r == 2 || (r != 1 && rng.unit() < density) {
                let v = rng.uniform(-1, 1, awayFromZero: 0.05)
                values.append(v); indices.append(Int64(c)); dense[r * cols + c] = v
            }
            indptr.append(Int64(values.count))
        }
    }
}

/// The matrix's arrays as T and I, alive for the duration of body.
func withCSR<T: Scalar, I: FixedWidthInteger & SignedInteger, R>(
    _ m: RandomCSR, _: T.Type, _: I.Type, _ body: (CSR<T, I>) throws -> R
) rethrows -> R {
    let v = allocate(m.values.map { T($0) }), i = allocate(m.indices.map { I($0) }), p = allocate(m.indptr.map { I($0) })
    defer { v.deallocate(); i.deallocate(); p.deallocate() }
    return try body(CSR(values: v, indices: i, indptr: p))
}

@Test("sparse forward and dW^1 kernels equal the dense products", arguments: scalarTypes)
func sparseKernelsMatchDense(type: any Scalar.Type) throws {
    try checkSparseKernels(type, Int32.self)
    try checkSparseKernels(type, Int64.self)
}

func checkSparseKernels<T: Scalar, I: FixedWidthInteger & SignedInteger>(_: T.Type, _: I.Type) throws {
    let tol = gradientTolerance(T.self)
    for (shape, seed) in [((7, 5, 3), UInt64(1)), ((40, 33, 17), 2), ((3, 200, 9), 3)] {
        let (rows, nIn, nOut) = shape
        let m = RandomCSR(rows: rows, cols: nIn, density: 0.2, seed: seed)
        var rng = SplitMix64(seed: seed &+ 100)
        let w = (0..<nOut * nIn).map { _ in rng.uniform(-1, 1) }, delta = (0..<rows * nOut).map { _ in rng.uniform(-1, 1) }
        let wp = allocate(w.map { T($0) }), dp = allocate(delta.map { T($0) })
        let y = allocate(repeating: T(0), count: rows * nOut), dW = allocate(repeating: T(0), count: nOut * nIn)
        defer { [wp, dp, y, dW].forEach { $0.deallocate() } }
        let nnz = m.values.count
        let scratch = try #require(SparseScratch<T>(nIn: nIn, nOut: nOut))
        try #require(scratch.reserve(nnz))
        try withCSR(m, T.self, I.self) { x in
            scratch.index(x, first: 0, last: nnz)
            let cols = Set(m.indices.map { Int($0) })
            #expect(scratch.count == cols.count)
            #expect((0..<scratch.count).map { scratch.columns.base[$0] } == cols.sorted())
            gatherColumns(scratch.compact.base, wp, columns: scratch.columns.base, count: scratch.count, nIn: nIn,
                          nOut: nOut, outputs: 0..<nOut)
            sparseForward(y, x, scratch.compact.base, slots: scratch.slots.base, base: 0, nOut: nOut, rows: 0..<rows)
            // dW^1 on two halves of the outputs (as two threads split them), accumulated onto 1s
            dW.initialize(repeating: 1, count: nOut * nIn)
            for o in [0..<nOut / 2, nOut / 2..<nOut] {
                sparseWeightGradient(scratch.compact.base, dp, x, slots: scratch.slots.base, base: 0,
                                     count: scratch.count, nOut: nOut, rows: 0..<rows, outputs: o)
                scatterColumns(dW, scratch.compact.base, columns: scratch.columns.base, count: scratch.count,
                               nIn: nIn, nOut: nOut, outputs: o)
            }
        }
        for r in 0..<rows {
            for o in 0..<nOut {
                var s = 0.0
                for c in 0..<nIn { s += roundTrip(m.dense[r * nIn + c], T.self) * roundTrip(w[o * nIn + c], T.self) }
                #expect(abs(Double(y[r * nOut + o]) - s) <= tol * max(1, abs(s)), "y[\(r), \(o)]")
            }
        }
        for o in 0..<nOut {
            for c in 0..<nIn {
                var s = 1.0
                for r in 0..<rows { s += roundTrip(delta[r * nOut + o], T.self) * roundTrip(m.dense[r * nIn + c], T.self) }
                #expect(abs(Double(dW[o * nIn + c]) - s) <= tol * max(1, abs(s)), "dW[\(o), \(c)]")
            }
        }
    }
}

@Test("a network's passes on CSR rows equal those on the same rows made dense", arguments: scalarTypes)
func sparseNetworkMatchesDense(type: any Scalar.Type) throws {
    try checkSparseNetwork(type)
}

func checkSparseNetwork<T: Scalar>(_: T.Type) throws {
    let tol = gradientTolerance(T.self)
    // 150 rows, 2 000 columns: several tiles of entries; n_1 = 22 000 brings rowsPerBlock to 64 (streamed blocks)
    for (sizes, rows) in [([300, 16, 3], 40), ([2_000, 22_000, 2], 150)] {
        let net = try #require(Network<T>.make(sizes: sizes, activations: [.relu, .softmax], loss: .crossEntropy))
        var rng = SplitMix64(seed: UInt64(sizes[1]))
        for j in 0..<net.layout.count { net.params[j] = T(rng.uniform(-0.1, 0.1)) }
        let m = RandomCSR(rows: rows, cols: sizes[0], density: 0.05, seed: 7)
        let x = allocate(m.dense.map { T($0) }), labels = allocate((0..<rows).map { Int64($0 % sizes.last!) })
        let out = allocate(repeating: T(0), count: rows * sizes.last!), outS = allocate(repeating: T(0), count: rows * sizes.last!)
        defer { x.deallocate(); labels.deallocate(); out.deallocate(); outS.deallocate() }
        let count = net.layout.count
        let denseCost = try #require(net.backward(x, .labels(labels), batch: rows))
        let denseGrads = doubles(net.grads, count: count)
        #expect(net.forward(out, x, batch: rows))
        try withCSR(m, T.self, Int32.self) { c in
            try net.checkInput(.csr32(c), rows: rows, sparse: SparseShape(nnz: m.values.count, nIndptr: rows + 1, cols: sizes[0]))
            for j in 0..<count { net.grads[j] = 7 }  // overwritten, not accumulated
            let cost = try #require(net.backward(.csr32(c), .labels(labels), batch: rows))
            #expect(abs(cost - denseCost) <= tol * max(1, abs(denseCost)))
            let grads = doubles(net.grads, count: count), scale = max(1e-3, denseGrads.map(abs).max()!)
            #expect(zip(grads, denseGrads).allSatisfy { abs($0 - $1) <= tol * scale })
            #expect(net.forward(outS, .csr32(c), batch: rows))
            #expect((0..<rows * sizes.last!).allSatisfy { abs(Double(out[$0]) - Double(outS[$0])) <= tol })
        }
    }
}

@Test("CSR structure checks: each broken rule with its message")
func sparseStructureChecks() throws {
    let values = allocate([1.0, 2.0, 3.0]), good = allocate([Int64(0), 2, 3]), indices = allocate([Int64(0), 4, 1])
    let bad = allocate([Int64(0), 3, 2]), startsHigh = allocate([Int64(1), 2, 3]), negative = allocate([Int64(0), -1, 1])
    defer { values.deallocate(); [good, indices, bad, startsHigh, negative].forEach { $0.deallocate() } }
    func check(_ idx: UnsafeMutablePointer<Int64>, _ ptr: UnsafeMutablePointer<Int64>, rows: Int = 2, cols: Int = 5,
               nnz: Int = 3, nIndptr: Int = 3) -> String? {
        do {
            try CSR(values: values, indices: idx, indptr: ptr).check(rows: rows, cols: cols, nnz: nnz, nIndptr: nIndptr)
            return nil
        } catch { return error.message }
    }
    #expect(check(indices, good) == nil)
    #expect(check(indices, good, nIndptr: 4) == "X (sparse): indptr has 4 entries, expected rows + 1 = 3")
    #expect(check(indices, startsHigh) == "X (sparse): indptr[0] must be 0, got 1")
    #expect(check(indices, bad) == "X (sparse): indptr must be non-decreasing, but indptr[2] = 2 < indptr[1] = 3")
    #expect(check(indices, good, nnz: 4) == "X (sparse): indptr[-1] = 3 must equal the number of stored values, 4")
    #expect(check(indices, good, cols: 4) == "X (sparse): indices[1] = 4 is not a column in [0, 4)")
    #expect(check(negative, good) == "X (sparse): indices[1] = -1 is not a column in [0, 5)")
    #expect(check(indices, good, nnz: -1) == "X (sparse) has a negative number of stored values, -1")
}

@Test("poisson: loss and dcost/dS_in against finite differences", arguments: scalarTypes)
func poissonMatchesFiniteDifferences(type: any Scalar.Type) throws {
    try checkPoisson(type)
}

func checkPoisson<T: Scalar>(_: T.Type) throws {
    let rows = 4, n = 3
    var rng = SplitMix64(seed: 11)
    let z = (0..<rows * n).map { _ in roundTrip(rng.uniform(-2, 2), T.self) }
    let y = (0..<rows * n).map { i in i % 4 == 0 ? 0 : roundTrip(Double(rng.index(5)), T.self) }
    func cost(_ z: [Double]) -> Double {  // the mean over rows of Σ y log(y/ŷ) − y + ŷ, ŷ = e^z
        var s = 0.0
        for j in 0..<rows * n { s += (y[j] > 0 ? y[j] * Glibc.log(y[j]) : 0) - y[j] * z[j] - y[j] + Glibc.exp(z[j]) }
        return s / Double(rows)
    }
    let zp = allocate(z.map { T($0) }), out = allocate(repeating: T(0), count: rows * n)
    let yp = allocate(y.map { T($0) }), delta = allocate(repeating: T(0), count: rows * n)
    defer { [zp, out, yp, delta].forEach { $0.deallocate() } }
    activationForward(out, zp, rows: rows, n: n, .exp)
    let value = lossForward(.poisson, zp, out, .dense(yp), rows: rows, n: n) / Double(rows)
    #expect(abs(value - cost(z)) <= gradientTolerance(T.self) * max(1, abs(cost(z))))
    lossBackward(delta, .poisson, .exp, zp, out, .dense(yp), rows: rows, n: n, norm: T(rows))
    for j in 0..<rows * n {
        let fd = centralDifference(at: z[j]) { v in var zz = z; zz[j] = v; return cost(zz) }
        #expect(abs(Double(delta[j]) - fd) <= gradientTolerance(T.self) * max(1, abs(fd)), "δ[\(j)]")
    }
    // targets must be >= 0: the core's rule, with its message
    let net = try #require(Network<T>.make(sizes: [2, n], activations: [.exp], loss: .poisson))
    let negative = allocate([T(1), T(-2), T(0)])
    defer { negative.deallocate() }
    #expect(throws: CoreError(.argument, "loss='poisson' needs targets >= 0, got -2.0 at flat index 1")) {
        try net.check(.dense(negative), weights: nil, rows: 1)
    }
    #expect(throws: CoreError.self) { try SwiftProp.Architecture(sizes: [2, 3], activations: [.identity], loss: .poisson) }
}
