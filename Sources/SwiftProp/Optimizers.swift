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
    /// Σ W² of each cell of `cell` parameters (a step with a penalty): summed in cell order after the
    /// check pass, so the penalty does not depend on how the pass was split over threads.
    private let cellSums: Buffer<Double>
    /// The layout's pieces as the last step with a penalty saw them: (end, is a weight).
    private var pieces: [(end: Int, weight: Bool)] = []
    private var piecesLayout: [Int] = []

    public var state: UnsafeMutablePointer<T> { stateBuffer.base }
    public var stateCount: Int { stateBuffer.count }

    /// nil when the state cannot be allocated.
    public init?(kind: OptimizerKind, count: Int, lr: T, momentum: T = 0, nesterov: Bool = false,
                 weightDecay: T = 0, beta1: T = 0.9, beta2: T = 0.999, eps: T = 1e-8, alpha: T = 0.99) {
        guard let buffer = Buffer<T>(count: kind == .sgd ? count : 2 * count),
              let sums = Buffer<Double>(count: count / Self.cell + 1) else { return nil }
        self.kind = kind; self.count = count; self.lr = lr; self.momentum = momentum; self.nesterov = nesterov
        self.weightDecay = weightDecay; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.alpha = alpha
        stateBuffer = buffer; cellSums = sums
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

    /// The L2 penalty's gradient c·W^i (c = alpha / norm, scikit-learn's alpha) that a step adds to the
    /// weights' gradients itself: training then reads the gradient buffer once, in the step, instead of
    /// first rewriting it (`Network.addL2`, a pass over every weight). Biases carry no penalty.
    public struct Penalty {
        public let c: T
        public let layout: ParameterLayout
        public init(c: T, layout: ParameterLayout) { self.c = c; self.layout = layout }
    }

    /// One update of params from grads (both `count` long, the network's layout). Returns false, and
    /// changes nothing, when the update would make a parameter NaN or infinite.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    @discardableResult
    public func step(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>) -> Bool {
        step(p, g, penalty: nil) != nil
    }

    /// One update with the gradient g + c·W on the weights (`penalty`; nil: g alone). Returns Σ‖W^i‖²
    /// of the parameters before the step (0 without a penalty), or nil, having changed nothing, when
    /// the update would make a parameter NaN or infinite (or Σ‖W^i‖² is). Two passes: the check reads everything the
    /// new values depend on, and only if all are finite does the commit write them.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func step(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, penalty: Penalty?) -> Double? {
        let c = penalty?.c ?? 0
        if let penalty { setPieces(penalty.layout) } else { pieces = [(count, false)]; piecesLayout = [] }
        guard let gs = gradientScale(p, g, c: c) else { return nil }
        let sums = cellSums.base, weighed = penalty != nil
        // both passes are split over the pool's threads when the network is large enough; the check's
        // parts are whole cells, so each cell's Σ W² is one thread's
        let bad = parallelAny(count: count, minCount: Self.parallelCount, align: Self.cell) { r in
            var bad: T.Word = 0, lo = r.lowerBound
            while lo < r.upperBound {
                let hi = min(lo + Self.cell, r.upperBound)
                var s = 0.0
                forPieces(lo..<hi) { sub, weight in
                    bad |= check(p, g, gs, weight ? c : 0, sub)
                    if weight && weighed { s += sumOfSquares(p, sub) }
                }
                if weighed { sums[lo / Self.cell] = s }
                lo = hi
            }
            return bad != 0
        }
        if bad { return nil }
        var total = 0.0
        if weighed {
            for k in 0..<((count + Self.cell - 1) / Self.cell) { total += sums[k] }
            guard total.isFinite else { return nil }  // the penalty itself would be infinite
        }
        parallelRanges(count: count, minCount: Self.parallelCount) { _, r in
            forPieces(r) { sub, weight in update(p, g, gs, weight ? c : 0, sub, commit: true) }
        }
        t += 1
        return total
    }

    /// Cells of the check pass (a multiple of any alignment the passes use).
    static var cell: Int { 4096 }

    private func setPieces(_ layout: ParameterLayout) {
        guard piecesLayout != layout.weightOffsets + layout.biasOffsets else { return }
        var list: [(end: Int, weight: Bool)] = []
        for (i, w) in layout.weightOffsets.enumerated() {
            let next = i + 1 < layout.weightOffsets.count ? layout.weightOffsets[i + 1] : layout.count
            if w < layout.biasOffsets[i] { list.append((layout.biasOffsets[i], true)) }
            if layout.biasOffsets[i] < next { list.append((next, false)) }
        }
        pieces = list; piecesLayout = layout.weightOffsets + layout.biasOffsets
    }

    /// body(piece of r, is a weight) for r cut at the layout's weight/bias boundaries.
    @inline(__always)
    private func forPieces(_ r: Range<Int>, _ body: (Range<Int>, Bool) -> Void) {
        var lo = r.lowerBound
        for piece in pieces where piece.end > lo {
            let hi = min(piece.end, r.upperBound)
            body(lo..<hi, piece.weight)
            lo = hi
            if lo >= r.upperBound { return }
        }
    }

    /// The factor the step multiplies the gradient by: min(1, clipNorm / (‖g‖₂ + 1e-6)) over the whole
    /// buffer (PyTorch's clip_grad_norm_; with a penalty, of g + c·W), 1 without clipping; nil if the
    /// norm is not finite. The gradient buffer itself is left as backward wrote it.
    func gradientScale(_ p: UnsafePointer<T>, _ g: UnsafePointer<T>, c: T) -> T? {
        guard clipNorm > 0 else { return 1 }
        var s = 0.0
        forPieces(0..<count) { r, weight in
            let cw = Double(weight ? c : 0)
            for j in r { let x = Double(g[j]) + cw * Double(p[j]); s += x * x }
        }
        let norm = s.squareRoot()
        guard norm.isFinite else { return nil }
        return T(min(1, clipNorm / (norm + 1e-6)))
    }

    /// Σ x² over r: four partial sums, independent chains the compiler can vectorise.
    @inline(__always)
    private func sumOfSquares(_ x: UnsafePointer<T>, _ r: Range<Int>) -> Double {
        var s = (T(0), T(0), T(0), T(0)), j = r.lowerBound
        while j + 4 <= r.upperBound {
            s.0 += x[j] * x[j]; s.1 += x[j + 1] * x[j + 1]; s.2 += x[j + 2] * x[j + 2]; s.3 += x[j + 3] * x[j + 3]
            j += 4
        }
        while j < r.upperBound { s.0 += x[j] * x[j]; j += 1 }
        return Double(s.0 + s.1 + s.2 + s.3)
    }

    /// The check pass over r: non-zero if some new parameter would not be finite.
    @inline(__always)
    private func check(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ c: T, _ r: Range<Int>) -> T.Word {
        if kind == .adam || kind == .adamW, adamSurelyFinite(p, g, gs, c, r) { return 0 }
        return update(p, g, gs, c, r, commit: false)
    }

    /// One pass of the update over r: the check (commit false) or the commit; gs scales the gradient,
    /// c·W is the penalty's gradient (0 off the weights).
    @inline(__always) @discardableResult
    private func update(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ c: T, _ r: Range<Int>,
                        commit: Bool) -> T.Word {
        switch kind {
        case .sgd: sgdStep(p, g, gs, c, r, commit: commit)
        case .adam, .adamW: adamStep(p, g, gs, c, r, commit: commit)
        case .rmsprop: rmspropStep(p, g, gs, c, r, commit: commit)
        }
    }

    /// Parameters from which a pass is worth splitting over threads.
    static var parallelCount: Int { 1 << 15 }

    // v ← μ v + (g + λ p);  p ← p − lr (nesterov ? g + λ p + μ v : v)
    // commit false: only check that every new p is finite. Loops without conditional loads or stores,
    // and a branch-free flag, so that the compiler vectorises both passes.
    // Returns non-zero if some new p in r is not finite (check pass), else 0.
    @inline(__always) @discardableResult
    private func sgdStep(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ c: T, _ r: Range<Int>,
                         commit: Bool) -> T.Word {
        let v = state, lr = self.lr, mu = momentum, wd = weightDecay, nesterov = self.nesterov
        var bad: T.Word = 0
        if mu == 0 {
            for j in r {
                let pj = p[j], pn = pj - lr * (gs * (g[j] + c * pj) + wd * pj)
                if commit { p[j] = pn } else { bad |= notFinite(pn) }
            }
        } else {
            for j in r {
                let pj = p[j], d = gs * (g[j] + c * pj) + wd * pj, vj = mu * v[j] + d
                let pn = pj - lr * (nesterov ? d + mu * vj : vj)
                if commit { v[j] = vj; p[j] = pn } else { bad |= notFinite(pn) }
            }
        }
        return bad
    }

    // m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  p ← p − lr·√(1−β2^t)/(1−β1^t) · m / (√v + ε)
    // Adam adds λ p to g; AdamW instead decays p by lr·λ first (decoupled).
    @inline(__always) @discardableResult
    private func adamStep(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ c: T, _ r: Range<Int>,
                          commit: Bool) -> T.Word {
        let m = state, v = state + count
        let b1 = beta1, b2 = beta2, eps = self.eps
        let (stepSize, coupled, decay) = adamFactors()
        var bad: T.Word = 0
        for j in r {
            let pj = p[j], d = gs * (g[j] + c * pj) + coupled * pj
            let mj = b1 * m[j] + (1 - b1) * d
            let vj = b2 * v[j] + (1 - b2) * d * d
            let pn = decay * pj - stepSize * mj / (T.sqrt(vj) + eps)
            if commit { m[j] = mj; v[j] = vj; p[j] = pn } else { bad |= notFinite(pn) }
        }
        return bad
    }

    /// This step's Adam constants, shared by the update and its quick check: the bias-corrected step
    /// size lr·√(1−β2^t)/(1−β1^t), the coupled L2 factor λ (Adam) and the decoupled decay 1 − lr·λ (AdamW).
    @inline(__always)
    private func adamFactors() -> (stepSize: T, coupled: T, decay: T) {
        let c1 = 1 - power(beta1, t + 1), c2 = 1 - power(beta2, t + 1)
        return (lr * T.sqrt(c2) / c1, kind == .adam ? weightDecay : 0, kind == .adamW ? 1 - lr * weightDecay : 1)
    }

    // The Adam check without a square root or a division: |decay·p| ≤ H and stepSize·|m_new| ≤ H·ε with
    // v_new ≥ 0 (H a quarter of the largest finite value) bound |p_new| by 2H, since √v + ε ≥ ε. It
    // holds for any sane state, so the check pass is only loads; where it fails, the exact check decides.
    @inline(__always)
    private func adamSurelyFinite(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ c: T,
                                  _ r: Range<Int>) -> Bool {
        let m = state, v = state + count
        let b1 = beta1, b2 = beta2
        let (stepSize, coupled, decay) = adamFactors()
        let h = T.greatestFiniteMagnitude / 4, hEps = h * eps
        guard stepSize.isFinite, stepSize > 0, hEps > 0 else { return false }
        var out: T.Word = 0
        for j in r {
            let pj = p[j], d = gs * (g[j] + c * pj) + coupled * pj
            let mj = b1 * m[j] + (1 - b1) * d
            let vj = b2 * v[j] + (1 - b2) * d * d
            out |= outside(decay * pj, h) | outside(stepSize * mj, hEps) | negativeOrNaN(vj)
        }
        return out == 0
    }

    // RMSprop (PyTorch's, not centered), with d = g + λ p:  s ← α s + (1−α) d²;
    // momentum 0: p ← p − lr d / (√s + ε);  else b ← μ b + d / (√s + ε), p ← p − lr b
    @inline(__always) @discardableResult
    private func rmspropStep(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ gs: T, _ c: T, _ r: Range<Int>,
                             commit: Bool) -> T.Word {
        let s = state, b = state + count
        let a = alpha, eps = self.eps, lr = self.lr, mu = momentum, wd = weightDecay
        var bad: T.Word = 0
        for j in r {
            let pj = p[j], d = gs * (g[j] + c * pj) + wd * pj
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

    /// Zero the state and the step count.
    public func reset() {
        state.initialize(repeating: 0, count: stateCount)
        t = 0
    }
}
