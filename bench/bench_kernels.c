/*
 * Kernel throughput: GB/s of weight rows consumed by vec_dot, per type and ISA,
 * for rows of 4096 elements against one activation row (a matrix-vector
 * product, as in token generation). Two working sets: "hot" (1 MiB, stays in
 * L2: the kernel's compute speed) and "stream" (default 128 MiB, or argv[1]
 * MiB: bounded by memory bandwidth). Timings only; nothing is checked here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "tensor/types.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of a few passes over `rows` rows, in GB/s of weight bytes. */
static double run(const hr_kernels *k, hr_type t, int64_t n, const uint8_t *w, size_t row_bytes, int64_t rows,
                  const void *act, double min_seconds) {
    hr_vec_dot_fn dot = k->vec_dot[t];
    double best = 0.0, spent = 0.0;
    volatile float sink = 0.0f;
    for (int pass = 0; pass < 50 && (pass < 3 || spent < min_seconds); pass++) {
        double t0 = now();
        float acc = 0.0f;
        for (int64_t r = 0; r < rows; r++) {
            float s;
            dot(n, &s, w + (size_t)r * row_bytes, act);
            acc += s;
        }
        double dt = now() - t0;
        sink += acc;
        spent += dt;
        double gbs = (double)row_bytes * (double)rows / dt * 1e-9;
        if (gbs > best) best = gbs;
    }
    (void)sink;
    return best;
}

int main(int argc, char **argv) {
    static const hr_type types[] = {HR_TYPE_Q4_K, HR_TYPE_Q6_K, HR_TYPE_Q8_0, HR_TYPE_F16,  HR_TYPE_F32,
                                    HR_TYPE_Q5_K, HR_TYPE_Q4_0, HR_TYPE_Q2_K, HR_TYPE_Q3_K, HR_TYPE_Q5_0,
                                    HR_TYPE_Q4_1, HR_TYPE_Q5_1, HR_TYPE_BF16};
    const int64_t n = 4096;
    size_t stream_mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 128;
    if (stream_mib < 2) stream_mib = 2;
    size_t cap = stream_mib << 20;
    uint8_t *w = malloc(cap);
    float *xf = malloc((size_t)n * sizeof(float));
    void *act = malloc(hr_row_size(HR_TYPE_Q8_K, n) + hr_row_size(HR_TYPE_F32, n));
    if (!w || !xf || !act) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    srand(1);
    for (size_t i = 0; i < cap; i++) w[i] = (uint8_t)(rand() >> 7);
    for (int64_t i = 0; i < n; i++) xf[i] = (float)rand() / RAND_MAX - 0.5f;

    printf("vec_dot GB/s of weights, rows of %lld, hot = 1 MiB, stream = %zu MiB\n", (long long)n, stream_mib);
    printf("%-8s", "type");
    hr_kernels ks[HR_ISA_COUNT];
    int nk = 0;
    for (int i = 0; i < HR_ISA_COUNT; i++)
        if (hr_isa_available((hr_isa)i) && hr_kernels_for_isa((hr_isa)i, &ks[nk], NULL) == HEARTH_OK) {
            printf(" %18s", ks[nk].isa_name);
            nk++;
        }
    printf("\n%-8s", "");
    for (int i = 0; i < nk; i++) printf(" %8s %9s", "hot", "stream");
    printf("\n");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        hr_type t = types[ti];
        const hr_type_traits *tr = hr_type_traits_get(t);
        size_t row_bytes = hr_row_size(t, n);
        /* Valid scales (f16 1.0 / small) keep the arithmetic away from inf/NaN. */
        for (size_t i = 0; !tr->is_quantized && i + tr->type_size <= cap; i += tr->type_size) {
            float v = xf[(i / tr->type_size) % (size_t)n];
            if (t == HR_TYPE_F32) memcpy(w + i, &v, 4);
            else if (t == HR_TYPE_F16) *(hr_f16 *)(w + i) = hr_f32_to_f16(v);
            else *(hr_bf16 *)(w + i) = hr_f32_to_bf16(v);
        }
        for (size_t off = 0; off + tr->type_size <= cap && tr->is_quantized; off += tr->type_size) {
            if (t == HR_TYPE_Q2_K) memcpy(w + off + 80, "\x00\x3c\x00\x20", 4);
            else if (t == HR_TYPE_Q3_K) memcpy(w + off + 108, "\x00\x3c", 2);
            else if (t == HR_TYPE_Q6_K) memcpy(w + off + 208, "\x00\x3c", 2);
            else memcpy(w + off, "\x00\x3c\x00\x20", tr->type_size >= 4 ? 4 : 2);
        }
        hr_kernels *best = &ks[nk - 1];
        best->quantize_row[tr->vec_dot_type](xf, act, n);
        printf("%-8s", tr->name);
        for (int i = 0; i < nk; i++) {
            double hot = run(&ks[i], t, n, w, row_bytes, (int64_t)((1u << 20) / row_bytes), act, 0.05);
            double stream = run(&ks[i], t, n, w, row_bytes, (int64_t)(cap / row_bytes), act, 0.0);
            printf(" %8.1f %9.1f", hot, stream);
        }
        printf("\n");
        fflush(stdout);
    }
    free(w);
    free(xf);
    free(act);
    return 0;
}
