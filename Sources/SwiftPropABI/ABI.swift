// The C ABI (declared in swiftprop.h): @_cdecl functions that check sizes, call the core and return
// a status. Each pair of _f32/_f64 functions shares one generic body below.
import _CBLAS
import SwiftProp

enum Status: Int32 {
    case ok = 0, size, argument, label, memory, architecture, target, nonFinite
}

private let blasMax = Int(Int32.max)

private func network<T>(_ handle: UnsafeMutableRawPointer) -> Network<T> {
    Unmanaged<Network<T>>.fromOpaque(handle).takeUnretainedValue()
}

/// True if rows × n elements fit in memory arithmetic and every dimension fits a BLAS int.
private func fits(_ rows: Int, _ n: Int) -> Bool {
    rows >= 1 && n >= 1 && rows <= blasMax && n <= blasMax && !rows.multipliedReportingOverflow(by: n).overflow
}

private func create<T: Scalar>(
    _ type: T.Type, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ sizes: UnsafePointer<Int>?,
    _ nSizes: Int, _ activations: UnsafePointer<Int32>?, _ loss: Int32
) -> Int32 {
    guard let out, let sizes, let activations, nSizes >= 2 else { return Status.argument.rawValue }
    let dims = Array(UnsafeBufferPointer(start: sizes, count: nSizes))
    guard dims.allSatisfy({ $0 >= 1 && $0 <= blasMax }) else { return Status.size.rawValue }
    var fs: [Activation] = []
    for code in UnsafeBufferPointer(start: activations, count: nSizes - 1) {
        guard let f = Activation(rawValue: code) else { return Status.argument.rawValue }
        fs.append(f)
    }
    guard let cost = Loss(rawValue: loss) else { return Status.argument.rawValue }
    guard !fs.dropLast().contains(.softmax), cost.accepts(fs.last!) else { return Status.architecture.rawValue }
    guard ParameterLayout(sizes: dims) != nil else { return Status.size.rawValue }
    guard let net = Network<T>.make(sizes: dims, activations: fs, loss: cost) else { return Status.memory.rawValue }
    out.pointee = Unmanaged.passRetained(net).toOpaque()
    return Status.ok.rawValue
}

private func destroy<T: Scalar>(_ type: T.Type, _ handle: UnsafeMutableRawPointer?) {
    if let handle { Unmanaged<Network<T>>.fromOpaque(handle).release() }
}

private func buffer<T: Scalar>(_ handle: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?, grads: Bool) -> UnsafeMutablePointer<T>? {
    guard let handle else { return nil }
    let net: Network<T> = network(handle)
    count?.pointee = net.layout.count
    return grads ? net.grads : net.params
}

private func offsets<T: Scalar>(_ type: T.Type, _ handle: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<Int>?, _ n: Int) -> Int32 {
    guard let handle, let out else { return Status.argument.rawValue }
    let net: Network<T> = network(handle)
    guard n == 2 * net.layerCount else { return Status.size.rawValue }
    for i in 0..<net.layerCount {
        out[2 * i] = net.layout.weightOffsets[i]
        out[2 * i + 1] = net.layout.biasOffsets[i]
    }
    return Status.ok.rawValue
}

/// Status of the shapes x (batch, nIn) and out/y (batch, nOut) against the network.
private func checkShapes<T: Scalar>(_ net: Network<T>, batch: Int, nIn: Int, nOut: Int) -> Status {
    guard nIn == net.sizes.first!, nOut == net.sizes.last!, fits(batch, nIn), fits(batch, nOut),
          net.sizes.allSatisfy({ fits(batch, $0) })
    else { return .size }
    return .ok
}

private func forward<T: Scalar>(_ handle: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<T>?, _ x: UnsafePointer<T>?,
                                _ batch: Int, _ nIn: Int, _ nOut: Int) -> Int32 {
    guard let handle, let out, let x else { return Status.argument.rawValue }
    let net: Network<T> = network(handle)
    let status = checkShapes(net, batch: batch, nIn: nIn, nOut: nOut)
    guard status == .ok else { return status.rawValue }
    return (net.forward(out, x, batch: batch) ? Status.ok : Status.memory).rawValue
}

/// Validates a target before anything is written: labels only for cross-entropy, each in range.
private func target<T: Scalar>(_ net: Network<T>, dense: UnsafePointer<T>?, labels: UnsafePointer<Int64>?, batch: Int) -> (Target<T>?, Status) {
    if let dense { return (.dense(dense), .ok) }
    guard let labels else { return (nil, .argument) }
    guard net.loss == .crossEntropy else { return (nil, .target) }
    let classes = Int64(net.sizes.last!)
    for r in 0..<batch where labels[r] < 0 || labels[r] >= classes { return (nil, .label) }
    return (.labels(labels), .ok)
}

private func backward<T: Scalar>(_ handle: UnsafeMutableRawPointer?, _ cost: UnsafeMutablePointer<Double>?,
                                 _ x: UnsafePointer<T>?, dense: UnsafePointer<T>?, labels: UnsafePointer<Int64>?,
                                 weights: UnsafePointer<T>?, _ batch: Int, _ nIn: Int, _ nOut: Int,
                                 grads: Bool, wholeBatch: Bool) -> Int32 {
    guard let handle, let cost, let x else { return Status.argument.rawValue }
    let net: Network<T> = network(handle)
    let shapes = checkShapes(net, batch: batch, nIn: nIn, nOut: nOut)
    guard shapes == .ok else { return shapes.rawValue }
    let (y, status) = target(net, dense: dense, labels: labels, batch: batch)
    guard let y else { return status.rawValue }
    if let weights {  // the cost is Σ w·c / Σ w: weights must be >= 0 with a positive sum
        var sum = 0.0
        for r in 0..<batch { guard weights[r] >= 0 else { return Status.argument.rawValue }; sum += Double(weights[r]) }
        guard sum > 0, sum.isFinite else { return Status.argument.rawValue }
    }
    let value = grads ? net.backward(x, y, weights: weights, batch: batch, wholeBatch: wholeBatch)
                      : net.cost(x, y, weights: weights, batch: batch)
    guard let value else { return Status.memory.rawValue }
    cost.pointee = value
    return Status.ok.rawValue
}

private func workspaceCopy<T: Scalar>(_ handle: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<T>?, _ quantity: Int32,
                                      _ layer: Int, _ rows: Int, _ n: Int) -> Int32 {
    guard let handle, let out, let q = Network<T>.Quantity(rawValue: quantity) else { return Status.argument.rawValue }
    let net: Network<T> = network(handle)
    guard layer >= 0, layer < net.layerCount else { return Status.argument.rawValue }
    guard n == net.sizes[layer + 1], rows >= 1, let ws = net.workspaceRows, rows <= ws,
          let src = net.workspaceValues(q, layer: layer)
    else { return Status.size.rawValue }
    out.update(from: src, count: rows * n)
    return Status.ok.rawValue
}

private func allFinite<T: Scalar>(_ x: UnsafePointer<T>?, _ count: Int) -> Int32 {
    guard let x, count >= 0 else { return 0 }
    return SwiftProp.allFinite(x, count: count) ? 1 : 0
}

// MARK: - Optimizers and training (generic bodies)

/// hyper = [lr, momentum, nesterov (0/1), weight_decay, beta1, beta2, eps]
private func optimizerCreate<T: Scalar>(_ type: T.Type, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                        _ handle: UnsafeMutableRawPointer?, _ kind: Int32, _ hyper: UnsafePointer<Double>?) -> Int32 {
    guard let out, let handle, let hyper, let k = OptimizerKind(rawValue: kind) else { return Status.argument.rawValue }
    let net: Network<T> = network(handle)
    guard let opt = Optimizer<T>(kind: k, count: net.layout.count, lr: 0) else { return Status.memory.rawValue }
    optimizerSet(opt, hyper)
    out.pointee = Unmanaged.passRetained(opt).toOpaque()
    return Status.ok.rawValue
}

private func optimizerSet<T: Scalar>(_ opt: Optimizer<T>, _ h: UnsafePointer<Double>) {
    opt.lr = T(h[0]); opt.momentum = T(h[1]); opt.nesterov = h[2] != 0; opt.weightDecay = T(h[3])
    opt.beta1 = T(h[4]); opt.beta2 = T(h[5]); opt.eps = T(h[6])
}

private func optimizer<T>(_ handle: UnsafeMutableRawPointer) -> Optimizer<T> {
    Unmanaged<Optimizer<T>>.fromOpaque(handle).takeUnretainedValue()
}

private func optimizerStep<T: Scalar>(_ type: T.Type, _ opt: UnsafeMutableRawPointer?, _ handle: UnsafeMutableRawPointer?) -> Int32 {
    guard let opt, let handle else { return Status.argument.rawValue }
    let o: Optimizer<T> = optimizer(opt), net: Network<T> = network(handle)
    guard o.count == net.layout.count else { return Status.size.rawValue }
    return (o.step(net.params, net.grads) ? Status.ok : Status.nonFinite).rawValue
}

private func train<T: Scalar>(_ handle: UnsafeMutableRawPointer?, _ opt: UnsafeMutableRawPointer?,
                              _ lossSum: UnsafeMutablePointer<Double>?, _ penaltySum: UnsafeMutablePointer<Double>?,
                              _ done: UnsafeMutablePointer<Int>?,
                              _ x: UnsafePointer<T>?, dense: UnsafePointer<T>?, labels: UnsafePointer<Int64>?,
                              _ weights: UnsafePointer<T>?, _ n: Int, _ nIn: Int, _ nOut: Int,
                              _ order: UnsafePointer<Int64>?, _ batchSize: Int, _ first: Int, _ count: Int,
                              _ alpha: Double) -> Int32 {
    guard let handle, let opt, let lossSum, let penaltySum, let done, let x else { return Status.argument.rawValue }
    let net: Network<T> = network(handle), o: Optimizer<T> = optimizer(opt)
    guard o.count == net.layout.count, batchSize >= 1, batchSize <= n, first >= 0, count >= 0 else { return Status.size.rawValue }
    let shapes = checkShapes(net, batch: n, nIn: nIn, nOut: nOut)
    guard shapes == .ok else { return shapes.rawValue }
    // only the rows of this call's batches are checked (the caller trains an epoch in several calls);
    // the rows of batch b are order[b·batchSize ..< (b+1)·batchSize], or those rows of x without order
    let (lo, over) = first.multipliedReportingOverflow(by: batchSize)
    guard !over, lo <= n else { return Status.size.rawValue }
    let hi = count > (n - lo + batchSize - 1) / batchSize ? n : min(n, lo + count * batchSize)
    if let order {
        for j in lo..<hi where order[j] < 0 || order[j] >= Int64(n) { return Status.argument.rawValue }
    }
    let y: Target<T>
    if let dense {
        y = .dense(dense)
    } else {
        guard let labels else { return Status.argument.rawValue }
        guard net.loss == .crossEntropy else { return Status.target.rawValue }
        let classes = Int64(nOut)
        for j in lo..<hi {
            let label = labels[order.map { Int($0[j]) } ?? j]
            guard label >= 0 && label < classes else { return Status.label.rawValue }
        }
        y = .labels(labels)
    }
    var doneCount = 0
    let result = net.train(x, y, weights: weights, n: n, order: order, batchSize: batchSize, first: first,
                           count: count, optimizer: o, alpha: T(alpha), lossSum: &lossSum.pointee,
                           penaltySum: &penaltySum.pointee, done: &doneCount)
    done.pointee = doneCount
    switch result {
    case .ok: return Status.ok.rawValue
    case .memory: return Status.memory.rawValue
    case .nonFinite: return Status.nonFinite.rawValue
    }
}

// MARK: - Float

@_cdecl("sp_network_create_f32")
public func sp_network_create_f32(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ sizes: UnsafePointer<Int>?, _ nSizes: Int, _ activations: UnsafePointer<Int32>?, _ loss: Int32) -> Int32 {
    create(Float.self, out, sizes, nSizes, activations, loss)
}
@_cdecl("sp_network_destroy_f32")
public func sp_network_destroy_f32(_ net: UnsafeMutableRawPointer?) { destroy(Float.self, net) }
@_cdecl("sp_network_params_f32")
public func sp_network_params_f32(_ net: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<Float>? { buffer(net, count, grads: false) }
@_cdecl("sp_network_grads_f32")
public func sp_network_grads_f32(_ net: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<Float>? { buffer(net, count, grads: true) }
@_cdecl("sp_network_offsets_f32")
public func sp_network_offsets_f32(_ net: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<Int>?, _ n: Int) -> Int32 { offsets(Float.self, net, out, n) }
@_cdecl("sp_forward_f32")
public func sp_forward_f32(_ net: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<Float>?, _ x: UnsafePointer<Float>?, _ batch: Int, _ nIn: Int, _ nOut: Int) -> Int32 {
    forward(net, out, x, batch, nIn, nOut)
}
@_cdecl("sp_backward_f32")
public func sp_backward_f32(_ net: UnsafeMutableRawPointer?, _ cost: UnsafeMutablePointer<Double>?, _ x: UnsafePointer<Float>?,
                          _ y: UnsafePointer<Float>?, _ labels: UnsafePointer<Int64>?, _ weights: UnsafePointer<Float>?,
                          _ batch: Int, _ nIn: Int, _ nOut: Int, _ grads: Int32, _ whole: Int32) -> Int32 {
    guard (y == nil) != (labels == nil) else { return Status.argument.rawValue }
    return backward(net, cost, x, dense: y, labels: labels, weights: weights, batch, nIn, nOut,
                    grads: grads != 0, wholeBatch: whole != 0)
}
@_cdecl("sp_workspace_copy_f32")
public func sp_workspace_copy_f32(_ net: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<Float>?, _ quantity: Int32, _ layer: Int, _ rows: Int, _ n: Int) -> Int32 {
    workspaceCopy(net, out, quantity, layer, rows, n)
}
@_cdecl("sp_all_finite_f32")
public func sp_all_finite_f32(_ x: UnsafePointer<Float>?, _ count: Int) -> Int32 { allFinite(x, count) }

@_cdecl("sp_optimizer_create_f32")
public func sp_optimizer_create_f32(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ net: UnsafeMutableRawPointer?, _ kind: Int32, _ hyper: UnsafePointer<Double>?) -> Int32 {
    optimizerCreate(Float.self, out, net, kind, hyper)
}
@_cdecl("sp_optimizer_destroy_f32")
public func sp_optimizer_destroy_f32(_ opt: UnsafeMutableRawPointer?) {
    if let opt { Unmanaged<Optimizer<Float>>.fromOpaque(opt).release() }
}
@_cdecl("sp_optimizer_set_f32")
public func sp_optimizer_set_f32(_ opt: UnsafeMutableRawPointer?, _ hyper: UnsafePointer<Double>?) -> Int32 {
    guard let opt, let hyper else { return Status.argument.rawValue }
    optimizerSet(optimizer(opt) as Optimizer<Float>, hyper)
    return Status.ok.rawValue
}
@_cdecl("sp_optimizer_state_f32")
public func sp_optimizer_state_f32(_ opt: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<Float>? {
    guard let opt else { return nil }
    let o: Optimizer<Float> = optimizer(opt)
    count?.pointee = o.stateCount
    return o.state
}
@_cdecl("sp_optimizer_steps_f32")
public func sp_optimizer_steps_f32(_ opt: UnsafeMutableRawPointer?, _ set: Int64) -> Int64 {
    guard let opt else { return -1 }
    let o: Optimizer<Float> = optimizer(opt)
    if set >= 0 { o.t = Int(set) }
    return Int64(o.t)
}
@_cdecl("sp_optimizer_step_f32")
public func sp_optimizer_step_f32(_ opt: UnsafeMutableRawPointer?, _ net: UnsafeMutableRawPointer?) -> Int32 {
    optimizerStep(Float.self, opt, net)
}
@_cdecl("sp_train_f32")
public func sp_train_f32(_ net: UnsafeMutableRawPointer?, _ opt: UnsafeMutableRawPointer?, _ lossSum: UnsafeMutablePointer<Double>?,
                          _ penaltySum: UnsafeMutablePointer<Double>?, _ done: UnsafeMutablePointer<Int>?, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?,
                          _ labels: UnsafePointer<Int64>?, _ weights: UnsafePointer<Float>?, _ n: Int, _ nIn: Int, _ nOut: Int,
                          _ order: UnsafePointer<Int64>?, _ batchSize: Int, _ first: Int, _ count: Int, _ alpha: Double) -> Int32 {
    train(net, opt, lossSum, penaltySum, done, x, dense: y, labels: labels, weights, n, nIn, nOut, order, batchSize, first, count, alpha)
}

@_cdecl("sp_add_l2_f32")
public func sp_add_l2_f32(_ net: UnsafeMutableRawPointer?, _ penalty: UnsafeMutablePointer<Double>?, _ alpha: Double, _ norm: Double) -> Int32 {
    guard let net, let penalty, norm > 0, alpha >= 0 else { return Status.argument.rawValue }
    penalty.pointee = (network(net) as Network<Float>).addL2(alpha: Float(alpha), norm: Float(norm))
    return Status.ok.rawValue
}

@_cdecl("sp_network_set_dropout_f32")
public func sp_network_set_dropout_f32(_ net: UnsafeMutableRawPointer?, _ rates: UnsafePointer<Double>?, _ n: Int) -> Int32 {
    guard let net, n >= 0, rates != nil || n == 0 else { return Status.argument.rawValue }
    let values = n == 0 ? [] : Array(UnsafeBufferPointer(start: rates, count: n))
    return ((network(net) as Network<Float>).setDropout(values) ? Status.ok : Status.argument).rawValue
}
@_cdecl("sp_network_seed_f32")
public func sp_network_seed_f32(_ net: UnsafeMutableRawPointer?, _ seed: UInt64) {
    if let net { (network(net) as Network<Float>).rng = SplitMix64(seed: seed) }
}

// MARK: - Double

@_cdecl("sp_network_create_f64")
public func sp_network_create_f64(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ sizes: UnsafePointer<Int>?, _ nSizes: Int, _ activations: UnsafePointer<Int32>?, _ loss: Int32) -> Int32 {
    create(Double.self, out, sizes, nSizes, activations, loss)
}
@_cdecl("sp_network_destroy_f64")
public func sp_network_destroy_f64(_ net: UnsafeMutableRawPointer?) { destroy(Double.self, net) }
@_cdecl("sp_network_params_f64")
public func sp_network_params_f64(_ net: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<Double>? { buffer(net, count, grads: false) }
@_cdecl("sp_network_grads_f64")
public func sp_network_grads_f64(_ net: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<Double>? { buffer(net, count, grads: true) }
@_cdecl("sp_network_offsets_f64")
public func sp_network_offsets_f64(_ net: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<Int>?, _ n: Int) -> Int32 { offsets(Double.self, net, out, n) }
@_cdecl("sp_forward_f64")
public func sp_forward_f64(_ net: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<Double>?, _ x: UnsafePointer<Double>?, _ batch: Int, _ nIn: Int, _ nOut: Int) -> Int32 {
    forward(net, out, x, batch, nIn, nOut)
}
@_cdecl("sp_backward_f64")
public func sp_backward_f64(_ net: UnsafeMutableRawPointer?, _ cost: UnsafeMutablePointer<Double>?, _ x: UnsafePointer<Double>?,
                          _ y: UnsafePointer<Double>?, _ labels: UnsafePointer<Int64>?, _ weights: UnsafePointer<Double>?,
                          _ batch: Int, _ nIn: Int, _ nOut: Int, _ grads: Int32, _ whole: Int32) -> Int32 {
    guard (y == nil) != (labels == nil) else { return Status.argument.rawValue }
    return backward(net, cost, x, dense: y, labels: labels, weights: weights, batch, nIn, nOut,
                    grads: grads != 0, wholeBatch: whole != 0)
}
@_cdecl("sp_workspace_copy_f64")
public func sp_workspace_copy_f64(_ net: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<Double>?, _ quantity: Int32, _ layer: Int, _ rows: Int, _ n: Int) -> Int32 {
    workspaceCopy(net, out, quantity, layer, rows, n)
}
@_cdecl("sp_all_finite_f64")
public func sp_all_finite_f64(_ x: UnsafePointer<Double>?, _ count: Int) -> Int32 { allFinite(x, count) }

@_cdecl("sp_optimizer_create_f64")
public func sp_optimizer_create_f64(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ net: UnsafeMutableRawPointer?, _ kind: Int32, _ hyper: UnsafePointer<Double>?) -> Int32 {
    optimizerCreate(Double.self, out, net, kind, hyper)
}
@_cdecl("sp_optimizer_destroy_f64")
public func sp_optimizer_destroy_f64(_ opt: UnsafeMutableRawPointer?) {
    if let opt { Unmanaged<Optimizer<Double>>.fromOpaque(opt).release() }
}
@_cdecl("sp_optimizer_set_f64")
public func sp_optimizer_set_f64(_ opt: UnsafeMutableRawPointer?, _ hyper: UnsafePointer<Double>?) -> Int32 {
    guard let opt, let hyper else { return Status.argument.rawValue }
    optimizerSet(optimizer(opt) as Optimizer<Double>, hyper)
    return Status.ok.rawValue
}
@_cdecl("sp_optimizer_state_f64")
public func sp_optimizer_state_f64(_ opt: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<Double>? {
    guard let opt else { return nil }
    let o: Optimizer<Double> = optimizer(opt)
    count?.pointee = o.stateCount
    return o.state
}
@_cdecl("sp_optimizer_steps_f64")
public func sp_optimizer_steps_f64(_ opt: UnsafeMutableRawPointer?, _ set: Int64) -> Int64 {
    guard let opt else { return -1 }
    let o: Optimizer<Double> = optimizer(opt)
    if set >= 0 { o.t = Int(set) }
    return Int64(o.t)
}
@_cdecl("sp_optimizer_step_f64")
public func sp_optimizer_step_f64(_ opt: UnsafeMutableRawPointer?, _ net: UnsafeMutableRawPointer?) -> Int32 {
    optimizerStep(Double.self, opt, net)
}
@_cdecl("sp_train_f64")
public func sp_train_f64(_ net: UnsafeMutableRawPointer?, _ opt: UnsafeMutableRawPointer?, _ lossSum: UnsafeMutablePointer<Double>?,
                          _ penaltySum: UnsafeMutablePointer<Double>?, _ done: UnsafeMutablePointer<Int>?, _ x: UnsafePointer<Double>?, _ y: UnsafePointer<Double>?,
                          _ labels: UnsafePointer<Int64>?, _ weights: UnsafePointer<Double>?, _ n: Int, _ nIn: Int, _ nOut: Int,
                          _ order: UnsafePointer<Int64>?, _ batchSize: Int, _ first: Int, _ count: Int, _ alpha: Double) -> Int32 {
    train(net, opt, lossSum, penaltySum, done, x, dense: y, labels: labels, weights, n, nIn, nOut, order, batchSize, first, count, alpha)
}

@_cdecl("sp_add_l2_f64")
public func sp_add_l2_f64(_ net: UnsafeMutableRawPointer?, _ penalty: UnsafeMutablePointer<Double>?, _ alpha: Double, _ norm: Double) -> Int32 {
    guard let net, let penalty, norm > 0, alpha >= 0 else { return Status.argument.rawValue }
    penalty.pointee = (network(net) as Network<Double>).addL2(alpha: Double(alpha), norm: norm)
    return Status.ok.rawValue
}

@_cdecl("sp_network_set_dropout_f64")
public func sp_network_set_dropout_f64(_ net: UnsafeMutableRawPointer?, _ rates: UnsafePointer<Double>?, _ n: Int) -> Int32 {
    guard let net, n >= 0, rates != nil || n == 0 else { return Status.argument.rawValue }
    let values = n == 0 ? [] : Array(UnsafeBufferPointer(start: rates, count: n))
    return ((network(net) as Network<Double>).setDropout(values) ? Status.ok : Status.argument).rawValue
}
@_cdecl("sp_network_seed_f64")
public func sp_network_seed_f64(_ net: UnsafeMutableRawPointer?, _ seed: UInt64) {
    if let net { (network(net) as Network<Double>).rng = SplitMix64(seed: seed) }
}

// MARK: - Threads

/// swiftprop's pool does the threading (Pool.swift); OpenBLAS itself always runs on one thread.
@_cdecl("sp_set_num_threads")
public func sp_set_num_threads(_ n: Int32) {
    scipy_openblas_set_num_threads(1)
    setThreadCount(Int(max(1, n)))
}
@_cdecl("sp_get_num_threads")
public func sp_get_num_threads() -> Int32 { Int32(threadCount()) }
@_cdecl("sp_blas_corename")
public func sp_blas_corename() -> UnsafePointer<CChar>? { UnsafePointer(scipy_openblas_get_corename()) }
