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
#include <string.h>
#include <sys/mman.h>

#include "common/error.h"
#include "models/model_internal.h"

#define MAX_PACKED 8 /* weights per layer that may be packed */

typedef struct {
    const hr_kernels *k;
    hr_weight **w;
    int64_t *groups; /* per weight */
    uint8_t **dst;   /* per weight */
    int n;
} pack_job;

static void pack_range(void *ctx, int64_t g0, int64_t g1, int ith) {
    (void)ith;
    pack_job *j = ctx;
    for (int64_t gg = g0; gg < g1; gg++) {
        int64_t g = gg;
        int wi = 0;
        while (g >= j->groups[wi]) g -= j->groups[wi++];
        const hr_weight *w = j->w[wi];
        const size_t gbytes = (size_t)(w->n_in / hr_type_traits_get(w->type)->block_size) * j->k->packed_block_bytes[w->type];
        j->k->pack[w->type](w->n_in, w->data + (size_t)g * HR_PACK_ROWS * w->row_bytes, w->row_bytes,
                            j->dst[wi] + (size_t)g * gbytes);
    }
}

static bool packable(const hearth_model *m, const hr_weight *w) {
    return w->data && m->kernels.pack[w->type] && m->kernels.gemm_packed[w->type] && w->n_out % HR_PACK_ROWS == 0 &&
           w->n_in % hr_type_traits_get(w->type)->block_size == 0;
}

hearth_status hr_pack_weights(hearth_model *m, hearth_error *err) {
    if (m->arch->gemma || m->arch->gdn || m->arch->mamba2) return HEARTH_OK;
    const int cap = m->hp.n_layer * MAX_PACKED + 1;
    hr_weight **ws = malloc((size_t)cap * sizeof *ws);
    int64_t *groups = malloc((size_t)cap * sizeof *groups);
    uint8_t **dst = malloc((size_t)cap * sizeof *dst);
    if (!ws || !groups || !dst) {
        free(ws), free(groups), free(dst);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    int n = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        hr_layer *L = &m->layers[il];
        hr_weight *cand[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (size_t c = 0; c < sizeof cand / sizeof cand[0]; c++)
            if (packable(m, cand[c])) ws[n++] = cand[c];
    }
    const bool tied = m->output.data == m->tok_embd.data;
    if (!tied && packable(m, &m->output)) ws[n++] = &m->output;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        const hr_weight *w = ws[i];
        groups[i] = w->n_out / HR_PACK_ROWS;
        const size_t gbytes = (size_t)(w->n_in / hr_type_traits_get(w->type)->block_size) * m->kernels.packed_block_bytes[w->type];
        total += (size_t)groups[i] * gbytes;
    }
    hearth_status st = HEARTH_OK;
    if (n) {
        /* 2 MiB pages where the system grants them: a token streams through all of it */
        const size_t huge = (size_t)2 << 20, rounded = (total + huge - 1) / huge * huge;
        m->packed = aligned_alloc(huge, rounded);
#ifdef MADV_HUGEPAGE
        if (m->packed) madvise(m->packed, rounded, MADV_HUGEPAGE);
#endif
        if (!m->packed) {
            st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for %zu bytes of repacked weights", total);
        } else {
            int64_t ng = 0;
            uint8_t *p = m->packed;
            for (int i = 0; i < n; i++) {
                dst[i] = p;
                p += (size_t)groups[i] * (size_t)(ws[i]->n_in / hr_type_traits_get(ws[i]->type)->block_size) *
                     m->kernels.packed_block_bytes[ws[i]->type];
                ng += groups[i];
            }
            pack_job j = {.k = &m->kernels, .w = ws, .groups = groups, .dst = dst, .n = n};
            hr_parallel_for(m->pool, ng, 16, pack_range, &j);
            for (int i = 0; i < n; i++) {
                ws[i]->packed = dst[i];
                hr_gguf_release_range(m->gguf, ws[i]->data, (size_t)ws[i]->n_out * ws[i]->row_bytes);
            }
        }
    }
    free(ws);
    free(groups);
    free(dst);
    return st;
}
