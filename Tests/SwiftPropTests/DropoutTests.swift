import Testing
@testable import SwiftProp

// Dropout: a training backward pass must return the exact gradient of the cost with the masks it drew.
// Re-seeding a network's generator before each evaluation redraws the same masks, so central
// differences of the training cost (with those masks) check the gradient. The reference is evaluated
// by a Double network holding the same (T-rounded) parameters and drawing the same masks.

@Test("a training backward with dropout is the gradient of the cost with its masks", arguments: scalarTypes)
func dropoutBackwardIsTheGradientOfTheMaskedCost(type: any Scalar.Type) {
    checkDropoutGradient(type)
}

func checkDropoutGradient<T: Scalar>(_: T.Type) {
    let sizes = [3, 6, 5, 2], batch = 7, activations: [Activation] = [.tanh, .sigmoid, .identity]
    guard let net = Network<T>.make(sizes: sizes, activations: activations, loss: .mse),
          let ref = Network<Double>.make(sizes: sizes, activations: activations, loss: .mse)
    else { Issue.record("network"); return }
    #expect(throws: Never.self) { try net.setDropout([0.4, 0.25]); try ref.setDropout([0.4, 0.25]) }
    var gen = SplitMix64(seed: 11)  // the tests' generator, for the data
    for j in 0..<net.layout.count {
        net.params[j] = T(gen.uniform(-0.8, 0.8))
        ref.params[j] = Double(net.params[j])
    }
    let xs = (0..<(batch * 3)).map { _ in roundTrip(gen.uniform(-1, 1), T.self) }
    let ys = (0..<(batch * 2)).map { _ in roundTrip(gen.uniform(-1, 1), T.self) }
    let x = allocate(xs.map { T($0) }), y = allocate(ys.map { T($0) })
    let xd = allocate(xs), yd = allocate(ys)
    defer { x.deallocate(); y.deallocate(); xd.deallocate(); yd.deallocate() }

    net.rng = SwiftProp.SplitMix64(seed: 99)
    _ = net.backward(x, .dense(y), batch: batch, training: true)
    let analytic = doubles(net.grads, count: net.layout.count)

    func referenceCost() -> Double {
        ref.rng = SwiftProp.SplitMix64(seed: 99)  // the same masks on every evaluation
        return ref.backward(xd, .dense(yd), batch: batch, training: true)!
    }
    var numeric: [Double] = []
    for j in 0..<ref.layout.count {
        let saved = ref.params[j]
        numeric.append(fourthOrderCentralDifference(at: saved) { v in
            ref.params[j] = v
            return referenceCost()
        })
        ref.params[j] = saved
    }
    let worst = worstRelativeError(analytic, numeric)
    #expect(worst.error <= gradientTolerance(T.self), "\(worst)")

    // the masks did drop units: the training cost differs from the deterministic one
    #expect(abs(referenceCost() - ref.cost(xd, .dense(yd), batch: batch)!) > 1e-6)
}

@Test func dropoutRatesAreValidated() {
    let net = Network<Double>.make(sizes: [2, 3, 3, 1], activations: [.relu, .relu, .identity], loss: .mse)!
    // one rate per hidden layer, each in [0, 1)
    #expect(throws: CoreError(.argument, "dropout needs 2 rates (one per hidden layer), got 1")) { try net.setDropout([0.5]) }
    #expect(throws: CoreError(.argument, "dropout rates must be in [0, 1), got 1.0")) { try net.setDropout([0.5, 1.0]) }
    #expect(throws: CoreError(.argument, "dropout rates must be in [0, 1), got -0.1")) { try net.setDropout([-0.1, 0.2]) }
    #expect(throws: Never.self) { try net.setDropout([0, 0.5]) }
    #expect(net.dropout == [0, 0.5])
}
