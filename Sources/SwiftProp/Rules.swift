/// The core's rules on architectures and values, each written once with its message: the C ABI
/// hands the message on (sp_last_error) and the Python extension raises it, so no layer above
/// repeats a rule or rewords it.

/// What went wrong; the raw values are the C ABI's status codes (sp_status in swiftprop.h).
public enum Status: Int32, Sendable, CaseIterable {
    case ok = 0
    /// A size or shape does not match the network, or overflows.
    case size
    /// An unknown code, a bad index or a value out of its range.
    case argument
    /// A class label outside [0, n_outputs).
    case label
    case memory
    /// softmax before the last layer, or a loss without its output activation.
    case architecture
    /// Labels given for a loss other than cross-entropy.
    case target
    /// A NaN/Inf loss, gradient or updated parameter; nothing was changed.
    case nonFinite
}

/// A refused call: its status and the message a user reads.
public struct CoreError: Error, Equatable, Sendable {
    public let status: Status
    public let message: String

    public init(_ status: Status, _ message: String) {
        self.status = status; self.message = message
    }
}

/// The largest dimension BLAS takes (its ints are 32-bit).
public let maxDimension = Int(Int32.max)

extension Activation {
    /// The name Python uses for this activation.
    public var name: String {
        switch self {
        case .identity: "identity"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .relu: "relu"
        case .leakyRelu: "leaky_relu"
        case .elu: "elu"
        case .softplus: "softplus"
        case .gelu: "gelu"
        case .softmax: "softmax"
        case .exp: "exp"
        }
    }
}

extension Loss {
    public var name: String {
        switch self {
        case .mse: "mse"
        case .crossEntropy: "cross_entropy"
        case .binaryCrossEntropy: "binary_cross_entropy"
        case .poisson: "poisson"
        }
    }

    /// The output activation this loss needs, if it needs one.
    public var output: Activation? {
        switch self {
        case .mse: nil
        case .crossEntropy: .softmax
        case .binaryCrossEntropy: .sigmoid
        case .poisson: .exp
        }
    }
}

extension OptimizerKind {
    public var name: String {
        switch self {
        case .sgd: "sgd"
        case .adam: "adam"
        case .adamW: "adamw"
        case .rmsprop: "rmsprop"
        }
    }
}

/// A valid architecture: what `Network.create` builds.
public struct Architecture: Sendable {
    public let sizes: [Int]
    public let activations: [Activation]
    public let loss: Loss
    public let layout: ParameterLayout

    /// From the C ABI's codes: unknown codes are refused here, then the rules below.
    public init(sizes: [Int], activationCodes: [Int32], lossCode: Int32) throws(CoreError) {
        try Self.checkSizes(sizes)
        try Self.checkCount(sizes, activationCodes.count)
        var acts: [Activation] = []
        for (i, code) in activationCodes.enumerated() {
            guard let f = Activation(rawValue: code) else {
                throw CoreError(.argument, "activations[\(i)] has unknown code \(code); expected 0 (identity) to "
                                + "\(Activation.allCases.count - 1) (\(Activation.allCases.last!.name))")
            }
            acts.append(f)
        }
        guard let loss = Loss(rawValue: lossCode) else {
            throw CoreError(.argument, "unknown loss code \(lossCode); expected 0 (mse) to \(Loss.allCases.count - 1) "
                            + "(\(Loss.allCases.last!.name))")
        }
        try self.init(sizes: sizes, activations: acts, loss: loss)
    }

    /// sizes: at least 2, each in [1, maxDimension]; one activation per layer; softmax only last;
    /// cross-entropy with a softmax output, binary cross-entropy with a sigmoid one; a parameter
    /// count that fits an Int.
    public init(sizes: [Int], activations: [Activation], loss: Loss) throws(CoreError) {
        try Self.checkSizes(sizes)
        try Self.checkCount(sizes, activations.count)
        if activations.dropLast().contains(.softmax) {
            throw CoreError(.architecture, "softmax is only allowed on the last layer")
        }
        if let want = loss.output, activations.last! != want {
            let article = "aeiou".contains(want.name.first!) ? "an" : "a"
            throw CoreError(.architecture, "loss='\(loss.name)' needs \(article) \(want.name) output layer, got "
                            + "activations[-1]='\(activations.last!.name)'")
        }
        guard let layout = ParameterLayout(sizes: sizes) else {
            throw CoreError(.size, "sizes \(sizes) need more parameters than an address can count")
        }
        self.sizes = sizes; self.activations = activations; self.loss = loss; self.layout = layout
    }

    static func checkSizes(_ sizes: [Int]) throws(CoreError) {
        guard sizes.count >= 2 else {
            throw CoreError(.size, "sizes must have at least 2 entries (inputs and outputs), got \(sizes.count)")
        }
        for (i, s) in sizes.enumerated() {
            if s < 1 { throw CoreError(.size, "sizes[\(i)] must be >= 1, got \(s)") }
            if s > maxDimension { throw CoreError(.size, "sizes[\(i)] must be <= \(maxDimension), got \(s)") }
        }
    }

    static func checkCount(_ sizes: [Int], _ count: Int) throws(CoreError) {
        guard count == sizes.count - 1 else {
            throw CoreError(.size, "activations must have \(sizes.count - 1) entries (one per layer), got \(count)")
        }
    }
}

/// A Double as Python's repr prints it (shortest round-trip form: 1.5, -0.1, 1e-05, nan, inf).
func pythonRepr(_ x: Double) -> String {
    "\(x)"
}

extension Network {
    /// Builds a network, or says which rule the architecture breaks (or that memory ran out).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public static func create(_ arch: Architecture) throws(CoreError) -> Network<T> {
        guard let p = Buffer<T>(count: arch.layout.count), let g = Buffer<T>(count: arch.layout.count) else {
            throw CoreError(.memory, "could not allocate \(arch.layout.count) parameters and their gradients")
        }
        return Network(sizes: arch.sizes, activations: arch.activations, loss: arch.loss, layout: arch.layout,
                       params: p, grads: g)
    }

    /// Rows of a batch: at least 1, and every layer's rows × width must fit an Int and a BLAS int.
    public func checkRows(_ rows: Int) throws(CoreError) {
        guard rows >= 1 else { throw CoreError(.size, "a batch needs at least 1 row, got \(rows)") }
        guard rows <= maxDimension, sizes.allSatisfy({ !rows.multipliedReportingOverflow(by: $0).overflow }) else {
            throw CoreError(.size, "a batch of \(rows) rows is too large for layers of widths \(sizes)")
        }
    }

    /// What backward checks before anything is written: labels only for cross-entropy, each in
    /// [0, n_outputs); weights (if given) >= 0 with a positive, finite sum (`positiveSum` false: a
    /// zero sum is allowed, for a part of the data).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func check(_ y: Target<T>, weights: UnsafePointer<T>?, rows: Int, positiveSum: Bool = true) throws(CoreError) {
        if case .labels(let labels) = y { try checkLabels(labels, rows: rows) }
        if loss == .poisson, case .dense(let t) = y { try checkPoissonTargets(t, count: rows * sizes[layerCount]) }
        if let weights { try Self.checkWeights(weights, rows: rows, positiveSum: positiveSum) }
    }

    func checkLabels(_ labels: UnsafePointer<Int64>, rows: Int) throws(CoreError) {
        guard loss == .crossEntropy else {
            throw CoreError(.target, "integer labels are only accepted with loss='cross_entropy', got loss='\(loss.name)'")
        }
        let classes = Int64(sizes[layerCount])
        var lo = Int64.max, hi = Int64.min
        for r in 0..<rows { lo = min(lo, labels[r]); hi = max(hi, labels[r]) }
        if rows > 0, lo < 0 || hi >= classes {
            throw CoreError(.label, "contains label \(lo < 0 ? lo : hi); labels must be in [0, \(classes)) for "
                            + "\(classes) outputs")
        }
    }

    /// Poisson targets are counts or rates: >= 0 (NaN fails too; the extension names NaN first).
    func checkPoissonTargets(_ y: UnsafePointer<T>, count: Int) throws(CoreError) {
        var lo = T.infinity
        for j in 0..<count { lo = Swift.min(lo, y[j]) }
        guard lo >= 0 else {
            let bad = (0..<count).first { !(y[$0] >= 0) } ?? 0
            throw CoreError(.argument, "loss='poisson' needs targets >= 0, got \(pythonRepr(Double(y[bad]))) at "
                            + "flat index \(bad)")
        }
    }

    static func checkWeights(_ w: UnsafePointer<T>, rows: Int, positiveSum: Bool) throws(CoreError) {
        var sum = 0.0, ok = true
        for r in 0..<rows { ok = ok && w[r] >= 0; sum += Double(w[r]) }  // w >= 0 is false for NaN
        guard ok, sum.isFinite, sum > 0 || (!positiveSum && sum == 0) else {
            throw CoreError(.argument, "sample_weight must be finite, >= 0, with a positive sum")
        }
    }

    /// The L2 penalty's arguments (`addL2`).
    public static func checkL2(alpha: Double, norm: Double) throws(CoreError) {
        guard alpha >= 0, alpha.isFinite, norm > 0, norm.isFinite else {
            throw CoreError(.argument, "add_l2 needs a finite alpha >= 0 and a finite norm > 0, got alpha="
                            + "\(pythonRepr(alpha)), norm=\(pythonRepr(norm))")
        }
    }

    /// Copies rows × n_(i+1) values of layer i's S_in, S_out or δ (quantity code 0, 1, 2) from the last
    /// whole-batch backward into out.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func copyWorkspace(_ out: UnsafeMutablePointer<T>, quantity code: Int32, layer i: Int, rows: Int) throws(CoreError) {
        guard let q = Quantity(rawValue: code) else {
            throw CoreError(.argument, "unknown quantity code \(code); expected 0 (S_in), 1 (S_out) or 2 (delta)")
        }
        guard i >= 0, i < layerCount else {
            throw CoreError(.argument, "layer \(i) is not in [0, \(layerCount))")
        }
        guard rows >= 1, let ws = workspaceRows, rows <= ws, let src = workspaceValues(q, layer: i) else {
            throw CoreError(.size, "rows \(rows) is not in [1, \(workspaceRows ?? 0)], the rows of the last backward")
        }
        out.update(from: src, count: rows * sizes[i + 1])
    }
}
