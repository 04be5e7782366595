/* The vector element-wise kernels (exp-and-sum of softmax, SwiGLU, the F16
 * weighted sum of attention) against one-lane models of the same arithmetic:
 * src/models/vexp.c's scalar forms of ggml's AVX2 / AVX-512 exp, the lane
 * grouping of ggml's softmax sum, and hr_wsum_f16_scalar. They must agree bit
 * for bit, including the far tails where exp over- or underflows. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_impl.h"
#include "models/vexp.h"
#include "tensor/types.h"

static uint64_t rng = 0x243f6a8885a308d3ull;
static float urand(float lo, float hi) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((rng >> 40) * (1.0 / 16777216.0));
}

static const hr_isa simd_isas[] = {HR_ISA_AVX2, HR_ISA_AVX512, HR_ISA_AVX512VNNI, HR_ISA_AMX};
#define N_SIMD (sizeof simd_isas / sizeof simd_isas[0])

/* out: room for N_SIMD tables; returns how many of them this CPU has. */
static int simd_tables(hr_kernels *out) {
    int n = 0;
    for (size_t i = 0; i < N_SIMD; i++)
        if (hr_isa_available(simd_isas[i]) && hr_kernels_for_isa(simd_isas[i], &out[n], NULL) == HEARTH_OK) n++;
    return n;
}

/* The softmax loop of the engine before it had vector kernels. */
static double model_exp_sum(hr_isa isa, float *x, int n, float mx) {
    const hr_expf_fn ex = hr_expf_for_isa(isa);
    const int lanes = hr_expf_lanes(isa);
    double sum = 0.0;
    for (int i0 = 0; i0 < n; i0 += lanes) {
        float v[16];
        for (int l = 0; l < lanes; l++) {
            const int i = i0 + l;
            v[l] = i < n ? ex(x[i] - mx) : 0.0f;
            if (i < n) x[i] = v[l];
        }
        for (int w = lanes / 2; w >= 1; w /= 2)
            for (int l = 0; l < w; l++) v[l] += v[l + w];
        sum += (double)v[0];
    }
    return sum;
}

static void fill(float *x, int n, int kind) {
    for (int i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = urand(-12.0f, 12.0f); break;
        case 1: x[i] = urand(-300.0f, 300.0f); break; /* exp over- and underflow, both scaling paths */
        default: x[i] = (float)(i % 7) * 31.0f - 90.0f; break;
        }
    }
}

Test(act, exp_sum_matches_lane_model) {
    hr_kernels k[N_SIMD];
    int nk = simd_tables(k);
    if (!nk) cr_skip_test("no x86 SIMD on this CPU");
    static const int lens[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 513};
    for (int ki = 0; ki < nk; ki++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (int kind = 0; kind < 3; kind++) {
                const int n = lens[li];
                float a[513], b[513];
                fill(a, n, kind);
                memcpy(b, a, sizeof a);
                const float mx = kind == 1 ? -150.0f : 3.0f; /* arguments up to +450: the overflow path */
                double s0 = model_exp_sum(k[ki].isa, a, n, mx), s1 = k[ki].exp_sum(b, n, mx);
                cr_assert(!memcmp(a, b, (size_t)n * sizeof(float)), "%s exp_sum n=%d kind %d: values differ",
                          k[ki].isa_name, n, kind);
                cr_assert(s0 == s1 || (isnan(s0) && isnan(s1)), "%s exp_sum n=%d kind %d: sum %.17g vs %.17g",
                          k[ki].isa_name, n, kind, s1, s0);
            }
}

Test(act, swiglu_matches_lane_model) {
    hr_kernels k[N_SIMD];
    int nk = simd_tables(k);
    if (!nk) cr_skip_test("no x86 SIMD on this CPU");
    static const int lens[] = {1, 5, 8, 16, 23, 64, 1000};
    for (int ki = 0; ki < nk; ki++) {
        const hr_expf_fn ex = hr_expf_for_isa(k[ki].isa);
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (int kind = 0; kind < 3; kind++) {
                const int n = lens[li];
                float g[1000], u[1000], want[1000];
                fill(g, n, kind);
                fill(u, n, 0);
                for (int i = 0; i < n; i++) want[i] = g[i] / (1.0f + ex(-g[i])) * u[i];
                k[ki].swiglu(n, g, u);
                for (int i = 0; i < n; i++)
                    cr_assert(!memcmp(&g[i], &want[i], sizeof(float)), "%s swiglu n=%d kind %d at %d: %.9g vs %.9g",
                              k[ki].isa_name, n, kind, i, g[i], want[i]);
            }
    }
}

enum { NPOS = 37, NQ = 7, HD = 192, VS = HD + 8 };

/* A table's wsum (F16 or F32 rows) against the scalar form, bit for bit: from a
 * non-zero start, and in two spans (a ring buffer's wrap). */
static void check_wsum(const hr_kernels *k, bool f16, const float *w, const void *v, int hd, int nq) {
    static float o0[NQ * HD], o1[NQ * HD];
    const size_t es = f16 ? sizeof(hr_f16) : sizeof(float), vs = VS * es;
    const uint8_t *v11 = (const uint8_t *)v + 11 * vs;
    for (int i = 0; i < NQ * HD; i++) o0[i] = o1[i] = (float)(i % 5) - 2.0f;
    if (f16) {
        hr_wsum_f16_scalar(hd, nq, NPOS, w, NPOS, v, vs, o0, HD);
        k->wsum_f16(hd, nq, 11, w, NPOS, v, vs, o1, HD);
        k->wsum_f16(hd, nq, NPOS - 11, w + 11, NPOS, (const hr_f16 *)(const void *)v11, vs, o1, HD);
    } else {
        hr_wsum_f32_scalar(hd, nq, NPOS, w, NPOS, v, vs, o0, HD);
        k->wsum_f32(hd, nq, 11, w, NPOS, v, vs, o1, HD);
        k->wsum_f32(hd, nq, NPOS - 11, w + 11, NPOS, (const float *)(const void *)v11, vs, o1, HD);
    }
    cr_assert(!memcmp(o0, o1, sizeof o0), "%s wsum_%s hd=%d nq=%d differs", k->isa_name, f16 ? "f16" : "f32", hd, nq);
}

Test(act, wsum_matches_scalar) {
    hr_kernels k[N_SIMD];
    int nk = simd_tables(k);
    if (!nk) cr_skip_test("no x86 SIMD on this CPU");
    static hr_f16 v[NPOS * VS];
    static float vf[NPOS * VS], w[NQ * NPOS], o0[NQ * HD];
    for (int i = 0; i < NPOS * VS; i++) v[i] = hr_f32_to_f16(urand(-4.0f, 4.0f));
    for (int i = 0; i < NPOS * VS; i++) vf[i] = urand(-4.0f, 4.0f);
    for (int i = 0; i < NQ * NPOS; i++) w[i] = hr_f16_to_f32(hr_f32_to_f16(urand(0.0f, 0.3f)));
    static const int hds[] = {64, 128, 192, 96, 16, 40, 7};
    for (int ki = 0; ki < nk; ki++)
        for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
            for (int nq = 1; nq <= NQ; nq++) {
                if (k[ki].wsum_f16) check_wsum(&k[ki], true, w, v, hds[hi], nq);
                check_wsum(&k[ki], false, w, vf, hds[hi], nq);
            }
    /* and the scalar form is the plain sum it claims to be */
    memset(o0, 0, sizeof o0);
    hr_wsum_f16_scalar(64, 1, NPOS, w, NPOS, v, VS * sizeof(hr_f16), o0, HD);
    for (int d = 0; d < 64; d++) {
        double ref = 0;
        for (int i = 0; i < NPOS; i++) ref += (double)w[i] * hr_f16_to_f32(v[i * VS + d]);
        cr_assert(fabs(ref - o0[d]) < 1e-4, "wsum_f16 d=%d: %.9g vs %.9g", d, o0[d], ref);
    }
}

/* Q8_0 rows (a quantized cache's values): every table against the scalar
 * form bit for bit, in two spans, for every whole-block width up to HD; and
 * the scalar form against the plain sum of w * scale * integer. */
Test(act, wsum_q8_0_matches_scalar) {
    hr_kernels k[N_SIMD];
    int nk = simd_tables(k);
    enum { VB = HD / HR_QK8_0 + 1 }; /* blocks per row: a row of HD values and a spare block */
    static hr_block_q8_0 v[NPOS * VB];
    static float w[NQ * NPOS], o0[NQ * HD], o1[NQ * HD];
    for (int i = 0; i < NPOS * VB; i++) {
        v[i].d = hr_f32_to_f16(urand(0.001f, 0.05f));
        for (int j = 0; j < HR_QK8_0; j++) v[i].qs[j] = (int8_t)(urand(-127.0f, 127.0f));
    }
    for (int i = 0; i < NQ * NPOS; i++) w[i] = hr_f16_to_f32(hr_f32_to_f16(urand(0.0f, 0.3f)));
    const size_t vs = VB * sizeof(hr_block_q8_0);
    for (int ki = 0; ki < nk; ki++)
        for (int hd = HR_QK8_0; hd <= HD; hd += HR_QK8_0)
            for (int nq = 1; nq <= NQ; nq++) {
                for (int i = 0; i < NQ * HD; i++) o0[i] = o1[i] = (float)(i % 5) - 2.0f;
                hr_wsum_q8_0_scalar(hd, nq, NPOS, w, NPOS, v, vs, o0, HD);
                k[ki].wsum_q8_0(hd, nq, 11, w, NPOS, v, vs, o1, HD);
                k[ki].wsum_q8_0(hd, nq, NPOS - 11, w + 11, NPOS, v + 11 * VB, vs, o1, HD);
                cr_assert(!memcmp(o0, o1, sizeof o0), "%s wsum_q8_0 hd=%d nq=%d differs", k[ki].isa_name, hd, nq);
            }
    memset(o0, 0, sizeof o0);
    hr_wsum_q8_0_scalar(HD, 2, NPOS, w, NPOS, v, vs, o0, HD);
    for (int q = 0; q < 2; q++)
        for (int d = 0; d < HD; d++) {
            double ref = 0;
            for (int i = 0; i < NPOS; i++) {
                const hr_block_q8_0 *b = &v[i * VB + d / HR_QK8_0];
                ref += (double)w[q * NPOS + i] * hr_f16_to_f32(b->d) * b->qs[d % HR_QK8_0];
            }
            cr_assert(fabs(ref - o0[q * HD + d]) < 1e-4, "wsum_q8_0 q=%d d=%d: %.9g vs %.9g", q, d, o0[q * HD + d], ref);
        }
}

/* The softmax's scale-and-max and scale: every length to 70 (tails of every
 * width), with NaN and infinities among the values, equal to the scalar form
 * bit for bit (the maximum as a value: +0 and -0 are the same maximum). */
Test(act, scale_max_matches_scalar) {
    hr_kernels k[N_SIMD];
    int nk = simd_tables(k);
    static float x0[80], x1[80], src[80];
    for (int ki = 0; ki < nk; ki++)
        for (int n = 0; n <= 70; n++)
            for (int variant = 0; variant < 4; variant++) {
                for (int i = 0; i < n; i++) src[i] = urand(-30.0f, 30.0f);
                if (variant == 1 && n) src[n / 2] = NAN;
                if (variant == 2 && n) src[n - 1] = INFINITY;
                if (variant == 3)
                    for (int i = 0; i < n; i++) src[i] = i % 3 ? -INFINITY : NAN;
                memcpy(x0, src, sizeof src);
                memcpy(x1, src, sizeof src);
                const float s = urand(0.01f, 2.0f);
                const float m0 = hr_scale_max_scalar(x0, n, s), m1 = k[ki].scale_max(x1, n, s);
                cr_assert(m0 == m1 || (isnan(m0) && isnan(m1)), "%s scale_max n=%d variant %d: %g vs %g", k[ki].isa_name, n,
                          variant, m1, m0);
                cr_assert(!memcmp(x0, x1, sizeof x0), "%s scale_max n=%d: values differ", k[ki].isa_name, n);
                hr_scale_scalar(x0, n, 1.0f / s);
                k[ki].scale(x1, n, 1.0f / s);
                cr_assert(!memcmp(x0, x1, sizeof x0), "%s scale n=%d: values differ", k[ki].isa_name, n);
            }
    /* the scalar form: the products, and the largest that is not NaN */
    float x[4] = {1.0f, NAN, -3.0f, 2.5f};
    cr_assert_eq(hr_scale_max_scalar(x, 4, 2.0f), 5.0f);
    cr_assert(x[0] == 2.0f && isnan(x[1]) && x[2] == -6.0f && x[3] == 5.0f);
    cr_assert(isinf(hr_scale_max_scalar(x, 0, 2.0f)));
}

Test(act, round_f16_matches_scalar) {
    hr_kernels k[N_SIMD], sc;
    hr_kernels_scalar(&sc);
    int nk = simd_tables(k);
    float a[1000], b[1000];
    for (int i = 0; i < 1000; i++) a[i] = urand(-70000.0f, 70000.0f) * (i % 3 ? 1e-4f : 1.0f);
    a[0] = 65520.0f; /* rounds up to infinity */
    a[1] = 5.96e-8f; /* subnormal half */
    a[2] = 1.0f + 0x1p-11f; /* a tie: to even */
    memcpy(b, a, sizeof a);
    sc.round_f16(a, 1000);
    cr_assert(isinf(a[0]) && a[2] == 1.0f, "scalar rounding: %g %g", a[0], a[2]);
    for (int ki = 0; ki < nk; ki++) {
        float c[1000];
        memcpy(c, b, sizeof c);
        k[ki].round_f16(c, 999); /* a partial last vector */
        cr_assert(!memcmp(a, c, 999 * sizeof(float)), "%s round_f16 differs", k[ki].isa_name);
        cr_assert(c[999] == b[999], "%s round_f16 wrote past n", k[ki].isa_name);
    }
}
