/* Prints a digest of every type's quantized bytes (and dequantized floats) for
 * fixed rows, so builds for different CPUs can be compared: a model quantized
 * on aarch64 must be the same file as one quantized on x86-64. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tensor/types.h"

enum { N = 4096 };

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

int main(void) {
    static float x[N], y[N];
    static uint8_t q[N * 4];
    uint32_t s = 1;
    for (int row = 0; row < 4; row++) {
        for (int i = 0; i < N; i++) {
            s = s * 1664525u + 1013904223u;
            float v = (float)((int)(s >> 8) % 20001 - 10000) / 3000.0f;
            x[i] = row == 0 ? v : row == 1 ? v * (i % 97 ? 1.0f : 40.0f) : row == 2 ? v * 1e-3f : (i % 3 ? 0.0f : v);
        }
        for (uint32_t t = 0; t < HR_TYPE_COUNT; t++) {
            const hr_type_traits *tr = hr_type_traits_get(t);
            if (!tr || !tr->from_float) continue;
            size_t n = hr_row_size((hr_type)t, N);
            memset(q, 0, sizeof q);
            tr->from_float(x, q, N);
            tr->to_float(q, y, N);
            printf("row %d %-5s %016llx %016llx\n", row, tr->name, (unsigned long long)fnv(1469598103934665603ull, q, n),
                   (unsigned long long)fnv(1469598103934665603ull, y, sizeof y));
        }
    }
    return 0;
}
