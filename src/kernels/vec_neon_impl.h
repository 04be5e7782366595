/*
 * NEON dot-product kernels, compiled twice: by vec_neon.c for baseline ARMv8
 * (int8 products through vmull_s8 + pairwise widening adds) and by
 * vec_dotprod_neon.c for ARMv8.2 dot-product (sdot). The includer defines
 * HR_NEON_DOTPROD (0 or 1) and NEON_FN(name), which names the functions.
 * Each block's integer sum is exact; scales are applied per 16 or 32
 * elements with a multiply-accumulate by scalar, then once per block in float.
 */
#include <arm_neon.h>

#include "kernels/kernels_impl.h"

static inline float neon_f16(hr_f16 h) {
    __fp16 v;
    memcpy(&v, &h, 2);
    return (float)v;
}

/* acc + sum of a*b over 16 signed bytes (lanes hold partial sums). */
static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if HR_NEON_DOTPROD
    return vdotq_s32(acc, a, b);
#else
    int16x8_t p0 = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    int16x8_t p1 = vmull_high_s8(a, b);
    return vpadalq_s16(vpadalq_s16(acc, p0), p1);
#endif
}

static void NEON_FN(q8_0)(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q8_0 *x = vx, *y = vy;
    float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = acc0;
    const int64_t nb = n / HR_QK8_0;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        int32x4_t p0 = dot16(dot16(vdupq_n_s32(0), vld1q_s8(x[b].qs), vld1q_s8(y[b].qs)), vld1q_s8(x[b].qs + 16),
                             vld1q_s8(y[b].qs + 16));
        int32x4_t p1 = dot16(dot16(vdupq_n_s32(0), vld1q_s8(x[b + 1].qs), vld1q_s8(y[b + 1].qs)),
                             vld1q_s8(x[b + 1].qs + 16), vld1q_s8(y[b + 1].qs + 16));
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p0), neon_f16(x[b].d) * neon_f16(y[b].d));
        acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(p1), neon_f16(x[b + 1].d) * neon_f16(y[b + 1].d));
    }
    for (; b < nb; b++) {
        int32x4_t p = dot16(dot16(vdupq_n_s32(0), vld1q_s8(x[b].qs), vld1q_s8(y[b].qs)), vld1q_s8(x[b].qs + 16),
                            vld1q_s8(y[b].qs + 16));
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p), neon_f16(x[b].d) * neon_f16(y[b].d));
    }
    *s = vaddvq_f32(vaddq_f32(acc0, acc1));
}

static void NEON_FN(q4_0)(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_0 *x = vx;
    const hr_block_q8_0 *y = vy;
    const uint8x16_t m4 = vdupq_n_u8(0xF);
    const int8x16_t eight = vdupq_n_s8(8);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < n / HR_QK4_0; b++) {
        uint8x16_t v = vld1q_u8(x[b].qs);
        int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, m4)), eight);
        int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), eight);
        int32x4_t p = dot16(dot16(vdupq_n_s32(0), lo, vld1q_s8(y[b].qs)), hi, vld1q_s8(y[b].qs + 16));
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), neon_f16(x[b].d) * neon_f16(y[b].d));
    }
    *s = vaddvq_f32(acc);
}

/* sum over the 16 bsums of bsums[g] * mins[g / 2] (q4_K, q5_K). */
static inline int32_t k4_min_sum(const uint8_t *mins, const int16_t *bsums) {
    int16x8_t pairs = vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8)); /* per 32 elements */
    int16x8_t m = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mins)));
    int32x4_t p = vmull_s16(vget_low_s16(pairs), vget_low_s16(m));
    p = vmlal_s16(p, vget_high_s16(pairs), vget_high_s16(m));
    return vaddvq_s32(p);
}

static void NEON_FN(q4_K)(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_K *x = vx;
    const hr_block_q8_K *y = vy;
    const uint8x16_t m4 = vdupq_n_u8(0xF);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        uint32_t sm[4];
        hr_k4_scales_words(x[b].scales, sm);
        const uint8_t *sc = (const uint8_t *)sm;
        const int32_t mins = k4_min_sum(sc + 8, y[b].bsums);
        const uint8_t *q4 = x[b].qs;
        const int8_t *q8 = y[b].qs;
        int32x4_t isum = vdupq_n_s32(0);
        HR_UNROLL
        for (int j = 0; j < 4; j++) {
            uint8x16_t v0 = vld1q_u8(q4 + 32 * j), v1 = vld1q_u8(q4 + 32 * j + 16);
            int32x4_t plo = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(v0, m4)), vld1q_s8(q8 + 64 * j));
            plo = dot16(plo, vreinterpretq_s8_u8(vandq_u8(v1, m4)), vld1q_s8(q8 + 64 * j + 16));
            int32x4_t phi = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(vshrq_n_u8(v0, 4)), vld1q_s8(q8 + 64 * j + 32));
            phi = dot16(phi, vreinterpretq_s8_u8(vshrq_n_u8(v1, 4)), vld1q_s8(q8 + 64 * j + 48));
            isum = vmlaq_n_s32(isum, plo, sc[2 * j]);
            isum = vmlaq_n_s32(isum, phi, sc[2 * j + 1]);
        }
        const float d = neon_f16(x[b].d) * y[b].d, dmin = neon_f16(x[b].dmin) * y[b].d;
        sum += d * (float)vaddvq_s32(isum) - dmin * (float)mins;
    }
    *s = sum;
}

static void NEON_FN(q5_K)(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q5_K *x = vx;
    const hr_block_q8_K *y = vy;
    const uint8x16_t m4 = vdupq_n_u8(0xF), b5 = vdupq_n_u8(0x10);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        uint32_t sm[4];
        hr_k4_scales_words(x[b].scales, sm);
        const uint8_t *sc = (const uint8_t *)sm;
        const int32_t mins = k4_min_sum(sc + 8, y[b].bsums);
        const uint8_t *q4 = x[b].qs;
        const int8_t *q8 = y[b].qs;
        const uint8x16_t h0 = vld1q_u8(x[b].qh), h1 = vld1q_u8(x[b].qh + 16);
        int32x4_t isum = vdupq_n_s32(0);
        HR_UNROLL
        for (int j = 0; j < 4; j++) {
            /* bit 2j of qh is the fifth bit of the low nibbles, 2j+1 of the high */
            const uint8x16_t blo = vdupq_n_u8((uint8_t)(1u << (2 * j))), bhi = vdupq_n_u8((uint8_t)(2u << (2 * j)));
            uint8x16_t v0 = vld1q_u8(q4 + 32 * j), v1 = vld1q_u8(q4 + 32 * j + 16);
            uint8x16_t l0 = vorrq_u8(vandq_u8(v0, m4), vandq_u8(vtstq_u8(h0, blo), b5));
            uint8x16_t l1 = vorrq_u8(vandq_u8(v1, m4), vandq_u8(vtstq_u8(h1, blo), b5));
            uint8x16_t u0 = vorrq_u8(vshrq_n_u8(v0, 4), vandq_u8(vtstq_u8(h0, bhi), b5));
            uint8x16_t u1 = vorrq_u8(vshrq_n_u8(v1, 4), vandq_u8(vtstq_u8(h1, bhi), b5));
            int32x4_t plo = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(l0), vld1q_s8(q8 + 64 * j));
            plo = dot16(plo, vreinterpretq_s8_u8(l1), vld1q_s8(q8 + 64 * j + 16));
            int32x4_t phi = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(u0), vld1q_s8(q8 + 64 * j + 32));
            phi = dot16(phi, vreinterpretq_s8_u8(u1), vld1q_s8(q8 + 64 * j + 48));
            isum = vmlaq_n_s32(isum, plo, sc[2 * j]);
            isum = vmlaq_n_s32(isum, phi, sc[2 * j + 1]);
        }
        const float d = neon_f16(x[b].d) * y[b].d, dmin = neon_f16(x[b].dmin) * y[b].d;
        sum += d * (float)vaddvq_s32(isum) - dmin * (float)mins;
    }
    *s = sum;
}

/* q6_K: per half of 128, 16-byte column c (0, 1) of ql/qh gives groups
 * c, 2+c, 4+c, 6+c: low nibbles of ql[c], ql[32+c], then high nibbles, with
 * qh bits 0-1, 2-3, 4-5, 6-7 on top; the stored values are offset by 32. */
static void NEON_FN(q6_K)(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q6_K *x = vx;
    const hr_block_q8_K *y = vy;
    const uint8x16_t m4 = vdupq_n_u8(0xF), m30 = vdupq_n_u8(0x30);
    const int8x16_t off = vdupq_n_s8(32);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const int8_t *sc = x[b].scales;
        int32x4_t isum = vdupq_n_s32(0);
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = x[b].ql + 64 * h, *qh = x[b].qh + 32 * h;
            const int8_t *q8 = y[b].qs + 128 * h;
            const int8_t *gs = sc + 8 * h;
            HR_UNROLL
        for (int c = 0; c < 2; c++) {
                uint8x16_t a = vld1q_u8(ql + 16 * c), bb = vld1q_u8(ql + 32 + 16 * c), hv = vld1q_u8(qh + 16 * c);
                uint8x16_t w0 = vorrq_u8(vandq_u8(a, m4), vandq_u8(vshlq_n_u8(hv, 4), m30));
                uint8x16_t w1 = vorrq_u8(vandq_u8(bb, m4), vandq_u8(vshlq_n_u8(hv, 2), m30));
                uint8x16_t w2 = vorrq_u8(vshrq_n_u8(a, 4), vandq_u8(hv, m30));
                uint8x16_t w3 = vorrq_u8(vshrq_n_u8(bb, 4), vandq_u8(vshrq_n_u8(hv, 2), m30));
                int32x4_t p0 = dot16(vdupq_n_s32(0), vsubq_s8(vreinterpretq_s8_u8(w0), off), vld1q_s8(q8 + 16 * c));
                int32x4_t p1 = dot16(vdupq_n_s32(0), vsubq_s8(vreinterpretq_s8_u8(w1), off), vld1q_s8(q8 + 32 + 16 * c));
                int32x4_t p2 = dot16(vdupq_n_s32(0), vsubq_s8(vreinterpretq_s8_u8(w2), off), vld1q_s8(q8 + 64 + 16 * c));
                int32x4_t p3 = dot16(vdupq_n_s32(0), vsubq_s8(vreinterpretq_s8_u8(w3), off), vld1q_s8(q8 + 96 + 16 * c));
                isum = vmlaq_n_s32(isum, p0, gs[c]);
                isum = vmlaq_n_s32(isum, p1, gs[2 + c]);
                isum = vmlaq_n_s32(isum, p2, gs[4 + c]);
                isum = vmlaq_n_s32(isum, p3, gs[6 + c]);
            }
        }
        sum += neon_f16(x[b].d) * y[b].d * (float)vaddvq_s32(isum);
    }
    *s = sum;
}

static void NEON_FN(q2_K)(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q2_K *x = vx;
    const hr_block_q8_K *y = vy;
    const uint8x16_t m3 = vdupq_n_u8(3);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const uint8_t *sc = x[b].scales;
        uint8x16_t raw = vld1q_u8(sc);
        int16x8_t m0 = vreinterpretq_s16_u16(vmovl_u8(vshr_n_u8(vget_low_u8(raw), 4)));
        int16x8_t m1 = vreinterpretq_s16_u16(vmovl_u8(vshr_n_u8(vget_high_u8(raw), 4)));
        int32x4_t mp = vmull_s16(vget_low_s16(m0), vld1_s16(y[b].bsums));
        mp = vmlal_s16(mp, vget_high_s16(m0), vld1_s16(y[b].bsums + 4));
        mp = vmlal_s16(mp, vget_low_s16(m1), vld1_s16(y[b].bsums + 8));
        mp = vmlal_s16(mp, vget_high_s16(m1), vld1_s16(y[b].bsums + 12));
        int32x4_t isum = vdupq_n_s32(0);
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            uint8x16_t q0 = vld1q_u8(x[b].qs + 32 * h), q1 = vld1q_u8(x[b].qs + 32 * h + 16);
            const int8_t *q8 = y[b].qs + 128 * h;
            HR_UNROLL
        for (int j = 0; j < 4; j++) {
                int32x4_t p0 = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(q0, m3)), vld1q_s8(q8 + 32 * j));
                int32x4_t p1 = dot16(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(q1, m3)), vld1q_s8(q8 + 32 * j + 16));
                isum = vmlaq_n_s32(isum, p0, sc[8 * h + 2 * j] & 0xF);
                isum = vmlaq_n_s32(isum, p1, sc[8 * h + 2 * j + 1] & 0xF);
                q0 = vshrq_n_u8(q0, 2);
                q1 = vshrq_n_u8(q1, 2);
            }
        }
        const float dall = y[b].d * neon_f16(x[b].d), dmin = y[b].d * neon_f16(x[b].dmin);
        sum += dall * (float)vaddvq_s32(isum) - dmin * (float)vaddvq_s32(mp);
    }
    *s = sum;
}

static void NEON_FN(q3_K)(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q3_K *x = vx;
    const hr_block_q8_K *y = vy;
    const uint8x16_t m3 = vdupq_n_u8(3), four = vdupq_n_u8(4);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        uint32_t sw[4];
        int8_t sc[16];
        hr_q3k_scales_words(x[b].scales, sw);
        vst1q_s8(sc, vsubq_s8(vreinterpretq_s8_u32(vld1q_u32(sw)), vdupq_n_s8(32)));
        const uint8x16_t hm0 = vld1q_u8(x[b].hmask), hm1 = vld1q_u8(x[b].hmask + 16);
        int32x4_t isum = vdupq_n_s32(0);
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            uint8x16_t q0 = vld1q_u8(x[b].qs + 32 * h), q1 = vld1q_u8(x[b].qs + 32 * h + 16);
            const int8_t *q8 = y[b].qs + 128 * h;
            HR_UNROLL
        for (int j = 0; j < 4; j++) {
                /* w = low 2 bits - 4 unless hmask bit 4h + j is set */
                const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << (4 * h + j)));
                int8x16_t w0 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(q0, m3), vbicq_u8(four, vtstq_u8(hm0, bit))));
                int8x16_t w1 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(q1, m3), vbicq_u8(four, vtstq_u8(hm1, bit))));
                int32x4_t p0 = dot16(vdupq_n_s32(0), w0, vld1q_s8(q8 + 32 * j));
                int32x4_t p1 = dot16(vdupq_n_s32(0), w1, vld1q_s8(q8 + 32 * j + 16));
                isum = vmlaq_n_s32(isum, p0, sc[8 * h + 2 * j]);
                isum = vmlaq_n_s32(isum, p1, sc[8 * h + 2 * j + 1]);
                q0 = vshrq_n_u8(q0, 2);
                q1 = vshrq_n_u8(q1, 2);
            }
        }
        sum += neon_f16(x[b].d) * y[b].d * (float)vaddvq_s32(isum);
    }
    *s = sum;
}
