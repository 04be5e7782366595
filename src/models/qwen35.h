/*
 * Qwen 3.5 (llama.cpp's qwen35): a stack of Gated DeltaNet layers with a
 * gated full-attention layer at every full_attention_interval-th position
 * (or as attention.recurrent_layers says), each followed by a SwiGLU FFN.
 * Recurrent layers keep a per-sequence state (a short-convolution window
 * and one S_v x S_v matrix per value head) beside the attention layers'
 * KV cache.
 */
#ifndef HR_MODELS_QWEN35_H
#define HR_MODELS_QWEN35_H

#include "models/model.h"
#include "models/wload.h"

typedef struct hr_gdn_layer {
    bool recurrent;
    hr_weight wqkv, wz, wbeta, walpha, wout;
    const float *conv;    /* [conv_dim][d_conv] */
    const float *dt_bias; /* [n_v_heads] */
    const float *a;       /* [n_v_heads]: -exp(A_log) */
    const float *norm;    /* [head_v_dim] */
} hr_gdn_layer;

typedef struct hr_qwen35_model {
    int32_t d_conv, d_inner, d_state, n_k_heads, n_v_heads;
    int32_t head_v_dim, conv_dim;
    int32_t rope_sections[4];
    int32_t n_recurrent;
    hr_gdn_layer *layers;
    hr_vec_pool pool;
} hr_qwen35_model;

/* Hyperparameters and tensors into m->qwen35 and m->layers (attention and FFN weights). */
hearth_status hr_qwen35_load(hearth_model *m, hearth_error *err);
void hr_qwen35_free(hearth_model *m);

/* Layers with a KV cache (attention layers): n_layer for the llama family. */
int32_t hr_model_kv_layers(const hearth_model *m);

typedef struct hr_qwen35_session hr_qwen35_session;
hearth_status hr_qwen35_session_new(hearth_session *s, hearth_error *err);
void hr_qwen35_session_free(hr_qwen35_session *q);
/* Zeroes the recurrent state (a new sequence). */
void hr_qwen35_session_reset(hr_qwen35_session *q);

void hr_qwen35_forward(hearth_session *s, const int32_t *tokens, int n, float *all);

#endif
