// Square roots without errno: the C library's sqrtf/sqrt may set errno for negative inputs, which
// makes the compiler guard every call with a branch and keeps loops (Adam's √v) from vectorising.
#ifndef SWIFTPROP_CMATH_INLINE_H
#define SWIFTPROP_CMATH_INLINE_H

static inline float sp_sqrtf(float x) { return __builtin_elementwise_sqrt(x); }
static inline double sp_sqrt(double x) { return __builtin_elementwise_sqrt(x); }

#endif
