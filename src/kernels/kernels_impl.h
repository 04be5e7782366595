/*
 * Internal to src/kernels: the per-ISA table fillers and small helpers shared
 * by the scalar code and the SIMD files (which fall back to scalar kernels for
 * the types they do not vectorise).
 */
#ifndef HR_KERNELS_IMPL_H
#define HR_KERNELS_IMPL_H

#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

/* Each fills every entry it implements, over a table already holding the
 * scalar kernels. Defined only in builds that compile that ISA's file. */
void hr_kernels_fill_avx2(hr_kernels *k);
void hr_kernels_fill_avx512(hr_kernels *k);
void hr_kernels_fill_avx512vnni(hr_kernels *k);
void hr_kernels_fill_neon(hr_kernels *k);
void hr_kernels_fill_neon_dotprod(hr_kernels *k);

/* Scalar kernels, by name, for SIMD files that reuse them. */
void hr_vec_dot_f32_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_f16_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_bf16_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q4_0_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q4_1_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q5_0_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q5_1_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q8_0_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q2_K_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q3_K_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q4_K_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q5_K_scalar(int64_t n, float *s, const void *x, const void *y);
void hr_vec_dot_q6_K_scalar(int64_t n, float *s, const void *x, const void *y);

/* The 6-bit scale and min of sub-block j (0..7) of a q4_K/q5_K block. */
static inline void hr_k4_scale_min(const uint8_t *q, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* All 8 scales then all 8 mins of a q4_K/q5_K block, as bytes. */
static inline void hr_k4_unpack_scales(const uint8_t *q, uint8_t out[16]) {
    for (int j = 0; j < 8; j++) hr_k4_scale_min(q, j, &out[j], &out[8 + j]);
}

/* The 16 signed scales of a q3_K block (6-bit values stored offset by 32). */
static inline void hr_q3k_unpack_scales(const uint8_t *b, int8_t out[16]) {
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? (b[i] & 15) : (b[i - 8] >> 4);
        int hi = (b[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

static inline uint32_t hr_load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#endif
