import Testing
@testable import SwiftProp

@Test func createNetwork() {
    let net = Network<Double>.make(sizes: [4, 16, 3], activations: [.tanh, .softmax], loss: .crossEntropy)
    #expect(net != nil)
}
