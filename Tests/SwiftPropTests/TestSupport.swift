// Shared helpers of the SwiftProp tests: a deterministic RNG, raw buffers, finite differences and
// gradient comparison. Every check body is generic over `T: Scalar` and runs for Float and Double;
// the reference (finite differences) is always evaluated in Double, on the same T-rounded inputs.
@testable import SwiftProp

// MARK: - Scalar types under test

/// The two instantiations every generic check runs for (opened back into `T` by the callee).
let scalarTypes: [any Scalar.Type] = [Float.self, Double.self]

/// Relative tolerance of an analytic T gradient against the Double reference.
func gradientTolerance<T: Scalar>(_: T.Type) -> Double {
    T.significandBitCount < Double.significandBitCount ? 1e-3 : 1e-7
}

/// `x` rounded to T and back: the value both the T computation and the Double reference see.
func roundTrip<T: Scalar>(_ x: Double, _: T.Type) -> Double { Double(T(x)) }

// MARK: - Deterministic RNG

/// SplitMix64: a tiny, fully deterministic 64-bit generator.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// Uniform in [lo, hi) with |x| >= gap (keeps inputs away from the kinks at 0).
    mutating func uniform(_ lo: Double, _ hi: Double, awayFromZero gap: Double) -> Double {
        while true {
            let x = uniform(lo, hi)
            if abs(x) >= gap { return x }
        }
    }

    /// Uniform in 0..<n.
    mutating func index(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

// MARK: - Raw buffers

/// A fresh buffer holding `values`; the caller deallocates it (`defer { p.deallocate() }`).
func allocate<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
    p.initialize(from: values, count: values.count)
    return p
}

/// A fresh buffer of `count` copies of `value`; the caller deallocates it.
func allocate<T>(repeating value: T, count: Int) -> UnsafeMutablePointer<T> {
    let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
    p.initialize(repeating: value, count: count)
    return p
}

func doubles<T: Scalar>(_ p: UnsafePointer<T>, count: Int) -> [Double] {
    (0..<count).map { Double(p[$0]) }
}

// MARK: - Finite differences

/// Central difference of `f` at `x` with a relative step: (f(x+h) − f(x−h)) / ((x+h) − (x−h)), the
/// divisor being the step actually taken after rounding.
func centralDifference(at x: Double, relativeStep: Double = 1e-6, _ f: (Double) -> Double) -> Double {
    let h = relativeStep * max(1, abs(x))
    let xp = x + h, xm = x - h
    return (f(xp) - f(xm)) / (xp - xm)
}

/// Fourth-order central difference (−f(x+2h) + 8 f(x+h) − 8 f(x−h) + f(x−2h)) / 12h, h relative to
/// |x|. For whole-network costs: the rounding noise of a cost, ~1e-16 · |cost|, divided by a 1e-6 step
/// is ~1e-10, which is 1e-5 relative on the small entries of a gradient; this stencil's truncation
/// error is O(h⁴), so a step of 5e-4 keeps both below ~1e-12.
func fourthOrderCentralDifference(at x: Double, relativeStep: Double = 5e-4, _ f: (Double) -> Double) -> Double {
    let h = relativeStep * max(1, abs(x))
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)
}

// MARK: - Comparison

struct GradientMismatch: CustomStringConvertible {
    let index: Int
    let analytic: Double
    let reference: Double
    let error: Double
    var description: String {
        "worst entry \(index): analytic \(analytic), finite difference \(reference), relative error \(error)"
    }
}

/// The worst per-entry relative error |a − r| / max(|r|, floor), floor = floorFraction · max|r|
/// (near-zero entries are judged against the scale of the whole gradient, not their own).
func worstRelativeError(_ analytic: [Double], _ reference: [Double], floorFraction: Double = 1e-4)
    -> GradientMismatch
{
    precondition(analytic.count == reference.count)
    let scale = reference.reduce(0) { max($0, abs($1)) }
    let floor = max(floorFraction * scale, Double.leastNormalMagnitude)
    var worst = GradientMismatch(index: -1, analytic: 0, reference: 0, error: 0)
    for j in analytic.indices {
        let a = analytic[j], r = reference[j]
        let e = a.isFinite ? abs(a - r) / max(abs(r), floor) : .infinity
        if e > worst.error || worst.index < 0 {
            worst = GradientMismatch(index: j, analytic: a, reference: r, error: e)
        }
    }
    return worst
}
