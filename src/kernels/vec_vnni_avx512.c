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
#include "kernels/x86_avx512.h"

static inline __m256i loadu(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* sum x*y of signed bytes in 8 i32 lanes (y is never -128) */
static inline __m256i dot_s8(__m256i x, __m256i y) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

static void vec_dot_q8_0(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q8_0 *x = vx, *y = vy;
    const int64_t nb = n / HR_QK8_0;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m256i p0 = dot_s8(loadu(x[b].qs), loadu(y[b].qs));
        __m256i p1 = dot_s8(loadu(x[b + 1].qs), loadu(y[b + 1].qs));
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(hr512_f16(x[b].d) * hr512_f16(y[b].d)), _mm256_cvtepi32_ps(p0), a0);
        a1 = _mm256_fmadd_ps(_mm256_set1_ps(hr512_f16(x[b + 1].d) * hr512_f16(y[b + 1].d)), _mm256_cvtepi32_ps(p1), a1);
    }
    for (; b < nb; b++) {
        __m256i p = dot_s8(loadu(x[b].qs), loadu(y[b].qs));
        a0 = _mm256_fmadd_ps(_mm256_set1_ps(hr512_f16(x[b].d) * hr512_f16(y[b].d)), _mm256_cvtepi32_ps(p), a0);
    }
    *s = hr512_hsum256(_mm256_add_ps(a0, a1));
}

static void vec_dot_q4_0(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_0 *x = vx;
    const hr_block_q8_0 *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF), eight = _mm256_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK4_0; b++) {
        __m128i raw = _mm_loadu_si128((const __m128i *)x[b].qs);
        __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), m4);
        __m256i p = dot_s8(_mm256_sub_epi8(q, eight), loadu(y[b].qs));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(hr512_f16(x[b].d) * hr512_f16(y[b].d)), _mm256_cvtepi32_ps(p), acc);
    }
    *s = hr512_hsum256(acc);
}

void hr_kernels_fill_avx512vnni(hr_kernels *k) {
    k->vec_dot[HR_TYPE_Q8_0] = vec_dot_q8_0;
    k->vec_dot[HR_TYPE_Q4_0] = vec_dot_q4_0;
}
