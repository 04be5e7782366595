/*
 * Self-contained checks of the block formats (no oracle needed):
 * blocks packed by hand from the format definitions decode to the values the
 * definitions give; values on a format's grid survive a round trip exactly;
 * random rows round-trip within per-type error bounds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/quants.h"
#include "tensor/types.h"

#define F16_0_125 0x3000
#define F16_0_25 0x3400
#define F16_0_5 0x3800
#define F16_1 0x3C00
#define F16_M2 0xC000

static void expect_floats(const float *got, const float *want, int n, const char *what) {
    for (int i = 0; i < n; i++)
        cr_assert_float_eq(got[i], want[i], 0.0f, "%s: element %d is %g, expected %g", what, i, got[i], want[i]);
}

Test(quants_format, q4_0_by_hand) {
    hr_block_q4_0 b = {.d = F16_0_5};
    float want[32], got[32];
    for (int j = 0; j < 16; j++) {
        b.qs[j] = (uint8_t)(j | (15 - j) << 4); /* element j: low nibble, element j+16: high */
        want[j] = (j - 8) * 0.5f;
        want[j + 16] = (15 - j - 8) * 0.5f;
    }
    hr_dequantize_row_q4_0(&b, got, 32);
    expect_floats(got, want, 32, "q4_0");
}

Test(quants_format, q4_1_by_hand) {
    hr_block_q4_1 b = {.d = F16_1, .m = F16_M2};
    float want[32], got[32];
    for (int j = 0; j < 16; j++) {
        b.qs[j] = (uint8_t)((j * 3 % 16) | (j << 4));
        want[j] = (float)(j * 3 % 16) - 2.0f;
        want[j + 16] = (float)j - 2.0f;
    }
    hr_dequantize_row_q4_1(&b, got, 32);
    expect_floats(got, want, 32, "q4_1");
}

/* q5 formats: element e's 5-bit value has its low nibble in qs[e % 16]
 * (low half for e < 16) and its fifth bit at bit e of the little-endian qh word. */
static void pack_q5(int e, int q, uint8_t *qs, uint8_t *qh) {
    qs[e % 16] |= (uint8_t)((q & 15) << (e < 16 ? 0 : 4));
    if (q & 16) qh[e / 8] |= (uint8_t)(1 << (e % 8));
}

Test(quants_format, q5_0_by_hand) {
    hr_block_q5_0 b = {.d = F16_0_25};
    float want[32], got[32];
    for (int e = 0; e < 32; e++) {
        pack_q5(e, e, b.qs, b.qh);
        want[e] = (e - 16) * 0.25f;
    }
    hr_dequantize_row_q5_0(&b, got, 32);
    expect_floats(got, want, 32, "q5_0");
}

Test(quants_format, q5_1_by_hand) {
    hr_block_q5_1 b = {.d = F16_0_5, .m = F16_1};
    float want[32], got[32];
    for (int e = 0; e < 32; e++) {
        pack_q5(e, 31 - e, b.qs, b.qh);
        want[e] = (31 - e) * 0.5f + 1.0f;
    }
    hr_dequantize_row_q5_1(&b, got, 32);
    expect_floats(got, want, 32, "q5_1");
}

Test(quants_format, q8_0_and_q8_1_by_hand) {
    hr_block_q8_0 b = {.d = F16_0_125};
    hr_block_q8_1 c = {.d = F16_0_125};
    float want[32], got[32];
    for (int j = 0; j < 32; j++) {
        b.qs[j] = c.qs[j] = (int8_t)(j * 8 - 128);
        want[j] = (j * 8 - 128) * 0.125f;
    }
    hr_dequantize_row_q8_0(&b, got, 32);
    expect_floats(got, want, 32, "q8_0");
    hr_dequantize_row_q8_1(&c, got, 32);
    expect_floats(got, want, 32, "q8_1");
}

/* 2-bit fields of q2_K/q3_K: element e of the 256 sits in qs[32 * (e / 128) + e % 32],
 * at bit 2 * ((e % 128) / 32). */
static void pack_2bit(int e, int q, uint8_t *qs) { qs[32 * (e / 128) + e % 32] |= (uint8_t)((q & 3) << (2 * ((e % 128) / 32))); }

Test(quants_format, q2_K_by_hand) {
    hr_block_q2_K b;
    memset(&b, 0, sizeof b);
    b.d = F16_1;
    b.dmin = F16_0_5;
    for (int j = 0; j < 16; j++) b.scales[j] = (uint8_t)(j | (15 - j) << 4); /* scale low nibble, min high */
    float want[256], got[256];
    for (int e = 0; e < 256; e++) {
        int q = (e * 5 + e / 16) % 4, j = e / 16;
        pack_2bit(e, q, b.qs);
        want[e] = 1.0f * j * q - 0.5f * (15 - j);
    }
    hr_dequantize_row_q2_K(&b, got, 256);
    expect_floats(got, want, 256, "q2_K");
}

Test(quants_format, q3_K_by_hand) {
    hr_block_q3_K b;
    memset(&b, 0, sizeof b);
    b.d = F16_0_5;
    /* 6-bit scale codes: low nibble of j in scales[j] (j < 8) or the high nibble of
     * scales[j - 8]; top two bits in scales[8 + j % 4] at bit 2 * (j / 4); value code - 32 */
    int code[16];
    for (int j = 0; j < 16; j++) {
        code[j] = (j * 37 + 5) % 64;
        if (j < 8) b.scales[j] |= (uint8_t)(code[j] & 15);
        else b.scales[j - 8] |= (uint8_t)((code[j] & 15) << 4);
        b.scales[8 + j % 4] |= (uint8_t)((code[j] >> 4) << (2 * (j / 4)));
    }
    float want[256], got[256];
    for (int e = 0; e < 256; e++) {
        int q = (e * 3 + e / 32) % 8; /* stored value; the quant is q - 4 */
        pack_2bit(e, q & 3, b.qs);
        if (q & 4) b.hmask[e % 32] |= (uint8_t)(1 << (e / 32));
        want[e] = 0.5f * (code[e / 16] - 32) * (q - 4);
    }
    hr_dequantize_row_q3_K(&b, got, 256);
    expect_floats(got, want, 256, "q3_K");
}

/* q4_K/q5_K scales: 6-bit scale and min of sub-block j (of 8); j < 4: scales[j], scales[j + 4];
 * j >= 4: low nibbles in scales[j + 4] (scale low, min high), top two bits in
 * bits 6-7 of scales[j - 4] (scale) and scales[j] (min). */
static void pack_k4_scale(int j, int sc, int m, uint8_t *s) {
    if (j < 4) {
        s[j] |= (uint8_t)sc;
        s[j + 4] |= (uint8_t)m;
    } else {
        s[j + 4] = (uint8_t)((sc & 15) | (m & 15) << 4);
        s[j - 4] |= (uint8_t)((sc >> 4) << 6);
        s[j] |= (uint8_t)((m >> 4) << 6);
    }
}
/* 4-bit fields of q4_K/q5_K: element e in qs[32 * (e / 64) + e % 32], high nibble when (e % 64) >= 32 */
static void pack_k4_nibble(int e, int q, uint8_t *qs) { qs[32 * (e / 64) + e % 32] |= (uint8_t)((q & 15) << ((e % 64) >= 32 ? 4 : 0)); }

Test(quants_format, q4_K_by_hand) {
    hr_block_q4_K b;
    memset(&b, 0, sizeof b);
    b.d = F16_1;
    b.dmin = F16_0_25;
    int sc[8], m[8];
    for (int j = 0; j < 8; j++) {
        sc[j] = 8 * j + 7;
        m[j] = 63 - 9 * j;
        pack_k4_scale(j, sc[j], m[j], b.scales);
    }
    float want[256], got[256];
    for (int e = 0; e < 256; e++) {
        int q = (e * 7) % 16, j = e / 32;
        pack_k4_nibble(e, q, b.qs);
        want[e] = 1.0f * sc[j] * q - 0.25f * m[j];
    }
    hr_dequantize_row_q4_K(&b, got, 256);
    expect_floats(got, want, 256, "q4_K");
}

Test(quants_format, q5_K_by_hand) {
    hr_block_q5_K b;
    memset(&b, 0, sizeof b);
    b.d = F16_0_5;
    b.dmin = F16_1;
    int sc[8], m[8];
    for (int j = 0; j < 8; j++) {
        sc[j] = 63 - 5 * j;
        m[j] = 8 * j + 1;
        pack_k4_scale(j, sc[j], m[j], b.scales);
    }
    float want[256], got[256];
    for (int e = 0; e < 256; e++) {
        int q = (e * 11 + 3) % 32, j = e / 32;
        pack_k4_nibble(e, q, b.qs);
        if (q & 16) b.qh[e % 32] |= (uint8_t)(1 << (e / 32)); /* fifth bit: qh[e % 32], bit e / 32 */
        want[e] = 0.5f * sc[j] * q - 1.0f * m[j];
    }
    hr_dequantize_row_q5_K(&b, got, 256);
    expect_floats(got, want, 256, "q5_K");
}

Test(quants_format, q6_K_by_hand) {
    hr_block_q6_K b;
    memset(&b, 0, sizeof b);
    b.d = F16_0_125;
    for (int j = 0; j < 16; j++) b.scales[j] = (int8_t)(j * 16 - 128);
    float want[256], got[256];
    for (int e = 0; e < 256; e++) {
        /* in each 128-element half h, quarter k = (e % 128) / 32, l = e % 32: low nibble in
         * ql[64h + 32 * (k % 2) + l] (high half of the byte for k >= 2), top 2 bits in
         * qh[32h + l] at bit 2k; the quant is q - 32 */
        int q = (e * 5 + 1) % 64, h = e / 128, k = (e % 128) / 32, l = e % 32;
        b.ql[64 * h + 32 * (k % 2) + l] |= (uint8_t)((q & 15) << (k >= 2 ? 4 : 0));
        b.qh[32 * h + l] |= (uint8_t)((q >> 4) << (2 * k));
        want[e] = 0.125f * (float)b.scales[e / 16] * (float)(q - 32);
    }
    hr_dequantize_row_q6_K(&b, got, 256);
    expect_floats(got, want, 256, "q6_K");
}

Test(quants_format, q8_K_by_hand_and_bsums) {
    hr_block_q8_K b;
    memset(&b, 0, sizeof b);
    b.d = 0.5f;
    float want[256], got[256];
    for (int e = 0; e < 256; e++) {
        b.qs[e] = (int8_t)(e - 128);
        want[e] = 0.5f * (e - 128);
    }
    hr_dequantize_row_q8_K(&b, got, 256);
    expect_floats(got, want, 256, "q8_K");
    /* quantizing: the largest magnitude maps to -127 or 127, bsums are sums of 16 */
    float x[256];
    for (int e = 0; e < 256; e++) x[e] = (float)(e - 127); /* extreme is +128: d = -128/127 */
    hr_quantize_row_q8_K(x, &b, 256);
    cr_assert_float_eq(b.d, 128.0f / -127.0f, 1e-7f);
    cr_assert_eq(b.qs[255], -127);
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int i = 0; i < 16; i++) s += b.qs[16 * j + i];
        cr_assert_eq(b.bsums[j], s);
    }
}

/* ---- values on a format's grid survive quantization exactly ---- */
static void roundtrip_exact(hr_type type, const float *x, int n) {
    const hr_type_traits *t = hr_type_traits_get(type);
    uint8_t buf[512];
    float y[256];
    cr_assert_leq(hr_row_size(type, n), sizeof buf);
    t->from_float(x, buf, n);
    t->to_float(buf, y, n);
    expect_floats(y, x, n, t->name);
}

Test(quants_roundtrip, grid_values_are_exact) {
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = (float)((i * 7) % 16 - 8) * 0.25f; /* includes -8 * 0.25: d = 0.25 */
    roundtrip_exact(HR_TYPE_Q4_0, x, 64);
    for (int i = 0; i < 64; i++) x[i] = (float)((i * 7) % 16) * 0.125f - 1.0f; /* min -1, max 0.875 */
    roundtrip_exact(HR_TYPE_Q4_1, x, 64);
    for (int i = 0; i < 64; i++) x[i] = (float)((i * 13) % 32 - 16) * 0.5f;
    roundtrip_exact(HR_TYPE_Q5_0, x, 64);
    for (int i = 0; i < 64; i++) x[i] = (float)((i * 13) % 32) * 0.25f + 3.0f;
    roundtrip_exact(HR_TYPE_Q5_1, x, 64);
    for (int i = 0; i < 64; i++) x[i] = (float)((i * 37) % 255 - 127) * 0.125f;
    x[0] = x[32] = 127 * 0.125f; /* each block's absmax is 127 d */
    roundtrip_exact(HR_TYPE_Q8_0, x, 64);
    roundtrip_exact(HR_TYPE_Q8_1, x, 64);
    float z[256];
    for (int i = 0; i < 256; i++) z[i] = (float)((i * 37) % 255 - 127);
    z[5] = -127.0f;
    roundtrip_exact(HR_TYPE_Q8_K, z, 256);
}

/* ---- random rows: root-mean-square error relative to the data's spread ---- */
static float gauss(unsigned *s) {
    float u = (rand_r(s) + 1.0f) / ((float)RAND_MAX + 2.0f), v = rand_r(s) / (float)RAND_MAX;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static double rmse_of(hr_type type, const float *x, int n) {
    const hr_type_traits *t = hr_type_traits_get(type);
    void *buf = malloc(hr_row_size(type, n));
    float *y = malloc((size_t)n * sizeof *y);
    t->from_float(x, buf, n);
    t->to_float(buf, y, n);
    double e = 0;
    for (int i = 0; i < n; i++) e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    free(buf);
    free(y);
    return sqrt(e / n);
}

Test(quants_roundtrip, rmse_bounds_on_gaussian_rows) {
    /* bounds: the usual error of each format on unit-variance data (a 4-bit grid
     * over about +-3 sigma gives ~0.08; each extra bit halves it), with margin */
    static const struct { hr_type type; double bound; } cases[] = {
        {HR_TYPE_F16, 3e-4},  {HR_TYPE_BF16, 2.5e-3}, {HR_TYPE_Q8_0, 0.007}, {HR_TYPE_Q8_1, 0.007},
        {HR_TYPE_Q8_K, 0.009}, {HR_TYPE_Q6_K, 0.022},  {HR_TYPE_Q5_K, 0.043}, {HR_TYPE_Q5_1, 0.045},
        {HR_TYPE_Q5_0, 0.05}, {HR_TYPE_Q4_K, 0.085},  {HR_TYPE_Q4_1, 0.09},  {HR_TYPE_Q4_0, 0.1},
        {HR_TYPE_Q3_K, 0.18}, {HR_TYPE_Q2_K, 0.35},
    };
    enum { N = 256 * 32 };
    float *x = malloc(N * sizeof *x);
    unsigned s = 12345;
    for (int i = 0; i < N; i++) x[i] = gauss(&s);
    double k_prev = 1.0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double r = rmse_of(cases[c].type, x, N);
        cr_expect_leq(r, cases[c].bound, "%s rmse %.5f above %.5f", hr_type_name(cases[c].type), r, cases[c].bound);
        cr_expect_gt(r, 0.0, "%s lost nothing: suspicious", hr_type_name(cases[c].type));
    }
    /* more bits, less error, across the K family */
    static const hr_type kfam[] = {HR_TYPE_Q2_K, HR_TYPE_Q3_K, HR_TYPE_Q4_K, HR_TYPE_Q5_K, HR_TYPE_Q6_K, HR_TYPE_Q8_K};
    for (size_t i = 0; i < sizeof kfam / sizeof *kfam; i++) {
        double r = rmse_of(kfam[i], x, N);
        cr_expect_lt(r, k_prev, "%s rmse %.5f not below the previous type's %.5f", hr_type_name(kfam[i]), r, k_prev);
        k_prev = r;
    }
    free(x);
}

Test(quants_roundtrip, scaled_rows_keep_relative_error) {
    /* tiny and large magnitudes (within f16's range for the scales) quantize as well as unit ones */
    enum { N = 256 * 4 };
    float x[N];
    unsigned s = 99;
    static const hr_type types[] = {HR_TYPE_Q4_0, HR_TYPE_Q4_1, HR_TYPE_Q5_0, HR_TYPE_Q8_0, HR_TYPE_Q2_K,
                                    HR_TYPE_Q3_K, HR_TYPE_Q4_K, HR_TYPE_Q5_K, HR_TYPE_Q6_K, HR_TYPE_Q8_K};
    for (int i = 0; i < N; i++) x[i] = gauss(&s);
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        double base = rmse_of(types[t], x, N);
        for (float scale = 1.0f / 64; scale <= 64.0f; scale *= 8.0f) {
            float y[N];
            for (int i = 0; i < N; i++) y[i] = x[i] * scale;
            double r = rmse_of(types[t], y, N) / scale;
            cr_expect(r <= base * 1.05 + 1e-6, "%s at scale %g: relative rmse %.5f vs %.5f", hr_type_name(types[t]),
                      scale, r, base);
        }
    }
}

Test(quants_roundtrip, zero_rows_decode_to_zero) {
    float x[256] = {0}, y[256];
    uint8_t buf[1024];
    for (uint32_t id = 0; id < HR_TYPE_COUNT; id++) {
        const hr_type_traits *t = hr_type_traits_get(id);
        if (!t || !t->from_float) continue;
        memset(buf, 0xAB, sizeof buf);
        t->from_float(x, buf, 256);
        t->to_float(buf, y, 256);
        for (int i = 0; i < 256; i++) cr_assert(y[i] == 0.0f, "%s: zero row decodes to %g at %d", t->name, y[i], i);
    }
}
