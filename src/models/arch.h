/*
 * Per-architecture facts, one table row each, so that the loader and the
 * forward pass ask the table instead of switching on names. The facts are
 * those of llama.cpp (src/models/<arch>.cpp and llama_model_rope_type).
 */
#ifndef HR_MODELS_ARCH_H
#define HR_MODELS_ARCH_H

#include <stdbool.h>

typedef enum hr_rope_style {
    HR_ROPE_NORM, /* rotate adjacent pairs (x[2i], x[2i+1]) */
    HR_ROPE_NEOX, /* rotate halves (x[i], x[i + n_rot/2]) */
} hr_rope_style;

typedef struct hr_arch {
    const char *name;         /* general.architecture */
    hr_rope_style rope;
    bool qk_norm;             /* per-head RMSNorm of Q and K before RoPE (attn_q_norm / attn_k_norm) */
    bool rope_freqs;          /* may carry rope_freqs.weight (llama3-style frequency factors) */
    bool yarn_keys;           /* reads rope.scaling.yarn_beta_fast/_slow and yarn_log_multiplier */
    bool attn_temp;           /* reads attention.temperature_scale (llama4-style Q scaling) */
    bool moe;                 /* FFN is a mixture of experts (models/moe.c) */
    bool moe_sigmoid;         /* router gating: sigmoid instead of softmax */
    bool moe_norm_w;          /* top-k weights renormalised to sum 1 */
    bool gdn;                 /* Gated DeltaNet hybrid with its own forward pass (models/qwen35.c) */
    bool mamba2;              /* Mamba-2 hybrid with its own metadata and forward pass (models/nemotron_h.c) */
} hr_arch;

/* Table row for an architecture name; NULL when unsupported. */
const hr_arch *hr_arch_find(const char *name);
/* Comma-separated list of supported names (for error messages). */
const char *hr_arch_supported_list(void);

#endif
