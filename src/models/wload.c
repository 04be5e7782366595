#include "models/wload.h"

#include <stdlib.h>

#include "common/error.h"

void hr_vec_pool_free(hr_vec_pool *pool) {
    for (size_t i = 0; i < pool->n; i++) free(pool->p[i]);
    free(pool->p);
    pool->p = NULL;
    pool->n = 0;
}

hearth_status hr_wl_find(const hearth_model *m, const char *name, bool required, int nd, const int64_t *ne,
                         const hr_gguf_tensor **out, hearth_error *err) {
    *out = NULL;
    const hr_gguf_tensor *t = hr_gguf_find_tensor(m->gguf, name);
    if (!t) return required ? hr_fail(err, HEARTH_ERR_MISSING, "required tensor '%s' is missing", name) : HEARTH_OK;
    for (int i = 0; i < HR_GGUF_MAX_DIMS; i++) {
        int64_t want = i < nd ? ne[i] : 1;
        if (t->ne[i] != want)
            return hr_fail(err, HEARTH_ERR_FORMAT, "tensor '%s' has shape [%lld, %lld, %lld], expected [%lld, %lld, %lld]",
                           name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)ne[0],
                           (long long)(nd > 1 ? ne[1] : 1), (long long)(nd > 2 ? ne[2] : 1));
    }
    *out = t;
    return HEARTH_OK;
}

hearth_status hr_wl_weight(hearth_model *m, const hr_gguf_tensor *t, int64_t n_in, int64_t n_out, hr_weight *w,
                           hearth_error *err) {
    const hr_type_traits *tr = hr_type_traits_get(t->type);
    if (!tr || !tr->supported || !m->kernels.vec_dot[t->type] || !m->kernels.quantize_row[tr->vec_dot_type])
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor '%s' has type %s, which this build cannot compute with",
                       t->name, hr_type_name(t->type));
    if (n_in % tr->block_size)
        return hr_fail(err, HEARTH_ERR_FORMAT, "tensor '%s': row length %lld is not a multiple of the %s block size",
                       t->name, (long long)n_in, tr->name);
    *w = (hr_weight){.name = t->name, .type = t->type, .n_in = n_in, .n_out = n_out,
                     .row_bytes = hr_row_size(t->type, n_in), .data = t->data};
    m->weight_bytes += t->nbytes;
    return HEARTH_OK;
}

hearth_status hr_wl_mat(hearth_model *m, const char *name, bool required, int64_t n_in, int64_t n_out, hr_weight *w,
                        hearth_error *err) {
    *w = (hr_weight){0};
    const hr_gguf_tensor *t;
    int64_t ne[2] = {n_in, n_out};
    hearth_status st = hr_wl_find(m, name, required, 2, ne, &t, err);
    if (st || !t) return st;
    return hr_wl_weight(m, t, n_in, n_out, w, err);
}

hearth_status hr_wl_vec(hearth_model *m, hr_vec_pool *pool, const char *name, bool required, int nd,
                        const int64_t *ne, const float **out, hearth_error *err) {
    *out = NULL;
    const hr_gguf_tensor *t;
    hearth_status st = hr_wl_find(m, name, required, nd, ne, &t, err);
    if (st || !t) return st;
    const hr_type_traits *tr = hr_type_traits_get(t->type);
    if (!tr || !tr->supported || !tr->to_float || tr->block_size != 1)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor '%s' has type %s, expected f32, f16 or bf16", name,
                       hr_type_name(t->type));
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= ne[i];
    float **np = realloc(pool->p, (pool->n + 1) * sizeof *np);
    if (!np) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    pool->p = np;
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for tensor '%s'", name);
    tr->to_float(t->data, v, n);
    pool->p[pool->n++] = v;
    *out = v;
    (void)m;
    return HEARTH_OK;
}
