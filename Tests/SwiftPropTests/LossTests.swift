import Testing
@testable import SwiftProp

// lossBackward (the last layer's dcost/dS_in) against central differences of lossForward / norm
// w.r.t. S_in, with S_out = f(S_in) recomputed at every perturbation.

struct LossCase: Sendable, CustomTestStringConvertible {
    let loss: Loss
    let output: Activation
    let labels: Bool     // class labels instead of dense rows (cross-entropy)
    let weighted: Bool   // per-sample weights, one of them 0

    var testDescription: String {
        "\(loss)+\(output)\(labels ? " labels" : "")\(weighted ? " weighted" : "")"
    }
}

let lossCases: [LossCase] = [
    LossCase(loss: .mse, output: .identity, labels: false, weighted: false),
    LossCase(loss: .mse, output: .tanh, labels: false, weighted: false),
    LossCase(loss: .mse, output: .sigmoid, labels: false, weighted: false),
    LossCase(loss: .mse, output: .softmax, labels: false, weighted: false),
    LossCase(loss: .mse, output: .gelu, labels: false, weighted: true),
    LossCase(loss: .crossEntropy, output: .softmax, labels: false, weighted: false),
    LossCase(loss: .crossEntropy, output: .softmax, labels: true, weighted: false),
    LossCase(loss: .crossEntropy, output: .softmax, labels: true, weighted: true),
    LossCase(loss: .binaryCrossEntropy, output: .sigmoid, labels: false, weighted: false),
    LossCase(loss: .binaryCrossEntropy, output: .sigmoid, labels: false, weighted: true),
    LossCase(loss: .poisson, output: .exp, labels: false, weighted: false),
    LossCase(loss: .poisson, output: .exp, labels: false, weighted: true),
]

/// Dense targets suited to the loss: any reals for MSE, probability rows (some entries exactly 0)
/// for cross-entropy, values in [0, 1] (some exactly 0 or 1) for binary cross-entropy, counts and rates
/// >= 0 for poisson.
func denseTargets<T: Scalar>(_ loss: Loss, rows: Int, n: Int, rng: inout SplitMix64, _: T.Type) -> [Double] {
    switch loss {
    case .mse:
        return (0..<rows * n).map { _ in roundTrip(rng.uniform(-1, 1), T.self) }
    case .crossEntropy:
        var y: [Double] = []
        for r in 0..<rows {
            var row = (0..<n).map { _ in rng.uniform(0.05, 1) }
            row[r % n] = 0
            let s = row.reduce(0, +)
            y += row.map { roundTrip($0 / s, T.self) }
        }
        return y
    case .binaryCrossEntropy:
        return (0..<rows * n).map { j in j % 7 == 0 ? 0 : j % 7 == 3 ? 1 : roundTrip(rng.unit(), T.self) }
    case .poisson:  // counts and rates >= 0, some exactly 0
        return (0..<rows * n).map { j in j % 5 == 0 ? 0 : j % 5 == 2 ? Double(rng.index(6)) : roundTrip(3 * rng.unit(), T.self) }
    }
}

@Test("lossBackward matches finite differences of lossForward", arguments: scalarTypes, lossCases)
func lossBackwardMatchesFiniteDifferences(type: any Scalar.Type, c: LossCase) {
    for norm in [4.0, 9.0] { checkLossBackward(type, c, norm: norm) }
}

func checkLossBackward<T: Scalar>(_: T.Type, _ c: LossCase, norm: Double) {
    let rows = 4, n = 5, count = rows * n
    var rng = SplitMix64(seed: 0x1055_0000 &+ UInt64(c.loss.rawValue) << 8 &+ UInt64(c.output.rawValue))
    let z = (0..<count).map { _ in roundTrip(rng.uniform(-2, 2, awayFromZero: 1e-3), T.self) }
    let y = denseTargets(c.loss, rows: rows, n: n, rng: &rng, T.self)
    let labels = (0..<rows).map { _ in Int64(rng.index(n)) }
    let w: [Double]? = c.weighted ? (0..<rows).map { r in r == 2 ? 0 : roundTrip(rng.uniform(0.2, 2), T.self) } : nil

    let lab = allocate(labels)
    let zT = allocate(z.map { T($0) }), sT = allocate(repeating: T(0), count: count)
    let yT = allocate(y.map { T($0) }), wT = allocate((w ?? []).map { T($0) })
    let dT = allocate(repeating: T.nan, count: count)
    let zD = allocate(z), sD = allocate(repeating: 0.0, count: count), yD = allocate(y), wD = allocate(w ?? [])
    defer {
        lab.deallocate(); zT.deallocate(); sT.deallocate(); yT.deallocate(); wT.deallocate(); dT.deallocate()
        zD.deallocate(); sD.deallocate(); yD.deallocate(); wD.deallocate()
    }
    let targetT: Target<T> = c.labels ? .labels(lab) : .dense(yT)
    let targetD: Target<Double> = c.labels ? .labels(lab) : .dense(yD)

    // Analytic, in T.
    activationForward(sT, zT, rows: rows, n: n, c.output)
    lossBackward(dT, c.loss, c.output, zT, sT, targetT, weights: c.weighted ? UnsafePointer(wT) : nil,
                 rows: rows, n: n, norm: T(norm))
    let analytic = doubles(dT, count: count)

    // Reference, in Double: the cost of the perturbed row only (the others do not change).
    var reference = [Double](repeating: 0, count: count)
    for j in 0..<count {
        let r = j / n
        func rowCost(_ v: Double) -> Double {
            zD[j] = v
            activationForward(sD + r * n, zD + r * n, rows: 1, n: n, c.output)
            let cost = lossForward(c.loss, zD + r * n, sD + r * n, targetD.advanced(by: r, n: n),
                                   weights: c.weighted ? UnsafePointer(wD + r) : nil, rows: 1, n: n)
            zD[j] = z[j]
            return cost / norm
        }
        reference[j] = centralDifference(at: z[j], rowCost)
    }

    let worst = worstRelativeError(analytic, reference)
    #expect(worst.error <= gradientTolerance(T.self), "\(T.self) \(c.testDescription) norm \(norm): \(worst)")
    if c.weighted {
        // The zero-weight row contributes nothing.
        #expect((2 * n..<3 * n).allSatisfy { dT[$0] == 0 }, "\(T.self) \(c.testDescription): weight-0 row has a gradient")
    }
}

// lossForward against closed forms on one small case per loss.
@Test("lossForward matches closed forms", arguments: scalarTypes)
func lossForwardValues(type: any Scalar.Type) { checkLossForward(type) }

func checkLossForward<T: Scalar>(_: T.Type) {
    let z: [T] = [0.5, -1, 2, 0, 1, -0.5]  // 2 rows × 3
    let zT = allocate(z), sT = allocate(repeating: T(0), count: 6)
    defer { zT.deallocate(); sT.deallocate() }
    let tol = 100 * Double(T.ulpOfOne)
    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= tol * max(1, abs(b)) }

    // MSE with identity: ½ Σ (z − y)²
    let y: [T] = [1, 1, 1, 0, 0, 0]
    let yT = allocate(y); defer { yT.deallocate() }
    let mse = lossForward(.mse, zT, zT, .dense(yT), rows: 2, n: 3)
    #expect(close(mse, 0.5 * (0.25 + 4 + 1 + 0 + 1 + 0.25)), "mse \(mse)")

    // Cross-entropy with labels: Σ_r logsumexp(z_r) − z_r[label]
    let lab: [Int64] = [2, 0]
    let labT = allocate(lab); defer { labT.deallocate() }
    activationForward(sT, zT, rows: 2, n: 3, .softmax)
    let ce = lossForward(.crossEntropy, zT, sT, .labels(labT), rows: 2, n: 3)
    func lse(_ v: [Double]) -> Double { Double.log(v.map { Double.exp($0) }.reduce(0, +)) }
    let ceRef = (lse([0.5, -1, 2]) - 2) + (lse([0, 1, -0.5]) - 0)
    #expect(close(ce, ceRef), "cross-entropy \(ce) vs \(ceRef)")
    // The same with one-hot dense rows.
    let oneHot: [T] = [0, 0, 1, 1, 0, 0]
    let ohT = allocate(oneHot); defer { ohT.deallocate() }
    let ceDense = lossForward(.crossEntropy, zT, sT, .dense(ohT), rows: 2, n: 3)
    #expect(close(ceDense, ceRef), "cross-entropy dense \(ceDense) vs \(ceRef)")

    // Binary cross-entropy: Σ −[y log σ(z) + (1 − y) log(1 − σ(z))]
    let b: [T] = [1, 0, 0.25, 0, 1, 0.5]
    let bT = allocate(b); defer { bT.deallocate() }
    activationForward(sT, zT, rows: 2, n: 3, .sigmoid)
    let bce = lossForward(.binaryCrossEntropy, zT, sT, .dense(bT), rows: 2, n: 3)
    var bceRef = 0.0
    for j in 0..<6 {
        let p = 1 / (1 + Double.exp(-Double(z[j]))), t = Double(b[j])
        bceRef -= t * Double.log(p) + (1 - t) * Double.log(1 - p)
    }
    #expect(close(bce, bceRef), "binary cross-entropy \(bce) vs \(bceRef)")
}
