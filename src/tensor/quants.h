/*
 * Scalar reference quantize / dequantize for every tensor type, bit-compatible
 * with ggml's reference (*_ref) functions. n is a multiple of the block size.
 * These are the reference the SIMD kernels are tested against, and what the
 * test-model generator and `hearth quantize` write with.
 */
#ifndef HR_TENSOR_QUANTS_H
#define HR_TENSOR_QUANTS_H

#include <stdint.h>

#define HR_DECLARE_QUANT(lower) \
    void hr_dequantize_row_##lower(const void *src, float *dst, int64_t n); \
    void hr_quantize_row_##lower(const float *src, void *dst, int64_t n);

HR_DECLARE_QUANT(f32)
HR_DECLARE_QUANT(f16)
HR_DECLARE_QUANT(bf16)
HR_DECLARE_QUANT(q4_0)
HR_DECLARE_QUANT(q4_1)
HR_DECLARE_QUANT(q5_0)
HR_DECLARE_QUANT(q5_1)
HR_DECLARE_QUANT(q8_0)
HR_DECLARE_QUANT(q8_1)
HR_DECLARE_QUANT(q2_K)
HR_DECLARE_QUANT(q3_K)
HR_DECLARE_QUANT(q4_K)
HR_DECLARE_QUANT(q5_K)
HR_DECLARE_QUANT(q6_K)
HR_DECLARE_QUANT(q8_K)

#undef HR_DECLARE_QUANT

#endif
