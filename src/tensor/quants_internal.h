/*
 * Helpers shared by the reference quantizers. Bit-compatibility with ggml
 * depends on every float operation happening in the same order and with the
 * same rounding as ggml's reference code, so these mirror its primitives.
 */
#ifndef HR_TENSOR_QUANTS_INTERNAL_H
#define HR_TENSOR_QUANTS_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "tensor/types.h"

/* A fused multiply-add rounds differently from ggml's separate operations;
 * gcc in ISO C mode never contracts, clang does unless told not to. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Round to nearest (ties to even) by adding 1.5*2^23 and reading the low
 * mantissa bits, as ggml does; valid for |v| < 2^22 and deterministic outside. */
static inline int hr_nearest_int(float v) {
    float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* C's float-to-integer truncation, defined for every input: where C leaves the
 * conversion undefined (NaN, inf, out of range) the result is what x86's
 * cvttss2si gives, INT32_MIN, which is what ggml's compiled code produces. */
static inline int32_t hr_trunc_i32(float v) {
    if (v > -2147483648.f && v < 2147483648.f) return (int32_t)v;
    return INT32_MIN;
}

static inline int hr_imin(int a, int b) { return a < b ? a : b; }
static inline int hr_imax(int a, int b) { return a > b ? a : b; }
static inline int hr_iclamp(int v, int lo, int hi) { return hr_imax(lo, hr_imin(hi, v)); }

#endif
