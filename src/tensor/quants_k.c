/*
 * Reference quantize/dequantize of the 256-element "K" super-block formats
 * (q2_K q3_K q4_K q5_K q6_K q8_K), bit-compatible with ggml's *_ref.
 *
 * Each super-block holds 16 or 8 sub-blocks; a sub-block's scale (and min) is
 * first fitted in float, then the scales themselves are quantized against one
 * f16 super-scale, and finally the values are re-quantized against the scales
 * as they will be decoded. The fitting searches below reproduce ggml's exactly
 * (same candidates, same float operation order), so files match byte for byte.
 */
#include <math.h>
#include <stdbool.h>

#include "tensor/quants.h"
#include "tensor/quants_internal.h"

#define GROUP_MAX_EPS 1e-15f

/* Symmetric fit x ~ scale * (L - nmax), L in [0, 2*nmax), weighted by x^2:
 * start from the grid scale of the signed extreme, then try 18 nearby grid
 * scales and keep the least-squares best. Returns the scale (0 for an all-zero group). */
static float fit_symmetric_sq(int n, int nmax, const float *x, int8_t *L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = hr_iclamp(hr_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int step = -9; step <= 9; step++) {
        if (step == 0) continue;
        iscale = -(nmax + 0.1f * step) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = hr_iclamp(hr_nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + hr_iclamp(hr_nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Symmetric fit for q3_K: start from the extreme's grid, then coordinate
 * descent (up to 5 sweeps) moving single quants while the x^2-weighted
 * least-squares objective improves. */
static float fit_symmetric_q3(int n, int nmax, const float *x, int8_t *L) {
    float amax = 0, max = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.f;
    }
    const float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = hr_iclamp(hr_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int sweep = 0; sweep < 5; sweep++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (!(slx > 0)) continue;
            float sl2 = suml2 - w * L[i] * L[i];
            int nl = hr_iclamp(hr_nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (nl == L[i]) continue;
            slx += w * x[i] * nl;
            sl2 += w * nl * nl;
            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                L[i] = (int8_t)nl;
                sumlx = slx;
                suml2 = sl2;
                changed++;
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Asymmetric fit x ~ scale * L - min, L in [0, nmax], min >= 0, weighted by w:
 * the grid spanning [min(x,0), max(x)] first, then nstep+1 stretched grids,
 * each followed by a weighted least-squares solve for (scale, min); keeps the
 * lowest weighted error (absolute when use_mad, else squared). */
static float fit_affine(int n, int nmax, const float *x, const float *w, uint8_t *L, float *the_min,
                        uint8_t *Laux, float rmin, float rdelta, int nstep, bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)hr_iclamp(hr_nearest_int(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += w[i] * diff;
    }
    for (int step = 0; step <= nstep; step++) {
        iscale = (rmin + rdelta * step + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = hr_iclamp(hr_nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (!(D > 0)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * Laux[i] + this_min - x[i];
            diff = use_mad ? fabsf(diff) : diff * diff;
            err += w[i] * diff;
        }
        if (err < best_error) {
            for (int i = 0; i < n; i++) L[i] = Laux[i];
            best_error = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

/* q4_K/q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes:
 * sub-blocks 0-3 in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins);
 * sub-blocks 4-7 as nibbles in bytes 8-11 with their top 2 bits in the
 * spare high bits of bytes 0-7. */
static void get_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void put_scale_min_k4(int j, uint8_t *q, uint8_t sc, uint8_t m) {
    if (j < 4) {
        q[j] = sc;
        q[j + 4] = m;
    } else {
        q[j + 4] = (uint8_t)((sc & 0xF) | ((m & 0xF) << 4));
        q[j - 4] |= (uint8_t)((sc >> 4) << 6);
        q[j] |= (uint8_t)((m >> 4) << 6);
    }
}

/* 2-bit quants in q2_K/q3_K: byte l of each 32-byte group holds elements
 * l, l+32, l+64, l+96 of a 128-element half, two bits each. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < HR_QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

/* ---------------------------------------------------------------- q2_K */
/* x = d * (sc & 15) * q - dmin * (sc >> 4), 16 sub-blocks of 16, q in 0..3. */
void hr_quantize_row_q2_K(const float *src, void *dst, int64_t n) {
    hr_block_q2_K *y = dst;
    uint8_t L[HR_QK_K], Laux[16];
    float w[16], mins[HR_QK_K / 16], scales[HR_QK_K / 16];
    for (int64_t b = 0; b < n / HR_QK_K; b++, src += HR_QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < HR_QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) w[l] = fabsf(src[16 * j + l]);
            scales[j] = fit_affine(16, 3, src + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            float iscale = 15.f / max_scale;
            for (int j = 0; j < HR_QK_K / 16; j++) y[b].scales[j] = (uint8_t)hr_nearest_int(iscale * scales[j]);
            y[b].d = hr_f32_to_f16(max_scale / 15.f);
        } else {
            for (int j = 0; j < HR_QK_K / 16; j++) y[b].scales[j] = 0;
            y[b].d = hr_f32_to_f16(0.f);
        }
        if (max_min > 0) {
            float iscale = 15.f / max_min;
            for (int j = 0; j < HR_QK_K / 16; j++)
                y[b].scales[j] |= (uint8_t)((unsigned)hr_nearest_int(iscale * mins[j]) << 4);
            y[b].dmin = hr_f32_to_f16(max_min / 15.f);
        } else {
            y[b].dmin = hr_f32_to_f16(0.f);
        }
        for (int j = 0; j < HR_QK_K / 16; j++) {
            const float d = hr_f16_to_f32(y[b].d) * (y[b].scales[j] & 0xF);
            if (!d) continue;
            const float dm = hr_f16_to_f32(y[b].dmin) * (y[b].scales[j] >> 4);
            for (int i = 0; i < 16; i++)
                L[16 * j + i] = (uint8_t)hr_iclamp(hr_nearest_int((src[16 * j + i] + dm) / d), 0, 3);
        }
        pack_2bit(L, y[b].qs);
    }
}

void hr_dequantize_row_q2_K(const void *src, float *dst, int64_t n) {
    const hr_block_q2_K *x = src;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const float d = hr_f16_to_f32(x[b].d), dmin = hr_f16_to_f32(x[b].dmin);
        for (int e = 0; e < HR_QK_K; e++) {
            const int half = e / 128, r = e % 128, shift = 2 * (r / 32), l = r % 32;
            const uint8_t sc = x[b].scales[e / 16];
            const int q = (x[b].qs[32 * half + l] >> shift) & 3;
            const float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
            *dst++ = dl * q - ml;
        }
    }
}

/* ---------------------------------------------------------------- q3_K */
/* x = d * (sc - 32) * (q - 4): 16 sub-blocks of 16 with 6-bit signed scales,
 * q in 0..7 split into two low bits (qs) and a high bit (hmask). */
static int q3_scale(const uint8_t *s, int j) {
    int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

void hr_quantize_row_q3_K(const float *src, void *dst, int64_t n) {
    hr_block_q3_K *y = dst;
    int8_t L[HR_QK_K];
    float scales[HR_QK_K / 16];
    for (int64_t b = 0; b < n / HR_QK_K; b++, src += HR_QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < HR_QK_K / 16; j++) {
            scales[j] = fit_symmetric_q3(16, 4, src + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(y[b].scales, 0, sizeof y[b].scales);
        if (max_scale) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < HR_QK_K / 16; j++) {
                int8_t l8 = (int8_t)hr_nearest_int(iscale * scales[j]);
                int l = hr_iclamp(l8, -32, 31) + 32;
                if (j < 8) y[b].scales[j] = (uint8_t)(l & 0xF);
                else y[b].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[b].scales[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[b].d = hr_f32_to_f16(1 / iscale);
        } else {
            y[b].d = hr_f32_to_f16(0.f);
        }
        for (int j = 0; j < HR_QK_K / 16; j++) {
            const float d = hr_f16_to_f32(y[b].d) * q3_scale(y[b].scales, j);
            if (!d) continue;
            for (int i = 0; i < 16; i++)
                L[16 * j + i] = (int8_t)(hr_iclamp(hr_nearest_int(src[16 * j + i] / d), -4, 3) + 4);
        }
        /* high bit of element j goes to hmask[j % 32], bit j / 32 */
        memset(y[b].hmask, 0, sizeof y[b].hmask);
        uint8_t Lu[HR_QK_K];
        for (int j = 0; j < HR_QK_K; j++) {
            int l = L[j];
            if (l > 3) {
                y[b].hmask[j % 32] |= (uint8_t)(1u << (j / 32));
                l -= 4;
            }
            Lu[j] = (uint8_t)l;
        }
        pack_2bit(Lu, y[b].qs);
    }
}

void hr_dequantize_row_q3_K(const void *src, float *dst, int64_t n) {
    const hr_block_q3_K *x = src;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const float d_all = hr_f16_to_f32(x[b].d);
        for (int e = 0; e < HR_QK_K; e++) {
            const int half = e / 128, r = e % 128, shift = 2 * (r / 32), l = r % 32;
            const int low = (x[b].qs[32 * half + l] >> shift) & 3;
            const int high = (x[b].hmask[e % 32] >> (e / 32)) & 1;
            const float dl = d_all * q3_scale(x[b].scales, e / 16);
            *dst++ = dl * (low - (high ? 0 : 4));
        }
    }
}

/* ------------------------------------------------------- q4_K and q5_K */
/* x = d * sc * q - dmin * m: 8 sub-blocks of 32 with 6-bit scales and mins.
 * The two formats share the fitting and differ in q's width (4 or 5 bits). */
static void fit_k4_scales(const float *x, int nmax, float rmin, int nstep, uint8_t *L, uint8_t packed[HR_K_SCALE_SIZE],
                          hr_f16 *d_out, hr_f16 *dmin_out) {
    uint8_t Laux[32];
    float w[32], mins[HR_QK_K / 32], scales[HR_QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < HR_QK_K / 32; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(xs[l]);
        scales[j] = fit_affine(32, nmax, xs, w, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < HR_QK_K / 32; j++) {
        uint8_t ls = (uint8_t)hr_nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)hr_nearest_int(inv_min * mins[j]);
        put_scale_min_k4(j, packed, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    *d_out = hr_f32_to_f16(max_scale / 63.f);
    *dmin_out = hr_f32_to_f16(max_min / 63.f);
    for (int j = 0; j < HR_QK_K / 32; j++) {
        uint8_t sc, m;
        get_scale_min_k4(j, packed, &sc, &m);
        const float d = hr_f16_to_f32(*d_out) * sc;
        if (!d) continue;
        const float dm = hr_f16_to_f32(*dmin_out) * m;
        for (int i = 0; i < 32; i++)
            L[32 * j + i] = (uint8_t)hr_iclamp(hr_nearest_int((x[32 * j + i] + dm) / d), 0, nmax);
    }
}

void hr_quantize_row_q4_K(const float *src, void *dst, int64_t n) {
    hr_block_q4_K *y = dst;
    uint8_t L[HR_QK_K];
    for (int64_t b = 0; b < n / HR_QK_K; b++, src += HR_QK_K) {
        fit_k4_scales(src, 15, -1.f, 20, L, y[b].scales, &y[b].d, &y[b].dmin);
        /* byte l of each 32-byte group: element l low nibble, element l+32 high nibble (per 64) */
        for (int j = 0; j < HR_QK_K; j += 64)
            for (int l = 0; l < 32; l++) y[b].qs[j / 2 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

void hr_dequantize_row_q4_K(const void *src, float *dst, int64_t n) {
    const hr_block_q4_K *x = src;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const float d = hr_f16_to_f32(x[b].d), dmin = hr_f16_to_f32(x[b].dmin);
        for (int e = 0; e < HR_QK_K; e++) {
            uint8_t sc, m;
            get_scale_min_k4(e / 32, x[b].scales, &sc, &m);
            const int chunk = e / 64, hi = (e % 64) / 32, l = e % 32;
            const int q = (x[b].qs[32 * chunk + l] >> (4 * hi)) & 0xF;
            const float d1 = d * sc, m1 = dmin * m;
            *dst++ = d1 * q - m1;
        }
    }
}

void hr_quantize_row_q5_K(const float *src, void *dst, int64_t n) {
    hr_block_q5_K *y = dst;
    uint8_t L[HR_QK_K];
    for (int64_t b = 0; b < n / HR_QK_K; b++, src += HR_QK_K) {
        fit_k4_scales(src, 31, -0.5f, 15, L, y[b].scales, &y[b].d, &y[b].dmin);
        /* low nibbles as in q4_K; the fifth bit of element e goes to qh[e % 32], bit e / 32 */
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int e = 0; e < HR_QK_K; e++)
            if (L[e] > 15) y[b].qh[e % 32] |= (uint8_t)(1u << (e / 32));
        for (int j = 0; j < HR_QK_K; j += 64)
            for (int l = 0; l < 32; l++)
                y[b].qs[j / 2 + l] = (uint8_t)((L[j + l] & 0xF) | ((L[j + l + 32] & 0xF) << 4));
    }
}

void hr_dequantize_row_q5_K(const void *src, float *dst, int64_t n) {
    const hr_block_q5_K *x = src;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const float d = hr_f16_to_f32(x[b].d), dmin = hr_f16_to_f32(x[b].dmin);
        for (int e = 0; e < HR_QK_K; e++) {
            uint8_t sc, m;
            get_scale_min_k4(e / 32, x[b].scales, &sc, &m);
            const int chunk = e / 64, hi = (e % 64) / 32, l = e % 32;
            const int q = ((x[b].qs[32 * chunk + l] >> (4 * hi)) & 0xF) + (((x[b].qh[l] >> (e / 32)) & 1) ? 16 : 0);
            const float d1 = d * sc, m1 = dmin * m;
            *dst++ = d1 * q - m1;
        }
    }
}

/* ---------------------------------------------------------------- q6_K */
/* x = d * sc * (q - 32): 16 sub-blocks of 16 with 8-bit signed scales, q in 0..63
 * as 4 low bits (ql) and 2 high bits (qh). */
void hr_quantize_row_q6_K(const float *src, void *dst, int64_t n) {
    hr_block_q6_K *y = dst;
    int8_t L[HR_QK_K];
    float scales[HR_QK_K / 16];
    for (int64_t b = 0; b < n / HR_QK_K; b++, src += HR_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int j = 0; j < HR_QK_K / 16; j++) {
            scales[j] = fit_symmetric_sq(16, 32, src + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[b].d = hr_f32_to_f16(1 / iscale);
        for (int j = 0; j < HR_QK_K / 16; j++) y[b].scales[j] = (int8_t)hr_imin(127, hr_nearest_int(iscale * scales[j]));
        for (int j = 0; j < HR_QK_K / 16; j++) {
            const float d = hr_f16_to_f32(y[b].d) * y[b].scales[j];
            if (!d) continue;
            for (int i = 0; i < 16; i++)
                L[16 * j + i] = (int8_t)(hr_iclamp(hr_nearest_int(src[16 * j + i] / d), -32, 31) + 32);
        }
        /* per 128-element half h: ql[64h + l] = element l (low nibble) | l+64 (high);
         * ql[64h + 32 + l] = l+32 | l+96; qh[32h + l] = high 2 bits of l, l+32, l+64, l+96 */
        for (int h = 0; h < 2; h++) {
            const int8_t *Lh = L + 128 * h;
            for (int l = 0; l < 32; l++) {
                y[b].ql[64 * h + l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
                y[b].ql[64 * h + l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
                y[b].qh[32 * h + l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                                ((Lh[l + 96] >> 4) << 6));
            }
        }
    }
}

void hr_dequantize_row_q6_K(const void *src, float *dst, int64_t n) {
    const hr_block_q6_K *x = src;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const float d = hr_f16_to_f32(x[b].d);
        for (int e = 0; e < HR_QK_K; e++) {
            const int h = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
            const uint8_t lo_byte = x[b].ql[64 * h + 32 * (quarter & 1) + l];
            const int low = quarter < 2 ? lo_byte & 0xF : lo_byte >> 4;
            const int high = (x[b].qh[32 * h + l] >> (2 * quarter)) & 3;
            const int q = (low | high << 4) - 32;
            *dst++ = d * x[b].scales[e / 16] * q;
        }
    }
}

/* ---------------------------------------------------------------- q8_K */
/* Activation format for K-quant dot products: x = d * q with float d, plus the
 * sums of each 16 quants (bsums) so that mins can be applied per sub-block. */
void hr_quantize_row_q8_K(const float *src, void *dst, int64_t n) {
    hr_block_q8_K *y = dst;
    for (int64_t b = 0; b < n / HR_QK_K; b++, src += HR_QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < HR_QK_K; j++) {
            if (fabsf(src[j]) > amax) {
                amax = fabsf(src[j]);
                max = src[j];
            }
        }
        if (!amax) {
            /* bsums are left as they were, as ggml does; zero them for determinism */
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < HR_QK_K; j++) y[b].qs[j] = (int8_t)hr_imin(127, hr_nearest_int(iscale * src[j]));
        for (int j = 0; j < HR_QK_K / 16; j++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += y[b].qs[16 * j + i];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1 / iscale;
    }
}

void hr_dequantize_row_q8_K(const void *src, float *dst, int64_t n) {
    const hr_block_q8_K *x = src;
    for (int64_t b = 0; b < n / HR_QK_K; b++)
        for (int j = 0; j < HR_QK_K; j++) *dst++ = x[b].d * x[b].qs[j];
}
