/*
 * Internal model representation: hyperparameters read from GGUF metadata,
 * weights as pointers into the memory-mapped file (never copied), small
 * 1-D tensors (norms, biases, rope factors) converted to owned float arrays.
 */
#ifndef HR_MODELS_MODEL_H
#define HR_MODELS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "hearth.h"
#include "kernels/kernels.h"
#include "models/arch.h"
#include "runtime/threadpool.h"

typedef struct hr_weight {
    const char *name;
    hr_type type;
    int64_t n_in;     /* ne[0]: row length */
    int64_t n_out;    /* ne[1]: number of rows */
    size_t row_bytes;
    const uint8_t *data; /* into the mapping */
    /* The rows repacked for the ISA's matrix unit (kernels.h: pack), into
     * hearth_model.packed; NULL when the weight is read as stored. */
    const uint8_t *packed;
} hr_weight;

typedef struct hr_layer {
    const float *attn_norm;
    hr_weight wq, wk, wv, wo;
    const float *bq, *bk, *bv, *bo; /* optional biases (NULL when absent) */
    const float *q_norm, *k_norm;   /* [head_dim], qk_norm architectures */
    const float *ffn_norm;
    hr_weight gate, up, down;
    const float *gate_b, *up_b, *down_b;
} hr_layer;

struct hr_moe_model; /* models/moe.h */

typedef enum { HR_ROPE_SCALING_NONE, HR_ROPE_SCALING_LINEAR, HR_ROPE_SCALING_YARN } hr_rope_scaling;

typedef struct hr_hparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_ff;
    int32_t n_head, n_head_kv, head_dim, n_rot;
    float rms_eps;
    float kq_scale;
    /* RoPE, resolved as llama.cpp resolves its context parameters. */
    hr_rope_scaling rope_scaling;
    float rope_freq_base, rope_freq_scale;
    int32_t n_ctx_orig_yarn;
    float yarn_ext_factor, yarn_beta_fast, yarn_beta_slow, rope_attn_factor; /* rope_attn_factor: mscale passed to rope */
    float yarn_corr_dims[2];
    /* Attention temperature (llama4-style, mistral3): 0 when off. */
    float attn_temp_scale;
    int32_t attn_temp_floor;
} hr_hparams;

/* hearth_model.att_split_min's default: from about this many positions a
 * token's attention reads the cache faster in whole rows (all KV heads) than
 * a KV head's slice per thread. */
#define HR_ATT_SPLIT_MIN 1024

struct hearth_model {
    hr_gguf *gguf;
    const hr_arch *arch;
    hr_hparams hp;
    hr_weight tok_embd, output;
    const float *output_norm, *output_b;
    const float *rope_freqs; /* [n_rot/2] or NULL */
    hr_layer *layers;
    hr_kernels kernels;
    hr_threadpool *pool;
    struct hr_tokenizer *tokenizer; /* NULL when the file has none */
    float *f16_table; /* f16 bits -> float, for the cache */
    float **owned;    /* float arrays to free */
    size_t n_owned, cap_owned;
    size_t weight_bytes;
    struct hr_moe_model *moe; /* expert layers (arch->moe), else NULL */
    struct hr_qwen35_model *qwen35; /* recurrent layers (arch->gdn), else NULL */
    struct hr_nemotron_model *nemotron; /* Mamba-2 hybrid layers (arch->mamba2), else NULL */
    struct hr_gemma *gemma; /* gemma3/gemma4 facts (src/models/gemma.h), NULL otherwise */
    /* A token's attention over at least this many positions is split by
     * position instead of by KV head (llama_family.c); tests lower it. */
    int32_t att_split_min;
    uint8_t *packed; /* owned: every packed weight's rows (models/wpack.c) */
};

#endif
