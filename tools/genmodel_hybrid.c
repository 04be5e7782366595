/*
 * genmodel_hybrid: writes a tiny random-weight GGUF of the mixture-of-experts
 * architectures (qwen3moe, qwen2moe) with the metadata keys and tensor names
 * llama.cpp expects, so that hearth and llama.cpp can be compared on the same
 * file. The tokenizer.* keys come from a vocabulary-only GGUF, cut to
 * --n-vocab tokens. Written through src/gguf's writer.
 *
 *   genmodel_hybrid --arch qwen3moe --type q4_K --vocab V.gguf --n-vocab 4096 -o out.gguf
 *
 * --shape qwen35-2b | nemotron-h-small writes a full-size benchmark model (see
 * bench_shape) instead of the tiny test one; --type q4_k_m then gives llama.cpp's
 * Q4_K_M mixture. A vocabulary shorter than the shape's is padded with unused
 * tokens, so the output matrix has the real model's size.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gguf/gguf.h"
#include "tensor/types.h"

#include "genmodel_rng.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("genmodel_hybrid: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void check(hearth_status st, const char *what) {
    if (st != HEARTH_OK) die("writer failed at %s", what);
}

typedef struct shape {
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
    int64_t n_expert, n_expert_used, n_ff_exp, n_ff_shexp;
    int64_t n_rot, ssm_conv, ssm_state, ssm_groups, ssm_v_heads, attn_interval; /* qwen35 */
    const char *pattern; /* nemotron_h: per layer M (Mamba-2), A (attention), F (MLP) */
    int64_t ssm_inner;
    float rope_base, eps;
    /* Benchmark shapes: the real vocabulary size (the token list is padded up to it),
     * embeddings tied to the output, M-RoPE sections as the real file has them (else derived). */
    int64_t n_vocab;
    bool tied;
    int32_t sections[4];
} shape;

typedef struct opts {
    const char *arch, *out, *vocab, *shape_name;
    hr_type type;
    uint32_t ftype;
    bool q4_k_m; /* llama.cpp's Q4_K_M mixture over base type Q4_K */
    const shape *s;
    uint64_t seed;
    int64_t n_vocab;
    float out_gain; /* final norm gain: the logits' spread */
} opts;

static bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* Layers before il of the given pattern kind, or il itself without a pattern. */
static int64_t count_before(const shape *s, int64_t il, char kind) {
    if (!s->pattern) return il;
    int64_t n = 0;
    for (int64_t i = 0; i < il; i++) n += s->pattern[i] == kind;
    return n;
}

/* The type llama.cpp's Q4_K_M gives a tensor (llama_tensor_get_type_impl in
 * src/llama-quant.cpp): the output (or the embeddings, when tied) Q6_K; the
 * V-like tensors (attn_v, and qwen35's fused attn_qkv, counted together in file
 * order: one per layer there) and ffn_down Q6_K where use_more_bits picks their
 * running index (ffn_down's total is the layer count even where only MLP layers
 * have one, as in nemotron_h); everything else Q4_K. */
static hr_type q4_k_m_type(const opts *o, const char *name) {
    const shape *s = o->s;
    if (!strcmp(name, "output.weight") || (s->tied && !strcmp(name, "token_embd.weight"))) return HR_TYPE_Q6_K;
    int il = -1;
    if (sscanf(name, "blk.%d.", &il) != 1 || il < 0) return HR_TYPE_Q4_K;
    if (strstr(name, "attn_v.weight") || strstr(name, "attn_qkv.weight")) {
        int64_t n = s->pattern ? count_before(s, s->n_layer, 'A') : s->n_layer;
        if (use_more_bits(count_before(s, il, 'A'), n)) return HR_TYPE_Q6_K;
    } else if (strstr(name, "ffn_down.weight")) {
        if (use_more_bits(count_before(s, il, 'F'), s->n_layer)) return HR_TYPE_Q6_K;
    }
    return HR_TYPE_Q4_K;
}

/* ------------------------------------------------------------- tensors */

/* mean + std * N(0,1) per element; 1-D tensors and the router stay F32 as
 * llama.cpp's quantizer keeps them. */
static void add(hr_gguf_writer *w, const opts *o, const char *name, bool quantize, int nd, int64_t ne0, int64_t ne1,
                int64_t ne2, float mean, float std) {
    hr_type t = quantize && nd > 1 ? o->type : HR_TYPE_F32;
    if (quantize && nd > 1 && o->q4_k_m) t = q4_k_m_type(o, name);
    const hr_type_traits *tr = hr_type_traits_get(t);
    int64_t rows = ne1 * ne2;
    size_t rs = hr_row_size(t, ne0);
    if (rs == 0) die("%s: row of %" PRId64 " does not fit type %s", name, ne0, hr_type_name(t));
    uint8_t *buf = malloc(rs * (size_t)rows);
    float *row = malloc((size_t)ne0 * sizeof *row);
    if (!buf || !row) die("out of memory");
    for (int64_t r = 0; r < rows; r++) {
        uint64_t st = o->seed * 0x9e3779b97f4a7c15ull ^ hash_str(name) ^ ((uint64_t)r * 0xd1b54a32d192ed03ull);
        splitmix(&st);
        for (int64_t i = 0; i < ne0; i++) row[i] = mean + gauss(&st) * std;
        tr->from_float(row, buf + (size_t)r * rs, ne0);
    }
    int64_t ne[3] = {ne0, ne1, ne2};
    check(hr_gguf_add_tensor(w, name, t, (uint32_t)nd, ne, buf, rs * (size_t)rows), name);
    free(buf);
    free(row);
}

/* Qwen 3.5: Gated DeltaNet layers with a gated attention layer every attn_interval-th. */
static void build_qwen35(hr_gguf_writer *w, const opts *o, const shape *s) {
    const int64_t d = s->n_embd, dq = s->n_head * s->head_dim, dkv = s->n_head_kv * s->head_dim;
    const int64_t key_dim = s->ssm_state * s->ssm_groups, vdim = s->ssm_state * s->ssm_v_heads;
    const float in_std = 1.0f / sqrtf((float)d);
    char nm[96];
    add(w, o, "token_embd.weight", true, 2, d, o->n_vocab, 1, 0.0f, in_std);
    for (int64_t il = 0; il < s->n_layer; il++) {
#define T(suffix) (snprintf(nm, sizeof nm, "blk.%" PRId64 "." suffix, il), nm)
        add(w, o, T("attn_norm.weight"), false, 1, d, 1, 1, 1.0f, 0.1f);
        if ((il + 1) % s->attn_interval == 0) {
            add(w, o, T("attn_q.weight"), true, 2, d, 2 * dq, 1, 0.0f, in_std);
            add(w, o, T("attn_k.weight"), true, 2, d, dkv, 1, 0.0f, in_std);
            add(w, o, T("attn_v.weight"), true, 2, d, dkv, 1, 0.0f, in_std);
            add(w, o, T("attn_q_norm.weight"), false, 1, s->head_dim, 1, 1, 1.0f, 0.1f);
            add(w, o, T("attn_k_norm.weight"), false, 1, s->head_dim, 1, 1, 1.0f, 0.1f);
            add(w, o, T("attn_output.weight"), true, 2, dq, d, 1, 0.0f, 1.0f / sqrtf((float)dq));
        } else {
            add(w, o, T("attn_qkv.weight"), true, 2, d, 2 * key_dim + vdim, 1, 0.0f, in_std);
            add(w, o, T("attn_gate.weight"), true, 2, d, vdim, 1, 0.0f, in_std);
            /* conv taps of unit scale, kept F32 like llama.cpp's quantizer keeps them */
            add(w, o, T("ssm_conv1d.weight"), false, 2, s->ssm_conv, 2 * key_dim + vdim, 1, 0.0f, 0.5f);
            add(w, o, T("ssm_dt.bias"), false, 1, s->ssm_v_heads, 1, 1, 0.0f, 0.5f);
            add(w, o, T("ssm_a"), false, 1, s->ssm_v_heads, 1, 1, -1.0f, 0.2f); /* -exp(A_log) < 0 */
            add(w, o, T("ssm_beta.weight"), true, 2, d, s->ssm_v_heads, 1, 0.0f, in_std);
            add(w, o, T("ssm_alpha.weight"), true, 2, d, s->ssm_v_heads, 1, 0.0f, in_std);
            add(w, o, T("ssm_norm.weight"), false, 1, s->ssm_state, 1, 1, 1.0f, 0.1f);
            add(w, o, T("ssm_out.weight"), true, 2, vdim, d, 1, 0.0f, 1.0f / sqrtf((float)vdim));
        }
        add(w, o, T("post_attention_norm.weight"), false, 1, d, 1, 1, 1.0f, 0.1f);
        if (s->n_expert) { /* qwen35moe: experts and a sigmoid-gated shared expert */
            add(w, o, T("ffn_gate_inp.weight"), false, 2, d, s->n_expert, 1, 0.0f, 2.0f * in_std);
            add(w, o, T("ffn_gate_exps.weight"), true, 3, d, s->n_ff_exp, s->n_expert, 0.0f, in_std);
            add(w, o, T("ffn_up_exps.weight"), true, 3, d, s->n_ff_exp, s->n_expert, 0.0f, in_std);
            add(w, o, T("ffn_down_exps.weight"), true, 3, s->n_ff_exp, d, s->n_expert, 0.0f,
                1.0f / sqrtf((float)s->n_ff_exp));
            add(w, o, T("ffn_gate_inp_shexp.weight"), false, 1, d, 1, 1, 0.0f, in_std);
            add(w, o, T("ffn_gate_shexp.weight"), true, 2, d, s->n_ff_shexp, 1, 0.0f, in_std);
            add(w, o, T("ffn_up_shexp.weight"), true, 2, d, s->n_ff_shexp, 1, 0.0f, in_std);
            add(w, o, T("ffn_down_shexp.weight"), true, 2, s->n_ff_shexp, d, 1, 0.0f, 1.0f / sqrtf((float)s->n_ff_shexp));
        } else {
            add(w, o, T("ffn_gate.weight"), true, 2, d, s->n_ff, 1, 0.0f, in_std);
            add(w, o, T("ffn_up.weight"), true, 2, d, s->n_ff, 1, 0.0f, in_std);
            add(w, o, T("ffn_down.weight"), true, 2, s->n_ff, d, 1, 0.0f, 1.0f / sqrtf((float)s->n_ff));
        }
#undef T
    }
    add(w, o, "output_norm.weight", false, 1, d, 1, 1, o->out_gain, 0.1f * o->out_gain);
    if (!s->tied) add(w, o, "output.weight", true, 2, d, o->n_vocab, 1, 0.0f, in_std);
}

/* Nemotron-H: one mixer per layer as the pattern says. */
static void build_nemotron_h(hr_gguf_writer *w, const opts *o, const shape *s) {
    const int64_t d = s->n_embd, dq = s->n_head * s->head_dim, dkv = s->n_head_kv * s->head_dim;
    const int64_t di = s->ssm_inner, ng = s->ssm_groups, ds = s->ssm_state, nh = s->ssm_v_heads;
    const int64_t cd = di + 2 * ng * ds;
    const float in_std = 1.0f / sqrtf((float)d);
    char nm[96];
    add(w, o, "token_embd.weight", true, 2, d, o->n_vocab, 1, 0.0f, in_std);
    for (int64_t il = 0; il < s->n_layer; il++) {
#define T(suffix) (snprintf(nm, sizeof nm, "blk.%" PRId64 "." suffix, il), nm)
        add(w, o, T("attn_norm.weight"), false, 1, d, 1, 1, 1.0f, 0.1f);
        char kind = s->pattern[il];
        if (kind == 'M') {
            add(w, o, T("ssm_in.weight"), true, 2, d, 2 * di + 2 * ng * ds + nh, 1, 0.0f, in_std);
            add(w, o, T("ssm_conv1d.weight"), false, 2, s->ssm_conv, cd, 1, 0.0f, 0.5f);
            add(w, o, T("ssm_conv1d.bias"), false, 1, cd, 1, 1, 0.0f, 0.2f);
            add(w, o, T("ssm_dt.bias"), false, 1, nh, 1, 1, 0.0f, 0.5f);
            add(w, o, T("ssm_a"), false, 2, 1, nh, 1, -1.0f, 0.2f); /* -exp(A_log) < 0 */
            add(w, o, T("ssm_d"), false, 2, 1, nh, 1, 1.0f, 0.2f);
            add(w, o, T("ssm_norm.weight"), false, 2, di / ng, ng, 1, 1.0f, 0.1f);
            add(w, o, T("ssm_out.weight"), true, 2, di, d, 1, 0.0f, 1.0f / sqrtf((float)di));
        } else if (kind == 'A') {
            add(w, o, T("attn_q.weight"), true, 2, d, dq, 1, 0.0f, in_std);
            add(w, o, T("attn_k.weight"), true, 2, d, dkv, 1, 0.0f, in_std);
            add(w, o, T("attn_v.weight"), true, 2, d, dkv, 1, 0.0f, in_std);
            add(w, o, T("attn_output.weight"), true, 2, dq, d, 1, 0.0f, 1.0f / sqrtf((float)dq));
        } else if (kind == 'E') { /* sigmoid router with selection bias, ungated experts, shared expert */
            add(w, o, T("ffn_gate_inp.weight"), false, 2, d, s->n_expert, 1, 0.0f, 2.0f * in_std);
            add(w, o, T("exp_probs_b.bias"), false, 1, s->n_expert, 1, 1, 0.0f, 0.1f);
            add(w, o, T("ffn_up_exps.weight"), true, 3, d, s->n_ff_exp, s->n_expert, 0.0f, in_std);
            add(w, o, T("ffn_down_exps.weight"), true, 3, s->n_ff_exp, d, s->n_expert, 0.0f,
                1.0f / sqrtf((float)s->n_ff_exp));
            add(w, o, T("ffn_up_shexp.weight"), true, 2, d, s->n_ff_shexp, 1, 0.0f, in_std);
            add(w, o, T("ffn_down_shexp.weight"), true, 2, s->n_ff_shexp, d, 1, 0.0f, 1.0f / sqrtf((float)s->n_ff_shexp));
        } else {
            add(w, o, T("ffn_up.weight"), true, 2, d, s->n_ff, 1, 0.0f, in_std);
            add(w, o, T("ffn_down.weight"), true, 2, s->n_ff, d, 1, 0.0f, 1.0f / sqrtf((float)s->n_ff));
        }
#undef T
    }
    add(w, o, "output_norm.weight", false, 1, d, 1, 1, o->out_gain, 0.1f * o->out_gain);
    add(w, o, "output.weight", true, 2, d, o->n_vocab, 1, 0.0f, in_std);
}

static void build(hr_gguf_writer *w, const opts *o, const shape *s) {
    if (s->pattern) {
        build_nemotron_h(w, o, s);
        return;
    }
    if (s->ssm_state) {
        build_qwen35(w, o, s);
        return;
    }
    const bool q2 = !strcmp(o->arch, "qwen2moe");
    const int64_t d = s->n_embd, dq = s->n_head * s->head_dim, dkv = s->n_head_kv * s->head_dim;
    const float in_std = 1.0f / sqrtf((float)d);
    char nm[96];
    add(w, o, "token_embd.weight", true, 2, d, o->n_vocab, 1, 0.0f, in_std);
    for (int64_t il = 0; il < s->n_layer; il++) {
#define T(suffix) (snprintf(nm, sizeof nm, "blk.%" PRId64 "." suffix, il), nm)
        add(w, o, T("attn_norm.weight"), false, 1, d, 1, 1, 1.0f, 0.1f);
        add(w, o, T("attn_q.weight"), true, 2, d, dq, 1, 0.0f, in_std);
        add(w, o, T("attn_k.weight"), true, 2, d, dkv, 1, 0.0f, in_std);
        add(w, o, T("attn_v.weight"), true, 2, d, dkv, 1, 0.0f, in_std);
        if (q2) {
            add(w, o, T("attn_q.bias"), false, 1, dq, 1, 1, 0.0f, 0.5f);
            add(w, o, T("attn_k.bias"), false, 1, dkv, 1, 1, 0.0f, 0.5f);
            add(w, o, T("attn_v.bias"), false, 1, dkv, 1, 1, 0.0f, 0.5f);
        } else {
            add(w, o, T("attn_q_norm.weight"), false, 1, s->head_dim, 1, 1, 1.0f, 0.1f);
            add(w, o, T("attn_k_norm.weight"), false, 1, s->head_dim, 1, 1, 1.0f, 0.1f);
        }
        add(w, o, T("attn_output.weight"), true, 2, dq, d, 1, 0.0f, 1.0f / sqrtf((float)dq));
        add(w, o, T("ffn_norm.weight"), false, 1, d, 1, 1, 1.0f, 0.1f);
        /* Router logits with a standard deviation near 2: routing varies from token to token. */
        add(w, o, T("ffn_gate_inp.weight"), false, 2, d, s->n_expert, 1, 0.0f, 2.0f * in_std);
        add(w, o, T("ffn_gate_exps.weight"), true, 3, d, s->n_ff_exp, s->n_expert, 0.0f, in_std);
        add(w, o, T("ffn_up_exps.weight"), true, 3, d, s->n_ff_exp, s->n_expert, 0.0f, in_std);
        add(w, o, T("ffn_down_exps.weight"), true, 3, s->n_ff_exp, d, s->n_expert, 0.0f,
            1.0f / sqrtf((float)s->n_ff_exp));
        if (q2) {
            add(w, o, T("ffn_gate_inp_shexp.weight"), false, 1, d, 1, 1, 0.0f, in_std);
            add(w, o, T("ffn_gate_shexp.weight"), true, 2, d, s->n_ff_shexp, 1, 0.0f, in_std);
            add(w, o, T("ffn_up_shexp.weight"), true, 2, d, s->n_ff_shexp, 1, 0.0f, in_std);
            add(w, o, T("ffn_down_shexp.weight"), true, 2, s->n_ff_shexp, d, 1, 0.0f,
                1.0f / sqrtf((float)s->n_ff_shexp));
        }
#undef T
    }
    /* The final norm's gain (~4) gives logits a spread that is neither one-hot nor flat. */
    add(w, o, "output_norm.weight", false, 1, d, 1, 1, o->out_gain, 0.1f * o->out_gain);
    add(w, o, "output.weight", true, 2, d, o->n_vocab, 1, 0.0f, in_std);
}

static void metadata(hr_gguf_writer *w, const opts *o, const shape *s) {
    char k[128];
    const char *a = o->arch;
#define K(suffix) (snprintf(k, sizeof k, "%s." suffix, a), k)
    check(hr_gguf_set_str(w, "general.architecture", a), "arch");
    check(hr_gguf_set_str(w, "general.name", "genmodel_hybrid"), "name");
    check(hr_gguf_set_u32(w, "general.file_type", o->ftype), "file_type");
    if (hr_type_traits_get(o->type)->is_quantized) check(hr_gguf_set_u32(w, "general.quantization_version", 2), "qv");
    check(hr_gguf_set_u32(w, K("context_length"), (uint32_t)s->n_ctx), "ctx");
    check(hr_gguf_set_u32(w, K("embedding_length"), (uint32_t)s->n_embd), "embd");
    check(hr_gguf_set_u32(w, K("block_count"), (uint32_t)s->n_layer), "layers");
    if (s->pattern) {
        int32_t kv[64], ff[64];
        for (int64_t i = 0; i < s->n_layer; i++) {
            kv[i] = s->pattern[i] == 'A' ? (int32_t)s->n_head_kv : 0;
            ff[i] = s->pattern[i] == 'F' ? (int32_t)s->n_ff : s->pattern[i] == 'E' ? (int32_t)s->n_ff_exp : 0;
        }
        check(hr_gguf_set_arr(w, K("feed_forward_length"), HR_GGUF_INT32, ff, (uint64_t)s->n_layer), "ff");
        check(hr_gguf_set_arr(w, K("attention.head_count_kv"), HR_GGUF_INT32, kv, (uint64_t)s->n_layer), "heads_kv");
        check(hr_gguf_set_f32(w, K("attention.layer_norm_epsilon"), s->eps), "eps");
    } else {
        check(hr_gguf_set_u32(w, K("feed_forward_length"), (uint32_t)s->n_ff), "ff");
        check(hr_gguf_set_u32(w, K("attention.head_count_kv"), (uint32_t)s->n_head_kv), "heads_kv");
    }
    check(hr_gguf_set_u32(w, K("attention.head_count"), (uint32_t)s->n_head), "heads");
    check(hr_gguf_set_u32(w, K("attention.key_length"), (uint32_t)s->head_dim), "key_length");
    check(hr_gguf_set_u32(w, K("attention.value_length"), (uint32_t)s->head_dim), "value_length");
    check(hr_gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), s->eps), "eps");
    if (s->pattern) {
        check(hr_gguf_set_u32(w, K("ssm.conv_kernel"), (uint32_t)s->ssm_conv), "conv");
        check(hr_gguf_set_u32(w, K("ssm.state_size"), (uint32_t)s->ssm_state), "state");
        check(hr_gguf_set_u32(w, K("ssm.group_count"), (uint32_t)s->ssm_groups), "groups");
        check(hr_gguf_set_u32(w, K("ssm.time_step_rank"), (uint32_t)s->ssm_v_heads), "heads");
        check(hr_gguf_set_u32(w, K("ssm.inner_size"), (uint32_t)s->ssm_inner), "inner");
        if (!s->n_expert) return;
        check(hr_gguf_set_bool(w, K("expert_weights_norm"), true), "norm");
        check(hr_gguf_set_f32(w, K("expert_weights_scale"), 2.5f), "scale");
        check(hr_gguf_set_u32(w, K("expert_count"), (uint32_t)s->n_expert), "experts");
        check(hr_gguf_set_u32(w, K("expert_used_count"), (uint32_t)s->n_expert_used), "experts_used");
        check(hr_gguf_set_u32(w, K("expert_feed_forward_length"), (uint32_t)s->n_ff_exp), "ff_exp");
        check(hr_gguf_set_u32(w, K("expert_shared_feed_forward_length"), (uint32_t)s->n_ff_shexp), "ff_sh");
        return;
    }
    check(hr_gguf_set_f32(w, K("rope.freq_base"), s->rope_base), "rope");
    if (s->ssm_state) {
        int32_t sections[4] = {(int32_t)(s->n_rot / 2 - 2 * (s->n_rot / 6)), (int32_t)(s->n_rot / 6),
                               (int32_t)(s->n_rot / 6), 0};
        if (s->sections[0]) memcpy(sections, s->sections, sizeof sections);
        check(hr_gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)s->n_rot), "n_rot");
        check(hr_gguf_set_arr(w, K("rope.dimension_sections"), HR_GGUF_INT32, sections, 4), "sections");
        check(hr_gguf_set_u32(w, K("ssm.conv_kernel"), (uint32_t)s->ssm_conv), "conv");
        check(hr_gguf_set_u32(w, K("ssm.state_size"), (uint32_t)s->ssm_state), "state");
        check(hr_gguf_set_u32(w, K("ssm.group_count"), (uint32_t)s->ssm_groups), "groups");
        check(hr_gguf_set_u32(w, K("ssm.time_step_rank"), (uint32_t)s->ssm_v_heads), "v heads");
        check(hr_gguf_set_u32(w, K("ssm.inner_size"), (uint32_t)(s->ssm_v_heads * s->ssm_state)), "inner");
        check(hr_gguf_set_u32(w, K("full_attention_interval"), (uint32_t)s->attn_interval), "interval");
        if (!s->n_expert) return;
    }
    check(hr_gguf_set_u32(w, K("expert_count"), (uint32_t)s->n_expert), "experts");
    check(hr_gguf_set_u32(w, K("expert_used_count"), (uint32_t)s->n_expert_used), "experts_used");
    check(hr_gguf_set_u32(w, K("expert_feed_forward_length"), (uint32_t)s->n_ff_exp), "ff_exp");
    if (s->n_ff_shexp) check(hr_gguf_set_u32(w, K("expert_shared_feed_forward_length"), (uint32_t)s->n_ff_shexp), "ff_sh");
#undef K
}

/* tokenizer.* keys of the vocabulary file, token arrays cut to n_vocab, special ids beyond dropped;
 * token arrays shorter than n_vocab are padded with unused tokens (normal type, score 0, never
 * produced by the merges), as the real models pad their vocabularies. */
static void copy_vocab(hr_gguf_writer *w, const hr_gguf *g, int64_t nv) {
    hearth_error err = {0};
    for (int64_t i = 0; i < hr_gguf_n_kv(g); i++) {
        const char *k = hr_gguf_key(g, i);
        if (strncmp(k, "tokenizer.", 10) != 0) continue;
        hr_gguf_type t = hr_gguf_kv_type(g, i);
        if (t == HR_GGUF_ARRAY) {
            hr_gguf_type at = hr_gguf_arr_type(g, i);
            uint64_t n = hr_gguf_arr_len(g, i);
            bool tok = !strcmp(k, "tokenizer.ggml.tokens") || !strcmp(k, "tokenizer.ggml.scores") ||
                       !strcmp(k, "tokenizer.ggml.token_type");
            if (tok && n > (uint64_t)nv) n = (uint64_t)nv;
            const uint64_t n_out = tok && n < (uint64_t)nv ? (uint64_t)nv : n;
            if (at == HR_GGUF_STRING) {
                const char **strs = malloc((n_out ? n_out : 1) * sizeof *strs);
                char *pad = malloc((n_out - n) * 40 + 1);
                if (!strs || !pad) die("out of memory");
                for (uint64_t j = 0; j < n; j++) strs[j] = hr_gguf_arr_str(g, i, j).ptr;
                for (uint64_t j = n; j < n_out; j++) {
                    char *p = pad + (j - n) * 32;
                    snprintf(p, 40, "<|hearth_pad_%" PRIu64 "|>", j);
                    strs[j] = p;
                }
                check(hr_gguf_set_arr_str(w, k, strs, n_out), k);
                free(strs);
                free(pad);
            } else if (at != HR_GGUF_ARRAY && n_out > n) {
                const size_t es = at == HR_GGUF_FLOAT32 || at == HR_GGUF_INT32 || at == HR_GGUF_UINT32 ? 4 : 0;
                if (!es) die("%s: cannot pad an array of type %d", k, (int)at);
                uint8_t *buf = calloc(n_out, es);
                if (!buf) die("out of memory");
                memcpy(buf, hr_gguf_arr_data(g, i), n * es);
                for (uint64_t j = n; j < n_out && at != HR_GGUF_FLOAT32; j++) memcpy(buf + j * es, &(int32_t){1}, es);
                check(hr_gguf_set_arr(w, k, at, buf, n_out), k);
                free(buf);
            } else if (at != HR_GGUF_ARRAY) {
                check(hr_gguf_set_arr(w, k, at, hr_gguf_arr_data(g, i), n), k);
            }
        } else if (t == HR_GGUF_STRING) {
            check(hr_gguf_set_str(w, k, hr_gguf_get_str(g, i).ptr), k);
        } else if (t == HR_GGUF_BOOL) {
            bool b = false;
            if (hr_gguf_get_bool(g, k, &b, &err)) die("%s", err.message);
            check(hr_gguf_set_bool(w, k, b), k);
        } else if (t == HR_GGUF_UINT32 || t == HR_GGUF_INT32) {
            int64_t v = 0;
            if (hr_gguf_get_i64(g, k, &v, &err)) die("%s", err.message);
            size_t L = strlen(k);
            if (L > 3 && !strcmp(k + L - 3, "_id") && v >= nv) continue;
            check(t == HR_GGUF_UINT32 ? hr_gguf_set_u32(w, k, (uint32_t)v) : hr_gguf_set_i32(w, k, (int32_t)v), k);
        }
    }
}

/* Full-size shapes for `make bench`.
 *
 * qwen35-2b: Qwen3.5-2B as its GGUF states it (unsloth/Qwen3.5-2B-GGUF, llama.cpp's
 * metadata dump): 24 layers, every 4th gated attention (8 query heads, 2 KV heads of
 * 256, rope on 64 dims, M-RoPE sections 11/11/10), the rest Gated DeltaNet (16 key and
 * 16 value heads of 128, conv kernel 4), hidden 2048, FFN 6144, vocabulary 248320,
 * embeddings tied to the output, context 262144.
 *
 * nemotron-h-small: a scaled Nemotron-H. The layer pattern is Nemotron-H-4B-Base-8K's
 * (hybrid_override_pattern M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-: 24
 * Mamba-2, 4 attention, 24 squared-ReLU MLP layers; NVIDIA's Megatron-Bridge docs), as
 * are the head sizes (Mamba-2 heads of 64 with state 128, 8 groups, conv 4; attention
 * heads of 128, no rope) and the 131072-token vocabulary with an untied output; the
 * widths are half the 4B's (hidden 1536 instead of 3072, 56 Mamba-2 heads instead of
 * 112, 16 query / 4 KV heads instead of 32 / 8, FFN 6144 instead of 12288), about 1.3B
 * parameters, so that a 16K-token context fills in minutes on a small CPU. Context
 * 131072 (Nemotron-H-4B-Instruct-128K's). */
static shape bench_shape(const char *arch, const char *name) {
    if (!strcmp(name, "qwen35-2b") && !strcmp(arch, "qwen35"))
        return (shape){.n_embd = 2048, .n_layer = 24, .n_head = 8, .n_head_kv = 2, .head_dim = 256, .n_ff = 6144,
                       .n_ctx = 262144, .n_rot = 64, .ssm_conv = 4, .ssm_state = 128, .ssm_groups = 16,
                       .ssm_v_heads = 16, .attn_interval = 4, .rope_base = 10000000.0f, .eps = 1e-6f,
                       .n_vocab = 248320, .tied = true, .sections = {11, 11, 10, 0}};
    if (!strcmp(name, "nemotron-h-small") && !strcmp(arch, "nemotron_h")) {
        static char pattern[64];
        const char *hf = "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-";
        size_t n = strlen(hf);
        for (size_t i = 0; i < n; i++) pattern[i] = hf[i] == 'M' ? 'M' : hf[i] == '*' ? 'A' : 'F';
        pattern[n] = 0;
        return (shape){.n_embd = 1536, .n_layer = (int64_t)n, .n_head = 16, .n_head_kv = 4, .head_dim = 128,
                       .n_ff = 6144, .n_ctx = 131072, .ssm_conv = 4, .ssm_state = 128, .ssm_groups = 8,
                       .ssm_v_heads = 56, .ssm_inner = 56 * 64, .pattern = pattern, .eps = 1e-5f,
                       .n_vocab = 131072};
    }
    die("unknown shape '%s' for architecture %s", name, arch);
}

static int64_t parse_int(const char *flag, const char *s, int64_t min, int64_t max) {
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max)
        die("%s expects an integer in [%lld, %lld]", flag, (long long)min, (long long)max);
    return v;
}

int main(int argc, char **argv) {
    opts o = {.type = HR_TYPE_F32, .seed = 1, .n_vocab = 4096, .out_gain = 4.0f};
    const char *type = "f32";
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) die("%s needs a value", a);
        if (!strcmp(a, "--arch")) o.arch = v;
        else if (!strcmp(a, "--type")) type = v;
        else if (!strcmp(a, "--vocab")) o.vocab = v;
        else if (!strcmp(a, "-o")) o.out = v;
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)parse_int(a, v, 0, INT64_MAX);
        else if (!strcmp(a, "--n-vocab")) o.n_vocab = parse_int(a, v, 16, 1 << 24);
        else if (!strcmp(a, "--logit-scale")) o.out_gain = (float)parse_int(a, v, 1, 64);
        else if (!strcmp(a, "--shape")) o.shape_name = v;
        else die("unknown option '%s'", a);
    }
    if (!o.arch || !o.vocab || !o.out)
        die("usage: genmodel_hybrid --arch qwen3moe|qwen2moe|qwen35|qwen35moe|nemotron_h|nemotron_h_moe --vocab V.gguf -o OUT [--type T|q4_k_m] [--seed N] [--n-vocab N] [--logit-scale N] [--shape qwen35-2b|nemotron-h-small]");
    static const struct { hr_type t; uint32_t ftype; } ftypes[] = {
        {HR_TYPE_F32, 0}, {HR_TYPE_F16, 1}, {HR_TYPE_Q4_0, 2}, {HR_TYPE_Q8_0, 7}, {HR_TYPE_Q4_K, 15}, {HR_TYPE_Q6_K, 18},
    };
    o.q4_k_m = !strcasecmp(type, "q4_k_m");
    if (o.q4_k_m) type = "q4_K";
    if (!hr_type_from_name(type, &o.type)) die("unknown type '%s'", type);
    bool found = false;
    for (size_t i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
        if (ftypes[i].t == o.type) o.ftype = ftypes[i].ftype, found = true;
    if (!found) die("type '%s' is not one genmodel_hybrid writes", type);
    if (o.q4_k_m && !o.shape_name) die("--type q4_k_m needs a --shape");

    shape s;
    if (!strcmp(o.arch, "qwen3moe")) {
        /* head_dim 128 != n_embd / n_head, GQA 2:1, 8 experts of which 2 are used */
        s = (shape){.n_embd = 256, .n_layer = 3, .n_head = 4, .n_head_kv = 2, .head_dim = 128, .n_ff = 768,
                    .n_ctx = 4096, .n_expert = 8, .n_expert_used = 2, .n_ff_exp = 256, .n_ff_shexp = 0,
                    .rope_base = 1000000.0f, .eps = 1e-6f};
    } else if (!strcmp(o.arch, "qwen2moe")) {
        s = (shape){.n_embd = 256, .n_layer = 3, .n_head = 4, .n_head_kv = 2, .head_dim = 64, .n_ff = 768,
                    .n_ctx = 4096, .n_expert = 8, .n_expert_used = 3, .n_ff_exp = 256, .n_ff_shexp = 512,
                    .rope_base = 1000000.0f, .eps = 1e-6f};
    } else if (!strcmp(o.arch, "qwen35") || !strcmp(o.arch, "qwen35moe")) {
        /* layers R A R A; partial rope (32 of 128); 2 key heads shared by 4 value heads */
        s = (shape){.n_embd = 256, .n_layer = 4, .n_head = 4, .n_head_kv = 2, .head_dim = 128, .n_ff = 512,
                    .n_ctx = 4096, .n_rot = 32, .ssm_conv = 4, .ssm_state = 64, .ssm_groups = 2, .ssm_v_heads = 4,
                    .attn_interval = 2, .rope_base = 10000000.0f, .eps = 1e-6f};
        if (!strcmp(o.arch, "qwen35moe")) s.n_expert = 8, s.n_expert_used = 2, s.n_ff_exp = 256, s.n_ff_shexp = 256;
    } else if (!strcmp(o.arch, "nemotron_h")) {
        /* Mamba-2 (8 heads of 64, 2 groups, state 64), MLP, attention without rope, MLP, Mamba-2 */
        s = (shape){.n_embd = 256, .n_layer = 5, .n_head = 4, .n_head_kv = 2, .head_dim = 64, .n_ff = 512,
                    .n_ctx = 4096, .ssm_conv = 4, .ssm_state = 64, .ssm_groups = 2, .ssm_v_heads = 8,
                    .ssm_inner = 512, .pattern = "MFAFM", .eps = 1e-5f};
    } else if (!strcmp(o.arch, "nemotron_h_moe")) {
        s = (shape){.n_embd = 256, .n_layer = 5, .n_head = 4, .n_head_kv = 2, .head_dim = 64, .n_ff = 512,
                    .n_ctx = 4096, .ssm_conv = 4, .ssm_state = 64, .ssm_groups = 2, .ssm_v_heads = 8,
                    .ssm_inner = 512, .pattern = "MEAEM", .eps = 1e-5f, .n_expert = 8, .n_expert_used = 2,
                    .n_ff_exp = 256, .n_ff_shexp = 256};
    } else {
        die("unknown architecture '%s'", o.arch);
    }
    if (o.shape_name) s = bench_shape(o.arch, o.shape_name);
    o.s = &s;

    hr_gguf *voc = NULL;
    hearth_error err = {0};
    if (hr_gguf_open(o.vocab, &voc, &err)) die("%s", err.message);
    int64_t ti = hr_gguf_find_key(voc, "tokenizer.ggml.tokens");
    if (ti < 0 || hr_gguf_kv_type(voc, ti) != HR_GGUF_ARRAY) die("%s: no tokenizer.ggml.tokens", o.vocab);
    if (s.n_vocab) o.n_vocab = s.n_vocab;
    else if ((uint64_t)o.n_vocab > hr_gguf_arr_len(voc, ti)) o.n_vocab = (int64_t)hr_gguf_arr_len(voc, ti);

    hr_gguf_writer *w = hr_gguf_writer_new();
    if (!w) die("out of memory");
    metadata(w, &o, &s);
    copy_vocab(w, voc, o.n_vocab);
    build(w, &o, &s);
    if (hr_gguf_write_file(w, o.out, &err)) die("%s", err.message);
    hr_gguf_writer_free(w);
    hr_gguf_close(voc);
    return 0;
}
