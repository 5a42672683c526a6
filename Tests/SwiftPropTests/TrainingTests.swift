import Testing
@testable import SwiftProp

// The optimizers against their closed forms, addL2, and Network.train against the explicit loop it
// replaces (backward, addL2, step per mini-batch).

/// Relative tolerance of a T computation against the Double closed form.
func closedFormTolerance<T: Scalar>(_: T.Type) -> Double {
    T.significandBitCount < Double.significandBitCount ? 2e-6 : 1e-13
}

func close(_ a: [Double], _ b: [Double], _ tol: Double) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * max(1, abs($1)) }
}

// MARK: - Optimizer.step

/// Runs `steps` steps of an optimizer on 5 parameters p0 with the constant gradient g; returns p.
func stepped<T: Scalar>(_: T.Type, _ kind: OptimizerKind, _ hyper: OptimizerHyper, steps: Int,
                        p0: [Double], g: [Double]) -> [Double] {
    let p = allocate(p0.map { T($0) }), gp = allocate(g.map { T($0) })
    defer { p.deallocate(); gp.deallocate() }
    guard let opt = Optimizer<T>(kind: kind, count: p0.count, hyper: hyper) else { Issue.record("alloc"); return [] }
    for _ in 0..<steps { #expect(opt.step(p, gp)) }
    #expect(opt.t == steps)
    return doubles(p, count: p0.count)
}

let stepP0 = [0.5, -1.25, 2.0, 0.0, -0.75]
let stepG = [0.1, -0.4, 0.25, 1.5, -0.05]

@Test("SGD, momentum and Nesterov steps equal their closed forms", arguments: scalarTypes)
func sgdClosedForms(type: any Scalar.Type) { checkSGDClosedForms(type) }

func checkSGDClosedForms<T: Scalar>(_ t: T.Type) {
    let p0 = stepP0.map { roundTrip($0, T.self) }, g = stepG.map { roundTrip($0, T.self) }
    let lr = 0.1, mu = 0.9, wd = 0.01, tol = closedFormTolerance(T.self)
    // plain SGD with coupled weight decay, one step: p − lr (g + λ p)
    var got = stepped(t, .sgd, OptimizerHyper(lr: lr, weightDecay: wd), steps: 1, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - lr * (g[$0] + wd * p0[$0]) }, tol), "\(got)")
    // momentum, two steps of a constant g: v1 = g, v2 = (1 + μ) g, so p2 = p0 − lr g (2 + μ)
    got = stepped(t, .sgd, OptimizerHyper(lr: lr, momentum: mu), steps: 2, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - lr * g[$0] * (2 + mu) }, tol), "\(got)")
    // Nesterov: p1 = p0 − lr (g + μ g), p2 = p1 − lr (g + μ (1 + μ) g)
    got = stepped(t, .sgd, OptimizerHyper(lr: lr, momentum: mu, nesterov: true), steps: 2, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - lr * g[$0] * (2 + 2 * mu + mu * mu) }, tol), "\(got)")
}

@Test("Adam and AdamW steps equal their closed forms", arguments: scalarTypes)
func adamClosedForms(type: any Scalar.Type) { checkAdamClosedForms(type) }

func checkAdamClosedForms<T: Scalar>(_ t: T.Type) {
    let p0 = stepP0.map { roundTrip($0, T.self) }, g = stepG.map { roundTrip($0, T.self) }
    let lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05, tol = closedFormTolerance(T.self)
    let h = OptimizerHyper(lr: lr, beta1: b1, beta2: b2, eps: eps)
    // with a constant g, m_t = (1 − β1^t) g and v_t = (1 − β2^t) g²: step t moves p by
    // lr √c g / (√c |g| + ε), c = 1 − β2^t
    func move(_ g: Double, _ t: Int) -> Double {
        let c = 1 - (0..<t).reduce(1.0) { p, _ in p * b2 }  // 1 − β2^t
        return lr * c.squareRoot() * g / (c.squareRoot() * abs(g) + eps)
    }
    var got = stepped(t, .adam, h, steps: 3, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - move(g[$0], 1) - move(g[$0], 2) - move(g[$0], 3) }, tol), "\(got)")
    // Adam's weight decay is added to the gradient; one step
    var hw = h
    hw.weightDecay = wd
    got = stepped(t, .adam, hw, steps: 1, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - move(g[$0] + wd * p0[$0], 1) }, tol), "\(got)")
    // AdamW decays p first: (1 − lr λ) p − move(g)
    got = stepped(t, .adamW, hw, steps: 1, p0: p0, g: g)
    #expect(close(got, (0..<5).map { (1 - lr * wd) * p0[$0] - move(g[$0], 1) }, tol), "\(got)")
}

@Test("RMSprop steps equal their closed forms (PyTorch's definition)", arguments: scalarTypes)
func rmspropClosedForms(type: any Scalar.Type) { checkRMSpropClosedForms(type) }

func checkRMSpropClosedForms<T: Scalar>(_ t: T.Type) {
    let p0 = stepP0.map { roundTrip($0, T.self) }, g = stepG.map { roundTrip($0, T.self) }
    let lr = 0.01, a = 0.9, eps = 1e-8, mu = 0.5, wd = 0.05, tol = closedFormTolerance(T.self)
    // constant g: s_t = (1 − α^t) g², so step t divides g by √(1 − α^t)|g| + ε
    func scaled(_ g: Double, _ t: Int) -> Double {
        let c = 1 - (0..<t).reduce(1.0) { p, _ in p * a }
        return g / (c.squareRoot() * abs(g) + eps)
    }
    var got = stepped(t, .rmsprop, OptimizerHyper(lr: lr, eps: eps, alpha: a), steps: 2, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - lr * (scaled(g[$0], 1) + scaled(g[$0], 2)) }, tol), "\(got)")
    // momentum: b1 = u1, b2 = μ u1 + u2
    got = stepped(t, .rmsprop, OptimizerHyper(lr: lr, momentum: mu, eps: eps, alpha: a), steps: 2, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - lr * ((1 + mu) * scaled(g[$0], 1) + scaled(g[$0], 2)) }, tol), "\(got)")
    // coupled weight decay, one step
    got = stepped(t, .rmsprop, OptimizerHyper(lr: lr, weightDecay: wd, eps: eps, alpha: a), steps: 1, p0: p0, g: g)
    #expect(close(got, (0..<5).map { p0[$0] - lr * scaled(g[$0] + wd * p0[$0], 1) }, tol), "\(got)")
}

@Test("clipNorm scales the gradient by min(1, c / (‖g‖ + 1e-6)) in every kind's step", arguments: scalarTypes)
func clipNormClosedForms(type: any Scalar.Type) { checkClipNorm(type) }

func checkClipNorm<T: Scalar>(_ t: T.Type) {
    let p0 = stepP0.map { roundTrip($0, T.self) }, g = stepG.map { roundTrip($0, T.self) }
    let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot(), tol = closedFormTolerance(T.self)
    for kind in OptimizerKind.allCases {
        for clip in [0.5, 100.0] {  // clipped, and a limit above the norm (unchanged)
            let scale = min(1, clip / (norm + 1e-6))
            var h = OptimizerHyper(lr: 0.05, momentum: kind == .sgd || kind == .rmsprop ? 0.9 : 0)
            let want = stepped(t, kind, h, steps: 2, p0: p0, g: g.map { $0 * scale })
            h.clipNorm = clip
            let got = stepped(t, kind, h, steps: 2, p0: p0, g: g)
            #expect(close(got, want, 10 * tol), "\(kind) \(clip): \(got) vs \(want)")
        }
    }
    // a non-finite norm refuses the step and changes nothing
    let p = allocate(p0.map { T($0) }), gp = allocate(g.map { T($0) })
    defer { p.deallocate(); gp.deallocate() }
    let opt = Optimizer<T>(kind: .sgd, count: 5, hyper: OptimizerHyper(lr: 0.1, clipNorm: 1))!
    gp[2] = T.infinity
    #expect(!opt.step(p, gp) && opt.t == 0)
    #expect(doubles(p, count: 5) == p0)
}

@Test("backward with accumulate adds the batch's gradient to the buffer", arguments: scalarTypes)
func backwardAccumulates(type: any Scalar.Type) throws { try checkAccumulate(type) }

func checkAccumulate<T: Scalar>(_: T.Type) throws {
    let net = try #require(Network<T>.make(sizes: [3, 4, 2], activations: [.tanh, .identity], loss: .mse))
    var gen = SplitMix64(seed: 9)
    let count = net.layout.count
    for j in 0..<count { net.params[j] = T(gen.uniform(-1, 1)) }
    let x1 = allocate((0..<15).map { _ in T(gen.uniform(-1, 1)) }), y1 = allocate((0..<10).map { _ in T(gen.uniform(-1, 1)) })
    let x2 = allocate((0..<9).map { _ in T(gen.uniform(-1, 1)) }), y2 = allocate((0..<6).map { _ in T(gen.uniform(-1, 1)) })
    defer { x1.deallocate(); y1.deallocate(); x2.deallocate(); y2.deallocate() }
    _ = try #require(net.backward(x1, .dense(UnsafePointer(y1)), batch: 5))
    let g1 = doubles(net.grads, count: count)
    _ = try #require(net.backward(x2, .dense(UnsafePointer(y2)), batch: 3))
    let g2 = doubles(net.grads, count: count)
    _ = try #require(net.backward(x1, .dense(UnsafePointer(y1)), batch: 5))
    _ = try #require(net.backward(x2, .dense(UnsafePointer(y2)), batch: 3, accumulate: true))
    #expect(close(doubles(net.grads, count: count), zip(g1, g2).map { $0 + $1 }, closedFormTolerance(T.self)))
}

// MARK: - addL2

@Test("addL2 adds alpha·W/norm to the weight gradients only and returns ½·alpha·Σ‖W‖²/norm", arguments: scalarTypes)
func addL2ClosedForm(type: any Scalar.Type) throws { try checkAddL2(type) }

func checkAddL2<T: Scalar>(_: T.Type) throws {
    let net = try #require(Network<T>.make(sizes: [3, 4, 2], activations: [.tanh, .identity], loss: .mse))
    var gen = SplitMix64(seed: 5)
    let count = net.layout.count
    for j in 0..<count { net.params[j] = T(gen.uniform(-1, 1)); net.grads[j] = T(gen.uniform(-1, 1)) }
    let p = doubles(net.params, count: count), g0 = doubles(net.grads, count: count)
    let alpha = 0.3, norm = 7.0
    let penalty = net.addL2(alpha: T(alpha), norm: T(norm))
    var want = g0, sum = 0.0
    for i in 0..<net.layerCount {
        let w = net.layout.weightOffsets[i]
        for j in w..<(w + net.sizes[i] * net.sizes[i + 1]) { want[j] += alpha / norm * p[j]; sum += p[j] * p[j] }
    }
    let tol = closedFormTolerance(T.self)
    #expect(close(doubles(net.grads, count: count), want, tol))  // biases' gradients unchanged
    #expect(abs(penalty - 0.5 * alpha / norm * sum) <= tol * max(1, penalty), "\(penalty)")
}

// MARK: - Network.train

@Test("train: one epoch equals the explicit backward/addL2/step loop, with and without an order", arguments: scalarTypes)
func trainEqualsExplicitLoop(type: any Scalar.Type) throws {
    try checkTrainEqualsLoop(type, shuffled: false)
    try checkTrainEqualsLoop(type, shuffled: true)
}

func checkTrainEqualsLoop<T: Scalar>(_: T.Type, shuffled: Bool) throws {
    let sizes = [3, 5, 2], acts: [Activation] = [.tanh, .identity], n = 10, batchSize = 4, alpha = T(0.01)
    let a = try #require(Network<T>.make(sizes: sizes, activations: acts, loss: .mse))
    let b = try #require(Network<T>.make(sizes: sizes, activations: acts, loss: .mse))
    var gen = SplitMix64(seed: 3)
    for j in 0..<a.layout.count { a.params[j] = T(gen.uniform(-0.7, 0.7)); b.params[j] = a.params[j] }
    let xs = (0..<(n * 3)).map { _ in T(gen.uniform(-1, 1)) }, ys = (0..<(n * 2)).map { _ in T(gen.uniform(-1, 1)) }
    let perm: [Int64] = shuffled ? [7, 2, 9, 0, 4, 1, 8, 3, 6, 5] : Array(0..<Int64(n))
    let x = allocate(xs), y = allocate(ys), order = allocate(perm)
    defer { x.deallocate(); y.deallocate(); order.deallocate() }
    let hyper = OptimizerHyper(lr: 0.05, momentum: 0.9)
    let optA = try #require(Optimizer<T>(kind: .sgd, count: a.layout.count, hyper: hyper))
    let optB = try #require(Optimizer<T>(kind: .sgd, count: b.layout.count, hyper: hyper))

    var lossA = 0.0, penaltyA = 0.0, next = -1
    try a.train(x, .dense(y), weights: nil, n: n, order: shuffled ? UnsafePointer(order) : nil, batchSize: batchSize,
                first: 0, optimizer: optA, alpha: alpha, lossSum: &lossA, penaltySum: &penaltyA, next: &next)
    #expect(next == 3)

    // the loop train replaces: gather each batch's rows, backward, L2, step
    var lossB = 0.0, penaltyB = 0.0
    for start in stride(from: 0, to: n, by: batchSize) {
        let rows = min(batchSize, n - start)
        let idx = (start..<(start + rows)).map { Int(perm[$0]) }
        let xb = allocate(idx.flatMap { xs[($0 * 3)..<($0 * 3 + 3)] }), yb = allocate(idx.flatMap { ys[($0 * 2)..<($0 * 2 + 2)] })
        defer { xb.deallocate(); yb.deallocate() }
        let loss = try #require(b.backward(xb, .dense(yb), batch: rows, training: true))
        let penalty = b.addL2(alpha: alpha, norm: T(rows))
        try optB.step(b)
        lossB += (loss + penalty) * Double(rows); penaltyB += penalty * Double(rows)
    }
    let tol = closedFormTolerance(T.self)
    #expect(close(doubles(a.params, count: a.layout.count), doubles(b.params, count: b.layout.count), tol))
    #expect(close(doubles(optA.state, count: optA.stateCount), doubles(optB.state, count: optB.stateCount), tol))
    #expect(close([lossA, penaltyA], [lossB, penaltyB], tol), "\(lossA) \(penaltyA) vs \(lossB) \(penaltyB)")
    #expect(optA.t == 3 && optB.t == 3)
}

@Test("train resumes from `first` and stops at the epoch's end; a time budget stops after a batch")
func trainFirstAndBudget() throws {
    let net = try #require(Network<Double>.make(sizes: [2, 3, 1], activations: [.relu, .identity], loss: .mse))
    let opt = try #require(Optimizer<Double>(kind: .sgd, count: net.layout.count, hyper: OptimizerHyper(lr: 0.01)))
    let x = allocate(repeating: 0.5, count: 2 * 9), y = allocate(repeating: 1.0, count: 9)
    defer { x.deallocate(); y.deallocate() }
    var loss = 0.0, penalty = 0.0, next = 0
    try net.train(x, .dense(y), weights: nil, n: 9, order: nil, batchSize: 2, first: 3, optimizer: opt, alpha: 0,
                  lossSum: &loss, penaltySum: &penalty, next: &next)
    #expect(next == 5 && opt.t == 2)  // batches 3 and 4 (of 5)
    // a tiny budget: exactly one batch, then the call returns
    try net.train(x, .dense(y), weights: nil, n: 9, order: nil, batchSize: 2, first: 0, seconds: 1e-12, optimizer: opt,
                  alpha: 0, lossSum: &loss, penaltySum: &penalty, next: &next)
    #expect(next == 1 && opt.t == 3)
}

// MARK: - The step with the L2 penalty's gradient (what train uses instead of addL2 + step)

@Test("step(penalty:) equals addL2 then step for every kind, returns Σ‖W‖², on 1 and 2 threads", arguments: scalarTypes)
func penaltyStepEqualsAddL2(type: any Scalar.Type) throws {
    for threads in [1, 2] {
        setThreadCount(threads)
        defer { setThreadCount(1) }
        try checkPenaltyStep(type, sizes: [3, 4, 2])
        try checkPenaltyStep(type, sizes: [300, 130, 7])  // several cells of the check pass, split over threads
    }
}

func checkPenaltyStep<T: Scalar>(_: T.Type, sizes: [Int]) throws {
    let acts = Array(repeating: Activation.tanh, count: sizes.count - 2) + [.identity]
    let a = try #require(Network<T>.make(sizes: sizes, activations: acts, loss: .mse))
    let b = try #require(Network<T>.make(sizes: sizes, activations: acts, loss: .mse))
    let count = a.layout.count, c = 0.3 / 7.0, tol = 10 * closedFormTolerance(T.self)
    for kind in OptimizerKind.allCases {
        for clip in [0.0, 0.5] {
            var gen = SplitMix64(seed: 11)
            for j in 0..<count {
                a.params[j] = T(gen.uniform(-1, 1)); b.params[j] = a.params[j]
                a.grads[j] = T(gen.uniform(-1, 1)); b.grads[j] = a.grads[j]
            }
            let h = OptimizerHyper(lr: 0.01, momentum: 0.5, weightDecay: 0.02, clipNorm: clip)
            let optA = try #require(Optimizer<T>(kind: kind, count: count, hyper: h))
            let optB = try #require(Optimizer<T>(kind: kind, count: count, hyper: h))
            for _ in 0..<2 {
                let squares = try #require(optA.step(a.params, a.grads, penalty: .init(c: T(c), layout: a.layout)))
                let gB = doubles(b.grads, count: count)
                let penalty = b.addL2(alpha: T(0.3), norm: T(7))
                #expect(optB.step(b.params, b.grads))
                b.grads.update(from: gB.map { T($0) }, count: count)  // addL2 wrote into the buffer
                #expect(abs(0.5 * c * squares - penalty) <= tol * max(1, penalty), "\(kind): \(squares)")
            }
            #expect(close(doubles(a.params, count: count), doubles(b.params, count: count), tol), "\(kind) clip \(clip)")
            #expect(close(doubles(optA.state, count: optA.stateCount), doubles(optB.state, count: optB.stateCount), tol))
            #expect(optA.t == 2)
        }
    }
}

@Test("Adam's check: a parameter beyond the quick bound still steps when its update is finite; an overflow does not",
      arguments: scalarTypes)
func adamQuickBound(type: any Scalar.Type) { checkAdamQuickBound(type) }

func checkAdamQuickBound<T: Scalar>(_: T.Type) {
    let big = T.greatestFiniteMagnitude / 2  // above a quarter of the largest value: the quick bound fails
    let p = allocate([big, 1, -2]), g = allocate([T(0.5), 0.25, -1])
    defer { p.deallocate(); g.deallocate() }
    let opt = Optimizer<T>(kind: .adamW, count: 3, hyper: OptimizerHyper(lr: 0.01))!
    #expect(opt.step(p, g) && opt.t == 1)
    #expect(p[0] == big && p[1] < 1 && p[2] > -2)  // (a step of lr is far below big's ulp)
    // decay 1 − lr·λ = −3 takes |p| past the largest value: refused, nothing changed
    opt.weightDecay = 400
    let before = doubles(p, count: 3), state = doubles(opt.state, count: opt.stateCount)
    #expect(!opt.step(p, g) && opt.t == 1)
    #expect(doubles(p, count: 3) == before && doubles(opt.state, count: opt.stateCount) == state)
}
