/*
 * Our activation quantizers (the best ISA's quantize_row table, which the
 * matmuls use) against the ones llama.cpp's CPU backend runs: the from_float
 * of ggml_get_type_traits_cpu() in the oracle's ggml-cpu library, loaded with
 * dlopen, compared byte for byte on the same floats. On x86 those are the
 * AVX2 quantize_row_q8_0/q8_1 of ggml-cpu/arch/x86/quants.c (multiplier
 * 127/amax, ties to even), not ggml's *_ref ones; one differing byte flips a
 * rounding in the next layer of a model, so any difference fails.
 * Default library: the AVX2 "haswell" build (the x86 quantizers are the same
 * code in every AVX2+ variant); HEARTH_GGML_CPU_LIB overrides it.
 * x86-64 with AVX2 only (the oracle ships x86 libraries); skipped elsewhere.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tensor/types.h"

#define DEFAULT_LIB "tests/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-cpu-haswell.so"

/* ggml's struct ggml_type_traits_cpu (ggml-cpu.h), first member only used */
typedef struct {
    void (*from_float)(const float *x, void *y, int64_t k);
    void *vec_dot;
    int vec_dot_type;
    int64_t nrows;
} ggml_traits_cpu;

enum { GGML_F16 = 1, GGML_Q8_0 = 8, GGML_Q8_1 = 9, GGML_Q8_K = 15, GGML_BF16 = 30 };

static uint64_t next_u64(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
static float uniform(uint64_t *s) { return (float)((next_u64(s) >> 40) / 16777216.0) * 2.0f - 1.0f; }

/* Rows like real activations, plus exact rounding ties (amax 127 gives the
 * multiplier 1, so k + 0.5 is halfway) and amax values whose 127/amax and
 * 1/(amax/127) differ. */
static void fill(float *x, int64_t n, int kind, uint64_t *seed) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = uniform(seed) * (i % 61 == 0 ? 20.0f : 1.0f); break;
        case 1: x[i] = i % 32 == 5 ? 127.0f : (float)((int)(next_u64(seed) % 254) - 127) + 0.5f; break;
        case 2: x[i] = uniform(seed) * 3.3f + (i % 32 == 0 ? 7.77f : 0.0f); break;
        default: x[i] = (i / 32) % 4 == 1 ? 0.0f : uniform(seed) * 1e-3f; break;
        }
    }
}

static void check(hr_type t, int ggml_type) {
#if !defined(__x86_64__)
    (void)t, (void)ggml_type;
    cr_skip_test("ggml oracle libraries are x86-64 only");
#else
    if (!hr_isa_available(HR_ISA_AVX2)) cr_skip_test("the oracle's ggml-cpu needs AVX2");
    const char *path = getenv("HEARTH_GGML_CPU_LIB");
    if (!path || !*path) path = DEFAULT_LIB;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "cannot load ggml-cpu (%s): %s; run tests/oracle/install.sh", path, dlerror());
    void (*init)(void) = (void (*)(void))dlsym(h, "ggml_cpu_init");
    const ggml_traits_cpu *(*traits)(int) = (const ggml_traits_cpu *(*)(int))dlsym(h, "ggml_get_type_traits_cpu");
    cr_assert(init && traits, "ggml-cpu lacks ggml_cpu_init/ggml_get_type_traits_cpu");
    init();
    void (*ggml_q)(const float *, void *, int64_t) = traits(ggml_type)->from_float;
    cr_assert_not_null(ggml_q, "no from_float for ggml type %d", ggml_type);
    hr_kernels best;
    cr_assert_eq(hr_kernels_select(NULL, &best, NULL), HEARTH_OK);
    hr_quantize_row_fn ours = best.quantize_row[t];
    uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)t;
    const int64_t n = 4096;
    float *x = malloc((size_t)n * sizeof(float));
    size_t bytes = hr_row_size(t, n);
    uint8_t *want = malloc(bytes), *got = malloc(bytes);
    for (int rep = 0; rep < 64; rep++) {
        int kind = rep % 4;
        fill(x, n, kind, &seed);
        memset(want, 0x5A, bytes);
        memset(got, 0xA5, bytes);
        ggml_q(x, want, n);
        ours(x, got, n);
        size_t at = 0;
        while (at < bytes && got[at] == want[at]) at++;
        cr_assert_eq(at, bytes, "%s (%s) kind %d rep %d: byte %zu is %02x, llama.cpp's %02x", hr_type_traits_get(t)->name,
                     best.isa_name, kind, rep, at, at < bytes ? got[at] : 0, at < bytes ? want[at] : 0);
    }
    free(x), free(want), free(got);
    dlclose(h);
#endif
}

Test(quantizers_ggml, q8_0) { check(HR_TYPE_Q8_0, GGML_Q8_0); }
Test(quantizers_ggml, q8_1) { check(HR_TYPE_Q8_1, GGML_Q8_1); }
Test(quantizers_ggml, q8_K) { check(HR_TYPE_Q8_K, GGML_Q8_K); }
Test(quantizers_ggml, f16) { check(HR_TYPE_F16, GGML_F16); }
Test(quantizers_ggml, bf16) { check(HR_TYPE_BF16, GGML_BF16); }
