import _CBLAS
import _CMath
import Glibc

extension Float: Scalar {
    @inlinable @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inlinable @inline(__always) public static func expm1(_ x: Float) -> Float { expm1f(x) }
    @inlinable @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inlinable @inline(__always) public static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inlinable @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inlinable @inline(__always) public static func sqrt(_ x: Float) -> Float { sp_sqrtf(x) }

    // all exponent bits set ⟺ NaN or ±inf; adding the exponent's lowest bit then carries into the sign bit
    @inlinable @inline(__always) public static func nonFiniteWord(_ x: Float) -> UInt32 {
        ((x.bitPattern & 0x7f80_0000) &+ 0x0080_0000) & ~(UInt32.max >> 1)
    }

    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        scipy_cblas_sgemm(
            SPCblasRowMajor, transA ? SPCblasTrans : SPCblasNoTrans, transB ? SPCblasTrans : SPCblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
