#include "models/vexp.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* exp(x) = 2^n * exp(b), n = round(x / ln2), b = x - n ln2 in two parts. */
#define EXP_REDUCE(x)                                                      \
    const float r = 0x1.8p23f;                                             \
    const float z = fmaf(x, 0x1.715476p+0f, r);                            \
    const float n = z - r;                                                 \
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x)); \
    const float u = b * b;

static float expf_avx512_form(float x) {
    EXP_REDUCE(x)
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (fabsf(n) > 192) return n <= 0 ? 0.0f : INFINITY;
    return ldexpf(j, (int)n); /* vscalefps: j * 2^n, rounded once */
}

static float expf_avx2_form(float x) {
    EXP_REDUCE(x)
    const uint32_t e = fbits(z) << 23;
    const float k = bitsf(e + fbits(1.0f));
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         0x1.ffffecp-1f * b);
    if (!(fabsf(n) > 126)) return fmaf(j, k, k);
    const uint32_t g = n <= 0 ? 0x82000000u : 0u;
    const float s1 = bitsf(g + 0x7f000000u), s2 = bitsf(e - g);
    if (fabsf(n) > 192) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

static float expf_libm(float x) { return expf(x); }

hr_expf_fn hr_expf_for_isa(hr_isa isa) {
    switch (isa) {
    case HR_ISA_AVX512:
    case HR_ISA_AVX512VNNI:
    case HR_ISA_AMX: return expf_avx512_form;
    case HR_ISA_AVX2: return expf_avx2_form;
    default: return expf_libm;
    }
}

int hr_expf_lanes(hr_isa isa) {
    switch (isa) {
    case HR_ISA_AVX512:
    case HR_ISA_AVX512VNNI:
    case HR_ISA_AMX: return 16;
    case HR_ISA_AVX2: return 8;
    default: return 1;
    }
}
