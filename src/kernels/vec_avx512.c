/*
 * AVX-512 F/BW/DQ/VL kernels: f32, f16 and q6_K, where 512-bit registers
 * measured faster. 512-bit versions of q8_0, q4_0, q4_K and q5_K measured
 * slower than the AVX2 kernels on a Sapphire Rapids core (zmm integer
 * multiply-adds issue on one port, ymm on two), so those keep AVX2. Built
 * without VNNI (see mk/kernels.mk) so that it runs on every AVX-512 CPU.
 */
#include <immintrin.h>

#include "kernels/kernels_impl.h"
#include "kernels/x86_avx512.h"

static void vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i < n; i += 16) {
        /* masked loads cover the tail without reading past the row */
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), a0);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}


/* One accumulator, in element order: the form the tiled F16 kernel
 * (gemm_vnni_avx512.c) reproduces for every (row, token) of a 4 x 6 tile.
 * Its dependency chain caps one row at 4 FMAs per 16 cycles, well above
 * what memory delivers to a matrix-vector product. */
static void vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_f16 *x = vx, *y = vy;
    __m512 a = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        a = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i))),
                            _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(y + i))), a);
    if (i < n) { /* masked loads only for the last partial vector: they cost more */
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        a = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)),
                            _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, y + i)), a);
    }
    *s = _mm512_reduce_add_ps(a);
}

/* q6_K: 128 weights per half in two registers of 64, element order:
 * [ql 0-31 low | ql 32-63 low] and [ql 0-31 high | ql 32-63 high], with the
 * 2-bit fields of qh (bits 0-1, 2-3 | 4-5, 6-7) as bits 4-5. Products use
 * w + 32 (unsigned) and subtract 32 * sum(scale * bsums) afterwards. */
static void vec_dot_q6_K(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q6_K *x = vx;
    const hr_block_q8_K *y = vy;
    const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
    const __m512i shl_a = _mm512_setr_epi64(0x0004000400040004, 0x0004000400040004, 0x0004000400040004, 0x0004000400040004,
                                            0x0002000200020002, 0x0002000200020002, 0x0002000200020002, 0x0002000200020002);
    const __m512i shr_b = _mm512_setr_epi64(0, 0, 0, 0, 0x0002000200020002, 0x0002000200020002, 0x0002000200020002,
                                            0x0002000200020002);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        __m128i sc8 = _mm_loadu_si128((const __m128i *)x[b].scales);
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[b].bsums));
        __m512i scz = _mm512_castsi256_si512(sc16);
        __m512i sumi = _mm512_setzero_si512();
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512(x[b].ql + 64 * h);
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h)));
            __m512i wa = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl_a), m30));
            __m512i wb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                         _mm512_and_si512(_mm512_srlv_epi16(qh, shr_b), m30));
            __m512i pa = _mm512_maddubs_epi16(wa, _mm512_loadu_si512(y[b].qs + 128 * h));
            __m512i pb = _mm512_maddubs_epi16(wb, _mm512_loadu_si512(y[b].qs + 128 * h + 64));
            /* 128-bit lane k of a 64-element chunk c holds group 4c + k */
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(pa, hr512_scale_quad(scz, 8 * h)));
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(pb, hr512_scale_quad(scz, 8 * h + 4)));
        }
        sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
        acc = _mm512_fmadd_ps(_mm512_set1_ps(hr512_f16(x[b].d) * y[b].d), _mm512_cvtepi32_ps(sumi), acc);
    }
    *s = _mm512_reduce_add_ps(acc);
}

void hr_kernels_fill_avx512(hr_kernels *k) {
    k->vec_dot[HR_TYPE_F32] = vec_dot_f32;
    k->vec_dot[HR_TYPE_F16] = vec_dot_f16;
    k->vec_dot[HR_TYPE_Q6_K] = vec_dot_q6_K;
}
