import _CSwiftProp
import Glibc
@testable import SwiftProp
import Testing
import SwiftPropABI

// The C ABI itself, called from Swift as C calls it: every status with the message sp_last_error
// gives, and the header's enums against the core's. (The header's declarations and the @_cdecl
// functions share names: calls are qualified with SwiftPropABI.)

func code(_ s: sp_status) -> Int32 { Int32(s.rawValue) }

func lastError() -> String { SwiftPropABI.sp_last_error().map { String(cString: $0) } ?? "<NULL>" }

/// The sp_dtype of T.
func dtype<T: Scalar>(_: T.Type) -> Int32 { T.self == Float.self ? Int32(SP_FLOAT32.rawValue) : Int32(SP_FLOAT64.rawValue) }

/// sp_network_create's status and handle.
func createNetwork(_ dtype: Int32, _ sizes: [Int], _ acts: [Int32], _ loss: Int32) -> (Int32, UnsafeMutableRawPointer?) {
    var handle: UnsafeMutableRawPointer? = nil
    let status = sizes.withUnsafeBufferPointer { s in
        acts.withUnsafeBufferPointer { a in
            SwiftPropABI.sp_network_create(&handle, dtype, s.baseAddress, sizes.count, a.baseAddress, acts.count, loss)
        }
    }
    return (status, handle)
}

/// Expects a call to fail with `status` and `message`.
func expectFailure(_ status: sp_status, _ message: String, sourceLocation: SourceLocation = #_sourceLocation,
                   _ call: () -> Int32) {
    let got = call()
    #expect(got == code(status), "status", sourceLocation: sourceLocation)
    #expect(lastError() == message, sourceLocation: sourceLocation)
}

@Test("the header's enum values are the core's, and the name functions give the core's names")
func headerEnumsMatchTheCore() {
    let activations: [(sp_activation, Activation)] = [
        (SP_IDENTITY, .identity), (SP_SIGMOID, .sigmoid), (SP_TANH, .tanh), (SP_RELU, .relu),
        (SP_LEAKY_RELU, .leakyRelu), (SP_ELU, .elu), (SP_SOFTPLUS, .softplus), (SP_GELU, .gelu), (SP_SOFTMAX, .softmax),
        (SP_EXP, .exp),
    ]
    #expect(activations.count == Activation.allCases.count)
    for (c, f) in activations { #expect(Int32(c.rawValue) == f.rawValue, "\(f)") }
    let losses: [(sp_loss, Loss)] = [(SP_MSE, .mse), (SP_CROSS_ENTROPY, .crossEntropy), (SP_BINARY_CROSS_ENTROPY, .binaryCrossEntropy),
                                   (SP_POISSON, .poisson)]
    #expect(losses.count == Loss.allCases.count)
    for (c, l) in losses { #expect(Int32(c.rawValue) == l.rawValue, "\(l)") }
    let kinds: [(sp_optimizer_kind, OptimizerKind)] = [(SP_SGD, .sgd), (SP_ADAM, .adam), (SP_ADAMW, .adamW), (SP_RMSPROP, .rmsprop)]
    #expect(kinds.count == OptimizerKind.allCases.count)
    for (c, k) in kinds { #expect(Int32(c.rawValue) == k.rawValue, "\(k)") }
    let statuses: [(sp_status, Status)] = [
        (SP_OK, .ok), (SP_ERR_SIZE, .size), (SP_ERR_ARG, .argument), (SP_ERR_LABEL, .label), (SP_ERR_MEMORY, .memory),
        (SP_ERR_ARCH, .architecture), (SP_ERR_TARGET, .target), (SP_ERR_NONFINITE, .nonFinite),
    ]
    #expect(statuses.count == Status.allCases.count)
    for (c, s) in statuses { #expect(code(c) == s.rawValue, "\(s)") }
    let quantities: [(sp_quantity, Network<Double>.Quantity)] = [(SP_S_IN, .sIn), (SP_S_OUT, .sOut), (SP_DELTA, .delta)]
    for (c, q) in quantities { #expect(Int32(c.rawValue) == q.rawValue, "\(q)") }

    // the names the extension builds its tables from, NULL past the last code
    func names(_ f: (Int32) -> UnsafePointer<CChar>?) -> [String] {
        var out: [String] = [], c: Int32 = 0
        while let p = f(c) { out.append(String(cString: p)); c += 1 }
        #expect(f(-1) == nil)
        return out
    }
    #expect(names(SwiftPropABI.sp_activation_name) == ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                                        "softplus", "gelu", "softmax", "exp"])
    #expect(names(SwiftPropABI.sp_activation_name) == Activation.allCases.map(\.name))
    #expect(names(SwiftPropABI.sp_loss_name) == ["mse", "cross_entropy", "binary_cross_entropy", "poisson"])
    #expect(names(SwiftPropABI.sp_optimizer_name) == ["sgd", "adam", "adamw", "rmsprop"])
}

@Test("sp_network_create: each refused architecture's status and message", arguments: scalarTypes)
func abiCreateStatuses(type: any Scalar.Type) { checkABICreate(type) }

func checkABICreate<T: Scalar>(_ t: T.Type) {
    let d = dtype(t), relu = Int32(SP_RELU.rawValue), mse = Int32(SP_MSE.rawValue), ce = Int32(SP_CROSS_ENTROPY.rawValue)
    expectFailure(SP_ERR_SIZE, "sizes must have at least 2 entries (inputs and outputs), got 1") { createNetwork(d, [3], [], mse).0 }
    expectFailure(SP_ERR_SIZE, "sizes[1] must be >= 1, got 0") { createNetwork(d, [3, 0, 2], [relu, relu], mse).0 }
    expectFailure(SP_ERR_SIZE, "sizes[0] must be <= 2147483647, got 4294967296") { createNetwork(d, [1 << 32, 2], [relu], mse).0 }
    expectFailure(SP_ERR_SIZE, "activations must have 2 entries (one per layer), got 1") { createNetwork(d, [3, 4, 2], [relu], mse).0 }
    expectFailure(SP_ERR_ARG, "activations[1] has unknown code 99; expected 0 (identity) to 9 (exp)") {
        createNetwork(d, [3, 4, 2], [relu, 99], mse).0
    }
    expectFailure(SP_ERR_ARG, "unknown loss code 7; expected 0 (mse) to 3 (poisson)") {
        createNetwork(d, [3, 2], [relu], 7).0
    }
    expectFailure(SP_ERR_ARG, "unknown dtype code 5; expected 0 (float32) or 1 (float64)") { createNetwork(5, [3, 2], [relu], mse).0 }
    expectFailure(SP_ERR_ARCH, "softmax is only allowed on the last layer") {
        createNetwork(d, [3, 4, 2], [Int32(SP_SOFTMAX.rawValue), Int32(SP_SOFTMAX.rawValue)], ce).0
    }
    expectFailure(SP_ERR_ARCH, "loss='cross_entropy' needs a softmax output layer, got activations[-1]='sigmoid'") {
        createNetwork(d, [3, 2], [Int32(SP_SIGMOID.rawValue)], ce).0
    }
    expectFailure(SP_ERR_ARCH, "loss='binary_cross_entropy' needs a sigmoid output layer, got activations[-1]='relu'") {
        createNetwork(d, [3, 2], [relu], Int32(SP_BINARY_CROSS_ENTROPY.rawValue)).0
    }
    expectFailure(SP_ERR_MEMORY, "could not allocate 1099512676352 parameters and their gradients") {
        createNetwork(d, [1 << 20, 1 << 20], [relu], mse).0
    }
    expectFailure(SP_ERR_ARG, "out must not be NULL") {
        [3, 2].withUnsafeBufferPointer { s in
            [relu].withUnsafeBufferPointer { a in SwiftPropABI.sp_network_create(nil, d, s.baseAddress, 2, a.baseAddress, 1, mse) }
        }
    }
    var unused: UnsafeMutableRawPointer? = nil
    expectFailure(SP_ERR_ARG, "sizes must not be NULL") { SwiftPropABI.sp_network_create(&unused, d, nil, 2, nil, 1, mse) }
    let (ok, net) = createNetwork(d, [3, 4, 2], [relu, Int32(SP_IDENTITY.rawValue)], mse)
    #expect(ok == code(SP_OK) && net != nil)
    #expect(SwiftPropABI.sp_network_dtype(net) == d)
    #expect(SwiftPropABI.sp_network_dtype(nil) == -1)
    SwiftPropABI.sp_network_destroy(net)
}

@Test("batches, dropout, optimizers: statuses and messages of the C calls", arguments: scalarTypes)
func abiCallStatuses(type: any Scalar.Type) { checkABICalls(type) }

func checkABICalls<T: Scalar>(_ t: T.Type) {
    let d = dtype(t)
    let (_, ce) = createNetwork(d, [2, 4, 3], [Int32(SP_TANH.rawValue), Int32(SP_SOFTMAX.rawValue)], Int32(SP_CROSS_ENTROPY.rawValue))
    let (_, mse) = createNetwork(d, [2, 3], [Int32(SP_IDENTITY.rawValue)], Int32(SP_MSE.rawValue))
    defer { SwiftPropABI.sp_network_destroy(ce); SwiftPropABI.sp_network_destroy(mse) }
    let x = allocate(repeating: T(0.5), count: 8), y = allocate(repeating: T(0.25), count: 12)
    let w = allocate([T(1), T(-1), T(1), T(1)]), zero = allocate(repeating: T(0), count: 4)
    let good = allocate([Int64(0), 2, 1, 0]), high = allocate([Int64(0), 5, 3, 1]), low = allocate([Int64(0), -2, 7, 1])
    defer { [x, y, w, zero].forEach { $0.deallocate() }; [good, high, low].forEach { $0.deallocate() } }
    func batch(y: UnsafePointer<T>? = nil, labels: UnsafePointer<Int64>? = nil, weights: UnsafePointer<T>? = nil,
               rows: Int = 4) -> sp_batch {
        sp_batch(x: UnsafeRawPointer(x), y: y.map { UnsafeRawPointer($0) }, labels: labels,
                 weights: weights.map { UnsafeRawPointer($0) }, rows: rows, csr: nil)
    }
    var cost = 0.0
    func backward(_ net: UnsafeMutableRawPointer?, _ b: sp_batch, pass: Int32 = Int32(SP_PASS_BACKWARD.rawValue)) -> Int32 {
        var b = b
        return SwiftPropABI.sp_backward(net, &cost, &b, pass)
    }
    func check(_ net: UnsafeMutableRawPointer?, _ b: sp_batch) -> Int32 {
        var b = b
        return SwiftPropABI.sp_check(net, &b)
    }

    #expect(backward(ce, batch(labels: good)) == code(SP_OK) && cost.isFinite)
    #expect(check(ce, batch(labels: good)) == code(SP_OK))
    // labels: range (the lowest if negative, else the highest), only with cross-entropy
    expectFailure(SP_ERR_LABEL, "contains label 5; labels must be in [0, 3) for 3 outputs") { check(ce, batch(labels: high)) }
    expectFailure(SP_ERR_LABEL, "contains label -2; labels must be in [0, 3) for 3 outputs") { backward(ce, batch(labels: low)) }
    expectFailure(SP_ERR_TARGET, "integer labels are only accepted with loss='cross_entropy', got loss='mse'") {
        check(mse, batch(labels: good))
    }
    expectFailure(SP_ERR_ARG, "a batch needs exactly one of y and labels") { check(ce, batch(y: y, labels: good)) }
    expectFailure(SP_ERR_ARG, "a batch needs exactly one of y and labels") { backward(ce, batch()) }
    #expect(check(ce, batch()) == code(SP_OK))  // no target: the input's checks alone
    // sample weights
    let weightMessage = "sample_weight must be finite, >= 0, with a positive sum"
    expectFailure(SP_ERR_ARG, weightMessage) { check(ce, batch(labels: good, weights: w)) }
    expectFailure(SP_ERR_ARG, weightMessage) { backward(mse, batch(y: y, weights: zero)) }
    // rows, pass, NULLs
    expectFailure(SP_ERR_SIZE, "a batch needs at least 1 row, got 0") { check(mse, batch(y: y, rows: 0)) }
    expectFailure(SP_ERR_ARG, "unknown pass code 4; expected 0 (cost), 1 (backward), 2 (trace) or 3 (accumulate)") { backward(mse, batch(y: y), pass: 4) }
    expectFailure(SP_ERR_ARG, "net must not be NULL") { backward(nil, batch(y: y)) }
    expectFailure(SP_ERR_ARG, "batch must not be NULL") { SwiftPropABI.sp_check(mse, nil) }
    expectFailure(SP_ERR_ARG, "out must not be NULL") { var b = batch(); return SwiftPropABI.sp_forward(mse, nil, &b) }
    // workspace copies after a trace
    #expect(backward(mse, batch(y: y), pass: Int32(SP_PASS_TRACE.rawValue)) == code(SP_OK))
    let out = allocate(repeating: T(0), count: 12)
    defer { out.deallocate() }
    #expect(SwiftPropABI.sp_workspace_copy(mse, out, Int32(SP_S_OUT.rawValue), 0, 4) == code(SP_OK))
    expectFailure(SP_ERR_ARG, "unknown quantity code 9; expected 0 (S_in), 1 (S_out) or 2 (delta)") {
        SwiftPropABI.sp_workspace_copy(mse, out, 9, 0, 4)
    }
    expectFailure(SP_ERR_ARG, "layer 1 is not in [0, 1)") { SwiftPropABI.sp_workspace_copy(mse, out, 0, 1, 4) }
    expectFailure(SP_ERR_SIZE, "rows 5 is not in [1, 4], the rows of the last backward") { SwiftPropABI.sp_workspace_copy(mse, out, 0, 0, 5) }

    // dropout: one rate per hidden layer, each in [0, 1)
    expectFailure(SP_ERR_ARG, "dropout needs 1 rates (one per hidden layer), got 2") {
        [0.1, 0.2].withUnsafeBufferPointer { SwiftPropABI.sp_network_set_dropout(ce, $0.baseAddress, 2) }
    }
    expectFailure(SP_ERR_ARG, "dropout rates must be in [0, 1), got 1.5") {
        [1.5].withUnsafeBufferPointer { SwiftPropABI.sp_network_set_dropout(ce, $0.baseAddress, 1) }
    }
    expectFailure(SP_ERR_ARG, "dropout rates must be in [0, 1), got -0.1") {
        [-0.1].withUnsafeBufferPointer { SwiftPropABI.sp_network_set_dropout(ce, $0.baseAddress, 1) }
    }
    #expect([0.5].withUnsafeBufferPointer { SwiftPropABI.sp_network_set_dropout(ce, $0.baseAddress, 1) } == code(SP_OK))
    expectFailure(SP_ERR_ARG, "add_l2 needs a finite alpha >= 0 and a finite norm > 0, got alpha=-1.0, norm=1.0") {
        SwiftPropABI.sp_add_l2(ce, &cost, -1, 1)
    }

    // optimizers
    var hyper = sp_hyper(lr: 0.1, momentum: 0, nesterov: 0, weight_decay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8,
                         alpha: 0.99, clip_norm: 0)
    var opt: UnsafeMutableRawPointer? = nil
    expectFailure(SP_ERR_ARG, "unknown optimizer kind 7; expected 0 (sgd), 1 (adam), 2 (adamw) or 3 (rmsprop)") {
        SwiftPropABI.sp_optimizer_create(&opt, mse, 7, &hyper)
    }
    expectFailure(SP_ERR_ARG, "hyper must not be NULL") { SwiftPropABI.sp_optimizer_create(&opt, mse, 0, nil) }
    #expect(SwiftPropABI.sp_optimizer_create(&opt, mse, Int32(SP_ADAM.rawValue), &hyper) == code(SP_OK))
    defer { SwiftPropABI.sp_optimizer_destroy(opt) }
    expectFailure(SP_ERR_ARG, "t must be between 0 and 2**53, got -1") { SwiftPropABI.sp_optimizer_set_steps(opt, -1) }
    #expect(SwiftPropABI.sp_optimizer_set_steps(opt, 4) == code(SP_OK) && SwiftPropABI.sp_optimizer_steps(opt) == 4)
    expectFailure(SP_ERR_SIZE, "the optimizer has 9 parameters, the network 27") { SwiftPropABI.sp_optimizer_step(opt, ce) }
    var count = 0
    let grads = SwiftPropABI.sp_network_grads(mse, &count)!.assumingMemoryBound(to: T.self)
    grads[0] = T.infinity
    expectFailure(SP_ERR_NONFINITE, "the update would make a parameter NaN or infinite (a NaN or infinite gradient, "
                  + "or too large a step); nothing was changed") { SwiftPropABI.sp_optimizer_step(opt, mse) }
    #expect(SwiftPropABI.sp_optimizer_steps(opt) == 4)

    // train: batch_size, first, order range, and NaN at a batch with its index
    var epoch = sp_epoch(order: nil, batch_size: 5, first: 0, alpha: 0, seconds: 0)
    var progress = sp_progress(loss_sum: 0, penalty_sum: 0, next: 0, batches: 0)
    var b = batch(y: y)
    expectFailure(SP_ERR_SIZE, "batch_size must be in [1, 4], got 5") { SwiftPropABI.sp_train(mse, opt, &b, &epoch, &progress) }
    epoch.batch_size = 2; epoch.first = 3
    expectFailure(SP_ERR_ARG, "first batch 3 is not in [0, 2]") { SwiftPropABI.sp_train(mse, opt, &b, &epoch, &progress) }
    let order = allocate([Int64(1), 0, 4, 2])
    defer { order.deallocate() }
    epoch.first = 0; epoch.order = UnsafePointer(order)
    grads[0] = 0
    expectFailure(SP_ERR_ARG, "order contains index 4; indices must be in [0, 4)") { SwiftPropABI.sp_train(mse, opt, &b, &epoch, &progress) }
    #expect(progress.next == 1 && progress.batches == 2)  // the first batch was trained
    var params = 0
    let p = SwiftPropABI.sp_network_params(mse, &params)!.assumingMemoryBound(to: T.self)
    #expect(params == 9)
    epoch.order = nil; epoch.first = 0
    p[0] = T.greatestFiniteMagnitude
    let before = (0..<params).map { p[$0] }
    expectFailure(SP_ERR_NONFINITE, "the loss or a gradient became NaN or infinite") { SwiftPropABI.sp_train(mse, opt, &b, &epoch, &progress) }
    #expect(progress.next == 0 && (0..<params).map { p[$0] } == before)  // batch 0 failed, nothing changed
    expectFailure(SP_ERR_ARG, "the optimizer and the network have different dtypes") {
        let other = d == 0 ? Int32(1) : Int32(0)
        let (_, n2) = createNetwork(other, [2, 3], [0], 0)
        defer { SwiftPropABI.sp_network_destroy(n2) }
        return SwiftPropABI.sp_optimizer_step(opt, n2)
    }
}

@Test("sp_last_error is per thread")
func lastErrorPerThread() {
    _ = createNetwork(0, [3], [], 0)
    #expect(lastError() == "sizes must have at least 2 entries (inputs and outputs), got 1")
    var thread = pthread_t()
    final class Box: @unchecked Sendable { var message = "" }
    let box = Box()
    let unmanaged = Unmanaged.passRetained(box)
    pthread_create(&thread, nil, { arg in
        let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
        box.message = String(cString: SwiftPropABI.sp_last_error()!)
        return nil
    }, unmanaged.toOpaque())
    pthread_join(thread, nil)
    #expect(box.message == "")
    #expect(lastError() == "sizes must have at least 2 entries (inputs and outputs), got 1")
}

@Test("values in messages print as Python's repr prints them", arguments: [
    (1.5, "1.5"), (-0.1, "-0.1"), (1.0, "1.0"), (1e-05, "1e-05"), (0.0001, "0.0001"), (1e16, "1e+16"),
    (1e15, "1000000000000000.0"), (123456789012345678.0, "1.2345678901234568e+17"), (2.5e-07, "2.5e-07"),
    (Double.nan, "nan"), (Double.infinity, "inf"), (-Double.infinity, "-inf"), (0.1 + 0.2, "0.30000000000000004"),
    (5e-324, "5e-324"),
])
func messagesUsePythonRepr(value: Double, repr: String) {
    #expect(pythonRepr(value) == repr)
}
