/* Matrix products of mapped weights with a batch of activations.
 * Activations are converted once per call to each weight's vec_dot_type;
 * the rows of all weights are then split into small chunks handed out
 * through an atomic counter, and each chunk of weight rows is dotted with
 * every token while it is in cache. */
#include <stdatomic.h>
#include <string.h>

#include "models/model_internal.h"

#define ROWS_PER_CHUNK 16

size_t hr_mm_scratch_bytes(int n_tok, int64_t max_in) {
    /* The widest activation format besides F32 (used in place) is F16/BF16: 2 bytes per element. */
    return (size_t)n_tok * ((size_t)max_in * 2 + 64) + 64;
}

typedef struct {
    const hr_kernels *kern;
    int nw, n_tok;
    const hr_weight *w[HR_MM_MAX_W];
    const uint8_t *xq[HR_MM_MAX_W];
    size_t xq_stride[HR_MM_MAX_W];
    float *out[HR_MM_MAX_W];
    long chunks[HR_MM_MAX_W];
    long total;
    atomic_long next;
    /* conversion phase */
    const float *x;
    int64_t n_in;
    hr_quantize_row_fn conv[HR_MM_MAX_W];
    uint8_t *conv_dst[HR_MM_MAX_W];
    size_t conv_stride[HR_MM_MAX_W];
    int n_conv;
} mm_job;

static void conv_task(void *ctx, int ith, int nth) {
    (void)ith;
    (void)nth;
    mm_job *j = ctx;
    for (;;) {
        long it = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (it >= (long)j->n_conv * j->n_tok) return;
        int c = (int)(it / j->n_tok), t = (int)(it % j->n_tok);
        j->conv[c](j->x + (size_t)t * j->n_in, j->conv_dst[c] + (size_t)t * j->conv_stride[c], j->n_in);
    }
}

static void mm_task(void *ctx, int ith, int nth) {
    (void)ith;
    (void)nth;
    mm_job *j = ctx;
    for (;;) {
        long c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (c >= j->total) return;
        int wi = 0;
        while (c >= j->chunks[wi]) c -= j->chunks[wi++];
        const hr_weight *w = j->w[wi];
        hr_vec_dot_fn dot = j->kern->vec_dot[w->type];
        int64_t r0 = c * ROWS_PER_CHUNK, r1 = r0 + ROWS_PER_CHUNK;
        if (r1 > w->n_out) r1 = w->n_out;
        const uint8_t *xq = j->xq[wi];
        size_t xs = j->xq_stride[wi];
        float *out = j->out[wi];
        for (int t = 0; t < j->n_tok; t++) {
            const uint8_t *xr = xq + (size_t)t * xs;
            float *o = out + (size_t)t * w->n_out;
            for (int64_t r = r0; r < r1; r++) dot(w->n_in, &o[r], w->data + (size_t)r * w->row_bytes, xr);
        }
    }
}

void hr_matmul(const hearth_model *m, hr_mm_scratch *sc, int nw, const hr_weight *const *w, const float *x,
               int n_tok, float *const *out) {
    mm_job j;
    memset(&j, 0, sizeof j);
    j.kern = &m->kernels;
    j.nw = nw;
    j.n_tok = n_tok;
    j.x = x;
    j.n_in = w[0]->n_in;
    hr_type conv_type[HR_MM_MAX_W];
    for (int i = 0; i < nw; i++) {
        j.w[i] = w[i];
        j.out[i] = out[i];
        j.chunks[i] = (long)((w[i]->n_out + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK);
        j.total += j.chunks[i];
        hr_type vdt = hr_type_traits_get(w[i]->type)->vec_dot_type;
        if (vdt == HR_TYPE_F32) {
            j.xq[i] = (const uint8_t *)x;
            j.xq_stride[i] = (size_t)j.n_in * sizeof(float);
            continue;
        }
        int c = 0;
        while (c < j.n_conv && conv_type[c] != vdt) c++;
        if (c == j.n_conv) {
            conv_type[c] = vdt;
            j.conv[c] = m->kernels.quantize_row[vdt];
            j.conv_dst[c] = sc->buf[c];
            j.conv_stride[c] = hr_row_size(vdt, j.n_in);
            j.n_conv++;
        }
        j.xq[i] = j.conv_dst[c];
        j.xq_stride[i] = hr_row_size(vdt, j.n_in);
    }
    atomic_init(&j.next, 0);
    if (j.n_conv) {
        if (n_tok > 1) hr_threadpool_run(m->pool, conv_task, &j);
        else conv_task(&j, 0, 1);
    }
    atomic_store(&j.next, 0);
    hr_threadpool_run(m->pool, mm_task, &j);
}
