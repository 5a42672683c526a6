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

    // e^x = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2 (r in two steps, ln 2 split so that
    // n · ln2Hi is exact); e^r by its degree-7 Taylor-like polynomial fitted on that interval (the
    // classic minimax coefficients); 2^n built in the exponent bits. n comes from adding 1.5·2^23,
    // which leaves round(x / ln 2) in the low mantissa bits: no conversion that could trap. Out of
    // range: 0 below ln(2^-126) (no subnormals), +inf where e^x overflows; NaN stays NaN.
    @inlinable @inline(__always) public static func vexp(_ x: Float) -> Float {
        let magic: Float = 12_582_912  // 1.5 · 2^23
        let xc = Swift.min(Swift.max(x, -87.33654), 88.72283)
        let t = xc * 1.442_695_04 + magic
        let n = t - magic
        let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * r * r + r + 1
        // 2^n as 2^h · 2^(n−h), both normal for n in [−126, 128] (2^128 itself is not a float)
        let ni = Int32(bitPattern: t.bitPattern &- magic.bitPattern), h = ni &>> 1
        let s1 = Float(bitPattern: UInt32(bitPattern: (h &+ 127) &<< 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (ni &- h &+ 127) &<< 23))
        let y = er * s1 * s2
        return x < -87.33654 ? 0 : (x > 88.72283 ? .infinity : y)
    }

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
