/*
 * AVX-512 VNNI kernels: vpdpbusd multiplies u8 x s8 quadruples and adds them
 * to i32 lanes in one instruction, replacing vpmaddubsw + vpmaddwd where the
 * second step only summed pairs (q8_0, q4_0). On 256-bit registers (AVX512VL):
 * current cores run the 512-bit integer multiplies on one port instead of
 * two, which measured slower here. The K-quants need a per-group scale
 * multiply after the byte products either way and keep the other kernels.
 */
#include <immintrin.h>

#include "kernels/kernels_impl.h"
#include "kernels/x86_common.h"

static inline __m256i loadu(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* 32 nibbles of a 32-element block: low nibbles are elements 0-15, high 16-31. */
static inline __m256i nibbles(const uint8_t *qs, __m256i m4) {
    __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), m4);
}

/* sum x*y of signed bytes in 8 i32 lanes (y is never -128) */
static inline __m256i dot_s8(__m256i x, __m256i y) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

static void vec_dot_q8_0(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q8_0 *x = vx, *y = vy;
#define DOT(b) dot_s8(loadu(x[b].qs), loadu(y[b].qs))
#define XD(b) x[b].d
#define YD(b) y[b].d
    HRX_DOT32_LOOP(n / HR_QK8_0, DOT, XD, YD, *s);
#undef DOT
}

static void vec_dot_q4_0(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_0 *x = vx;
    const hr_block_q8_0 *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF), eight = _mm256_set1_epi8(8);
#define DOT(b) dot_s8(_mm256_sub_epi8(nibbles(x[b].qs, m4), eight), loadu(y[b].qs))
    HRX_DOT32_LOOP(n / HR_QK4_0, DOT, XD, YD, *s);
#undef DOT
#undef XD
#undef YD
}

void hr_kernels_fill_avx512vnni(hr_kernels *k) {
    k->vec_dot[HR_TYPE_Q8_0] = vec_dot_q8_0;
    k->vec_dot[HR_TYPE_Q4_0] = vec_dot_q4_0;
}
