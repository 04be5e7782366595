/*
 * Element-wise and attention helpers of the scalar table: libm's expf, one
 * lane. The SIMD tables replace them with vector forms of ggml's exp (see
 * act_avx2.c, act_avx512.c) so that results track llama.cpp's on that ISA.
 */
#include <math.h>
#include <stdbool.h>

#include "kernels/kernels_impl.h"

static double exp_sum(float *x, int64_t n, float max) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] = expf(x[i] - max));
    return sum;
}

static void swiglu(int64_t n, float *g, const float *u) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* out[q] += w[q][i] * v_i, one fmaf per term (the SIMD forms' FMA), v_i F16 or F32 */
static void wsum_rows(bool f16, int64_t n, int nq, int npos, const float *w, size_t w_stride, const uint8_t *v,
                      size_t v_stride, float *out, size_t out_stride) {
    for (int q = 0; q < nq; q++) {
        float *o = out + (size_t)q * out_stride;
        for (int i = 0; i < npos; i++) {
            const float wi = w[(size_t)q * w_stride + i];
            const uint8_t *vr = v + (size_t)i * v_stride;
            for (int64_t d = 0; d < n; d++)
                o[d] = fmaf(wi, f16 ? hr_f16_to_f32(((const hr_f16 *)(const void *)vr)[d]) : ((const float *)(const void *)vr)[d],
                            o[d]);
        }
    }
}

void hr_wsum_f16_scalar(int64_t n, int nq, int npos, const float *w, size_t w_stride, const hr_f16 *v,
                        size_t v_stride, float *out, size_t out_stride) {
    wsum_rows(true, n, nq, npos, w, w_stride, (const uint8_t *)v, v_stride, out, out_stride);
}

void hr_wsum_f32_scalar(int64_t n, int nq, int npos, const float *w, size_t w_stride, const float *v,
                        size_t v_stride, float *out, size_t out_stride) {
    wsum_rows(false, n, nq, npos, w, w_stride, (const uint8_t *)v, v_stride, out, out_stride);
}

void hr_wsum_q8_0_scalar(int64_t n, int nq, int npos, const float *w, size_t w_stride, const void *v, size_t v_stride,
                         float *out, size_t out_stride) {
    for (int q = 0; q < nq; q++) {
        float *o = out + (size_t)q * out_stride;
        for (int i = 0; i < npos; i++) {
            const float wi = w[(size_t)q * w_stride + i];
            const hr_block_q8_0 *vb = (const hr_block_q8_0 *)(const void *)((const uint8_t *)v + (size_t)i * v_stride);
            for (int64_t d = 0; d < n; d++)
                o[d] = fmaf(wi, hr_f16_to_f32(vb[d / HR_QK8_0].d) * (float)vb[d / HR_QK8_0].qs[d % HR_QK8_0], o[d]);
        }
    }
}

float hr_scale_max_scalar(float *x, int64_t n, float s) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        x[i] *= s;
        if (x[i] > mx) mx = x[i];
    }
    return mx;
}

void hr_scale_scalar(float *x, int64_t n, float s) {
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

static void round_f16(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = hr_f16_to_f32(hr_f32_to_f16(x[i]));
}

void hr_act_fill_scalar(hr_kernels *k) {
    k->round_f16 = round_f16;
    k->exp_sum = exp_sum;
    k->swiglu = swiglu;
    k->wsum_f16 = hr_wsum_f16_scalar;
    k->wsum_f32 = hr_wsum_f32_scalar;
    k->wsum_q8_0 = hr_wsum_q8_0_scalar;
    k->scale_max = hr_scale_max_scalar;
    k->scale = hr_scale_scalar;
}
