/// Inverted dropout on a hidden layer's output during training: each unit is kept with probability
/// 1 − p and scaled by 1/(1 − p), so the expected input of the next layer is unchanged and inference
/// needs no rescaling. The forward/backward pair, and the generator of the masks.

/// SplitMix64: a small, fast generator whose sequence is fixed by its seed (reproducible training).
public struct SplitMix64: Sendable {
    var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inline(__always) mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    @inline(__always) mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

// S_out, mask and out are (count): mask = 1/(1−p) with probability 1 − p else 0, out = S_out ⊙ mask
func dropoutForward<T: Scalar>(
    _ out: UnsafeMutablePointer<T>, _ mask: UnsafeMutablePointer<T>, _ sOut: UnsafePointer<T>,
    count: Int, rate p: Double, rng: inout SplitMix64
) {
    let keep = T(1 / (1 - p))
    for j in 0..<count { mask[j] = rng.uniform() < p ? 0 : keep }
    for j in 0..<count { out[j] = sOut[j] * mask[j] }
}

// dS_out and mask are (count): dS_out ⊙= mask, the derivative of S_out ⊙ mask
func dropoutBackward<T: Scalar>(_ dSOut: UnsafeMutablePointer<T>, _ mask: UnsafePointer<T>, count: Int) {
    for j in 0..<count { dSOut[j] *= mask[j] }
}
