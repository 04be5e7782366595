/*
 * genmodel: writes a random-weight GGUF model with the metadata keys and
 * tensor names llama.cpp expects for llama, mistral3, qwen2 and qwen3, so that
 * hearth and llama.cpp can be compared on the same file without downloading
 * real weights. The tokenizer comes from a vocabulary-only GGUF.
 *
 *   genmodel --arch qwen3 --type q4_K --shape tiny --vocab V.gguf -o out.gguf
 *
 * Weights are generated row by row from a counter-based PRNG (seed, tensor,
 * row), so the file does not depend on the thread count, and are written
 * straight to the output (no F32 intermediate file). The file is written by
 * this tool's own streaming GGUF emitter, independent of src/gguf's writer.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gguf/gguf.h"
#include "tensor/types.h"

#include "genmodel_rng.h"

#define MAX_TENSORS 1024
#define ALIGN 32

/* ------------------------------------------------------------------ options */

typedef enum { ROPE_NONE, ROPE_LINEAR, ROPE_YARN, ROPE_LLAMA3 } rope_kind;
typedef enum { MIX_PURE, MIX_Q3_K_M, MIX_Q4_K_S, MIX_Q4_K_M, MIX_Q5_K_M } mix_kind;

typedef struct shape {
    int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
    float rope_base, eps;
    bool tied;
} shape;

typedef struct opts {
    const char *arch, *out, *vocab, *shape_name;
    hr_type type;     /* default weight type */
    mix_kind mix;
    uint32_t ftype;   /* llama_ftype stored in general.file_type */
    uint64_t seed;
    int tied;         /* -1: the shape's default */
    int rope;         /* -1: the architecture's default */
    int64_t n_vocab_max, n_layer;
    int threads;
    float out_gain; /* mean of the final norm's weights: the logits' scale */
    shape s;
} opts;

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("genmodel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void usage(void) {
    fputs("usage: genmodel --arch llama|mistral3|qwen2|qwen3 --vocab VOCAB.gguf -o OUT.gguf\n"
          "  [--type f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q2_K|q3_K|q4_K|q5_K|q6_K|q3_k_m|q4_k_s|q4_k_m|q5_k_m]\n"
          "  [--shape tiny|qwen3-0.6b|llama-3.2-1b] [--seed N] [--tied|--untied]\n"
          "  [--rope-scaling none|linear|yarn|llama3] [--n-vocab N] [--layers N] [--logit-scale N] [-t THREADS]\n",
          stderr);
    exit(2);
}

static int64_t parse_int(const char *flag, const char *s, int64_t min, int64_t max) {
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max) die("%s expects an integer in [%lld, %lld]", flag, (long long)min, (long long)max);
    return v;
}

static void set_type(opts *o, const char *name) {
    static const struct { const char *name; mix_kind mix; hr_type base; uint32_t ftype; } mixes[] = {
        {"q3_k_m", MIX_Q3_K_M, HR_TYPE_Q3_K, 12}, {"q4_k_s", MIX_Q4_K_S, HR_TYPE_Q4_K, 14},
        {"q4_k_m", MIX_Q4_K_M, HR_TYPE_Q4_K, 15}, {"q5_k_m", MIX_Q5_K_M, HR_TYPE_Q5_K, 17},
    };
    for (size_t i = 0; i < sizeof mixes / sizeof mixes[0]; i++) {
        if (!strcasecmp(name, mixes[i].name)) {
            o->mix = mixes[i].mix, o->type = mixes[i].base, o->ftype = mixes[i].ftype;
            return;
        }
    }
    /* llama_ftype of a file whose weights are all of one type (llama.h). */
    static const struct { hr_type t; uint32_t ftype; } pure[] = {
        {HR_TYPE_F32, 0}, {HR_TYPE_F16, 1}, {HR_TYPE_Q4_0, 2}, {HR_TYPE_Q4_1, 3}, {HR_TYPE_Q8_0, 7},
        {HR_TYPE_Q5_0, 8}, {HR_TYPE_Q5_1, 9}, {HR_TYPE_Q2_K, 10}, {HR_TYPE_Q3_K, 12}, {HR_TYPE_Q4_K, 15},
        {HR_TYPE_Q5_K, 17}, {HR_TYPE_Q6_K, 18}, {HR_TYPE_BF16, 32},
    };
    hr_type t;
    if (!hr_type_from_name(name, &t)) die("unknown type '%s'", name);
    for (size_t i = 0; i < sizeof pure / sizeof pure[0]; i++) {
        if (pure[i].t == t) {
            o->mix = MIX_PURE, o->type = t, o->ftype = pure[i].ftype;
            return;
        }
    }
    die("type '%s' is not a weight type genmodel writes", name);
}

static void set_shape(opts *o) {
    const char *a = o->arch, *sh = o->shape_name;
    bool qwen = !strcmp(a, "qwen2") || !strcmp(a, "qwen3");
    if (!strcmp(sh, "tiny")) {
        /* Rows of 256 so every k-quant applies; head layouts differ per
         * architecture so that q width != n_embd and GQA are both exercised. */
        o->s = (shape){.n_embd = 256, .n_layer = 3, .n_head = 4, .n_head_kv = 2, .head_dim = 64, .n_ff = 512,
                       .n_ctx = 4096, .rope_base = 10000.0f, .eps = 1e-5f, .tied = qwen};
        if (!strcmp(a, "qwen3")) o->s.head_dim = 128, o->s.rope_base = 1000000.0f, o->s.eps = 1e-6f;
        if (!strcmp(a, "qwen2")) o->s.rope_base = 1000000.0f, o->s.eps = 1e-6f;
        if (!strcmp(a, "mistral3")) o->s.n_head = 8, o->s.rope_base = 1000000.0f;
    } else if (!strcmp(sh, "qwen3-0.6b")) {
        o->s = (shape){.n_embd = 1024, .n_layer = 28, .n_head = 16, .n_head_kv = 8, .head_dim = 128, .n_ff = 3072,
                       .n_ctx = 40960, .rope_base = 1000000.0f, .eps = 1e-6f, .tied = true};
    } else if (!strcmp(sh, "llama-3.2-1b")) {
        o->s = (shape){.n_embd = 2048, .n_layer = 16, .n_head = 32, .n_head_kv = 8, .head_dim = 64, .n_ff = 8192,
                       .n_ctx = 131072, .rope_base = 500000.0f, .eps = 1e-5f, .tied = true};
    } else {
        die("unknown shape '%s'", sh);
    }
    if (o->tied >= 0) o->s.tied = o->tied;
    if (o->n_layer > 0) o->s.n_layer = o->n_layer;
    if (!strcmp(a, "qwen2") && o->s.n_head * o->s.head_dim != o->s.n_embd)
        die("qwen2 needs n_head * head_dim == n_embd");
    if (o->rope < 0) {
        o->rope = !strcmp(a, "mistral3") ? ROPE_YARN : !strcmp(sh, "llama-3.2-1b") ? ROPE_LLAMA3 : ROPE_NONE;
    }
}

/* ------------------------------------------------------------- tensors */

typedef enum { INIT_NORMAL, INIT_NORM_WEIGHT, INIT_OUTPUT_NORM, INIT_ROPE_LLAMA3 } init_kind;

typedef struct tensor {
    char name[64];
    hr_type type;
    uint32_t n_dims;
    int64_t ne[2];
    init_kind init;
    float std;
    size_t nbytes;
    uint64_t offset;
} tensor;

typedef struct model {
    tensor t[MAX_TENSORS];
    int n;
} model;

static tensor *add(model *m, const char *name, hr_type type, int64_t ne0, int64_t ne1, init_kind init, float std) {
    if (m->n == MAX_TENSORS) die("too many tensors");
    tensor *t = &m->t[m->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0, t->ne[1] = ne1;
    t->type = t->n_dims == 1 ? HR_TYPE_F32 : type; /* 1-D tensors stay f32, as llama.cpp keeps them */
    t->init = init, t->std = std;
    t->nbytes = hr_row_size(t->type, ne0) * (size_t)ne1;
    if (t->nbytes == 0) die("%s: row of %" PRId64 " does not fit type %s", name, ne0, hr_type_name(t->type));
    return t;
}

static bool use_more_bits(int64_t i, int64_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* llama.cpp's choice of type per tensor for the K-quant mixtures
 * (llama_tensor_get_type in src/llama-quant.cpp, dense models). */
static hr_type mix_type(const opts *o, const char *role, int64_t il) {
    int64_t n = o->s.n_layer;
    hr_type t = o->type;
    if (o->mix == MIX_PURE) return t;
    if (!strcmp(role, "output")) return HR_TYPE_Q6_K;
    if (!strcmp(role, "attn_v")) {
        if (o->mix == MIX_Q3_K_M) return il < 2 ? HR_TYPE_Q5_K : HR_TYPE_Q4_K;
        if ((o->mix == MIX_Q4_K_M || o->mix == MIX_Q5_K_M) && use_more_bits(il, n)) return HR_TYPE_Q6_K;
        if (o->mix == MIX_Q4_K_S && il < 4) return HR_TYPE_Q5_K;
    } else if (!strcmp(role, "ffn_down")) {
        if (o->mix == MIX_Q3_K_M) return il < n / 16 ? HR_TYPE_Q5_K : HR_TYPE_Q4_K;
        if ((o->mix == MIX_Q4_K_M || o->mix == MIX_Q5_K_M) && use_more_bits(il, n)) return HR_TYPE_Q6_K;
        if (o->mix == MIX_Q4_K_S && il < n / 8) return HR_TYPE_Q5_K;
    } else if (!strcmp(role, "attn_output")) {
        if (o->mix == MIX_Q3_K_M) return HR_TYPE_Q4_K;
    }
    return t;
}

static void build(model *m, const opts *o) {
    const shape *s = &o->s;
    int64_t nv = o->n_vocab_max, q_dim = s->n_head * s->head_dim, kv_dim = s->n_head_kv * s->head_dim;
    /* Every projection keeps unit variance per element; the final norm's
     * weights (~4) give logits a standard deviation near 4, so the next-token
     * distribution is neither one-hot nor flat. The gain sits in the norm, not
     * the embeddings, so that with tied embeddings the current token's own
     * logit does not dominate (which made tiny models repeat one token). */
    float in_std = 1.0f / sqrtf((float)s->n_embd), out_std = in_std;
    bool qwen2 = !strcmp(o->arch, "qwen2"), qwen3 = !strcmp(o->arch, "qwen3");
    char name[64];

    add(m, "token_embd.weight", mix_type(o, s->tied ? "output" : "token_embd", 0), s->n_embd, nv, INIT_NORMAL, out_std);
    if (o->rope == ROPE_LLAMA3) add(m, "rope_freqs.weight", HR_TYPE_F32, s->head_dim / 2, 1, INIT_ROPE_LLAMA3, 0);
    for (int64_t il = 0; il < s->n_layer; il++) {
#define T(suffix) (snprintf(name, sizeof name, "blk.%" PRId64 "." suffix, il), name)
        add(m, T("attn_norm.weight"), HR_TYPE_F32, s->n_embd, 1, INIT_NORM_WEIGHT, 0.1f);
        add(m, T("attn_q.weight"), mix_type(o, "attn_q", il), s->n_embd, q_dim, INIT_NORMAL, in_std);
        add(m, T("attn_k.weight"), mix_type(o, "attn_k", il), s->n_embd, kv_dim, INIT_NORMAL, in_std);
        add(m, T("attn_v.weight"), mix_type(o, "attn_v", il), s->n_embd, kv_dim, INIT_NORMAL, in_std);
        if (qwen2) {
            add(m, T("attn_q.bias"), HR_TYPE_F32, q_dim, 1, INIT_NORMAL, 0.5f);
            add(m, T("attn_k.bias"), HR_TYPE_F32, kv_dim, 1, INIT_NORMAL, 0.5f);
            add(m, T("attn_v.bias"), HR_TYPE_F32, kv_dim, 1, INIT_NORMAL, 0.5f);
        }
        if (qwen3) {
            add(m, T("attn_q_norm.weight"), HR_TYPE_F32, s->head_dim, 1, INIT_NORM_WEIGHT, 0.1f);
            add(m, T("attn_k_norm.weight"), HR_TYPE_F32, s->head_dim, 1, INIT_NORM_WEIGHT, 0.1f);
        }
        add(m, T("attn_output.weight"), mix_type(o, "attn_output", il), q_dim, s->n_embd, INIT_NORMAL,
            1.0f / sqrtf((float)q_dim));
        add(m, T("ffn_norm.weight"), HR_TYPE_F32, s->n_embd, 1, INIT_NORM_WEIGHT, 0.1f);
        add(m, T("ffn_gate.weight"), mix_type(o, "ffn_gate", il), s->n_embd, s->n_ff, INIT_NORMAL, in_std);
        add(m, T("ffn_up.weight"), mix_type(o, "ffn_up", il), s->n_embd, s->n_ff, INIT_NORMAL, in_std);
        add(m, T("ffn_down.weight"), mix_type(o, "ffn_down", il), s->n_ff, s->n_embd, INIT_NORMAL,
            1.0f / sqrtf((float)s->n_ff));
#undef T
    }
    add(m, "output_norm.weight", HR_TYPE_F32, s->n_embd, 1, INIT_OUTPUT_NORM, 0.4f);
    if (!s->tied) add(m, "output.weight", mix_type(o, "output", 0), s->n_embd, nv, INIT_NORMAL, out_std);
    uint64_t off = 0;
    for (int i = 0; i < m->n; i++) {
        m->t[i].offset = off;
        off += (m->t[i].nbytes + ALIGN - 1) / ALIGN * ALIGN;
    }
}

/* The llama3 frequency factors exactly as convert_hf_to_gguf computes them
 * (factor 32, low 1, high 4); the original context is shortened for the tiny
 * shape so that the factors matter within a short test. */
static void rope_llama3(const opts *o, float *dst, int64_t n) {
    double base = o->s.rope_base, factor = 32.0, lo = 1.0, hi = 4.0;
    double old_ctx = !strcmp(o->shape_name, "tiny") ? 64.0 : 8192.0;
    double lo_wl = old_ctx / lo, hi_wl = old_ctx / hi;
    for (int64_t i = 0; i < n; i++) {
        double freq = 1.0 / pow(base, (double)(2 * i) / (double)o->s.head_dim);
        double wl = 2.0 * M_PI / freq;
        if (wl < hi_wl) dst[i] = 1.0f;
        else if (wl > lo_wl) dst[i] = (float)factor;
        else {
            double smooth = (old_ctx / wl - lo) / (hi - lo);
            dst[i] = (float)(1.0 / ((1.0 - smooth) / factor + smooth));
        }
    }
}

static void gen_row(const opts *o, const tensor *t, int64_t row, float *dst) {
    uint64_t st = o->seed * 0x9e3779b97f4a7c15ull ^ hash_str(t->name) ^ ((uint64_t)row * 0xd1b54a32d192ed03ull);
    splitmix(&st);
    switch (t->init) {
    case INIT_NORMAL:
        for (int64_t i = 0; i < t->ne[0]; i++) dst[i] = gauss(&st) * t->std;
        break;
    case INIT_NORM_WEIGHT:
        for (int64_t i = 0; i < t->ne[0]; i++) dst[i] = 1.0f + gauss(&st) * t->std;
        break;
    case INIT_OUTPUT_NORM:
        for (int64_t i = 0; i < t->ne[0]; i++) dst[i] = o->out_gain + gauss(&st) * t->std;
        break;
    case INIT_ROPE_LLAMA3:
        rope_llama3(o, dst, t->ne[0]);
        break;
    }
}

typedef struct job {
    const opts *o;
    const tensor *t;
    uint8_t *buf;
    int64_t r0, r1;
} job;

static void *quantize_rows(void *arg) {
    job *j = arg;
    const hr_type_traits *tr = hr_type_traits_get(j->t->type);
    size_t rs = hr_row_size(j->t->type, j->t->ne[0]);
    float *row = malloc(sizeof(float) * (size_t)j->t->ne[0]);
    if (!row) die("out of memory");
    for (int64_t r = j->r0; r < j->r1; r++) {
        gen_row(j->o, j->t, r, row);
        tr->from_float(row, j->buf + (size_t)r * rs, j->t->ne[0]);
    }
    free(row);
    return NULL;
}

/* ------------------------------------------------------- GGUF emitter */

typedef struct out {
    FILE *f;
    const char *path;
    uint64_t pos;
} out;

static void put(out *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->f) != n) die("%s: write failed: %s", w->path, strerror(errno));
    w->pos += n;
}
static void put_u32(out *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(out *w, uint64_t v) { put(w, &v, 8); }
static void put_str(out *w, const char *s, uint64_t n) { put_u64(w, n), put(w, s, n); }
static void put_key(out *w, const char *k, hr_gguf_type t) { put_str(w, k, strlen(k)), put_u32(w, t); }
static void kv_str(out *w, const char *k, const char *v) { put_key(w, k, HR_GGUF_STRING), put_str(w, v, strlen(v)); }
static void kv_u32(out *w, const char *k, uint32_t v) { put_key(w, k, HR_GGUF_UINT32), put_u32(w, v); }
static void kv_f32(out *w, const char *k, float v) { put_key(w, k, HR_GGUF_FLOAT32), put(w, &v, 4); }
static void kv_bool(out *w, const char *k, bool v) { uint8_t b = v; put_key(w, k, HR_GGUF_BOOL), put(w, &b, 1); }

static size_t gguf_type_size(hr_gguf_type t) {
    static const size_t sz[HR_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < HR_GGUF_TYPE_COUNT ? sz[t] : 0;
}

static bool is_token_array(const char *k) {
    return !strcmp(k, "tokenizer.ggml.tokens") || !strcmp(k, "tokenizer.ggml.scores") ||
           !strcmp(k, "tokenizer.ggml.token_type");
}

/* Counts (emit == false) or writes the tokenizer.* keys of the vocabulary
 * file, truncating the token arrays to nv entries and dropping special-token
 * ids that would fall outside. */
static int copy_vocab(out *w, const hr_gguf *g, int64_t nv, bool emit) {
    int count = 0;
    hearth_error err = {0};
    for (int64_t i = 0; i < hr_gguf_n_kv(g); i++) {
        const char *k = hr_gguf_key(g, i);
        if (strncmp(k, "tokenizer.", 10) != 0) continue;
        hr_gguf_type t = hr_gguf_kv_type(g, i);
        if (t == HR_GGUF_ARRAY) {
            hr_gguf_type at = hr_gguf_arr_type(g, i);
            uint64_t n = hr_gguf_arr_len(g, i);
            if (is_token_array(k) && n > (uint64_t)nv) n = (uint64_t)nv;
            if (at == HR_GGUF_ARRAY) continue;
            count++;
            if (!emit) continue;
            put_key(w, k, HR_GGUF_ARRAY), put_u32(w, at), put_u64(w, n);
            if (at == HR_GGUF_STRING) {
                for (uint64_t j = 0; j < n; j++) {
                    hr_gguf_str s = hr_gguf_arr_str(g, i, j);
                    put_str(w, s.ptr, s.len);
                }
            } else {
                put(w, hr_gguf_arr_data(g, i), gguf_type_size(at) * n);
            }
        } else if (t == HR_GGUF_STRING) {
            count++;
            if (emit) kv_str(w, k, hr_gguf_get_str(g, i).ptr);
        } else if (t == HR_GGUF_BOOL) {
            bool b = false;
            if (hr_gguf_get_bool(g, k, &b, &err) != HEARTH_OK) die("%s", err.message);
            count++;
            if (emit) kv_bool(w, k, b);
        } else if (t == HR_GGUF_FLOAT32) {
            float f = 0;
            if (hr_gguf_get_f32(g, k, &f, &err) != HEARTH_OK) die("%s", err.message);
            count++;
            if (emit) kv_f32(w, k, f);
        } else if (t != HR_GGUF_FLOAT64) {
            int64_t v = 0;
            if (hr_gguf_get_i64(g, k, &v, &err) != HEARTH_OK) die("%s", err.message);
            bool is_id = strlen(k) > 3 && !strcmp(k + strlen(k) - 3, "_id");
            if (is_id && v >= nv) continue;
            count++;
            if (!emit) continue;
            put_key(w, k, t);
            put(w, &v, gguf_type_size(t)); /* little-endian: the low bytes */
        }
    }
    return count;
}

static void write_model(const opts *o, const model *m, const hr_gguf *voc) {
    const shape *s = &o->s;
    const char *a = o->arch;
    char k[128];
#define K(suffix) (snprintf(k, sizeof k, "%s." suffix, a), k)
    out w = {.f = fopen(o->out, "wb"), .path = o->out};
    if (!w.f) die("%s: %s", o->out, strerror(errno));

    /* The metadata is written twice: a dry count first, since the header
     * states how many keys follow. */
    bool llama_like = !strcmp(a, "llama") || !strcmp(a, "mistral3");
    bool quantized = hr_type_traits_get(o->type)->is_quantized;
    int n_kv = 13 + quantized + llama_like * 2;
    if (o->rope == ROPE_LINEAR) n_kv += 2;
    if (o->rope == ROPE_YARN) n_kv += 6;
    if (!strcmp(a, "mistral3")) n_kv += 1;
    n_kv += copy_vocab(&w, voc, o->n_vocab_max, false);

    put(&w, "GGUF", 4);
    put_u32(&w, 3);
    put_u64(&w, (uint64_t)m->n);
    put_u64(&w, (uint64_t)n_kv);
    int written = 0;
#define KV(call) (call, written++)
    KV(kv_str(&w, "general.architecture", a));
    char name[128];
    snprintf(name, sizeof name, "genmodel %s %s seed %" PRIu64, a, o->shape_name, o->seed);
    KV(kv_str(&w, "general.name", name));
    KV(kv_u32(&w, "general.file_type", o->ftype));
    if (quantized) KV(kv_u32(&w, "general.quantization_version", 2));
    KV(kv_u32(&w, K("context_length"), (uint32_t)s->n_ctx));
    KV(kv_u32(&w, K("embedding_length"), (uint32_t)s->n_embd));
    KV(kv_u32(&w, K("block_count"), (uint32_t)s->n_layer));
    KV(kv_u32(&w, K("feed_forward_length"), (uint32_t)s->n_ff));
    KV(kv_u32(&w, K("attention.head_count"), (uint32_t)s->n_head));
    KV(kv_u32(&w, K("attention.head_count_kv"), (uint32_t)s->n_head_kv));
    KV(kv_f32(&w, K("attention.layer_norm_rms_epsilon"), s->eps));
    KV(kv_f32(&w, K("rope.freq_base"), s->rope_base));
    KV(kv_u32(&w, K("attention.key_length"), (uint32_t)s->head_dim));
    KV(kv_u32(&w, K("attention.value_length"), (uint32_t)s->head_dim));
    if (llama_like) {
        KV(kv_u32(&w, K("vocab_size"), (uint32_t)o->n_vocab_max));
        KV(kv_u32(&w, K("rope.dimension_count"), (uint32_t)s->head_dim));
    }
    if (o->rope == ROPE_LINEAR) {
        KV(kv_str(&w, K("rope.scaling.type"), "linear"));
        KV(kv_f32(&w, K("rope.scaling.factor"), 2.0f));
    }
    /* YaRN as Mistral's converter writes it; the short original context of
     * the tiny shape puts test positions past it. */
    uint32_t orig_ctx = !strcmp(o->shape_name, "tiny") ? 32 : 16384;
    if (o->rope == ROPE_YARN) {
        KV(kv_str(&w, K("rope.scaling.type"), "yarn"));
        KV(kv_f32(&w, K("rope.scaling.factor"), 4.0f));
        KV(kv_f32(&w, K("rope.scaling.yarn_beta_fast"), 32.0f));
        KV(kv_f32(&w, K("rope.scaling.yarn_beta_slow"), 1.0f));
        KV(kv_f32(&w, K("rope.scaling.yarn_log_multiplier"), 1.0f));
        KV(kv_u32(&w, K("rope.scaling.original_context_length"), orig_ctx));
    }
    if (!strcmp(a, "mistral3")) KV(kv_f32(&w, K("attention.temperature_scale"), 0.1f));
    written += copy_vocab(&w, voc, o->n_vocab_max, true);
#undef KV
#undef K
    if (written != n_kv) die("internal: %d keys written, %d announced", written, n_kv);

    for (int i = 0; i < m->n; i++) {
        const tensor *t = &m->t[i];
        put_str(&w, t->name, strlen(t->name));
        put_u32(&w, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(&w, (uint64_t)t->ne[d]);
        put_u32(&w, t->type);
        put_u64(&w, t->offset);
    }
    static const uint8_t zeros[ALIGN];
    put(&w, zeros, (ALIGN - w.pos % ALIGN) % ALIGN);

    uint64_t data0 = w.pos;
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (int i = 0; i < m->n; i++) {
        const tensor *t = &m->t[i];
        if (w.pos - data0 != t->offset) die("internal: offset mismatch for %s", t->name);
        if (t->nbytes > cap) {
            free(buf);
            cap = t->nbytes;
            buf = malloc(cap);
            if (!buf) die("out of memory (%zu bytes)", cap);
        }
        int nt = o->threads;
        if (t->ne[1] < nt * 16) nt = 1;
        pthread_t th[64];
        job jobs[64];
        for (int j = 0; j < nt; j++) {
            jobs[j] = (job){.o = o, .t = t, .buf = buf, .r0 = t->ne[1] * j / nt, .r1 = t->ne[1] * (j + 1) / nt};
            if (j == nt - 1) quantize_rows(&jobs[j]);
            else if (pthread_create(&th[j], NULL, quantize_rows, &jobs[j]) != 0) die("pthread_create failed");
        }
        for (int j = 0; j < nt - 1; j++) pthread_join(th[j], NULL);
        put(&w, buf, t->nbytes);
        put(&w, zeros, (ALIGN - t->nbytes % ALIGN) % ALIGN);
    }
    free(buf);
    if (fclose(w.f) != 0) die("%s: close failed: %s", o->out, strerror(errno));
}

int main(int argc, char **argv) {
    opts o = {.arch = NULL, .shape_name = "tiny", .seed = 1, .tied = -1, .rope = -1, .threads = 2, .out_gain = 4.0f};
    set_type(&o, "f32");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "--arch")) o.arch = v;
        else if (!strcmp(a, "--type")) { if (v) set_type(&o, v); }
        else if (!strcmp(a, "--shape")) o.shape_name = v;
        else if (!strcmp(a, "--vocab")) o.vocab = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) o.out = v;
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)parse_int(a, v, 0, INT64_MAX);
        else if (!strcmp(a, "--n-vocab")) o.n_vocab_max = parse_int(a, v, 16, 1 << 24);
        else if (!strcmp(a, "--layers")) o.n_layer = parse_int(a, v, 1, 512);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) o.threads = (int)parse_int(a, v, 1, 64);
        else if (!strcmp(a, "--logit-scale")) o.out_gain = (float)parse_int(a, v, 1, 64);
        else if (!strcmp(a, "--rope-scaling")) {
            static const char *names[] = {"none", "linear", "yarn", "llama3"};
            o.rope = -2;
            for (int r = 0; r < 4 && v; r++) if (!strcmp(v, names[r])) o.rope = r;
            if (o.rope == -2) die("--rope-scaling expects none, linear, yarn or llama3");
        } else {
            takes = false;
            if (!strcmp(a, "--tied")) o.tied = 1;
            else if (!strcmp(a, "--untied")) o.tied = 0;
            else if (!strcmp(a, "-h") || !strcmp(a, "--help")) usage();
            else die("unknown option '%s'", a);
        }
        if (takes) {
            if (!v) die("%s needs a value", a);
            i++;
        }
    }
    if (!o.arch || !o.vocab || !o.out) usage();
    if (strcmp(o.arch, "llama") && strcmp(o.arch, "mistral3") && strcmp(o.arch, "qwen2") && strcmp(o.arch, "qwen3"))
        die("unknown architecture '%s'", o.arch);
    set_shape(&o);

    hr_gguf *voc = NULL;
    hearth_error err = {0};
    if (hr_gguf_open(o.vocab, &voc, &err) != HEARTH_OK) die("%s", err.message);
    int64_t ti = hr_gguf_find_key(voc, "tokenizer.ggml.tokens");
    if (ti < 0 || hr_gguf_kv_type(voc, ti) != HR_GGUF_ARRAY || hr_gguf_arr_type(voc, ti) != HR_GGUF_STRING)
        die("%s: no tokenizer.ggml.tokens", o.vocab);
    int64_t nv = (int64_t)hr_gguf_arr_len(voc, ti);
    if (o.n_vocab_max == 0 || o.n_vocab_max > nv) o.n_vocab_max = nv;

    static model m;
    build(&m, &o);
    write_model(&o, &m, voc);
    hr_gguf_close(voc);
    return 0;
}
