/* Loading a model: metadata into hr_hparams (resolved as llama.cpp resolves
 * them), tensors validated by name, shape and type, weights left mapped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "models/model.h"
#include "models/model_internal.h"
#include "models/moe.h"
#include "models/nemotron_h.h"
#include "models/qwen35.h"
#include "models/gemma.h"
#include "tensor/types.h"

#define MAX_DIM (1 << 20)

static hearth_status track(hearth_model *m, float *p, hearth_error *err) {
    if (m->n_owned == m->cap_owned) {
        size_t cap = m->cap_owned ? m->cap_owned * 2 : 64;
        float **n = realloc(m->owned, cap * sizeof *n);
        if (!n) {
            free(p);
            return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        }
        m->owned = n;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return HEARTH_OK;
}

static void fmt_shape(char *buf, size_t cap, const int64_t *ne, int nd) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < nd && o < cap; i++) o += (size_t)snprintf(buf + o, cap - o, i ? ", %lld" : "%lld", (long long)ne[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* Finds a tensor and checks its shape: ne0 x ne1 (ne1 = 0 for a 1-D tensor). */
static hearth_status find_tensor(const hearth_model *m, const char *name, bool required, int64_t ne0, int64_t ne1,
                                 const hr_gguf_tensor **out, hearth_error *err) {
    *out = NULL;
    const hr_gguf_tensor *t = hr_gguf_find_tensor(m->gguf, name);
    if (!t) {
        if (required) return hr_fail(err, HEARTH_ERR_MISSING, "required tensor '%s' is missing", name);
        return HEARTH_OK;
    }
    int64_t want[2] = {ne0, ne1 ? ne1 : 1};
    int nd = ne1 ? 2 : 1;
    if (t->ne[0] != want[0] || t->ne[1] != want[1] || t->ne[2] != 1 || t->ne[3] != 1) {
        char got[96], exp[64];
        fmt_shape(got, sizeof got, t->ne, (int)(t->n_dims ? t->n_dims : 1));
        fmt_shape(exp, sizeof exp, want, nd);
        return hr_fail(err, HEARTH_ERR_FORMAT, "tensor '%s' has shape %s, expected %s", name, got, exp);
    }
    *out = t;
    return HEARTH_OK;
}

/* A 1-D tensor (norm weight, bias, rope factors) converted to an owned float array. */
static hearth_status load_vec(hearth_model *m, const char *name, bool required, int64_t n, const float **out,
                              hearth_error *err) {
    *out = NULL;
    const hr_gguf_tensor *t;
    hearth_status st = find_tensor(m, name, required, n, 0, &t, err);
    if (st || !t) return st;
    const hr_type_traits *tr = hr_type_traits_get(t->type);
    if (!tr || !tr->supported || !tr->to_float || tr->block_size != 1)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor '%s' has type %s, expected f32, f16 or bf16", name,
                       hr_type_name(t->type));
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for tensor '%s'", name);
    tr->to_float(t->data, v, n);
    if ((st = track(m, v, err))) return st;
    *out = v;
    return HEARTH_OK;
}

/* A matrix used in matrix-vector products: n_out rows of n_in. */
static hearth_status load_weight(hearth_model *m, const char *name, bool required, int64_t n_in, int64_t n_out,
                                 hr_weight *w, hearth_error *err) {
    memset(w, 0, sizeof *w);
    const hr_gguf_tensor *t;
    hearth_status st = find_tensor(m, name, required, n_in, n_out, &t, err);
    if (st || !t) return st;
    const hr_type_traits *tr = hr_type_traits_get(t->type);
    if (!tr || !tr->supported || !m->kernels.vec_dot[t->type] || !m->kernels.quantize_row[tr->vec_dot_type])
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor '%s' has type %s, which this build cannot compute with",
                       name, hr_type_name(t->type));
    if (n_in % tr->block_size)
        return hr_fail(err, HEARTH_ERR_FORMAT, "tensor '%s': row length %lld is not a multiple of the %s block size",
                       name, (long long)n_in, tr->name);
    w->name = t->name;
    w->type = t->type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->row_bytes = hr_row_size(t->type, n_in);
    w->data = t->data;
    m->weight_bytes += t->nbytes;
    return HEARTH_OK;
}

static hearth_status get_dim(const hr_gguf *g, const char *arch, const char *suffix, bool required, int32_t *out,
                             hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v = (uint32_t)*out;
    hearth_status st = required ? hr_gguf_get_u32(g, key, &v, err) : hr_gguf_opt_u32(g, key, &v, err);
    if (st) return st;
    if (required || hr_gguf_find_key(g, key) >= 0) {
        if (v == 0 || v > MAX_DIM) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' = %u is out of range", key, v);
    }
    *out = (int32_t)v;
    return HEARTH_OK;
}

static hearth_status get_f32(const hr_gguf *g, const char *arch, const char *suffix, bool required, float *out,
                             hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    hearth_status st = required ? hr_gguf_get_f32(g, key, out, err) : hr_gguf_opt_f32(g, key, out, err);
    if (st) return st;
    if (!isfinite(*out)) return hr_fail(err, HEARTH_ERR_FORMAT, "metadata '%s' is not a finite number", key);
    return HEARTH_OK;
}

static float yarn_mscale(float scale, float mscale) { return scale <= 1.0f ? 1.0f : 0.1f * mscale * logf(scale) + 1.0f; }

static float yarn_corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
    return n_dims * logf(n_ctx_orig / (n_rot * 2 * (float)M_PI)) / (2 * logf(base));
}

static hearth_status load_hparams(hearth_model *m, hearth_error *err) {
    const hr_gguf *g = m->gguf;
    const char *an = m->arch->name;
    hr_hparams *hp = &m->hp;
    hearth_status st;
    if (m->arch->mamba2) return hr_nemotron_h_hparams(m, err);
    if ((st = get_dim(g, an, "context_length", true, &hp->n_ctx_train, err)) ||
        (st = get_dim(g, an, "embedding_length", true, &hp->n_embd, err)) ||
        (st = get_dim(g, an, "block_count", true, &hp->n_layer, err)) ||
        (st = get_dim(g, an, "feed_forward_length", true, &hp->n_ff, err)) ||
        (st = get_dim(g, an, "attention.head_count", true, &hp->n_head, err)))
        return st;
    if (hp->n_layer > 4096) return hr_fail(err, HEARTH_ERR_FORMAT, "%s.block_count = %d is out of range", an, hp->n_layer);
    hp->n_head_kv = hp->n_head;
    if ((st = get_dim(g, an, "attention.head_count_kv", false, &hp->n_head_kv, err))) return st;
    if (hp->n_head > 4096 || hp->n_head_kv > hp->n_head || hp->n_head % hp->n_head_kv)
        return hr_fail(err, HEARTH_ERR_FORMAT, "%s: head_count %d is not a multiple of head_count_kv %d", an, hp->n_head,
                       hp->n_head_kv);
    if ((st = get_f32(g, an, "attention.layer_norm_rms_epsilon", true, &hp->rms_eps, err))) return st;
    hp->head_dim = hp->n_embd / hp->n_head;
    int32_t head_dim_v = hp->head_dim;
    if ((st = get_dim(g, an, "attention.key_length", false, &hp->head_dim, err)) ||
        (st = get_dim(g, an, "attention.value_length", false, &head_dim_v, err)))
        return st;
    if (hp->head_dim > 4096 || head_dim_v != hp->head_dim || hp->head_dim % 2)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s: key_length %d and value_length %d must be equal and even", an,
                       hp->head_dim, head_dim_v);
    hp->n_rot = hp->head_dim;
    if ((st = get_dim(g, an, "rope.dimension_count", false, &hp->n_rot, err))) return st;
    if (hp->n_rot != hp->head_dim && !m->arch->gdn)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s: rope.dimension_count %d differs from the head size %d", an,
                       hp->n_rot, hp->head_dim);

    /* Attention scale: attention.scale when given, else 1/sqrt(head size) (llama, mistral3). */
    float attn_scale = 0.0f;
    if (!strcmp(an, "llama") || !strcmp(an, "mistral3"))
        if ((st = get_f32(g, an, "attention.scale", false, &attn_scale, err))) return st;
    hp->kq_scale = attn_scale == 0.0f ? 1.0f / sqrtf((float)hp->head_dim) : attn_scale;

    /* RoPE, following llama_model::load_hparams then llama_context's resolution. */
    hp->rope_freq_base = 10000.0f;
    if ((st = get_f32(g, an, "rope.freq_base", false, &hp->rope_freq_base, err))) return st;
    if (hp->rope_freq_base <= 0) return hr_fail(err, HEARTH_ERR_FORMAT, "%s.rope.freq_base must be positive", an);
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", an);
    const char *stype = "linear";
    if (hr_gguf_find_key(g, key) >= 0 && (st = hr_gguf_get_string(g, key, &stype, err))) return st;
    if (!strcmp(stype, "none")) hp->rope_scaling = HR_ROPE_SCALING_NONE;
    else if (!strcmp(stype, "linear")) hp->rope_scaling = HR_ROPE_SCALING_LINEAR;
    else if (!strcmp(stype, "yarn")) hp->rope_scaling = HR_ROPE_SCALING_YARN;
    else return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s = '%s' is not supported (none, linear, yarn)", key, stype);
    float factor = 0.0f;
    snprintf(key, sizeof key, "%s.rope.scaling.factor", an);
    if (hr_gguf_find_key(g, key) >= 0) {
        if ((st = get_f32(g, an, "rope.scaling.factor", false, &factor, err))) return st;
    } else if ((st = get_f32(g, an, "rope.scale_linear", false, &factor, err))) {
        return st;
    }
    if (factor < 0) return hr_fail(err, HEARTH_ERR_FORMAT, "%s must not be negative", key);
    hp->rope_freq_scale = factor == 0.0f ? 1.0f : 1.0f / factor;
    if (hp->rope_scaling == HR_ROPE_SCALING_NONE) hp->rope_freq_scale = 1.0f;
    hp->n_ctx_orig_yarn = hp->n_ctx_train;
    if ((st = get_dim(g, an, "rope.scaling.original_context_length", false, &hp->n_ctx_orig_yarn, err))) return st;
    float rope_attn_factor = 1.0f, yarn_log_mul = 0.0f;
    if ((st = get_f32(g, an, "rope.scaling.attn_factor", false, &rope_attn_factor, err))) return st;
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;
    if (m->arch->yarn_keys) {
        if ((st = get_f32(g, an, "rope.scaling.yarn_beta_fast", false, &hp->yarn_beta_fast, err)) ||
            (st = get_f32(g, an, "rope.scaling.yarn_beta_slow", false, &hp->yarn_beta_slow, err)) ||
            (st = get_f32(g, an, "rope.scaling.yarn_log_multiplier", false, &yarn_log_mul, err)))
            return st;
    }
    hp->yarn_ext_factor = hp->rope_scaling == HR_ROPE_SCALING_YARN ? 1.0f : 0.0f;
    float attn_factor = 1.0f;
    if (hp->yarn_ext_factor != 0.0f) {
        float f = 1.0f / hp->rope_freq_scale;
        attn_factor = yarn_log_mul != 0.0f ? yarn_mscale(f, 1.0f) / yarn_mscale(f, yarn_log_mul) : yarn_mscale(f, 1.0f);
        /* ggml's rope multiplies YaRN's magnitude scale in again; cancel it here as llama.cpp does. */
        attn_factor *= 1.0f / (1.0f + 0.1f * logf(f));
    }
    hp->rope_attn_factor = attn_factor * rope_attn_factor;
    float start = floorf(yarn_corr_dim(hp->n_rot, hp->n_ctx_orig_yarn, hp->yarn_beta_fast, hp->rope_freq_base));
    float end = ceilf(yarn_corr_dim(hp->n_rot, hp->n_ctx_orig_yarn, hp->yarn_beta_slow, hp->rope_freq_base));
    hp->yarn_corr_dims[0] = start > 0 ? start : 0;
    hp->yarn_corr_dims[1] = end < hp->n_rot - 1 ? end : (float)(hp->n_rot - 1);

    if (m->arch->attn_temp) {
        if ((st = get_f32(g, an, "attention.temperature_scale", false, &hp->attn_temp_scale, err))) return st;
        hp->attn_temp_floor = hp->n_ctx_orig_yarn;
    }
    return HEARTH_OK;
}

static hearth_status load_tensors(hearth_model *m, hearth_error *err) {
    hr_hparams *hp = &m->hp;
    hearth_status st;
    const hr_gguf_tensor *te = hr_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!te) return hr_fail(err, HEARTH_ERR_MISSING, "required tensor 'token_embd.weight' is missing");
    if (te->ne[1] < 1 || te->ne[1] > INT32_MAX / 2)
        return hr_fail(err, HEARTH_ERR_FORMAT, "tensor 'token_embd.weight' has an invalid vocabulary size");
    hp->n_vocab = (int32_t)te->ne[1];
    const int64_t d = hp->n_embd, dq = (int64_t)hp->n_head * hp->head_dim, dkv = (int64_t)hp->n_head_kv * hp->head_dim;
    /* The embedding is read row by row (dequantized), and is also the output matrix when output.weight is absent. */
    const hr_gguf_tensor *tt;
    if ((st = find_tensor(m, "token_embd.weight", true, d, hp->n_vocab, &tt, err))) return st;
    const hr_type_traits *tr = hr_type_traits_get(tt->type);
    if (!tr || !tr->supported || !tr->to_float)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor 'token_embd.weight' has unsupported type %s", hr_type_name(tt->type));
    m->tok_embd = (hr_weight){.name = tt->name, .type = tt->type, .n_in = d, .n_out = hp->n_vocab,
                              .row_bytes = hr_row_size(tt->type, d), .data = tt->data};
    if ((st = load_vec(m, "output_norm.weight", true, d, &m->output_norm, err))) return st;
    if ((st = load_weight(m, "output.weight", false, d, hp->n_vocab, &m->output, err))) return st;
    if (!m->output.data) {
        if ((st = load_weight(m, "token_embd.weight", true, d, hp->n_vocab, &m->output, err))) return st;
    } else {
        m->weight_bytes += tt->nbytes;
    }
    if ((st = load_vec(m, "output.bias", false, hp->n_vocab, &m->output_b, err))) return st;
    if (m->arch->rope_freqs && (st = load_vec(m, "rope_freqs.weight", false, hp->n_rot / 2, &m->rope_freqs, err)))
        return st;

    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    char nm[96];
#define N(suffix) (snprintf(nm, sizeof nm, "blk.%d." suffix, il), nm)
    for (int il = 0; il < hp->n_layer && !m->arch->gdn && !m->arch->mamba2; il++) {
        hr_layer *L = &m->layers[il];
        if ((st = load_vec(m, N("attn_norm.weight"), true, d, &L->attn_norm, err)) ||
            (st = load_weight(m, N("attn_q.weight"), true, d, dq, &L->wq, err)) ||
            (st = load_weight(m, N("attn_k.weight"), true, d, dkv, &L->wk, err)) ||
            (st = load_weight(m, N("attn_v.weight"), true, d, dkv, &L->wv, err)) ||
            (st = load_weight(m, N("attn_output.weight"), true, dq, d, &L->wo, err)) ||
            (st = load_vec(m, N("attn_q.bias"), false, dq, &L->bq, err)) ||
            (st = load_vec(m, N("attn_k.bias"), false, dkv, &L->bk, err)) ||
            (st = load_vec(m, N("attn_v.bias"), false, dkv, &L->bv, err)) ||
            (st = load_vec(m, N("attn_output.bias"), false, d, &L->bo, err)) ||
            (st = load_vec(m, N("ffn_norm.weight"), true, d, &L->ffn_norm, err)) ||
            (st = load_weight(m, N("ffn_gate.weight"), !m->arch->moe, d, hp->n_ff, &L->gate, err)) ||
            (st = load_weight(m, N("ffn_up.weight"), !m->arch->moe, d, hp->n_ff, &L->up, err)) ||
            (st = load_weight(m, N("ffn_down.weight"), !m->arch->moe, hp->n_ff, d, &L->down, err)) ||
            (st = load_vec(m, N("ffn_gate.bias"), false, hp->n_ff, &L->gate_b, err)) ||
            (st = load_vec(m, N("ffn_up.bias"), false, hp->n_ff, &L->up_b, err)) ||
            (st = load_vec(m, N("ffn_down.bias"), false, d, &L->down_b, err)))
            return st;
        if (m->arch->qk_norm && ((st = load_vec(m, N("attn_q_norm.weight"), true, hp->head_dim, &L->q_norm, err)) ||
                                 (st = load_vec(m, N("attn_k_norm.weight"), true, hp->head_dim, &L->k_norm, err))))
            return st;
    }
#undef N
    if (m->arch->moe && (st = hr_moe_load(m, err))) return st;
    if (m->arch->gdn && (st = hr_qwen35_load(m, err))) return st;
    if (m->arch->mamba2 && (st = hr_nemotron_h_load(m, err))) return st;
    return HEARTH_OK;
}

hearth_model_params hearth_model_default_params(void) { return (hearth_model_params){.n_threads = 0, .isa = NULL}; }

hearth_status hearth_model_load(const char *path, const hearth_model_params *params, hearth_model **out,
                                hearth_error *err) {
    if (!out) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_model_load: out is NULL");
    *out = NULL;
    if (!path) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_model_load: path is NULL");
    hearth_model_params p = params ? *params : hearth_model_default_params();
    hearth_model *m = calloc(1, sizeof *m);
    if (!m) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    hearth_status st = hr_gguf_open(path, &m->gguf, err);
    if (st) goto fail;
    const char *an = NULL;
    if ((st = hr_gguf_get_string(m->gguf, "general.architecture", &an, err))) goto fail;
    m->arch = hr_arch_find(an);
    if (!m->arch) {
        st = hr_fail(err, HEARTH_ERR_UNSUPPORTED, "unsupported architecture '%s' (supported: %s)", an,
                     hr_arch_supported_list());
        goto fail;
    }
    if ((st = hr_kernels_select(p.isa, &m->kernels, err))) goto fail;
    if (m->arch->gemma) {
        if ((st = hr_gemma_load(m, err))) goto fail;
    } else if ((st = load_hparams(m, err)) || (st = load_tensors(m, err))) {
        goto fail;
    }
    if ((st = hr_model_load_tokenizer(m, err))) goto fail;
    m->att_split_min = HR_ATT_SPLIT_MIN;
    m->f16_table = malloc(65536 * sizeof(float));
    if (!m->f16_table) {
        st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < 65536; i++) m->f16_table[i] = hr_f16_to_f32((hr_f16)i);
    int nt = p.n_threads > 0 ? p.n_threads : hr_physical_cores();
    if ((st = hr_threadpool_new(nt, &m->pool, err))) goto fail;
    if ((st = hr_pack_weights(m, err))) goto fail;
    *out = m;
    return HEARTH_OK;
fail:
    if (err && strncmp(err->message, path, strlen(path))) hr_error_prefix(err, "%s", path);
    hearth_model_free(m);
    return st;
}

void hearth_model_free(hearth_model *m) {
    if (!m) return;
    hr_threadpool_free(m->pool);
    hr_model_free_tokenizer(m);
    hr_moe_free(m);
    hr_qwen35_free(m);
    hr_nemotron_h_free(m);
    for (size_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    free(m->packed);
    hr_gemma_free(m->gemma);
    free(m->f16_table);
    hr_gguf_close(m->gguf);
    free(m);
}

const char *hearth_model_arch(const hearth_model *m) { return m ? m->arch->name : ""; }
int32_t hearth_model_n_vocab(const hearth_model *m) { return m ? m->hp.n_vocab : 0; }
int32_t hearth_model_n_ctx_train(const hearth_model *m) { return m ? m->hp.n_ctx_train : 0; }
int32_t hearth_model_n_layer(const hearth_model *m) { return m ? m->hp.n_layer : 0; }
int hearth_model_n_threads(const hearth_model *m) { return m ? hr_threadpool_n_threads(m->pool) : 0; }
const char *hearth_model_isa(const hearth_model *m) { return m ? m->kernels.isa_name : ""; }
uint64_t hearth_model_weight_bytes(const hearth_model *m) { return m ? m->weight_bytes : 0; }
