/* Internal interfaces between the engine's files (loader, session, forward pass). */
#ifndef HR_MODELS_MODEL_INTERNAL_H
#define HR_MODELS_MODEL_INTERNAL_H

#include <stdatomic.h>

#include "models/model.h"

/* Tokenizer of the file (m->tokenizer), NULL when the file has no tokenizer.ggml.* metadata. */
hearth_status hr_model_load_tokenizer(hearth_model *m, hearth_error *err);
void hr_model_free_tokenizer(hearth_model *m);

/* Activation buffers for matrix products: one per distinct vec_dot_type in a call. */
#define HR_MM_MAX_W 3
typedef struct hr_mm_scratch {
    void *buf[HR_MM_MAX_W];
    size_t cap; /* bytes of each buffer */
} hr_mm_scratch;

/* Bytes of each scratch buffer for n_tok rows of at most max_in elements. */
size_t hr_mm_scratch_bytes(int n_tok, int64_t max_in);

/* out[i][t][r] = dot(w[i] row r, x row t) for nw weights sharing the input length.
 * x: n_tok rows of w[0]->n_in floats. Activations are converted once to each
 * weight's vec_dot_type (F16 rounding, Q8_0/Q8_K quantization, as ggml). */
void hr_matmul(const hearth_model *m, hr_mm_scratch *sc, int nw, const hr_weight *const *w, const float *x,
               int n_tok, float *const *out);

/* A large buffer read end to end at every step, on 2 MiB pages (session.c). */
void *hr_alloc_huge(size_t n);

/* Repacks the weights the kernels want in another layout (models/wpack.c), into
 * m->packed; nothing when the ISA reads every type as stored. Needs m->pool. */
hearth_status hr_pack_weights(hearth_model *m, hearth_error *err);

struct hearth_session {
    hearth_model *m;
    int32_t n_ctx, n_past, n_batch;
    hearth_cache_type cache_type;
    hr_type kv_type;
    size_t kv_row_bytes; /* one position of one layer: n_head_kv * head_dim elements */
    uint8_t *k_cache, *v_cache; /* [n_layer][n_ctx][kv_row_bytes] */
    /* Scratch, sized for n_batch tokens at session creation. */
    float *x, *xn, *q, *k, *v, *att, *gate, *up, *rope;
    float *logits;   /* n_vocab, after the last token */
    bool has_logits;
    float *attn_scratch; /* per thread, for Q queries of a unit: Q * n_ctx scores, Q * head_dim outputs, Q * head_dim * 4 bytes of converted q */
    size_t attn_scratch_stride;
    hr_mm_scratch mm;
    struct hr_moe_scratch *moe; /* arch->moe only */
    struct hr_qwen35_session *qwen35; /* arch->gdn only: recurrent state and scratch */
    struct hr_gemma_state *gemma; /* per-layer KV of gemma models (src/models/gemma.h) */
};

/* One forward pass over n <= n_batch tokens at positions n_past.. ; writes the
 * logits of the last token to s->logits, and of every token to all (n * n_vocab) when non-NULL. */
void hr_llama_forward(hearth_session *s, const int32_t *tokens, int n, float *all);

/* Type used in the KV cache for a cache type. */
hr_type hr_cache_hr_type(hearth_cache_type t);

/* Steps of hr_llama_forward, exposed for decoding several sessions in one pass
 * (multi_decode.c). store_kv and attention use the session's own k/v/q/att
 * scratch rows 0..n-1 at positions pos0.. */
void hr_llama_rmsnorm(const float *x, const float *w, float *y, int n, float eps);
void hr_llama_rope_cache(const hearth_model *m, int64_t pos, float *cache);
void hr_llama_rope_apply(const hearth_model *m, const float *cache, float *x);
void hr_llama_add_bias(float *y, const float *b, int n_tok, int64_t n);
void hr_llama_store_kv(hearth_session *s, int layer, int n, int pos0);
void hr_llama_attention(hearth_session *s, int layer, int n, int pos0);
/* hr_llama_attention for several sessions (cnt[i] new rows in each one's q,
 * at its n_past), their units handed out together. */
#define HR_ATT_MULTI_MAX 16
void hr_llama_attention_multi(hearth_session *const *ss, int layer, const int *cnt, int ns);
/* Tokens per unit of attention work; the per-thread attention scratch holds
 * that many tokens' queries (times the heads per KV head). */
int hr_llama_att_tokens_per_unit(const hr_hparams *hp);
/* NeoX-ordered RoPE (pairs i, i + n_rot/2) from a cos/sin cache, as the llama family applies it. */
void hr_rope_neox(int n_rot, const float *cache, float *x);
/* Causal attention of n new tokens at positions pos0.. over a layer's cache
 * (kc, vc: n_ctx rows of s->kv_row_bytes in s->kv_type), queries and outputs
 * laid out n x n_head x head_dim, with a per-thread scratch of
 * hr_attention_scratch_floats floats every scratch_stride floats. */
void hr_attention(hearth_session *s, const float *q, float *att, const uint8_t *kc, const uint8_t *vc, float *scratch,
                  size_t scratch_stride, int n, int pos0);
size_t hr_attention_scratch_floats(const hr_hparams *hp, int32_t n_ctx);

#endif
