/*
 * AVX2 + FMA + F16C kernels. Integer products go through vpmaddubsw (u8 x s8
 * pairs into i16) and vpmaddwd (i16 pairs into i32): with weights of at most
 * 6 bits and activations in [-127, 127] neither step can saturate. Each
 * block's exact integer sum is then scaled in float, as the scalar kernels do.
 */
#include <immintrin.h>

#include "kernels/kernels_impl.h"
#include "kernels/x86_common.h"
#include "tensor/quants.h"

static inline float f16(hr_f16 h) { return _cvtsh_ss(h); }

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256i loadu(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* Sum of x*y over 32 signed bytes, as 8 partial i32 sums. vpmaddubsw wants
 * an unsigned operand, so the sign of x moves onto y (y is never -128). */
static inline __m256i dot_s8(__m256i x, __m256i y) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* Same with x unsigned (at most 127). */
static inline __m256i dot_u8(__m256i x, __m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1));
}

/* 32 nibbles of a 32-element block: low nibbles are elements 0-15, high 16-31. */
static inline __m256i unpack_nibbles16(const uint8_t *qs) {
    __m128i b = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_and_si256(v, _mm256_set1_epi8(0xF));
}

/* The fifth bits of a q5 block as 0x10 in byte j when bit j of qh is set. */
static inline __m256i unpack_bit5(const uint8_t *qh) {
    uint32_t h = hr_load_u32(qh);
    __m256i v = _mm256_set1_epi32((int)h);
    /* byte j takes byte j/8 of qh, then tests bit j%8 */
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    v = _mm256_shuffle_epi8(v, spread);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

static void vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += x[i] * y[i];
    *s = sum;
}

static inline __m256 load_f16(const hr_f16 *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

static void vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_f16 *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(load_f16(x + i), load_f16(y + i), a0);
        a1 = _mm256_fmadd_ps(load_f16(x + i + 8), load_f16(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(load_f16(x + i + 16), load_f16(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(load_f16(x + i + 24), load_f16(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_f16(x + i), load_f16(y + i), a0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) sum += f16(x[i]) * f16(y[i]);
    *s = sum;
}

static inline __m256 load_bf16(const hr_bf16 *p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

static void vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_bf16 *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(load_bf16(x + i), load_bf16(y + i), a0);
        a1 = _mm256_fmadd_ps(load_bf16(x + i + 8), load_bf16(y + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_bf16(x + i), load_bf16(y + i), a0);
    float sum = hsum_ps(_mm256_add_ps(a0, a1));
    for (; i < n; i++) sum += hr_bf16_to_f32(x[i]) * hr_bf16_to_f32(y[i]);
    *s = sum;
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
    const __m256i eight = _mm256_set1_epi8(8);
#define DOT(b) dot_s8(_mm256_sub_epi8(unpack_nibbles16(x[b].qs), eight), loadu(y[b].qs))
    HRX_DOT32_LOOP(n / HR_QK4_0, DOT, XD, YD, *s);
#undef DOT
}

static void vec_dot_q5_0(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q5_0 *x = vx;
    const hr_block_q8_0 *y = vy;
    const __m256i sixteen = _mm256_set1_epi8(16);
#define DOT(b) \
    dot_s8(_mm256_sub_epi8(_mm256_or_si256(unpack_nibbles16(x[b].qs), unpack_bit5(x[b].qh)), sixteen), loadu(y[b].qs))
    HRX_DOT32_LOOP(n / HR_QK5_0, DOT, XD, YD, *s);
#undef DOT
}

/* q4_1 / q5_1: d * dy * sum(q * qy) + m * s, with s = dy * sum(qy) from q8_1. */
static inline float sum_m_s(const uint8_t *x, size_t xs, const uint8_t *y, size_t ys, int64_t nb) {
    __m128 acc = _mm_setzero_ps();
    float tail = 0.0f;
    int64_t b = 0;
    uint16_t m[4], sv[4];
    for (; b + 4 <= nb; b += 4) {
        for (int k = 0; k < 4; k++) {
            memcpy(&m[k], x + (size_t)(b + k) * xs, 2);
            memcpy(&sv[k], y + (size_t)(b + k) * ys, 2);
        }
        acc = _mm_fmadd_ps(hrx_f16x4(m[0], m[1], m[2], m[3]), hrx_f16x4(sv[0], sv[1], sv[2], sv[3]), acc);
    }
    for (; b < nb; b++) {
        memcpy(&m[0], x + (size_t)b * xs, 2);
        memcpy(&sv[0], y + (size_t)b * ys, 2);
        tail += _cvtsh_ss(m[0]) * _cvtsh_ss(sv[0]);
    }
    return hrx_hsum_ps128(acc) + tail;
}

static void vec_dot_q4_1(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_1 *x = vx;
    const hr_block_q8_1 *y = vy;
    const int64_t nb = n / HR_QK4_1;
    float sum;
#define DOT(b) dot_u8(unpack_nibbles16(x[b].qs), loadu(y[b].qs))
    HRX_DOT32_LOOP(nb, DOT, XD, YD, sum);
#undef DOT
    *s = sum + sum_m_s((const uint8_t *)&x[0].m, sizeof *x, (const uint8_t *)&y[0].s, sizeof *y, nb);
}

static void vec_dot_q5_1(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q5_1 *x = vx;
    const hr_block_q8_1 *y = vy;
    const int64_t nb = n / HR_QK5_1;
    float sum;
#define DOT(b) dot_u8(_mm256_or_si256(unpack_nibbles16(x[b].qs), unpack_bit5(x[b].qh)), loadu(y[b].qs))
    HRX_DOT32_LOOP(nb, DOT, XD, YD, sum);
#undef DOT
#undef XD
#undef YD
    *s = sum + sum_m_s((const uint8_t *)&x[0].m, sizeof *x, (const uint8_t *)&y[0].s, sizeof *y, nb);
}

/* Scales of the two 16-element groups of 32 quants starting at group 2k, as
 * 16 i16 lanes (8 each), from 16 signed (or unsigned < 128) byte scales. */
static inline __m256i scale_pair(__m128i scales16, int k) {
    __m128i m = _mm_loadu_si128((const __m128i *)hr_scale_pair_masks[k]);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales16, m));
}

/* q4_K / q5_K minimum term: sum over groups of bsums[g] * mins[g / 2], as 8 i32. */
static inline __m256i k4_min_products(const uint32_t sm[4], const int16_t *bsums) {
    __m128i mins = _mm_set_epi32(0, 0, (int)sm[3], (int)sm[2]);
    const __m128i dup = _mm_set_epi8(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    __m256i m16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(mins, dup));
    return _mm256_madd_epi16(loadu(bsums), m16);
}

/* The 8 q4_K/q5_K scales as i16 in lanes 0-7 of both 128-bit halves, and
 * one of them broadcast to all 16 lanes (a byte shuffle, no trip through a
 * general register). */
static inline __m256i k4_scales16(const uint32_t sm[4]) {
    __m128i s16 = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sm[1], (int)sm[0]));
    return _mm256_broadcastsi128_si256(s16);
}

static inline __m256i k4_scale(__m256i sc16, int i) {
    return _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * i)));
}

static void vec_dot_q4_K(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_K *x = vx;
    const hr_block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        uint32_t sm[4];
        hr_k4_scales_words(x[b].scales, sm);
        const __m256i sc16 = k4_scales16(sm);
        const float d = f16(x[b].d) * y[b].d, dmin = f16(x[b].dmin) * y[b].d;
        accm = _mm256_fmadd_ps(_mm256_set1_ps(-dmin), _mm256_cvtepi32_ps(k4_min_products(sm, y[b].bsums)), accm);
        const uint8_t *q4 = x[b].qs;
        const int8_t *q8 = y[b].qs;
        __m256i sumi = _mm256_setzero_si256();
        HR_UNROLL
        for (int j = 0; j < 4; j++) {
            __m256i bits = loadu(q4 + 32 * j);
            __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            __m256i plo = _mm256_maddubs_epi16(lo, loadu(q8 + 64 * j));
            __m256i phi = _mm256_maddubs_epi16(hi, loadu(q8 + 64 * j + 32));
            plo = _mm256_madd_epi16(plo, k4_scale(sc16, 2 * j));
            phi = _mm256_madd_epi16(phi, k4_scale(sc16, 2 * j + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(_mm256_add_ps(acc, accm));
}

static void vec_dot_q5_K(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q5_K *x = vx;
    const hr_block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF), b5 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        uint32_t sm[4];
        hr_k4_scales_words(x[b].scales, sm);
        const __m256i sc16 = k4_scales16(sm);
        const float d = f16(x[b].d) * y[b].d, dmin = f16(x[b].dmin) * y[b].d;
        accm = _mm256_fmadd_ps(_mm256_set1_ps(-dmin), _mm256_cvtepi32_ps(k4_min_products(sm, y[b].bsums)), accm);
        const uint8_t *q4 = x[b].qs;
        const int8_t *q8 = y[b].qs;
        __m256i hbits = loadu(x[b].qh);
        __m256i sumi = _mm256_setzero_si256();
        HR_UNROLL
        for (int j = 0; j < 4; j++) {
            __m256i bits = loadu(q4 + 32 * j);
            /* bit 2j of qh is the fifth bit of the low nibbles, 2j+1 of the high */
            __m256i hlo = _mm256_and_si256(_mm256_slli_epi16(hbits, 4), b5);
            __m256i hhi = _mm256_and_si256(_mm256_slli_epi16(hbits, 3), b5);
            hbits = _mm256_srli_epi16(hbits, 2);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, m4), hlo);
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), hhi);
            __m256i plo = _mm256_maddubs_epi16(lo, loadu(q8 + 64 * j));
            __m256i phi = _mm256_maddubs_epi16(hi, loadu(q8 + 64 * j + 32));
            plo = _mm256_madd_epi16(plo, k4_scale(sc16, 2 * j));
            phi = _mm256_madd_epi16(phi, k4_scale(sc16, 2 * j + 1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(_mm256_add_ps(acc, accm));
}

/* q6_K: w = (4 low bits | 2 high bits << 4) - 32. The products use w + 32
 * (unsigned, < 64) and the offset comes back as 32 * sum(scale * bsums). */
static void vec_dot_q6_K(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q6_K *x = vx;
    const hr_block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF), m30 = _mm256_set1_epi8(0x30);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        __m128i sc = _mm_loadu_si128((const __m128i *)x[b].scales);
        __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc), loadu(y[b].bsums));
        __m256i sumi = _mm256_setzero_si256();
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[b].ql + 64 * h;
            const int8_t *q8 = y[b].qs + 128 * h;
            __m256i la = loadu(ql), lb = loadu(ql + 32), qh = loadu(x[b].qh + 32 * h);
            __m256i w[4];
            w[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            w[1] = _mm256_or_si256(_mm256_and_si256(lb, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            w[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4), _mm256_and_si256(qh, m30));
            w[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            HR_UNROLL
            for (int k = 0; k < 4; k++) {
                __m256i p = _mm256_maddubs_epi16(w[k], loadu(q8 + 32 * k));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale_pair(sc, 4 * h + k)));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(x[b].d) * y[b].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc);
}

static void vec_dot_q2_K(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q2_K *x = vx;
    const hr_block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        __m128i raw = _mm_loadu_si128((const __m128i *)x[b].scales);
        __m128i sc = _mm_and_si128(raw, m4), mins = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
        __m256i mp = _mm256_madd_epi16(_mm256_cvtepu8_epi16(mins), loadu(y[b].bsums));
        const float dall = y[b].d * f16(x[b].d), dmin = y[b].d * f16(x[b].dmin);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(-dmin), _mm256_cvtepi32_ps(mp), accm);
        __m256i sumi = _mm256_setzero_si256();
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            __m256i q2 = loadu(x[b].qs + 32 * h);
            const int8_t *q8 = y[b].qs + 128 * h;
            HR_UNROLL
        for (int j = 0; j < 4; j++) {
                __m256i w = _mm256_and_si256(q2, m3);
                q2 = _mm256_srli_epi16(q2, 2);
                __m256i p = _mm256_maddubs_epi16(w, loadu(q8 + 32 * j));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale_pair(sc, 4 * h + j)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dall), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(_mm256_add_ps(acc, accm));
}

static void vec_dot_q3_K(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q3_K *x = vx;
    const hr_block_q8_K *y = vy;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        uint32_t sw[4];
        hr_q3k_scales_words(x[b].scales, sw);
        __m128i sc = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)sw), _mm_set1_epi8(32));
        __m256i hm = loadu(x[b].hmask);
        __m256i sumi = _mm256_setzero_si256();
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            __m256i q3 = loadu(x[b].qs + 32 * h);
            const int8_t *q8 = y[b].qs + 128 * h;
            HR_UNROLL
        for (int j = 0; j < 4; j++) {
                /* w = low 2 bits - 4 unless the hmask bit (4h + j) is set */
                __m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + j)));
                __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
                __m256i w = _mm256_sub_epi8(_mm256_and_si256(q3, m3), _mm256_andnot_si256(set, four));
                q3 = _mm256_srli_epi16(q3, 2);
                __m256i y8 = loadu(q8 + 32 * j);
                __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(y8, w));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scale_pair(sc, 4 * h + j)));
            }
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(x[b].d) * y[b].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum_ps(acc);
}


/* ---- activation quantizers, byte-identical to the reference ---- */

static inline float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* Low bytes of 4 x 8 i32 in order: the reference stores (int8_t) of an int,
 * which keeps the low byte (also for the INT32_MIN that conversions of
 * inf/NaN give), so truncate rather than saturate. */
static inline __m256i pack_low_bytes(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ff = _mm256_set1_epi32(0xFF);
    __m256i ab = _mm256_packus_epi32(_mm256_and_si256(a, ff), _mm256_and_si256(b, ff));
    __m256i cd = _mm256_packus_epi32(_mm256_and_si256(c, ff), _mm256_and_si256(d, ff));
    __m256i v = _mm256_packus_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* One 32-element block to q8 as llama.cpp's x86 quantize_row_q8_0/q8_1 do
 * (see quant_x86_model.c): multiplier 127/amax, round to nearest even,
 * saturating packs. Returns d = amax/127; *sum gets the sum of the 32-bit
 * integers (for q8_1). */
static inline float q8_block(const float *x, int8_t *qs, int32_t *sum) {
    __m256 v[4], m = abs_ps(_mm256_loadu_ps(x));
    v[0] = _mm256_loadu_ps(x);
    for (int k = 1; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(m, abs_ps(v[k]));
    }
    const float amax = hmax_ps(m);
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
    __m256i q[4];
    for (int k = 0; k < 4; k++)
        q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    *sum = _mm_cvtsi128_si32(t);
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256((__m256i *)qs, _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    return amax / 127.f;
}

static void quantize_q8_0(const float *x, void *vy, int64_t n) {
    hr_block_q8_0 *y = vy;
    int32_t s;
    for (int64_t b = 0; b < n / HR_QK8_0; b++) y[b].d = _cvtss_sh(q8_block(x + HR_QK8_0 * b, y[b].qs, &s), 0);
}

static void quantize_q8_1(const float *x, void *vy, int64_t n) {
    hr_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / HR_QK8_1; b++) {
        int32_t s;
        float d = q8_block(x + HR_QK8_1 * b, y[b].qs, &s);
        y[b].d = _cvtss_sh(d, 0);
        y[b].s = _cvtss_sh(d * (float)s, 0);
    }
}

/* q8_K: scale by -127 / (the first element of largest magnitude), round
 * with the reference's add-1.5*2^23 trick (ties to even), clamp above at 127. */
static void quantize_q8_K(const float *x, void *vy, int64_t n) {
    hr_block_q8_K *y = vy;
    for (int64_t b = 0; b < n / HR_QK_K; b++, x += HR_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < HR_QK_K; k += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + k)));
        const float amax = hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        int at = 0;
        for (int k = 0; k < HR_QK_K; k += 8) {
            int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + k)), _mm256_set1_ps(amax), _CMP_EQ_OQ));
            if (hit) {
                at = k + __builtin_ctz((unsigned)hit);
                break;
            }
        }
        const float iscale = -127.f / x[at];
        const __m256 vs = _mm256_set1_ps(iscale), magic = _mm256_set1_ps(12582912.f);
        const __m256i mant = _mm256_set1_epi32(0x007fffff), bias = _mm256_set1_epi32(0x00400000),
                      top = _mm256_set1_epi32(127);
        for (int k = 0; k < HR_QK_K; k += 32) {
            __m256i q[4];
            HR_UNROLL
        for (int j = 0; j < 4; j++) {
                __m256 t = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), vs), magic);
                __m256i i = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(t), mant), bias);
                q[j] = _mm256_min_epi32(i, top);
            }
            __m256i packed = pack_low_bytes(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(y[b].qs + k), packed);
            /* bsums of the two 16-element groups: byte pair sums, then i32 sums */
            __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), packed), _mm256_set1_epi16(1));
            __m128i lo = _mm256_castsi256_si128(s32), hi = _mm256_extracti128_si256(s32, 1);
            __m128i t = _mm_hadd_epi32(lo, hi); /* g0a g0b g1a g1b */
            t = _mm_hadd_epi32(t, t);
            y[b].bsums[k / 16] = (int16_t)_mm_cvtsi128_si32(t);
            y[b].bsums[k / 16 + 1] = (int16_t)_mm_extract_epi32(t, 1);
        }
        y[b].d = 1 / iscale;
    }
}

static void quantize_f16(const float *x, void *vy, int64_t n) {
    hr_f16 *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = hr_f32_to_f16(x[i]);
}

void hr_kernels_fill_avx2(hr_kernels *k) {
    k->vec_dot[HR_TYPE_F32] = vec_dot_f32;
    k->vec_dot[HR_TYPE_F16] = vec_dot_f16;
    k->vec_dot[HR_TYPE_BF16] = vec_dot_bf16;
    k->vec_dot[HR_TYPE_Q4_0] = vec_dot_q4_0;
    k->vec_dot[HR_TYPE_Q4_1] = vec_dot_q4_1;
    k->vec_dot[HR_TYPE_Q5_0] = vec_dot_q5_0;
    k->vec_dot[HR_TYPE_Q5_1] = vec_dot_q5_1;
    k->vec_dot[HR_TYPE_Q8_0] = vec_dot_q8_0;
    k->vec_dot[HR_TYPE_Q2_K] = vec_dot_q2_K;
    k->vec_dot[HR_TYPE_Q3_K] = vec_dot_q3_K;
    k->vec_dot[HR_TYPE_Q4_K] = vec_dot_q4_K;
    k->vec_dot[HR_TYPE_Q5_K] = vec_dot_q5_K;
    k->vec_dot[HR_TYPE_Q6_K] = vec_dot_q6_K;
    k->quantize_row[HR_TYPE_Q8_0] = quantize_q8_0;
    k->quantize_row[HR_TYPE_Q8_1] = quantize_q8_1;
    k->quantize_row[HR_TYPE_Q8_K] = quantize_q8_K;
    k->quantize_row[HR_TYPE_F16] = quantize_f16;
}

