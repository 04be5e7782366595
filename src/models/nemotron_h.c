/* Nemotron-H: metadata with per-layer arrays, Mamba-2 mixer, plain attention
 * and squared-ReLU MLP layers. The selective scan follows ggml_ssm_scan
 * (scalar decay per head, state updated token by token) when decoding and
 * runs in the chunked SSD form for prompts; the convolution is ggml_ssm_conv
 * plus bias. */
#include "models/nemotron_h.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "models/hybrid_internal.h"
#include "models/moe.h"

#define MAX_DIM (1 << 20)

static hearth_status key_u32(const hr_gguf *g, const char *an, const char *suffix, bool required, int32_t *out,
                             hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", an, suffix);
    if (hr_gguf_find_key(g, key) < 0)
        return required ? hr_fail(err, HEARTH_ERR_MISSING, "required metadata '%s' is missing", key) : HEARTH_OK;
    uint32_t v = 0;
    hearth_status st = hr_gguf_get_u32(g, key, &v, err);
    if (st) return st;
    if (v > MAX_DIM) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' = %u is out of range", key, v);
    *out = (int32_t)v;
    return HEARTH_OK;
}

/* A per-layer value: an array of n integers or one integer for every layer. */
static hearth_status key_per_layer(const hr_gguf *g, const char *an, const char *suffix, int n, int32_t *out,
                                   hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", an, suffix);
    int64_t ki = hr_gguf_find_key(g, key);
    if (ki < 0) return hr_fail(err, HEARTH_ERR_MISSING, "required metadata '%s' is missing", key);
    if (hr_gguf_kv_type(g, ki) != HR_GGUF_ARRAY) {
        int32_t v = 0;
        hearth_status st = key_u32(g, an, suffix, true, &v, err);
        if (st) return st;
        for (int i = 0; i < n; i++) out[i] = v;
        return HEARTH_OK;
    }
    hr_gguf_type at = hr_gguf_arr_type(g, ki);
    if ((at != HR_GGUF_UINT32 && at != HR_GGUF_INT32) || hr_gguf_arr_len(g, ki) != (uint64_t)n)
        return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' must be %d 32-bit integers", key, n);
    const uint8_t *data = hr_gguf_arr_data(g, ki); /* array data in the file need not be aligned */
    for (int i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, data + (size_t)i * sizeof v, sizeof v);
        if (v < 0 || v > MAX_DIM) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' is out of range", key);
        out[i] = v;
    }
    return HEARTH_OK;
}

hearth_status hr_nemotron_h_hparams(hearth_model *m, hearth_error *err) {
    const hr_gguf *g = m->gguf;
    const char *an = m->arch->name;
    hr_hparams *hp = &m->hp;
    hearth_status st;
    hr_nemotron_model *q = calloc(1, sizeof *q);
    if (!q) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    m->nemotron = q;
    if ((st = key_u32(g, an, "context_length", true, &hp->n_ctx_train, err)) ||
        (st = key_u32(g, an, "embedding_length", true, &hp->n_embd, err)) ||
        (st = key_u32(g, an, "block_count", true, &hp->n_layer, err)))
        return st;
    if (hp->n_layer < 1 || hp->n_layer > 4096 || hp->n_embd < 1 || hp->n_ctx_train < 1)
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: block_count, embedding_length or context_length is out of range", an);
    const int nl = hp->n_layer;
    int32_t *heads = malloc((size_t)nl * 3 * sizeof *heads);
    q->layers = calloc((size_t)nl, sizeof *q->layers);
    if (!heads || !q->layers) {
        free(heads);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    int32_t *kv = heads + nl, *ff = kv + nl;
    if ((st = key_per_layer(g, an, "attention.head_count", nl, heads, err)) ||
        (st = key_per_layer(g, an, "attention.head_count_kv", nl, kv, err)) ||
        (st = key_per_layer(g, an, "feed_forward_length", nl, ff, err))) {
        free(heads);
        return st;
    }
    hp->n_head = hp->n_head_kv = 0;
    hp->n_ff = 1;
    for (int il = 0; il < nl; il++) {
        hr_nh_layer *L = &q->layers[il];
        L->n_ff = ff[il];
        L->kind = kv[il] == 0 && ff[il] == 0 ? HR_NH_MAMBA : ff[il] == 0 ? HR_NH_ATTN : HR_NH_FFN;
        if (L->kind == HR_NH_MAMBA) q->n_recurrent++;
        if (L->kind == HR_NH_FFN && ff[il] > hp->n_ff) hp->n_ff = ff[il];
        if (L->kind != HR_NH_ATTN) continue;
        /* one attention shape for every attention layer: the KV cache rows are shared */
        if ((hp->n_head && (hp->n_head != heads[il] || hp->n_head_kv != kv[il])) || heads[il] < 1 ||
            heads[il] % kv[il]) {
            free(heads);
            return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s: attention layers with differing or invalid head counts", an);
        }
        hp->n_head = heads[il];
        hp->n_head_kv = kv[il];
    }
    free(heads);
    if (hp->n_head == 0) hp->n_head = hp->n_head_kv = 1; /* no attention layer: a token-sized cache row */
    hp->head_dim = hp->n_embd / hp->n_head;
    int32_t vdim = 0;
    if ((st = key_u32(g, an, "attention.key_length", false, &hp->head_dim, err)) ||
        (st = key_u32(g, an, "attention.value_length", false, &vdim, err)))
        return st;
    if (hp->head_dim < 1 || hp->head_dim > 4096 || (vdim && vdim != hp->head_dim))
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s: key_length and value_length must be equal and in range", an);
    hp->n_rot = hp->head_dim;
    hp->kq_scale = 1.0f / sqrtf((float)hp->head_dim);
    hp->rope_freq_base = 10000.0f;
    hp->rope_freq_scale = 1.0f;
    hp->rope_attn_factor = 1.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", an);
    if (hr_gguf_find_key(g, key) < 0) snprintf(key, sizeof key, "%s.attention.layer_norm_epsilon", an);
    if ((st = hr_gguf_get_f32(g, key, &hp->rms_eps, err))) return st;
    if (!isfinite(hp->rms_eps) || hp->rms_eps < 0) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' is out of range", key);

    if ((st = key_u32(g, an, "ssm.conv_kernel", true, &q->d_conv, err)) ||
        (st = key_u32(g, an, "ssm.inner_size", true, &q->d_inner, err)) ||
        (st = key_u32(g, an, "ssm.state_size", true, &q->d_state, err)) ||
        (st = key_u32(g, an, "ssm.time_step_rank", true, &q->n_head, err)) ||
        (st = key_u32(g, an, "ssm.group_count", true, &q->n_group, err)))
        return st;
    if (q->d_conv < 1 || q->d_conv > 64 || q->n_head < 1 || q->n_group < 1 || q->d_state < 1 || q->d_inner < 1 ||
        q->d_inner % q->n_head || q->d_inner % q->n_group || q->n_head % q->n_group ||
        (int64_t)q->n_group * q->d_state > (1 << 20) || (int64_t)q->d_inner * q->d_state > (1 << 28))
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: inconsistent ssm sizes", an);
    q->head_dim = q->d_inner / q->n_head;
    q->conv_dim = q->d_inner + 2 * q->n_group * q->d_state;
    q->d_in_proj = 2 * q->d_inner + 2 * q->n_group * q->d_state + q->n_head;
    return HEARTH_OK;
}

hearth_status hr_nemotron_h_load(hearth_model *m, hearth_error *err) {
    const hr_hparams *hp = &m->hp;
    hr_nemotron_model *q = m->nemotron;
    hr_vec_pool *pool = &q->pool;
    const int64_t d = hp->n_embd, hd = hp->head_dim, dq = (int64_t)hp->n_head * hd, dkv = (int64_t)hp->n_head_kv * hd;
    const int64_t di = q->d_inner, nh = q->n_head, cd = q->conv_dim;
    hearth_status st;
    char nm[96];
#define N(suffix) (snprintf(nm, sizeof nm, "blk.%d." suffix, il), nm)
    for (int il = 0; il < hp->n_layer; il++) {
        hr_layer *L = &m->layers[il];
        hr_nh_layer *G = &q->layers[il];
        if ((st = hr_wl_vec(m, pool, N("attn_norm.weight"), true, 1, &d, &L->attn_norm, err))) return st;
        if (G->kind == HR_NH_MAMBA) {
            const int64_t conv_ne[2] = {q->d_conv, cd}, col[2] = {1, nh}, norm_ne[2] = {di / q->n_group, q->n_group};
            if ((st = hr_wl_mat(m, N("ssm_in.weight"), true, d, q->d_in_proj, &G->ssm_in, err)) ||
                (st = hr_wl_mat(m, N("ssm_out.weight"), true, di, d, &G->ssm_out, err)) ||
                (st = hr_wl_vec(m, pool, N("ssm_conv1d.weight"), true, 2, conv_ne, &G->conv, err)) ||
                (st = hr_wl_vec(m, pool, N("ssm_conv1d.bias"), false, 1, &cd, &G->conv_b, err)) ||
                (st = hr_wl_vec(m, pool, N("ssm_dt.bias"), true, 1, &nh, &G->dt_b, err)) ||
                (st = hr_wl_vec(m, pool, N("ssm_a"), true, 2, col, &G->a, err)) ||
                (st = hr_wl_vec(m, pool, N("ssm_d"), true, 2, col, &G->d, err)) ||
                (st = hr_wl_vec(m, pool, N("ssm_norm.weight"), true, 2, norm_ne, &G->norm, err)))
                return st;
        } else if (G->kind == HR_NH_ATTN) {
            if ((st = hr_wl_mat(m, N("attn_q.weight"), true, d, dq, &L->wq, err)) ||
                (st = hr_wl_mat(m, N("attn_k.weight"), true, d, dkv, &L->wk, err)) ||
                (st = hr_wl_mat(m, N("attn_v.weight"), true, d, dkv, &L->wv, err)) ||
                (st = hr_wl_mat(m, N("attn_output.weight"), true, dq, d, &L->wo, err)) ||
                (st = hr_wl_vec(m, pool, N("attn_q.bias"), false, 1, &dq, &L->bq, err)) ||
                (st = hr_wl_vec(m, pool, N("attn_k.bias"), false, 1, &dkv, &L->bk, err)) ||
                (st = hr_wl_vec(m, pool, N("attn_v.bias"), false, 1, &dkv, &L->bv, err)) ||
                (st = hr_wl_vec(m, pool, N("attn_output.bias"), false, 1, &d, &L->bo, err)))
                return st;
        } else {
            const int64_t ff = G->n_ff;
            if (hr_gguf_find_tensor(m->gguf, N("ffn_gate_inp.weight"))) {
                if (!m->arch->moe)
                    return hr_fail(err, HEARTH_ERR_FORMAT, "%s: expert layers need architecture nemotron_h_moe",
                                   m->arch->name);
                continue; /* loaded by models/moe.c */
            }
            if ((st = hr_wl_mat(m, N("ffn_up.weight"), true, d, ff, &L->up, err)) ||
                (st = hr_wl_mat(m, N("ffn_down.weight"), true, ff, d, &L->down, err)) ||
                (st = hr_wl_vec(m, pool, N("ffn_up.bias"), false, 1, &ff, &L->up_b, err)) ||
                (st = hr_wl_vec(m, pool, N("ffn_down.bias"), false, 1, &d, &L->down_b, err)))
                return st;
        }
    }
#undef N
    return HEARTH_OK;
}

void hr_nemotron_h_free(hearth_model *m) {
    if (!m || !m->nemotron) return;
    hr_vec_pool_free(&m->nemotron->pool);
    free(m->nemotron->layers);
    free(m->nemotron);
    m->nemotron = NULL;
}

typedef struct {
    const hr_nemotron_model *q;
    const hr_nh_layer *G;
    hr_qwen35_session *qs;
    float *S; /* [n_head][head_dim][d_state] */
    int n;
    hr_vec_dot_fn dot;
    hr_wsum_f32_fn wsum;
    atomic_int next;
} scan_job;

/* A prompt (n > 1): the scan in its chunked (SSD) form, HR_GDN_CHUNK tokens at
 * a time. With L_t the cumulative log decay inside the chunk and S the state at
 * its start, the recurrence s_t = e^{l_t} s_{t-1} + dt_t x_t B_t^T unrolls to
 *   y_t   = e^{L_t} S C_t + sum_{s<=t} e^{L_t - L_s} (C_t . B_s) dt_s x_s (+ D x_t),
 *   S_end = e^{L_c} S + sum_s e^{L_c - L_s} dt_s x_s B_s^T:
 * every sum is a dot product on the vector kernels (the per-token scan's inner
 * loop is a scalar reduction), and decays enter only as differences L_t - L_s <= 0. */
size_t hr_nemotron_chunk_ws_floats(const struct hr_nemotron_model *q) {
    const size_t C_ = HR_GDN_CHUNK;
    return 3 * C_ + 2 * C_ * C_ + (size_t)q->d_state * q->head_dim + (size_t)q->head_dim * C_;
}

static void scan_chunked_group(const scan_job *j, int g, float *ws) {
    const hr_nemotron_model *q = j->q;
    const hr_qwen35_session *qs = j->qs;
    const int nh = q->n_head, hd = q->head_dim, ds = q->d_state, cd = q->conv_dim, di = q->d_inner;
    const int hpg = nh / q->n_group, C_ = HR_GDN_CHUNK;
    const hr_vec_dot_fn dot = j->dot;
    const hr_wsum_f32_fn wsum = j->wsum;
    /* CB (C_t . B_s, shared by the group's heads), W (its decayed weights, zero above the diagonal), the
     * state transposed (a row per state dimension) and the state update's weights w_s x_s (a row per x
     * dimension): each sum then is one weighted sum of rows (wsum_f32) */
    float *L = ws, *dt = L + C_, *w = dt + C_, *CB = w + C_, *W = CB + (size_t)C_ * C_, *ST = W + (size_t)C_ * C_;
    float *XW = ST + (size_t)ds * hd;
    for (int t0 = 0; t0 < j->n; t0 += C_) {
        const int c = j->n - t0 < C_ ? j->n - t0 : C_;
        const float *B0 = qs->conv + (size_t)t0 * cd + di + (size_t)g * ds;
        const float *C0 = qs->conv + (size_t)t0 * cd + di + (size_t)q->n_group * ds + (size_t)g * ds;
        for (int t = 0; t < c; t++)
            for (int s = 0; s <= t; s++) dot(ds, &CB[(size_t)t * C_ + s], C0 + (size_t)t * cd, B0 + (size_t)s * cd);
        for (int h = g * hpg; h < (g + 1) * hpg; h++) {
            float *S = j->S + (size_t)h * hd * ds;
            const float *X0 = qs->conv + (size_t)t0 * cd + (size_t)h * hd;
            float *Y0 = qs->core + (size_t)t0 * di + (size_t)h * hd;
            float acc = 0.0f;
            for (int t = 0; t < c; t++) {
                dt[t] = hr_hy_softplus(qs->alpha[(size_t)(t0 + t) * nh + h]);
                L[t] = acc += dt[t] * j->G->a[h];
            }
            /* y_t = e^{L_t} S C_t: the state's contribution */
            for (int i1 = 0; i1 < hd; i1++)
                for (int i0 = 0; i0 < ds; i0++) ST[(size_t)i0 * hd + i1] = S[(size_t)i1 * ds + i0];
            for (int t = 0; t < c; t++) memset(Y0 + (size_t)t * di, 0, (size_t)hd * sizeof(float));
            wsum(hd, c, ds, C0, (size_t)cd, ST, (size_t)hd * sizeof(float), Y0, (size_t)di);
            for (int t = 0; t < c; t++) {
                float *Wt = W + (size_t)t * C_, *y = Y0 + (size_t)t * di;
                for (int s = 0; s <= t; s++) Wt[s] = expf(L[t] - L[s]) * CB[(size_t)t * C_ + s] * dt[s];
                for (int s = t + 1; s < c; s++) Wt[s] = 0.0f;
                const float e = expf(L[t]);
                for (int i1 = 0; i1 < hd; i1++) y[i1] *= e;
            }
            /* + sum_{s<=t} W_ts x_s, then the skip D x_t */
            wsum(hd, c, c, W, (size_t)C_, X0, (size_t)cd * sizeof(float), Y0, (size_t)di);
            for (int t = 0; t < c; t++) {
                float *y = Y0 + (size_t)t * di;
                const float *x = X0 + (size_t)t * cd;
                for (int i1 = 0; i1 < hd; i1++) y[i1] += x[i1] * j->G->d[h];
            }
            /* S = e^{L_c} S + sum_s e^{L_c - L_s} dt_s x_s B_s^T */
            const float el = expf(L[c - 1]);
            for (int s = 0; s < c; s++) w[s] = expf(L[c - 1] - L[s]) * dt[s];
            for (int i1 = 0; i1 < hd; i1++)
                for (int s = 0; s < c; s++) XW[(size_t)i1 * C_ + s] = w[s] * X0[(size_t)s * cd + i1];
            for (size_t i = 0; i < (size_t)hd * ds; i++) S[i] *= el;
            wsum(ds, hd, c, XW, (size_t)C_, B0, (size_t)cd * sizeof(float), S, (size_t)ds);
        }
    }
}

/* ggml_ssm_scan for Mamba-2, one head at a time: s = s * exp(softplus(dt) A) + B x dt,
 * y = s . C, plus the skip x * D; prompts take the chunked form above. */
static void scan_task(void *ctx, int ith, int nth) {
    (void)nth;
    scan_job *j = ctx;
    const hr_nemotron_model *q = j->q;
    hr_qwen35_session *qs = j->qs;
    const int nh = q->n_head, hd = q->head_dim, ds = q->d_state, cd = q->conv_dim, di = q->d_inner;
    for (;;) {
        int h = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (j->n > 1) {
            /* a prompt: a unit is a group of heads, which share B and C */
            if (h >= q->n_group) return;
            scan_chunked_group(j, h, qs->chunk_ws + (size_t)ith * qs->chunk_ws_stride);
            continue;
        }
        if (h >= nh) return;
        const int g = h / (nh / q->n_group);
        float *S = j->S + (size_t)h * hd * ds;
        for (int t = 0; t < j->n; t++) {
            const float *xbc = qs->conv + (size_t)t * cd;
            const float *x = xbc + (size_t)h * hd, *B = xbc + di + (size_t)g * ds, *C = xbc + di + (size_t)q->n_group * ds + (size_t)g * ds;
            const float dt_sp = hr_hy_softplus(qs->alpha[(size_t)t * nh + h]);
            const float dA = expf(dt_sp * j->G->a[h]);
            float *y = qs->core + (size_t)t * di + (size_t)h * hd;
            for (int i1 = 0; i1 < hd; i1++) {
                const float x_dt = x[i1] * dt_sp;
                float *s = S + (size_t)i1 * ds, sum = 0.0f;
                for (int i0 = 0; i0 < ds; i0++) {
                    const float v = s[i0] * dA + B[i0] * x_dt;
                    sum += v * C[i0];
                    s[i0] = v;
                }
                y[i1] = sum + x[i1] * j->G->d[h];
            }
        }
    }
}

typedef struct {
    const hr_nemotron_model *q;
    const hr_nh_layer *G;
    hr_qwen35_session *qs;
    float eps;
} gate_norm_job;

/* y * silu(z), then RMSNorm per group, for tokens [t0, t1) */
static void gate_norm_tokens(void *ctx, int64_t t0, int64_t t1, int ith) {
    (void)ith;
    const gate_norm_job *j = ctx;
    const int di = j->q->d_inner, dip = j->q->d_in_proj, gs = di / j->q->n_group;
    for (int64_t t = t0; t < t1; t++) {
        float *y = j->qs->core + (size_t)t * di;
        const float *z = j->qs->qkv + (size_t)t * dip;
        for (int i = 0; i < di; i++) y[i] = hr_hy_silu(z[i]) * y[i];
        for (int gi = 0; gi < j->q->n_group; gi++)
            hr_hy_rmsnorm(y + (size_t)gi * gs, j->G->norm + (size_t)gi * gs, y + (size_t)gi * gs, gs, j->eps);
    }
}

static void relu2_range(void *ctx, int64_t i0, int64_t i1, int ith) {
    (void)ith;
    float *u = ctx;
    for (int64_t i = i0; i < i1; i++) {
        const float r = u[i] > 0.0f ? u[i] : 0.0f;
        u[i] = r * r;
    }
}

/* Mamba-2 mixer: in-projection to z | xBC | dt, causal conv (+bias, SiLU)
 * with its window in the state, selective scan, y * silu(z), grouped RMSNorm,
 * out-projection. Result in qs->out. */
static void mamba2(hearth_session *s, int il, const float *xn, int n) {
    const hearth_model *m = s->m;
    const hr_nemotron_model *q = m->nemotron;
    const hr_nh_layer *G = &q->layers[il];
    hr_qwen35_session *qs = s->qwen35;
    const int dip = q->d_in_proj, di = q->d_inner, cd = q->conv_dim, nh = q->n_head;
    hr_hy_matmul1(m, &qs->mm, &G->ssm_in, xn, n, qs->qkv);
    float *win = qs->state + (size_t)qs->state_off[il] * qs->per_layer;
    float *S = win + (size_t)(q->d_conv - 1) * cd;
    hr_hy_conv(m->pool, G->conv, G->conv_b, q->d_conv, cd, win, qs->qkv + di, (size_t)dip, n, qs->conv);
    for (int t = 0; t < n; t++)
        for (int h = 0; h < nh; h++) qs->alpha[(size_t)t * nh + h] = qs->qkv[(size_t)t * dip + di + cd + h] + G->dt_b[h];
    scan_job sj = {.q = q, .G = G, .qs = qs, .S = S, .n = n, .dot = m->kernels.vec_dot[HR_TYPE_F32],
                   .wsum = m->kernels.wsum_f32};
    atomic_init(&sj.next, 0);
    hr_threadpool_run(m->pool, scan_task, &sj);
    gate_norm_job gj = {.q = q, .G = G, .qs = qs, .eps = m->hp.rms_eps};
    hr_parallel_for(m->pool, n, 4, gate_norm_tokens, &gj);
    hr_hy_matmul1(m, &qs->mm, &G->ssm_out, qs->core, n, qs->out);
}

static void add_bias(float *y, const float *b, int n, int64_t w) {
    if (!b) return;
    for (int t = 0; t < n; t++)
        for (int64_t i = 0; i < w; i++) y[(size_t)t * w + i] += b[i];
}

/* up (+bias), relu, square, down (+bias). */
static void relu2_mlp(hearth_session *s, int il, const float *xn, int n) {
    const hearth_model *m = s->m;
    const hr_layer *L = &m->layers[il];
    hr_qwen35_session *qs = s->qwen35;
    const int ff = m->nemotron->layers[il].n_ff;
    hr_hy_matmul1(m, &qs->mm, &L->up, xn, n, qs->up);
    add_bias(qs->up, L->up_b, n, ff);
    hr_parallel_for(m->pool, (int64_t)n * ff, 16384, relu2_range, qs->up);
    hr_hy_matmul1(m, &qs->mm, &L->down, qs->up, n, qs->out);
    add_bias(qs->out, L->down_b, n, m->hp.n_embd);
}

void hr_nemotron_h_forward(hearth_session *s, const int32_t *tokens, int n, float *all) {
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    hr_qwen35_session *qs = s->qwen35;
    const int d = hp->n_embd;
    const hr_type_traits *et = hr_type_traits_get(m->tok_embd.type);
    for (int t = 0; t < n; t++)
        et->to_float(m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes, s->x + (size_t)t * d, d);
    for (int il = 0; il < hp->n_layer; il++) {
        const hr_layer *L = &m->layers[il];
        for (int t = 0; t < n; t++)
            hr_hy_rmsnorm(s->x + (size_t)t * d, L->attn_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
        switch (m->nemotron->layers[il].kind) {
        case HR_NH_MAMBA: mamba2(s, il, s->xn, n); break;
        case HR_NH_ATTN: hr_hy_attention(s, il, s->xn, n, false); break;
        case HR_NH_FFN:
            if (m->moe && m->moe->layers[il].router.data) hr_moe_forward(m, s->moe, il, s->xn, n, qs->out);
            else relu2_mlp(s, il, s->xn, n);
            break;
        }
        for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += qs->out[i];
    }
    s->n_past += n;

    const int first = all ? 0 : n - 1, rows = n - first;
    for (int t = first; t < n; t++)
        hr_hy_rmsnorm(s->x + (size_t)t * d, m->output_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
    hr_hy_matmul1(m, &qs->mm, &m->output, s->xn + (size_t)first * d, rows, all ? all : s->logits);
    if (all) memcpy(s->logits, all + (size_t)(n - 1) * hp->n_vocab, (size_t)hp->n_vocab * sizeof(float));
    s->has_logits = true;
}
