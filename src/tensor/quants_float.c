/* Reference quantize/dequantize of the plain float types; the block types are
 * in quants_legacy.c and quants_k.c. */
#include "tensor/quants.h"

#include <string.h>

#include "tensor/types.h"
void hr_dequantize_row_f32(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }
void hr_quantize_row_f32(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }
void hr_dequantize_row_f16(const void *src, float *dst, int64_t n) {
    const hr_f16 *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = hr_f16_to_f32(s[i]);
}
void hr_quantize_row_f16(const float *src, void *dst, int64_t n) {
    hr_f16 *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = hr_f32_to_f16(src[i]);
}
void hr_dequantize_row_bf16(const void *src, float *dst, int64_t n) {
    const hr_bf16 *s = src;
    for (int64_t i = 0; i < n; i++) dst[i] = hr_bf16_to_f32(s[i]);
}
void hr_quantize_row_bf16(const float *src, void *dst, int64_t n) {
    hr_bf16 *d = dst;
    for (int64_t i = 0; i < n; i++) d[i] = hr_f32_to_bf16(src[i]);
}
