/*
 * Nemotron-H (llama.cpp's nemotron_h): each layer is one of a Mamba-2 mixer,
 * an attention block without rope, or a squared-ReLU MLP, as the per-layer
 * head_count_kv and feed_forward_length arrays say (both 0: Mamba-2), each
 * behind an RMSNorm with a residual connection.
 */
#ifndef HR_MODELS_NEMOTRON_H_H
#define HR_MODELS_NEMOTRON_H_H

#include "models/model.h"
#include "models/wload.h"

typedef enum { HR_NH_MAMBA, HR_NH_ATTN, HR_NH_FFN } hr_nh_kind;

typedef struct hr_nh_layer {
    hr_nh_kind kind;
    int32_t n_ff;
    hr_weight ssm_in, ssm_out;
    const float *conv, *conv_b; /* [conv_dim][d_conv], [conv_dim] or NULL */
    const float *dt_b, *a, *d;  /* [n_head] */
    const float *norm;          /* [d_inner], RMS-normalised per group */
} hr_nh_layer;

typedef struct hr_nemotron_model {
    int32_t d_conv, d_inner, d_state, n_head, n_group, conv_dim, d_in_proj, head_dim;
    int32_t n_recurrent;
    hr_nh_layer *layers;
    hr_vec_pool pool;
} hr_nemotron_model;

/* Fills m->hp from the per-layer metadata (in place of the llama family's reader). */
hearth_status hr_nemotron_h_hparams(hearth_model *m, hearth_error *err);
/* Layer tensors into m->nemotron and m->layers. */
hearth_status hr_nemotron_h_load(hearth_model *m, hearth_error *err);
void hr_nemotron_h_free(hearth_model *m);

void hr_nemotron_h_forward(hearth_session *s, const int32_t *tokens, int n, float *all);

#endif
