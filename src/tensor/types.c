/* The type traits table and half/bfloat16 conversions. */
#include "tensor/types.h"

#include <string.h>
#include <strings.h>

#include "tensor/quants.h"

#define PLAIN(nm, sz, vdt) {.name = nm, .block_size = 1, .type_size = sz, .is_quantized = false, .supported = true, .vec_dot_type = vdt}
#define QUANT(nm, bs, blk, vdt, lower) \
    {.name = nm, .block_size = bs, .type_size = sizeof(blk), .is_quantized = true, .supported = true, \
     .to_float = hr_dequantize_row_##lower, .from_float = hr_quantize_row_##lower, .vec_dot_type = vdt}

static const hr_type_traits type_traits[HR_TYPE_COUNT] = {
    [HR_TYPE_F32] = {.name = "f32", .block_size = 1, .type_size = 4, .supported = true,
                     .to_float = hr_dequantize_row_f32, .from_float = hr_quantize_row_f32, .vec_dot_type = HR_TYPE_F32},
    [HR_TYPE_F16] = {.name = "f16", .block_size = 1, .type_size = 2, .supported = true,
                     .to_float = hr_dequantize_row_f16, .from_float = hr_quantize_row_f16, .vec_dot_type = HR_TYPE_F16},
    [HR_TYPE_BF16] = {.name = "bf16", .block_size = 1, .type_size = 2, .supported = true,
                      .to_float = hr_dequantize_row_bf16, .from_float = hr_quantize_row_bf16, .vec_dot_type = HR_TYPE_BF16},
    [HR_TYPE_Q4_0] = QUANT("q4_0", HR_QK4_0, hr_block_q4_0, HR_TYPE_Q8_0, q4_0),
    [HR_TYPE_Q4_1] = QUANT("q4_1", HR_QK4_1, hr_block_q4_1, HR_TYPE_Q8_1, q4_1),
    [HR_TYPE_Q5_0] = QUANT("q5_0", HR_QK5_0, hr_block_q5_0, HR_TYPE_Q8_0, q5_0),
    [HR_TYPE_Q5_1] = QUANT("q5_1", HR_QK5_1, hr_block_q5_1, HR_TYPE_Q8_1, q5_1),
    [HR_TYPE_Q8_0] = QUANT("q8_0", HR_QK8_0, hr_block_q8_0, HR_TYPE_Q8_0, q8_0),
    [HR_TYPE_Q8_1] = QUANT("q8_1", HR_QK8_1, hr_block_q8_1, HR_TYPE_Q8_1, q8_1),
    [HR_TYPE_Q2_K] = QUANT("q2_K", HR_QK_K, hr_block_q2_K, HR_TYPE_Q8_K, q2_K),
    [HR_TYPE_Q3_K] = QUANT("q3_K", HR_QK_K, hr_block_q3_K, HR_TYPE_Q8_K, q3_K),
    [HR_TYPE_Q4_K] = QUANT("q4_K", HR_QK_K, hr_block_q4_K, HR_TYPE_Q8_K, q4_K),
    [HR_TYPE_Q5_K] = QUANT("q5_K", HR_QK_K, hr_block_q5_K, HR_TYPE_Q8_K, q5_K),
    [HR_TYPE_Q6_K] = QUANT("q6_K", HR_QK_K, hr_block_q6_K, HR_TYPE_Q8_K, q6_K),
    [HR_TYPE_Q8_K] = QUANT("q8_K", HR_QK_K, hr_block_q8_K, HR_TYPE_Q8_K, q8_K),
    /* Integer and f64 tensors can be stored and read, not computed with. */
    [HR_TYPE_I8] = {.name = "i8", .block_size = 1, .type_size = 1},
    [HR_TYPE_I16] = {.name = "i16", .block_size = 1, .type_size = 2},
    [HR_TYPE_I32] = {.name = "i32", .block_size = 1, .type_size = 4},
    [HR_TYPE_I64] = {.name = "i64", .block_size = 1, .type_size = 8},
    [HR_TYPE_F64] = {.name = "f64", .block_size = 1, .type_size = 8},
};

const hr_type_traits *hr_type_traits_get(uint32_t type) {
    if (type >= HR_TYPE_COUNT || type_traits[type].name == NULL) return NULL;
    return &type_traits[type];
}

const char *hr_type_name(uint32_t type) {
    const hr_type_traits *t = hr_type_traits_get(type);
    return t ? t->name : "unknown";
}

bool hr_type_from_name(const char *name, hr_type *out) {
    for (uint32_t i = 0; i < HR_TYPE_COUNT; i++) {
        if (type_traits[i].name && !strcasecmp(type_traits[i].name, name)) {
            *out = (hr_type)i;
            return true;
        }
    }
    return false;
}

size_t hr_row_size(hr_type type, int64_t n) {
    const hr_type_traits *t = hr_type_traits_get(type);
    if (!t || n < 0 || n % t->block_size) return 0;
    return (size_t)(n / t->block_size) * t->type_size;
}

/* IEEE binary16 <-> binary32, round to nearest even, NaN/Inf preserved. */
float hr_f16_to_f32(hr_f16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { mant <<= 1; e++; } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        /* NaNs come out quiet, keeping their payload: ggml's conversion passes
         * them through a float multiply, which quiets signalling NaNs */
        bits = sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

hr_f16 hr_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx > 0x7f800000u) return (hr_f16)(sign | 0x7e00); /* NaN: payload dropped, as ggml */
    if (absx >= 0x477ff000u) return (hr_f16)(sign | 0x7c00);                        /* overflow to inf */
    if (absx < 0x38800000u) {                                                         /* subnormal or zero */
        if (absx < 0x33000000u) return (hr_f16)sign;
        uint32_t e = absx >> 23, m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (hr_f16)(sign | r);
    }
    uint32_t r = absx - 0x38000000u; /* rebias exponent */
    uint32_t lsb = (r >> 13) & 1;
    r += 0xfff + lsb;
    return (hr_f16)(sign | (r >> 13));
}

float hr_bf16_to_f32(hr_bf16 h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

hr_bf16 hr_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000u) return (hr_bf16)((x >> 16) | 64); /* quiet NaN, as ggml */
    return (hr_bf16)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}
