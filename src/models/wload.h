/* Tensor lookup helpers for the architectures outside the llama family
 * (MoE stacks, recurrent layers): shapes checked exactly, matrices left
 * mapped, small vectors converted to owned float arrays. */
#ifndef HR_MODELS_WLOAD_H
#define HR_MODELS_WLOAD_H

#include "models/model.h"

/* Float arrays owned by a model extension, freed together. */
typedef struct hr_vec_pool {
    float **p;
    size_t n;
} hr_vec_pool;
void hr_vec_pool_free(hr_vec_pool *pool);

/* A tensor of exactly the shape ne[0..nd) (trailing dims 1); *out NULL when absent and not required. */
hearth_status hr_wl_find(const hearth_model *m, const char *name, bool required, int nd, const int64_t *ne,
                         const hr_gguf_tensor **out, hearth_error *err);
/* A matrix of n_out rows of n_in for hr_matmul; w->data NULL when absent and not required. */
hearth_status hr_wl_mat(hearth_model *m, const char *name, bool required, int64_t n_in, int64_t n_out, hr_weight *w,
                        hearth_error *err);
/* A tensor (any shape) as a weight of rows of ne[0]: stacks pass all their dims. */
hearth_status hr_wl_weight(hearth_model *m, const hr_gguf_tensor *t, int64_t n_in, int64_t n_out, hr_weight *w,
                           hearth_error *err);
/* A tensor of n floats (f32/f16/bf16) of shape ne[0..nd), converted; *out NULL when absent and not required. */
hearth_status hr_wl_vec(hearth_model *m, hr_vec_pool *pool, const char *name, bool required, int nd,
                        const int64_t *ne, const float **out, hearth_error *err);

#endif
