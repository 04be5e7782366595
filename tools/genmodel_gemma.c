/*
 * genmodel_gemma: writes a tiny random-weight gemma3 or gemma4 GGUF with the
 * metadata and tensor names llama.cpp expects, so hearth and llama.cpp can be
 * compared on the same file. The tokenizer is copied from a vocabulary-only
 * GGUF, cut to --n-vocab tokens (merges whose parts fall outside are dropped).
 *
 *   genmodel_gemma --arch gemma4 --variant ple --type q4_K --vocab V.gguf -o out.gguf
 *
 * Variants: dense (gemma3: sliding layers every 3rd global, linear RoPE scaling on
 * global layers; gemma4: per-layer head counts, head sizes and FFN widths,
 * proportional RoPE factors, global layers without attn_v, output scales,
 * soft-capping), ple (gemma4 + per-layer embeddings), shared (gemma4 + the last
 * two layers reading earlier layers' KV), moe (gemma4 26B-A4B's layout: every layer
 * but the first adds top-2-of-8 GEGLU experts, fused gate+up stacks and per-expert
 * down scales, beside its dense FFN), moe-split (the same with separate gate and up
 * stacks, as older conversions write them).
 *
 * --logit-scale F multiplies the output projection (default 1): flatter
 * distributions for the quantized comparisons (tests/integration/oracle_gemma.sh).
 * For the quantized MoE comparisons too: --router-std F (default 1.5) is the
 * router weights' standard deviation, which is the router logits' (larger: the
 * first expert outweighs the second more), and --expert-spread A (default 1)
 * makes every expert A * its own random matrix + sqrt(1 - A^2) * one all experts
 * share (same variance; smaller: experts more alike). Both shrink what a routing
 * flip at a near-tie between the 2nd and 3rd expert changes, not how often it
 * happens (that is set by the rounding noise relative to the logits' spread).
 *
 * --shape gemma4-e2b writes Gemma 4 E2B's full-size text decoder for `make bench`
 * (see build_e2b), at --type q4_k_m (llama.cpp's mixture) or any single type.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "quantize/quant_mix.h"
#include "tensor/types.h"

#include "genmodel_rng.h"

enum { NL = 6, EMBD = 256, NHEAD = 4, NSWA = 8, PLE = 64, NEXP = 8, NEXP_USED = 2, FF_EXP = 256 };

static void die(const char *msg, const char *arg) {
    fprintf(stderr, "genmodel_gemma: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}



typedef struct {
    hr_gguf_writer *w;
    hr_type type;
    uint64_t seed;
    float spread;
} gen;

/* A stack of `experts` matrices of rows x n random values (mean bias + std * N(0,1)). Tensors
 * llama.cpp's quantizer leaves alone (1-D, the router, per_layer_model_proj) stay f32 as in real files. */
static void tensor3(gen *g, const char *name, int64_t n, int64_t rows, int64_t experts, float bias, float std) {
    const hr_mix_tensor mt = {.name = name, .type = HR_TYPE_F32, .ne = {n, rows, experts, 1}};
    hr_type t = hr_mix_allows_quantization(&mt) ? g->type : HR_TYPE_F32;
    if (hr_row_size(t, n) == 0) t = HR_TYPE_Q8_0; /* row does not fit the block: llama.cpp falls back too */
    if (hr_row_size(t, n) == 0) t = HR_TYPE_F32;
    size_t rb = hr_row_size(t, n);
    float *row = malloc((size_t)n * sizeof *row);
    rows *= experts;
    uint8_t *data = malloc(rb * (size_t)rows);
    if (!row || !data) die("out of memory", NULL);
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (int64_t r = 0; r < rows; r++) {
        uint64_t st = g->seed * 0x9e3779b97f4a7c15ull ^ h ^ ((uint64_t)r * 0xd1b54a32d192ed03ull);
        for (int64_t i = 0; i < n; i++) row[i] = bias + std * gauss(&st);
        if (experts > 1 && g->spread < 1.0f) {
            /* --expert-spread a: a * own + sqrt(1 - a^2) * (the same row of a part every expert shares). */
            const float a = g->spread, c = sqrtf(1.0f - a * a);
            uint64_t sc = (g->seed * 0x9e3779b97f4a7c15ull ^ h ^ 0x5bd1e995ull) ^
                          ((uint64_t)(r % (rows / experts)) * 0xd1b54a32d192ed03ull);
            for (int64_t i = 0; i < n; i++) row[i] = bias + a * (row[i] - bias) + c * std * gauss(&sc);
        }
        hr_type_traits_get(t)->from_float(row, data + (size_t)r * rb, n);
    }
    int64_t ne[3] = {n, rows / experts, experts};
    if (hr_gguf_add_tensor(g->w, name, t, experts > 1 ? 3 : rows > 1 ? 2 : 1, ne, data, rb * (size_t)rows))
        die("add tensor", name);
    free(row);
    free(data);
}

static void tensor(gen *g, const char *name, int64_t n, int64_t rows, float bias, float std) {
    tensor3(g, name, n, rows, 1, bias, std);
}

static void tensor_data(gen *g, const char *name, const float *v, int64_t n) {
    int64_t ne[1] = {n};
    if (hr_gguf_add_tensor(g->w, name, HR_TYPE_F32, 1, ne, v, (size_t)n * sizeof *v)) die("add tensor", name);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static bool has(char **sorted, int64_t n, const char *s) { return bsearch(&s, sorted, (size_t)n, sizeof *sorted, cmp_str) != NULL; }

/* tokenizer.* keys of the vocabulary, token arrays cut to nv entries. */
static void copy_vocab(hr_gguf_writer *w, const hr_gguf *v, int64_t nv) {
    for (int64_t i = 0; i < hr_gguf_n_kv(v); i++) {
        const char *k = hr_gguf_key(v, i);
        if (strncmp(k, "tokenizer.", 10)) continue;
        hr_gguf_type t = hr_gguf_kv_type(v, i);
        if (t == HR_GGUF_ARRAY) {
            hr_gguf_type at = hr_gguf_arr_type(v, i);
            uint64_t n = hr_gguf_arr_len(v, i);
            if (!strcmp(k, "tokenizer.ggml.merges")) continue; /* below */
            if (n > (uint64_t)nv) n = (uint64_t)nv;
            if (at == HR_GGUF_STRING) {
                const char **s = malloc(n * sizeof *s);
                char **own = malloc(n * sizeof *own);
                for (uint64_t j = 0; j < n; j++) {
                    hr_gguf_str gs = hr_gguf_arr_str(v, i, j);
                    own[j] = strndup(gs.ptr, gs.len);
                    s[j] = own[j];
                }
                hr_gguf_set_arr_str(w, k, s, n);
                for (uint64_t j = 0; j < n; j++) free(own[j]);
                free(own);
                free(s);
            } else {
                hr_gguf_set_arr(w, k, at, hr_gguf_arr_data(v, i), n);
            }
        } else if (t == HR_GGUF_STRING) {
            hr_gguf_str gs = hr_gguf_get_str(v, i);
            char *s = strndup(gs.ptr, gs.len);
            hr_gguf_set_str(w, k, s);
            free(s);
        } else if (t == HR_GGUF_BOOL) {
            bool b = false;
            hr_gguf_get_bool(v, k, &b, NULL);
            hr_gguf_set_bool(w, k, b);
        } else if (t == HR_GGUF_UINT32 || t == HR_GGUF_INT32) {
            uint32_t u = 0;
            hr_gguf_get_u32(v, k, &u, NULL);
            if (strlen(k) > 3 && !strcmp(k + strlen(k) - 3, "_id") && u >= nv) continue;
            hr_gguf_set_u32(w, k, u);
        }
    }
    /* Merges whose two parts and result are all kept tokens. */
    int64_t mi = hr_gguf_find_key(v, "tokenizer.ggml.merges"), ti = hr_gguf_find_key(v, "tokenizer.ggml.tokens");
    if (mi < 0 || ti < 0) return;
    char **tok = malloc((size_t)nv * sizeof *tok);
    for (int64_t j = 0; j < nv; j++) {
        hr_gguf_str gs = hr_gguf_arr_str(v, ti, (uint64_t)j);
        tok[j] = strndup(gs.ptr, gs.len);
    }
    qsort(tok, (size_t)nv, sizeof *tok, cmp_str);
    uint64_t nm = hr_gguf_arr_len(v, mi), kept = 0;
    const char **keep = malloc(nm * sizeof *keep);
    char **own = malloc(nm * sizeof *own);
    for (uint64_t j = 0; j < nm; j++) {
        hr_gguf_str gs = hr_gguf_arr_str(v, mi, j);
        char *m = strndup(gs.ptr, gs.len), *sp = strchr(m, ' ');
        bool ok = sp != NULL;
        if (ok) {
            *sp = 0;
            char *joined = malloc(gs.len + 1);
            snprintf(joined, gs.len + 1, "%s%s", m, sp + 1);
            ok = has(tok, nv, m) && has(tok, nv, sp + 1) && has(tok, nv, joined);
            free(joined);
            *sp = ' ';
        }
        if (ok) keep[kept] = own[kept] = m, kept++;
        else free(m);
    }
    hr_gguf_set_arr_str(w, "tokenizer.ggml.merges", keep, kept);
    for (uint64_t j = 0; j < kept; j++) free(own[j]);
    for (int64_t j = 0; j < nv; j++) free(tok[j]);
    free(tok);
    free(own);
    free(keep);
}

/* ------------------------------------------------ --shape gemma4-e2b (make bench)
 *
 * Gemma 4 E2B's text decoder at full size, from google/gemma-4-E2B's config.json
 * (text_config) as llama.cpp's converter (conversion/gemma.py, Gemma4Model) writes it:
 * 35 layers, hidden 1536, 8 query heads and 1 KV head on every layer (no
 * num_global_key_value_heads, so a scalar head_count_kv), head size 256 on sliding and
 * 512 on global layers, sliding window 512, layer_types four sliding then one global
 * (globals at 4, 9, ..., 34), per-layer embeddings of 256, the last 20 layers reading
 * earlier layers' KV (num_kv_shared_layers; they ship no attn_k / attn_v / attn_k_norm,
 * as Google's quantized exports do), FFN 6144 doubled to 12288 on those 20 layers
 * (use_double_wide_mlp), attention_k_eq_v false (globals keep attn_v), rope theta 1e6 on
 * global layers (proportional, a quarter of the pairs rotating) and 1e4 on sliding ones,
 * final logit soft-capping 30, context 131072, embeddings tied to the output, and the
 * 262144-token vocabulary of ggml-vocab-gemma-4.gguf.
 *
 * --type q4_k_m is llama.cpp's Q4_K_M mixture (llama_tensor_get_type_impl in
 * src/llama-quant.cpp): with tied embeddings both token_embd and per_layer_token_embd
 * fall in its output/token-embedding case (Q6_K); attn_v (15 tensors, one per KV layer)
 * and ffn_down (35) are Q6_K where use_more_bits picks their index; per_layer_model_proj
 * is never quantized (kept F16, the converter's half precision); the rest Q4_K. */
enum { E2B_NL = 35, E2B_EMBD = 1536, E2B_NHEAD = 8, E2B_HD_SWA = 256, E2B_HD = 512, E2B_PLE = 256,
       E2B_SHARED = 20, E2B_FF = 6144, E2B_NV = 262144 };

typedef struct e2b_job {
    const gen *g;
    const char *name;
    hr_type t;
    int64_t n, r0, r1;
    float bias, std;
    uint8_t *data;
} e2b_job;

/* Rows r0..r1 seeded as tensor3 seeds them. */
static void *e2b_rows(void *arg) {
    const e2b_job *j = arg;
    float *row = malloc((size_t)j->n * sizeof *row);
    if (!row) die("out of memory", NULL);
    uint64_t h = 1469598103934665603ull;
    for (const char *p = j->name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    const size_t rb = hr_row_size(j->t, j->n);
    for (int64_t r = j->r0; r < j->r1; r++) {
        uint64_t st = j->g->seed * 0x9e3779b97f4a7c15ull ^ h ^ ((uint64_t)r * 0xd1b54a32d192ed03ull);
        for (int64_t i = 0; i < j->n; i++) row[i] = j->bias + j->std * gauss(&st);
        hr_type_traits_get(j->t)->from_float(row, j->data + (size_t)r * rb, j->n);
    }
    free(row);
    return NULL;
}

/* tensor() with an explicit type and the rows split over threads (the embeddings alone
 * are 2.7 billion values). */
static void e2b_tensor(gen *g, const char *name, hr_type t, int64_t n, int64_t rows, float bias, float std) {
    if (rows == 1) t = HR_TYPE_F32;
    const size_t rb = hr_row_size(t, n);
    if (rb == 0) die("row does not fit the type", name);
    uint8_t *data = malloc(rb * (size_t)rows);
    if (!data) die("out of memory", name);
    enum { MAXT = 16 };
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = rows < 64 ? 1 : nc < 1 ? 1 : nc > MAXT ? MAXT : (int)nc;
    pthread_t th[MAXT];
    e2b_job jobs[MAXT];
    for (int k = 0; k < nt; k++) {
        jobs[k] = (e2b_job){.g = g, .name = name, .t = t, .n = n, .r0 = rows * k / nt, .r1 = rows * (k + 1) / nt,
                            .bias = bias, .std = std, .data = data};
        if (k < nt - 1 && pthread_create(&th[k], NULL, e2b_rows, &jobs[k])) die("pthread_create failed", name);
    }
    e2b_rows(&jobs[nt - 1]);
    for (int k = 0; k < nt - 1; k++) pthread_join(th[k], NULL);
    int64_t ne[2] = {n, rows};
    if (hr_gguf_add_tensor(g->w, name, t, rows > 1 ? 2 : 1, ne, data, rb * (size_t)rows)) die("add tensor", name);
    free(data);
}

static bool e2b_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static void build_e2b(gen *g, const char *arch, bool q4_k_m, const hr_gguf *voc) {
    hr_gguf_writer *w = g->w;
    const hr_type base = g->type, q6 = q4_k_m ? HR_TYPE_Q6_K : base;
    char k[128];
#define K(s) (snprintf(k, sizeof k, "%s." s, arch), k)
    hr_gguf_set_str(w, "general.architecture", arch);
    hr_gguf_set_str(w, "general.name", "hearth random gemma4-e2b");
    if (q4_k_m) hr_gguf_set_u32(w, "general.file_type", 15);
    if (hr_type_traits_get(base)->is_quantized) hr_gguf_set_u32(w, "general.quantization_version", 2);
    hr_gguf_set_u32(w, K("context_length"), 131072);
    hr_gguf_set_u32(w, K("embedding_length"), E2B_EMBD);
    hr_gguf_set_u32(w, K("block_count"), E2B_NL);
    hr_gguf_set_u32(w, K("attention.head_count"), E2B_NHEAD);
    hr_gguf_set_u32(w, K("attention.head_count_kv"), 1);
    hr_gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), 1e-6f);
    hr_gguf_set_u32(w, K("attention.sliding_window"), 512);
    hr_gguf_set_f32(w, K("rope.freq_base"), 1000000.0f);
    hr_gguf_set_f32(w, K("rope.freq_base_swa"), 10000.0f);
    int32_t n_ff[E2B_NL];
    uint8_t swa[E2B_NL];
    for (int l = 0; l < E2B_NL; l++) {
        n_ff[l] = l < E2B_NL - E2B_SHARED ? E2B_FF : 2 * E2B_FF;
        swa[l] = l % 5 != 4;
    }
    hr_gguf_set_arr(w, K("feed_forward_length"), HR_GGUF_INT32, n_ff, E2B_NL);
    hr_gguf_set_arr(w, K("attention.sliding_window_pattern"), HR_GGUF_BOOL, swa, E2B_NL);
    hr_gguf_set_u32(w, K("attention.key_length"), E2B_HD);
    hr_gguf_set_u32(w, K("attention.value_length"), E2B_HD);
    hr_gguf_set_u32(w, K("attention.key_length_swa"), E2B_HD_SWA);
    hr_gguf_set_u32(w, K("attention.value_length_swa"), E2B_HD_SWA);
    hr_gguf_set_u32(w, K("rope.dimension_count"), E2B_HD);
    hr_gguf_set_u32(w, K("rope.dimension_count_swa"), E2B_HD_SWA);
    hr_gguf_set_f32(w, K("final_logit_softcapping"), 30.0f);
    hr_gguf_set_u32(w, K("embedding_length_per_layer_input"), E2B_PLE);
    hr_gguf_set_u32(w, K("attention.shared_kv_layers"), E2B_SHARED);
#undef K
    copy_vocab(w, voc, E2B_NV);

    const float in_std = 1.0f / sqrtf((float)E2B_EMBD);
    e2b_tensor(g, "token_embd.weight", q6, E2B_EMBD, E2B_NV, 0.0f, 0.05f);
    e2b_tensor(g, "per_layer_token_embd.weight", q6, (int64_t)E2B_PLE * E2B_NL, E2B_NV, 0.0f, 0.5f);
    e2b_tensor(g, "per_layer_model_proj.weight", q4_k_m ? HR_TYPE_F16 : base, E2B_EMBD, (int64_t)E2B_PLE * E2B_NL,
               0.0f, in_std);
    e2b_tensor(g, "per_layer_proj_norm.weight", HR_TYPE_F32, E2B_PLE, 1, 1.0f, 0.1f);
    e2b_tensor(g, "output_norm.weight", HR_TYPE_F32, E2B_EMBD, 1, 1.0f, 0.1f);
    /* Proportional RoPE on the global layers: 64 of the 256 pairs rotate, the rest are held by 1e30. */
    float rf[E2B_HD / 2];
    for (int i = 0; i < E2B_HD / 2; i++) rf[i] = i < E2B_HD / 8 ? 1.0f : 1e30f;
    tensor_data(g, "rope_freqs.weight", rf, E2B_HD / 2);
    char nm[96];
#define N(s) (snprintf(nm, sizeof nm, "blk.%d." s, l), nm)
    for (int l = 0; l < E2B_NL; l++) {
        const int64_t hd = swa[l] ? E2B_HD_SWA : E2B_HD, dq = E2B_NHEAD * hd, ff = n_ff[l];
        const bool has_kv = l < E2B_NL - E2B_SHARED;
        e2b_tensor(g, N("attn_norm.weight"), HR_TYPE_F32, E2B_EMBD, 1, 1.0f, 0.1f);
        e2b_tensor(g, N("attn_q.weight"), base, E2B_EMBD, dq, 0.0f, in_std);
        if (has_kv) {
            e2b_tensor(g, N("attn_k.weight"), base, E2B_EMBD, hd, 0.0f, in_std);
            /* attn_v's index is the layer's: every KV layer has one. */
            e2b_tensor(g, N("attn_v.weight"), e2b_more_bits(l, E2B_NL - E2B_SHARED) ? q6 : base, E2B_EMBD, hd, 0.0f,
                       in_std);
            e2b_tensor(g, N("attn_k_norm.weight"), HR_TYPE_F32, hd, 1, 1.0f, 0.1f);
        }
        e2b_tensor(g, N("attn_q_norm.weight"), HR_TYPE_F32, hd, 1, 0.15f, 0.02f);
        e2b_tensor(g, N("attn_output.weight"), base, dq, E2B_EMBD, 0.0f, 1.0f / sqrtf((float)dq));
        e2b_tensor(g, N("post_attention_norm.weight"), HR_TYPE_F32, E2B_EMBD, 1, 1.0f, 0.1f);
        e2b_tensor(g, N("ffn_norm.weight"), HR_TYPE_F32, E2B_EMBD, 1, 1.0f, 0.1f);
        e2b_tensor(g, N("ffn_gate.weight"), base, E2B_EMBD, ff, 0.0f, in_std);
        e2b_tensor(g, N("ffn_up.weight"), base, E2B_EMBD, ff, 0.0f, in_std);
        e2b_tensor(g, N("ffn_down.weight"), e2b_more_bits(l, E2B_NL) ? q6 : base, ff, E2B_EMBD, 0.0f,
                   1.0f / sqrtf((float)ff));
        e2b_tensor(g, N("post_ffw_norm.weight"), HR_TYPE_F32, E2B_EMBD, 1, 1.0f, 0.1f);
        float os = 0.5f;
        tensor_data(g, N("layer_output_scale.weight"), &os, 1);
        e2b_tensor(g, N("inp_gate.weight"), base, E2B_EMBD, E2B_PLE, 0.0f, in_std);
        e2b_tensor(g, N("proj.weight"), base, E2B_PLE, E2B_EMBD, 0.0f, 1.0f / sqrtf((float)E2B_PLE));
        e2b_tensor(g, N("post_norm.weight"), HR_TYPE_F32, E2B_EMBD, 1, 1.0f, 0.1f);
    }
#undef N
}

int main(int argc, char **argv) {
    const char *arch = "gemma3", *variant = "dense", *vocab = NULL, *outp = NULL, *type = "f32", *shape = NULL;
    int64_t nv = 4096, n_ctx = 512;
    uint64_t seed = 1;
    float logit_scale = 1.0f, router_std = 1.5f, spread = 1.0f;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--arch")) arch = argv[i + 1];
        else if (!strcmp(argv[i], "--variant")) variant = argv[i + 1];
        else if (!strcmp(argv[i], "--vocab")) vocab = argv[i + 1];
        else if (!strcmp(argv[i], "-o")) outp = argv[i + 1];
        else if (!strcmp(argv[i], "--type")) type = argv[i + 1];
        else if (!strcmp(argv[i], "--n-vocab")) nv = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--ctx")) n_ctx = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--logit-scale")) logit_scale = strtof(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--router-std")) router_std = strtof(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--expert-spread")) spread = strtof(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--shape")) shape = argv[i + 1];
        else die("unknown option", argv[i]);
    }
    if (!vocab || !outp) die("usage: genmodel_gemma --arch gemma3|gemma4 [--variant dense|ple|shared|moe|moe-split] [--type T] [--seed N] [--logit-scale F] [--router-std F] [--expert-spread F] [--n-vocab N] [--ctx N] [--shape gemma4-e2b [--type q4_k_m]] --vocab V.gguf -o OUT.gguf", NULL);
    const bool q4_k_m = !strcasecmp(type, "q4_k_m");
    if (q4_k_m) type = "q4_K";
    if (shape && (strcmp(shape, "gemma4-e2b") || strcmp(arch, "gemma4"))) die("--shape gemma4-e2b (with --arch gemma4) is the only shape", shape);
    if (q4_k_m && !shape) die("--type q4_k_m needs --shape", NULL);
    const bool v4 = !strcmp(arch, "gemma4");
    if (!v4 && strcmp(arch, "gemma3")) die("unknown architecture", arch);
    if (n_ctx < 16 || n_ctx > (1 << 24)) die("--ctx out of range", NULL);
    if (!(logit_scale > 0.0f && logit_scale <= 16.0f)) die("--logit-scale out of range (0, 16]", NULL);
    if (!(router_std > 0.0f && router_std <= 64.0f)) die("--router-std out of range (0, 64]", NULL);
    if (!(spread >= 0.0f && spread <= 1.0f)) die("--expert-spread out of range [0, 1]", NULL);
    const bool ple = !strcmp(variant, "ple"), shared = !strcmp(variant, "shared");
    const bool moe_split = !strcmp(variant, "moe-split"), moe = moe_split || !strcmp(variant, "moe");
    if (!ple && !shared && !moe && strcmp(variant, "dense")) die("unknown variant", variant);
    if (!v4 && (ple || shared || moe)) die("variants ple, shared, moe and moe-split are gemma4's", NULL);
    gen g = {.w = hr_gguf_writer_new(), .type = HR_TYPE_COUNT, .seed = seed, .spread = spread};
    for (int t = 0; t < HR_TYPE_COUNT; t++)
        if (hr_type_traits_get((hr_type)t) && hr_type_traits_get((hr_type)t)->name &&
            !strcasecmp(hr_type_traits_get((hr_type)t)->name, type))
            g.type = (hr_type)t;
    if (g.type == HR_TYPE_COUNT || !hr_type_traits_get(g.type)->from_float) die("unsupported type", type);
    hr_gguf *voc = NULL;
    hearth_error err = {0};
    if (hr_gguf_open(vocab, &voc, &err)) die(err.message, NULL);
    if (hr_gguf_find_key(voc, "tokenizer.ggml.tokens") >= 0 && hr_gguf_arr_len(voc, hr_gguf_find_key(voc, "tokenizer.ggml.tokens")) < (uint64_t)nv)
        nv = (int64_t)hr_gguf_arr_len(voc, hr_gguf_find_key(voc, "tokenizer.ggml.tokens"));

    if (shape) {
        build_e2b(&g, arch, q4_k_m, voc);
        if (hr_gguf_write_file(g.w, outp, &err)) die(err.message, NULL);
        hr_gguf_writer_free(g.w);
        hr_gguf_close(voc);
        return 0;
    }
    hr_gguf_writer *w = g.w;
    char k[128];
#define K(s) (snprintf(k, sizeof k, "%s." s, arch), k)
    hr_gguf_set_str(w, "general.architecture", arch);
    hr_gguf_set_str(w, "general.name", "hearth tiny random gemma");
    hr_gguf_set_u32(w, K("context_length"), (uint32_t)n_ctx);
    hr_gguf_set_u32(w, K("embedding_length"), EMBD);
    hr_gguf_set_u32(w, K("block_count"), NL);
    hr_gguf_set_u32(w, K("attention.head_count"), NHEAD);
    hr_gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), 1e-6f);
    hr_gguf_set_u32(w, K("attention.sliding_window"), NSWA);
    hr_gguf_set_f32(w, K("rope.freq_base_swa"), 10000.0f);
    /* Sliding (s) and global (G) layers: gemma3 s s G s s G; gemma4 s G s G s G, so that the
     * shared variant's last two layers read layers 2 (s) and 3 (G), llama.cpp's reuse rule. */
    bool swa[NL];
    for (int l = 0; l < NL; l++) swa[l] = v4 ? l % 2 == 0 : l % 3 < 2;
    int32_t n_ff[NL], n_kv[NL], hd[NL];
    for (int l = 0; l < NL; l++) {
        n_ff[l] = v4 && l % 3 == 1 ? 768 : 512;
        n_kv[l] = v4 && !swa[l] ? 1 : 2;
        hd[l] = v4 && !swa[l] ? 128 : 64;
    }
    if (v4) {
        hr_gguf_set_f32(w, K("rope.freq_base"), 1000000.0f);
        hr_gguf_set_arr(w, K("feed_forward_length"), HR_GGUF_INT32, n_ff, NL);
        hr_gguf_set_arr(w, K("attention.head_count_kv"), HR_GGUF_INT32, n_kv, NL);
        hr_gguf_set_arr(w, K("attention.sliding_window_pattern"), HR_GGUF_BOOL, (uint8_t[NL]){1, 0, 1, 0, 1, 0}, NL);
        hr_gguf_set_u32(w, K("attention.key_length"), 128);
        hr_gguf_set_u32(w, K("attention.value_length"), 128);
        hr_gguf_set_u32(w, K("attention.key_length_swa"), 64);
        hr_gguf_set_u32(w, K("attention.value_length_swa"), 64);
        hr_gguf_set_u32(w, K("rope.dimension_count"), 128);
        hr_gguf_set_u32(w, K("rope.dimension_count_swa"), 64);
        hr_gguf_set_f32(w, K("final_logit_softcapping"), 30.0f);
        hr_gguf_set_u32(w, K("embedding_length_per_layer_input"), ple ? PLE : 0);
        hr_gguf_set_u32(w, K("attention.shared_kv_layers"), shared ? 2 : 0);
        if (moe) {
            hr_gguf_set_u32(w, K("expert_count"), NEXP);
            hr_gguf_set_u32(w, K("expert_used_count"), NEXP_USED);
            hr_gguf_set_u32(w, K("expert_feed_forward_length"), FF_EXP);
        }
    } else {
        hr_gguf_set_f32(w, K("rope.freq_base"), 1000000.0f);
        hr_gguf_set_u32(w, K("feed_forward_length"), 512);
        hr_gguf_set_u32(w, K("attention.head_count_kv"), 2);
        hr_gguf_set_u32(w, K("attention.key_length"), 64);
        hr_gguf_set_u32(w, K("attention.value_length"), 64);
        hr_gguf_set_u32(w, K("attention.sliding_window_pattern"), 3);
        hr_gguf_set_str(w, K("rope.scaling.type"), "linear");
        hr_gguf_set_f32(w, K("rope.scaling.factor"), 8.0f);
    }
    copy_vocab(w, voc, nv);

    /* Gemma's GGUF norm weights already hold 1 + w. */
    tensor(&g, "token_embd.weight", EMBD, nv, 0.0f, 0.05f);
    tensor(&g, "output_norm.weight", EMBD, 1, 1.0f, 0.1f);
    /* Untied output: with Gemma's tied embedding a random model mostly repeats its input token.
     * Kept flat (entropy ~7.5 nats): peakier random Gemma models are chaotic enough that hearth's own
     * scalar and AVX-512 kernels differ by max|dp| ~6e-3 (f16 GELU table flips), hiding real errors. */
    tensor(&g, "output.weight", EMBD, nv, 0.0f, 0.15f * logit_scale);
    if (ple) {
        tensor(&g, "per_layer_token_embd.weight", (int64_t)PLE * NL, nv, 0.0f, 0.5f);
        tensor(&g, "per_layer_model_proj.weight", EMBD, (int64_t)PLE * NL, 0.0f, 0.06f);
        tensor(&g, "per_layer_proj_norm.weight", PLE, 1, 1.0f, 0.1f);
    }
    if (v4) {
        /* Proportional RoPE: a quarter of the pairs rotate (factor 1..2), the rest barely (1e30 as the converter writes). */
        float rf[64];
        uint64_t st = seed;
        for (int i = 0; i < 64; i++) rf[i] = i < 16 ? 1.0f + (float)(splitmix(&st) % 1000) / 1000.0f : 1e30f;
        tensor_data(&g, "rope_freqs.weight", rf, 64);
    }
    char nm[96];
#define N(s) (snprintf(nm, sizeof nm, "blk.%d." s, l), nm)
    for (int l = 0; l < NL; l++) {
        const int64_t dq = (int64_t)NHEAD * hd[l], dkv = (int64_t)n_kv[l] * hd[l];
        const bool has_kv = !shared || l < NL - 2;
        tensor(&g, N("attn_norm.weight"), EMBD, 1, 1.0f, 0.1f);
        tensor(&g, N("attn_q.weight"), EMBD, dq, 0.0f, 0.08f);
        if (has_kv) {
            tensor(&g, N("attn_k.weight"), EMBD, dkv, 0.0f, 0.08f);
            if (!v4 || swa[l]) tensor(&g, N("attn_v.weight"), EMBD, dkv, 0.0f, 0.08f);
            tensor(&g, N("attn_k_norm.weight"), hd[l], 1, 1.0f, 0.1f);
        }
        /* Gemma 4 does not scale Q (kq scale 1): smaller Q norm weights keep the random model's
         * attention from being nearly one-hot, where rounding differences decide the output. */
        tensor(&g, N("attn_q_norm.weight"), hd[l], 1, v4 ? 0.15f : 1.0f, v4 ? 0.02f : 0.1f);
        tensor(&g, N("attn_output.weight"), dq, EMBD, 0.0f, 0.06f);
        tensor(&g, N("post_attention_norm.weight"), EMBD, 1, 1.0f, 0.1f);
        tensor(&g, N("ffn_norm.weight"), EMBD, 1, 1.0f, 0.1f);
        tensor(&g, N("ffn_gate.weight"), EMBD, n_ff[l], 0.0f, 0.08f);
        tensor(&g, N("ffn_up.weight"), EMBD, n_ff[l], 0.0f, 0.08f);
        tensor(&g, N("ffn_down.weight"), n_ff[l], EMBD, 0.0f, 0.05f);
        tensor(&g, N("post_ffw_norm.weight"), EMBD, 1, 1.0f, 0.1f);
        if (v4) {
            float os = 0.6f + 0.1f * (float)l;
            tensor_data(&g, N("layer_output_scale.weight"), &os, 1);
        }
        if (moe && l > 0) {
            /* Router logits of std --router-std (1.5 by default): selections vary from token to token. */
            tensor(&g, N("ffn_gate_inp.weight"), EMBD, NEXP, 0.0f, router_std);
            tensor(&g, N("ffn_gate_inp.scale"), EMBD, 1, 1.0f, 0.1f);
            tensor(&g, N("pre_ffw_norm_2.weight"), EMBD, 1, 1.0f, 0.1f);
            tensor(&g, N("post_ffw_norm_1.weight"), EMBD, 1, 1.0f, 0.1f);
            tensor(&g, N("post_ffw_norm_2.weight"), EMBD, 1, 1.0f, 0.1f);
            if (moe_split) {
                tensor3(&g, N("ffn_gate_exps.weight"), EMBD, FF_EXP, NEXP, 0.0f, 0.08f);
                tensor3(&g, N("ffn_up_exps.weight"), EMBD, FF_EXP, NEXP, 0.0f, 0.08f);
            } else {
                tensor3(&g, N("ffn_gate_up_exps.weight"), EMBD, 2 * FF_EXP, NEXP, 0.0f, 0.08f);
            }
            tensor3(&g, N("ffn_down_exps.weight"), FF_EXP, EMBD, NEXP, 0.0f, 0.05f);
            float ds[NEXP];
            for (int e = 0; e < NEXP; e++) ds[e] = 0.5f + 0.15f * (float)e;
            tensor_data(&g, N("ffn_down_exps.scale"), ds, NEXP);
        }
        if (ple) {
            tensor(&g, N("inp_gate.weight"), EMBD, PLE, 0.0f, 0.1f);
            tensor(&g, N("proj.weight"), PLE, EMBD, 0.0f, 0.1f);
            tensor(&g, N("post_norm.weight"), EMBD, 1, 1.0f, 0.1f);
        }
    }
    if (hr_gguf_write_file(w, outp, &err)) die(err.message, NULL);
    hr_gguf_writer_free(w);
    hr_gguf_close(voc);
    return 0;
}
