/*
 * Per-tensor type choice for quantization mixtures, after llama.cpp's
 * llama-quant.cpp (tensor_allows_quantization, llama_tensor_get_type_impl,
 * tensor_type_fallback), restricted to the file types hearth writes.
 */
#include "quantize/quant_mix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    hr_ftype ft;
    hr_type type;
} ftypes[] = {
    {"F32", HR_FTYPE_ALL_F32, HR_TYPE_F32},          {"F16", HR_FTYPE_MOSTLY_F16, HR_TYPE_F16},
    {"BF16", HR_FTYPE_MOSTLY_BF16, HR_TYPE_BF16},    {"Q8_0", HR_FTYPE_MOSTLY_Q8_0, HR_TYPE_Q8_0},
    {"Q4_0", HR_FTYPE_MOSTLY_Q4_0, HR_TYPE_Q4_0},    {"Q4_1", HR_FTYPE_MOSTLY_Q4_1, HR_TYPE_Q4_1},
    {"Q5_0", HR_FTYPE_MOSTLY_Q5_0, HR_TYPE_Q5_0},    {"Q5_1", HR_FTYPE_MOSTLY_Q5_1, HR_TYPE_Q5_1},
    {"Q2_K", HR_FTYPE_MOSTLY_Q2_K, HR_TYPE_Q2_K},    {"Q3_K_S", HR_FTYPE_MOSTLY_Q3_K_S, HR_TYPE_Q3_K},
    {"Q3_K_M", HR_FTYPE_MOSTLY_Q3_K_M, HR_TYPE_Q3_K}, {"Q4_K_S", HR_FTYPE_MOSTLY_Q4_K_S, HR_TYPE_Q4_K},
    {"Q4_K_M", HR_FTYPE_MOSTLY_Q4_K_M, HR_TYPE_Q4_K}, {"Q5_K_S", HR_FTYPE_MOSTLY_Q5_K_S, HR_TYPE_Q5_K},
    {"Q5_K_M", HR_FTYPE_MOSTLY_Q5_K_M, HR_TYPE_Q5_K}, {"Q6_K", HR_FTYPE_MOSTLY_Q6_K, HR_TYPE_Q6_K},
};
#define N_FTYPES (sizeof ftypes / sizeof *ftypes)

bool hr_ftype_from_name(const char *name, hr_ftype *out) {
    if (!name) return false;
    /* a bare K type names its "mostly" mixture */
    static const struct { const char *alias, *name; } aliases[] = {
        {"Q3_K", "Q3_K_S"}, {"Q4_K", "Q4_K_S"}, {"Q5_K", "Q5_K_S"}};
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (!strcasecmp(name, aliases[i].alias)) name = aliases[i].name;
    for (size_t i = 0; i < N_FTYPES; i++) {
        if (!strcasecmp(name, ftypes[i].name)) {
            *out = ftypes[i].ft;
            return true;
        }
    }
    return false;
}

const char *hr_ftype_name(hr_ftype ft) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (ftypes[i].ft == ft) return ftypes[i].name;
    return NULL;
}

hr_type hr_ftype_default_type(hr_ftype ft) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (ftypes[i].ft == ft) return ftypes[i].type;
    return HR_TYPE_COUNT;
}

/* ---- order ---- */
static int layer_of(const char *name) {
    int layer = -1;
    if (sscanf(name, "blk.%d.", &layer) != 1) layer = -1;
    return layer;
}

static int cmp_tensor(const void *pa, const void *pb) {
    const hr_mix_tensor *a = pa, *b = pb;
    int la = layer_of(a->name), lb = layer_of(b->name);
    if (la != lb) return la < lb ? -1 : 1;
    return strcmp(a->name, b->name);
}

void hr_mix_sort(hr_mix_tensor *t, size_t n) {
    if (n > 1) qsort(t, n, sizeof *t, cmp_tensor);
}

/* ---- which tensors are quantized ---- */
static bool contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static bool ends_with(const char *s, const char *suffix) {
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && !strcmp(s + ls - lx, suffix);
}

static int n_dims_of(const hr_mix_tensor *t) {
    int n = 1; /* as ggml_n_dims: trailing dimensions of size 1 do not count */
    for (int d = 1; d < 4; d++)
        if (t->ne[d] > 1) n = d + 1;
    return n;
}

bool hr_mix_allows_quantization(const hr_mix_tensor *t) {
    /* small or structurally special tensors llama.cpp always keeps as they are */
    static const char *const keep[] = {
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
        "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
        "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
        "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
        "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
        "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.",
        "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    };
    if (n_dims_of(t) < 2 || !ends_with(t->name, "weight")) return false;
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (contains(t->name, keep[i])) return false;
    if (!strcmp(t->name, "position_embd.weight") || !strcmp(t->name, "token_types.weight")) return false;
    /* only types we can read back as floats can be converted */
    const hr_type_traits *tr = hr_type_traits_get(t->type);
    return tr && tr->to_float;
}

/* ---- categories ---- */
typedef enum { CAT_OTHER, CAT_OUTPUT, CAT_TOKEN_EMBD, CAT_ATTN_QKV, CAT_ATTN_KV_B, CAT_ATTN_V, CAT_ATTN_K,
               CAT_ATTN_Q, CAT_ATTN_OUTPUT, CAT_FFN_UP, CAT_FFN_GATE, CAT_FFN_DOWN } category;

static category category_of(const char *name) {
    if (!strcmp(name, "output.weight")) return CAT_OUTPUT;
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight")) return CAT_TOKEN_EMBD;
    static const struct { const char *sub; category c; } subs[] = {
        {"attn_qkv.weight", CAT_ATTN_QKV}, {"attn_kv_b.weight", CAT_ATTN_KV_B}, {"attn_v.weight", CAT_ATTN_V},
        {"attn_k.weight", CAT_ATTN_K},     {"attn_q.weight", CAT_ATTN_Q},       {"attn_output.weight", CAT_ATTN_OUTPUT},
        {"ffn_up", CAT_FFN_UP},            {"ffn_gate", CAT_FFN_GATE},         {"ffn_down", CAT_FFN_DOWN},
    };
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        if (contains(name, subs[i].sub)) return subs[i].c;
    return CAT_OTHER;
}

static bool is_attn_v_like(category c) { return c == CAT_ATTN_V || c == CAT_ATTN_QKV || c == CAT_ATTN_KV_B; }

/* ---- the mixture rules ---- */
typedef struct mix_state {
    const hr_mix_model *m;
    hr_ftype ft;
    bool falcon, is_70b, tied_embeddings;
    uint32_t n_gqa;
    int n_attention_wv, i_attention_wv, i_ffn_down, i_ffn_gate, i_ffn_up;
} mix_state;

/* the first and last eighth of the layers, and every third one between */
static bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

/* Layer index of an FFN tensor: its position among its kind, or for MoE
 * models (whose expert tensors need not be consecutive) the name's blk number. */
static int ffn_layer(const mix_state *s, int counter, const char *name) {
    if (s->m->n_expert > 1) {
        int l = layer_of(name);
        if (l >= 0) return l;
    }
    return counter;
}

static hr_type choose_mixed(mix_state *s, hr_type t, const hr_mix_tensor *x, category cat) {
    const hr_ftype ft = s->ft;
    const int n_layer = (int)s->m->n_layer;
    const uint32_t n_expert = s->m->n_expert;
    if (cat == CAT_OUTPUT || (s->tied_embeddings && cat == CAT_TOKEN_EMBD)) {
        const int64_t bs = hr_type_traits_get(t)->block_size;
        if (s->falcon || x->ne[0] % bs != 0) t = HR_TYPE_Q8_0;
        else if (t != HR_TYPE_Q8_0) t = HR_TYPE_Q6_K;
    } else if (cat == CAT_TOKEN_EMBD) {
        /* the untied embedding keeps the default type for every file type here */
    } else if (is_attn_v_like(cat)) {
        if (ft == HR_FTYPE_MOSTLY_Q2_K) t = s->n_gqa >= 4 ? HR_TYPE_Q4_K : HR_TYPE_Q3_K;
        else if (ft == HR_FTYPE_MOSTLY_Q3_K_M) t = s->i_attention_wv < 2 ? HR_TYPE_Q5_K : HR_TYPE_Q4_K;
        else if ((ft == HR_FTYPE_MOSTLY_Q4_K_M || ft == HR_FTYPE_MOSTLY_Q5_K_M) &&
                 use_more_bits(s->i_attention_wv, s->n_attention_wv))
            t = HR_TYPE_Q6_K;
        else if (ft == HR_FTYPE_MOSTLY_Q4_K_S && s->i_attention_wv < 4) t = HR_TYPE_Q5_K;
        /* 70B models share each attn_v among 8 heads: it is small, so spend bits */
        if (s->is_70b && (t == HR_TYPE_Q3_K || t == HR_TYPE_Q4_K)) t = HR_TYPE_Q5_K;
        if (n_expert == 8) t = HR_TYPE_Q8_0;
        s->i_attention_wv++;
    } else if (cat == CAT_ATTN_K) {
        if (n_expert == 8) t = HR_TYPE_Q8_0;
    } else if (cat == CAT_ATTN_Q) {
        /* only the IQ file types change attn_q */
    } else if (cat == CAT_FFN_DOWN) {
        const int il = ffn_layer(s, s->i_ffn_down, x->name);
        if (ft == HR_FTYPE_MOSTLY_Q2_K) t = HR_TYPE_Q3_K;
        else if (ft == HR_FTYPE_MOSTLY_Q3_K_M)
            t = il < n_layer / 16 ? HR_TYPE_Q5_K
              : (!s->falcon || use_more_bits(il, n_layer)) ? HR_TYPE_Q4_K
                                                           : HR_TYPE_Q3_K;
        else if (ft == HR_FTYPE_MOSTLY_Q4_K_M) {
            if (s->falcon)
                t = il < n_layer / 16 ? HR_TYPE_Q6_K : use_more_bits(il, n_layer) ? HR_TYPE_Q5_K : HR_TYPE_Q4_K;
            else if (use_more_bits(il, n_layer))
                t = HR_TYPE_Q6_K;
        } else if (ft == HR_FTYPE_MOSTLY_Q5_K_M && use_more_bits(il, n_layer))
            t = HR_TYPE_Q6_K;
        else if (ft == HR_FTYPE_MOSTLY_Q4_K_S && !s->falcon && il < n_layer / 8)
            t = HR_TYPE_Q5_K;
        s->i_ffn_down++;
    } else if (cat == CAT_ATTN_OUTPUT) {
        if (!s->falcon) {
            if (n_expert == 8) {
                if (ft == HR_FTYPE_MOSTLY_Q2_K || ft == HR_FTYPE_MOSTLY_Q3_K_S || ft == HR_FTYPE_MOSTLY_Q3_K_M ||
                    ft == HR_FTYPE_MOSTLY_Q4_K_S || ft == HR_FTYPE_MOSTLY_Q4_K_M)
                    t = HR_TYPE_Q5_K;
            } else {
                if (ft == HR_FTYPE_MOSTLY_Q2_K) t = HR_TYPE_Q3_K;
                else if (ft == HR_FTYPE_MOSTLY_Q3_K_M) t = HR_TYPE_Q4_K;
            }
        }
    } else if (cat == CAT_ATTN_QKV) {
        /* not reached: attn_qkv is attn_v-like above, as in llama.cpp */
    } else if (cat == CAT_FFN_GATE) {
        s->i_ffn_gate++;
    } else if (cat == CAT_FFN_UP) {
        s->i_ffn_up++;
    }
    return t;
}

/* A row length the chosen block size does not divide: a 32-element type of
 * similar size, or f16 when even that does not fit. */
static hr_type fallback(hr_type t, int64_t ncols, int *n_fallback) {
    if (ncols % hr_type_traits_get(t)->block_size == 0) return t;
    if (n_fallback) (*n_fallback)++;
    hr_type r = t;
    switch (t) {
    case HR_TYPE_Q2_K: case HR_TYPE_Q3_K: r = HR_TYPE_Q4_0; break;
    case HR_TYPE_Q4_K: r = HR_TYPE_Q5_0; break;
    case HR_TYPE_Q5_K: r = HR_TYPE_Q5_1; break;
    case HR_TYPE_Q6_K: r = HR_TYPE_Q8_0; break;
    default: break;
    }
    if (ncols % hr_type_traits_get(r)->block_size != 0) r = HR_TYPE_F16;
    return r;
}

void hr_mix_choose(const hr_mix_model *m, hr_ftype ft, bool pure, const hr_mix_tensor *t, size_t n, hr_type *out,
                   int *n_fallback) {
    mix_state s = {.m = m, .ft = ft, .tied_embeddings = true};
    const char *arch = m->arch ? m->arch : "";
    s.falcon = !strcmp(arch, "falcon");
    s.n_gqa = m->n_head_kv ? m->n_head / m->n_head_kv : 0;
    /* llama.cpp's model-size classes that matter here: 70B */
    s.is_70b = (!strcmp(arch, "llama") && m->n_layer == 80 && m->n_head != m->n_head_kv) ||
               ((!strcmp(arch, "qwen2") || !strcmp(arch, "olmo") || !strcmp(arch, "deci")) && m->n_layer == 80) ||
               (!strcmp(arch, "jais2") && m->n_layer == 68);
    for (size_t i = 0; i < n; i++) {
        category c = category_of(t[i].name);
        if (is_attn_v_like(c)) s.n_attention_wv++;
        if (c == CAT_OUTPUT) s.tied_embeddings = false;
    }
    if (n_fallback) *n_fallback = 0;
    const hr_type def = hr_ftype_default_type(ft);
    const bool def_quantized = def != HR_TYPE_COUNT && hr_type_traits_get(def)->is_quantized;
    for (size_t i = 0; i < n; i++) {
        if (def == HR_TYPE_COUNT || !hr_mix_allows_quantization(&t[i])) {
            out[i] = t[i].type;
            continue;
        }
        hr_type nt = def;
        if (def_quantized) {
            if (!pure) nt = choose_mixed(&s, nt, &t[i], category_of(t[i].name));
            nt = fallback(nt, t[i].ne[0], n_fallback);
        }
        out[i] = nt;
    }
}
