// Square roots without errno: the C library's sqrtf/sqrt may set errno for negative inputs, which
// makes the compiler guard every call with a branch and keeps loops (Adam's √v) from vectorising.
#ifndef SWIFTPROP_CMATH_INLINE_H
#define SWIFTPROP_CMATH_INLINE_H

static inline float sp_sqrtf(float x) { return __builtin_elementwise_sqrt(x); }
static inline double sp_sqrt(double x) { return __builtin_elementwise_sqrt(x); }

// A spin-wait hint for the worker pool's short waits (x86 PAUSE / ARM YIELD).
static inline void sp_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
