/*
 * Which type each tensor gets when a model is quantized to a "file type",
 * following llama.cpp's llama-quant.cpp so that `hearth quantize` and
 * `llama-quantize` make the same choices (same tensors, same types, same
 * general.file_type), for the file types hearth can write.
 */
#ifndef HR_QUANTIZE_QUANT_MIX_H
#define HR_QUANTIZE_QUANT_MIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor/types.h"

/* llama.cpp's LLAMA_FTYPE numbers, stored as general.file_type. */
typedef enum hr_ftype {
    HR_FTYPE_ALL_F32 = 0,
    HR_FTYPE_MOSTLY_F16 = 1,
    HR_FTYPE_MOSTLY_Q4_0 = 2,
    HR_FTYPE_MOSTLY_Q4_1 = 3,
    HR_FTYPE_MOSTLY_Q8_0 = 7,
    HR_FTYPE_MOSTLY_Q5_0 = 8,
    HR_FTYPE_MOSTLY_Q5_1 = 9,
    HR_FTYPE_MOSTLY_Q2_K = 10,
    HR_FTYPE_MOSTLY_Q3_K_S = 11,
    HR_FTYPE_MOSTLY_Q3_K_M = 12,
    HR_FTYPE_MOSTLY_Q4_K_S = 14,
    HR_FTYPE_MOSTLY_Q4_K_M = 15,
    HR_FTYPE_MOSTLY_Q5_K_S = 16,
    HR_FTYPE_MOSTLY_Q5_K_M = 17,
    HR_FTYPE_MOSTLY_Q6_K = 18,
    HR_FTYPE_MOSTLY_BF16 = 32,
} hr_ftype;

/* Parses a file-type name, case-insensitive: a tensor type (f32 f16 bf16 q8_0
 * q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K; q3_K/q4_K/q5_K mean llama.cpp's
 * "_S" mixtures, which are mostly that type) or a mixture (Q3_K_S Q3_K_M
 * Q4_K_S Q4_K_M Q5_K_S Q5_K_M). Returns false if unknown. */
bool hr_ftype_from_name(const char *name, hr_ftype *out);
/* Canonical name ("Q4_K_M"), or NULL for an unknown value. */
const char *hr_ftype_name(hr_ftype ft);
/* The type most tensors get (q4_K for Q4_K_M). */
hr_type hr_ftype_default_type(hr_ftype ft);

/* The facts about the model the choice depends on. */
typedef struct hr_mix_model {
    const char *arch;   /* general.architecture */
    uint32_t n_layer;   /* {arch}.block_count */
    uint32_t n_head;    /* {arch}.attention.head_count (layer 0) */
    uint32_t n_head_kv; /* {arch}.attention.head_count_kv (layer 0), defaults to n_head */
    uint32_t n_expert;  /* {arch}.expert_count, 0 when dense */
} hr_mix_model;

typedef struct hr_mix_tensor {
    const char *name;
    hr_type type; /* current type */
    int64_t ne[4];
} hr_mix_tensor;

/* Orders tensors the way llama.cpp processes them (by layer number, tensors
 * outside layers first, then by name); the choice depends on this order. */
void hr_mix_sort(hr_mix_tensor *t, size_t n);

/* Chooses the new type of each of the n tensors (given in hr_mix_sort order).
 * pure: every quantizable tensor gets the default type (as llama-quantize --pure).
 * Tensors that are not quantized (1-D, norms, ...) keep their type.
 * n_fallback (may be NULL) counts tensors whose row length forced another type. */
void hr_mix_choose(const hr_mix_model *m, hr_ftype ft, bool pure, const hr_mix_tensor *t, size_t n, hr_type *out,
                   int *n_fallback);

/* Whether llama.cpp would quantize this tensor at all (2-D or more, a weight, not a norm, ...). */
bool hr_mix_allows_quantization(const hr_mix_tensor *t);

#endif
