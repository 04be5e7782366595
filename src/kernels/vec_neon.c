/*
 * Baseline ARMv8 NEON kernels (no dot-product extension; see mk/kernels.mk):
 * the int8 kernels of vec_neon_impl.h built with vmull_s8, plus float rows
 * and the activation quantizers, which vec_dotprod_neon.c reuses.
 */
#define HR_NEON_DOTPROD 0
#define NEON_FN(name) vec_dot_##name##_neon
#include "kernels/vec_neon_impl.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF /* the quantizers must round exactly like the reference */
#endif

static void vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
        a1 = vfmaq_f32(a1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(x + i + 8), vld1q_f32(y + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; i++) sum += x[i] * y[i];
    *s = sum;
}

static inline float32x4_t load_f16x4(const hr_f16 *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }

static void vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_f16 *x = vx, *y = vy;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, load_f16x4(x + i), load_f16x4(y + i));
        a1 = vfmaq_f32(a1, load_f16x4(x + i + 4), load_f16x4(y + i + 4));
        a2 = vfmaq_f32(a2, load_f16x4(x + i + 8), load_f16x4(y + i + 8));
        a3 = vfmaq_f32(a3, load_f16x4(x + i + 12), load_f16x4(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, load_f16x4(x + i), load_f16x4(y + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; i++) sum += neon_f16(x[i]) * neon_f16(y[i]);
    *s = sum;
}

static inline float32x4_t load_bf16x4(const hr_bf16 *p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

static void vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_bf16 *x = vx, *y = vy;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 = vfmaq_f32(a0, load_bf16x4(x + i), load_bf16x4(y + i));
        a1 = vfmaq_f32(a1, load_bf16x4(x + i + 4), load_bf16x4(y + i + 4));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, load_bf16x4(x + i), load_bf16x4(y + i));
    float sum = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < n; i++) sum += hr_bf16_to_f32(x[i]) * hr_bf16_to_f32(y[i]);
    *s = sum;
}

/* ---- activation quantizers, byte-identical to the reference ---- */

/* The reference stores (int8_t) of an int: the low byte, including for the
 * INT32_MIN that converting inf/NaN/huge values gives on x86 (ggml's
 * behaviour, which the reference mirrors); vcvt saturates instead, so those
 * lanes are replaced first. */
static inline int32x4_t to_int_like_x86(float32x4_t r, int32x4_t conv) {
    uint32x4_t bad = vorrq_u32(vcageq_f32(r, vdupq_n_f32(2147483648.0f)), vmvnq_u32(vceqq_f32(r, r)));
    return vbslq_s32(bad, vdupq_n_s32(INT32_MIN), conv);
}

static inline int8x16_t low_bytes(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    int16x8_t ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b)), cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
    return vcombine_s8(vmovn_s16(ab), vmovn_s16(cd));
}

/* One 32-element block with d = amax / 127 and roundf (vcvtaq: ties away). */
static inline float q8_block(const float *x, int8_t *qs) {
    float32x4_t v[8], m = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; k++) {
        v[k] = vld1q_f32(x + 4 * k);
        m = vmaxq_f32(m, vabsq_f32(v[k]));
    }
    const float d = vmaxvq_f32(m) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int32x4_t q[8];
    for (int k = 0; k < 8; k++) {
        float32x4_t r = vmulq_n_f32(v[k], id);
        q[k] = to_int_like_x86(r, vcvtaq_s32_f32(r));
    }
    vst1q_s8(qs, low_bytes(q[0], q[1], q[2], q[3]));
    vst1q_s8(qs + 16, low_bytes(q[4], q[5], q[6], q[7]));
    return d;
}

static inline hr_f16 to_f16(float f) {
    __fp16 h = (__fp16)f;
    hr_f16 bits;
    memcpy(&bits, &h, 2);
    return bits;
}

static void quantize_q8_0(const float *x, void *vy, int64_t n) {
    hr_block_q8_0 *y = vy;
    for (int64_t b = 0; b < n / HR_QK8_0; b++) y[b].d = to_f16(q8_block(x + HR_QK8_0 * b, y[b].qs));
}

static void quantize_q8_1(const float *x, void *vy, int64_t n) {
    hr_block_q8_1 *y = vy;
    for (int64_t b = 0; b < n / HR_QK8_1; b++) {
        float d = q8_block(x + HR_QK8_1 * b, y[b].qs);
        y[b].d = to_f16(d);
        int sum = vaddlvq_s8(vld1q_s8(y[b].qs)) + vaddlvq_s8(vld1q_s8(y[b].qs + 16));
        y[b].s = to_f16((float)sum * d);
    }
}

/* q8_K: scale by -127 / (first element of largest magnitude), round with the
 * reference's add-1.5*2^23 trick (ties to even), clamp above at 127. */
static void quantize_q8_K(const float *x, void *vy, int64_t n) {
    hr_block_q8_K *y = vy;
    for (int64_t b = 0; b < n / HR_QK_K; b++, x += HR_QK_K) {
        float32x4_t m = vdupq_n_f32(0.0f);
        for (int k = 0; k < HR_QK_K; k += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + k)));
        const float amax = vmaxvq_f32(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        int at = 0;
        while (__builtin_fabsf(x[at]) != amax) at++;
        const float iscale = -127.f / x[at];
        const float32x4_t magic = vdupq_n_f32(12582912.f);
        const int32x4_t mant = vdupq_n_s32(0x007fffff), bias = vdupq_n_s32(0x00400000), top = vdupq_n_s32(127);
        for (int k = 0; k < HR_QK_K; k += 16) {
            int32x4_t q[4];
            for (int j = 0; j < 4; j++) {
                float32x4_t t = vaddq_f32(vmulq_n_f32(vld1q_f32(x + k + 4 * j), iscale), magic);
                int32x4_t i = vsubq_s32(vandq_s32(vreinterpretq_s32_f32(t), mant), bias);
                q[j] = vminq_s32(i, top);
            }
            int8x16_t packed = low_bytes(q[0], q[1], q[2], q[3]);
            vst1q_s8(y[b].qs + k, packed);
            y[b].bsums[k / 16] = (int16_t)vaddlvq_s8(packed);
        }
        y[b].d = 1 / iscale;
    }
}

static void quantize_f16(const float *x, void *vy, int64_t n) {
    hr_f16 *y = vy;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) y[i] = hr_f32_to_f16(x[i]);
}

void hr_kernels_fill_neon(hr_kernels *k) {
    k->vec_dot[HR_TYPE_F32] = vec_dot_f32;
    k->vec_dot[HR_TYPE_F16] = vec_dot_f16;
    k->vec_dot[HR_TYPE_BF16] = vec_dot_bf16;
    k->vec_dot[HR_TYPE_Q8_0] = NEON_FN(q8_0);
    k->vec_dot[HR_TYPE_Q4_0] = NEON_FN(q4_0);
    k->vec_dot[HR_TYPE_Q2_K] = NEON_FN(q2_K);
    k->vec_dot[HR_TYPE_Q3_K] = NEON_FN(q3_K);
    k->vec_dot[HR_TYPE_Q4_K] = NEON_FN(q4_K);
    k->vec_dot[HR_TYPE_Q5_K] = NEON_FN(q5_K);
    k->vec_dot[HR_TYPE_Q6_K] = NEON_FN(q6_K);
    k->quantize_row[HR_TYPE_Q8_0] = quantize_q8_0;
    k->quantize_row[HR_TYPE_Q8_1] = quantize_q8_1;
    k->quantize_row[HR_TYPE_Q8_K] = quantize_q8_K;
    k->quantize_row[HR_TYPE_F16] = quantize_f16;
}
