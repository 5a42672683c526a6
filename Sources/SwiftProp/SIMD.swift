/// Branch-free element-wise loops, 8 lanes at a time: the compiler does not vectorise the scalar
/// `x > 0 ? a : b` loops over possibly-aliasing pointers, and their branches mispredict on real data.

@inline(__always) func load8<T: Scalar>(_ p: UnsafePointer<T>, _ j: Int) -> SIMD8<T> {
    UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<T>.self)
}

@inline(__always) func load8<T: Scalar>(_ p: UnsafeMutablePointer<T>, _ j: Int) -> SIMD8<T> {
    UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<T>.self)
}

@inline(__always) func store8<T: Scalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ j: Int) {
    UnsafeMutableRawPointer(p + j).storeBytes(of: v, as: SIMD8<T>.self)
}

/// Calls `vector(j)` for j = 0, 8, 16, … while 8 lanes fit, then `scalar(j)` for the tail.
@inline(__always) func forEach8(_ count: Int, _ vector: (Int) -> Void, _ scalar: (Int) -> Void) {
    var j = 0
    while j + 8 <= count { vector(j); j += 8 }
    while j < count { scalar(j); j += 1 }
}

/// Whether all `count` values are finite: x·0 is 0 for finite x and NaN otherwise, so one
/// vectorised sum answers for the whole buffer.
@_specialize(exported: true, where T == Float)
@_specialize(exported: true, where T == Double)
public func allFinite<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Bool {
    var acc = SIMD8<T>.zero
    var tail: T = 0
    forEach8(count, { j in acc += load8(x, j) * 0 }, { j in tail += x[j] * 0 })
    return acc.sum() + tail == 0
}

/// y[k] += x[k] for k < n.
@inline(__always) func addInPlace<T: Scalar>(_ y: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, n: Int) {
    forEach8(n, { k in store8(load8(y, k) + load8(x, k), y, k) }, { k in y[k] += x[k] })
}
