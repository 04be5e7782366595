/*
 * Portable dot-product kernels: the reference every SIMD kernel is tested
 * against. Each computes what ggml's generic C kernel computes (exact integer
 * sums per block, scaled by the block's float factors), so results agree with
 * llama.cpp up to float accumulation order.
 */
#include <string.h>

#include "kernels/kernels_impl.h"
#include "tensor/quants.h"

#define F16(h) hr_f16_to_f32(h)

/* Float rows: products rounded to float, summed in double, as ggml does. */
void hr_vec_dot_f32_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void hr_vec_dot_f16_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_f16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(F16(x[i]) * F16(y[i]));
    *s = (float)sum;
}

void hr_vec_dot_bf16_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_bf16 *x = vx, *y = vy;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(hr_bf16_to_f32(x[i]) * hr_bf16_to_f32(y[i]));
    *s = (float)sum;
}

/* 32-element blocks: element j (< 16) is the low nibble of qs[j], element
 * j + 16 the high nibble; q5 adds bit j / j + 16 of qh as the fifth bit. */
void hr_vec_dot_q4_0_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_0 *x = vx;
    const hr_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK8_0; b++) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            isum += ((x[b].qs[j] & 0xF) - 8) * y[b].qs[j];
            isum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
        }
        sum += (float)isum * (F16(x[b].d) * F16(y[b].d));
    }
    *s = sum;
}

void hr_vec_dot_q4_1_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_1 *x = vx;
    const hr_block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK8_1; b++) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            isum += (x[b].qs[j] & 0xF) * y[b].qs[j];
            isum += (x[b].qs[j] >> 4) * y[b].qs[j + 16];
        }
        /* y.s = dy * sum(qy) carries the offset term m * sum(y). */
        sum += (F16(x[b].d) * F16(y[b].d)) * (float)isum + F16(x[b].m) * F16(y[b].s);
    }
    *s = sum;
}

void hr_vec_dot_q5_0_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q5_0 *x = vx;
    const hr_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK8_0; b++) {
        uint32_t qh = hr_load_u32(x[b].qh);
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (int)((x[b].qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
            int hi = (int)((x[b].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            isum += lo * y[b].qs[j] + hi * y[b].qs[j + 16];
        }
        sum += (F16(x[b].d) * F16(y[b].d)) * (float)isum;
    }
    *s = sum;
}

void hr_vec_dot_q5_1_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q5_1 *x = vx;
    const hr_block_q8_1 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK8_1; b++) {
        uint32_t qh = hr_load_u32(x[b].qh);
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (int)((x[b].qs[j] & 0xF) | (((qh >> j) & 1) << 4));
            int hi = (int)((x[b].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            isum += lo * y[b].qs[j] + hi * y[b].qs[j + 16];
        }
        sum += (F16(x[b].d) * F16(y[b].d)) * (float)isum + F16(x[b].m) * F16(y[b].s);
    }
    *s = sum;
}

void hr_vec_dot_q8_0_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q8_0 *x = vx;
    const hr_block_q8_0 *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK8_0; b++) {
        int isum = 0;
        for (int j = 0; j < HR_QK8_0; j++) isum += x[b].qs[j] * y[b].qs[j];
        sum += (float)isum * (F16(x[b].d) * F16(y[b].d));
    }
    *s = sum;
}

/* Super-blocks of 256. Each kernel builds the block's 256 integer weights in
 * element order, then sums scale(e / 16 or e / 32) * w[e] * q8[e] exactly;
 * the per-sub-block minimums are applied through the q8_K bsums. */
static int64_t dot_i8_scaled16(const int8_t *w, const int8_t *q8, const int *scale16) {
    int64_t isum = 0;
    for (int g = 0; g < 16; g++) {
        int part = 0;
        for (int l = 0; l < 16; l++) part += w[16 * g + l] * q8[16 * g + l];
        isum += (int64_t)scale16[g] * part;
    }
    return isum;
}

void hr_vec_dot_q2_K_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q2_K *x = vx;
    const hr_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        int8_t w[HR_QK_K];
        int sc[16], mins = 0;
        for (int half = 0; half < 2; half++)
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++)
                    w[128 * half + 32 * j + l] = (int8_t)((x[b].qs[32 * half + l] >> (2 * j)) & 3);
        for (int g = 0; g < 16; g++) {
            sc[g] = x[b].scales[g] & 0xF;
            mins += y[b].bsums[g] * (x[b].scales[g] >> 4);
        }
        int64_t isum = dot_i8_scaled16(w, y[b].qs, sc);
        float dall = y[b].d * F16(x[b].d), dmin = y[b].d * F16(x[b].dmin);
        sum += dall * (float)isum - dmin * (float)mins;
    }
    *s = sum;
}

void hr_vec_dot_q3_K_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q3_K *x = vx;
    const hr_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        int8_t w[HR_QK_K], sc8[16];
        int sc[16];
        for (int half = 0; half < 2; half++)
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++) {
                    int q = (x[b].qs[32 * half + l] >> (2 * j)) & 3;
                    int hbit = (x[b].hmask[l] >> (4 * half + j)) & 1;
                    w[128 * half + 32 * j + l] = (int8_t)(q - (hbit ? 0 : 4));
                }
        hr_q3k_unpack_scales(x[b].scales, sc8);
        for (int g = 0; g < 16; g++) sc[g] = sc8[g];
        int64_t isum = dot_i8_scaled16(w, y[b].qs, sc);
        sum += (F16(x[b].d) * y[b].d) * (float)isum;
    }
    *s = sum;
}

static void q4k_q5k_dot(const uint8_t *scales, const int8_t *w, const hr_block_q8_K *y, hr_f16 d,
                        hr_f16 dmin, float *sum) {
    uint8_t sm[16];
    hr_k4_unpack_scales(scales, sm);
    int sc[16], mins = 0;
    for (int g = 0; g < 16; g++) {
        sc[g] = sm[g / 2];
        mins += y->bsums[g] * sm[8 + g / 2];
    }
    int64_t isum = dot_i8_scaled16(w, y->qs, sc);
    *sum += (F16(d) * y->d) * (float)isum - (F16(dmin) * y->d) * (float)mins;
}

void hr_vec_dot_q4_K_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q4_K *x = vx;
    const hr_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        int8_t w[HR_QK_K];
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) {
                w[64 * j + l] = (int8_t)(x[b].qs[32 * j + l] & 0xF);
                w[64 * j + 32 + l] = (int8_t)(x[b].qs[32 * j + l] >> 4);
            }
        q4k_q5k_dot(x[b].scales, w, &y[b], x[b].d, x[b].dmin, &sum);
    }
    *s = sum;
}

void hr_vec_dot_q5_K_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q5_K *x = vx;
    const hr_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        int8_t w[HR_QK_K];
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) {
                int h0 = (x[b].qh[l] >> (2 * j)) & 1, h1 = (x[b].qh[l] >> (2 * j + 1)) & 1;
                w[64 * j + l] = (int8_t)((x[b].qs[32 * j + l] & 0xF) | (h0 << 4));
                w[64 * j + 32 + l] = (int8_t)((x[b].qs[32 * j + l] >> 4) | (h1 << 4));
            }
        q4k_q5k_dot(x[b].scales, w, &y[b], x[b].d, x[b].dmin, &sum);
    }
    *s = sum;
}

void hr_vec_dot_q6_K_scalar(int64_t n, float *s, const void *vx, const void *vy) {
    const hr_block_q6_K *x = vx;
    const hr_block_q8_K *y = vy;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        int8_t w[HR_QK_K];
        int sc[16];
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = x[b].ql + 64 * half, *qh = x[b].qh + 32 * half;
            int8_t *o = w + 128 * half;
            for (int l = 0; l < 32; l++) {
                o[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                o[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        for (int g = 0; g < 16; g++) sc[g] = x[b].scales[g];
        int64_t isum = dot_i8_scaled16(w, y[b].qs, sc);
        sum += (F16(x[b].d) * y[b].d) * (float)isum;
    }
    *s = sum;
}

void hr_kernels_scalar(hr_kernels *k) {
    memset(k, 0, sizeof *k);
    k->isa = HR_ISA_SCALAR;
    k->isa_name = "scalar";
    hr_act_fill_scalar(k);
    k->vec_dot[HR_TYPE_F32] = hr_vec_dot_f32_scalar;
    k->vec_dot[HR_TYPE_F16] = hr_vec_dot_f16_scalar;
    k->vec_dot[HR_TYPE_BF16] = hr_vec_dot_bf16_scalar;
    k->vec_dot[HR_TYPE_Q4_0] = hr_vec_dot_q4_0_scalar;
    k->vec_dot[HR_TYPE_Q4_1] = hr_vec_dot_q4_1_scalar;
    k->vec_dot[HR_TYPE_Q5_0] = hr_vec_dot_q5_0_scalar;
    k->vec_dot[HR_TYPE_Q5_1] = hr_vec_dot_q5_1_scalar;
    k->vec_dot[HR_TYPE_Q8_0] = hr_vec_dot_q8_0_scalar;
    k->vec_dot[HR_TYPE_Q2_K] = hr_vec_dot_q2_K_scalar;
    k->vec_dot[HR_TYPE_Q3_K] = hr_vec_dot_q3_K_scalar;
    k->vec_dot[HR_TYPE_Q4_K] = hr_vec_dot_q4_K_scalar;
    k->vec_dot[HR_TYPE_Q5_K] = hr_vec_dot_q5_K_scalar;
    k->vec_dot[HR_TYPE_Q6_K] = hr_vec_dot_q6_K_scalar;
    /* Activation formats: ggml's reference quantizers, byte for byte. */
    k->quantize_row[HR_TYPE_F32] = hr_quantize_row_f32;
    k->quantize_row[HR_TYPE_F16] = hr_quantize_row_f16;
    k->quantize_row[HR_TYPE_BF16] = hr_quantize_row_bf16;
    k->quantize_row[HR_TYPE_Q8_0] = hr_quantize_row_q8_0;
    k->quantize_row[HR_TYPE_Q8_1] = hr_quantize_row_q8_1;
    k->quantize_row[HR_TYPE_Q8_K] = hr_quantize_row_q8_K;
}
