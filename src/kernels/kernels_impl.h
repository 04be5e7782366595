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

/* Full unrolling of the short inner loops of the K-quant kernels turns their
 * per-iteration shuffle masks and offsets into constants (-O2 does not). */
#define HR_UNROLL _Pragma("GCC unroll 8")

/* Each fills every entry it implements, over a table already holding the
 * scalar kernels. Defined only in builds that compile that ISA's file. */
void hr_kernels_fill_avx2(hr_kernels *k);
void hr_kernels_fill_avx512(hr_kernels *k);
void hr_kernels_fill_avx512vnni(hr_kernels *k);
void hr_kernels_fill_neon(hr_kernels *k);
void hr_gemm_fill_avx512vnni(hr_kernels *k); /* tiled kernels, gemm_vnni_avx512.c */
void hr_gemm_fill_amx(hr_kernels *k);        /* q4_K on AMX tiles, gemm_amx.c */
void hr_scores_fill_amx(hr_kernels *k);      /* Q8_0 attention scores on AMX tiles, scores_amx.c */
/* The VNNI Q8_0 scores kernel, for the shapes the AMX one hands back. */
void hr_scores_q8_0_avx512vnni(int64_t n, int nr, int nt, const void *w, size_t ws, const void *xa, size_t xs, float *out,
                               size_t os);
void hr_act_fill_scalar(hr_kernels *k);       /* exp, SwiGLU, attention sums: act_*.c */
void hr_act_fill_avx2(hr_kernels *k);
void hr_act_fill_avx512(hr_kernels *k);
void hr_wsum_f16_scalar(int64_t n, int nq, int npos, const float *w, size_t w_stride, const hr_f16 *v, size_t v_stride,
                        float *out, size_t out_stride);
void hr_wsum_f32_scalar(int64_t n, int nq, int npos, const float *w, size_t w_stride, const float *v, size_t v_stride,
                        float *out, size_t out_stride);
float hr_scale_max_scalar(float *x, int64_t n, float s);
void hr_scale_scalar(float *x, int64_t n, float s);
void hr_wsum_q8_0_scalar(int64_t n, int nq, int npos, const float *w, size_t w_stride, const void *v, size_t v_stride,
                         float *out, size_t out_stride);
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

/* Models of llama.cpp's x86 q8_0/q8_1 activation quantizers (quant_x86_model.c),
 * which the x86 SIMD tables use instead of ggml's reference ones. */
void hr_quantize_row_q8_0_x86(const float *x, void *y, int64_t n);
void hr_quantize_row_q8_1_x86(const float *x, void *y, int64_t n);

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

/* The same as four words: bytes 0-7 of out are the scales, 8-15 the mins.
 * Sub-blocks 0-3 keep 6 bits in bytes 0-3 (scales) and 4-7 (mins); 4-7 keep
 * their low 4 bits in the nibbles of bytes 8-11 and their top 2 bits in the
 * top 2 bits of bytes 0-7. */
static inline void hr_k4_scales_words(const uint8_t *q, uint32_t out[4]) {
    uint32_t w0, w1, w2;
    memcpy(&w0, q, 4);
    memcpy(&w1, q + 4, 4);
    memcpy(&w2, q + 8, 4);
    out[0] = w0 & 0x3f3f3f3fu;
    out[1] = (w2 & 0x0f0f0f0fu) | ((w0 >> 2) & 0x30303030u);
    out[2] = w1 & 0x3f3f3f3fu;
    out[3] = ((w2 >> 4) & 0x0f0f0f0fu) | ((w1 >> 2) & 0x30303030u);
}

/* Byte-shuffle masks that pick scale bytes 2k and 2k+1, eight times each:
 * applied to 16 per-16-element scales, they give the scales of the two
 * 16-element groups covered by 32 consecutive quants. */
static const uint8_t hr_scale_pair_masks[8][16] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},         {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5},         {6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},         {10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13}, {14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15},
};

/* The 16 signed scales of a q3_K block (6-bit values stored offset by 32). */
static inline void hr_q3k_unpack_scales(const uint8_t *b, int8_t out[16]) {
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? (b[i] & 15) : (b[i - 8] >> 4);
        int hi = (b[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* The same 16 scales as four words of bytes still offset by 32 (0..63):
 * low nibbles of bytes 0-7 then their high nibbles, each with 2 top bits
 * from bytes 8-11 taken 2 bits at a time per group of four scales. */
static inline void hr_q3k_scales_words(const uint8_t *b, uint32_t out[4]) {
    uint32_t a0, a1, t;
    memcpy(&a0, b, 4);
    memcpy(&a1, b + 4, 4);
    memcpy(&t, b + 8, 4);
    out[0] = (a0 & 0x0f0f0f0fu) | ((t & 0x03030303u) << 4);
    out[1] = (a1 & 0x0f0f0f0fu) | (((t >> 2) & 0x03030303u) << 4);
    out[2] = ((a0 >> 4) & 0x0f0f0f0fu) | (((t >> 4) & 0x03030303u) << 4);
    out[3] = ((a1 >> 4) & 0x0f0f0f0fu) | (((t >> 6) & 0x03030303u) << 4);
}

static inline uint32_t hr_load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#endif
