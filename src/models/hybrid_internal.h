/* Internals shared by the recurrent hybrids (qwen35.c, nemotron_h.c): the
 * per-session recurrent state and scratch, and common steps. */
#ifndef HR_MODELS_HYBRID_INTERNAL_H
#define HR_MODELS_HYBRID_INTERNAL_H

#include "models/model_internal.h"
#include "models/qwen35.h"

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
};


float hr_hy_silu(float x);
float hr_hy_sigmoid(float x);
float hr_hy_softplus(float x);
/* ggml_rms_norm (sum of squares in double), times w when w is not NULL. */
void hr_hy_rmsnorm(const float *x, const float *w, float *y, int n, float eps);
/* Causal short convolution of n tokens over cd channels (weights [cd][K],
 * optional bias), sliding the window kept in win [cd][K-1]; SiLU applied.
 * in: rows of stride in_stride. */
void hr_hy_conv(const float *w, const float *bias, int K, int cd, float *win, const float *in, size_t in_stride, int n,
                float *out);
/* Attention layer il over the KV cache, result in s->qwen35->out: Qwen 3.5's
 * gated form (q with its gate, q/k RMSNorm, partial rope) or, when gated is
 * false, plain attention without rope and with optional biases (Nemotron-H). */
void hr_hy_attention(hearth_session *s, int il, const float *xn, int n, bool gated);
void hr_hy_matmul1(const hearth_model *m, hr_mm_scratch *mm, const hr_weight *w, const float *x, int n, float *y);

#endif
