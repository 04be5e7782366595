/*
 * Tensor element types and their block layouts, bit-compatible with ggml
 * (the numbering is the one GGUF files store). One row of hr_type_traits per
 * type replaces a switch in every function.
 */
#ifndef HR_TENSOR_TYPES_H
#define HR_TENSOR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum hr_type {
    HR_TYPE_F32 = 0,
    HR_TYPE_F16 = 1,
    HR_TYPE_Q4_0 = 2,
    HR_TYPE_Q4_1 = 3,
    HR_TYPE_Q5_0 = 6,
    HR_TYPE_Q5_1 = 7,
    HR_TYPE_Q8_0 = 8,
    HR_TYPE_Q8_1 = 9,
    HR_TYPE_Q2_K = 10,
    HR_TYPE_Q3_K = 11,
    HR_TYPE_Q4_K = 12,
    HR_TYPE_Q5_K = 13,
    HR_TYPE_Q6_K = 14,
    HR_TYPE_Q8_K = 15,
    HR_TYPE_I8 = 24,
    HR_TYPE_I16 = 25,
    HR_TYPE_I32 = 26,
    HR_TYPE_I64 = 27,
    HR_TYPE_F64 = 28,
    HR_TYPE_BF16 = 30,
    HR_TYPE_COUNT = 40, /* one past the largest id ggml defines; unknown ids inside are unsupported */
} hr_type;

#define HR_QK4_0 32
#define HR_QK4_1 32
#define HR_QK5_0 32
#define HR_QK5_1 32
#define HR_QK8_0 32
#define HR_QK8_1 32
#define HR_QK_K 256
#define HR_K_SCALE_SIZE 12

typedef uint16_t hr_f16;  /* IEEE half, stored bits */
typedef uint16_t hr_bf16; /* bfloat16, stored bits */

typedef struct { hr_f16 d; uint8_t qs[HR_QK4_0 / 2]; } hr_block_q4_0;
typedef struct { hr_f16 d, m; uint8_t qs[HR_QK4_1 / 2]; } hr_block_q4_1;
typedef struct { hr_f16 d; uint8_t qh[4]; uint8_t qs[HR_QK5_0 / 2]; } hr_block_q5_0;
typedef struct { hr_f16 d, m; uint8_t qh[4]; uint8_t qs[HR_QK5_1 / 2]; } hr_block_q5_1;
typedef struct { hr_f16 d; int8_t qs[HR_QK8_0]; } hr_block_q8_0;
typedef struct { hr_f16 d, s; int8_t qs[HR_QK8_1]; } hr_block_q8_1; /* s = d * sum(qs) */

typedef struct { uint8_t scales[HR_QK_K / 16]; uint8_t qs[HR_QK_K / 4]; hr_f16 d, dmin; } hr_block_q2_K;
typedef struct { uint8_t hmask[HR_QK_K / 8]; uint8_t qs[HR_QK_K / 4]; uint8_t scales[12]; hr_f16 d; } hr_block_q3_K;
typedef struct { hr_f16 d, dmin; uint8_t scales[HR_K_SCALE_SIZE]; uint8_t qs[HR_QK_K / 2]; } hr_block_q4_K;
typedef struct { hr_f16 d, dmin; uint8_t scales[HR_K_SCALE_SIZE]; uint8_t qh[HR_QK_K / 8]; uint8_t qs[HR_QK_K / 2]; } hr_block_q5_K;
typedef struct { uint8_t ql[HR_QK_K / 2]; uint8_t qh[HR_QK_K / 4]; int8_t scales[HR_QK_K / 16]; hr_f16 d; } hr_block_q6_K;
typedef struct { float d; int8_t qs[HR_QK_K]; int16_t bsums[HR_QK_K / 16]; } hr_block_q8_K;

_Static_assert(sizeof(hr_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(hr_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(hr_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(hr_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(hr_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(hr_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(hr_block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(hr_block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(hr_block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(hr_block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(hr_block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(hr_block_q8_K) == 292, "q8_K layout");

/* Scalar reference conversions: row of n elements (n a multiple of block_size). */
typedef void (*hr_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*hr_from_float_fn)(const float *src, void *dst, int64_t n);

typedef struct hr_type_traits {
    const char *name;         /* as ggml names it: "f32", "q4_K", ... */
    int64_t block_size;       /* elements per block (1 for plain types) */
    size_t type_size;         /* bytes per block */
    bool is_quantized;
    bool supported;           /* false for ids we know but cannot compute with */
    hr_to_float_fn to_float;  /* scalar reference dequantize, NULL when unsupported */
    hr_from_float_fn from_float; /* scalar reference quantize, NULL when unsupported */
    hr_type vec_dot_type;     /* activation format for dot products with this weight type */
} hr_type_traits;

/* Traits of a type id; NULL when the id is not a type ggml defines. */
const hr_type_traits *hr_type_traits_get(uint32_t type);
/* Name of a type ("q4_K"), or "unknown". */
const char *hr_type_name(uint32_t type);
/* Parses a type name, case-insensitive ("Q4_K", "f16"); returns false if unknown. */
bool hr_type_from_name(const char *name, hr_type *out);
/* Bytes for a row of n elements; 0 when n is not a multiple of the block size. */
size_t hr_row_size(hr_type type, int64_t n);

/* Half and bfloat16 conversion (exact, round-to-nearest-even like ggml). */
float hr_f16_to_f32(hr_f16 h);
hr_f16 hr_f32_to_f16(float f);
float hr_bf16_to_f32(hr_bf16 h);
hr_bf16 hr_f32_to_bf16(float f);

#endif
