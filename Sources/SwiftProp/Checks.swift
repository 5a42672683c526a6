/// Non-zero if x is NaN or infinite, without a branch (see Scalar.nonFiniteWord): loops OR-ing it
/// together vectorise. (A Bool-to-UInt8 flag did too, but packed every vector of results to bytes:
/// the check pass of an SGD step took 1.7× its commit pass.)
@inline(__always) func notFinite<T: Scalar>(_ x: T) -> T.Word {
    T.nonFiniteWord(x)
}

/// Whether all `count` values are finite. Large arrays are scanned by the pool's threads (a memory-bound
/// pass: inputs are checked on every call, 0.5 ms of a 5 ms forward at 1024 × 784 on one thread).
@_specialize(exported: true, where T == Float)
@_specialize(exported: true, where T == Double)
public func allFinite<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Bool {
    !parallelAny(count: count, minCount: 1 << 16) { r in
        var acc: T.Word = 0
        for j in r { acc |= notFinite(x[j]) }
        return acc != 0
    }
}

/// Non-zero unless |x| ≤ limit (so also for NaN), in lanes as wide as the data, like notFinite.
@inline(__always) func outside<T: Scalar>(_ x: T, _ limit: T) -> T.Word { x.magnitude <= limit ? 0 : 1 }

/// Non-zero if x is negative or NaN.
@inline(__always) func negativeOrNaN<T: Scalar>(_ x: T) -> T.Word { x >= 0 ? 0 : 1 }
