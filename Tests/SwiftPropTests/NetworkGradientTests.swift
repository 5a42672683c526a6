import Testing
@testable import SwiftProp

// Whole-network gradients: Network.backward's gradient buffer against central differences of
// Network.cost (fourth-order stencil, see fourthOrderCentralDifference), perturbing every entry of
// the parameter buffer.

struct Architecture: Sendable, CustomTestStringConvertible {
    let sizes: [Int]
    let activations: [Activation]
    let loss: Loss
    var labels = false    // class labels instead of dense targets (cross-entropy)
    var weighted = false  // per-sample weights, one of them 0
    var batch = 6
    var seed: UInt64? = nil  // data seed when the default one puts a relu pre-activation near its kink

    var testDescription: String {
        "\(sizes) \(activations.map { "\($0)" }.joined(separator: ",")) \(loss)"
            + (labels ? " labels" : "") + (weighted ? " weighted" : "")
    }
}

let architectures: [Architecture] = [
    Architecture(sizes: [3, 4], activations: [.identity], loss: .mse),
    Architecture(sizes: [4, 3], activations: [.softmax], loss: .crossEntropy, labels: true),
    Architecture(sizes: [3, 5, 2], activations: [.tanh, .sigmoid], loss: .mse),
    Architecture(sizes: [3, 6, 2], activations: [.gelu, .sigmoid], loss: .binaryCrossEntropy),
    Architecture(sizes: [4, 6, 5, 3], activations: [.relu, .elu, .softmax], loss: .crossEntropy, seed: 2),
    Architecture(sizes: [4, 6, 5, 3], activations: [.gelu, .softplus, .softmax], loss: .crossEntropy, labels: true),
    Architecture(sizes: [2, 4, 4, 3], activations: [.softplus, .relu, .softmax], loss: .mse, seed: 1),
    Architecture(sizes: [5, 3, 4], activations: [.elu, .identity], loss: .mse, weighted: true),
    Architecture(sizes: [4, 5, 3], activations: [.tanh, .softmax], loss: .crossEntropy, labels: true, weighted: true),
    Architecture(sizes: [3, 5, 4, 6, 2], activations: [.leakyRelu, .sigmoid, .tanh, .sigmoid], loss: .binaryCrossEntropy),
    Architecture(sizes: [3, 4, 5, 4, 3], activations: [.elu, .gelu, .leakyRelu, .tanh], loss: .mse, batch: 7, seed: 2),
]

/// A network's data: parameters, inputs, targets and optional weights, as T-representable Doubles.
struct NetworkData {
    var params: [Double]
    var x: [Double]
    var y: [Double]
    var labels: [Int64]
    var weights: [Double]?
}

func makeData<T: Scalar>(_ a: Architecture, layout: ParameterLayout, seed: UInt64, _: T.Type) -> NetworkData {
    var rng = SplitMix64(seed: seed)
    var params = [Double](repeating: 0, count: layout.count)
    for i in 0..<(a.sizes.count - 1) {
        let nIn = a.sizes[i], nOut = a.sizes[i + 1], scale = 1.5 / Double.sqrt(Double(nIn))
        for k in 0..<(nIn * nOut) { params[layout.weightOffsets[i] + k] = roundTrip(rng.uniform(-scale, scale), T.self) }
        for k in 0..<nOut { params[layout.biasOffsets[i] + k] = roundTrip(rng.uniform(-0.5, 0.5), T.self) }
    }
    let n0 = a.sizes.first!, nL = a.sizes.last!
    let x = (0..<a.batch * n0).map { _ in roundTrip(rng.uniform(-1, 1), T.self) }
    let y = denseTargets(a.loss, rows: a.batch, n: nL, rng: &rng, T.self)
    let labels = (0..<a.batch).map { _ in Int64(rng.index(nL)) }
    let weights: [Double]? = a.weighted
        ? (0..<a.batch).map { r in r == 1 ? 0 : roundTrip(rng.uniform(0.25, 2), T.self) } : nil
    return NetworkData(params: params, x: x, y: y, labels: labels, weights: weights)
}

@Test("Network.backward matches finite differences of Network.cost", arguments: scalarTypes, architectures)
func networkGradientMatchesFiniteDifferences(type: any Scalar.Type, a: Architecture) throws {
    try checkNetworkGradient(type, a)
}

func checkNetworkGradient<T: Scalar>(_: T.Type, _ a: Architecture) throws {
    let netT = try #require(Network<T>.make(sizes: a.sizes, activations: a.activations, loss: a.loss))
    let netD = try #require(Network<Double>.make(sizes: a.sizes, activations: a.activations, loss: a.loss))
    let count = netT.layout.count
    let d = makeData(a, layout: netT.layout, seed: a.seed ?? 0x6E7_0000 &+ UInt64(a.sizes.reduce(0, +) * 31 + a.batch), T.self)
    for j in 0..<count { netT.params[j] = T(d.params[j]); netD.params[j] = d.params[j] }
    for j in 0..<count { netT.grads[j] = 7 }  // must be overwritten, not accumulated into

    let xT = allocate(d.x.map { T($0) }), yT = allocate(d.y.map { T($0) }), wT = allocate((d.weights ?? []).map { T($0) })
    let xD = allocate(d.x), yD = allocate(d.y), wD = allocate(d.weights ?? []), lab = allocate(d.labels)
    defer { xT.deallocate(); yT.deallocate(); wT.deallocate(); xD.deallocate(); yD.deallocate(); wD.deallocate(); lab.deallocate() }
    let targetT: Target<T> = a.labels ? .labels(lab) : .dense(yT)
    let targetD: Target<Double> = a.labels ? .labels(lab) : .dense(yD)
    let weightsT: UnsafePointer<T>? = a.weighted ? UnsafePointer(wT) : nil
    let weightsD: UnsafePointer<Double>? = a.weighted ? UnsafePointer(wD) : nil

    let costFromBackward = try #require(netT.backward(xT, targetT, weights: weightsT, batch: a.batch))
    let analytic = doubles(netT.grads, count: count)

    // The cost backward returns is the cost of the forward pass, in T and (to rounding) in Double.
    let costT = try #require(netT.cost(xT, targetT, weights: weightsT, batch: a.batch))
    let costD = try #require(netD.cost(xD, targetD, weights: weightsD, batch: a.batch))
    #expect(abs(costFromBackward - costT) <= 1e-12 * abs(costT), "backward cost \(costFromBackward), cost \(costT)")
    #expect(abs(costT - costD) <= 1e-2 * gradientTolerance(T.self) * abs(costD), "\(T.self) cost \(costT), Double cost \(costD)")

    // Finite differences must not step over a relu / leaky-relu kink: require the pre-activations of
    // such layers (all rows, from a whole-batch pass) to stay 10× the largest step (2 · 5e-4) clear of
    // 0, else set another `seed` for the architecture.
    _ = try #require(netD.backward(xD, targetD, weights: weightsD, batch: a.batch, wholeBatch: true))
    for (i, f) in a.activations.enumerated() where f == .relu || f == .leakyRelu {
        let sIn = try #require(netD.workspaceValues(.sIn, layer: i))
        let closest = (0..<a.batch * a.sizes[i + 1]).map { abs(sIn[$0]) }.min()!
        #expect(closest > 1e-2, "layer \(i) has a pre-activation \(closest) near the kink: choose another seed")
    }

    var reference = [Double](repeating: 0, count: count)
    for j in 0..<count {
        let p = d.params[j]
        reference[j] = fourthOrderCentralDifference(at: p) { v in
            netD.params[j] = v
            defer { netD.params[j] = p }
            return netD.cost(xD, targetD, weights: weightsD, batch: a.batch)!
        }
    }
    let worst = worstRelativeError(analytic, reference)
    #expect(worst.error <= gradientTolerance(T.self), "\(T.self) \(a.testDescription): \(worst)")
}
