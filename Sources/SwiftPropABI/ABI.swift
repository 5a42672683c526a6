// The C ABI (declared in swiftprop.h): one @_cdecl function per operation, over handles that bind to
// Network<Float> or Network<Double> once. Each body is written once, generic over the scalar, and
// reaches only the core's Float/Double specialisations. Rules and their messages are the core's; this
// file checks only what C can get wrong (NULL pointers, codes of its own such as the dtype) and keeps
// the message of a failure for sp_last_error.
import _CBLAS
import _CSwiftProp
import Glibc
import SwiftProp

// MARK: - Handles

/// The element type of a handle (sp_dtype).
enum DType: Int32 {
    case float32 = 0, float64

    init(code: Int32) throws(CoreError) {
        guard let d = DType(rawValue: code) else {
            throw CoreError(.argument, "unknown dtype code \(code); expected 0 (float32) or 1 (float64)")
        }
        self = d
    }
}

/// A body run on a network of either precision (Swift has no generic closures: this is one).
protocol NetworkBody {
    associatedtype Result
    func callAsFunction<T: Scalar>(_ net: Network<T>) throws -> Result
}

/// A body run on a network and one of its optimizers, of the same precision.
protocol TrainingBody {
    associatedtype Result
    func callAsFunction<T: Scalar>(_ net: Network<T>, _ opt: Optimizer<T>) throws -> Result
}

/// What sp_network_create returns: a network of one dtype.
final class NetworkHandle {
    enum Typed { case float32(Network<Float>), float64(Network<Double>) }
    let typed: Typed

    init(_ typed: Typed) { self.typed = typed }

    var dtype: DType {
        switch typed {
        case .float32: .float32
        case .float64: .float64
        }
    }

    @inline(__always) func with<B: NetworkBody>(_ body: B) throws -> B.Result {
        switch typed {
        case .float32(let net): try body(net)
        case .float64(let net): try body(net)
        }
    }
}

/// What sp_optimizer_create returns: an optimizer of its network's dtype.
final class OptimizerHandle {
    enum Typed { case float32(Optimizer<Float>), float64(Optimizer<Double>) }
    let typed: Typed

    init(_ typed: Typed) { self.typed = typed }

    @inline(__always) func with<B: TrainingBody>(_ net: NetworkHandle, _ body: B) throws -> B.Result {
        switch (net.typed, typed) {
        case (.float32(let n), .float32(let o)): return try body(n, o)
        case (.float64(let n), .float64(let o)): return try body(n, o)
        default: throw CoreError(.argument, "the optimizer and the network have different dtypes")
        }
    }
}

@inline(__always) func network(_ p: UnsafeRawPointer?) throws -> NetworkHandle {
    guard let p else { throw CoreError(.argument, "net must not be NULL") }
    return Unmanaged<NetworkHandle>.fromOpaque(p).takeUnretainedValue()
}

@inline(__always) func optimizer(_ p: UnsafeRawPointer?) throws -> OptimizerHandle {
    guard let p else { throw CoreError(.argument, "opt must not be NULL") }
    return Unmanaged<OptimizerHandle>.fromOpaque(p).takeUnretainedValue()
}

@inline(__always) func required<P>(_ p: P?, _ name: String) throws -> P {
    guard let p else { throw CoreError(.argument, "\(name) must not be NULL") }
    return p
}

// MARK: - Status and the last error

/// Each thread's last message, a malloc'ed C string (freed when replaced or when the thread ends).
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

nonisolated(unsafe) private let emptyString: UnsafePointer<CChar> = UnsafePointer(strdup("")!)

func setLastError(_ message: String) {
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, message.withCString { strdup($0) })
}

/// Runs a body and returns its status, keeping the message of a failure.
@inline(__always) func run(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return Status.ok.rawValue
    } catch let e as CoreError {
        setLastError(e.message)
        return e.status.rawValue
    } catch {
        setLastError("\(error)")
        return Status.argument.rawValue
    }
}

@_cdecl("sp_last_error")
public func sp_last_error() -> UnsafePointer<CChar>? {
    pthread_getspecific(errorKey).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) } ?? emptyString
}

// MARK: - Names of the core's codes

private func cStrings(_ names: [String]) -> [UnsafePointer<CChar>] { names.map { UnsafePointer(strdup($0)!) } }
nonisolated(unsafe) private let activationNames = cStrings(Activation.allCases.map(\.name))
nonisolated(unsafe) private let lossNames = cStrings(Loss.allCases.map(\.name))
nonisolated(unsafe) private let optimizerNames = cStrings(OptimizerKind.allCases.map(\.name))

private func name(_ names: [UnsafePointer<CChar>], _ code: Int32) -> UnsafePointer<CChar>? {
    code >= 0 && Int(code) < names.count ? names[Int(code)] : nil
}

@_cdecl("sp_activation_name")
public func sp_activation_name(_ code: Int32) -> UnsafePointer<CChar>? { name(activationNames, code) }
@_cdecl("sp_loss_name")
public func sp_loss_name(_ code: Int32) -> UnsafePointer<CChar>? { name(lossNames, code) }
@_cdecl("sp_optimizer_name")
public func sp_optimizer_name(_ code: Int32) -> UnsafePointer<CChar>? { name(optimizerNames, code) }

// MARK: - Networks

/// An array argument of n values (n >= 0; NULL only when n == 0).
private func array<E>(_ p: UnsafePointer<E>?, _ n: Int, _ name: String) throws -> [E] {
    guard n >= 0 else { throw CoreError(.size, "\(name) count must be >= 0, got \(n)") }
    if n == 0 { return [] }
    return Array(UnsafeBufferPointer(start: try required(p, name), count: n))
}

@_cdecl("sp_network_create")
public func sp_network_create(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ dtype: Int32,
                              _ sizes: UnsafePointer<Int>?, _ nSizes: Int,
                              _ activations: UnsafePointer<Int32>?, _ nActivations: Int, _ loss: Int32) -> Int32 {
    run {
        let out = try required(out, "out")
        let type = try DType(code: dtype)
        let arch = try Architecture(sizes: try array(sizes, nSizes, "sizes"),
                                    activationCodes: try array(activations, nActivations, "activations"), lossCode: loss)
        let handle = switch type {
        case .float32: NetworkHandle(.float32(try Network<Float>.create(arch)))
        case .float64: NetworkHandle(.float64(try Network<Double>.create(arch)))
        }
        out.pointee = Unmanaged.passRetained(handle).toOpaque()
    }
}

@_cdecl("sp_network_destroy")
public func sp_network_destroy(_ net: UnsafeMutableRawPointer?) {
    if let net { Unmanaged<NetworkHandle>.fromOpaque(net).release() }
}

@_cdecl("sp_network_dtype")
public func sp_network_dtype(_ net: UnsafeRawPointer?) -> Int32 {
    (try? network(net))?.dtype.rawValue ?? -1
}

private struct Buffers: NetworkBody {
    let grads: Bool
    func callAsFunction<T: Scalar>(_ net: Network<T>) -> (UnsafeMutableRawPointer, Int) {
        (UnsafeMutableRawPointer(grads ? net.grads : net.params), net.layout.count)
    }
}

private func buffer(_ net: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?, grads: Bool) -> UnsafeMutableRawPointer? {
    guard let (p, n) = try? network(net).with(Buffers(grads: grads)) else { return nil }
    count?.pointee = n
    return p
}

@_cdecl("sp_network_params")
public func sp_network_params(_ net: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutableRawPointer? {
    buffer(net, count, grads: false)
}
@_cdecl("sp_network_grads")
public func sp_network_grads(_ net: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutableRawPointer? {
    buffer(net, count, grads: true)
}

@_cdecl("sp_network_offsets")
public func sp_network_offsets(_ net: UnsafeRawPointer?, _ out: UnsafeMutablePointer<Int>?, _ n: Int) -> Int32 {
    struct Body: NetworkBody {
        let out: UnsafeMutablePointer<Int>, n: Int
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws {
            guard n == 2 * net.layerCount else {
                throw CoreError(.size, "offsets needs 2 * n_layers = \(2 * net.layerCount) entries, got \(n)")
            }
            for i in 0..<net.layerCount {
                out[2 * i] = net.layout.weightOffsets[i]
                out[2 * i + 1] = net.layout.biasOffsets[i]
            }
        }
    }
    return run { try network(net).with(Body(out: try required(out, "offsets"), n: n)) }
}

@_cdecl("sp_network_set_dropout")
public func sp_network_set_dropout(_ net: UnsafeMutableRawPointer?, _ rates: UnsafePointer<Double>?, _ n: Int) -> Int32 {
    struct Body: NetworkBody {
        let rates: [Double]
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws { try net.setDropout(rates) }
    }
    return run { try network(net).with(Body(rates: try array(rates, n, "rates"))) }
}

@_cdecl("sp_network_seed")
public func sp_network_seed(_ net: UnsafeMutableRawPointer?, _ seed: UInt64) {
    struct Body: NetworkBody {
        let seed: UInt64
        func callAsFunction<T: Scalar>(_ net: Network<T>) { net.rng = SplitMix64(seed: seed) }
    }
    try? network(net).with(Body(seed: seed))
}

// MARK: - Passes

/// A batch's input as T: dense rows, or a CSR matrix with its lengths (checked by `checked`).
private func input<T: Scalar>(_ b: sp_batch) throws -> (Input<T>, SparseShape?) {
    switch (b.x, b.csr) {
    case (let x?, nil): return (.dense(x.assumingMemoryBound(to: T.self)), nil)
    case (nil, let c?):
        let csr = c.pointee
        let values = try required(csr.data, "csr.data").assumingMemoryBound(to: T.self)
        let indices = try required(csr.indices, "csr.indices"), indptr = try required(csr.indptr, "csr.indptr")
        let shape = SparseShape(nnz: csr.nnz, nIndptr: csr.n_indptr, cols: csr.n_cols)
        switch csr.index_type {
        case Int32(SP_INDEX_INT32.rawValue):
            return (.csr32(CSR(values: values, indices: indices.assumingMemoryBound(to: Int32.self),
                               indptr: indptr.assumingMemoryBound(to: Int32.self))), shape)
        case Int32(SP_INDEX_INT64.rawValue):
            return (.csr64(CSR(values: values, indices: indices.assumingMemoryBound(to: Int64.self),
                               indptr: indptr.assumingMemoryBound(to: Int64.self))), shape)
        default:
            throw CoreError(.argument, "unknown index type code \(csr.index_type); expected 0 (int32) or 1 (int64)")
        }
    default: throw CoreError(.argument, "a batch needs exactly one of x and csr")
    }
}

/// The batch's input, target (nil when it has neither y nor labels) and weights as T.
private func data<T: Scalar>(_ b: sp_batch) throws -> (Input<T>, SparseShape?, Target<T>?, UnsafePointer<T>?) {
    let (x, shape): (Input<T>, SparseShape?) = try input(b)
    let y: Target<T>?
    switch (b.y, b.labels) {
    case (let dense?, nil): y = .dense(dense.assumingMemoryBound(to: T.self))
    case (nil, let labels?): y = .labels(labels)
    case (nil, nil): y = nil
    default: throw CoreError(.argument, "a batch needs exactly one of y and labels")
    }
    return (x, shape, y, b.weights?.assumingMemoryBound(to: T.self))
}

/// The batch's input, target and weights as T, after the core's checks of them (target required
/// unless `inputOnly`).
private func checked<T: Scalar>(_ net: Network<T>, _ b: sp_batch, inputOnly: Bool = false) throws
    -> (Input<T>, Target<T>?, UnsafePointer<T>?) {
    let (x, shape, y, weights): (Input<T>, SparseShape?, Target<T>?, UnsafePointer<T>?) = try data(b)
    try net.checkRows(b.rows)
    try net.checkInput(x, rows: b.rows, sparse: shape)
    if let y {
        try net.check(y, weights: weights, rows: b.rows)
    } else if !inputOnly {
        throw CoreError(.argument, "a batch needs exactly one of y and labels")
    }
    return (x, y, weights)
}

@_cdecl("sp_forward")
public func sp_forward(_ net: UnsafeMutableRawPointer?, _ out: UnsafeMutableRawPointer?,
                       _ batch: UnsafePointer<sp_batch>?) -> Int32 {
    struct Body: NetworkBody {
        let out: UnsafeMutableRawPointer, batch: sp_batch
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws {
            let (x, _, _): (Input<T>, Target<T>?, UnsafePointer<T>?) = try checked(net, batch, inputOnly: true)
            guard net.forward(out.assumingMemoryBound(to: T.self), x, batch: batch.rows) else {
                throw CoreError(.memory, "could not allocate the workspace for \(batch.rows) rows")
            }
        }
    }
    return run {
        try network(net).with(Body(out: try required(out, "out"), batch: try required(batch, "batch").pointee))
    }
}

@_cdecl("sp_check")
public func sp_check(_ net: UnsafeRawPointer?, _ batch: UnsafePointer<sp_batch>?) -> Int32 {
    struct Body: NetworkBody {
        let batch: sp_batch
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws {
            let _: (Input<T>, Target<T>?, UnsafePointer<T>?) = try checked(net, batch, inputOnly: true)
        }
    }
    return run { try network(net).with(Body(batch: try required(batch, "batch").pointee)) }
}

@_cdecl("sp_backward")
public func sp_backward(_ net: UnsafeMutableRawPointer?, _ cost: UnsafeMutablePointer<Double>?,
                        _ batch: UnsafePointer<sp_batch>?, _ pass: Int32) -> Int32 {
    struct Body: NetworkBody {
        let cost: UnsafeMutablePointer<Double>, batch: sp_batch, pass: Int32
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws {
            guard (0...3).contains(pass) else {
                throw CoreError(.argument, "unknown pass code \(pass); expected 0 (cost), 1 (backward), 2 (trace) "
                                + "or 3 (accumulate)")
            }
            let (x, target, w): (Input<T>, Target<T>?, UnsafePointer<T>?) = try checked(net, batch)
            let y = target!, rows = batch.rows
            let value = pass == 0 ? net.cost(x, y, weights: w, batch: rows)
                                  : net.backward(x, y, weights: w, batch: rows, wholeBatch: pass == 2,
                                                 accumulate: pass == 3)
            guard let value else { throw CoreError(.memory, "could not allocate the workspace for \(rows) rows") }
            cost.pointee = value
        }
    }
    return run {
        try network(net).with(Body(cost: try required(cost, "cost"), batch: try required(batch, "batch").pointee, pass: pass))
    }
}

@_cdecl("sp_workspace_copy")
public func sp_workspace_copy(_ net: UnsafeRawPointer?, _ out: UnsafeMutableRawPointer?, _ quantity: Int32,
                              _ layer: Int, _ rows: Int) -> Int32 {
    struct Body: NetworkBody {
        let out: UnsafeMutableRawPointer, quantity: Int32, layer: Int, rows: Int
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws {
            try net.copyWorkspace(out.assumingMemoryBound(to: T.self), quantity: quantity, layer: layer, rows: rows)
        }
    }
    return run {
        try network(net).with(Body(out: try required(out, "out"), quantity: quantity, layer: layer, rows: rows))
    }
}

@_cdecl("sp_all_finite")
public func sp_all_finite(_ dtype: Int32, _ x: UnsafeRawPointer?, _ count: Int) -> Int32 {
    guard let x, count >= 0, let type = DType(rawValue: dtype) else { return 0 }
    let finite = switch type {
    case .float32: allFinite(x.assumingMemoryBound(to: Float.self), count: count)
    case .float64: allFinite(x.assumingMemoryBound(to: Double.self), count: count)
    }
    return finite ? 1 : 0
}

@_cdecl("sp_add_l2")
public func sp_add_l2(_ net: UnsafeMutableRawPointer?, _ penalty: UnsafeMutablePointer<Double>?, _ alpha: Double, _ norm: Double) -> Int32 {
    struct Body: NetworkBody {
        let penalty: UnsafeMutablePointer<Double>, alpha: Double, norm: Double
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws {
            try Network<T>.checkL2(alpha: alpha, norm: norm)
            penalty.pointee = net.addL2(alpha: T(alpha), norm: T(norm))
        }
    }
    return run { try network(net).with(Body(penalty: try required(penalty, "penalty"), alpha: alpha, norm: norm)) }
}

// MARK: - Optimizers and training

private func hyper(_ h: sp_hyper) -> OptimizerHyper {
    OptimizerHyper(lr: h.lr, momentum: h.momentum, nesterov: h.nesterov != 0, weightDecay: h.weight_decay,
                   beta1: h.beta1, beta2: h.beta2, eps: h.eps, alpha: h.alpha, clipNorm: h.clip_norm)
}

@_cdecl("sp_optimizer_create")
public func sp_optimizer_create(_ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ net: UnsafeMutableRawPointer?,
                                _ kind: Int32, _ h: UnsafePointer<sp_hyper>?) -> Int32 {
    struct Body: NetworkBody {
        let kind: OptimizerKind, hyper: OptimizerHyper
        func callAsFunction<T: Scalar>(_ net: Network<T>) throws -> OptimizerHandle {
            guard let opt = Optimizer<T>(kind: kind, count: net.layout.count, hyper: hyper) else {
                throw CoreError(.memory, "could not allocate the optimizer's state for \(net.layout.count) parameters")
            }
            if let o = opt as? Optimizer<Float> { return OptimizerHandle(.float32(o)) }
            return OptimizerHandle(.float64(opt as! Optimizer<Double>))
        }
    }
    return run {
        let out = try required(out, "out"), handle = try network(net)
        let body = Body(kind: try OptimizerKind(code: kind), hyper: hyper(try required(h, "hyper").pointee))
        let opt = try handle.with(body)
        out.pointee = Unmanaged.passRetained(opt).toOpaque()
    }
}

@_cdecl("sp_optimizer_destroy")
public func sp_optimizer_destroy(_ opt: UnsafeMutableRawPointer?) {
    if let opt { Unmanaged<OptimizerHandle>.fromOpaque(opt).release() }
}

@_cdecl("sp_optimizer_set")
public func sp_optimizer_set(_ opt: UnsafeMutableRawPointer?, _ h: UnsafePointer<sp_hyper>?) -> Int32 {
    run {
        let o = try optimizer(opt), values = hyper(try required(h, "hyper").pointee)
        switch o.typed {
        case .float32(let o): o.set(values)
        case .float64(let o): o.set(values)
        }
    }
}

@_cdecl("sp_optimizer_state")
public func sp_optimizer_state(_ opt: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> UnsafeMutableRawPointer? {
    guard let o = try? optimizer(opt) else { return nil }
    switch o.typed {
    case .float32(let o): count?.pointee = o.stateCount; return UnsafeMutableRawPointer(o.state)
    case .float64(let o): count?.pointee = o.stateCount; return UnsafeMutableRawPointer(o.state)
    }
}

@_cdecl("sp_optimizer_steps")
public func sp_optimizer_steps(_ opt: UnsafeRawPointer?) -> Int64 {
    guard let o = try? optimizer(opt) else { return -1 }
    switch o.typed {
    case .float32(let o): return Int64(o.t)
    case .float64(let o): return Int64(o.t)
    }
}

@_cdecl("sp_optimizer_set_steps")
public func sp_optimizer_set_steps(_ opt: UnsafeMutableRawPointer?, _ t: Int64) -> Int32 {
    run {
        switch try optimizer(opt).typed {
        case .float32(let o): try o.setSteps(t)
        case .float64(let o): try o.setSteps(t)
        }
    }
}

@_cdecl("sp_optimizer_step")
public func sp_optimizer_step(_ opt: UnsafeMutableRawPointer?, _ net: UnsafeMutableRawPointer?) -> Int32 {
    struct Body: TrainingBody {
        func callAsFunction<T: Scalar>(_ net: Network<T>, _ opt: Optimizer<T>) throws { try opt.step(net) }
    }
    return run { try optimizer(opt).with(try network(net), Body()) }
}

@_cdecl("sp_train")
public func sp_train(_ net: UnsafeMutableRawPointer?, _ opt: UnsafeMutableRawPointer?, _ batch: UnsafePointer<sp_batch>?,
                     _ epoch: UnsafePointer<sp_epoch>?, _ progress: UnsafeMutablePointer<sp_progress>?) -> Int32 {
    struct Body: TrainingBody {
        let batch: sp_batch, epoch: sp_epoch, progress: UnsafeMutablePointer<sp_progress>
        func callAsFunction<T: Scalar>(_ net: Network<T>, _ opt: Optimizer<T>) throws {
            let (x, shape, target, w): (Input<T>, SparseShape?, Target<T>?, UnsafePointer<T>?) = try data(batch)
            guard let y = target else { throw CoreError(.argument, "a batch needs exactly one of y and labels") }
            try net.checkRows(batch.rows)
            try net.checkInput(x, rows: batch.rows, sparse: shape)  // O(rows + nnz): small beside an epoch slice
            let p = progress
            p.pointee.next = epoch.first
            p.pointee.batches = Network<T>.batchCount(n: batch.rows, batchSize: epoch.batch_size)
            // the core checks labels, weights and order batch by batch, before each step
            try net.train(x, y, weights: w, n: batch.rows,
                          order: epoch.order, batchSize: epoch.batch_size, first: epoch.first, seconds: epoch.seconds,
                          optimizer: opt, alpha: T(epoch.alpha), lossSum: &p.pointee.loss_sum,
                          penaltySum: &p.pointee.penalty_sum, next: &p.pointee.next)
        }
    }
    return run {
        let body = Body(batch: try required(batch, "batch").pointee, epoch: try required(epoch, "epoch").pointee,
                        progress: try required(progress, "progress"))
        try optimizer(opt).with(try network(net), body)
    }
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
