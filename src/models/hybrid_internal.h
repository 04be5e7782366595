/* Internals shared by the recurrent hybrids (qwen35.c, nemotron_h.c): the
 * per-session recurrent state and scratch, and common steps. */
#ifndef HR_MODELS_HYBRID_INTERNAL_H
#define HR_MODELS_HYBRID_INTERNAL_H

#include "models/model_internal.h"
#include "models/qwen35.h"

/* Snapshots kept per session; eval takes two per multi-token call. */
#define HR_HY_CKPT 4
/* A multi-token eval also snapshots this many tokens before its end: chat
 * templates re-render the tail of the last prompt (the generation prompt, e.g.
 * "<|im_start|>assistant\n<think>\n") differently in the next turn's history. */
#define HR_HY_CKPT_TAIL 8

struct hr_qwen35_session {
    float *state;      /* per recurrent layer: conv window [conv_dim][d_conv-1], then S [n_v_heads][S][S] */
    size_t state_floats, per_layer;
    int32_t *state_off; /* [n_layer]: index of the layer's recurrent state, -1 for other layers */
    int32_t *kv_slot;   /* [n_layer]: index of the layer's KV cache, -1 for layers without one */
    float *qg, *q, *k, *v, *att; /* attention */
    float *qkv, *z, *beta, *alpha, *conv, *core; /* delta net; Mamba-2: qkv holds z|xBC|dt, alpha dt */
    float *out, *gate, *up;
    float *rope;       /* [n_batch][n_rot] */
    float *attn_scratch; /* per thread: n_ctx scores + head_dim of dequantized row */
    size_t attn_stride;
    hr_mm_scratch mm;
    /* Snapshots of the whole recurrent state at token positions of the current
     * sequence (prefix reuse: the state cannot be rewound, only restored). */
    float *chunk_ws; /* per thread: workspace of the chunked prompt forms */
    size_t chunk_ws_stride;
    float *ckpt[HR_HY_CKPT];
    int32_t ckpt_pos[HR_HY_CKPT]; /* -1: slot empty */
    uint64_t ckpt_age[HR_HY_CKPT], ckpt_clock;
};

/* Tokens per chunk of the parallel delta rule (llama.cpp's chunk size). */
#define HR_GDN_CHUNK 64
/* Inputs and output of the delta rule for one value head over a chunk. */
typedef struct hr_gdn_io {
    const float *q, *k, *v; /* token t's L2-normalised q, k and its v at + t * stride */
    size_t stride;
    const float *beta, *g; /* token t's write strength and log decay at [t * gstride] */
    size_t gstride;
    float *out; /* token t's output (before the gated norm) at + t * out_stride */
    size_t out_stride;
} hr_gdn_io;
/* Floats of per-thread workspace hr_gdn_chunk needs for state size D. */
size_t hr_gdn_chunk_ws_floats(int D);
/* Floats of one thread's workspace for the chunked Mamba-2 scan (nemotron_h.c). */
struct hr_nemotron_model;
size_t hr_nemotron_chunk_ws_floats(const struct hr_nemotron_model *q);
/* c <= HR_GDN_CHUNK tokens of the gated delta rule in the chunked parallel form,
 * updating the head's state S (rows: value dimensions; [D][D]). */
void hr_gdn_chunk(hr_vec_dot_fn dot, int D, int c, const hr_gdn_io *io, float scale, float *S, float *ws);

/* Saves the recurrent state at s->n_past (silently skipped when out of memory:
 * a missing snapshot only costs recomputation). */
void hr_hy_checkpoint(hearth_session *s);
/* Largest position <= n_keep the state can be brought back to: n_past, a snapshot, or 0. */
int32_t hr_hy_reusable(const hearth_session *s, int32_t n_keep);
/* Brings the state back to position n_keep (one hr_hy_reusable returns) and
 * drops the snapshots after it; false when there is no such position. */
bool hr_hy_restore(hearth_session *s, int32_t n_keep);


float hr_hy_silu(float x);
float hr_hy_sigmoid(float x);
float hr_hy_softplus(float x);
/* ggml_rms_norm (sum of squares in double), times w when w is not NULL. */
void hr_hy_rmsnorm(const float *x, const float *w, float *y, int n, float eps);
/* Causal short convolution of n tokens over cd channels (weights [cd][K],
 * optional bias), sliding the window kept in win [cd][K-1]; SiLU applied.
 * in: rows of stride in_stride. */
void hr_hy_conv(hr_threadpool *pool, const float *w, const float *bias, int K, int cd, float *win, const float *in,
                size_t in_stride, int n, float *out);
/* Attention layer il over the KV cache, result in s->qwen35->out: Qwen 3.5's
 * gated form (q with its gate, q/k RMSNorm, partial rope) or, when gated is
 * false, plain attention without rope and with optional biases (Nemotron-H). */
void hr_hy_attention(hearth_session *s, int il, const float *xn, int n, bool gated);
void hr_hy_matmul1(const hearth_model *m, hr_mm_scratch *mm, const hr_weight *w, const float *x, int n, float *y);

#endif
