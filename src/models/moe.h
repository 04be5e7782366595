/*
 * Mixture-of-experts feed-forward block (qwen3moe, qwen2moe, and the MoE
 * layers of later hybrids), as llama.cpp's build_moe_ffn defines it: a router
 * matrix, softmax or sigmoid gating, top-k selection, optionally normalised
 * and scaled weights, SwiGLU experts stored as 3-D stacks (only the selected
 * experts' slices are read), and an optional shared expert.
 */
#ifndef HR_MODELS_MOE_H
#define HR_MODELS_MOE_H

#include "models/model.h"
#include "models/wload.h"

typedef enum { HR_MOE_GATE_SOFTMAX, HR_MOE_GATE_SIGMOID } hr_moe_gating;

/* One stack of n_expert matrices of n_out rows of n_in (ggml: {n_in, n_out, n_expert}). */
typedef struct hr_expert_stack {
    hr_weight w;           /* expert 0; n_in/n_out/type/row_bytes hold for every expert */
    size_t expert_bytes;   /* distance between consecutive experts */
} hr_expert_stack;

typedef struct hr_moe_layer {
    hr_weight router;                 /* ffn_gate_inp: n_expert rows of n_embd */
    const float *probs_bias;          /* exp_probs_b: [n_expert] or NULL (selection only) */
    hr_expert_stack gate, up, down;   /* gate and up may be the two halves of one ffn_gate_up_exps stack */
    /* Per-expert output scales of the gate, up and down projections ([n_expert]), NULL when absent. */
    const float *gate_scale, *up_scale, *down_scale;
    /* Shared expert, all absent (data NULL) when the file has none. */
    hr_weight sh_gate, sh_up, sh_down;
    hr_weight sh_router;              /* ffn_gate_inp_shexp: one row; sigmoid gate of the shared expert */
} hr_moe_layer;

typedef struct hr_moe_model {
    int32_t n_expert, n_expert_used, n_ff_exp, n_ff_shexp;
    hr_moe_gating gating;
    bool norm_w;
    float w_scale;           /* 0 or 1: no scaling */
    const float *gelu;       /* GEGLU experts (gemma4): ggml's f16 GELU table (as hr_gemma.gelu); NULL: SwiGLU */
    hr_moe_layer *layers;    /* [n_layer]; layers without MoE have router.data == NULL */
    hr_vec_pool pool;
} hr_moe_model;

/* Reads the expert hyperparameters and every layer's MoE tensors into m->moe. */
hearth_status hr_moe_load(hearth_model *m, hearth_error *err);
void hr_moe_free(hearth_model *m);

typedef struct hr_moe_scratch hr_moe_scratch;
hearth_status hr_moe_scratch_new(const hearth_model *m, int n_batch, hr_moe_scratch **out, hearth_error *err);
void hr_moe_scratch_free(hr_moe_scratch *sc);

/* out[t] = MoE(x[t]) for n tokens of layer il (x: normalised input, n * n_embd). */
void hr_moe_forward(const hearth_model *m, hr_moe_scratch *sc, int il, const float *x, int n, float *out);
/* The same with the router reading router_x instead of x (gemma4 routes on its own normalisation). */
void hr_moe_forward_routed(const hearth_model *m, hr_moe_scratch *sc, int il, const float *x, const float *router_x,
                           int n, float *out);

#endif
