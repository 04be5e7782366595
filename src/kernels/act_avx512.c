/*
 * AVX-512 element-wise and attention helpers. exp is ggml's AVX-512 vector
 * exp (the scalar model of it is expf_avx512_form in src/models/vexp.c,
 * which the tests compare with this bit for bit): a degree-5 polynomial on
 * the reduced argument, scaled by 2^n with vscalefps. Sums are grouped as
 * ggml's vector softmax groups them: lanes pairwise by halves, blocks of 16
 * added in double.
 */
#include <immintrin.h>
#include <math.h>
#include <stdbool.h>

#include "kernels/kernels_impl.h"

static inline __m512 exp16(__m512 x) {
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 res = _mm512_scalef_ps(j, n);
    const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192.0f), _CMP_GT_OQ);
    if (!big) return res;
    const __mmask16 neg = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
    const __m512 alt = _mm512_mask_blend_ps(neg, _mm512_set1_ps(__builtin_inff()), _mm512_setzero_ps());
    return _mm512_mask_blend_ps(big, res, alt);
}

static inline __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

static double exp_sum(float *x, int64_t n, float max) {
    const __m512 mx = _mm512_set1_ps(max);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        __m512 v;
        if (m == 0xFFFF) { /* masked loads and stores only where needed: they cost more */
            v = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), mx));
            _mm512_storeu_ps(x + i, v);
        } else {
            v = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mx)));
            _mm512_mask_storeu_ps(x + i, m, v);
        }
        __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
        __m128 c = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        c = _mm_add_ps(c, _mm_movehl_ps(c, c));
        c = _mm_add_ss(c, _mm_movehdup_ps(c));
        sum += (double)_mm_cvtss_f32(c);
    }
    return sum;
}

static void swiglu(int64_t n, float *g, const float *u) {
    const __m512 one = _mm512_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 gv = _mm512_loadu_ps(g + i);
        const __m512 s = _mm512_div_ps(gv, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), gv))));
        _mm512_storeu_ps(g + i, _mm512_mul_ps(s, _mm512_loadu_ps(u + i)));
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        const __m512 gv = _mm512_maskz_loadu_ps(m, g + i);
        const __m512 s = _mm512_div_ps(gv, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), gv))));
        _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i)));
    }
}

/* Positions per block of the weighted sums (wsum_any). */
#define WSUM_BLOCK 32

/* Row kinds of the weighted sums. */
enum { WS_F32, WS_F16, WS_Q8_0 };

/* Values 16k..16k+15 of a row slice, widened: F16 and F32 loads (masked
 * where the slice ends early), Q8_0 as block scale times integer (exact). */
static inline __attribute__((always_inline)) __m512 wsum_load(const int KIND, const uint8_t *vr, int k, bool whole,
                                                               __mmask16 m) {
    if (KIND == WS_Q8_0) {
        const hr_block_q8_0 *b = (const hr_block_q8_0 *)(const void *)vr + k / 2;
        const __m128i qs = _mm_loadu_si128((const __m128i *)(const void *)(b->qs + 16 * (k % 2)));
        const __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(qs));
        return _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(b->d)), q);
    }
    if (KIND == WS_F16)
        return _mm512_cvtph_ps(whole ? _mm256_loadu_si256((const __m256i *)(const void *)vr + k)
                                     : _mm256_maskz_loadu_epi16(m, (const hr_f16 *)(const void *)vr + 16 * k));
    return whole ? _mm512_loadu_ps((const float *)(const void *)vr + 16 * k)
                 : _mm512_maskz_loadu_ps(m, (const float *)(const void *)vr + 16 * k);
}

/* out[q] += w[q][i] * v[i] over positions i0..i1-1 in order, one fused
 * multiply-add each, QN queries x KN registers of 16 values of accumulators
 * sharing each widened V row (QN and KN constants, so no lane is computed for
 * nothing; the unroll pragmas keep them in registers, where gcc otherwise
 * left them on the stack). Q8_0 slices are whole blocks: a register past the
 * slice's end (mask 0) is neither loaded nor used. */
static inline __attribute__((always_inline)) void wsum_tile(const int KIND, const int QN, const int KN, int64_t left,
                                                             int i0, int i1, const float *const *wq, const uint8_t *v,
                                                             size_t v_stride, float *out, size_t out_stride,
                                                             const uint8_t *pf, size_t pf_bytes, int pf_end) {
    __mmask16 mk[8];
    HR_UNROLL
    for (int k = 0; k < KN; k++) mk[k] = left > 16 * k ? tail_mask(left - 16 * k) : 0;
    const bool whole = left >= 16 * KN; /* unmasked loads: masked ones cost more */
    __m512 acc[6][8];
    HR_UNROLL
    for (int q = 0; q < QN; q++)
        HR_UNROLL
        for (int k = 0; k < KN; k++) acc[q][k] = _mm512_maskz_loadu_ps(mk[k], out + (size_t)q * out_stride + 16 * k);
    for (int i = i0; i < i1; i++) {
        const uint8_t *vr = v + (size_t)i * v_stride;
        if (pf && i + WSUM_BLOCK < pf_end)
            for (size_t b = 0; b < pf_bytes; b += 64)
                _mm_prefetch((const char *)(pf + (size_t)(i + WSUM_BLOCK) * v_stride) + b, _MM_HINT_T0);
        __m512 vv[8];
        HR_UNROLL
        for (int k = 0; k < KN; k++)
            vv[k] = KIND == WS_Q8_0 && !whole && !mk[k] ? _mm512_setzero_ps() : wsum_load(KIND, vr, k, whole, mk[k]);
        HR_UNROLL
        for (int q = 0; q < QN; q++) {
            const __m512 b = _mm512_set1_ps(wq[q][i]);
            HR_UNROLL
            for (int k = 0; k < KN; k++) acc[q][k] = _mm512_fmadd_ps(b, vv[k], acc[q][k]);
        }
    }
    HR_UNROLL
    for (int q = 0; q < QN; q++)
        HR_UNROLL
        for (int k = 0; k < KN; k++) _mm512_mask_storeu_ps(out + (size_t)q * out_stride + 16 * k, mk[k], acc[q][k]);
}

/* Bytes of the first d values of a row. */
static inline size_t wsum_bytes(const int KIND, int64_t d) {
    return KIND == WS_Q8_0 ? (size_t)(d / HR_QK8_0) * sizeof(hr_block_q8_0) : (size_t)d * (KIND == WS_F16 ? 2 : 4);
}

/* The positions go in blocks of WSUM_BLOCK, each block's rows used whole
 * (every slice of values, every query) while they are in L1: V rows are a
 * cache row apart (all KV heads of a position), and passes over the whole
 * range per slice of values read each row's lines far apart, at a page (TLB)
 * cost per few rows. The next block's rows are requested during this one,
 * one row per position (a burst of a whole block's lines stalls on the line
 * fill buffers). Each output still sums its positions in order, so the
 * blocking does not change a bit. */
static inline __attribute__((always_inline)) void wsum_any(const int KIND, int64_t n, int nq, int npos, const float *w,
                                                            size_t w_stride, const uint8_t *v, size_t v_stride, float *out,
                                                            size_t out_stride) {
    /* few queries (decoding): 128 values per tile, 16 accumulators either way */
    const int64_t width = nq <= 2 ? 128 : 64;
    const size_t row_bytes = wsum_bytes(KIND, n);
    for (int i0 = 0; i0 < npos; i0 += WSUM_BLOCK) {
        const int i1 = npos - i0 < WSUM_BLOCK ? npos : i0 + WSUM_BLOCK;
        for (int64_t d0 = 0; d0 < n; d0 += width) {
            const int64_t left = n - d0;
            const uint8_t *vd = v + wsum_bytes(KIND, d0);
            for (int q0 = 0; q0 < nq; q0 += 6) {
                const int qn = nq - q0 < 6 ? nq - q0 : 6;
                const float *wq[6];
                for (int q = 0; q < qn; q++) wq[q] = w + (size_t)(q0 + q) * w_stride;
                float *o = out + (size_t)q0 * out_stride + d0;
                /* the first tile of a block requests the next block's rows, a row at a time */
                const uint8_t *pf = d0 == 0 && q0 == 0 ? v : NULL;
                switch (width == 128 ? qn : qn + 2) {
                case 1: wsum_tile(KIND, 1, 8, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                case 2: wsum_tile(KIND, 2, 8, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                case 3: wsum_tile(KIND, 1, 4, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                case 4: wsum_tile(KIND, 2, 4, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                case 5: wsum_tile(KIND, 3, 4, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                case 6: wsum_tile(KIND, 4, 4, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                case 7: wsum_tile(KIND, 5, 4, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                default: wsum_tile(KIND, 6, 4, left, i0, i1, wq, vd, v_stride, o, out_stride, pf, row_bytes, npos); break;
                }
            }
        }
    }
}

static void wsum_f16(int64_t n, int nq, int npos, const float *w, size_t w_stride, const hr_f16 *v, size_t v_stride,
                     float *out, size_t out_stride) {
    wsum_any(WS_F16, n, nq, npos, w, w_stride, (const uint8_t *)v, v_stride, out, out_stride);
}

static void wsum_f32(int64_t n, int nq, int npos, const float *w, size_t w_stride, const float *v, size_t v_stride,
                     float *out, size_t out_stride) {
    wsum_any(WS_F32, n, nq, npos, w, w_stride, (const uint8_t *)v, v_stride, out, out_stride);
}

static void wsum_q8_0(int64_t n, int nq, int npos, const float *w, size_t w_stride, const void *v, size_t v_stride,
                      float *out, size_t out_stride) {
    wsum_any(WS_Q8_0, n, nq, npos, w, w_stride, (const uint8_t *)v, v_stride, out, out_stride);
}

static void round_f16(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT)));
    }
}

/* max_ps(x, m) keeps m where x is NaN, as the scalar form's "x > m" does. */
static float scale_max(float *x, int64_t n, float s) {
    const __m512 sv = _mm512_set1_ps(s);
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 a = _mm512_mul_ps(_mm512_loadu_ps(x + i), sv), b = _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), sv);
        _mm512_storeu_ps(x + i, a);
        _mm512_storeu_ps(x + i + 16, b);
        m0 = _mm512_max_ps(a, m0);
        m1 = _mm512_max_ps(b, m1);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        const __m512 a = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sv);
        _mm512_mask_storeu_ps(x + i, m, a);
        m0 = _mm512_mask_max_ps(m0, m, a, m0);
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

static void scale(float *x, int64_t n, float s) {
    const __m512 sv = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), sv));
    }
}

void hr_act_fill_avx512(hr_kernels *k) {
    k->round_f16 = round_f16;
    k->exp_sum = exp_sum;
    k->swiglu = swiglu;
    k->wsum_f16 = wsum_f16;
    k->wsum_f32 = wsum_f32;
    k->wsum_q8_0 = wsum_q8_0;
    k->scale_max = scale_max;
    k->scale = scale;
}
