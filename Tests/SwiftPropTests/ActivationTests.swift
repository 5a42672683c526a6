import Glibc
import Testing
@testable import SwiftProp

// activationBackward (dS_in = dS_out ⊙ f'(S_in), softmax: Jᵀ dS_out per row) against central
// differences of activationForward: dS_in_j = ∂/∂S_in_j Σ_k dS_out_k · f(S_in)_k.

@Test("activationBackward matches finite differences of activationForward",
      arguments: scalarTypes, Activation.allCases)
func activationBackwardMatchesFiniteDifferences(type: any Scalar.Type, f: Activation) {
    checkActivationBackward(type, f)
}

func checkActivationBackward<T: Scalar>(_: T.Type, _ f: Activation) {
    let rows = 3, n = 5, count = rows * n
    var rng = SplitMix64(seed: 0xAC71_0000 &+ UInt64(f.rawValue))
    // Inputs in ±3 (sigmoid and tanh unsaturated enough for Float), never within 1e-3 of the kinks.
    let x = (0..<count).map { _ in roundTrip(rng.uniform(-3, 3, awayFromZero: 1e-3), T.self) }
    let g = (0..<count).map { _ in roundTrip(rng.uniform(-1, 1), T.self) }

    // Analytic, in T.
    let xT = allocate(x.map { T($0) }), gT = allocate(g.map { T($0) })
    let yT = allocate(repeating: T(0), count: count), dT = allocate(repeating: T.nan, count: count)
    let inPlace = allocate(g.map { T($0) })
    defer { xT.deallocate(); gT.deallocate(); yT.deallocate(); dT.deallocate(); inPlace.deallocate() }
    activationForward(yT, xT, rows: rows, n: n, f)
    activationBackward(dT, gT, xT, yT, rows: rows, n: n, f)
    activationBackward(inPlace, inPlace, xT, yT, rows: rows, n: n, f)  // dS_in aliasing dS_out
    let analytic = doubles(dT, count: count)

    // Reference, in Double: only the perturbed entry's row changes, so Σ_k g_k (y⁺_k − y⁻_k) is
    // formed from the two outputs directly (the untouched entries cancel exactly).
    let xD = allocate(x), yP = allocate(repeating: 0.0, count: count), yM = allocate(repeating: 0.0, count: count)
    defer { xD.deallocate(); yP.deallocate(); yM.deallocate() }
    var reference = [Double](repeating: 0, count: count)
    for j in 0..<count {
        let h = 1e-6 * max(1, abs(x[j]))
        xD[j] = x[j] + h; let xp = xD[j]
        activationForward(yP, xD, rows: rows, n: n, f)
        xD[j] = x[j] - h; let xm = xD[j]
        activationForward(yM, xD, rows: rows, n: n, f)
        xD[j] = x[j]
        var s = 0.0
        for k in 0..<count { s += g[k] * (yP[k] - yM[k]) }
        reference[j] = s / (xp - xm)
    }

    let worst = worstRelativeError(analytic, reference)
    #expect(worst.error <= gradientTolerance(T.self), "\(T.self) \(f): \(worst)")
    #expect((0..<count).allSatisfy { inPlace[$0] == dT[$0] }, "\(T.self) \(f): in-place backward differs")
}

// The forward values themselves, at a few points, against closed forms evaluated in Double.
@Test("activationForward matches closed forms", arguments: scalarTypes, Activation.allCases)
func activationForwardValues(type: any Scalar.Type, f: Activation) {
    checkActivationForward(type, f)
}

func checkActivationForward<T: Scalar>(_: T.Type, _ f: Activation) {
    let x: [Double] = [-2.5, -0.75, 0.5, 1.25, 3.0, -1.0].map { roundTrip($0, T.self) }
    let rows = 2, n = 3
    func expected(_ x: [Double]) -> [Double] {
        func sig(_ v: Double) -> Double { 1 / (1 + Double.exp(-v)) }
        switch f {
        case .identity: return x
        case .sigmoid: return x.map(sig)
        case .tanh: return x.map { Double.tanh($0) }
        case .relu: return x.map { max($0, 0) }
        case .leakyRelu: return x.map { $0 > 0 ? $0 : 0.01 * $0 }
        case .elu: return x.map { $0 > 0 ? $0 : Double.exp($0) - 1 }
        case .softplus: return x.map { Double.log(1 + Double.exp($0)) }
        case .gelu:
            return x.map { v in 0.5 * v * (1 + Double.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))) }
        case .exp: return x.map { Double.exp($0) }
        case .softmax:
            var out: [Double] = []
            for r in 0..<rows {
                let e = (0..<n).map { Double.exp(x[r * n + $0]) }
                let s = e.reduce(0, +)
                out += e.map { $0 / s }
            }
            return out
        }
    }
    let xT = allocate(x.map { T($0) }), yT = allocate(repeating: T.nan, count: x.count)
    defer { xT.deallocate(); yT.deallocate() }
    activationForward(yT, xT, rows: rows, n: n, f)
    let worst = worstRelativeError(doubles(yT, count: x.count), expected(x), floorFraction: 0)
    // gelu's 1 + tanh(u) cancels for negative x: allow a few hundred ulps.
    #expect(worst.error <= 1000 * Double(T.ulpOfOne), "\(T.self) \(f): \(worst)")
}

// Float's vectorisable exp (softmax's) against Double's libm exp: within 2 ulp over the whole normal
// range, 0 below it, +inf above, NaN through.
@Test("Float.vexp is within 2 ulp of exp")
func floatVexpAccuracy() {
    var rng = SplitMix64(seed: 0xE4B)
    var xs: [Float] = [0, -0.0, 1, -1, 0.5, -0.3465736, 0.3465736, 10, -10, 80, 88, 88.7, 88.72283, -87, -87.33654]
    xs += (0..<20000).map { _ in Float(rng.uniform(-87.3, 88.7)) }
    xs += (0..<2000).map { _ in Float(rng.uniform(-1, 1)) }
    var worst: Float = 0
    for x in xs {
        let ref = Float(Glibc.exp(Double(x)))
        let got = Float.vexp(x)
        worst = max(worst, abs(got - ref) / ref.ulp)
    }
    #expect(worst <= 2, "worst \(worst) ulp")
    #expect(Float.vexp(-88) == 0 && Float.vexp(-.infinity) == 0 && Float.vexp(-1e30) == 0)
    #expect(Float.vexp(89) == .infinity && Float.vexp(.infinity) == .infinity)
    let big = Float(Glibc.exp(Double(Float(88.72))))  // the largest finite results stay finite
    #expect(Float.vexp(88.72).isFinite && abs(Float.vexp(88.72) - big) <= 2 * big.ulp)
    #expect(Float.vexp(.nan).isNaN)
}
