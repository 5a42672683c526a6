/// Element-wise activations f (softmax: row-wise), each a forward/backward pair on explicit buffers.
/// The raw values are the codes of the C ABI and of `swiftprop.Network`.
public enum Activation: Int32, Sendable, CaseIterable {
    case identity = 0, sigmoid, tanh, relu, leakyRelu, elu, softplus, gelu, softmax
    /// e^x: the output of the poisson loss (a log link), as scikit-learn's MLPRegressor(loss="poisson").
    case exp
}

@usableFromInline let leakySlope = 0.01
@usableFromInline let geluC = 0.7978845608028654  // sqrt(2/pi)
@usableFromInline let geluA = 0.044715

/// Overflow-free logistic function for both signs of x.
@inline(__always) func sigmoid<T: Scalar>(_ x: T) -> T {
    if x >= 0 { return 1 / (1 + T.exp(-x)) }
    let e = T.exp(x)
    return e / (1 + e)
}

/// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
@inline(__always) func softplus<T: Scalar>(_ x: T) -> T {
    max(x, 0) + T.log1p(T.exp(-abs(x)))
}

// S_in and S_out are (rows, n), bias is (n): S_in += bias (if given), then S_out = f(S_in), row by row so
// each row is touched once while it is in cache (the bias add of the affine layer, fused with f).
func activationForward<T: Scalar>(
    _ sOut: UnsafeMutablePointer<T>, _ sIn: UnsafeMutablePointer<T>, bias: UnsafePointer<T>? = nil,
    rows: Int, n: Int, _ f: Activation
) {
    if f == .softmax { return softmaxForward(sOut, sIn, bias: bias, rows: rows, n: n) }
    for r in 0..<rows {
        let z = sIn + r * n, y = sOut + r * n
        if let bias { for k in 0..<n { z[k] += bias[k] } }
        activationRow(y, z, n: n, f)
    }
}

// S_in and S_out are (rows, n), bias is (n): S_in += bias, S_out = softmax(S_in) row by row. The exponentials
// run in one flat loop over a block of rows, so that they vectorise even when a row is short (10 classes:
// per row, 8 lanes and 2 scalar calls); blocks of ~4096 values stay in cache between the three passes.
func softmaxForward<T: Scalar>(
    _ sOut: UnsafeMutablePointer<T>, _ sIn: UnsafeMutablePointer<T>, bias: UnsafePointer<T>?, rows: Int, n: Int
) {
    let block = max(1, 4096 / max(n, 1))
    for first in stride(from: 0, to: rows, by: block) {
        let count = min(block, rows - first)
        for r in first..<first + count {
            let z = sIn + r * n, y = sOut + r * n
            if let bias { for k in 0..<n { z[k] += bias[k] } }
            var m = z[0]
            for k in 1..<n { m = max(m, z[k]) }
            for k in 0..<n { y[k] = z[k] - m }
        }
        let y = sOut + first * n
        for k in 0..<count * n { y[k] = T.vexp(y[k]) }
        for r in first..<first + count {
            let y = sOut + r * n
            var s: T = 0
            for k in 0..<n { s += y[k] }
            let inv = 1 / s
            for k in 0..<n { y[k] *= inv }
        }
    }
}

// z and y are (n): y = f(z) for one row (softmax needs the whole row).
@inline(__always)
func activationRow<T: Scalar>(_ y: UnsafeMutablePointer<T>, _ z: UnsafePointer<T>, n: Int, _ f: Activation) {
    switch f {
    case .identity:
        if UnsafePointer(y) != z { y.update(from: z, count: n) }
    case .sigmoid:
        for k in 0..<n { y[k] = sigmoid(z[k]) }
    case .tanh:
        for k in 0..<n { y[k] = T.tanh(z[k]) }
    case .relu:
        // unconditional loads and a select: the compiler vectorises this
        for k in 0..<n { let x = z[k]; y[k] = x > 0 ? x : 0 }
    case .leakyRelu:
        let a = T(leakySlope)
        for k in 0..<n { let x = z[k]; y[k] = x > 0 ? x : a * x }
    case .elu:
        for k in 0..<n { let x = z[k]; y[k] = x > 0 ? x : T.expm1(x) }
    case .softplus:
        for k in 0..<n { y[k] = softplus(z[k]) }
    case .gelu:
        let c = T(geluC), a = T(geluA)
        for k in 0..<n {
            let x = z[k]
            let u: T = c * (x + a * x * x * x)
            y[k] = x * (1 + T.tanh(u)) / 2
        }
    case .softmax:
        softmaxForward(y, UnsafeMutablePointer(mutating: z), bias: nil, rows: 1, n: n)
    case .exp:
        for k in 0..<n { y[k] = T.exp(z[k]) }
    }
}

// dS_in, dS_out, S_in and S_out are (rows, n): dS_in = dS_out ⊙ f'(S_in) (softmax: Jᵀ dS_out per row).
// dS_in may be dS_out (in place): the Hadamard half of equation (1).
func activationBackward<T: Scalar>(
    _ dSIn: UnsafeMutablePointer<T>, _ dSOut: UnsafePointer<T>,
    _ sIn: UnsafePointer<T>, _ sOut: UnsafePointer<T>, rows: Int, n: Int, _ f: Activation
) {
    // The in-place call gets its own copy of the loops, with one pointer for both: the compiler then
    // knows each element is read before it is written and vectorises without a runtime alias check.
    if UnsafePointer(dSIn) == dSOut {
        activationBackwardLoops(dSIn, UnsafePointer(dSIn), sIn, sOut, rows: rows, n: n, f)
    } else {
        activationBackwardLoops(dSIn, dSOut, sIn, sOut, rows: rows, n: n, f)
    }
}

@inline(__always)
func activationBackwardLoops<T: Scalar>(
    _ dSIn: UnsafeMutablePointer<T>, _ dSOut: UnsafePointer<T>,
    _ sIn: UnsafePointer<T>, _ sOut: UnsafePointer<T>, rows: Int, n: Int, _ f: Activation
) {
    let count = rows * n
    switch f {
    case .identity:
        if UnsafePointer(dSIn) != dSOut { dSIn.update(from: dSOut, count: count) }
    case .sigmoid:
        for j in 0..<count { let y = sOut[j]; dSIn[j] = dSOut[j] * y * (1 - y) }
    case .tanh:
        for j in 0..<count { let y = sOut[j]; dSIn[j] = dSOut[j] * (1 - y * y) }
    case .relu:
        // unconditional loads and a select (no branch): vectorised
        for j in 0..<count { let g = dSOut[j], x = sIn[j]; dSIn[j] = x > 0 ? g : 0 }
    case .leakyRelu:
        let a = T(leakySlope)
        for j in 0..<count { let g = dSOut[j], x = sIn[j]; dSIn[j] = x > 0 ? g : a * g }
    case .elu:
        for j in 0..<count { let g = dSOut[j], x = sIn[j], y = sOut[j]; dSIn[j] = x > 0 ? g : g * (y + 1) }
    case .softplus:
        for j in 0..<count { dSIn[j] = dSOut[j] * sigmoid(sIn[j]) }
    case .gelu:
        let c = T(geluC), a = T(geluA)
        for j in 0..<count {
            let x = sIn[j]
            let x2: T = x * x
            let t: T = T.tanh(c * (x + a * x2 * x))
            let du: T = c * (1 + 3 * a * x2)           // d/dx of the tanh argument
            let d: T = (1 + t) / 2 + x * (1 - t * t) * du / 2
            dSIn[j] = dSOut[j] * d
        }
    case .softmax:
        for r in 0..<rows {
            let g = dSOut + r * n, y = sOut + r * n, d = dSIn + r * n
            var dot: T = 0
            for k in 0..<n { dot += g[k] * y[k] }
            for k in 0..<n { d[k] = y[k] * (g[k] - dot) }
        }
    case .exp:
        for j in 0..<count { dSIn[j] = dSOut[j] * sOut[j] }
    }
}
