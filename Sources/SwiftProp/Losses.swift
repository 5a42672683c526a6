/// Losses: cost = mean over the batch of the per-sample cost. Each is a forward/backward pair; the
/// backward gives the last layer's dcost/dS_in directly, in the simplified form ŷ − y where the
/// output activation matches the loss (softmax + cross-entropy, sigmoid + binary cross-entropy, exp + poisson).
public enum Loss: Int32, Sendable, CaseIterable {
    case mse = 0, crossEntropy, binaryCrossEntropy
    /// Half the Poisson deviance with an exp output, as scikit-learn's MLPRegressor(loss="poisson").
    case poisson

    /// The output activations this loss is defined with.
    public func accepts(_ f: Activation) -> Bool {
        switch self {
        case .mse: return true
        case .crossEntropy: return f == .softmax
        case .binaryCrossEntropy: return f == .sigmoid
        case .poisson: return f == .exp
        }
    }
}

/// What the last layer is compared with: dense rows (batch, n), or class labels (batch) standing for
/// one-hot rows (cross-entropy only).
public enum Target<T: Scalar> {
    case dense(UnsafePointer<T>)
    case labels(UnsafePointer<Int64>)

    /// The same target, `rows` samples further on.
    func advanced(by rows: Int, n: Int) -> Target<T> {
        switch self {
        case .dense(let y): return .dense(y + rows * n)
        case .labels(let l): return .labels(l + rows)
        }
    }

    @inline(__always) func value(_ r: Int, _ k: Int, n: Int) -> T {
        switch self {
        case .dense(let y): return y[r * n + k]
        case .labels(let l): return l[r] == Int64(k) ? 1 : 0
        }
    }
}

// S_in and S_out are (rows, n), the last layer's, weights (rows) or nil for ones; returns the SUM over
// these rows of the (weighted) per-sample cost.
func lossForward<T: Scalar>(
    _ loss: Loss, _ sIn: UnsafePointer<T>, _ sOut: UnsafePointer<T>, _ y: Target<T>,
    weights: UnsafePointer<T>? = nil, rows: Int, n: Int
) -> Double {
    if let weights {
        var total = 0.0
        for r in 0..<rows where weights[r] != 0 {
            total += Double(weights[r]) * lossForward(loss, sIn + r * n, sOut + r * n, y.advanced(by: r, n: n), rows: 1, n: n)
        }
        return total
    }
    var total = 0.0
    switch loss {
    case .mse:
        for r in 0..<rows {
            var s: T = 0
            for k in 0..<n { let e = sOut[r * n + k] - y.value(r, k, n: n); s += e * e }
            total += Double(s) / 2
        }
    case .crossEntropy:
        // −Σ y_k log ŷ_k with log ŷ_k = z_k − logsumexp(z): never log(0). The softmax output already
        // holds Σ exp(z − max z): at the arg max ŷ = 1 / Σ (≥ 1/n), so logsumexp = max z − log ŷ_argmax.
        for r in 0..<rows {
            let z = sIn + r * n
            var m = z[0], top = 0
            for k in 1..<n where z[k] > m { m = z[k]; top = k }
            let lse = m - T.log(sOut[r * n + top])
            switch y {
            case .labels(let l):
                total += Double(lse - z[Int(l[r])])
            case .dense(let p):
                var c: T = 0
                for k in 0..<n { let t = p[r * n + k]; if t != 0 { c += t * (lse - z[k]) } }
                total += Double(c)
            }
        }
    case .binaryCrossEntropy:
        // −[y log σ(z) + (1−y) log(1−σ(z))] = softplus(z) − y z
        for r in 0..<rows {
            var s: T = 0
            for k in 0..<n { let z = sIn[r * n + k]; s += softplus(z) - y.value(r, k, n: n) * z }
            total += Double(s)
        }
    case .poisson:
        // Σ_k y log(y/ŷ) − y + ŷ with log ŷ = z (never log 0 when e^z underflows); y log y is 0 at y = 0
        for r in 0..<rows {
            var s: T = 0
            for k in 0..<n {
                let t = y.value(r, k, n: n), z = sIn[r * n + k]
                s += (t > 0 ? t * T.log(t) : 0) - t * z - t + sOut[r * n + k]
            }
            total += Double(s)
        }
    }
    return total
}

// delta, S_in and S_out are (rows, n), the last layer's: delta = dcost/dS_in for a cost that is the
// sum over rows of weight · per-sample cost / `norm` (the mean over the batch: weights nil, norm = batch).
func lossBackward<T: Scalar>(
    _ delta: UnsafeMutablePointer<T>, _ loss: Loss, _ f: Activation,
    _ sIn: UnsafePointer<T>, _ sOut: UnsafePointer<T>, _ y: Target<T>,
    weights: UnsafePointer<T>? = nil, rows: Int, n: Int, norm: T
) {
    let inv = 1 / norm
    // dcost/dS_out for MSE, and ŷ − y for the matching pairs (poisson: d/dz (e^z − y z) = ŷ − y): one
    // formula, (ŷ − y) · w / norm.
    for r in 0..<rows {
        let scale = weights.map { $0[r] * inv } ?? inv
        let d = delta + r * n, yHat = sOut + r * n
        switch y {
        case .dense(let t):
            let tr = t + r * n
            for k in 0..<n { d[k] = (yHat[k] - tr[k]) * scale }
        case .labels(let l):
            for k in 0..<n { d[k] = yHat[k] * scale }
            d[Int(l[r])] -= scale
        }
    }
    if loss == .mse {
        // dcost/dS_in = dcost/dS_out ⊙ f'(S_in) (softmax: its Jacobianᵀ)
        activationBackward(delta, delta, sIn, sOut, rows: rows, n: n, f)
    }
}
