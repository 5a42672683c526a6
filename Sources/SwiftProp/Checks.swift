/// Non-zero if x is NaN or infinite, without a branch (see Scalar.nonFiniteWord): loops OR-ing it
/// together vectorise. (A Bool-to-UInt8 flag did too, but packed every vector of results to bytes:
/// the check pass of an SGD step took 1.7× its commit pass.)
@inline(__always) func notFinite<T: Scalar>(_ x: T) -> T.Word {
    T.nonFiniteWord(x)
}

/// Whether all `count` values are finite.
@_specialize(exported: true, where T == Float)
@_specialize(exported: true, where T == Double)
public func allFinite<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Bool {
    var bad: T.Word = 0
    for j in 0..<count { bad |= notFinite(x[j]) }
    return bad == 0
}
