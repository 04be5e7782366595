/*
 * Scalar models of the activation quantizers llama.cpp's x86 CPU backend runs
 * (ggml-cpu/arch/x86/quants.c, quantize_row_q8_0/q8_1 in every AVX/AVX2/AVX-512
 * build) where they differ from ggml's *_ref ones: the multiplier is
 * 127/amax rather than 1/(amax/127) (one ulp apart for some amax), rounding is
 * to nearest even rather than away from zero, and the conversion saturates.
 * Tiny models amplify a single flipped rounding, so the x86 kernels mirror
 * these; the test of the SIMD quantizers compares them with this model.
 */
#include <math.h>

#include "kernels/kernels_impl.h"
#include "tensor/quants.h"

static float amax_x86(const float *x, int n) {
    float m = 0.0f;
    /* maxps returns its second operand when either is NaN */
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        m = m > a ? m : a;
    }
    return m;
}

/* cvtps2dq of a value rounded to nearest even, then the packs' saturation;
 * out-of-range and NaN give INT32_MIN, which saturates to -128. */
static int8_t sat_round(float v) {
    float r = rintf(v);
    if (!(r >= -2147483648.0f && r < 2147483648.0f)) return -128;
    int32_t i = (int32_t)r;
    return (int8_t)(i > 127 ? 127 : i < -128 ? -128 : i);
}

static float block_x86(const float *x, int8_t *qs, int32_t *sum) {
    const float amax = amax_x86(x, 32);
    const float d = amax / 127.f;
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    uint32_t s = 0; /* paddd wraps */
    for (int j = 0; j < 32; j++) {
        float r = rintf(x[j] * id);
        /* the sum is taken over the 32-bit integers, before saturation */
        s += (r >= -2147483648.0f && r < 2147483648.0f) ? (uint32_t)(int32_t)r : 0x80000000u;
        qs[j] = sat_round(x[j] * id);
    }
    *sum = (int32_t)s;
    return d;
}

void hr_quantize_row_q8_0_x86(const float *x, void *vy, int64_t n) {
    hr_block_q8_0 *y = vy;
    int32_t s;
    for (int64_t b = 0; b < n / HR_QK8_0; b++) y[b].d = hr_f32_to_f16(block_x86(x + HR_QK8_0 * b, y[b].qs, &s));
}

void hr_quantize_row_q8_1_x86(const float *x, void *vy, int64_t n) {
    hr_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / HR_QK8_1; b++) {
        int32_t s;
        float d = block_x86(x + HR_QK8_1 * b, y[b].qs, &s);
        y[b].d = hr_f32_to_f16(d);
        y[b].s = hr_f32_to_f16(d * (float)s);
    }
}
