/*
 * Gemma 3 and Gemma 4 (llama.cpp's gemma3 / gemma4 architectures): their own
 * loader, per-layer KV storage and forward pass, hooked into the engine's
 * model and session where m->gemma is non-NULL.
 *
 * Layers differ from one another (sliding-window or global attention, head
 * size, RoPE base and factors, FFN width, KV shared with an earlier layer),
 * so every per-layer fact lives in hr_gemma_layer. Sliding-window layers keep
 * only a ring of the last positions they can see; global layers keep n_ctx.
 */
#ifndef HR_MODELS_GEMMA_H
#define HR_MODELS_GEMMA_H

#include "models/model.h"

typedef struct hr_gemma_layer {
    bool swa;
    int n_head, n_head_kv, head_dim, n_rot, n_ff;
    int kv_src; /* layer whose KV this layer reads: itself, or an earlier one (Gemma 4 shared KV) */
    float rope_base, rope_scale;
    const float *rope_freqs; /* Gemma 4 global layers: proportional RoPE factors [n_rot/2] */
    const float *attn_norm, *q_norm, *k_norm, *attn_post_norm, *ffn_norm, *ffn_post_norm;
    hr_weight wq, wk, wv, wo, gate, up, down; /* wv.data NULL: V is K's projection (Gemma 4) */
    float out_scale;                          /* layer_output_scale, 1 when absent */
    hr_weight ple_gate, ple_proj;             /* per-layer embedding (Gemma 4 E2B/E4B) */
    const float *ple_post_norm;
    /* Gemma 4 expert layers (26B-A4B; experts in m->moe): the dense FFN above runs beside the
     * experts, the router reads the unweighted norm of the residual times router_scale. */
    bool moe;
    const float *router_scale, *moe_pre_norm, *ffn_post_norm_1, *moe_post_norm;
} hr_gemma_layer;

typedef struct hr_gemma {
    bool v4;          /* gemma4 */
    int n_swa;        /* sliding window (keys a query sees, itself included); 0: none */
    float q_scale;    /* Gemma 3 scales Q before attention (kq scale 1) */
    float kq_scale;   /* Gemma 4: f_attention_scale = 1 */
    float softcap;    /* final logit soft-capping, 0 when off */
    int n_embd_ple;   /* per-layer embedding width, 0 when absent */
    hr_weight ple_embd, ple_model_proj;
    const float *ple_proj_norm;
    hr_gemma_layer *layers;
    float *gelu; /* ggml's GELU table: f16 bits of x -> f16-rounded gelu(x), as float */
    float **owned;
    size_t n_owned, cap_owned;
} hr_gemma;

typedef struct hr_gemma_state hr_gemma_state;

/* Reads hyperparameters and tensors of a gemma3/gemma4 file into m (m->gguf, m->arch and m->kernels set). */
hearth_status hr_gemma_load(hearth_model *m, hearth_error *err);
void hr_gemma_free(hr_gemma *g);

/* KV bytes of a session of n_ctx positions processing batches of up to n_batch tokens. */
uint64_t hr_gemma_kv_bytes(const hearth_model *m, int32_t n_ctx, int32_t n_batch, hearth_cache_type t);

/* Allocates the per-layer KV storage and scratch of s (s->n_ctx, n_batch, kv_type set). */
hearth_status hr_gemma_session_init(hearth_session *s, hearth_error *err);
void hr_gemma_state_free(hr_gemma_state *st);
/* Whether the session can go back to n_keep positions: sliding-window layers must still hold the window. */
bool hr_gemma_can_truncate(const hearth_session *s, int32_t n_keep);

void hr_gemma_forward(hearth_session *s, const int32_t *tokens, int n, float *all);

#endif
