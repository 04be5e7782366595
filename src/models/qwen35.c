/* Qwen 3.5: loading, per-sequence recurrent state and the forward pass.
 * Each step mirrors the ggml op llama.cpp uses (rms_norm with a double sum,
 * ssm_conv's float window sum, the fused gated_delta_net's per-token update
 * with its transposed state, NEOX rope over the first n_rot dimensions,
 * soft_max with a double sum), so results agree within rounding. The delta
 * rule runs token by token when decoding, as llama.cpp's fused CPU op does,
 * and in the chunked parallel form for prompts (gdn_chunked.c). */
#include "models/qwen35.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "models/hybrid_internal.h"
#include "models/moe.h"
#include "models/nemotron_h.h"

/* ------------------------------------------------------------------ loading */

static hearth_status get_u32(const hr_gguf *g, const char *an, const char *suffix, bool required, int32_t *out,
                             hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", an, suffix);
    if (hr_gguf_find_key(g, key) < 0)
        return required ? hr_fail(err, HEARTH_ERR_MISSING, "required metadata '%s' is missing", key) : HEARTH_OK;
    uint32_t v = 0;
    hearth_status st = hr_gguf_get_u32(g, key, &v, err);
    if (st) return st;
    if (v == 0 || v > (1u << 20)) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' = %u is out of range", key, v);
    *out = (int32_t)v;
    return HEARTH_OK;
}

/* Which layers are recurrent: attention.recurrent_layers when present, else
 * every layer but each full_attention_interval-th (default 4). */
static hearth_status recurrent_layers(hearth_model *m, hr_qwen35_model *q, hearth_error *err) {
    const hr_gguf *g = m->gguf;
    const int n_layer = m->hp.n_layer;
    char key[128];
    snprintf(key, sizeof key, "%s.attention.recurrent_layers", m->arch->name);
    int64_t ki = hr_gguf_find_key(g, key);
    if (ki >= 0) {
        if (hr_gguf_kv_type(g, ki) != HR_GGUF_ARRAY || hr_gguf_arr_len(g, ki) != (uint64_t)n_layer)
            return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' must be an array of %d entries", key, n_layer);
        hr_gguf_type at = hr_gguf_arr_type(g, ki);
        size_t es = hr_gguf_type_size(at);
        if (at == HR_GGUF_STRING || at == HR_GGUF_ARRAY || at == HR_GGUF_FLOAT32 || at == HR_GGUF_FLOAT64 || !es)
            return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' must hold booleans or integers", key);
        const uint8_t *data = hr_gguf_arr_data(g, ki);
        for (int il = 0; il < n_layer; il++) {
            bool nz = false;
            for (size_t b = 0; b < es; b++) nz |= data[(size_t)il * es + b] != 0;
            q->layers[il].recurrent = nz;
        }
        return HEARTH_OK;
    }
    int32_t interval = 4;
    hearth_status st = get_u32(g, m->arch->name, "full_attention_interval", false, &interval, err);
    if (st) return st;
    for (int il = 0; il < n_layer; il++) q->layers[il].recurrent = (il + 1) % interval != 0;
    return HEARTH_OK;
}

static hearth_status load_hparams(hearth_model *m, hr_qwen35_model *q, hearth_error *err) {
    const hr_gguf *g = m->gguf;
    const char *an = m->arch->name;
    const hr_hparams *hp = &m->hp;
    hearth_status st;
    if ((st = get_u32(g, an, "ssm.conv_kernel", true, &q->d_conv, err)) ||
        (st = get_u32(g, an, "ssm.inner_size", true, &q->d_inner, err)) ||
        (st = get_u32(g, an, "ssm.state_size", true, &q->d_state, err)) ||
        (st = get_u32(g, an, "ssm.time_step_rank", true, &q->n_v_heads, err)) ||
        (st = get_u32(g, an, "ssm.group_count", true, &q->n_k_heads, err)))
        return st;
    if (q->d_conv > 64) return hr_fail(err, HEARTH_ERR_FORMAT, "%s.ssm.conv_kernel = %d is out of range", an, q->d_conv);
    if (q->d_inner % q->n_v_heads || q->n_v_heads % q->n_k_heads)
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: ssm sizes are inconsistent (inner %d, v heads %d, k heads %d)", an,
                       q->d_inner, q->n_v_heads, q->n_k_heads);
    q->head_v_dim = q->d_inner / q->n_v_heads;
    if (q->head_v_dim != q->d_state)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s: value head size %d differs from the state size %d", an,
                       q->head_v_dim, q->d_state);
    if (q->d_state > 4096 || (int64_t)q->d_state * q->n_k_heads > (1 << 20))
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: ssm sizes are out of range", an);
    q->conv_dim = 2 * q->d_state * q->n_k_heads + q->d_inner;

    /* The rope sections only matter for image positions: text tokens carry one
     * position in every section, which makes the interleaved rope a NEOX rope
     * over the first n_rot dimensions. They are read to validate the file. */
    char key[128];
    snprintf(key, sizeof key, "%s.rope.dimension_sections", an);
    int64_t ki = hr_gguf_find_key(g, key);
    if (ki < 0) return hr_fail(err, HEARTH_ERR_MISSING, "required metadata '%s' is missing", key);
    if (hr_gguf_kv_type(g, ki) != HR_GGUF_ARRAY || hr_gguf_arr_len(g, ki) < 3 || hr_gguf_arr_len(g, ki) > 4 ||
        (hr_gguf_arr_type(g, ki) != HR_GGUF_INT32 && hr_gguf_arr_type(g, ki) != HR_GGUF_UINT32))
        return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' must be an array of 3 or 4 integers", key);
    const uint8_t *secs = hr_gguf_arr_data(g, ki); /* array data in the file need not be aligned */
    int64_t sum = 0;
    for (uint64_t i = 0; i < hr_gguf_arr_len(g, ki); i++) {
        int32_t v;
        memcpy(&v, secs + i * sizeof v, sizeof v);
        if (v < 0 || v > 4096) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' is out of range", key);
        q->rope_sections[i] = v;
        sum += v;
    }
    if (sum == 0 || sum > hp->head_dim / 2)
        return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' sums to %lld, outside 1..%d", key, (long long)sum,
                       hp->head_dim / 2);
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: rope.dimension_count %d must be even and at most the head size %d",
                       an, hp->n_rot, hp->head_dim);
    if (hp->yarn_ext_factor != 0.0f)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s: YaRN rope scaling is not supported for this architecture", an);
    return HEARTH_OK;
}

hearth_status hr_qwen35_load(hearth_model *m, hearth_error *err) {
    const hr_hparams *hp = &m->hp;
    hr_qwen35_model *q = calloc(1, sizeof *q);
    if (!q) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    m->qwen35 = q;
    q->layers = calloc((size_t)hp->n_layer, sizeof *q->layers);
    if (!q->layers) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    hearth_status st;
    if ((st = load_hparams(m, q, err)) || (st = recurrent_layers(m, q, err))) return st;

    const int64_t d = hp->n_embd, hd = hp->head_dim, dq = (int64_t)hp->n_head * hd,
                  dkv = (int64_t)hp->n_head_kv * hd, ff = hp->n_ff;
    const int64_t key_dim = (int64_t)q->d_state * q->n_k_heads, vdim = q->d_inner, nvh = q->n_v_heads;
    char nm[96];
    hr_vec_pool *pool = &q->pool;
#define N(suffix) (snprintf(nm, sizeof nm, "blk.%d." suffix, il), nm)
    for (int il = 0; il < hp->n_layer; il++) {
        hr_layer *L = &m->layers[il];
        hr_gdn_layer *G = &q->layers[il];
        if ((st = hr_wl_vec(m, pool, N("attn_norm.weight"), true, 1, &d, &L->attn_norm, err)) ||
            (st = hr_wl_vec(m, pool, N("post_attention_norm.weight"), true, 1, &d, &L->ffn_norm, err)))
            return st;
        /* qwen35moe: expert FFNs, loaded by models/moe.c */
        if (!m->arch->moe && ((st = hr_wl_mat(m, N("ffn_gate.weight"), true, d, ff, &L->gate, err)) ||
                              (st = hr_wl_mat(m, N("ffn_up.weight"), true, d, ff, &L->up, err)) ||
                              (st = hr_wl_mat(m, N("ffn_down.weight"), true, ff, d, &L->down, err))))
            return st;
        if (!G->recurrent) {
            /* attn_q holds each head's query followed by its output gate */
            if ((st = hr_wl_mat(m, N("attn_q.weight"), true, d, 2 * dq, &L->wq, err)) ||
                (st = hr_wl_mat(m, N("attn_k.weight"), true, d, dkv, &L->wk, err)) ||
                (st = hr_wl_mat(m, N("attn_v.weight"), true, d, dkv, &L->wv, err)) ||
                (st = hr_wl_mat(m, N("attn_output.weight"), true, dq, d, &L->wo, err)) ||
                (st = hr_wl_vec(m, pool, N("attn_q_norm.weight"), true, 1, &hd, &L->q_norm, err)) ||
                (st = hr_wl_vec(m, pool, N("attn_k_norm.weight"), true, 1, &hd, &L->k_norm, err)))
                return st;
            continue;
        }
        q->n_recurrent++;
        const int64_t conv_ne[2] = {q->d_conv, q->conv_dim};
        const int64_t hv = q->head_v_dim;
        if ((st = hr_wl_mat(m, N("attn_qkv.weight"), true, d, 2 * key_dim + vdim, &G->wqkv, err)) ||
            (st = hr_wl_mat(m, N("attn_gate.weight"), true, d, vdim, &G->wz, err)) ||
            (st = hr_wl_mat(m, N("ssm_beta.weight"), true, d, nvh, &G->wbeta, err)) ||
            (st = hr_wl_mat(m, N("ssm_alpha.weight"), true, d, nvh, &G->walpha, err)) ||
            (st = hr_wl_mat(m, N("ssm_out.weight"), true, vdim, d, &G->wout, err)) ||
            (st = hr_wl_vec(m, pool, N("ssm_conv1d.weight"), true, 2, conv_ne, &G->conv, err)) ||
            (st = hr_wl_vec(m, pool, N("ssm_dt.bias"), true, 1, &nvh, &G->dt_bias, err)) ||
            (st = hr_wl_vec(m, pool, N("ssm_a"), true, 1, &nvh, &G->a, err)) ||
            (st = hr_wl_vec(m, pool, N("ssm_norm.weight"), true, 1, &hv, &G->norm, err)))
            return st;
    }
#undef N
    return HEARTH_OK;
}

void hr_qwen35_free(hearth_model *m) {
    if (!m || !m->qwen35) return;
    hr_vec_pool_free(&m->qwen35->pool);
    free(m->qwen35->layers);
    free(m->qwen35);
    m->qwen35 = NULL;
}

static size_t conv_state_floats(const hr_qwen35_model *q) { return (size_t)(q->d_conv - 1) * (size_t)q->conv_dim; }
static size_t ssm_state_floats(const hr_qwen35_model *q) {
    return (size_t)q->n_v_heads * (size_t)q->d_state * (size_t)q->d_state;
}

static bool is_recurrent(const hearth_model *m, int il) {
    if (m->qwen35) return m->qwen35->layers[il].recurrent;
    if (m->nemotron) return m->nemotron->layers[il].kind != HR_NH_ATTN; /* MLP layers have no cache either */
    return false;
}

int32_t hr_model_kv_layers(const hearth_model *m) {
    int32_t n = 0;
    for (int il = 0; il < m->hp.n_layer; il++) n += !is_recurrent(m, il);
    return n;
}

uint64_t hearth_model_state_bytes(const hearth_model *m) {
    if (!m) return 0;
    if (m->qwen35) {
        const hr_qwen35_model *q = m->qwen35;
        return (uint64_t)q->n_recurrent * (conv_state_floats(q) + ssm_state_floats(q)) * sizeof(float);
    }
    if (m->nemotron) {
        const hr_nemotron_model *q = m->nemotron;
        return (uint64_t)q->n_recurrent *
               ((uint64_t)(q->d_conv - 1) * (uint64_t)q->conv_dim + (uint64_t)q->d_inner * (uint64_t)q->d_state) *
               sizeof(float);
    }
    return 0;
}

/* ------------------------------------------------------------------ session */

void hr_qwen35_session_reset(hr_qwen35_session *qs) {
    if (!qs) return;
    memset(qs->state, 0, qs->state_floats * sizeof(float));
    for (int i = 0; i < HR_HY_CKPT; i++) qs->ckpt_pos[i] = -1;
}

hearth_status hr_qwen35_session_new(hearth_session *s, hearth_error *err) {
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    hr_qwen35_session *qs = calloc(1, sizeof *qs);
    if (!qs) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    s->qwen35 = qs;
    for (int i = 0; i < HR_HY_CKPT; i++) qs->ckpt_pos[i] = -1;
    /* Per-architecture sizes: state per recurrent layer, projection widths. */
    size_t per_layer, n_rec, cd, proj, zd, nh, core;
    if (m->qwen35) {
        const hr_qwen35_model *q = m->qwen35;
        per_layer = conv_state_floats(q) + ssm_state_floats(q);
        n_rec = (size_t)q->n_recurrent;
        cd = proj = (size_t)q->conv_dim;
        zd = core = (size_t)q->d_inner;
        nh = (size_t)q->n_v_heads;
    } else {
        const hr_nemotron_model *q = m->nemotron;
        cd = (size_t)q->conv_dim;
        per_layer = (size_t)(q->d_conv - 1) * cd + (size_t)q->d_inner * (size_t)q->d_state;
        n_rec = (size_t)q->n_recurrent;
        proj = (size_t)q->d_in_proj;
        zd = 1;
        core = (size_t)q->d_inner;
        nh = (size_t)q->n_head;
    }
    qs->per_layer = per_layer;
    qs->state_floats = per_layer * n_rec;
    qs->state = calloc(qs->state_floats ? qs->state_floats : 1, sizeof(float));
    qs->state_off = malloc((size_t)hp->n_layer * sizeof *qs->state_off);
    qs->kv_slot = malloc((size_t)hp->n_layer * sizeof *qs->kv_slot);
    if (qs->state_off && qs->kv_slot) {
        int32_t idx = 0, kv = 0;
        for (int il = 0; il < hp->n_layer; il++) {
            bool rec = m->qwen35 ? m->qwen35->layers[il].recurrent : m->nemotron->layers[il].kind == HR_NH_MAMBA;
            qs->state_off[il] = rec ? idx++ : -1;
            qs->kv_slot[il] = is_recurrent(m, il) ? -1 : kv++;
        }
    }
    const size_t nb = (size_t)s->n_batch, d = (size_t)hp->n_embd, hd = (size_t)hp->head_dim;
    const size_t dq = (size_t)hp->n_head * hd, dkv = (size_t)hp->n_head_kv * hd, ff = (size_t)hp->n_ff;
    float **bufs[] = {&qs->qg, &qs->q, &qs->k, &qs->v, &qs->att, &qs->qkv, &qs->z, &qs->beta, &qs->alpha,
                      &qs->conv, &qs->core, &qs->out, &qs->gate, &qs->up, &qs->rope};
    const size_t sizes[] = {2 * dq, dq, dkv, dkv, dq, proj, zd, nh, nh, cd, core, d, ff, ff, (size_t)hp->n_rot + 2};
    bool ok = qs->state && qs->state_off && qs->kv_slot;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) ok = ok && (*bufs[i] = malloc(nb * sizes[i] * sizeof(float)));
    qs->attn_stride = hr_attention_scratch_floats(hp, s->n_ctx);
    int nt = hr_threadpool_n_threads(m->pool);
    ok = ok && (qs->attn_scratch = malloc((size_t)nt * qs->attn_stride * sizeof(float)));
    /* per-thread workspace of the chunked prompt forms */
    qs->chunk_ws_stride = m->qwen35 ? hr_gdn_chunk_ws_floats(m->qwen35->d_state)
                                    : hr_nemotron_chunk_ws_floats(m->nemotron);
    ok = ok && (qs->chunk_ws = malloc((size_t)nt * qs->chunk_ws_stride * sizeof(float)));
    int64_t max_in = (int64_t)(d > ff ? d : ff);
    if ((int64_t)dq > max_in) max_in = (int64_t)dq;
    if ((int64_t)core > max_in) max_in = (int64_t)core;
    qs->mm.cap = hr_mm_scratch_bytes(s->n_batch, max_in);
    for (int i = 0; i < HR_MM_MAX_W; i++) ok = ok && (qs->mm.buf[i] = malloc(qs->mm.cap));
    if (!ok) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for the recurrent state and scratch");
    return HEARTH_OK;
}

void hr_qwen35_session_free(hr_qwen35_session *qs) {
    if (!qs) return;
    float *bufs[] = {qs->qg, qs->q, qs->k, qs->v, qs->att, qs->qkv, qs->z, qs->beta, qs->alpha,
                     qs->conv, qs->core, qs->out, qs->gate, qs->up, qs->rope, qs->attn_scratch, qs->state, qs->chunk_ws};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    for (int i = 0; i < HR_MM_MAX_W; i++) free(qs->mm.buf[i]);
    for (int i = 0; i < HR_HY_CKPT; i++) free(qs->ckpt[i]);
    free(qs->state_off);
    free(qs->kv_slot);
    free(qs);
}

/* ------------------------------------------------------------------ forward */

float hr_hy_silu(float x) { return x / (1.0f + expf(-x)); }
float hr_hy_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
float hr_hy_softplus(float x) { return x > 20.0f ? x : logf(1.0f + expf(x)); }

/* ggml_rms_norm (sum of squares in double), times w when given. */
void hr_hy_rmsnorm(const float *x, const float *w, float *y, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) y[i] = w ? (x[i] * scale) * w[i] : x[i] * scale;
}

/* llama.cpp's L2 norm of the delta net: rms_norm with eps/n, then scaled by 1/sqrt(n). */
static void l2norm(float *x, int n, float eps) {
    hr_hy_rmsnorm(x, NULL, x, n, eps / (float)n);
    const float s = 1.0f / sqrtf((float)n);
    for (int i = 0; i < n; i++) x[i] *= s;
}

/* cos/sin pairs of the first n_rot dimensions at one position (ggml_rope_cache_init without YaRN). */
static void rope_cache(const hr_hparams *hp, int64_t pos, float *cache) {
    const float theta_scale = powf(hp->rope_freq_base, -2.0f / hp->n_rot);
    float theta = (float)pos;
    for (int i0 = 0; i0 < hp->n_rot; i0 += 2) {
        const float th = hp->rope_freq_scale * theta;
        cache[i0] = cosf(th) * hp->rope_attn_factor;
        cache[i0 + 1] = sinf(th) * hp->rope_attn_factor;
        theta *= theta_scale;
    }
}

void hr_hy_matmul1(const hearth_model *m, hr_mm_scratch *mm, const hr_weight *w, const float *x, int n, float *y) {
    const hr_weight *ws[1] = {w};
    float *os[1] = {y};
    hr_matmul(m, mm, 1, ws, x, n, os);
}


static void store_kv(hearth_session *s, int layer, int n, int pos0) {
    const hr_hparams *hp = &s->m->hp;
    hr_qwen35_session *qs = s->qwen35;
    const int dkv = hp->n_head_kv * hp->head_dim;
    const size_t layer_off = (size_t)qs->kv_slot[layer] * s->n_ctx * s->kv_row_bytes;
    for (int t = 0; t < n; t++) {
        uint8_t *kd = s->k_cache + layer_off + (size_t)(pos0 + t) * s->kv_row_bytes;
        uint8_t *vd = s->v_cache + layer_off + (size_t)(pos0 + t) * s->kv_row_bytes;
        const float *ks = qs->k + (size_t)t * dkv, *vs = qs->v + (size_t)t * dkv;
        if (s->kv_type == HR_TYPE_F32) {
            memcpy(kd, ks, (size_t)dkv * sizeof(float));
            memcpy(vd, vs, (size_t)dkv * sizeof(float));
        } else {
            s->m->kernels.quantize_row[s->kv_type](ks, kd, dkv);
            s->m->kernels.quantize_row[s->kv_type](vs, vd, dkv);
        }
    }
}

static void add_bias(float *y, const float *b, int n, int64_t w) {
    if (!b) return;
    for (int t = 0; t < n; t++)
        for (int64_t i = 0; i < w; i++) y[(size_t)t * w + i] += b[i];
}

void hr_hy_attention(hearth_session *s, int il, const float *xn, int n, bool gated) {
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    hr_qwen35_session *qs = s->qwen35;
    const hr_layer *L = &m->layers[il];
    const int hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv, dq = nh * hd, dkv = nkv * hd;
    {
        const hr_weight *w[3] = {&L->wq, &L->wk, &L->wv};
        float *o[3] = {gated ? qs->qg : qs->q, qs->k, qs->v};
        hr_matmul(m, &qs->mm, 3, w, xn, n, o);
    }
    add_bias(qs->q, L->bq, n, dq);
    add_bias(qs->k, L->bk, n, dkv);
    add_bias(qs->v, L->bv, n, dkv);
    /* Qwen 3.5: each head's query is followed by its output gate; q/k RMSNorm and rope. */
    for (int t = 0; t < n && gated; t++) {
        const float *rc = qs->rope + (size_t)t * (hp->n_rot + 2);
        for (int h = 0; h < nh; h++) {
            const float *src = qs->qg + (size_t)t * 2 * dq + (size_t)h * 2 * hd;
            float *qh = qs->q + (size_t)t * dq + (size_t)h * hd;
            hr_hy_rmsnorm(src, L->q_norm, qh, hd, hp->rms_eps);
            hr_rope_neox(hp->n_rot, rc, qh);
        }
        for (int h = 0; h < nkv; h++) {
            float *kh = qs->k + (size_t)t * dkv + (size_t)h * hd;
            hr_hy_rmsnorm(kh, L->k_norm, kh, hd, hp->rms_eps);
            hr_rope_neox(hp->n_rot, rc, kh);
        }
    }
    store_kv(s, il, n, s->n_past);
    {
        const size_t layer_off = (size_t)qs->kv_slot[il] * s->n_ctx * s->kv_row_bytes;
        hr_attention(s, qs->q, qs->att, s->k_cache + layer_off, s->v_cache + layer_off, qs->attn_scratch, qs->attn_stride, n,
                     s->n_past);
    }
    for (int t = 0; t < n && gated; t++)
        for (int h = 0; h < nh; h++) {
            const float *g = qs->qg + (size_t)t * 2 * dq + (size_t)h * 2 * hd + hd;
            float *a = qs->att + (size_t)t * dq + (size_t)h * hd;
            for (int i = 0; i < hd; i++) a[i] *= hr_hy_sigmoid(g[i]);
        }
    hr_hy_matmul1(m, &qs->mm, &L->wo, qs->att, n, qs->out);
    add_bias(qs->out, L->bo, n, hp->n_embd);
}

typedef struct {
    const float *w, *bias, *in;
    float *win, *out;
    int K, cd, n;
    size_t in_stride;
} conv_job;

static void conv_channels(void *ctx, int64_t c0, int64_t c1, int ith) {
    (void)ith;
    const conv_job *j = ctx;
    const int K = j->K;
    for (int64_t c = c0; c < c1; c++) {
        const float *wc = j->w + (size_t)c * K;
        float *wn = j->win + (size_t)c * (K - 1);
        for (int t = 0; t < j->n; t++) {
            /* window: K-1 earlier inputs, then this token's (ggml_ssm_conv's float sum) */
            float sum = 0.0f;
            for (int i = 0; i < K - 1; i++) sum += wn[i] * wc[i];
            const float x = j->in[(size_t)t * j->in_stride + c];
            sum += x * wc[K - 1];
            if (j->bias) sum += j->bias[c];
            j->out[(size_t)t * j->cd + c] = hr_hy_silu(sum);
            if (K > 1) {
                for (int i = 0; i + 1 < K - 1; i++) wn[i] = wn[i + 1]; /* a few floats: no library call */
                wn[K - 2] = x;
            }
        }
    }
}

void hr_hy_conv(hr_threadpool *pool, const float *w, const float *bias, int K, int cd, float *win, const float *in,
                size_t in_stride, int n, float *out) {
    conv_job j = {.w = w, .bias = bias, .in = in, .win = win, .out = out, .K = K, .cd = cd, .n = n, .in_stride = in_stride};
    /* channels are independent: pieces of channels, each over all tokens (a token alone: not worth a wake-up) */
    hr_parallel_for(pool, cd, n > 1 ? 64 : cd, conv_channels, &j);
}

typedef struct {
    const hr_qwen35_model *q;
    const hr_gdn_layer *G;
    hr_qwen35_session *qs;
    float *S; /* the layer's delta-rule states [n_v_heads][d][d] */
    int n;
    float eps;
    hr_vec_dot_fn dot;
    atomic_int next;
} gdn_job;

/* The gated RMSNorm of one head's output with silu(z). */
static void gdn_out_norm(const gdn_job *j, int t, int h) {
    const int D = j->q->d_state;
    float *o = j->qs->core + (size_t)t * j->q->d_inner + (size_t)h * D;
    const float *z = j->qs->z + (size_t)t * j->q->d_inner + (size_t)h * D;
    hr_hy_rmsnorm(o, j->G->norm, o, D, j->eps);
    for (int r = 0; r < D; r++) o[r] *= hr_hy_silu(z[r]);
}

/* A prompt (n > 1): the chunked parallel form, HR_GDN_CHUNK tokens at a time. */
static void gdn_chunked_head(const gdn_job *j, int h, float *ws) {
    const hr_qwen35_model *q = j->q;
    const hr_qwen35_session *qs = j->qs;
    const int D = q->d_state, Hv = q->n_v_heads, Hk = q->n_k_heads, cd = q->conv_dim, hk = h % Hk;
    float *S = j->S + (size_t)h * D * D;
    for (int t0 = 0; t0 < j->n; t0 += HR_GDN_CHUNK) {
        const int c = j->n - t0 < HR_GDN_CHUNK ? j->n - t0 : HR_GDN_CHUNK;
        const float *row = qs->conv + (size_t)t0 * cd;
        const hr_gdn_io io = {.q = row + (size_t)hk * D, .k = row + (size_t)Hk * D + (size_t)hk * D,
                              .v = row + (size_t)2 * Hk * D + (size_t)h * D, .stride = (size_t)cd,
                              .beta = qs->beta + (size_t)t0 * Hv + h, .g = qs->alpha + (size_t)t0 * Hv + h,
                              .gstride = (size_t)Hv, .out = qs->core + (size_t)t0 * q->d_inner + (size_t)h * D,
                              .out_stride = (size_t)q->d_inner};
        hr_gdn_chunk(j->dot, D, c, &io, 1.0f / sqrtf((float)D), S, ws);
        for (int t = t0; t < t0 + c; t++) gdn_out_norm(j, t, h);
    }
}

/* The gated delta rule for one value head over the n tokens. Decoding: token
 * by token as ggml's fused op: S stored transposed (row j holds column j),
 * decayed by exp(g), then delta = (v - S^T k) * beta, S += k delta^T,
 * out = S^T q / sqrt(d). Prompts: the chunked form (gdn_chunked.c). Then the
 * gated RMSNorm of the output with hr_hy_silu(z). */
static void gdn_task(void *ctx, int ith, int nth) {
    (void)nth;
    gdn_job *j = ctx;
    const hr_qwen35_model *q = j->q;
    hr_qwen35_session *qs = j->qs;
    const int D = q->d_state, Hv = q->n_v_heads, Hk = q->n_k_heads, cd = q->conv_dim;
    const float scale = 1.0f / sqrtf((float)D);
    float delta[4096];
    for (;;) {
        int h = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (h >= Hv) return;
        if (j->n > 1) {
            gdn_chunked_head(j, h, qs->chunk_ws + (size_t)ith * qs->chunk_ws_stride);
            continue;
        }
        const int hk = h % Hk;
        float *S = j->S + (size_t)h * D * D;
        for (int t = 0; t < j->n; t++) {
            const float *row = qs->conv + (size_t)t * cd;
            const float *qv = row + (size_t)hk * D, *kv = row + (size_t)Hk * D + (size_t)hk * D;
            const float *vv = row + (size_t)2 * Hk * D + (size_t)h * D;
            const float beta = qs->beta[(size_t)t * Hv + h], decay = expf(qs->alpha[(size_t)t * Hv + h]);
            for (int i = 0; i < D * D; i++) S[i] *= decay;
            for (int r = 0; r < D; r++) {
                float sum = 0.0f;
                for (int i = 0; i < D; i++) sum += S[(size_t)r * D + i] * kv[i];
                delta[r] = (vv[r] - sum) * beta;
            }
            for (int r = 0; r < D; r++)
                for (int i = 0; i < D; i++) S[(size_t)r * D + i] += kv[i] * delta[r];
            float *o = qs->core + (size_t)t * q->d_inner + (size_t)h * D;
            for (int r = 0; r < D; r++) {
                float sum = 0.0f;
                for (int i = 0; i < D; i++) sum += S[(size_t)r * D + i] * qv[i];
                o[r] = sum * scale;
            }
            gdn_out_norm(j, t, h);
        }
    }
}

/* Gated DeltaNet layer: projections, causal short convolution over the
 * window kept in the state, SiLU, L2-normalised q/k, delta rule, gated norm,
 * output projection. Result in qs->out. */
static void gated_deltanet(hearth_session *s, int il, const float *xn, int n) {
    const hearth_model *m = s->m;
    const hr_qwen35_model *q = m->qwen35;
    const hr_gdn_layer *G = &q->layers[il];
    hr_qwen35_session *qs = s->qwen35;
    const int cd = q->conv_dim, K = q->d_conv, D = q->d_state, Hk = q->n_k_heads, Hv = q->n_v_heads;
    {
        const hr_weight *w[3] = {&G->wqkv, &G->wz, &G->wbeta};
        float *o[3] = {qs->qkv, qs->z, qs->beta};
        hr_matmul(m, &qs->mm, 3, w, xn, n, o);
    }
    hr_hy_matmul1(m, &qs->mm, &G->walpha, xn, n, qs->alpha);
    for (int t = 0; t < n; t++)
        for (int h = 0; h < Hv; h++) {
            float *b = &qs->beta[(size_t)t * Hv + h], *a = &qs->alpha[(size_t)t * Hv + h];
            *b = hr_hy_sigmoid(*b);
            *a = hr_hy_softplus(*a + G->dt_bias[h]) * G->a[h]; /* log of the decay */
        }
    float *cs = qs->state + (size_t)qs->state_off[il] * qs->per_layer; /* [cd][K-1] */
    float *S = cs + conv_state_floats(q);
    hr_hy_conv(m->pool, G->conv, NULL, K, cd, cs, qs->qkv, (size_t)cd, n, qs->conv);
    for (int t = 0; t < n; t++) {
        float *row = qs->conv + (size_t)t * cd;
        for (int h = 0; h < 2 * Hk; h++) l2norm(row + (size_t)h * D, D, m->hp.rms_eps);
    }
    gdn_job gj = {.q = q, .G = G, .qs = qs, .S = S, .n = n, .eps = m->hp.rms_eps,
                  .dot = m->kernels.vec_dot[HR_TYPE_F32]};
    atomic_init(&gj.next, 0);
    hr_threadpool_run(m->pool, gdn_task, &gj);
    hr_hy_matmul1(m, &qs->mm, &G->wout, qs->core, n, qs->out);
}

void hr_qwen35_forward(hearth_session *s, const int32_t *tokens, int n, float *all) {
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    hr_qwen35_session *qs = s->qwen35;
    const int d = hp->n_embd, ff = hp->n_ff;
    const hr_type_traits *et = hr_type_traits_get(m->tok_embd.type);
    for (int t = 0; t < n; t++) {
        et->to_float(m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes, s->x + (size_t)t * d, d);
        rope_cache(hp, s->n_past + t, qs->rope + (size_t)t * (hp->n_rot + 2));
    }
    for (int il = 0; il < hp->n_layer; il++) {
        const hr_layer *L = &m->layers[il];
        for (int t = 0; t < n; t++) hr_hy_rmsnorm(s->x + (size_t)t * d, L->attn_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
        if (m->qwen35->layers[il].recurrent) gated_deltanet(s, il, s->xn, n);
        else hr_hy_attention(s, il, s->xn, n, true);
        for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += qs->out[i];

        for (int t = 0; t < n; t++) hr_hy_rmsnorm(s->x + (size_t)t * d, L->ffn_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
        if (m->moe) {
            hr_moe_forward(m, s->moe, il, s->xn, n, qs->out);
            for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += qs->out[i];
            continue;
        }
        {
            const hr_weight *w[2] = {&L->gate, &L->up};
            float *o[2] = {qs->gate, qs->up};
            hr_matmul(m, &qs->mm, 2, w, s->xn, n, o);
        }
        for (size_t i = 0; i < (size_t)n * ff; i++) qs->gate[i] = hr_hy_silu(qs->gate[i]) * qs->up[i];
        hr_hy_matmul1(m, &qs->mm, &L->down, qs->gate, n, qs->out);
        for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += qs->out[i];
    }
    s->n_past += n;

    const int first = all ? 0 : n - 1, rows = n - first;
    for (int t = first; t < n; t++) hr_hy_rmsnorm(s->x + (size_t)t * d, m->output_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
    hr_hy_matmul1(m, &qs->mm, &m->output, s->xn + (size_t)first * d, rows, all ? all : s->logits);
    if (all) memcpy(s->logits, all + (size_t)(n - 1) * hp->n_vocab, (size_t)hp->n_vocab * sizeof(float));
    s->has_logits = true;
}
