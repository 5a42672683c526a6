import Testing
@testable import SwiftProp

// backward over a batch larger than rowsPerBlock streams blocks and accumulates their gradients:
// it must give the gradient of the whole batch at once. A hidden layer ~22000 wide brings
// rowsPerBlock = max(64, 2^22 / (3 · Σ widths)) down to 64, so a batch of 150 runs as 64 + 64 + 22.

let streamingArchitectures: [Architecture] = [
    Architecture(sizes: [3, 22_000, 4], activations: [.tanh, .softmax], loss: .crossEntropy, labels: true, batch: 150),
    Architecture(sizes: [3, 22_000, 2], activations: [.relu, .sigmoid], loss: .binaryCrossEntropy, weighted: true, batch: 150),
]

@Test("streamed backward equals whole-batch backward", arguments: scalarTypes, streamingArchitectures)
func streamedBackwardMatchesWholeBatch(type: any Scalar.Type, a: Architecture) throws {
    try checkStreaming(type, a)
}

func checkStreaming<T: Scalar>(_: T.Type, _ a: Architecture) throws {
    let net = try #require(Network<T>.make(sizes: a.sizes, activations: a.activations, loss: a.loss))
    let block = net.rowsPerBlock
    try #require(block < a.batch && a.batch % block != 0, "rowsPerBlock \(block) must split batch \(a.batch) unevenly")
    let count = net.layout.count
    let d = makeData(a, layout: net.layout, seed: 0x5743_0000 &+ UInt64(a.sizes.last!), T.self)
    for j in 0..<count { net.params[j] = T(d.params[j]) }

    let x = allocate(d.x.map { T($0) }), y = allocate(d.y.map { T($0) }), w = allocate((d.weights ?? []).map { T($0) })
    let lab = allocate(d.labels)
    defer { x.deallocate(); y.deallocate(); w.deallocate(); lab.deallocate() }
    let target: Target<T> = a.labels ? .labels(lab) : .dense(y)
    let weights: UnsafePointer<T>? = a.weighted ? UnsafePointer(w) : nil

    func run(wholeBatch: Bool) throws -> (cost: Double, grads: [Double]) {
        for j in 0..<count { net.grads[j] = 7 }  // the first block must overwrite, not accumulate
        let c = try #require(net.backward(x, target, weights: weights, batch: a.batch, wholeBatch: wholeBatch))
        return (c, doubles(net.grads, count: count))
    }

    let streamed = try run(wholeBatch: false)
    #expect(net.workspaceRows == block)
    let whole = try run(wholeBatch: true)
    #expect(net.workspaceRows == a.batch)
    let again = try run(wholeBatch: false)  // streaming through the larger, reused workspace
    let cost = try #require(net.cost(x, target, weights: weights, batch: a.batch))

    // Same sums in a different order: agreement to rounding of the accumulation (observed: Float
    // ~6e-5, Double ~1e-13 on the worst entry; a lost or doubled block is an O(10%) error).
    let tol = T.significandBitCount < Double.significandBitCount ? 1e-3 : 1e-11
    for (name, other) in [("whole batch", whole), ("streamed again", again)] {
        #expect(abs(other.cost - streamed.cost) <= tol * abs(streamed.cost), "\(name) cost \(other.cost) vs \(streamed.cost)")
        let worst = worstRelativeError(other.grads, streamed.grads, floorFraction: 1e-3)
        #expect(worst.error <= tol, "\(T.self) \(a.testDescription) \(name) vs streamed: \(worst)")
    }
    #expect(abs(cost - streamed.cost) <= tol * abs(streamed.cost), "cost \(cost) vs backward \(streamed.cost)")
    // Every parameter of the wide layer received a gradient (none left at the sentinel 7).
    #expect(!streamed.grads.contains(7))
}
