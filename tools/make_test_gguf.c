/*
 * make_test_gguf: writes a tiny random llama-architecture GGUF model (f32 or
 * f16 weights, a minimal SentencePiece-style vocabulary) that llama.cpp can
 * load; test input for `hearth quantize` and anything else that needs a model.
 *
 *   make_test_gguf OUT.gguf [--f16] [--tied] [--layers N] [--embd N] [--ff N]
 *                           [--heads N] [--kv-heads N] [--seed N]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "tensor/types.h"

typedef struct opts {
    const char *out;
    bool f16, tied;
    int layers, embd, ff, heads, kv_heads;
    unsigned seed;
} opts;

static float gauss(unsigned *s) {
    float u = (rand_r(s) + 1.0f) / ((float)RAND_MAX + 2.0f), v = rand_r(s) / (float)RAND_MAX;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* Adds a tensor of ne0 x ne1 values: mean + sd * N(0,1), stored as f32, or f16 for 2-D weights when asked. */
static int add(hr_gguf_writer *w, const opts *o, unsigned *s, const char *name, int64_t ne0, int64_t ne1, float mean,
               float sd) {
    const int64_t n = ne0 * ne1;
    const bool half = o->f16 && ne1 > 1;
    float *v = malloc((size_t)n * sizeof *v);
    hr_f16 *h = malloc((size_t)n * sizeof *h);
    if (!v || !h) {
        free(v);
        free(h);
        return 1;
    }
    for (int64_t i = 0; i < n; i++) v[i] = mean + sd * gauss(s);
    if (half)
        for (int64_t i = 0; i < n; i++) h[i] = hr_f32_to_f16(v[i]);
    const int64_t ne[2] = {ne0, ne1};
    hearth_status st = half ? hr_gguf_add_tensor(w, name, HR_TYPE_F16, ne1 > 1 ? 2 : 1, ne, h, (size_t)n * 2)
                            : hr_gguf_add_tensor(w, name, HR_TYPE_F32, ne1 > 1 ? 2 : 1, ne, v, (size_t)n * 4);
    free(v);
    free(h);
    if (st != HEARTH_OK) fprintf(stderr, "make_test_gguf: cannot add %s\n", name);
    return st != HEARTH_OK;
}

#define SP "\xe2\x96\x81" /* U+2581, SentencePiece's word-start marker */

/* <unk> <s> </s>, the 256 byte tokens llama.cpp's SPM vocabulary requires, and some words. */
static int add_vocab(hr_gguf_writer *w, int *n_vocab) {
    static const char *const words[] = {SP "the", SP "a", SP "of", SP "and",
                                        SP "to", SP "in", SP "is", SP "it",
                                        SP "capital", SP "France", SP "Paris", SP "",
                                        "e", "t", "a", "o", "n", "s", "r", "h"};
    enum { N_WORDS = sizeof words / sizeof *words, N = 3 + 256 + N_WORDS };
    static char bytes[256][8];
    const char *toks[N];
    float scores[N];
    int32_t types[N];
    toks[0] = "<unk>";
    toks[1] = "<s>";
    toks[2] = "</s>";
    types[0] = 2; /* unknown */
    types[1] = types[2] = 3; /* control */
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[3 + b] = bytes[b];
        types[3 + b] = 6; /* byte */
    }
    for (int i = 0; i < N_WORDS; i++) {
        toks[259 + i] = words[i];
        types[259 + i] = 1; /* normal */
    }
    for (int i = 0; i < N; i++) scores[i] = i < 259 ? 0.0f : -(float)i;
    *n_vocab = N;
    return hr_gguf_set_str(w, "tokenizer.ggml.model", "llama") != HEARTH_OK ||
           hr_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, N) != HEARTH_OK ||
           hr_gguf_set_arr(w, "tokenizer.ggml.scores", HR_GGUF_FLOAT32, scores, N) != HEARTH_OK ||
           hr_gguf_set_arr(w, "tokenizer.ggml.token_type", HR_GGUF_INT32, types, N) != HEARTH_OK ||
           hr_gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", 0) != HEARTH_OK ||
           hr_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1) != HEARTH_OK ||
           hr_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2) != HEARTH_OK;
}

static int parse_int(const char *flag, const char *v, int min, int max, int *out) {
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < min || x > max) {
        fprintf(stderr, "make_test_gguf: %s expects an integer in [%d, %d]\n", flag, min, max);
        return 1;
    }
    *out = (int)x;
    return 0;
}

int main(int argc, char **argv) {
    opts o = {.layers = 8, .embd = 256, .ff = 352, .heads = 4, .kv_heads = 1, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int seed = 0, bad = 0;
        if (!strcmp(a, "--f16")) o.f16 = true;
        else if (!strcmp(a, "--tied")) o.tied = true;
        else if (!strcmp(a, "--layers")) bad = parse_int(a, v, 1, 512, &o.layers), i++;
        else if (!strcmp(a, "--embd")) bad = parse_int(a, v, 32, 65536, &o.embd), i++;
        else if (!strcmp(a, "--ff")) bad = parse_int(a, v, 1, 1 << 20, &o.ff), i++;
        else if (!strcmp(a, "--heads")) bad = parse_int(a, v, 1, 1024, &o.heads), i++;
        else if (!strcmp(a, "--kv-heads")) bad = parse_int(a, v, 1, 1024, &o.kv_heads), i++;
        else if (!strcmp(a, "--seed")) bad = parse_int(a, v, 0, 1 << 30, &seed), o.seed = (unsigned)seed, i++;
        else if (a[0] != '-' && !o.out) o.out = a;
        else bad = 1;
        if (bad) {
            fprintf(stderr, "usage: make_test_gguf OUT.gguf [--f16] [--tied] [--layers N] [--embd N] [--ff N] "
                            "[--heads N] [--kv-heads N] [--seed N]\n");
            return 2;
        }
    }
    if (!o.out || o.embd % o.heads || o.heads % o.kv_heads) {
        fprintf(stderr, "make_test_gguf: need OUT, and embd divisible by heads divisible by kv-heads\n");
        return 2;
    }
    const int head_dim = o.embd / o.heads, kv_dim = head_dim * o.kv_heads;
    hr_gguf_writer *w = hr_gguf_writer_new();
    if (!w) return 1;
    int n_vocab = 0;
    int bad = hr_gguf_set_str(w, "general.architecture", "llama") != HEARTH_OK ||
              hr_gguf_set_str(w, "general.name", "hearth test model") != HEARTH_OK ||
              hr_gguf_set_u32(w, "general.file_type", o.f16 ? 1 : 0) != HEARTH_OK ||
              hr_gguf_set_u32(w, "llama.context_length", 256) != HEARTH_OK ||
              hr_gguf_set_u32(w, "llama.embedding_length", (uint32_t)o.embd) != HEARTH_OK ||
              hr_gguf_set_u32(w, "llama.block_count", (uint32_t)o.layers) != HEARTH_OK ||
              hr_gguf_set_u32(w, "llama.feed_forward_length", (uint32_t)o.ff) != HEARTH_OK ||
              hr_gguf_set_u32(w, "llama.attention.head_count", (uint32_t)o.heads) != HEARTH_OK ||
              hr_gguf_set_u32(w, "llama.attention.head_count_kv", (uint32_t)o.kv_heads) != HEARTH_OK ||
              hr_gguf_set_u32(w, "llama.rope.dimension_count", (uint32_t)head_dim) != HEARTH_OK ||
              hr_gguf_set_f32(w, "llama.rope.freq_base", 10000.0f) != HEARTH_OK ||
              hr_gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f) != HEARTH_OK ||
              add_vocab(w, &n_vocab);
    unsigned s = o.seed;
    const float sd = 0.05f;
    bad = bad || add(w, &o, &s, "token_embd.weight", o.embd, n_vocab, 0, sd) ||
          add(w, &o, &s, "output_norm.weight", o.embd, 1, 1.0f, 0.1f) ||
          (!o.tied && add(w, &o, &s, "output.weight", o.embd, n_vocab, 0, sd));
    for (int l = 0; l < o.layers && !bad; l++) {
        char nm[64];
#define T(suffix, ne0, ne1, mean, dev) \
    (snprintf(nm, sizeof nm, "blk.%d." suffix, l), add(w, &o, &s, nm, ne0, ne1, mean, dev))
        bad = T("attn_norm.weight", o.embd, 1, 1.0f, 0.1f) || T("attn_q.weight", o.embd, o.embd, 0, sd) ||
              T("attn_k.weight", o.embd, kv_dim, 0, sd) || T("attn_v.weight", o.embd, kv_dim, 0, sd) ||
              T("attn_output.weight", o.embd, o.embd, 0, sd) || T("ffn_norm.weight", o.embd, 1, 1.0f, 0.1f) ||
              T("ffn_gate.weight", o.embd, o.ff, 0, sd) || T("ffn_up.weight", o.embd, o.ff, 0, sd) ||
              T("ffn_down.weight", o.ff, o.embd, 0, sd);
#undef T
    }
    hearth_error err = {{0}};
    if (bad || hr_gguf_write_file(w, o.out, &err) != HEARTH_OK) {
        fprintf(stderr, "make_test_gguf: %s\n", err.message[0] ? err.message : "cannot build the model");
        hr_gguf_writer_free(w);
        return 1;
    }
    hr_gguf_writer_free(w);
    return 0;
}
