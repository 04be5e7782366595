/* TEMPORARY: placeholders until the reference block quantizers land
 * (the quants engineer deletes this file). They abort so nothing can
 * silently use them. */
#include <stdio.h>
#include <stdlib.h>

#include "tensor/quants.h"

#define TODO(lower) \
    void hr_dequantize_row_##lower(const void *src, float *dst, int64_t n) { (void)src; (void)dst; (void)n; fputs("not implemented: " #lower "\n", stderr); abort(); } \
    void hr_quantize_row_##lower(const float *src, void *dst, int64_t n) { (void)src; (void)dst; (void)n; fputs("not implemented: " #lower "\n", stderr); abort(); }
TODO(q4_0) TODO(q4_1) TODO(q5_0) TODO(q5_1) TODO(q8_0) TODO(q8_1)
TODO(q2_K) TODO(q3_K) TODO(q4_K) TODO(q5_K) TODO(q6_K) TODO(q8_K)
