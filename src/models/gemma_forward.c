/* Gemma 3 / Gemma 4 forward pass and per-layer KV storage. Each step follows
 * the ggml op llama.cpp's graph uses (src/models/gemma3.cpp, gemma4.cpp),
 * with the same float/double choices and ggml's f16 GELU table. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "models/gemma.h"
#include "models/gelu.h"
#include "models/model_internal.h"
#include "models/moe.h"

struct hr_gemma_state {
    int n_layer;
    uint8_t **k, **v;   /* per layer; NULL for layers that read another layer's KV */
    int32_t *slots;     /* positions held: n_ctx for global layers, a ring for sliding ones */
    size_t *row_bytes;  /* one position of one layer */
    float *ple;         /* [n_batch][n_layer * n_embd_ple] per-layer inputs */
    float *ple_tmp;     /* same size: projection of the embeddings, then the gate per layer */
    float *moe_in, *router_in, *moe_out; /* [n_batch][n_embd] each, expert layers only */
};

static int32_t ring_slots(const hr_gemma *g, const hr_gemma_layer *L, int32_t n_ctx, int32_t n_batch) {
    if (!L->swa || g->n_swa <= 0) return n_ctx;
    /* A batch writes all its keys before attending; its first token still needs the n_swa - 1 before it. */
    int64_t r = (int64_t)g->n_swa - 1 + n_batch;
    return r < n_ctx ? (int32_t)r : n_ctx;
}

static size_t kv_row(hr_type t, int64_t n) {
    size_t r = hr_row_size(t, n);
    if (r == 0) r = (size_t)((n + HR_QK8_0 - 1) / HR_QK8_0) * sizeof(hr_block_q8_0); /* estimate only */
    return r;
}

uint64_t hr_gemma_kv_bytes(const hearth_model *m, int32_t n_ctx, int32_t n_batch, hearth_cache_type t) {
    const hr_gemma *g = m->gemma;
    if (n_batch > n_ctx) n_batch = n_ctx;
    uint64_t total = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        const hr_gemma_layer *L = &g->layers[il];
        if (L->kv_src != il) continue;
        total += 2ull * (uint64_t)ring_slots(g, L, n_ctx, n_batch) * kv_row(hr_cache_hr_type(t), (int64_t)L->n_head_kv * L->head_dim);
    }
    return total;
}

hearth_status hr_gemma_session_init(hearth_session *s, hearth_error *err) {
    const hearth_model *m = s->m;
    const hr_gemma *g = m->gemma;
    const int nl = m->hp.n_layer;
    hr_gemma_state *st = calloc(1, sizeof *st);
    if (!st) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    s->gemma = st;
    st->k = calloc((size_t)nl, sizeof *st->k);
    st->v = calloc((size_t)nl, sizeof *st->v);
    st->slots = calloc((size_t)nl, sizeof *st->slots);
    st->row_bytes = calloc((size_t)nl, sizeof *st->row_bytes);
    if (!st->k || !st->v || !st->slots || !st->row_bytes) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    st->n_layer = nl;
    for (int il = 0; il < nl; il++) {
        const hr_gemma_layer *L = &g->layers[il];
        if (L->kv_src != il) continue;
        if (s->kv_type == HR_TYPE_Q8_0 && L->head_dim % HR_QK8_0)
            return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "cache type q8_0 needs head sizes that are multiples of 32 (layer %d: %d)",
                           il, L->head_dim);
        st->slots[il] = ring_slots(g, L, s->n_ctx, s->n_batch);
        st->row_bytes[il] = hr_row_size(s->kv_type, (int64_t)L->n_head_kv * L->head_dim);
        size_t bytes = (size_t)st->slots[il] * st->row_bytes[il];
        st->k[il] = malloc(bytes);
        st->v[il] = malloc(bytes);
        if (!st->k[il] || !st->v[il])
            return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for the KV cache of a context of %d tokens", s->n_ctx);
    }
    if (g->n_embd_ple) {
        size_t n = (size_t)s->n_batch * (size_t)nl * (size_t)g->n_embd_ple;
        st->ple = malloc(n * sizeof(float));
        st->ple_tmp = malloc(n * sizeof(float));
        if (!st->ple || !st->ple_tmp) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    if (m->moe) {
        size_t n = (size_t)s->n_batch * (size_t)m->hp.n_embd * sizeof(float);
        st->moe_in = malloc(n);
        st->router_in = malloc(n);
        st->moe_out = malloc(n);
        if (!st->moe_in || !st->router_in || !st->moe_out) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    return HEARTH_OK;
}

void hr_gemma_state_free(hr_gemma_state *st) {
    if (!st) return;
    for (int i = 0; i < st->n_layer; i++) {
        if (st->k) free(st->k[i]);
        if (st->v) free(st->v[i]);
    }
    free(st->k);
    free(st->v);
    free(st->slots);
    free(st->row_bytes);
    free(st->ple);
    free(st->ple_tmp);
    free(st->moe_in);
    free(st->router_in);
    free(st->moe_out);
    free(st);
}

bool hr_gemma_can_truncate(const hearth_session *s, int32_t n_keep) {
    const hr_gemma *g = s->m->gemma;
    if (n_keep == 0 || g->n_swa <= 0) return true;
    for (int il = 0; il < s->m->hp.n_layer; il++) {
        if (!g->layers[il].swa || g->layers[il].kv_src != il) continue;
        int64_t lowest = (int64_t)n_keep - g->n_swa + 1;
        if (lowest < 0) lowest = 0;
        if (lowest < (int64_t)s->n_past - s->gemma->slots[il]) return false;
    }
    return true;
}

/* ---------------------------------------------------------------- ops */

static void rmsnorm(const float *x, const float *w, float *y, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    if (w)
        for (int i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
    else
        for (int i = 0; i < n; i++) y[i] = x[i] * scale;
}

/* NEOX RoPE cos/sin for one position (ggml_rope_cache_init without YaRN). */
static void rope_cache(const hr_gemma_layer *L, int64_t pos, float *cache) {
    const float theta_scale = powf(L->rope_base, -2.0f / L->n_rot);
    float theta = (float)pos;
    for (int i0 = 0; i0 < L->n_rot; i0 += 2) {
        const float ff = L->rope_freqs ? L->rope_freqs[i0 / 2] : 1.0f;
        const float th = L->rope_scale * (theta / ff);
        cache[i0] = cosf(th);
        cache[i0 + 1] = sinf(th);
        theta *= theta_scale;
    }
}

typedef struct {
    hearth_session *s;
    const hr_gemma_layer *L;
    const uint8_t *kc, *vc;
    int32_t slots, window;
    size_t row_bytes;
    int n, pos0;
    float kq_scale;
    atomic_int next;
} attn_job;

static void attn_task(void *ctx, int ith, int nth) {
    (void)nth;
    attn_job *j = ctx;
    hearth_session *s = j->s;
    const hearth_model *m = s->m;
    const hr_gemma_layer *L = j->L;
    const int hd = L->head_dim, nh = L->n_head, group = L->n_head / L->n_head_kv, dq = nh * hd;
    float *scores = s->attn_scratch + (size_t)ith * s->attn_scratch_stride;
    float *acc = scores + s->n_ctx;
    uint8_t *qconv = (uint8_t *)(acc + m->hp.head_dim);
    const hr_type kt = s->kv_type;
    const hr_type vdt = hr_type_traits_get(kt)->vec_dot_type;
    hr_vec_dot_fn dot = m->kernels.vec_dot[kt];
    hr_quantize_row_fn conv = m->kernels.quantize_row[vdt];
    const float *tab = m->f16_table;
    for (;;) {
        int it = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (it >= j->n * nh) return;
        const int t = it / nh, h = it % nh, kvh = h / group;
        const int p = j->pos0 + t;
        const int lo = j->window > 0 && p - j->window + 1 > 0 ? p - j->window + 1 : 0, nk = p - lo + 1;
        const float *q = s->q + (size_t)t * dq + (size_t)h * hd;
        const void *qv = q;
        if (vdt != HR_TYPE_F32) {
            conv(q, qconv, hd);
            qv = qconv;
        }
        const size_t head_off = hr_row_size(kt, (int64_t)kvh * hd);
        float mx = -INFINITY;
        for (int i = 0; i < nk; i++) {
            const size_t slot = (size_t)((lo + i) % j->slots);
            float sc;
            dot(hd, &sc, j->kc + slot * j->row_bytes + head_off, qv);
            sc *= j->kq_scale;
            scores[i] = sc;
            if (sc > mx) mx = sc;
        }
        double sum = 0.0;
        for (int i = 0; i < nk; i++) {
            const float e = expf(scores[i] - mx);
            scores[i] = e;
            sum += (double)e;
        }
        const float inv = (float)(1.0 / sum);
        for (int i = 0; i < nk; i++) scores[i] *= inv;
        memset(acc, 0, (size_t)hd * sizeof *acc);
        if (kt == HR_TYPE_F16) {
            /* ggml multiplies F16 V by the probabilities rounded to F16; the
             * window's slots are at most two spans of the ring buffer */
            m->kernels.round_f16(scores, nk);
            const int s0 = lo % j->slots, n1 = nk < j->slots - s0 ? nk : j->slots - s0;
            m->kernels.wsum_f16(hd, 1, n1, scores, (size_t)nk, (const hr_f16 *)(j->vc + (size_t)s0 * j->row_bytes + head_off),
                                j->row_bytes, acc, (size_t)hd);
            if (nk > n1)
                m->kernels.wsum_f16(hd, 1, nk - n1, scores + n1, (size_t)nk, (const hr_f16 *)(j->vc + head_off), j->row_bytes,
                                    acc, (size_t)hd);
            memcpy(s->att + (size_t)t * dq + (size_t)h * hd, acc, (size_t)hd * sizeof *acc);
            continue;
        }
        for (int i = 0; i < nk; i++) {
            const uint8_t *row = j->vc + (size_t)((lo + i) % j->slots) * j->row_bytes + head_off;
            if (kt == HR_TYPE_F32) {
                const float *vr = (const float *)row;
                const float w = scores[i];
                for (int d = 0; d < hd; d++) acc[d] += w * vr[d];
            } else if (kt == HR_TYPE_F16) {
                /* ggml multiplies F16 V by the probabilities rounded to F16 */
                const hr_f16 *vr = (const hr_f16 *)row;
                const float w = tab[hr_f32_to_f16(scores[i])];
                for (int d = 0; d < hd; d++) acc[d] += w * tab[vr[d]];
            } else {
                const hr_block_q8_0 *vb = (const hr_block_q8_0 *)row;
                const float w = scores[i];
                for (int b = 0; b < hd / HR_QK8_0; b++) {
                    const float wd = w * tab[vb[b].d];
                    float *a = acc + b * HR_QK8_0;
                    for (int k = 0; k < HR_QK8_0; k++) a[k] += wd * (float)vb[b].qs[k];
                }
            }
        }
        memcpy(s->att + (size_t)t * dq + (size_t)h * hd, acc, (size_t)hd * sizeof *acc);
    }
}

static void store_rows(hearth_session *s, uint8_t *dst, int32_t slots, size_t row_bytes, const float *src, int dkv,
                       int n, int pos0) {
    for (int t = 0; t < n; t++) {
        uint8_t *d = dst + (size_t)((pos0 + t) % slots) * row_bytes;
        const float *x = src + (size_t)t * dkv;
        if (s->kv_type == HR_TYPE_F32) memcpy(d, x, (size_t)dkv * sizeof(float));
        else s->m->kernels.quantize_row[s->kv_type](x, d, dkv);
    }
}

static void mm1(const hearth_model *m, hearth_session *s, const hr_weight *w, const float *x, int n, float *out) {
    const hr_weight *ws[1] = {w};
    float *o[1] = {out};
    hr_matmul(m, &s->mm, 1, ws, x, n, o);
}

/* Per-layer inputs of Gemma 4 E2B/E4B (llama.cpp's build_inp_per_layer and project_per_layer_inputs). */
static void per_layer_inputs(hearth_session *s, const int32_t *tokens, int n) {
    const hearth_model *m = s->m;
    const hr_gemma *g = m->gemma;
    hr_gemma_state *st = s->gemma;
    const int d = m->hp.n_embd, nl = m->hp.n_layer, pe = g->n_embd_ple, w = nl * pe;
    const hr_type_traits *tr = hr_type_traits_get(g->ple_embd.type);
    const float emb_scale = sqrtf((float)pe), proj_scale = 1.0f / sqrtf((float)d), inp_scale = 1.0f / sqrtf(2.0f);
    for (int t = 0; t < n; t++) {
        float *row = st->ple + (size_t)t * w;
        tr->to_float(g->ple_embd.data + (size_t)tokens[t] * g->ple_embd.row_bytes, row, w);
        for (int i = 0; i < w; i++) row[i] *= emb_scale;
    }
    mm1(m, s, &g->ple_model_proj, s->x, n, st->ple_tmp);
    for (int t = 0; t < n; t++)
        for (int l = 0; l < nl; l++) {
            float *pr = st->ple_tmp + (size_t)t * w + (size_t)l * pe, *in = st->ple + (size_t)t * w + (size_t)l * pe;
            for (int i = 0; i < pe; i++) pr[i] *= proj_scale;
            rmsnorm(pr, g->ple_proj_norm, pr, pe, m->hp.rms_eps);
            for (int i = 0; i < pe; i++) in[i] = (pr[i] + in[i]) * inp_scale;
        }
}

/* Expert half of a Gemma 4 MoE layer, added to the dense FFN's output in s->xn
 * (llama.cpp's gemma4 graph: both halves normed, summed, then post_ffw_norm). */
static void moe_ffn(hearth_session *s, const hr_gemma_layer *L, int il, int n) {
    const hearth_model *m = s->m;
    hr_gemma_state *st = s->gemma;
    const int d = m->hp.n_embd;
    const float eps = m->hp.rms_eps, rs = 1.0f / sqrtf((float)d);
    for (int t = 0; t < n; t++) {
        const float *x = s->x + (size_t)t * d;
        float *r = st->router_in + (size_t)t * d;
        rmsnorm(x, L->moe_pre_norm, st->moe_in + (size_t)t * d, d, eps);
        rmsnorm(x, NULL, r, d, eps);
        for (int i = 0; i < d; i++) r[i] = (r[i] * rs) * L->router_scale[i];
    }
    hr_moe_forward_routed(m, s->moe, il, st->moe_in, st->router_in, n, st->moe_out);
    for (int t = 0; t < n; t++) {
        float *y = s->xn + (size_t)t * d, *e = st->moe_out + (size_t)t * d;
        rmsnorm(y, L->ffn_post_norm_1, y, d, eps);
        rmsnorm(e, L->moe_post_norm, e, d, eps);
        for (int i = 0; i < d; i++) y[i] = y[i] + e[i];
    }
}

void hr_gemma_forward(hearth_session *s, const int32_t *tokens, int n, float *all) {
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    const hr_gemma *g = m->gemma;
    hr_gemma_state *st = s->gemma;
    const int d = hp->n_embd, pos0 = s->n_past;
    const float eps = hp->rms_eps;
    const hr_type_traits *et = hr_type_traits_get(m->tok_embd.type);
    const float emb_scale = sqrtf((float)d);

    for (int t = 0; t < n; t++) {
        float *x = s->x + (size_t)t * d;
        et->to_float(m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes, x, d);
        for (int i = 0; i < d; i++) x[i] *= emb_scale;
    }
    if (g->n_embd_ple) per_layer_inputs(s, tokens, n);

    for (int il = 0; il < hp->n_layer; il++) {
        const hr_gemma_layer *L = &g->layers[il];
        const int hd = L->head_dim, nh = L->n_head, nkv = L->n_head_kv, dq = nh * hd, dkv = nkv * hd, ff = L->n_ff;
        const bool has_kv = L->kv_src == il;
        for (int t = 0; t < n; t++) rmsnorm(s->x + (size_t)t * d, L->attn_norm, s->xn + (size_t)t * d, d, eps);
        {
            const hr_weight *w[3] = {&L->wq, &L->wk, &L->wv};
            float *o[3] = {s->q, s->k, s->v};
            hr_matmul(m, &s->mm, has_kv ? (L->wv.data ? 3 : 2) : 1, w, s->xn, n, o);
        }
        if (has_kv && !L->wv.data) memcpy(s->v, s->k, (size_t)n * dkv * sizeof(float)); /* V is K's projection */
        for (int t = 0; t < n; t++) {
            float *rc = s->rope;
            rope_cache(L, pos0 + t, rc);
            for (int h = 0; h < nh; h++) {
                float *qh = s->q + (size_t)t * dq + (size_t)h * hd;
                rmsnorm(qh, L->q_norm, qh, hd, eps);
                hr_rope_neox(L->n_rot, rc, qh);
                if (g->q_scale != 1.0f)
                    for (int i = 0; i < hd; i++) qh[i] *= g->q_scale;
            }
            if (!has_kv) continue;
            for (int h = 0; h < nkv; h++) {
                float *kh = s->k + (size_t)t * dkv + (size_t)h * hd;
                rmsnorm(kh, L->k_norm, kh, hd, eps);
                hr_rope_neox(L->n_rot, rc, kh);
                if (g->v4) {
                    float *vh = s->v + (size_t)t * dkv + (size_t)h * hd;
                    rmsnorm(vh, NULL, vh, hd, eps);
                }
            }
        }
        const int src = L->kv_src;
        if (has_kv) {
            store_rows(s, st->k[src], st->slots[src], st->row_bytes[src], s->k, dkv, n, pos0);
            store_rows(s, st->v[src], st->slots[src], st->row_bytes[src], s->v, dkv, n, pos0);
        }
        attn_job aj = {.s = s, .L = L, .kc = st->k[src], .vc = st->v[src], .slots = st->slots[src],
                       .window = L->swa ? g->n_swa : 0, .row_bytes = st->row_bytes[src], .n = n, .pos0 = pos0,
                       .kq_scale = g->kq_scale};
        atomic_init(&aj.next, 0);
        hr_threadpool_run(m->pool, attn_task, &aj);
        mm1(m, s, &L->wo, s->att, n, s->xn);
        for (int t = 0; t < n; t++) {
            float *y = s->xn + (size_t)t * d, *x = s->x + (size_t)t * d;
            rmsnorm(y, L->attn_post_norm, y, d, eps);
            for (int i = 0; i < d; i++) x[i] = y[i] + x[i];
        }

        for (int t = 0; t < n; t++) rmsnorm(s->x + (size_t)t * d, L->ffn_norm, s->xn + (size_t)t * d, d, eps);
        {
            const hr_weight *w[2] = {&L->gate, &L->up};
            float *o[2] = {s->gate, s->up};
            hr_matmul(m, &s->mm, 2, w, s->xn, n, o);
        }
        for (size_t i = 0; i < (size_t)n * ff; i++) s->gate[i] = hr_gelu_f16(g->gelu, s->gate[i]) * s->up[i];
        mm1(m, s, &L->down, s->gate, n, s->xn);
        if (L->moe) moe_ffn(s, L, il, n);
        for (int t = 0; t < n; t++) {
            float *y = s->xn + (size_t)t * d, *x = s->x + (size_t)t * d;
            rmsnorm(y, L->ffn_post_norm, y, d, eps);
            for (int i = 0; i < d; i++) x[i] = y[i] + x[i];
        }

        if (g->n_embd_ple) {
            const int pe = g->n_embd_ple, w = hp->n_layer * pe;
            float *gt = st->ple_tmp; /* the projection was consumed by per_layer_inputs */
            mm1(m, s, &L->ple_gate, s->x, n, gt);
            for (int t = 0; t < n; t++) {
                const float *in = st->ple + (size_t)t * w + (size_t)il * pe;
                float *gr = gt + (size_t)t * pe;
                for (int i = 0; i < pe; i++) gr[i] = hr_gelu_f16(g->gelu, gr[i]) * in[i];
            }
            mm1(m, s, &L->ple_proj, gt, n, s->xn);
            for (int t = 0; t < n; t++) {
                float *y = s->xn + (size_t)t * d, *x = s->x + (size_t)t * d;
                rmsnorm(y, L->ple_post_norm, y, d, eps);
                for (int i = 0; i < d; i++) x[i] = x[i] + y[i];
            }
        }
        if (L->out_scale != 1.0f)
            for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] *= L->out_scale;
    }
    s->n_past += n;

    const int first = all ? 0 : n - 1, rows = n - first;
    for (int t = first; t < n; t++) rmsnorm(s->x + (size_t)t * d, m->output_norm, s->xn + (size_t)t * d, d, eps);
    float *out = all ? all : s->logits;
    mm1(m, s, &m->output, s->xn + (size_t)first * d, rows, out);
    if (g->softcap != 0.0f) {
        const float inv = 1.0f / g->softcap;
        for (size_t i = 0; i < (size_t)rows * hp->n_vocab; i++) out[i] = tanhf(out[i] * inv) * g->softcap;
    }
    if (all) memcpy(s->logits, all + (size_t)(n - 1) * hp->n_vocab, (size_t)hp->n_vocab * sizeof(float));
    s->has_logits = true;
}
