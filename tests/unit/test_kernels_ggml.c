/*
 * Our dot products against llama.cpp's own compiled ones: ggml's CPU library
 * from the oracle (tests/oracle/install.sh; the AVX2 "haswell" build, path
 * overridable with HEARTH_GGML_CPU_LIB), loaded with dlopen. Our scalar kernels
 * are compared with ggml's generic C kernels and our best ISA with ggml's
 * dispatching (SIMD) ones, on the same weight and activation bytes. They may
 * differ only by float summation order: tolerance 1e-5 of sum |x*y|.
 * x86-64 only (the oracle ships x86 libraries); skipped elsewhere.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tensor/quants.h"
#include "tensor/types.h"

#define DEFAULT_LIB "tests/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-cpu-haswell.so"

typedef void (*ggml_dot_fn)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by, int nrc);

static void *open_ggml_cpu(void) {
    const char *path = getenv("HEARTH_GGML_CPU_LIB");
    if (!path || !*path) path = DEFAULT_LIB;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "cannot load ggml-cpu (%s): %s; run tests/oracle/install.sh", path, dlerror());
    void (*init)(void) = (void (*)(void))dlsym(h, "ggml_cpu_init");
    cr_assert_not_null(init, "ggml-cpu lacks ggml_cpu_init");
    init();
    return h;
}

static ggml_dot_fn dot_sym(void *h, const char *name) {
    ggml_dot_fn f = (ggml_dot_fn)dlsym(h, name);
    cr_assert_not_null(f, "ggml-cpu lacks %s", name);
    return f;
}

static uint64_t next_u64(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
static float uniform(uint64_t *s) { return (float)((next_u64(s) >> 40) / 16777216.0) * 2.0f - 1.0f; }

/* Weights and activations come from the reference quantizers applied to
 * random floats (with a few outliers), i.e. the bytes a real model has. */
static void check(hr_type t, const char *generic_name, const char *simd_name) {
#if !defined(__x86_64__)
    (void)t, (void)generic_name, (void)simd_name;
    cr_skip_test("ggml oracle libraries are x86-64 only");
#else
    void *h = open_ggml_cpu();
    ggml_dot_fn generic = dot_sym(h, generic_name), simd = dot_sym(h, simd_name);
    hr_kernels scalar, best;
    hr_kernels_scalar(&scalar);
    cr_assert_eq(hr_kernels_select(NULL, &best, NULL), HEARTH_OK);
    const hr_type_traits *tr = hr_type_traits_get(t), *vt = hr_type_traits_get(tr->vec_dot_type);
    static const int64_t lengths[] = {256, 512, 1280, 4096, 4352};
    uint64_t seed = 0x1234567 + (uint64_t)t;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int64_t n = lengths[li];
        float *fx = malloc((size_t)n * sizeof(float)), *fy = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) {
            fx[i] = uniform(&seed) * (i % 97 == 0 ? 8.0f : 1.0f);
            fy[i] = uniform(&seed) * (i % 61 == 0 ? 20.0f : 1.0f);
        }
        void *x = malloc(hr_row_size(t, n)), *y = malloc(hr_row_size(tr->vec_dot_type, n));
        tr->from_float(fx, x, n);
        vt->from_float(fy, y, n);
        tr->to_float(x, fx, n);
        vt->to_float(y, fy, n);
        double mag = 0;
        for (int64_t i = 0; i < n; i++) mag += fabs((double)fx[i] * fy[i]);
        float ours_s = NAN, ours_b = NAN, ref_g = NAN, ref_s = NAN;
        scalar.vec_dot[t](n, &ours_s, x, y);
        best.vec_dot[t](n, &ours_b, x, y);
        generic((int)n, &ref_g, 0, x, 0, y, 0, 1);
        simd((int)n, &ref_s, 0, x, 0, y, 0, 1);
        double tol = 1e-5 * mag;
        cr_expect_leq(fabs((double)ours_s - ref_g), tol, "%s n=%lld scalar %.9g vs ggml generic %.9g", tr->name,
                      (long long)n, ours_s, ref_g);
        cr_expect_leq(fabs((double)ours_b - ref_s), tol, "%s n=%lld %s %.9g vs ggml %.9g", tr->name, (long long)n,
                      best.isa_name, ours_b, ref_s);
        free(fx), free(fy), free(x), free(y);
    }
    dlclose(h);
#endif
}

Test(kernels_ggml, q4_0) { check(HR_TYPE_Q4_0, "ggml_vec_dot_q4_0_q8_0_generic", "ggml_vec_dot_q4_0_q8_0"); }
Test(kernels_ggml, q4_1) { check(HR_TYPE_Q4_1, "ggml_vec_dot_q4_1_q8_1_generic", "ggml_vec_dot_q4_1_q8_1"); }
Test(kernels_ggml, q5_0) { check(HR_TYPE_Q5_0, "ggml_vec_dot_q5_0_q8_0_generic", "ggml_vec_dot_q5_0_q8_0"); }
Test(kernels_ggml, q5_1) { check(HR_TYPE_Q5_1, "ggml_vec_dot_q5_1_q8_1_generic", "ggml_vec_dot_q5_1_q8_1"); }
Test(kernels_ggml, q8_0) { check(HR_TYPE_Q8_0, "ggml_vec_dot_q8_0_q8_0_generic", "ggml_vec_dot_q8_0_q8_0"); }
Test(kernels_ggml, q2_K) { check(HR_TYPE_Q2_K, "ggml_vec_dot_q2_K_q8_K_generic", "ggml_vec_dot_q2_K_q8_K"); }
Test(kernels_ggml, q3_K) { check(HR_TYPE_Q3_K, "ggml_vec_dot_q3_K_q8_K_generic", "ggml_vec_dot_q3_K_q8_K"); }
Test(kernels_ggml, q4_K) { check(HR_TYPE_Q4_K, "ggml_vec_dot_q4_K_q8_K_generic", "ggml_vec_dot_q4_K_q8_K"); }
Test(kernels_ggml, q5_K) { check(HR_TYPE_Q5_K, "ggml_vec_dot_q5_K_q8_K_generic", "ggml_vec_dot_q5_K_q8_K"); }
Test(kernels_ggml, q6_K) { check(HR_TYPE_Q6_K, "ggml_vec_dot_q6_K_q8_K_generic", "ggml_vec_dot_q6_K_q8_K"); }
/* ggml has no generic float kernels: its SIMD one stands for both. */
Test(kernels_ggml, f32) { check(HR_TYPE_F32, "ggml_vec_dot_f32", "ggml_vec_dot_f32"); }
Test(kernels_ggml, f16) { check(HR_TYPE_F16, "ggml_vec_dot_f16", "ggml_vec_dot_f16"); }
Test(kernels_ggml, bf16) { check(HR_TYPE_BF16, "ggml_vec_dot_bf16", "ggml_vec_dot_bf16"); }
