/// 1 if x is NaN or infinite, else 0, without a branch (an integer test of the exponent bits), so that
/// loops or-ing it together vectorise.
@inline(__always) func notFinite<T: Scalar>(_ x: T) -> UInt8 {
    unsafeBitCast(!x.isFinite, to: UInt8.self)
}

/// Whether all `count` values are finite.
@_specialize(exported: true, where T == Float)
@_specialize(exported: true, where T == Double)
public func allFinite<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Bool {
    var bad: UInt8 = 0
    for j in 0..<count { bad |= notFinite(x[j]) }
    return bad == 0
}
