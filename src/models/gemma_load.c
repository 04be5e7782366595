/* Loading gemma3 / gemma4 files, with the defaults and per-layer resolution
 * of llama.cpp (llama_model_gemma3/gemma4::load_arch_hparams, load_arch_tensors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "models/gemma.h"
#include "models/moe.h"

#define MAX_DIM (1 << 20)

static hearth_status own(hr_gemma *g, float *p, hearth_error *err) {
    if (g->n_owned == g->cap_owned) {
        size_t cap = g->cap_owned ? g->cap_owned * 2 : 64;
        float **n = realloc(g->owned, cap * sizeof *n);
        if (!n) {
            free(p);
            return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        }
        g->owned = n;
        g->cap_owned = cap;
    }
    g->owned[g->n_owned++] = p;
    return HEARTH_OK;
}

void hr_gemma_free(hr_gemma *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_owned; i++) free(g->owned[i]);
    free(g->owned);
    free(g->layers);
    free(g->gelu);
    free(g);
}

static const hr_gguf_tensor *find2(const hearth_model *m, const char *name, int64_t ne0, int64_t ne1, bool required,
                                   hearth_status *st, hearth_error *err) {
    *st = HEARTH_OK;
    const hr_gguf_tensor *t = hr_gguf_find_tensor(m->gguf, name);
    if (!t) {
        if (required) *st = hr_fail(err, HEARTH_ERR_MISSING, "required tensor '%s' is missing", name);
        return NULL;
    }
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1) {
        *st = hr_fail(err, HEARTH_ERR_FORMAT, "tensor '%s' has shape [%lld, %lld, %lld], expected [%lld, %lld]", name,
                      (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)ne0, (long long)ne1);
        return NULL;
    }
    return t;
}

static hearth_status vec(hearth_model *m, const char *name, int64_t n, bool required, const float **out,
                         hearth_error *err) {
    hearth_status st;
    *out = NULL;
    const hr_gguf_tensor *t = find2(m, name, n, 1, required, &st, err);
    if (!t) return st;
    const hr_type_traits *tr = hr_type_traits_get(t->type);
    if (!tr || !tr->supported || !tr->to_float || tr->block_size != 1)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor '%s' has type %s, expected f32, f16 or bf16", name,
                       hr_type_name(t->type));
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for tensor '%s'", name);
    tr->to_float(t->data, v, n);
    if ((st = own(m->gemma, v, err))) return st;
    *out = v;
    return HEARTH_OK;
}

/* A matrix of n_out rows of n_in; with rows_only it is only read row by row (embeddings). */
static hearth_status mat(hearth_model *m, const char *name, int64_t n_in, int64_t n_out, bool required,
                         bool rows_only, hr_weight *w, hearth_error *err) {
    hearth_status st;
    memset(w, 0, sizeof *w);
    const hr_gguf_tensor *t = find2(m, name, n_in, n_out, required, &st, err);
    if (!t) return st;
    const hr_type_traits *tr = hr_type_traits_get(t->type);
    bool ok = tr && tr->supported && (rows_only ? tr->to_float != NULL
                                                : m->kernels.vec_dot[t->type] && m->kernels.quantize_row[tr->vec_dot_type]);
    if (!ok)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor '%s' has type %s, which this build cannot compute with",
                       name, hr_type_name(t->type));
    if (n_in % tr->block_size)
        return hr_fail(err, HEARTH_ERR_FORMAT, "tensor '%s': row length %lld is not a multiple of the %s block size",
                       name, (long long)n_in, tr->name);
    *w = (hr_weight){.name = t->name, .type = t->type, .n_in = n_in, .n_out = n_out,
                     .row_bytes = hr_row_size(t->type, n_in), .data = t->data};
    m->weight_bytes += t->nbytes;
    return HEARTH_OK;
}

static const char *key(const hearth_model *m, char *buf, size_t cap, const char *suffix) {
    snprintf(buf, cap, "%s.%s", m->arch->name, suffix);
    return buf;
}

/* A u32 key, or an array of integers giving one value per layer. */
static hearth_status per_layer_u32(const hearth_model *m, const char *suffix, bool required, int32_t *vals,
                                   int n_layer, int32_t lo, hearth_error *err) {
    char k[128];
    key(m, k, sizeof k, suffix);
    int64_t i = hr_gguf_find_key(m->gguf, k);
    if (i < 0) return required ? hr_fail(err, HEARTH_ERR_MISSING, "required metadata '%s' is missing", k) : HEARTH_OK;
    if (hr_gguf_kv_type(m->gguf, i) == HR_GGUF_ARRAY) {
        hr_gguf_type at = hr_gguf_arr_type(m->gguf, i);
        if (hr_gguf_arr_len(m->gguf, i) != (uint64_t)n_layer || (at != HR_GGUF_UINT32 && at != HR_GGUF_INT32))
            return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' must be an integer or %d 32-bit integers", k, n_layer);
        const uint8_t *d = hr_gguf_arr_data(m->gguf, i);
        for (int l = 0; l < n_layer; l++) {
            int32_t v;
            memcpy(&v, d + (size_t)l * 4, 4);
            if (v < lo || v > MAX_DIM) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s'[%d] = %d is out of range", k, l, v);
            vals[l] = v;
        }
        return HEARTH_OK;
    }
    uint32_t v;
    hearth_status st = hr_gguf_get_u32(m->gguf, k, &v, err);
    if (st) return st;
    if ((int64_t)v < lo || v > MAX_DIM) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' = %u is out of range", k, v);
    for (int l = 0; l < n_layer; l++) vals[l] = (int32_t)v;
    return HEARTH_OK;
}

static hearth_status u32_key(const hearth_model *m, const char *suffix, bool required, uint32_t lo, uint32_t *out,
                             hearth_error *err) {
    char k[128];
    key(m, k, sizeof k, suffix);
    hearth_status st = required ? hr_gguf_get_u32(m->gguf, k, out, err) : hr_gguf_opt_u32(m->gguf, k, out, err);
    if (st) return st;
    if (hr_gguf_find_key(m->gguf, k) >= 0 && (*out < lo || *out > MAX_DIM))
        return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' = %u is out of range", k, *out);
    return HEARTH_OK;
}

static hearth_status f32_key(const hearth_model *m, const char *suffix, bool required, float *out, hearth_error *err) {
    char k[128];
    key(m, k, sizeof k, suffix);
    hearth_status st = required ? hr_gguf_get_f32(m->gguf, k, out, err) : hr_gguf_opt_f32(m->gguf, k, out, err);
    if (st) return st;
    if (!isfinite(*out)) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' is not a finite number", k);
    return HEARTH_OK;
}

/* Which layers use the sliding window: an array of bools, or a period n (every
 * n-th layer global, llama_hparams::set_swa_pattern), default 6 for Gemma 3. */
static hearth_status swa_pattern(hearth_model *m, hr_gemma *g, hearth_error *err) {
    const int nl = m->hp.n_layer;
    char k[128];
    key(m, k, sizeof k, "attention.sliding_window_pattern");
    int64_t i = hr_gguf_find_key(m->gguf, k);
    if (i >= 0 && hr_gguf_kv_type(m->gguf, i) == HR_GGUF_ARRAY) {
        if (hr_gguf_arr_type(m->gguf, i) != HR_GGUF_BOOL || hr_gguf_arr_len(m->gguf, i) != (uint64_t)nl)
            return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' must hold %d booleans", k, nl);
        const uint8_t *d = hr_gguf_arr_data(m->gguf, i);
        for (int l = 0; l < nl; l++) g->layers[l].swa = d[l] != 0;
        return HEARTH_OK;
    }
    if (g->v4) return hr_fail(err, HEARTH_ERR_MISSING, "required metadata '%s' (array of booleans) is missing", k);
    uint32_t n = 6;
    hearth_status st = u32_key(m, "attention.sliding_window_pattern", false, 0, &n, err);
    if (st) return st;
    for (int l = 0; l < nl; l++) g->layers[l].swa = n == 0 || (uint32_t)l % n < n - 1;
    return HEARTH_OK;
}

static hearth_status load_hparams(hearth_model *m, hr_gemma *g, int32_t *n_ff, int32_t *n_head, int32_t *n_head_kv,
                                  hearth_error *err) {
    hr_hparams *hp = &m->hp;
    hearth_status st;
    uint32_t ctx = 0, embd = 0, nl = 0;
    if ((st = u32_key(m, "context_length", true, 1, &ctx, err)) || (st = u32_key(m, "embedding_length", true, 1, &embd, err)) ||
        (st = u32_key(m, "block_count", true, 1, &nl, err)))
        return st;
    if (nl > 4096) return hr_fail(err, HEARTH_ERR_FORMAT, "%s.block_count = %u is out of range", m->arch->name, nl);
    hp->n_ctx_train = (int32_t)ctx;
    hp->n_embd = (int32_t)embd;
    hp->n_layer = (int32_t)nl;
    g->layers = calloc(nl, sizeof *g->layers);
    if (!g->layers) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    if ((st = per_layer_u32(m, "feed_forward_length", true, n_ff, (int)nl, 1, err)) ||
        (st = per_layer_u32(m, "attention.head_count", true, n_head, (int)nl, 1, err)))
        return st;
    memcpy(n_head_kv, n_head, nl * sizeof *n_head);
    if ((st = per_layer_u32(m, "attention.head_count_kv", false, n_head_kv, (int)nl, 1, err))) return st;
    if ((st = f32_key(m, "attention.layer_norm_rms_epsilon", true, &hp->rms_eps, err))) return st;
    if (!(hp->rms_eps > 0)) return hr_fail(err, HEARTH_ERR_FORMAT, "%s.attention.layer_norm_rms_epsilon must be positive", m->arch->name);

    uint32_t hd = embd / (uint32_t)n_head[0], hdv = hd;
    if ((st = u32_key(m, "attention.key_length", false, 2, &hd, err)) ||
        (st = u32_key(m, "attention.value_length", false, 2, &hdv, err)))
        return st;
    uint32_t rot = hd;
    if ((st = u32_key(m, "rope.dimension_count", false, 2, &rot, err))) return st;
    uint32_t hd_swa = hd, hdv_swa = hdv, rot_swa = rot;
    if ((st = u32_key(m, "attention.key_length_swa", g->v4, 2, &hd_swa, err)) ||
        (st = u32_key(m, "attention.value_length_swa", g->v4, 2, &hdv_swa, err)) ||
        (st = u32_key(m, "rope.dimension_count_swa", false, 2, &rot_swa, err)))
        return st;
    if (hd != hdv || hd_swa != hdv_swa || hd % 2 || hd_swa % 2 || rot > hd || rot_swa > hd_swa || rot % 2 || rot_swa % 2)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED,
                       "%s: key and value head sizes must be equal and even, and RoPE dimensions at most the head size",
                       m->arch->name);

    /* RoPE: global layers use the file's base and linear scaling; sliding layers their own base, scale 1. */
    float base = 10000.0f, base_swa = 10000.0f, factor = 0.0f;
    if ((st = f32_key(m, "rope.freq_base", false, &base, err)) || (st = f32_key(m, "rope.freq_base_swa", false, &base_swa, err)))
        return st;
    char k[128];
    const char *stype = "linear";
    if (hr_gguf_find_key(m->gguf, key(m, k, sizeof k, "rope.scaling.type")) >= 0 &&
        (st = hr_gguf_get_string(m->gguf, k, &stype, err)))
        return st;
    if (strcmp(stype, "none") && strcmp(stype, "linear"))
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s = '%s' is not supported for %s (none, linear)", k, stype, m->arch->name);
    if (hr_gguf_find_key(m->gguf, key(m, k, sizeof k, "rope.scaling.factor")) >= 0) {
        if ((st = f32_key(m, "rope.scaling.factor", false, &factor, err))) return st;
    } else if ((st = f32_key(m, "rope.scale_linear", false, &factor, err))) {
        return st;
    }
    if (!(base > 0) || !(base_swa > 0) || factor < 0)
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: RoPE bases must be positive and the scaling factor not negative", m->arch->name);
    float scale = factor == 0.0f || !strcmp(stype, "none") ? 1.0f : 1.0f / factor;

    uint32_t n_swa = 0;
    if ((st = u32_key(m, "attention.sliding_window", g->v4, g->v4 ? 1 : 0, &n_swa, err))) return st;
    g->n_swa = (int)n_swa;
    if (g->n_swa > 0) {
        if ((st = swa_pattern(m, g, err))) return st;
    }
    /* llama.cpp's default is 30, reset to 0 (off) for Gemma 3 only. */
    g->softcap = g->v4 ? 30.0f : 0.0f;
    if ((st = f32_key(m, "final_logit_softcapping", false, &g->softcap, err))) return st;
    if (g->softcap < 0) return hr_fail(err, HEARTH_ERR_FORMAT, "%s.final_logit_softcapping must not be negative", m->arch->name);

    uint32_t ple = 0, shared = 0;
    if (g->v4 && ((st = u32_key(m, "embedding_length_per_layer_input", true, 0, &ple, err)) ||
                  (st = u32_key(m, "attention.shared_kv_layers", false, 0, &shared, err))))
        return st;
    g->n_embd_ple = (int)ple;
    if (shared >= nl || (shared && nl - shared < 2))
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s.attention.shared_kv_layers = %u is out of range", m->arch->name, shared);
    const int kv_layers = (int)(nl - shared);

    int max_hd = 0, max_rot = 0, max_ff = 0, max_h = 0, max_hkv = 0;
    for (int l = 0; l < (int)nl; l++) {
        hr_gemma_layer *L = &g->layers[l];
        L->n_head = n_head[l];
        L->n_head_kv = n_head_kv[l];
        L->n_ff = n_ff[l];
        if (L->n_head > 4096 || L->n_head % L->n_head_kv)
            return hr_fail(err, HEARTH_ERR_FORMAT, "%s: layer %d: head_count %d is not a multiple of head_count_kv %d",
                           m->arch->name, l, L->n_head, L->n_head_kv);
        L->head_dim = (int)(L->swa ? hd_swa : hd);
        L->n_rot = (int)(L->swa ? rot_swa : rot);
        L->rope_base = L->swa ? base_swa : base;
        L->rope_scale = L->swa ? 1.0f : scale;
        L->out_scale = 1.0f;
        /* Shared-KV layers read the last KV layer of their kind (llama.cpp's reuse callback). */
        L->kv_src = l < kv_layers ? l : kv_layers - (L->swa ? 2 : 1);
        const hr_gemma_layer *S = &g->layers[L->kv_src];
        if (S->swa != L->swa || S->head_dim != L->head_dim || S->n_head_kv != L->n_head_kv)
            return hr_fail(err, HEARTH_ERR_FORMAT, "%s: layer %d shares the KV of layer %d, which differs in kind or size",
                           m->arch->name, l, L->kv_src);
        if (L->head_dim > max_hd) max_hd = L->head_dim;
        if (L->n_rot > max_rot) max_rot = L->n_rot;
        if (L->n_ff > max_ff) max_ff = L->n_ff;
        if (L->n_head > max_h) max_h = L->n_head;
        if (L->n_head_kv > max_hkv) max_hkv = L->n_head_kv;
    }
    /* The engine's hparams get the largest sizes, which bound its generic buffers. */
    hp->n_ff = max_ff;
    hp->n_head = max_h;
    hp->n_head_kv = max_hkv;
    hp->head_dim = max_hd;
    hp->n_rot = max_rot;
    hp->rope_freq_base = base;
    hp->rope_freq_scale = scale;
    hp->rope_attn_factor = 1.0f;
    hp->kq_scale = 1.0f;
    /* Gemma 3 scales Q by 1/sqrt(head size) (27B: 1/sqrt(n_embd/n_head)); Gemma 4 does not scale. */
    g->kq_scale = 1.0f;
    g->q_scale = g->v4 ? 1.0f : (nl == 62 ? 1.0f / sqrtf((float)(embd / (uint32_t)n_head[0])) : 1.0f / sqrtf((float)hd));
    return HEARTH_OK;
}

static hearth_status load_tensors(hearth_model *m, hr_gemma *g, hearth_error *err) {
    hr_hparams *hp = &m->hp;
    hearth_status st;
    const int64_t d = hp->n_embd;
    const hr_gguf_tensor *te = hr_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!te) return hr_fail(err, HEARTH_ERR_MISSING, "required tensor 'token_embd.weight' is missing");
    if (te->ne[1] < 1 || te->ne[1] > INT32_MAX / 2)
        return hr_fail(err, HEARTH_ERR_FORMAT, "tensor 'token_embd.weight' has an invalid vocabulary size");
    hp->n_vocab = (int32_t)te->ne[1];
    if ((st = mat(m, "token_embd.weight", d, hp->n_vocab, true, true, &m->tok_embd, err))) return st;
    if ((st = vec(m, "output_norm.weight", d, true, &m->output_norm, err))) return st;
    if ((st = mat(m, "output.weight", d, hp->n_vocab, false, false, &m->output, err))) return st;
    if (!m->output.data) {
        m->weight_bytes -= te->nbytes; /* the same bytes, counted once */
        if ((st = mat(m, "token_embd.weight", d, hp->n_vocab, true, false, &m->output, err))) return st;
    }
    const int nl = hp->n_layer;
    if (g->n_embd_ple) {
        const int64_t w = (int64_t)g->n_embd_ple * nl;
        if ((st = mat(m, "per_layer_token_embd.weight", w, hp->n_vocab, true, true, &g->ple_embd, err)) ||
            (st = mat(m, "per_layer_model_proj.weight", d, w, true, false, &g->ple_model_proj, err)) ||
            (st = vec(m, "per_layer_proj_norm.weight", g->n_embd_ple, true, &g->ple_proj_norm, err)))
            return st;
    }
    const float *rope_freqs = NULL;
    char nm[96];
#define N(suffix) (snprintf(nm, sizeof nm, "blk.%d." suffix, il), nm)
    for (int il = 0; il < nl; il++) {
        hr_gemma_layer *L = &g->layers[il];
        const int64_t dq = (int64_t)L->n_head * L->head_dim, dkv = (int64_t)L->n_head_kv * L->head_dim;
        const bool has_kv = L->kv_src == il;
        if ((st = vec(m, N("attn_norm.weight"), d, true, &L->attn_norm, err)) ||
            (st = mat(m, N("attn_q.weight"), d, dq, true, false, &L->wq, err)) ||
            (st = mat(m, N("attn_k.weight"), d, dkv, has_kv, false, &L->wk, err)) ||
            (st = mat(m, N("attn_v.weight"), d, dkv, !g->v4, false, &L->wv, err)) ||
            (st = mat(m, N("attn_output.weight"), dq, d, true, false, &L->wo, err)) ||
            (st = vec(m, N("attn_q_norm.weight"), L->head_dim, true, &L->q_norm, err)) ||
            (st = vec(m, N("attn_k_norm.weight"), L->head_dim, has_kv, &L->k_norm, err)) ||
            (st = vec(m, N("post_attention_norm.weight"), d, true, &L->attn_post_norm, err)) ||
            (st = vec(m, N("ffn_norm.weight"), d, true, &L->ffn_norm, err)) ||
            (st = mat(m, N("ffn_gate.weight"), d, L->n_ff, true, false, &L->gate, err)) ||
            (st = mat(m, N("ffn_up.weight"), d, L->n_ff, true, false, &L->up, err)) ||
            (st = mat(m, N("ffn_down.weight"), L->n_ff, d, true, false, &L->down, err)) ||
            (st = vec(m, N("post_ffw_norm.weight"), d, true, &L->ffn_post_norm, err)))
            return st;
        if (has_kv && (!L->wk.data || !L->k_norm))
            return hr_fail(err, HEARTH_ERR_MISSING, "layer %d stores KV but has no attn_k / attn_k_norm", il);
        if (!g->v4) continue;
        if (hr_gguf_find_tensor(m->gguf, N("attn_qkv.weight")))
            return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "layer %d: gemma4 fused QKV layers are not supported yet", il);
        L->moe = hr_gguf_find_tensor(m->gguf, N("ffn_gate_inp.weight")) != NULL;
        if (L->moe && ((st = vec(m, N("ffn_gate_inp.scale"), d, true, &L->router_scale, err)) ||
                       (st = vec(m, N("pre_ffw_norm_2.weight"), d, true, &L->moe_pre_norm, err)) ||
                       (st = vec(m, N("post_ffw_norm_1.weight"), d, true, &L->ffn_post_norm_1, err)) ||
                       (st = vec(m, N("post_ffw_norm_2.weight"), d, true, &L->moe_post_norm, err))))
            return st;
        const float *os = NULL;
        if ((st = vec(m, N("layer_output_scale.weight"), 1, false, &os, err))) return st;
        if (os) L->out_scale = os[0];
        if (!L->swa) {
            /* One rope_freqs tensor serves every global layer (llama.cpp: TENSOR_DUPLICATED). */
            if (!rope_freqs && (st = vec(m, "rope_freqs.weight", L->n_rot / 2, true, &rope_freqs, err))) return st;
            L->rope_freqs = rope_freqs;
        }
        if (g->n_embd_ple &&
            ((st = mat(m, N("inp_gate.weight"), d, g->n_embd_ple, true, false, &L->ple_gate, err)) ||
             (st = mat(m, N("proj.weight"), g->n_embd_ple, d, true, false, &L->ple_proj, err)) ||
             (st = vec(m, N("post_norm.weight"), d, true, &L->ple_post_norm, err))))
            return st;
    }
#undef N
    return HEARTH_OK;
}

static float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
}

hearth_status hr_gemma_load(hearth_model *m, hearth_error *err) {
    hr_gemma *g = calloc(1, sizeof *g);
    if (!g) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    m->gemma = g;
    g->v4 = !strcmp(m->arch->name, "gemma4");
    int32_t *arrs = calloc(3 * 4096, sizeof *arrs);
    if (!arrs) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    hearth_status st = load_hparams(m, g, arrs, arrs + 4096, arrs + 8192, err);
    free(arrs);
    if (st || (st = load_tensors(m, g, err))) return st;
    /* ggml evaluates GELU through a table indexed by the f16 rounding of x, holding f16 results. */
    g->gelu = malloc(65536 * sizeof *g->gelu);
    if (!g->gelu) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < 65536; i++) g->gelu[i] = hr_f16_to_f32(hr_f32_to_f16(gelu_tanh(hr_f16_to_f32((hr_f16)i))));
    bool moe = false;
    for (int l = 0; l < m->hp.n_layer; l++) moe = moe || g->layers[l].moe;
    if (moe) {
        /* The experts: GEGLU, softmax gating over the router logits, top-k weights renormalised. */
        if ((st = hr_moe_load(m, err))) return st;
        m->moe->gelu = g->gelu;
        m->moe->gating = HR_MOE_GATE_SOFTMAX;
        m->moe->norm_w = true;
        m->moe->w_scale = 1.0f;
    }
    return HEARTH_OK;
}
