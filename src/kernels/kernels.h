/*
 * Compute kernels, one implementation per ISA, chosen at run time.
 *
 * A weight row of type T is multiplied with an activation row that was first
 * converted to hr_type_traits_get(T)->vec_dot_type (F32 for F32, F16 for F16,
 * BF16 for BF16, Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the
 * K-quants), exactly as ggml does, so that results agree with llama.cpp.
 */
#ifndef HR_KERNELS_H
#define HR_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"
#include "tensor/types.h"

/* *s = dot(x, y) over n elements; x is a weight row of the table's type, y an
 * activation row in that type's vec_dot_type. n is a multiple of the block size. */
typedef void (*hr_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);
/* out[t * out_stride + r] = dot(weight row r, activation row t) for r < nr and
 * t < nt, where weight row r starts w_stride bytes after row r - 1 and
 * activation row t x_stride bytes after t - 1 (activations in the weight
 * type's vec_dot_type). One call covers a tile, so each weight block is
 * unpacked once for several tokens: the prompt-processing path. Results are
 * bit-identical to vec_dot of the same table for every pair. */
typedef void (*hr_gemm_fn)(int64_t n, int nr, int nt, const void *w, size_t w_stride, const void *x, size_t x_stride,
                           float *out, size_t out_stride);
/* Weights repacked once at load for a matrix unit: HR_PACK_ROWS consecutive
 * rows form a group, stored block by block (packed_block_bytes[T] bytes per
 * block of the group) in the layout the unit's kernel reads.
 * pack: rows 0..HR_PACK_ROWS-1 of w (w_stride bytes apart, n elements each)
 * into dst, (n / block size) * packed_block_bytes bytes.
 * gemm_packed: gemm's contract, with w the packed groups of the nr rows (nr a
 * multiple of HR_PACK_ROWS). Used for every token count, one included, so a
 * packed weight gives the same bits batched or alone. */
#define HR_PACK_ROWS 16
typedef void (*hr_pack_fn)(int64_t n, const void *w, size_t w_stride, void *dst);
typedef void (*hr_gemm_packed_fn)(int64_t n, int nr, int nt, const void *w, const void *x, size_t x_stride,
                                  float *out, size_t out_stride);
/* x[i] = exp(x[i] - max) for i < n, in place; returns the sum of the results,
 * grouped as ggml's vector softmax on this ISA groups it (float lanes, the
 * blocks added in double). */
typedef double (*hr_exp_sum_fn)(float *x, int64_t n, float max);
/* g[i] = silu(g[i]) * u[i] = g / (1 + exp(-g)) * u, ggml's SwiGLU. */
typedef void (*hr_swiglu_fn)(int64_t n, float *g, const float *u);
/* x[i] *= s for i < n, returning the largest product (-inf when n is 0 or
 * every product is NaN): the scaled scores of a softmax and their maximum. */
typedef float (*hr_scale_max_fn)(float *x, int64_t n, float s);
/* x[i] *= s for i < n. */
typedef void (*hr_scale_fn)(float *x, int64_t n, float s);
/* x[i] rounded to F16 (to nearest even) and widened back, in place. */
typedef void (*hr_round_f16_fn)(float *x, int64_t n);
/* Attention's weighted sum of F16 value rows: out[q * out_stride + d] +=
 * w[q * w_stride + i] * v_i[d] for i < npos in position order and d < n,
 * each as one fused multiply-add; v_i starts i * v_stride
 * bytes after v. Accumulates, so a ring buffer's two spans can follow each
 * other. */
typedef void (*hr_wsum_f16_fn)(int64_t n, int nq, int npos, const float *w, size_t w_stride, const hr_f16 *v,
                               size_t v_stride, float *out, size_t out_stride);
/* The same weighted sum of F32 rows (the Mamba-2 scan's products, in the
 * order ggml's scalar loops would take), one fused multiply-add per term. */
typedef void (*hr_wsum_f32_fn)(int64_t n, int nq, int npos, const float *w, size_t w_stride, const float *v,
                               size_t v_stride, float *out, size_t out_stride);
/* The same weighted sum of Q8_0 rows (a quantized KV cache's values): each
 * value widened exactly (its block scale times its 8-bit integer) and added
 * with one fused multiply-add. n is a multiple of 32; v_i starts at a block. */
typedef void (*hr_wsum_q8_0_fn)(int64_t n, int nq, int npos, const float *w, size_t w_stride, const void *v,
                                size_t v_stride, float *out, size_t out_stride);
/* Converts n floats to an activation row of the given type (Q8_0, Q8_1, Q8_K, F16, BF16, F32). */
typedef void (*hr_quantize_row_fn)(const float *x, void *y, int64_t n);

typedef enum hr_isa {
    HR_ISA_SCALAR = 0,
    HR_ISA_AVX2,       /* AVX2 + FMA + F16C */
    HR_ISA_AVX512,     /* AVX-512 F/BW/DQ/VL */
    HR_ISA_AVX512VNNI, /* AVX-512 with VNNI */
    HR_ISA_AMX,        /* AVX-512 VNNI + AMX-INT8 tiles (and the OS's permission to use them) */
    HR_ISA_NEON,       /* ARMv8 NEON (the x86 ISAs above are consecutive, AVX2..AMX) */
    HR_ISA_NEON_DOTPROD,
} hr_isa;

typedef struct hr_kernels {
    hr_isa isa;
    const char *isa_name;                          /* "scalar", "avx2", ... */
    hr_vec_dot_fn vec_dot[HR_TYPE_COUNT];          /* indexed by weight type; NULL if unsupported */
    hr_quantize_row_fn quantize_row[HR_TYPE_COUNT]; /* indexed by activation type */
    hr_gemm_fn gemm[HR_TYPE_COUNT];                /* indexed by weight type; NULL: use vec_dot per pair */
    /* Where a gemm wants its activations in another layout than vec_dot's:
     * the converter (indexed by weight type; NULL: quantize_row of the
     * vec_dot_type) and the storage type of its rows. F16 weights take F32
     * rows holding F16-rounded values: the same numbers, widened once per
     * token instead of once per (row, token). */
    hr_quantize_row_fn gemm_quantize[HR_TYPE_COUNT];
    hr_type gemm_act_type[HR_TYPE_COUNT];
    bool gemm_one_token[HR_TYPE_COUNT]; /* the gemm is also the faster matrix-vector product */
    /* Attention's scores over a cache of this type (a few queries against
     * many short key rows), with gemm's arguments and activation rows: equal
     * to vec_dot within float rounding (its lanes summed in another order),
     * not bit for bit. NULL: use gemm. */
    hr_gemm_fn scores[HR_TYPE_COUNT];
    hr_pack_fn pack[HR_TYPE_COUNT]; /* NULL: this ISA reads the type as stored */
    size_t packed_block_bytes[HR_TYPE_COUNT];
    hr_gemm_packed_fn gemm_packed[HR_TYPE_COUNT];
    hr_exp_sum_fn exp_sum;
    hr_swiglu_fn swiglu;
    hr_wsum_f16_fn wsum_f16;
    hr_wsum_f32_fn wsum_f32;
    hr_wsum_q8_0_fn wsum_q8_0;
    hr_round_f16_fn round_f16;
    hr_scale_max_fn scale_max;
    hr_scale_fn scale;
} hr_kernels;

/* Bytes of one packed group (HR_PACK_ROWS rows of n elements of type t). */
static inline size_t hr_packed_group_bytes(const hr_kernels *k, hr_type t, int64_t n) {
    return (size_t)(n / hr_type_traits_get(t)->block_size) * k->packed_block_bytes[t];
}

/* The activation row type a gemm of weight type t reads. */
static inline hr_type hr_gemm_act_type(const hr_kernels *k, hr_type t) {
    return k->gemm_quantize[t] ? k->gemm_act_type[t] : hr_type_traits_get(t)->vec_dot_type;
}

/* The converter producing those rows. */
static inline hr_quantize_row_fn hr_gemm_act_quantizer(const hr_kernels *k, hr_type t) {
    return k->gemm_quantize[t] ? k->gemm_quantize[t] : k->quantize_row[hr_type_traits_get(t)->vec_dot_type];
}

/* Fills k with the best kernels this CPU supports. When override is non-NULL
 * (normally getenv("HEARTH_ISA"): "scalar", "avx2", "avx512", "avx512vnni",
 * "amx", "neon", "neon-dotprod") that ISA is used instead, and asking for one the CPU
 * or the build lacks is an error (HEARTH_ERR_UNSUPPORTED; an unknown name is
 * HEARTH_ERR_INVALID). NULL, "" and "auto" mean detect. Every ISA's table has
 * every type: what an ISA does not vectorise falls back to the next narrower
 * ISA's kernel, down to scalar. SIMD activation quantizers write the same bytes
 * as the scalar (ggml reference) ones; vec_dot results differ from scalar only
 * by float summation order. */
hearth_status hr_kernels_select(const char *override, hr_kernels *k, hearth_error *err);

/* The scalar kernels, always available (tests compare every ISA with these). */
void hr_kernels_scalar(hr_kernels *k);

#define HR_ISA_COUNT 7 /* number of hr_isa values */

/* Fills k with one given ISA's kernels; an error when the CPU or build lacks it. */
hearth_status hr_kernels_for_isa(hr_isa isa, hr_kernels *k, hearth_error *err);

/* Whether this build contains the ISA and the running CPU (and OS) supports it. */
bool hr_isa_available(hr_isa isa);

/* "scalar", "avx2", "avx512", "avx512vnni", "amx", "neon", "neon-dotprod"; "unknown" otherwise. */
const char *hr_isa_name(hr_isa isa);

/* Best ISA the running CPU supports (and this build contains). */
hr_isa hr_isa_detect(void);

#endif
