/*
 * Bit-compatibility with ggml: our reference quantizers must write exactly the
 * bytes ggml's quantize_row_*_ref writes, and our dequantizers must produce
 * exactly ggml's floats. The reference is ggml's own compiled library from the
 * llama.cpp oracle (tests/oracle/install.sh), loaded with dlopen; its path can
 * be overridden with HEARTH_GGML_LIB. A missing library is a failure.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/quants.h"
#include "tensor/types.h"

#define DEFAULT_LIB "tests/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so"
#define ROW 512 /* two super-blocks, sixteen small blocks */

typedef void (*ggml_quant_fn)(const float *x, void *y, int64_t k);
typedef void (*ggml_dequant_fn)(const void *x, float *y, int64_t k);

static void *open_ggml(void) {
    const char *path = getenv("HEARTH_GGML_LIB");
    if (!path || !*path) path = DEFAULT_LIB;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "cannot load ggml (%s): %s; run tests/oracle/install.sh", path, dlerror());
    return h;
}

static void *sym(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    cr_assert_not_null(p, "ggml lacks %s", name);
    return p;
}

/* xorshift64*: deterministic inputs without global state */
static uint64_t next_u64(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
static float uniform(uint64_t *s) { return (float)((next_u64(s) >> 40) / 16777216.0) * 2.0f - 1.0f; }
static float gauss(uint64_t *s) {
    float u = (uniform(s) + 1.0f) * 0.5f + 1e-7f, v = (uniform(s) + 1.0f) * 0.5f;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

#define N_ROWS 20
static const char *row_names[N_ROWS] = {
    "gaussian", "weights 0.02", "zeros", "constant +0.5", "constant -3", "huge 1e20", "fp16-edge 7e4",
    "tiny 1e-20", "subnormal", "one outlier", "negative only", "positive only", "sparse", "ramp",
    "integer grid", "alternating", "one block zero", "ties at .5", "with inf", "with nan",
};

static void make_row(int kind, float *x, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < ROW; i++) {
        float g = gauss(&s);
        switch (kind) {
        case 0: x[i] = g; break;
        case 1: x[i] = 0.02f * g; break;
        case 2: x[i] = 0.0f; break;
        case 3: x[i] = 0.5f; break;
        case 4: x[i] = -3.0f; break;
        case 5: x[i] = 1e20f * g; break;
        case 6: x[i] = 7e4f * uniform(&s); break;
        case 7: x[i] = 1e-20f * g; break;
        case 8: x[i] = 1e-39f * g; break;
        case 9: x[i] = 0.01f * g + (i % 97 == 13 ? 50.0f : 0.0f); break;
        case 10: x[i] = -fabsf(g) - 0.1f; break;
        case 11: x[i] = fabsf(g) + 2.0f; break;
        case 12: x[i] = (next_u64(&s) % 17 == 0) ? g : 0.0f; break;
        case 13: x[i] = (float)i / ROW - 0.3f; break;
        case 14: x[i] = (float)((int)(next_u64(&s) % 16) - 8); break;
        case 15: x[i] = (i & 1) ? 1.0f : -1.0f; break;
        case 16: x[i] = i < 256 ? 0.0f : g; break;
        case 17: x[i] = 0.5f * (float)((int)(next_u64(&s) % 33) - 16); break;
        case 18: x[i] = i % 50 == 7 ? (i % 100 == 7 ? INFINITY : -INFINITY) : g; break;
        case 19: x[i] = i % 70 == 3 ? NAN : g; break;
        }
    }
}

/* Floats equal bit for bit; any NaN equals any NaN (payloads of NaNs produced by
 * arithmetic on NaN scales are not part of the format). */
static int first_float_diff(const float *a, const float *b, int n) {
    for (int i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i])) continue;
        if (memcmp(&a[i], &b[i], sizeof(float))) return i;
    }
    return -1;
}

static void check_type(hr_type type, const char *gq, const char *gdq) {
    void *lib = open_ggml();
    const hr_type_traits *t = hr_type_traits_get(type);
    cr_assert_not_null(t);
    ggml_quant_fn ref_q = (ggml_quant_fn)sym(lib, gq);
    ggml_dequant_fn ref_dq = gdq ? (ggml_dequant_fn)sym(lib, gdq) : NULL;
    const size_t bytes = hr_row_size(type, ROW);
    cr_assert_gt(bytes, 0);
    uint8_t *ours = calloc(1, bytes), *theirs = calloc(1, bytes);
    float x[ROW], y_ours[ROW], y_theirs[ROW];
    for (int kind = 0; kind < N_ROWS; kind++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            make_row(kind, x, seed * 31 + (uint64_t)kind);
            memset(ours, 0, bytes);
            memset(theirs, 0, bytes);
            t->from_float(x, ours, ROW);
            ref_q(x, theirs, ROW);
            size_t at = 0;
            while (at < bytes && ours[at] == theirs[at]) at++;
            cr_assert_eq(at, bytes, "%s quantize of '%s' (seed %d) differs at byte %zu of %zu: %02x vs ggml %02x",
                         t->name, row_names[kind], (int)seed, at, bytes, at < bytes ? ours[at] : 0,
                         at < bytes ? theirs[at] : 0);
            if (!ref_dq) continue;
            t->to_float(theirs, y_ours, ROW);
            ref_dq(theirs, y_theirs, ROW);
            int d = first_float_diff(y_ours, y_theirs, ROW);
            cr_assert_eq(d, -1, "%s dequantize of '%s' differs at %d: %a vs ggml %a", t->name, row_names[kind], d,
                         d >= 0 ? y_ours[d] : 0.0, d >= 0 ? y_theirs[d] : 0.0);
        }
    }
    /* arbitrary bytes (every bit pattern of quants, scales and signs) decode alike */
    if (ref_dq) {
        uint64_t s = 77;
        for (int rep = 0; rep < 50; rep++) {
            for (size_t i = 0; i < bytes; i++) theirs[i] = (uint8_t)next_u64(&s);
            t->to_float(theirs, y_ours, ROW);
            ref_dq(theirs, y_theirs, ROW);
            int d = first_float_diff(y_ours, y_theirs, ROW);
            cr_assert_eq(d, -1, "%s dequantize of random bytes (rep %d) differs at %d: %a vs ggml %a", t->name, rep,
                         d, d >= 0 ? y_ours[d] : 0.0, d >= 0 ? y_theirs[d] : 0.0);
        }
    }
    free(ours);
    free(theirs);
    dlclose(lib);
}

Test(quants_ggml, q4_0) { check_type(HR_TYPE_Q4_0, "quantize_row_q4_0_ref", "dequantize_row_q4_0"); }
Test(quants_ggml, q4_1) { check_type(HR_TYPE_Q4_1, "quantize_row_q4_1_ref", "dequantize_row_q4_1"); }
Test(quants_ggml, q5_0) { check_type(HR_TYPE_Q5_0, "quantize_row_q5_0_ref", "dequantize_row_q5_0"); }
Test(quants_ggml, q5_1) { check_type(HR_TYPE_Q5_1, "quantize_row_q5_1_ref", "dequantize_row_q5_1"); }
Test(quants_ggml, q8_0) { check_type(HR_TYPE_Q8_0, "quantize_row_q8_0_ref", "dequantize_row_q8_0"); }
/* ggml has no q8_1 dequantizer: q8_1 is only ever an activation format */
Test(quants_ggml, q8_1) { check_type(HR_TYPE_Q8_1, "quantize_row_q8_1_ref", NULL); }
Test(quants_ggml, q2_K) { check_type(HR_TYPE_Q2_K, "quantize_row_q2_K_ref", "dequantize_row_q2_K"); }
Test(quants_ggml, q3_K) { check_type(HR_TYPE_Q3_K, "quantize_row_q3_K_ref", "dequantize_row_q3_K"); }
Test(quants_ggml, q4_K) { check_type(HR_TYPE_Q4_K, "quantize_row_q4_K_ref", "dequantize_row_q4_K"); }
Test(quants_ggml, q5_K) { check_type(HR_TYPE_Q5_K, "quantize_row_q5_K_ref", "dequantize_row_q5_K"); }
Test(quants_ggml, q6_K) { check_type(HR_TYPE_Q6_K, "quantize_row_q6_K_ref", "dequantize_row_q6_K"); }
Test(quants_ggml, q8_K) { check_type(HR_TYPE_Q8_K, "quantize_row_q8_K_ref", "dequantize_row_q8_K"); }

/* ---- half and bfloat16 ---- */
typedef void (*ggml_f32_to_16)(const float *x, uint16_t *y, int64_t n);
typedef void (*ggml_16_to_f32)(const uint16_t *x, float *y, int64_t n);

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Every 16-bit pattern decodes to the same float bits (NaN payloads included). */
static void check_16_to_f32(const char *gname, float (*ours)(uint16_t)) {
    void *lib = open_ggml();
    ggml_16_to_f32 ref = (ggml_16_to_f32)sym(lib, gname);
    enum { N = 65536 };
    uint16_t *h = malloc(N * sizeof *h);
    float *y = malloc(N * sizeof *y);
    for (uint32_t i = 0; i < N; i++) h[i] = (uint16_t)i;
    ref(h, y, N);
    for (uint32_t i = 0; i < N; i++) {
        float o = ours((uint16_t)i);
        cr_assert_eq(bits_of(o), bits_of(y[i]), "%s(0x%04x): ours %08x, ggml %08x", gname, i, bits_of(o),
                     bits_of(y[i]));
    }
    free(h);
    free(y);
    dlclose(lib);
}

/* Floats around every 16-bit value's rounding boundaries (the midpoints and
 * their neighbours), a dense stride over all 2^32 patterns, and specials. */
static void check_f32_to_16(const char *gname, uint16_t (*ours)(float), int mant_shift) {
    void *lib = open_ggml();
    ggml_f32_to_16 ref = (ggml_f32_to_16)sym(lib, gname);
    size_t cap = 65536 * 10 + (1u << 22) + 64, n = 0;
    float *x = malloc(cap * sizeof *x);
    uint16_t *y = malloc(cap * sizeof *y);
    /* candidates near boundaries: every float whose bits, shifted by mant_shift, hit a
     * 16-bit value's edge (works for bf16 directly, and for f16 via converting back) */
    for (uint32_t i = 0; i < 65536; i++) {
        float v = mant_shift ? float_of(i << 16) : hr_f16_to_f32((uint16_t)i);
        uint32_t b = bits_of(v);
        uint32_t half = mant_shift ? 0x8000u : 0;
        if (!mant_shift) {
            /* half an f16 ulp at this magnitude, in float bits: 2^12 for normals */
            half = 0x1000u;
        }
        const uint32_t cands[10] = {b, b + 1, b - 1, b + half, b + half - 1, b + half + 1, b - half, b - half + 1,
                                    b - half - 1, b ^ 0x80000000u};
        for (int c = 0; c < 10; c++) x[n++] = float_of(cands[c]);
    }
    for (uint64_t u = 0; u < (1ull << 32); u += 1021) {
        if (n >= cap - 64) break;
        x[n++] = float_of((uint32_t)u);
    }
    const uint32_t specials[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fbfffffu,
                                 0xffffffffu, 0x00000001u, 0x80000001u, 0x007fffffu, 0x00800000u, 0x33000000u,
                                 0x33000001u, 0x32ffffffu, 0x387fe000u, 0x387fefffu, 0x387ff000u, 0x477fefffu,
                                 0x477ff000u, 0x477fe000u, 0x7f7fffffu, 0x38800000u, 0x387fffffu, 0x7f7f8000u};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) x[n++] = float_of(specials[i]);
    ref(x, y, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        uint16_t o = ours(x[i]);
        cr_assert_eq(o, y[i], "%s(%08x): ours %04x, ggml %04x", gname, bits_of(x[i]), o, y[i]);
    }
    free(x);
    free(y);
    dlclose(lib);
}

static float f16_in(uint16_t h) { return hr_f16_to_f32(h); }
static float bf16_in(uint16_t h) { return hr_bf16_to_f32(h); }
static uint16_t f16_out(float f) { return hr_f32_to_f16(f); }
static uint16_t bf16_out(float f) { return hr_f32_to_bf16(f); }

Test(quants_ggml, f16_to_f32_all) { check_16_to_f32("ggml_fp16_to_fp32_row", f16_in); }
Test(quants_ggml, bf16_to_f32_all) { check_16_to_f32("ggml_bf16_to_fp32_row", bf16_in); }
Test(quants_ggml, f32_to_f16) { check_f32_to_16("ggml_fp32_to_fp16_row", f16_out, 0); }
Test(quants_ggml, f32_to_bf16) { check_f32_to_16("ggml_fp32_to_bf16_row", bf16_out, 1); }
/* the row functions of the traits table agree too (they are what files are written with) */
Test(quants_ggml, f16_bf16_rows) {
    check_type(HR_TYPE_F16, "ggml_fp32_to_fp16_row", "ggml_fp16_to_fp32_row");
    check_type(HR_TYPE_BF16, "ggml_fp32_to_bf16_row", "ggml_bf16_to_fp32_row");
}
