/*
 * Reference quantize/dequantize of the 32-element block formats
 * (q4_0 q4_1 q5_0 q5_1 q8_0 q8_1), bit-compatible with ggml's *_ref.
 */
#include <float.h>
#include <math.h>

#include "tensor/quants.h"
#include "tensor/quants_internal.h"

/* The signed extreme of a block: the value with the largest magnitude
 * (the first one on ties), used by the symmetric formats. */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

/* q4_0: x = d * (q - 8), d = signed extreme / -8 so that the extreme maps to q = 0. */
void hr_quantize_row_q4_0(const float *src, void *dst, int64_t n) {
    hr_block_q4_0 *y = dst;
    const int half = HR_QK4_0 / 2;
    for (int64_t b = 0; b < n / HR_QK4_0; b++, src += HR_QK4_0) {
        const float d = signed_absmax(src, HR_QK4_0) / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[b].d = hr_f32_to_f16(d);
        for (int j = 0; j < half; j++) {
            int lo = hr_imin(15, (int8_t)hr_trunc_i32(src[j] * id + 8.5f));
            int hi = hr_imin(15, (int8_t)hr_trunc_i32(src[j + half] * id + 8.5f));
            y[b].qs[j] = (uint8_t)((uint8_t)lo | (uint8_t)(hi << 4));
        }
    }
}

void hr_dequantize_row_q4_0(const void *src, float *dst, int64_t n) {
    const hr_block_q4_0 *x = src;
    const int half = HR_QK4_0 / 2;
    for (int64_t b = 0; b < n / HR_QK4_0; b++, dst += HR_QK4_0) {
        const float d = hr_f16_to_f32(x[b].d);
        for (int j = 0; j < half; j++) {
            dst[j] = ((x[b].qs[j] & 0x0F) - 8) * d;
            dst[j + half] = ((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

/* q4_1: x = d * q + m with m the block minimum and d = range / 15. */
void hr_quantize_row_q4_1(const float *src, void *dst, int64_t n) {
    hr_block_q4_1 *y = dst;
    const int half = HR_QK4_1 / 2;
    for (int64_t b = 0; b < n / HR_QK4_1; b++, src += HR_QK4_1) {
        float mn, mx;
        min_max(src, HR_QK4_1, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        y[b].d = hr_f32_to_f16(d);
        y[b].m = hr_f32_to_f16(mn);
        for (int j = 0; j < half; j++) {
            int lo = hr_imin(15, (int8_t)hr_trunc_i32((src[j] - mn) * id + 0.5f));
            int hi = hr_imin(15, (int8_t)hr_trunc_i32((src[j + half] - mn) * id + 0.5f));
            y[b].qs[j] = (uint8_t)((uint8_t)lo | (uint8_t)(hi << 4));
        }
    }
}

void hr_dequantize_row_q4_1(const void *src, float *dst, int64_t n) {
    const hr_block_q4_1 *x = src;
    const int half = HR_QK4_1 / 2;
    for (int64_t b = 0; b < n / HR_QK4_1; b++, dst += HR_QK4_1) {
        const float d = hr_f16_to_f32(x[b].d), m = hr_f16_to_f32(x[b].m);
        for (int j = 0; j < half; j++) {
            dst[j] = (x[b].qs[j] & 0x0F) * d + m;
            dst[j + half] = (x[b].qs[j] >> 4) * d + m;
        }
    }
}

/* The fifth bits of the 32 quants live in a little-endian 32-bit word, bit j for element j. */
static void put_qh(uint8_t qh[4], uint32_t bits) {
    for (int i = 0; i < 4; i++) qh[i] = (uint8_t)(bits >> (8 * i));
}

static uint32_t get_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* q5_0: x = d * (q - 16), d = signed extreme / -16. */
void hr_quantize_row_q5_0(const float *src, void *dst, int64_t n) {
    hr_block_q5_0 *y = dst;
    const int half = HR_QK5_0 / 2;
    for (int64_t b = 0; b < n / HR_QK5_0; b++, src += HR_QK5_0) {
        const float d = signed_absmax(src, HR_QK5_0) / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[b].d = hr_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < half; j++) {
            uint8_t lo = (uint8_t)hr_imin(31, (int8_t)hr_trunc_i32(src[j] * id + 16.5f));
            uint8_t hi = (uint8_t)hr_imin(31, (int8_t)hr_trunc_i32(src[j + half] * id + 16.5f));
            y[b].qs[j] = (uint8_t)((lo & 0x0F) | ((hi & 0x0F) << 4));
            qh |= (uint32_t)((lo >> 4) & 1) << j;
            qh |= (uint32_t)((hi >> 4) & 1) << (j + half);
        }
        put_qh(y[b].qh, qh);
    }
}

void hr_dequantize_row_q5_0(const void *src, float *dst, int64_t n) {
    const hr_block_q5_0 *x = src;
    const int half = HR_QK5_0 / 2;
    for (int64_t b = 0; b < n / HR_QK5_0; b++, dst += HR_QK5_0) {
        const float d = hr_f16_to_f32(x[b].d);
        const uint32_t qh = get_qh(x[b].qh);
        for (int j = 0; j < half; j++) {
            int lo = (x[b].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int hi = (x[b].qs[j] >> 4) | (int)((qh >> (j + half)) & 1) << 4;
            dst[j] = (lo - 16) * d;
            dst[j + half] = (hi - 16) * d;
        }
    }
}

/* q5_1: x = d * q + m, d = range / 31. */
void hr_quantize_row_q5_1(const float *src, void *dst, int64_t n) {
    hr_block_q5_1 *y = dst;
    const int half = HR_QK5_1 / 2;
    for (int64_t b = 0; b < n / HR_QK5_1; b++, src += HR_QK5_1) {
        float mn, mx;
        min_max(src, HR_QK5_1, &mn, &mx);
        const float d = (mx - mn) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        y[b].d = hr_f32_to_f16(d);
        y[b].m = hr_f32_to_f16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < half; j++) {
            /* no clamp to 31 here, as in ggml: the rounding cannot exceed it */
            uint8_t lo = (uint8_t)hr_trunc_i32((src[j] - mn) * id + 0.5f);
            uint8_t hi = (uint8_t)hr_trunc_i32((src[j + half] - mn) * id + 0.5f);
            y[b].qs[j] = (uint8_t)((lo & 0x0F) | ((hi & 0x0F) << 4));
            qh |= (uint32_t)((lo >> 4) & 1) << j;
            qh |= (uint32_t)((hi >> 4) & 1) << (j + half);
        }
        put_qh(y[b].qh, qh);
    }
}

void hr_dequantize_row_q5_1(const void *src, float *dst, int64_t n) {
    const hr_block_q5_1 *x = src;
    const int half = HR_QK5_1 / 2;
    for (int64_t b = 0; b < n / HR_QK5_1; b++, dst += HR_QK5_1) {
        const float d = hr_f16_to_f32(x[b].d), m = hr_f16_to_f32(x[b].m);
        const uint32_t qh = get_qh(x[b].qh);
        for (int j = 0; j < half; j++) {
            int lo = (x[b].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int hi = (x[b].qs[j] >> 4) | (int)((qh >> (j + half)) & 1) << 4;
            dst[j] = lo * d + m;
            dst[j + half] = hi * d + m;
        }
    }
}

static float absmax(const float *x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    return amax;
}

/* q8_0: x = d * q, d = absmax / 127, q = round-half-away(x / d). */
void hr_quantize_row_q8_0(const float *src, void *dst, int64_t n) {
    hr_block_q8_0 *y = dst;
    for (int64_t b = 0; b < n / HR_QK8_0; b++, src += HR_QK8_0) {
        const float d = absmax(src, HR_QK8_0) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[b].d = hr_f32_to_f16(d);
        for (int j = 0; j < HR_QK8_0; j++) y[b].qs[j] = (int8_t)hr_trunc_i32(roundf(src[j] * id));
    }
}

void hr_dequantize_row_q8_0(const void *src, float *dst, int64_t n) {
    const hr_block_q8_0 *x = src;
    for (int64_t b = 0; b < n / HR_QK8_0; b++, dst += HR_QK8_0) {
        const float d = hr_f16_to_f32(x[b].d);
        for (int j = 0; j < HR_QK8_0; j++) dst[j] = x[b].qs[j] * d;
    }
}

/* q8_1: q8_0 plus s = d * sum(q) (rounded to f16), which lets q4_1/q5_1 dot
 * products apply the block minimum once per block. */
void hr_quantize_row_q8_1(const float *src, void *dst, int64_t n) {
    hr_block_q8_1 *y = dst;
    for (int64_t b = 0; b < n / HR_QK8_1; b++, src += HR_QK8_1) {
        const float d = absmax(src, HR_QK8_1) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[b].d = hr_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < HR_QK8_1; j++) {
            y[b].qs[j] = (int8_t)hr_trunc_i32(roundf(src[j] * id));
            sum += y[b].qs[j];
        }
        y[b].s = hr_f32_to_f16(sum * d);
    }
}

void hr_dequantize_row_q8_1(const void *src, float *dst, int64_t n) {
    const hr_block_q8_1 *x = src;
    for (int64_t b = 0; b < n / HR_QK8_1; b++, dst += HR_QK8_1) {
        const float d = hr_f16_to_f32(x[b].d);
        for (int j = 0; j < HR_QK8_1; j++) dst[j] = x[b].qs[j] * d;
    }
}
