import _CBLAS
import _CMath
import Glibc

extension Double: Scalar {
    @inlinable @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable @inline(__always) public static func expm1(_ x: Double) -> Double { Glibc.expm1(x) }
    @inlinable @inline(__always) public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inlinable @inline(__always) public static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    @inlinable @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inlinable @inline(__always) public static func sqrt(_ x: Double) -> Double { sp_sqrt(x) }
    @inlinable @inline(__always) public static func vexp(_ x: Double) -> Double { Glibc.exp(x) }

    // all exponent bits set ⟺ NaN or ±inf; adding the exponent's lowest bit then carries into the sign bit
    @inlinable @inline(__always) public static func nonFiniteWord(_ x: Double) -> UInt64 {
        ((x.bitPattern & 0x7ff0_0000_0000_0000) &+ 0x0010_0000_0000_0000) & ~(UInt64.max >> 1)
    }

    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        scipy_cblas_dgemm(
            SPCblasRowMajor, transA ? SPCblasTrans : SPCblasNoTrans, transB ? SPCblasTrans : SPCblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
