import Glibc

/// Optimizers: one fused pass over the flat parameter buffer per step, with their state in one
/// buffer beside it (SGD: velocity; Adam, AdamW: first then second moments; RMSprop: mean square, then
/// momentum buffer), same layout as the parameters. Every kind can clip the gradient's global L2 norm.
public enum OptimizerKind: Int32, Sendable, CaseIterable {
    case sgd = 0, adam, adamW, rmsprop

    /// The kind of a C ABI code.
    public init(code: Int32) throws(CoreError) {
        guard let kind = OptimizerKind(rawValue: code) else {
            throw CoreError(.argument, "unknown optimizer kind \(code); expected 0 (sgd), 1 (adam), 2 (adamw) or 3 (rmsprop)")
        }
        self = kind
    }
}

/// The hyper-parameters of every kind (each uses its own; their ranges are checked by the Python
/// layer, swiftprop.optim). Mirrors sp_hyper.
public struct OptimizerHyper: Equatable, Sendable {
    public var lr: Double
    public var momentum: Double = 0
    public var nesterov: Bool = false
    public var weightDecay: Double = 0
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var eps: Double = 1e-8
    /// RMSprop's smoothing constant of the mean square.
    public var alpha: Double = 0.99
    /// Largest global L2 norm of the gradient a step uses (0: no clipping).
    public var clipNorm: Double = 0

    public init(lr: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0,
                beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, alpha: Double = 0.99,
                clipNorm: Double = 0) {
        self.lr = lr; self.momentum = momentum; self.nesterov = nesterov; self.weightDecay = weightDecay
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.alpha = alpha; self.clipNorm = clipNorm
    }
}

public final class Optimizer<T: Scalar> {
    public let kind: OptimizerKind
    public let count: Int
    public var lr: T
    public var momentum: T
    public var nesterov: Bool
    public var weightDecay: T
    public var beta1: T
    public var beta2: T
    public var eps: T
    public var alpha: T
    /// Largest global gradient norm a step uses; 0: no clipping.
    public var clipNorm: Double = 0
    /// Steps taken (Adam's bias correction uses it).
    public var t: Int = 0
    let stateBuffer: Buffer<T>

    public var state: UnsafeMutablePointer<T> { stateBuffer.base }
    public var stateCount: Int { stateBuffer.count }

    /// nil when the state cannot be allocated.
    public init?(kind: OptimizerKind, count: Int, lr: T, momentum: T = 0, nesterov: Bool = false,
                 weightDecay: T = 0, beta1: T = 0.9, beta2: T = 0.999, eps: T = 1e-8, alpha: T = 0.99) {
        guard let buffer = Buffer<T>(count: kind == .sgd ? count : 2 * count) else { return nil }
        self.kind = kind; self.count = count; self.lr = lr; self.momentum = momentum; self.nesterov = nesterov
        self.weightDecay = weightDecay; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.alpha = alpha
        stateBuffer = buffer
    }

    public convenience init?(kind: OptimizerKind, count: Int, hyper: OptimizerHyper) {
        self.init(kind: kind, count: count, lr: 0)
        set(hyper)
    }

    /// Sets every hyper-parameter (in T's precision).
    public func set(_ h: OptimizerHyper) {
        lr = T(h.lr); momentum = T(h.momentum); nesterov = h.nesterov; weightDecay = T(h.weightDecay)
        beta1 = T(h.beta1); beta2 = T(h.beta2); eps = T(h.eps); alpha = T(h.alpha); clipNorm = h.clipNorm
    }

    /// Largest step count: beyond any real run, and keeps t + 1 and β^t well defined.
    public static var maxSteps: Int { 1 << 53 }

    public func setSteps(_ steps: Int64) throws(CoreError) {
        guard steps >= 0, steps <= Int64(Self.maxSteps) else {
            throw CoreError(.argument, "t must be between 0 and 2**53, got \(steps)")
        }
        t = Int(steps)
    }

    /// One update of net's parameters from its gradients (`step`), or why not.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func step(_ net: Network<T>) throws(CoreError) {
        guard count == net.layout.count else {
            throw CoreError(.size, "the optimizer has \(count) parameters, the network \(net.layout.count)")
        }
        guard step(net.params, net.grads) else { throw Self.nonFiniteStep }
    }

    static var nonFiniteStep: CoreError {
        CoreError(.nonFinite, "the update would make a parameter NaN or infinite (a NaN or infinite gradient, "
                  + "or too large a step); nothing was changed")
    }

    /// One update of params from grads (both `count` long, the network's layout). Returns false, and
    /// changes nothing, when the update would make a parameter NaN or infinite.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @discardableResult
    public func step(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>) -> Bool {
        guard let gs = gradientScale(g) else { return false }
        // both passes are split over the pool's threads when the network is large enough
        let bad = parallelAny(count: count, minCount: Self.parallelCount) { r in update(p, g, gs, r, commit: false) != 0 }
        if bad { return false }
        parallelRanges(count: count, minCount: Self.parallelCount) { _, r in update(p, g, gs, r, commit: true) }
        t += 1
        return true
    }

    /// The factor the step multiplies the gradient by: min(1, clipNorm / (‖g‖₂ + 1e-6)) over the whole
    /// buffer (PyTorch's clip_grad_norm_), 1 without clipping; nil if the norm is not finite. The
    /// gradient buffer itself is left as backward wrote it.
    func gradientScale(_ g: UnsafePointer<T>) -> T? {
        guard clipNorm > 0 else { return 1 }
        let norm = l2Norm(g, count: count)
        guard norm.isFinite else { return nil }
        return T(min(1, clipNorm / (norm + 1e-6)))
    }

    /// One pass of the update over r: the check (commit false) or the commit; gs scales the gradient.
    @inline(__always) @discardableResult
    private func update(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ r: Range<Int>,
                        commit: Bool) -> T.Word {
        switch kind {
        case .sgd: sgdStep(p, g, gs, r, commit: commit)
        case .adam, .adamW: adamStep(p, g, gs, r, commit: commit)
        case .rmsprop: rmspropStep(p, g, gs, r, commit: commit)
        }
    }

    /// Parameters from which a pass is worth splitting over threads.
    static var parallelCount: Int { 1 << 15 }

    // v ← μ v + (g + λ p);  p ← p − lr (nesterov ? g + λ p + μ v : v)
    // commit false: only check that every new p is finite. Loops without conditional loads or stores,
    // and a branch-free flag, so that the compiler vectorises both passes.
    // Returns non-zero if some new p in r is not finite (check pass), else 0.
    @inline(__always) @discardableResult
    private func sgdStep(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ r: Range<Int>,
                         commit: Bool) -> T.Word {
        let v = state, lr = self.lr, mu = momentum, wd = weightDecay, nesterov = self.nesterov
        var bad: T.Word = 0
        if mu == 0 {
            for j in r {
                let pj = p[j], pn = pj - lr * (gs * g[j] + wd * pj)
                if commit { p[j] = pn } else { bad |= notFinite(pn) }
            }
        } else {
            for j in r {
                let pj = p[j], d = gs * g[j] + wd * pj, vj = mu * v[j] + d
                let pn = pj - lr * (nesterov ? d + mu * vj : vj)
                if commit { v[j] = vj; p[j] = pn } else { bad |= notFinite(pn) }
            }
        }
        return bad
    }

    // m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  p ← p − lr·√(1−β2^t)/(1−β1^t) · m / (√v + ε)
    // Adam adds λ p to g; AdamW instead decays p by lr·λ first (decoupled).
    @inline(__always) @discardableResult
    private func adamStep(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ r: Range<Int>,
                          commit: Bool) -> T.Word {
        let m = state, v = state + count
        let b1 = beta1, b2 = beta2, eps = self.eps
        let c1 = 1 - power(b1, t + 1), c2 = 1 - power(b2, t + 1)
        let stepSize = lr * T.sqrt(c2) / c1
        let coupled: T = kind == .adam ? weightDecay : 0
        let decay: T = kind == .adamW ? 1 - lr * weightDecay : 1
        var bad: T.Word = 0
        for j in r {
            let pj = p[j], d = gs * g[j] + coupled * pj
            let mj = b1 * m[j] + (1 - b1) * d
            let vj = b2 * v[j] + (1 - b2) * d * d
            let pn = decay * pj - stepSize * mj / (T.sqrt(vj) + eps)
            if commit { m[j] = mj; v[j] = vj; p[j] = pn } else { bad |= notFinite(pn) }
        }
        return bad
    }

    // RMSprop (PyTorch's, not centered), with d = g + λ p:  s ← α s + (1−α) d²;
    // momentum 0: p ← p − lr d / (√s + ε);  else b ← μ b + d / (√s + ε), p ← p − lr b
    @inline(__always) @discardableResult
    private func rmspropStep(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ r: Range<Int>,
                             commit: Bool) -> T.Word {
        let s = state, b = state + count
        let a = alpha, eps = self.eps, lr = self.lr, mu = momentum, wd = weightDecay
        var bad: T.Word = 0
        for j in r {
            let pj = p[j], d = gs * g[j] + wd * pj
            let sj = a * s[j] + (1 - a) * d * d
            let bj = mu * b[j] + d / (T.sqrt(sj) + eps)
            let pn = pj - lr * bj
            if commit { s[j] = sj; b[j] = bj; p[j] = pn } else { bad |= notFinite(pn) }
        }
        return bad
    }

    private func power(_ x: T, _ n: Int) -> T {
        T(Glibc.pow(Double(x), Double(n)))
    }

    /// ‖g‖₂ of count values, summed in Double (one pass; the order is fixed, so the result does not
    /// depend on the thread count).
    func l2Norm(_ g: UnsafePointer<T>, count: Int) -> Double {
        var s = 0.0
        for j in 0..<count { let x = Double(g[j]); s += x * x }
        return s.squareRoot()
    }

    /// Zero the state and the step count.
    public func reset() {
        state.initialize(repeating: 0, count: stateCount)
        t = 0
    }
}
