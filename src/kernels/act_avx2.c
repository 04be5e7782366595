/*
 * AVX2 element-wise and attention helpers: ggml's AVX2 vector exp (modelled
 * in scalar form by expf_avx2_form in src/models/vexp.c, compared bit for bit
 * in the tests), with its two-step scaling where 2^n leaves the float range.
 * Sums are grouped as ggml's vector softmax groups them (8 lanes pairwise by
 * halves, blocks added in double).
 */
#include <immintrin.h>
#include <math.h>

#include "kernels/kernels_impl.h"

static inline __m256 exp8(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 c = _mm256_cmp_ps(an, _mm256_set1_ps(126.0f), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    const __m256 normal = _mm256_fmadd_ps(j, k, k);
    if (!_mm256_movemask_ps(c)) return normal;
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 d = _mm256_cmp_ps(an, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 wide = _mm256_blendv_ps(_mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1), _mm256_mul_ps(s1, s1), d);
    return _mm256_blendv_ps(normal, wide, c);
}

static inline float hsum8_pairwise(__m256 v) {
    __m128 c = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    c = _mm_add_ps(c, _mm_movehl_ps(c, c));
    c = _mm_add_ss(c, _mm_movehdup_ps(c));
    return _mm_cvtss_f32(c);
}

static double exp_sum(float *x, int64_t n, float max) {
    const __m256 mx = _mm256_set1_ps(max);
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mx));
        _mm256_storeu_ps(x + i, v);
        sum += (double)hsum8_pairwise(v);
    }
    if (i < n) { /* the padded block: missing lanes count as zero */
        float buf[8] = {0};
        for (int64_t l = 0; l < n - i; l++) buf[l] = x[i + l];
        __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(buf), mx));
        _mm256_storeu_ps(buf, v);
        for (int64_t l = n - i; l < 8; l++) buf[l] = 0.0f;
        for (int64_t l = 0; l < n - i; l++) x[i + l] = buf[l];
        sum += (double)hsum8_pairwise(_mm256_loadu_ps(buf));
    }
    return sum;
}

static inline __m256 swiglu8(__m256 g, __m256 u) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

static void swiglu(int64_t n, float *g, const float *u) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(g + i, swiglu8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {
        float gb[8] = {0}, ub[8] = {0};
        for (int64_t l = 0; l < n - i; l++) {
            gb[l] = g[i + l];
            ub[l] = u[i + l];
        }
        _mm256_storeu_ps(gb, swiglu8(_mm256_loadu_ps(gb), _mm256_loadu_ps(ub)));
        for (int64_t l = 0; l < n - i; l++) g[i + l] = gb[l];
    }
}

/* up to 4 queries x 32 values of accumulators share each row's loads; the
 * last (n % 8) values one scalar fused multiply-add each, in the same order */
static void wsum_f32(int64_t n, int nq, int npos, const float *w, size_t w_stride, const float *v, size_t v_stride,
                     float *out, size_t out_stride) {
    const int64_t nv = n / 8 * 8;
    for (int q0 = 0; q0 < nq; q0 += 4) {
        const int qn = nq - q0 < 4 ? nq - q0 : 4;
        for (int64_t d0 = 0; d0 < nv; d0 += 32) {
            const int kn = (int)((nv - d0) / 8 < 4 ? (nv - d0) / 8 : 4);
            __m256 acc[4][4];
            for (int q = 0; q < qn; q++)
                for (int k = 0; k < kn; k++) acc[q][k] = _mm256_loadu_ps(out + (size_t)(q0 + q) * out_stride + d0 + 8 * k);
            for (int i = 0; i < npos; i++) {
                const float *vr = (const float *)((const uint8_t *)v + (size_t)i * v_stride) + d0;
                __m256 vv[4];
                for (int k = 0; k < kn; k++) vv[k] = _mm256_loadu_ps(vr + 8 * k);
                for (int q = 0; q < qn; q++) {
                    const __m256 b = _mm256_set1_ps(w[(size_t)(q0 + q) * w_stride + i]);
                    for (int k = 0; k < kn; k++) acc[q][k] = _mm256_fmadd_ps(b, vv[k], acc[q][k]);
                }
            }
            for (int q = 0; q < qn; q++)
                for (int k = 0; k < kn; k++) _mm256_storeu_ps(out + (size_t)(q0 + q) * out_stride + d0 + 8 * k, acc[q][k]);
        }
        for (int q = 0; q < qn && nv < n; q++) {
            float *o = out + (size_t)(q0 + q) * out_stride;
            for (int i = 0; i < npos; i++) {
                const float wi = w[(size_t)(q0 + q) * w_stride + i];
                const float *vr = (const float *)((const uint8_t *)v + (size_t)i * v_stride);
                for (int64_t d = nv; d < n; d++) o[d] = __builtin_fmaf(wi, vr[d], o[d]);
            }
        }
    }
}

/* Q8_0 rows: up to 4 queries x one block (32 values) of accumulators share
 * each widened block. */
static void wsum_q8_0(int64_t n, int nq, int npos, const float *w, size_t w_stride, const void *v, size_t v_stride,
                      float *out, size_t out_stride) {
    for (int q0 = 0; q0 < nq; q0 += 4) {
        const int qn = nq - q0 < 4 ? nq - q0 : 4;
        for (int64_t b = 0; b < n / HR_QK8_0; b++) {
            __m256 acc[4][4];
            for (int q = 0; q < qn; q++)
                for (int k = 0; k < 4; k++) acc[q][k] = _mm256_loadu_ps(out + (size_t)(q0 + q) * out_stride + b * HR_QK8_0 + 8 * k);
            for (int i = 0; i < npos; i++) {
                const hr_block_q8_0 *vb = (const hr_block_q8_0 *)(const void *)((const uint8_t *)v + (size_t)i * v_stride) + b;
                const __m256 d = _mm256_set1_ps(_cvtsh_ss(vb->d));
                __m256 vv[4];
                for (int k = 0; k < 4; k++)
                    vv[k] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(vb->qs + 8 * k)))));
                for (int q = 0; q < qn; q++) {
                    const __m256 wb = _mm256_set1_ps(w[(size_t)(q0 + q) * w_stride + i]);
                    for (int k = 0; k < 4; k++) acc[q][k] = _mm256_fmadd_ps(wb, vv[k], acc[q][k]);
                }
            }
            for (int q = 0; q < qn; q++)
                for (int k = 0; k < 4; k++) _mm256_storeu_ps(out + (size_t)(q0 + q) * out_stride + b * HR_QK8_0 + 8 * k, acc[q][k]);
        }
    }
}

/* max_ps(x, m) keeps m where x is NaN, as the scalar form's "x > m" does;
 * the last n % 8 values go through the scalar form. */
static float scale_max(float *x, int64_t n, float s) {
    const __m256 sv = _mm256_set1_ps(s);
    __m256 m0 = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_mul_ps(_mm256_loadu_ps(x + i), sv);
        _mm256_storeu_ps(x + i, a);
        m0 = _mm256_max_ps(a, m0);
    }
    float lanes[8], mx = hr_scale_max_scalar(x + i, n - i, s);
    _mm256_storeu_ps(lanes, m0);
    for (int l = 0; l < 8; l++)
        if (lanes[l] > mx) mx = lanes[l];
    return mx;
}

static void scale(float *x, int64_t n, float s) {
    const __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), sv));
    hr_scale_scalar(x + i, n - i, s);
}

void hr_act_fill_avx2(hr_kernels *k) {
    k->exp_sum = exp_sum;
    k->swiglu = swiglu;
    k->wsum_f32 = wsum_f32;
    k->wsum_q8_0 = wsum_q8_0;
    k->scale_max = scale_max;
    k->scale = scale;
}
