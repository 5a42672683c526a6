/// The one protocol the core is generic over: a floating-point type with the elementary
/// functions and the BLAS matrix product the layers need. `Float+Scalar.swift` and
/// `Double+Scalar.swift` hold the two conformances (and so the sgemm/dgemm calls).
public protocol Scalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    /// An unsigned integer as wide as the type.
    associatedtype Word: FixedWidthInteger & UnsignedInteger
    /// Non-zero exactly when x is NaN or infinite, from integer operations on its bits alone: OR-ed
    /// over a loop, it is a reduction in lanes as wide as the data, which vectorises without packing.
    static func nonFiniteWord(_ x: Self) -> Word
    static func exp(_ x: Self) -> Self
    static func expm1(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func sqrt(_ x: Self) -> Self
    /// e^x in a form loops can vectorise (no call): used by softmax, where libm's exp was 14 % of a
    /// 64-32-10 training step. Float: a polynomial within 2 ulp of e^x; Double: libm's exp.
    static func vexp(_ x: Self) -> Self

    /// Row-major C = alpha · op(A) · op(B) + beta · C, with op(A) (m, k), op(B) (k, n), C (m, n).
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}
