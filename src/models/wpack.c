/*
 * Weights repacked at load for the ISA's matrix unit (kernels.h: pack and
 * gemm_packed; today AMX tiles for q4_K): the tile unit wants 16 rows side
 * by side, 4 bytes at a time, which the stored row-major blocks are not.
 * The copy is made once, into one buffer the model owns, and the mapped
 * pages of the stored rows are then released, so resident memory does not
 * double. Every product of a packed weight, one token or a batch, goes
 * through gemm_packed (matmul.c), so its results do not depend on the batch.
 *
 * Packed: the dense layers' matrices of the llama family (and the output
 * matrix), whose only reader is hr_matmul. Left as stored: experts (read by
 * offset into 3-D stacks), the recurrent families' and Gemma's weights, and
 * an output matrix tied to the embedding (also read row by row).
 */
#include <stdlib.h>

#include "common/error.h"
#include "models/model_internal.h"

#define LAYER_MATRICES 7 /* wq wk wv wo gate up down */

typedef struct {
    const hr_kernels *k;
    const hr_weight *w;
    uint8_t *dst;
} pack_job;

static void pack_range(void *ctx, int64_t g0, int64_t g1, int ith) {
    (void)ith;
    const pack_job *j = ctx;
    const size_t gbytes = hr_packed_group_bytes(j->k, j->w->type, j->w->n_in);
    for (int64_t g = g0; g < g1; g++)
        j->k->pack[j->w->type](j->w->n_in, j->w->data + (size_t)g * HR_PACK_ROWS * j->w->row_bytes, j->w->row_bytes,
                               j->dst + (size_t)g * gbytes);
}

static bool packable(const hearth_model *m, const hr_weight *w) {
    return w->data && m->kernels.pack[w->type] && m->kernels.gemm_packed[w->type] && w->n_out % HR_PACK_ROWS == 0;
}

static size_t packed_bytes(const hearth_model *m, const hr_weight *w) {
    return (size_t)(w->n_out / HR_PACK_ROWS) * hr_packed_group_bytes(&m->kernels, w->type, w->n_in);
}

hearth_status hr_pack_weights(hearth_model *m, hearth_error *err) {
    if (m->arch->gemma || m->arch->gdn || m->arch->mamba2) return HEARTH_OK;
    hr_weight **ws = malloc(((size_t)m->hp.n_layer * LAYER_MATRICES + 1) * sizeof *ws);
    if (!ws) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    int n = 0;
    size_t total = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        hr_layer *L = &m->layers[il];
        hr_weight *cand[LAYER_MATRICES] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (int c = 0; c < LAYER_MATRICES; c++)
            if (packable(m, cand[c])) ws[n++] = cand[c];
    }
    if (m->output.data != m->tok_embd.data && packable(m, &m->output)) ws[n++] = &m->output;
    for (int i = 0; i < n; i++) total += packed_bytes(m, ws[i]);
    if (n && !(m->packed = hr_alloc_huge(total))) {
        free(ws);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for %zu bytes of repacked weights", total);
    }
    uint8_t *p = m->packed;
    for (int i = 0; i < n; i++) {
        pack_job j = {.k = &m->kernels, .w = ws[i], .dst = p};
        hr_parallel_for(m->pool, ws[i]->n_out / HR_PACK_ROWS, 16, pack_range, &j);
        ws[i]->packed = p;
        p += packed_bytes(m, ws[i]);
        hr_gguf_release_range(m->gguf, ws[i]->data, (size_t)ws[i]->n_out * ws[i]->row_bytes);
    }
    free(ws);
    return HEARTH_OK;
}
