/*
 * Kernel tests (plain C, no Criterion: this also runs cross-compiled for
 * aarch64 under qemu). For every ISA the running CPU supports:
 *  - vec_dot of every weight type agrees with the scalar kernel, relative to
 *    sum |x||y| (integer paths are exact, so only float summation order differs);
 *  - the activation quantizers produce the scalar (ggml reference) bytes.
 * And the scalar kernels agree with a double-precision dot of the rows
 * dequantized by the reference dequantizers (hr_dequantize_row_*), which is
 * an independent computation from the block layouts.
 * With HEARTH_ISA set, only that ISA (through hr_kernels_select) and scalar run.
 * Unknown arguments (the unit runner passes --jobs 2) are ignored.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_impl.h"
#include "tensor/quants.h"
#include "tensor/types.h"

static int failures, checks;

#define CHECK(cond, ...)                                     \
    do {                                                     \
        checks++;                                            \
        if (!(cond)) {                                       \
            failures++;                                      \
            if (failures <= 30) {                            \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                fprintf(stderr, __VA_ARGS__);                \
                fputc('\n', stderr);                         \
            }                                                \
        }                                                    \
    } while (0)

/* splitmix64: deterministic, seedable. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rndf(void) { return (float)((rnd() >> 40) * (1.0 / 16777216.0)); } /* [0, 1) */
static float rnd_sym(void) { return 2.0f * rndf() - 1.0f; }                    /* [-1, 1) */

enum mode { MODE_RANDOM, MODE_MAX, MODE_MIN, MODE_ZERO, MODE_COUNT };
static const char *const mode_names[] = {"random", "max", "min", "zero"};

static hr_f16 rnd_scale(float lo, float hi, int sign) {
    float v = lo + (hi - lo) * rndf();
    return hr_f32_to_f16(sign && (rnd() & 1) ? -v : v);
}

/* Fills a weight row: random (or all-ones / all-zero) quant bits, then sane
 * finite scales so that the expected sums are meaningful. */
static void fill_weights(hr_type t, void *row, int64_t n, enum mode m) {
    const hr_type_traits *tr = hr_type_traits_get(t);
    size_t bytes = hr_row_size(t, n);
    uint8_t *p = row;
    for (size_t i = 0; i < bytes; i++)
        p[i] = m == MODE_RANDOM ? (uint8_t)rnd() : m == MODE_MAX ? 0xFF : m == MODE_MIN ? 0x80 : 0;
    int64_t nb = n / tr->block_size;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = p + (size_t)b * tr->type_size;
        hr_f16 d = rnd_scale(0.001f, 0.05f, 1), dm = rnd_scale(0.0f, 0.02f, 0);
        switch (t) {
        case HR_TYPE_F32: {
            float v = m == MODE_RANDOM ? rnd_sym() * 4.0f : m == MODE_MAX ? 1000.0f : m == MODE_MIN ? -3.5e-3f : 0.0f;
            memcpy(blk, &v, 4);
            break;
        }
        case HR_TYPE_F16: {
            hr_f16 v = hr_f32_to_f16(m == MODE_RANDOM ? rnd_sym() * 4.0f : m == MODE_MAX ? 60000.0f : m == MODE_MIN ? -6e-8f : 0.0f);
            memcpy(blk, &v, 2);
            break;
        }
        case HR_TYPE_BF16: {
            hr_bf16 v = hr_f32_to_bf16(m == MODE_RANDOM ? rnd_sym() * 4.0f : m == MODE_MAX ? 1e15f : m == MODE_MIN ? -1e-15f : 0.0f);
            memcpy(blk, &v, 2);
            break;
        }
        case HR_TYPE_Q4_0: ((hr_block_q4_0 *)blk)->d = d; break;
        case HR_TYPE_Q5_0: ((hr_block_q5_0 *)blk)->d = d; break;
        case HR_TYPE_Q8_0: ((hr_block_q8_0 *)blk)->d = d; break;
        case HR_TYPE_Q4_1: ((hr_block_q4_1 *)blk)->d = d; ((hr_block_q4_1 *)blk)->m = rnd_scale(0.0f, 0.5f, 1); break;
        case HR_TYPE_Q5_1: ((hr_block_q5_1 *)blk)->d = d; ((hr_block_q5_1 *)blk)->m = rnd_scale(0.0f, 0.5f, 1); break;
        case HR_TYPE_Q2_K: ((hr_block_q2_K *)blk)->d = d; ((hr_block_q2_K *)blk)->dmin = dm; break;
        case HR_TYPE_Q3_K: ((hr_block_q3_K *)blk)->d = d; break;
        case HR_TYPE_Q4_K: ((hr_block_q4_K *)blk)->d = d; ((hr_block_q4_K *)blk)->dmin = dm; break;
        case HR_TYPE_Q5_K: ((hr_block_q5_K *)blk)->d = d; ((hr_block_q5_K *)blk)->dmin = dm; break;
        case HR_TYPE_Q6_K: ((hr_block_q6_K *)blk)->d = d; break;
        default: break;
        }
    }
}

/* An activation row in the format a quantizer would produce: int8 values in
 * [-127, 127] (never -128: ggml's quantizers cannot emit it and the SIMD
 * sign tricks rely on that), positive scales, consistent sums. */
static int8_t rnd_q8(enum mode m) {
    if (m == MODE_RANDOM) return (int8_t)((int)(rnd() % 255) - 127);
    return m == MODE_MAX ? 127 : m == MODE_MIN ? -127 : 0;
}

static void fill_activations(hr_type t, void *row, int64_t n, enum mode m) {
    switch (t) {
    case HR_TYPE_Q8_0:
        for (int64_t b = 0; b < n / HR_QK8_0; b++) {
            hr_block_q8_0 *y = (hr_block_q8_0 *)row + b;
            y->d = rnd_scale(0.001f, 0.05f, 0);
            for (int j = 0; j < HR_QK8_0; j++) y->qs[j] = rnd_q8(m);
        }
        break;
    case HR_TYPE_Q8_1:
        for (int64_t b = 0; b < n / HR_QK8_1; b++) {
            hr_block_q8_1 *y = (hr_block_q8_1 *)row + b;
            y->d = rnd_scale(0.001f, 0.05f, 0);
            int sum = 0;
            for (int j = 0; j < HR_QK8_1; j++) sum += y->qs[j] = rnd_q8(m);
            y->s = hr_f32_to_f16((float)sum * hr_f16_to_f32(y->d));
        }
        break;
    case HR_TYPE_Q8_K:
        for (int64_t b = 0; b < n / HR_QK_K; b++) {
            hr_block_q8_K *y = (hr_block_q8_K *)row + b;
            y->d = 0.001f + 0.05f * rndf();
            for (int g = 0; g < HR_QK_K / 16; g++) {
                int sum = 0;
                for (int l = 0; l < 16; l++) sum += y->qs[16 * g + l] = rnd_q8(m);
                y->bsums[g] = (int16_t)sum;
            }
        }
        break;
    default: fill_weights(t, row, n, m == MODE_MIN ? MODE_MAX : m); break; /* float rows */
    }
}

/* sum x*y and sum |x*y| in double over dequantized rows. For q8_1, ggml
 * keeps y.s = f16(d * sum(qs)) and the q4_1/q5_1 kernels use it for the
 * m * sum(y) term, so the expected value uses the stored s for that term. */
static void reference_dot(hr_type t, hr_type vt, int64_t n, const void *x, const void *y, double *dot, double *mag) {
    float *fx = malloc((size_t)n * sizeof(float)), *fy = malloc((size_t)n * sizeof(float));
    hr_type_traits_get(t)->to_float(x, fx, n);
    hr_type_traits_get(vt)->to_float(y, fy, n);
    double d = 0, a = 0;
    for (int64_t i = 0; i < n; i++) {
        d += (double)fx[i] * fy[i];
        a += fabs((double)fx[i] * fy[i]);
    }
    if (vt == HR_TYPE_Q8_1) {
        for (int64_t b = 0; b < n / HR_QK8_1; b++) {
            const hr_block_q8_1 *yb = (const hr_block_q8_1 *)y + b;
            hr_f16 mbits = t == HR_TYPE_Q4_1 ? ((const hr_block_q4_1 *)x)[b].m : ((const hr_block_q5_1 *)x)[b].m;
            double sum = 0;
            for (int j = 0; j < HR_QK8_1; j++) sum += yb->qs[j];
            double exact = sum * hr_f16_to_f32(yb->d), stored = hr_f16_to_f32(yb->s);
            d += hr_f16_to_f32(mbits) * (stored - exact);
        }
    }
    free(fx);
    free(fy);
    *dot = d;
    *mag = a;
}

static size_t min_align(hr_type t) { return t == HR_TYPE_F32 || t == HR_TYPE_Q8_K ? 4 : 2; }

static const hr_type weight_types[] = {HR_TYPE_F32,  HR_TYPE_F16,  HR_TYPE_BF16, HR_TYPE_Q4_0, HR_TYPE_Q4_1,
                                       HR_TYPE_Q5_0, HR_TYPE_Q5_1, HR_TYPE_Q8_0, HR_TYPE_Q2_K, HR_TYPE_Q3_K,
                                       HR_TYPE_Q4_K, HR_TYPE_Q5_K, HR_TYPE_Q6_K};
#define NTYPES (sizeof weight_types / sizeof weight_types[0])

/* Lengths in blocks: one, a few, odd counts, a long row (SIMD loops unroll by 2-4 blocks). */
static const int64_t block_counts[] = {1, 2, 3, 5, 7, 16, 17, 33};
static const int64_t float_lengths[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 255, 257, 1000, 4099};

static void test_vec_dot(const hr_kernels *scalar, const hr_kernels *const *isas, int nisa) {
    for (size_t ti = 0; ti < NTYPES; ti++) {
        hr_type t = weight_types[ti];
        const hr_type_traits *tr = hr_type_traits_get(t);
        hr_type vt = tr->vec_dot_type;
        bool plain = tr->block_size == 1;
        size_t nlen = plain ? sizeof float_lengths / sizeof float_lengths[0] : sizeof block_counts / sizeof block_counts[0];
        for (size_t li = 0; li < nlen; li++) {
            int64_t n = plain ? float_lengths[li] : block_counts[li] * tr->block_size;
            for (int m = 0; m < MODE_COUNT; m++) {
                for (int rep = 0; rep < (m == MODE_RANDOM ? 3 : 1); rep++) {
                    /* Rows in a model are only aligned to their element or scale
                     * type, not to vectors: offset them by that much. */
                    uint8_t *xb = malloc(hr_row_size(t, n) + 4), *yb = malloc(hr_row_size(vt, n) + 4);
                    void *x = xb + min_align(t), *y = yb + min_align(vt);
                    fill_weights(t, x, n, (enum mode)m);
                    fill_activations(vt, y, n, (enum mode)m);
                    double ref, mag;
                    reference_dot(t, vt, n, x, y, &ref, &mag);
                    float s0 = NAN;
                    scalar->vec_dot[t](n, &s0, x, y);
                    double tol = 1e-5 * mag + 1e-30;
                    CHECK(fabs(s0 - ref) <= tol, "scalar %s n=%lld %s: %.9g vs reference %.9g (mag %.3g)", tr->name,
                          (long long)n, mode_names[m], s0, ref, mag);
                    for (int i = 0; i < nisa; i++) {
                        float s1 = NAN;
                        isas[i]->vec_dot[t](n, &s1, x, y);
                        CHECK(fabs((double)s1 - s0) <= tol, "%s %s n=%lld %s: %.9g vs scalar %.9g (mag %.3g)",
                              isas[i]->isa_name, tr->name, (long long)n, mode_names[m], s1, s0, mag);
                    }
                    free(xb);
                    free(yb);
                }
            }
        }
    }
}

/* Every tiled kernel gives, for every (row, token) of a tile, exactly the
 * bits vec_dot of the same table gives for that pair (see kernels.h): tiles
 * of 1..19 rows and 1..19 tokens (across the kernels' token passes and their
 * odd-count padding), with row strides that are not multiples of a vector. */
static void test_gemm_q8_0_long(const hr_kernels *k) {
    const int64_t n = 600 * HR_QK8_0;
    const size_t rs = hr_row_size(HR_TYPE_Q8_0, n);
    uint8_t *w = malloc(2 * rs), *x = malloc(3 * rs);
    float out[6], want;
    for (int r = 0; r < 2; r++) fill_weights(HR_TYPE_Q8_0, w + (size_t)r * rs, n, MODE_RANDOM);
    for (int t = 0; t < 3; t++) fill_activations(HR_TYPE_Q8_0, x + (size_t)t * rs, n, MODE_RANDOM);
    k->gemm[HR_TYPE_Q8_0](n, 2, 3, w, rs, x, rs, out, 2);
    for (int t = 0; t < 3; t++)
        for (int r = 0; r < 2; r++) {
            k->vec_dot[HR_TYPE_Q8_0](n, &want, w + (size_t)r * rs, x + (size_t)t * rs);
            CHECK(!memcmp(&want, &out[t * 2 + r], sizeof want), "%s gemm q8_0 n=%lld: row %d token %d: %.9g vs %.9g",
                  k->isa_name, (long long)n, r, t, out[t * 2 + r], want);
        }
    free(w);
    free(x);
}

/* Tile shapes (rows, tokens) the gemm and scores kernels are run over. */
/* (16, 4) and (37, 4): the AMX scores kernel's 16-key groups of 4 grouped
 * queries, alone and with a remainder. */
static const int tile_shapes[][2] = {{1, 1}, {1, 2}, {2, 1}, {3, 3}, {1, 7}, {4, 8}, {5, 9}, {2, 16}, {19, 19}, {3, 13}, {37, 14},
                                     {16, 4}, {37, 4}};
#define N_TILE_SHAPES (sizeof tile_shapes / sizeof tile_shapes[0])

static void test_gemm(const hr_kernels *const *isas, int nisa) {
    for (int i = 0; i < nisa; i++) {
        for (size_t ti = 0; ti < NTYPES; ti++) {
            hr_type t = weight_types[ti];
            if (!isas[i]->gemm[t]) continue;
            const hr_type_traits *tr = hr_type_traits_get(t);
            hr_type vt = tr->vec_dot_type;
            /* plus one row longer than the q8_0 kernel's up-front scale buffer */
            const size_t nlen = sizeof block_counts / sizeof block_counts[0] + (t == HR_TYPE_Q8_0);
            for (size_t li = 0; li < nlen; li++) {
                if (li == sizeof block_counts / sizeof block_counts[0]) {
                    test_gemm_q8_0_long(isas[i]);
                    continue;
                }
                int64_t n = tr->block_size == 1 ? 16 * block_counts[li] + (int64_t)(li % 3) * 5 : block_counts[li] * (int64_t)tr->block_size;
                if (tr->block_size == 1 && li % 2) n += 64; /* both the 64-wide loop and the masked tail */
                for (size_t si = 0; si < N_TILE_SHAPES; si++) {
                    const int nr = tile_shapes[si][0], nt = tile_shapes[si][1];
                    const size_t ws = hr_row_size(t, n) + min_align(t), xs = hr_row_size(vt, n) + min_align(vt);
                    const size_t os = (size_t)nr + 3;
                    uint8_t *wb = malloc(ws * (size_t)nr + 8), *xb = malloc(xs * (size_t)nt + 8);
                    float *out = malloc(os * (size_t)nt * sizeof(float));
                    enum mode m = (enum mode)(si % MODE_COUNT);
                    for (int r = 0; r < nr; r++) fill_weights(t, wb + min_align(t) + (size_t)r * ws, n, m);
                    for (int k = 0; k < nt; k++) fill_activations(vt, xb + min_align(vt) + (size_t)k * xs, n, m);
                    for (size_t k = 0; k < os * (size_t)nt; k++) out[k] = NAN;
                    /* the gemm's own activation layout, from the same values */
                    const hr_type gt = hr_gemm_act_type(isas[i], t);
                    const size_t gs = hr_row_size(gt, n) + min_align(gt);
                    uint8_t *gb = xb;
                    if (gt != vt) {
                        gb = malloc(gs * (size_t)nt + 8);
                        float *f = malloc((size_t)n * sizeof(float)), *g = malloc((size_t)n * sizeof(float));
                        for (int k = 0; k < nt; k++) {
                            hr_type_traits_get(vt)->to_float(xb + min_align(vt) + (size_t)k * xs, f, n);
                            hr_gemm_act_quantizer(isas[i], t)(f, gb + min_align(gt) + (size_t)k * gs, n);
                            /* the converter keeps values the vec_dot format holds exactly */
                            hr_type_traits_get(gt)->to_float(gb + min_align(gt) + (size_t)k * gs, g, n);
                            CHECK(!memcmp(f, g, (size_t)n * sizeof(float)), "%s gemm %s: activation converter changed exact values",
                                  isas[i]->isa_name, tr->name);
                        }
                        free(f);
                        free(g);
                    }
                    isas[i]->gemm[t](n, nr, nt, wb + min_align(t), ws, gb + min_align(gt), gt != vt ? gs : xs, out, os);
                    if (gb != xb) free(gb);
                    int bad = 0;
                    for (int k = 0; k < nt; k++) {
                        for (int r = 0; r < nr; r++) {
                            float want = NAN;
                            isas[i]->vec_dot[t](n, &want, wb + min_align(t) + (size_t)r * ws, xb + min_align(vt) + (size_t)k * xs);
                            float got = out[(size_t)k * os + r];
                            if (memcmp(&got, &want, sizeof got) && bad++ == 0)
                                CHECK(0, "%s gemm %s n=%lld tile %dx%d: row %d token %d: %.9g, vec_dot %.9g",
                                      isas[i]->isa_name, tr->name, (long long)n, nr, nt, r, k, got, want);
                        }
                        for (size_t r = (size_t)nr; r < os; r++)
                            if (!isnan(out[(size_t)k * os + r]) && bad++ == 0)
                                CHECK(0, "%s gemm %s wrote outside the tile", isas[i]->isa_name, tr->name);
                    }
                    CHECK(bad == 0, "%s gemm %s n=%lld tile %dx%d: %d mismatches", isas[i]->isa_name, tr->name,
                          (long long)n, nr, nt, bad);
                    free(wb);
                    free(xb);
                    free(out);
                }
            }
        }
    }
}

/* The packed q4_K kernels' float order (kernels/gemm_amx.c), computed from the
 * stored rows: per block the exact totals sumi = sum(scale * dot) and
 * summ = sum(min * group sum), then acc = fma(d * dy, sumi, acc) and
 * acc = fma(-(dmin * dy), summ, acc). */
static float packed_q4_K_reference(int64_t n, const hr_block_q4_K *x, const hr_block_q8_K *y) {
    float acc = 0.0f;
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        int32_t sumi = 0, summ = 0;
        for (int s = 0; s < 8; s++) {
            uint8_t sc, mn;
            int dot = 0;
            hr_k4_scale_min(x[b].scales, s, &sc, &mn);
            for (int i = 0; i < 32; i++) {
                const uint8_t byte = x[b].qs[32 * (s / 2) + i];
                dot += (s % 2 ? byte >> 4 : byte & 0xF) * y[b].qs[32 * s + i];
            }
            sumi += sc * dot;
            summ += mn * (y[b].bsums[2 * s] + y[b].bsums[2 * s + 1]);
        }
        const float dd = hr_f16_to_f32(x[b].d) * y[b].d, dm = hr_f16_to_f32(x[b].dmin) * y[b].d;
        acc = fmaf(dd, (float)sumi, acc);
        acc = fmaf(-dm, (float)summ, acc);
    }
    return acc;
}

/* Packed weights (kernels.h: pack, gemm_packed): every group and token count
 * (1, the decoding case, to several 8-token passes) equal bit for bit to the
 * documented order above, and within float rounding of the exact dot. */
static void test_gemm_packed(const hr_kernels *const *isas, int nisa) {
    static const int rows[] = {16, 32, 64, 80}; /* 80: past the kernel's 4 groups at once */
    static const int toks[] = {1, 2, 3, 4, 5, 8, 15, 16, 17, 33};
    for (int i = 0; i < nisa; i++) {
        for (size_t ti = 0; ti < NTYPES; ti++) {
            const hr_type t = weight_types[ti];
            if (!isas[i]->pack[t]) continue;
            CHECK(t == HR_TYPE_Q4_K && isas[i]->gemm_packed[t] && isas[i]->packed_block_bytes[t],
                  "%s packs %s, which this test has no reference for", isas[i]->isa_name, hr_type_name(t));
            if (t != HR_TYPE_Q4_K) continue;
            for (size_t li = 0; li < sizeof block_counts / sizeof block_counts[0]; li++) {
                const int64_t n = block_counts[li] * HR_QK_K;
                const int nr = rows[li % 4], nt = toks[li % 10];
                for (int pass = 0; pass < 2; pass++) {
                    const int ntok = pass ? toks[(li + 5) % 10] : nt;
                    const size_t ws = hr_row_size(t, n) + 2, xs = hr_row_size(HR_TYPE_Q8_K, n) + 4, os = (size_t)nr + 3;
                    const size_t gbytes = (size_t)block_counts[li] * isas[i]->packed_block_bytes[t];
                    uint8_t *wb = malloc(ws * (size_t)nr + 8), *xb = malloc(xs * (size_t)ntok + 8);
                    uint8_t *pk = malloc(gbytes * (size_t)(nr / HR_PACK_ROWS) + 1);
                    float *out = malloc(os * (size_t)ntok * sizeof(float));
                    enum mode m = (enum mode)((li + (size_t)pass) % MODE_COUNT);
                    for (int r = 0; r < nr; r++) fill_weights(t, wb + 2 + (size_t)r * ws, n, m);
                    for (int k = 0; k < ntok; k++) fill_activations(HR_TYPE_Q8_K, xb + 4 + (size_t)k * xs, n, m);
                    for (int g = 0; g < nr / HR_PACK_ROWS; g++)
                        isas[i]->pack[t](n, wb + 2 + (size_t)g * HR_PACK_ROWS * ws, ws, pk + 1 + (size_t)g * gbytes);
                    for (size_t k = 0; k < os * (size_t)ntok; k++) out[k] = NAN;
                    isas[i]->gemm_packed[t](n, nr, ntok, pk + 1, xb + 4, xs, out, os);
                    int bad = 0, far = 0;
                    for (int k = 0; k < ntok; k++) {
                        for (int r = 0; r < nr; r++) {
                            const uint8_t *wr = wb + 2 + (size_t)r * ws, *xr = xb + 4 + (size_t)k * xs;
                            const float want = packed_q4_K_reference(n, (const hr_block_q4_K *)wr, (const hr_block_q8_K *)xr);
                            const float got = out[(size_t)k * os + r];
                            if (memcmp(&got, &want, sizeof got) && bad++ == 0)
                                CHECK(0, "%s packed %s n=%lld %d rows x %d tokens: row %d token %d: %.9g, reference %.9g",
                                      isas[i]->isa_name, hr_type_name(t), (long long)n, nr, ntok, r, k, got, want);
                            double dot, mag;
                            reference_dot(t, HR_TYPE_Q8_K, n, wr, xr, &dot, &mag);
                            if (fabs(got - dot) > 1e-5 * mag + 1e-6 && far++ == 0)
                                CHECK(0, "%s packed %s: row %d token %d: %.9g, exact %.9g", isas[i]->isa_name,
                                      hr_type_name(t), r, k, got, dot);
                        }
                        for (size_t r = (size_t)nr; r < os; r++)
                            if (!isnan(out[(size_t)k * os + r]) && bad++ == 0)
                                CHECK(0, "%s packed %s wrote outside the tile", isas[i]->isa_name, hr_type_name(t));
                    }
                    CHECK(bad == 0 && far == 0, "%s packed %s n=%lld %dx%d: %d mismatches, %d far", isas[i]->isa_name,
                          hr_type_name(t), (long long)n, nr, ntok, bad, far);
                    free(wb);
                    free(xb);
                    free(pk);
                    free(out);
                }
            }
        }
    }
}

/* The attention-scores kernels (kernels.h: equal to vec_dot within float
 * rounding): every tile shape of the gemm test, rows of 1 to 33 blocks (past the kernel's
 * 16 block pairs, where it hands over to the gemm), against the exact dot in
 * double, within 1e-6 of the sum of the terms' magnitudes. */
static void test_scores(const hr_kernels *const *isas, int nisa) {
    for (int i = 0; i < nisa; i++)
        for (size_t ti = 0; ti < NTYPES; ti++) {
            const hr_type t = weight_types[ti];
            if (!isas[i]->scores[t]) continue;
            const hr_type vt = hr_gemm_act_type(isas[i], t);
            for (size_t li = 0; li < sizeof block_counts / sizeof block_counts[0]; li++)
                for (size_t si = 0; si < N_TILE_SHAPES; si++) {
                    const int64_t n = block_counts[li] * (int64_t)hr_type_traits_get(t)->block_size;
                    const int nr = tile_shapes[si][0], nt = tile_shapes[si][1];
                    const size_t ws = hr_row_size(t, n) + min_align(t), xs = hr_row_size(vt, n) + min_align(vt);
                    const size_t os = (size_t)nr + 3;
                    uint8_t *wb = malloc(ws * (size_t)nr + 8), *xb = malloc(xs * (size_t)nt + 8);
                    float *out = malloc(os * (size_t)nt * sizeof(float));
                    const enum mode m = (enum mode)(si % MODE_COUNT);
                    for (int r = 0; r < nr; r++) fill_weights(t, wb + min_align(t) + (size_t)r * ws, n, m);
                    for (int k = 0; k < nt; k++) fill_activations(vt, xb + min_align(vt) + (size_t)k * xs, n, m);
                    for (size_t k = 0; k < os * (size_t)nt; k++) out[k] = NAN;
                    isas[i]->scores[t](n, nr, nt, wb + min_align(t), ws, xb + min_align(vt), xs, out, os);
                    int bad = 0;
                    for (int k = 0; k < nt; k++) {
                        for (int r = 0; r < nr; r++) {
                            double want, mag;
                            reference_dot(t, vt, n, wb + min_align(t) + (size_t)r * ws, xb + min_align(vt) + (size_t)k * xs,
                                          &want, &mag);
                            const float got = out[(size_t)k * os + r];
                            if (!(fabs(got - want) <= 1e-6 * mag + 1e-30) && bad++ == 0)
                                CHECK(0, "%s scores %s n=%lld tile %dx%d: row %d token %d: %.9g, exact %.9g", isas[i]->isa_name,
                                      hr_type_traits_get(t)->name, (long long)n, nr, nt, r, k, got, want);
                        }
                        for (size_t r = (size_t)nr; r < os; r++)
                            if (!isnan(out[(size_t)k * os + r]) && bad++ == 0)
                                CHECK(0, "%s scores %s wrote outside the tile", isas[i]->isa_name, hr_type_traits_get(t)->name);
                    }
                    CHECK(bad == 0, "%s scores %s n=%lld tile %dx%d: %d mismatches", isas[i]->isa_name,
                          hr_type_traits_get(t)->name, (long long)n, nr, nt, bad);
                    free(wb);
                    free(xb);
                    free(out);
                }
        }
}

/* Input rows for the quantizers: random at several scales, all-zero blocks,
 * denormal-sized blocks, and exact rounding ties (amax 127 makes the scale 1,
 * so x = k + 0.5 lands exactly halfway). */
static void fill_floats(float *x, int64_t n, int kind) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = rnd_sym(); break;
        case 1: x[i] = rnd_sym() * 1e4f * rndf(); break;
        case 2: x[i] = (i / 32) % 3 == 1 ? 0.0f : rnd_sym() * 1e-3f; break;
        case 3: x[i] = i % 37 == 0 ? 127.0f : (float)((int)(rnd() % 254) - 127) + 0.5f; break;
        case 4: x[i] = i % 29 == 0 ? -127.0f : (float)((int)(rnd() % 20) - 10) * 0.5f; break;
        default: x[i] = rnd_sym() * 1e-6f; break; /* f16 subnormals */
        }
    }
}

static void test_quantizers(const hr_kernels *scalar, const hr_kernels *const *isas, int nisa) {
    static const hr_type act_types[] = {HR_TYPE_Q8_0, HR_TYPE_Q8_1, HR_TYPE_Q8_K, HR_TYPE_F16, HR_TYPE_BF16, HR_TYPE_F32};
    for (size_t ai = 0; ai < sizeof act_types / sizeof act_types[0]; ai++) {
        hr_type t = act_types[ai];
        const hr_type_traits *tr = hr_type_traits_get(t);
        for (int64_t blocks = 1; blocks <= 9; blocks += 4) {
            for (int extra = 0; extra < (tr->block_size == 1 ? 3 : 1); extra++) {
                int64_t n = blocks * (tr->block_size == 1 ? 64 : tr->block_size) + extra * 7;
                for (int kind = 0; kind < 6; kind++) {
                    float *x = malloc((size_t)n * sizeof(float));
                    fill_floats(x, n, kind);
                    size_t bytes = hr_row_size(t, n);
                    uint8_t *want = malloc(bytes), *got = malloc(bytes);
                    for (int i = 0; i < nisa; i++) {
                        /* x86 tables mirror llama.cpp's x86 q8_0/q8_1 quantizers, not ggml's reference */
                        bool x86 = isas[i]->isa >= HR_ISA_AVX2 && isas[i]->isa <= HR_ISA_AMX;
                        if (x86 && t == HR_TYPE_Q8_0) hr_quantize_row_q8_0_x86(x, want, n);
                        else if (x86 && t == HR_TYPE_Q8_1) hr_quantize_row_q8_1_x86(x, want, n);
                        else scalar->quantize_row[t](x, want, n);
                        memset(got, 0xA5, bytes);
                        isas[i]->quantize_row[t](x, got, n);
                        size_t at = 0;
                        while (at < bytes && got[at] == want[at]) at++;
                        CHECK(at == bytes, "%s quantize %s n=%lld kind=%d: byte %zu differs (%02x vs %02x)",
                              isas[i]->isa_name, tr->name, (long long)n, kind, at, at < bytes ? got[at] : 0,
                              at < bytes ? want[at] : 0);
                    }
                    free(x);
                    free(want);
                    free(got);
                }
            }
        }
    }
}

static void test_dispatch(void) {
    hr_kernels k;
    hearth_error err = {{0}};
    CHECK(hr_kernels_select("no-such-isa", &k, &err) == HEARTH_ERR_INVALID, "unknown ISA accepted");
    CHECK(strstr(err.message, "no-such-isa") != NULL, "message lacks the name: %s", err.message);
    CHECK(hr_kernels_select(NULL, &k, &err) == HEARTH_OK && k.isa == hr_isa_detect(), "auto selection");
    CHECK(hr_kernels_select("scalar", &k, &err) == HEARTH_OK && k.isa == HR_ISA_SCALAR && !strcmp(k.isa_name, "scalar"),
          "scalar override");
    for (int i = 0; i < HR_ISA_COUNT; i++) {
        hearth_status st = hr_kernels_select(hr_isa_name((hr_isa)i), &k, &err);
        if (hr_isa_available((hr_isa)i)) {
            CHECK(st == HEARTH_OK && k.isa == (hr_isa)i, "select %s", hr_isa_name((hr_isa)i));
            for (size_t ti = 0; ti < NTYPES; ti++)
                CHECK(k.vec_dot[weight_types[ti]] != NULL, "%s lacks vec_dot %s", k.isa_name,
                      hr_type_name(weight_types[ti]));
        } else {
            CHECK(st == HEARTH_ERR_UNSUPPORTED && strstr(err.message, hr_isa_name((hr_isa)i)),
                  "unavailable %s: status %d, %s", hr_isa_name((hr_isa)i), st, err.message);
        }
    }
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    hr_kernels scalar, all[HR_ISA_COUNT];
    const hr_kernels *isas[HR_ISA_COUNT];
    int nisa = 0;
    hr_kernels_scalar(&scalar);
    const char *env = getenv("HEARTH_ISA");
    if (env && *env) {
        hearth_error err = {{0}};
        if (hr_kernels_select(env, &all[0], &err) != HEARTH_OK) {
            fprintf(stderr, "HEARTH_ISA=%s: %s\n", env, err.message);
            return 1;
        }
        if (all[0].isa != HR_ISA_SCALAR) isas[nisa++] = &all[0];
    } else {
        for (int i = 1; i < HR_ISA_COUNT; i++) {
            if (!hr_isa_available((hr_isa)i)) continue;
            hr_kernels_for_isa((hr_isa)i, &all[nisa], NULL);
            isas[nisa] = &all[nisa];
            nisa++;
        }
    }
    printf("ISAs under test: scalar");
    for (int i = 0; i < nisa; i++) printf(" %s", isas[i]->isa_name);
    printf("\n");
    test_dispatch();
    test_vec_dot(&scalar, isas, nisa);
    test_quantizers(&scalar, isas, nisa);
    test_gemm(isas, nisa);
    test_scores(isas, nisa);
    test_gemm_packed(isas, nisa);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
