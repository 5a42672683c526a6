import Testing
@testable import SwiftProp

// ParameterLayout offsets and the architectures Network.make accepts or refuses.

@Test("ParameterLayout places W then B per layer, contiguously")
func parameterLayoutOffsets() throws {
    let l = try #require(ParameterLayout(sizes: [3, 4, 2]))
    #expect(l.weightOffsets == [0, 16])  // W0 4×3 at 0, B0 (4) at 12, W1 2×4 at 16, B1 (2) at 24
    #expect(l.biasOffsets == [12, 24])
    #expect(l.count == 26)

    let one = try #require(ParameterLayout(sizes: [1, 1]))
    #expect(one.weightOffsets == [0] && one.biasOffsets == [1] && one.count == 2)

    // Random architectures: the same rule, checked entry by entry.
    var rng = SplitMix64(seed: 0x1A70)
    for _ in 0..<50 {
        let sizes = (0..<(2 + rng.index(5))).map { _ in 1 + rng.index(40) }
        let layout = try #require(ParameterLayout(sizes: sizes))
        var offset = 0
        for i in 0..<(sizes.count - 1) {
            #expect(layout.weightOffsets[i] == offset, "\(sizes) layer \(i)")
            offset += sizes[i + 1] * sizes[i]
            #expect(layout.biasOffsets[i] == offset, "\(sizes) layer \(i)")
            offset += sizes[i + 1]
        }
        #expect(layout.count == offset, "\(sizes)")
        #expect(layout.weightOffsets.count == sizes.count - 1 && layout.biasOffsets.count == sizes.count - 1)
    }
}

@Test("ParameterLayout refuses empty, non-positive and overflowing sizes", arguments: [
    [], [5], [3, 0, 2], [0, 4], [4, 0], [3, -1, 2], [-2, 3],
    [Int.max, 2],                  // W overflows
    [1, Int.max],                  // W fits, W + B overflows
    [1 << 31, 1 << 31, 1 << 31],   // each W fits, their sum overflows
    [1 << 32, 1 << 32],            // 2^64
])
func parameterLayoutRefuses(sizes: [Int]) {
    #expect(ParameterLayout(sizes: sizes) == nil)
}

@Test("Network.make accepts valid architectures", arguments: scalarTypes)
func networkMakeAccepts(type: any Scalar.Type) throws { try checkMakeAccepts(type) }

func checkMakeAccepts<T: Scalar>(_: T.Type) throws {
    // MSE accepts every output activation.
    for f in Activation.allCases {
        let net = try #require(Network<T>.make(sizes: [3, 5, 2], activations: [.tanh, f], loss: .mse), "mse + \(f)")
        #expect(net.layerCount == 2 && net.sizes == [3, 5, 2] && net.activations == [.tanh, f] && net.loss == .mse)
        #expect(net.layout.count == 5 * 3 + 5 + 2 * 5 + 2)
        #expect((0..<net.layout.count).allSatisfy { net.params[$0] == 0 && net.grads[$0] == 0 })
    }
    // Every non-softmax hidden activation below each loss's output.
    for f in Activation.allCases where f != .softmax {
        #expect(Network<T>.make(sizes: [2, 3, 3], activations: [f, .softmax], loss: .crossEntropy) != nil, "\(f)")
        #expect(Network<T>.make(sizes: [2, 3, 1], activations: [f, .sigmoid], loss: .binaryCrossEntropy) != nil, "\(f)")
    }
    #expect(Network<T>.make(sizes: [4, 3], activations: [.softmax], loss: .crossEntropy) != nil)
}

@Test("Network.make refuses invalid architectures", arguments: scalarTypes)
func networkMakeRefuses(type: any Scalar.Type) { checkMakeRefuses(type) }

func checkMakeRefuses<T: Scalar>(_: T.Type) {
    func refused(_ sizes: [Int], _ acts: [Activation], _ loss: Loss) -> Bool {
        Network<T>.make(sizes: sizes, activations: acts, loss: loss) == nil
    }
    // softmax before the last layer
    #expect(refused([3, 4, 2], [.softmax, .identity], .mse))
    #expect(refused([3, 4, 2], [.softmax, .softmax], .crossEntropy))
    #expect(refused([3, 4, 4, 2], [.tanh, .softmax, .sigmoid], .binaryCrossEntropy))
    // cross-entropy without a softmax output
    for f in Activation.allCases where f != .softmax {
        #expect(refused([3, 4, 2], [.tanh, f], .crossEntropy), "cross-entropy + \(f)")
    }
    // binary cross-entropy without a sigmoid output
    for f in Activation.allCases where f != .sigmoid {
        #expect(refused([3, 4, 2], [.tanh, f], .binaryCrossEntropy), "binary cross-entropy + \(f)")
    }
    // sizes / activations that do not fit together, bad sizes
    #expect(refused([3, 4, 2], [.tanh], .mse))
    #expect(refused([3, 4, 2], [.tanh, .tanh, .tanh], .mse))
    #expect(refused([3], [], .mse))
    #expect(refused([3, 0, 2], [.tanh, .identity], .mse))
    #expect(refused([Int.max, 2], [.identity], .mse))
    // A layout that fits Int but not memory: refused, not a trap.
    #expect(refused([1 << 30, 1 << 30], [.identity], .mse))
}
