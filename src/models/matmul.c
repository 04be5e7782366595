/* Matrix products of mapped weights with a batch of activations.
 * Activations are converted once per call to each weight's vec_dot_type;
 * the rows of all weights are then split into small chunks handed out
 * through an atomic counter, and each chunk of weight rows is dotted with
 * every token while it is in cache, through the ISA's tiled kernel when it
 * has one for the weight type (bit-identical to the per-pair vec_dot). */
#include <stdbool.h>
#include <string.h>

#include "models/model_internal.h"

/* Rows per chunk: all of a batch's activations pass over a chunk once, so
 * bigger chunks mean fewer passes (the chunk's weights stay in L2: 64 rows of
 * 3072 F16 values are 384 KiB); and each thread's reads run sequentially
 * over a chunk, which the prefetchers follow (16-row chunks alternating
 * between two threads: Qwen3-0.6B Q4_K_M generation 33 vs 37-40 tok/s). */
#define ROWS_PER_CHUNK 64
#define PREFETCH_BYTES (16 << 10)

size_t hr_mm_scratch_bytes(int n_tok, int64_t max_in) {
    /* The widest converted activation format is a gemm's F32 row (F16 weights): 4 bytes per element. */
    return (size_t)n_tok * ((size_t)max_in * 4 + 64) + 64;
}

typedef struct {
    const hr_kernels *kern;
    int nw, n_tok;
    const hr_weight *w[HR_MM_MAX_W];
    const uint8_t *xq[HR_MM_MAX_W];
    size_t xq_stride[HR_MM_MAX_W];
    float *out[HR_MM_MAX_W];
    long chunks[HR_MM_MAX_W];
    bool tiled[HR_MM_MAX_W];
    long total;
    /* conversion phase */
    const float *x;
    int64_t n_in;
    hr_quantize_row_fn conv[HR_MM_MAX_W];
    uint8_t *conv_dst[HR_MM_MAX_W];
    size_t conv_stride[HR_MM_MAX_W];
    int n_conv;
} mm_job;

/* Items [i0, i1) of the conversion: converter it / n_tok, token it % n_tok. */
static void conv_range(void *ctx, int64_t i0, int64_t i1, int ith) {
    (void)ith;
    mm_job *j = ctx;
    for (int64_t it = i0; it < i1; it++) {
        int c = (int)(it / j->n_tok), t = (int)(it % j->n_tok);
        j->conv[c](j->x + (size_t)t * j->n_in, j->conv_dst[c] + (size_t)t * j->conv_stride[c], j->n_in);
    }
}

/* Chunks [c0, c1) of the product, counted over the weights in order. */
static void mm_range(void *ctx, int64_t c0, int64_t c1, int ith) {
    (void)ith;
    mm_job *j = ctx;
    for (int64_t cc = c0; cc < c1; cc++) {
        long c = (long)cc;
        int wi = 0;
        while (c >= j->chunks[wi]) c -= j->chunks[wi++];
        const hr_weight *w = j->w[wi];
        hr_vec_dot_fn dot = j->kern->vec_dot[w->type];
        int64_t r0 = c * ROWS_PER_CHUNK, r1 = r0 + ROWS_PER_CHUNK;
        if (r1 > w->n_out) r1 = w->n_out;
        const uint8_t *xq = j->xq[wi];
        size_t xs = j->xq_stride[wi];
        float *out = j->out[wi];
        if (w->packed) {
            /* every token count through the packed kernel (wpack.c); r0 is a multiple of HR_PACK_ROWS */
            const size_t gbytes = hr_packed_group_bytes(j->kern, w->type, w->n_in);
            j->kern->gemm_packed[w->type](w->n_in, (int)(r1 - r0), j->n_tok, w->packed + (size_t)(r0 / HR_PACK_ROWS) * gbytes,
                                          xq, xs, out + r0, (size_t)w->n_out);
            continue;
        }
        if (j->tiled[wi]) {
            /* The kernel passes over the tokens a few at a time (their
             * activations in L1) and over the chunk's rows for each (in L2). */
            j->kern->gemm[w->type](w->n_in, (int)(r1 - r0), j->n_tok, w->data + (size_t)r0 * w->row_bytes, w->row_bytes,
                                   xq, xs, out + r0, (size_t)w->n_out);
            continue;
        }
        if (j->n_tok == 1) {
            /* Generation reads every weight once from memory: ask for the bytes
             * PREFETCH_BYTES ahead while this row is computed, which keeps more
             * reads in flight than the hardware prefetcher alone (measured:
             * Llama-3.2-1B Q4_K_M, one thread, 6.7 -> 9.3 GB/s). Into L2 only
             * (locality 1, prefetcht2), as kernels/x86_common.h's
             * hrx_prefetch_l2 explains (Llama-3.2-1B Q8_0, two threads:
             * 14.4 -> 15.5 tok/s). */
            const size_t total = (size_t)w->n_out * w->row_bytes;
            for (int64_t r = r0; r < r1; r++) {
                const size_t ahead = (size_t)r * w->row_bytes + PREFETCH_BYTES;
                for (size_t off = ahead; off < ahead + w->row_bytes && off < total; off += 64)
                    __builtin_prefetch(w->data + off, 0, 1);
                dot(w->n_in, &out[r], w->data + (size_t)r * w->row_bytes, xq);
            }
            continue;
        }
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
    for (int i = 0; i < nw; i++) {
        j.w[i] = w[i];
        j.out[i] = out[i];
        const hr_type wt = w[i]->type;
        const bool tiled = !w[i]->packed && m->kernels.gemm[wt] && (n_tok > 1 || m->kernels.gemm_one_token[wt]);
        j.tiled[i] = tiled;
        j.chunks[i] = (long)((w[i]->n_out + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK);
        j.total += j.chunks[i];
        const hr_type at = tiled ? hr_gemm_act_type(&m->kernels, wt) : hr_type_traits_get(wt)->vec_dot_type;
        const hr_quantize_row_fn q = tiled ? hr_gemm_act_quantizer(&m->kernels, wt) : m->kernels.quantize_row[at];
        j.xq_stride[i] = hr_row_size(at, j.n_in);
        if (at == HR_TYPE_F32 && !(tiled && m->kernels.gemm_quantize[wt])) {
            j.xq[i] = (const uint8_t *)x; /* F32 rows are used in place */
            continue;
        }
        /* one conversion per distinct converter, shared by the weights that read it */
        int c = 0;
        while (c < j.n_conv && j.conv[c] != q) c++;
        if (c == j.n_conv) {
            j.conv[c] = q;
            j.conv_dst[c] = sc->buf[c];
            j.conv_stride[c] = j.xq_stride[i];
            j.n_conv++;
        }
        j.xq[i] = j.conv_dst[c];
    }
    /* one token's conversions are not worth waking the pool */
    const int64_t n_items = (int64_t)j.n_conv * n_tok;
    hr_parallel_for(m->pool, n_items, n_tok > 1 ? 1 : n_items, conv_range, &j);
    hr_parallel_for(m->pool, j.total, 1, mm_range, &j);
}
