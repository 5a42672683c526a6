import Testing
@testable import SwiftProp

// Extreme inputs: the stable formulations (max-shifted softmax, logsumexp cross-entropy,
// softplus-form binary cross-entropy, two-sided sigmoid) must stay finite and correct.

@Test("softmax + cross-entropy with logits ±1e4", arguments: scalarTypes)
func softmaxCrossEntropyExtremeLogits(type: any Scalar.Type) { checkSoftmaxCrossEntropyExtreme(type) }

func checkSoftmaxCrossEntropyExtreme<T: Scalar>(_: T.Type) {
    let rows = 3, n = 3, count = rows * n
    let z: [T] = [1e4, -1e4, 0,
                  -1e4, -1e4, 1e4,
                  1e4, 1e4, -1e4]
    let labels: [Int64] = [0, 0, 1]  // right, wrong by 2e4, right (tied with another class)
    let zp = allocate(z), s = allocate(repeating: T.nan, count: count), lab = allocate(labels)
    let delta = allocate(repeating: T.nan, count: count)
    defer { zp.deallocate(); s.deallocate(); lab.deallocate(); delta.deallocate() }

    activationForward(s, zp, rows: rows, n: n, .softmax)
    #expect((0..<count).allSatisfy { s[$0].isFinite && s[$0] >= 0 && s[$0] <= 1 })
    #expect(s[0] == 1 && s[1] == 0 && s[5] == 1 && s[6] == 0.5 && s[7] == 0.5 && s[8] == 0)

    // Per-sample costs: 0, 2e4, log 2.
    let costs = (0..<rows).map { r in
        lossForward(.crossEntropy, zp + r * n, s + r * n, Target<T>.labels(lab + r), rows: 1, n: n)
    }
    // logsumexp is formed at magnitude 1e4: a few of its ulps is the attainable accuracy.
    let atol = 4 * 1e4 * Double(T.ulpOfOne)
    #expect(costs.allSatisfy { $0.isFinite }, "costs \(costs)")
    #expect(abs(costs[0]) <= atol, "costs \(costs)")
    #expect(abs(costs[1] - 2e4) <= atol, "costs \(costs)")
    #expect(abs(costs[2] - Double.log(2)) <= atol, "costs \(costs)")

    lossBackward(delta, .crossEntropy, .softmax, zp, s, .labels(lab), rows: rows, n: n, norm: T(rows))
    let dl = doubles(delta, count: count)
    #expect(dl.allSatisfy { $0.isFinite })
    let expected: [Double] = [0, 0, 0,  -1, 0, 1,  0.5, -0.5, 0].map { $0 / Double(rows) }
    #expect(zip(dl, expected).allSatisfy { abs($0 - $1) <= 1e-6 }, "delta \(dl)")
}

@Test("softmax + cross-entropy network with logits ±1e4", arguments: scalarTypes)
func softmaxCrossEntropyNetworkExtremeLogits(type: any Scalar.Type) throws { try checkNetworkExtreme(type) }

func checkNetworkExtreme<T: Scalar>(_: T.Type) throws {
    // One layer, W = 1e4 · I: the logits are ±1e4 for x = ±1.
    let net = try #require(Network<T>.make(sizes: [2, 2], activations: [.softmax], loss: .crossEntropy))
    net.params[0] = 1e4; net.params[1] = 0; net.params[2] = 0; net.params[3] = 1e4
    let x = allocate([T(1), T(-1), T(-1), T(1)]), lab = allocate([Int64(1), Int64(1)])
    defer { x.deallocate(); lab.deallocate() }
    let cost = try #require(net.backward(x, .labels(lab), batch: 2))
    #expect(cost.isFinite && abs(cost - 1e4) <= 1e-6 * 1e4, "cost \(cost)")  // (2e4 + 0) / 2
    let delta = try #require(net.workspaceValues(.delta, layer: 0))
    #expect((0..<4).allSatisfy { delta[$0].isFinite })
    #expect((0..<4).allSatisfy { net.grads[$0].isFinite })
    // Sample 0 is all wrong (δ = (1, −1)/2), sample 1 right (δ = 0): dW = δᵀx, dB = Σ δ.
    let g = doubles(net.grads, count: 6)
    let expected: [Double] = [0.5, -0.5, -0.5, 0.5, 0.5, -0.5]
    #expect(zip(g, expected).allSatisfy { abs($0 - $1) <= 1e-6 }, "grads \(g)")
}

@Test("binary cross-entropy with |z| = 1e3", arguments: scalarTypes)
func binaryCrossEntropyExtreme(type: any Scalar.Type) { checkBinaryCrossEntropyExtreme(type) }

func checkBinaryCrossEntropyExtreme<T: Scalar>(_: T.Type) {
    let z: [T] = [1e3, -1e3, 1e3, -1e3]
    let y: [T] = [1, 0, 0, 1]  // right, right, wrong, wrong
    let zp = allocate(z), s = allocate(repeating: T.nan, count: 4), yp = allocate(y)
    let delta = allocate(repeating: T.nan, count: 4)
    defer { zp.deallocate(); s.deallocate(); yp.deallocate(); delta.deallocate() }
    activationForward(s, zp, rows: 4, n: 1, .sigmoid)
    let costs = (0..<4).map { r in
        lossForward(.binaryCrossEntropy, zp + r, s + r, Target<T>.dense(yp + r), rows: 1, n: 1)
    }
    #expect(costs.allSatisfy { $0.isFinite }, "costs \(costs)")
    #expect(abs(costs[0]) <= 1e-6 && abs(costs[1]) <= 1e-6, "costs \(costs)")
    #expect(abs(costs[2] - 1e3) <= 1e-6 * 1e3 && abs(costs[3] - 1e3) <= 1e-6 * 1e3, "costs \(costs)")
    lossBackward(delta, .binaryCrossEntropy, .sigmoid, zp, s, .dense(yp), rows: 4, n: 1, norm: 4)
    let dl = doubles(delta, count: 4)
    #expect(dl == [0, 0, 0.25, -0.25], "delta \(dl)")
}

@Test("sigmoid of ±1e4 is finite and in [0, 1]", arguments: scalarTypes)
func sigmoidExtreme(type: any Scalar.Type) { checkSigmoidExtreme(type) }

func checkSigmoidExtreme<T: Scalar>(_: T.Type) {
    let z: [T] = [1e4, -1e4, 100, -100]
    let zp = allocate(z), s = allocate(repeating: T.nan, count: 4), d = allocate(repeating: T.nan, count: 4)
    let g = allocate(repeating: T(1), count: 4)
    defer { zp.deallocate(); s.deallocate(); d.deallocate(); g.deallocate() }
    activationForward(s, zp, rows: 1, n: 4, .sigmoid)
    #expect((0..<4).allSatisfy { s[$0].isFinite && s[$0] >= 0 && s[$0] <= 1 })
    #expect(s[0] == 1 && s[1] == 0 && s[2] == 1)
    #expect(s[3] >= 0 && Double(s[3]) <= 1e-40)
    activationBackward(d, g, zp, s, rows: 1, n: 4, .sigmoid)
    #expect((0..<4).allSatisfy { d[$0].isFinite && d[$0] >= 0 && Double(d[$0]) <= 1e-40 })
}

// Every activation, forward and backward, stays finite at ±1e4 (exp: ±80) and ±30, where naive
// exp-based forms start to lose it in Float.
@Test("every activation is finite at large |x|", arguments: scalarTypes, Activation.allCases)
func activationsFiniteAtLargeInputs(type: any Scalar.Type, f: Activation) { checkActivationFinite(type, f) }

func checkActivationFinite<T: Scalar>(_: T.Type, _ f: Activation) {
    // exp (the poisson output) is e^x by definition: infinite past ln(max) (88.7 in Float); it is finite
    // up to there, and training refuses the non-finite loss that follows
    let big: T = f == .exp ? 80 : 1e4
    let z: [T] = [big, -big, 30, -30, 0.5, -0.5]
    let n = 3, rows = 2, count = z.count
    let zp = allocate(z), s = allocate(repeating: T.nan, count: count), d = allocate(repeating: T.nan, count: count)
    let g = allocate([T(1), T(-0.5), T(0.25), T(1), T(-1), T(2)])
    defer { zp.deallocate(); s.deallocate(); d.deallocate(); g.deallocate() }
    activationForward(s, zp, rows: rows, n: n, f)
    activationBackward(d, g, zp, s, rows: rows, n: n, f)
    let out = doubles(s, count: count), grad = doubles(d, count: count)
    #expect(out.allSatisfy { $0.isFinite }, "\(T.self) \(f) forward \(out)")
    #expect(grad.allSatisfy { $0.isFinite }, "\(T.self) \(f) backward \(grad)")
}
