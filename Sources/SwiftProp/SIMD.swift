/// Branch-free element-wise loops, 8 lanes at a time. The compiler does not vectorise the scalar
/// `x > 0 ? a : b` loops over possibly-aliasing pointers, and their branches mispredict on real data.
/// Kernels are written once on SIMD8; `ld`/`st` handle the last, partial group of lanes (zero-padded).

@inline(__always) func ld<T: Scalar>(_ p: UnsafePointer<T>, _ j: Int, _ lanes: Int) -> SIMD8<T> {
    if lanes == 8 { return UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<T>.self) }
    var v = SIMD8<T>.zero
    for k in 0..<lanes { v[k] = p[j + k] }
    return v
}

@inline(__always) func ld<T: Scalar>(_ p: UnsafeMutablePointer<T>, _ j: Int, _ lanes: Int) -> SIMD8<T> {
    ld(UnsafePointer(p), j, lanes)
}

@inline(__always) func st<T: Scalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ j: Int, _ lanes: Int) {
    if lanes == 8 {
        UnsafeMutableRawPointer(p + j).storeBytes(of: v, as: SIMD8<T>.self)
    } else {
        for k in 0..<lanes { p[j + k] = v[k] }
    }
}

/// Whether all `count` values are finite: x·0 is 0 for finite x and NaN otherwise, so one
/// vectorised sum answers for the whole buffer.
@_specialize(exported: true, where T == Float)
@_specialize(exported: true, where T == Double)
public func allFinite<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Bool {
    var acc = SIMD8<T>.zero
    var j = 0
    while j < count { acc += ld(x, j, min(8, count - j)) * 0; j += 8 }
    return acc.sum() == 0
}

/// y[k] += x[k] for k < n.
@inline(__always) func addInPlace<T: Scalar>(_ y: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, n: Int) {
    var k = 0
    while k < n { let l = min(8, n - k); st(ld(y, k, l) + ld(x, k, l), y, k, l); k += 8 }
}
