/* Mixture-of-experts FFN: loading of the expert stacks and the forward pass.
 * Tokens are grouped by expert so that each selected expert's slice is read
 * once per batch and unselected experts are never touched. Each step follows
 * the ggml op llama.cpp uses (soft_max, argsort_top_k, sum_rows, clamp, div,
 * mul_mat_id, swiglu, mul, add in expert-slot order), with the same
 * float/double choices. */
#include "models/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "models/gelu.h"
#include "models/model_internal.h"
#include "models/wload.h"

#define MAX_EXPERTS 512

/* ------------------------------------------------------------------ loading */

static hearth_status opt_u32(const hr_gguf *g, const char *an, const char *suffix, int32_t *out, hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", an, suffix);
    if (hr_gguf_find_key(g, key) < 0) return HEARTH_OK;
    uint32_t v = 0;
    hearth_status st = hr_gguf_get_u32(g, key, &v, err);
    if (st) return st;
    if (v > (1u << 20)) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' = %u is out of range", key, v);
    *out = (int32_t)v;
    return HEARTH_OK;
}

/* A tensor of exactly the shape ne (unused trailing dims 1), computable by the kernels. */
static hearth_status load_stack(hearth_model *m, const char *name, int64_t n_in, int64_t n_out, int64_t n_exp,
                                hr_expert_stack *s, hearth_error *err) {
    const hr_gguf_tensor *t;
    int64_t ne[3] = {n_in, n_out, n_exp};
    hearth_status st = hr_wl_find(m, name, true, 3, ne, &t, err);
    if (st) return st;
    if ((st = hr_wl_weight(m, t, n_in, n_out, &s->w, err))) return st;
    s->expert_bytes = s->w.row_bytes * (size_t)n_out;
    return HEARTH_OK;
}

hearth_status hr_moe_load(hearth_model *m, hearth_error *err) {
    const hr_hparams *hp = &m->hp;
    const char *an = m->arch->name;
    hr_moe_model *mo = calloc(1, sizeof *mo);
    if (!mo) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    m->moe = mo;
    mo->layers = calloc((size_t)hp->n_layer, sizeof *mo->layers);
    if (!mo->layers) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    mo->gating = m->arch->moe_sigmoid ? HR_MOE_GATE_SIGMOID : HR_MOE_GATE_SOFTMAX;
    mo->norm_w = m->arch->moe_norm_w;
    hearth_status st;
    if (m->arch->mamba2) { /* Nemotron-H: normalisation and scale from the file */
        char key[128];
        snprintf(key, sizeof key, "%s.expert_weights_norm", an);
        if ((st = hr_gguf_opt_bool(m->gguf, key, &mo->norm_w, err))) return st;
        snprintf(key, sizeof key, "%s.expert_weights_scale", an);
        if ((st = hr_gguf_opt_f32(m->gguf, key, &mo->w_scale, err))) return st;
        if (!isfinite(mo->w_scale)) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' is not finite", key);
    }
    if ((st = opt_u32(m->gguf, an, "expert_count", &mo->n_expert, err)) ||
        (st = opt_u32(m->gguf, an, "expert_used_count", &mo->n_expert_used, err)) ||
        (st = opt_u32(m->gguf, an, "expert_feed_forward_length", &mo->n_ff_exp, err)) ||
        (st = opt_u32(m->gguf, an, "expert_shared_feed_forward_length", &mo->n_ff_shexp, err)))
        return st;
    if (mo->n_expert < 1 || mo->n_expert > MAX_EXPERTS)
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s.expert_count = %d is out of range (1..%d)", an, mo->n_expert,
                       MAX_EXPERTS);
    if (mo->n_expert_used < 1 || mo->n_expert_used > mo->n_expert)
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s.expert_used_count = %d is out of range (1..%d)", an,
                       mo->n_expert_used, mo->n_expert);
    if (mo->n_ff_exp == 0) mo->n_ff_exp = hp->n_ff / mo->n_expert_used;
    if (mo->n_ff_shexp == 0) mo->n_ff_shexp = hp->n_ff;
    if (mo->n_ff_exp < 1) return hr_fail(err, HEARTH_ERR_FORMAT, "%s: the expert feed-forward length is 0", an);

    const int64_t d = hp->n_embd, ne = mo->n_expert, ff = mo->n_ff_exp;
    /* Per-expert output scales: every llama.cpp MoE graph applies them but qwen2moe's. */
    const bool scales = strcmp(an, "qwen2moe") != 0;
    char nm[96];
#define N(suffix) (snprintf(nm, sizeof nm, "blk.%d." suffix, il), nm)
    for (int il = 0; il < hp->n_layer; il++) {
        hr_moe_layer *L = &mo->layers[il];
        /* hybrids and gemma4 mix expert layers with others: a layer without a router has none */
        if ((m->arch->mamba2 || m->arch->gemma) && !hr_gguf_find_tensor(m->gguf, N("ffn_gate_inp.weight"))) continue;
        if (hr_gguf_find_tensor(m->gguf, N("ffn_latent_down.weight")))
            return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s: latent expert projections are not supported yet", an);
        /* Nemotron-H experts have no gate: squared ReLU of the up projection */
        const bool gated = !m->arch->mamba2;
        if ((st = hr_wl_mat(m, N("ffn_gate_inp.weight"), true, d, ne, &L->router, err)) ||
            (st = hr_wl_vec(m, &mo->pool, N("exp_probs_b.bias"), m->arch->mamba2, 1, &ne, &L->probs_bias, err)))
            return st;
        if (gated && hr_gguf_find_tensor(m->gguf, N("ffn_gate_up_exps.weight"))) {
            /* Fused: each expert's first ff rows are the gate, the next ff the up projection. */
            if ((st = load_stack(m, N("ffn_gate_up_exps.weight"), d, 2 * ff, ne, &L->gate, err))) return st;
            L->gate.w.n_out = ff;
            L->up = L->gate;
            L->up.w.data += L->gate.w.row_bytes * (size_t)ff;
        } else {
            /* llama.cpp reads the gate and up scales only beside separate stacks */
            if ((gated && (st = load_stack(m, N("ffn_gate_exps.weight"), d, ff, ne, &L->gate, err))) ||
                (st = load_stack(m, N("ffn_up_exps.weight"), d, ff, ne, &L->up, err)) ||
                (scales && gated &&
                 (st = hr_wl_vec(m, &mo->pool, N("ffn_gate_exps.scale"), false, 1, &ne, &L->gate_scale, err))) ||
                (scales && (st = hr_wl_vec(m, &mo->pool, N("ffn_up_exps.scale"), false, 1, &ne, &L->up_scale, err))))
                return st;
        }
        if ((st = load_stack(m, N("ffn_down_exps.weight"), ff, d, ne, &L->down, err)) ||
            (scales && (st = hr_wl_vec(m, &mo->pool, N("ffn_down_exps.scale"), false, 1, &ne, &L->down_scale, err))))
            return st;
        bool shared = hr_gguf_find_tensor(m->gguf, N("ffn_up_shexp.weight")) != NULL;
        if (shared && ((st = hr_wl_mat(m, N("ffn_gate_shexp.weight"), gated, d, mo->n_ff_shexp, &L->sh_gate, err)) ||
                       (st = hr_wl_mat(m, N("ffn_up_shexp.weight"), true, d, mo->n_ff_shexp, &L->sh_up, err)) ||
                       (st = hr_wl_mat(m, N("ffn_down_shexp.weight"), true, mo->n_ff_shexp, d, &L->sh_down, err)) ||
                       (st = hr_wl_mat(m, N("ffn_gate_inp_shexp.weight"), false, d, 1, &L->sh_router, err))))
            return st;
    }
#undef N
    return HEARTH_OK;
}

void hr_moe_free(hearth_model *m) {
    if (!m || !m->moe) return;
    hr_vec_pool_free(&m->moe->pool);
    free(m->moe->layers);
    free(m->moe);
    m->moe = NULL;
}

/* ------------------------------------------------------------------ scratch */

struct hr_moe_scratch {
    int n_batch;
    float *probs;    /* [n_batch][n_expert] */
    int32_t *sel;    /* [n_batch][k] expert ids, best first */
    float *wsel;     /* [n_batch][k] */
    int32_t *rows;   /* per expert: the (token * k + slot) entries routed to it */
    float *xg;       /* [n_batch][n_embd] gathered inputs */
    float *g, *u;    /* [n_batch][max ff] */
    float *y;        /* [n_batch][n_embd] */
    float *ex;       /* [n_batch][k][n_embd] expert outputs */
    float *shg;      /* [n_batch] shared-expert gate logits */
    hr_mm_scratch mm;
};

hearth_status hr_moe_scratch_new(const hearth_model *m, int n_batch, hr_moe_scratch **out, hearth_error *err) {
    *out = NULL;
    const hr_moe_model *mo = m->moe;
    hr_moe_scratch *sc = calloc(1, sizeof *sc);
    if (!sc) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    const size_t nb = (size_t)n_batch, d = (size_t)m->hp.n_embd, k = (size_t)mo->n_expert_used;
    size_t ff = (size_t)(mo->n_ff_exp > mo->n_ff_shexp ? mo->n_ff_exp : mo->n_ff_shexp);
    sc->n_batch = n_batch;
    sc->probs = malloc(nb * (size_t)mo->n_expert * sizeof(float));
    sc->sel = malloc(nb * k * sizeof(int32_t));
    sc->wsel = malloc(nb * k * sizeof(float));
    sc->rows = malloc(nb * k * sizeof(int32_t));
    sc->xg = malloc(nb * d * sizeof(float));
    sc->g = malloc(nb * ff * sizeof(float));
    sc->u = malloc(nb * ff * sizeof(float));
    sc->y = malloc(nb * d * sizeof(float));
    sc->ex = malloc(nb * k * d * sizeof(float));
    sc->shg = malloc(nb * sizeof(float));
    int64_t max_in = (int64_t)(ff > d ? ff : d);
    sc->mm.cap = hr_mm_scratch_bytes(n_batch, max_in);
    bool ok = sc->probs && sc->sel && sc->wsel && sc->rows && sc->xg && sc->g && sc->u && sc->y && sc->ex && sc->shg;
    for (int i = 0; i < HR_MM_MAX_W; i++) ok = ok && (sc->mm.buf[i] = malloc(sc->mm.cap)) != NULL;
    if (!ok) {
        hr_moe_scratch_free(sc);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for the expert scratch of %d tokens", n_batch);
    }
    *out = sc;
    return HEARTH_OK;
}

void hr_moe_scratch_free(hr_moe_scratch *sc) {
    if (!sc) return;
    free(sc->probs);
    free(sc->sel);
    free(sc->wsel);
    free(sc->rows);
    free(sc->xg);
    free(sc->g);
    free(sc->u);
    free(sc->y);
    free(sc->ex);
    free(sc->shg);
    for (int i = 0; i < HR_MM_MAX_W; i++) free(sc->mm.buf[i]);
    free(sc);
}

/* ------------------------------------------------------------------ forward */

static float silu(float x) { return x / (1.0f + expf(-x)); }

/* ggml_soft_max of one row: exp(x - max) summed in double, then scaled by 1/sum. */
static void softmax_row(float *p, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (p[i] > mx) mx = p[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        p[i] = expf(p[i] - mx);
        sum += (double)p[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) p[i] *= inv;
}

/* The k largest of sel_p (ties to the lower index), best first. */
static void top_k(const float *sel_p, int n, int k, int32_t *out) {
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < n; e++) {
            bool taken = false;
            for (int i = 0; i < j && !taken; i++) taken = out[i] == e;
            if (!taken && (best < 0 || sel_p[e] > sel_p[best])) best = e;
        }
        out[j] = best;
    }
}

static hr_weight expert(const hr_expert_stack *s, int e) {
    hr_weight w = s->w;
    if (w.data) w.data += (size_t)e * s->expert_bytes;
    return w;
}

static void scale_rows(float *v, size_t n, float s) {
    for (size_t i = 0; i < n; i++) v[i] *= s;
}

/* Gated FFN of cnt rows of sc->xg through (gate, up, down), result into y; the
 * per-expert scales gs/us/ds multiply the projections' outputs (1: none). */
static void swiglu(const hearth_model *m, hr_moe_scratch *sc, const hr_weight *gate, const hr_weight *up,
                   const hr_weight *down, float gs, float us, float ds, int cnt, float *y) {
    const size_t nf = (size_t)cnt * (size_t)up->n_out;
    if (!gate->data) { /* ungated: relu(up)^2 */
        const hr_weight *w[1] = {up};
        float *o[1] = {sc->g};
        hr_matmul(m, &sc->mm, 1, w, sc->xg, cnt, o);
        for (size_t i = 0; i < nf; i++) {
            const float r = sc->g[i] > 0.0f ? sc->g[i] : 0.0f;
            sc->g[i] = r * r;
        }
    } else {
        const hr_weight *w[2] = {gate, up};
        float *o[2] = {sc->g, sc->u};
        hr_matmul(m, &sc->mm, 2, w, sc->xg, cnt, o);
        if (gs != 1.0f) scale_rows(sc->g, nf, gs);
        if (us != 1.0f) scale_rows(sc->u, nf, us);
        const float *tab = m->moe->gelu;
        if (tab)
            for (size_t i = 0; i < nf; i++) sc->g[i] = hr_gelu_f16(tab, sc->g[i]) * sc->u[i];
        else
            for (size_t i = 0; i < nf; i++) sc->g[i] = silu(sc->g[i]) * sc->u[i];
    }
    const hr_weight *wd[1] = {down};
    float *od[1] = {y};
    hr_matmul(m, &sc->mm, 1, wd, sc->g, cnt, od);
    if (ds != 1.0f) scale_rows(y, (size_t)cnt * (size_t)down->n_out, ds);
}

void hr_moe_forward(const hearth_model *m, hr_moe_scratch *sc, int il, const float *x, int n, float *out) {
    hr_moe_forward_routed(m, sc, il, x, x, n, out);
}

void hr_moe_forward_routed(const hearth_model *m, hr_moe_scratch *sc, int il, const float *x, const float *router_x,
                           int n, float *out) {
    const hr_moe_model *mo = m->moe;
    const hr_moe_layer *L = &mo->layers[il];
    const int d = m->hp.n_embd, ne = mo->n_expert, k = mo->n_expert_used;

    /* Router: probabilities, selection (biased when the file has exp_probs_b), weights. */
    {
        const hr_weight *w[1] = {&L->router};
        float *o[1] = {sc->probs};
        hr_matmul(m, &sc->mm, 1, w, router_x, n, o);
    }
    float biased[MAX_EXPERTS];
    for (int t = 0; t < n; t++) {
        float *p = sc->probs + (size_t)t * ne;
        if (mo->gating == HR_MOE_GATE_SOFTMAX) softmax_row(p, ne);
        else
            for (int e = 0; e < ne; e++) p[e] = 1.0f / (1.0f + expf(-p[e]));
        const float *selp = p;
        if (L->probs_bias) {
            for (int e = 0; e < ne; e++) biased[e] = p[e] + L->probs_bias[e];
            selp = biased;
        }
        int32_t *sel = sc->sel + (size_t)t * k;
        float *ws = sc->wsel + (size_t)t * k;
        top_k(selp, ne, k, sel);
        for (int j = 0; j < k; j++) ws[j] = p[sel[j]];
        if (mo->norm_w) {
            double sum = 0.0;
            for (int j = 0; j < k; j++) sum += (double)ws[j];
            float fs = (float)sum;
            if (fs < 6.103515625e-5f) fs = 6.103515625e-5f;
            for (int j = 0; j < k; j++) ws[j] /= fs;
        }
        if (mo->w_scale != 0.0f && mo->w_scale != 1.0f)
            for (int j = 0; j < k; j++) ws[j] *= mo->w_scale;
    }

    /* Experts: each selected expert runs once over the tokens routed to it. */
    for (int e = 0; e < ne; e++) {
        int cnt = 0;
        for (int i = 0; i < n * k; i++)
            if (sc->sel[i] == e) sc->rows[cnt++] = i;
        if (!cnt) continue;
        for (int r = 0; r < cnt; r++)
            memcpy(sc->xg + (size_t)r * d, x + (size_t)(sc->rows[r] / k) * d, (size_t)d * sizeof(float));
        hr_weight g = expert(&L->gate, e), u = expert(&L->up, e), dn = expert(&L->down, e);
        swiglu(m, sc, &g, &u, &dn, L->gate_scale ? L->gate_scale[e] : 1.0f, L->up_scale ? L->up_scale[e] : 1.0f,
               L->down_scale ? L->down_scale[e] : 1.0f, cnt, sc->y);
        for (int r = 0; r < cnt; r++)
            memcpy(sc->ex + (size_t)sc->rows[r] * d, sc->y + (size_t)r * d, (size_t)d * sizeof(float));
    }
    /* Weighted sum in slot order, as ggml adds the per-slot views one after another. */
    for (int t = 0; t < n; t++) {
        float *o = out + (size_t)t * d;
        const float *ws = sc->wsel + (size_t)t * k;
        const float *ex = sc->ex + (size_t)t * k * d;
        for (int i = 0; i < d; i++) o[i] = ex[i] * ws[0];
        for (int j = 1; j < k; j++)
            for (int i = 0; i < d; i++) o[i] += ex[(size_t)j * d + i] * ws[j];
    }

    /* Shared expert, gated by sigmoid (ggml: silu(x) / x) when the file has a gate row. */
    if (L->sh_up.data) {
        memcpy(sc->xg, x, (size_t)n * d * sizeof(float));
        swiglu(m, sc, &L->sh_gate, &L->sh_up, &L->sh_down, 1.0f, 1.0f, 1.0f, n, sc->y);
        if (L->sh_router.data) {
            const hr_weight *w[1] = {&L->sh_router};
            float *o[1] = {sc->shg};
            hr_matmul(m, &sc->mm, 1, w, x, n, o);
        }
        for (int t = 0; t < n; t++) {
            const float gv = L->sh_router.data ? silu(sc->shg[t]) / sc->shg[t] : 1.0f;
            float *o = out + (size_t)t * d;
            const float *y = sc->y + (size_t)t * d;
            for (int i = 0; i < d; i++) o[i] += L->sh_router.data ? y[i] * gv : y[i];
        }
    }
}
