/* A token's attention over a long cache is split by position (whole cache
 * rows per thread, partial outputs added in range order) instead of by KV
 * head. The two paths differ only in that last order of additions, so on a
 * one-layer model (attention straight into the logits) a decoded token's
 * logits must agree to float rounding, for every cache type, with the prompt
 * length crossing the range and row-step boundaries. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "hearth.h"
#include "models/model.h"

enum { V = 64, D = 128, H = 8, HKV = 2, HD = 64, FF = 96, CTX = 2048 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float rnd(float scale) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return scale * ((float)(rng % 2000001) / 1000000.0f - 1.0f);
}

static void add(hr_gguf_writer *w, const char *name, int64_t ne0, int64_t ne1, float scale, float offset) {
    float *p = malloc(sizeof *p * (size_t)(ne0 * ne1));
    cr_assert(p);
    for (int64_t i = 0; i < ne0 * ne1; i++) p[i] = offset + rnd(scale);
    int64_t ne[2] = {ne0, ne1};
    cr_assert_eq(hr_gguf_add_tensor(w, name, HR_TYPE_F32, ne1 > 1 ? 2 : 1, ne, p, (size_t)(ne0 * ne1) * 4), HEARTH_OK);
    free(p);
}

/* One qwen3 layer, 8 query heads over 2 KV heads of 64. */
static hearth_model *load_model(int n_threads) {
    char path[] = "/tmp/hearth_split_test_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    hr_gguf_writer *w = hr_gguf_writer_new();
    cr_assert(w);
    hr_gguf_set_str(w, "general.architecture", "qwen3");
    hr_gguf_set_u32(w, "qwen3.context_length", CTX);
    hr_gguf_set_u32(w, "qwen3.embedding_length", D);
    hr_gguf_set_u32(w, "qwen3.block_count", 1);
    hr_gguf_set_u32(w, "qwen3.feed_forward_length", FF);
    hr_gguf_set_u32(w, "qwen3.attention.head_count", H);
    hr_gguf_set_u32(w, "qwen3.attention.head_count_kv", HKV);
    hr_gguf_set_u32(w, "qwen3.attention.key_length", HD);
    hr_gguf_set_u32(w, "qwen3.attention.value_length", HD);
    hr_gguf_set_u32(w, "qwen3.rope.dimension_count", HD);
    hr_gguf_set_f32(w, "qwen3.attention.layer_norm_rms_epsilon", 1e-6f);
    hr_gguf_set_f32(w, "qwen3.rope.freq_base", 10000.0f);
    add(w, "token_embd.weight", D, V, 1.0f, 0);
    add(w, "output_norm.weight", D, 1, 0.2f, 1.0f);
    add(w, "output.weight", D, V, 0.3f, 0);
    add(w, "blk.0.attn_norm.weight", D, 1, 0.2f, 1.0f);
    /* large query and key weights: peaked attention, so a wrong position shows */
    add(w, "blk.0.attn_q.weight", D, H * HD, 0.6f, 0);
    add(w, "blk.0.attn_k.weight", D, HKV * HD, 0.6f, 0);
    add(w, "blk.0.attn_v.weight", D, HKV * HD, 0.35f, 0);
    add(w, "blk.0.attn_output.weight", H * HD, D, 0.35f, 0);
    add(w, "blk.0.attn_q_norm.weight", HD, 1, 0.3f, 1.0f);
    add(w, "blk.0.attn_k_norm.weight", HD, 1, 0.3f, 1.0f);
    add(w, "blk.0.ffn_norm.weight", D, 1, 0.2f, 1.0f);
    add(w, "blk.0.ffn_gate.weight", D, FF, 0.35f, 0);
    add(w, "blk.0.ffn_up.weight", D, FF, 0.35f, 0);
    add(w, "blk.0.ffn_down.weight", FF, D, 0.3f, 0);
    hearth_error err;
    cr_assert_eq(hr_gguf_write_file(w, path, &err), HEARTH_OK, "%s", err.message);
    hr_gguf_writer_free(w);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = n_threads;
    hearth_model *m;
    cr_assert_eq(hearth_model_load(path, &mp, &m, &err), HEARTH_OK, "%s", err.message);
    unlink(path);
    return m;
}

/* Logits of the token after a prompt of n, with the split path on or off. */
static void decode_logits(hearth_model *m, hearth_cache_type ct, int n, bool split, float *out) {
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = CTX;
    sp.cache_type = ct;
    hearth_session *s;
    hearth_error err;
    cr_assert_eq(hearth_session_new(m, &sp, &s, &err), HEARTH_OK, "%s", err.message);
    int32_t *toks = malloc(sizeof *toks * (size_t)(n + 1));
    uint32_t x = 7;
    for (int i = 0; i <= n; i++) toks[i] = (int32_t)((x = x * 1664525u + 1013904223u) >> 16) % V;
    m->att_split_min = 1 << 30;
    cr_assert_eq(hearth_session_eval(s, toks, (size_t)n, &err), HEARTH_OK, "%s", err.message);
    m->att_split_min = split ? 1 : 1 << 30;
    cr_assert_eq(hearth_session_eval(s, toks + n, 1, &err), HEARTH_OK, "%s", err.message);
    for (int i = 0; i < V; i++) out[i] = hearth_session_logits(s)[i];
    m->att_split_min = HR_ATT_SPLIT_MIN;
    free(toks);
    hearth_session_free(s);
}

static void check(int n_threads) {
    hearth_model *m = load_model(n_threads);
    static const hearth_cache_type cts[] = {HEARTH_CACHE_F32, HEARTH_CACHE_F16, HEARTH_CACHE_Q8_0};
    /* prompt lengths around the ranges' 64-position rounding, the 256-position ranges and the 512-row
     * steps, and past the 16 ranges' limit */
    static const int lens[] = {0, 1, 63, 64, 200, 255, 256, 300, 777, 1500, 2000};
    for (size_t c = 0; c < sizeof cts / sizeof cts[0]; c++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            float a[V], b[V];
            decode_logits(m, cts[c], lens[l], false, a);
            decode_logits(m, cts[c], lens[l], true, b);
            double worst = 0, scale = 0;
            for (int i = 0; i < V; i++) {
                cr_assert(isfinite(b[i]));
                worst = fmax(worst, fabs((double)a[i] - b[i]));
                scale = fmax(scale, fabs((double)a[i]));
            }
            cr_expect_lt(worst, 1e-5 * fmax(scale, 1.0), "%s cache, %d positions, %d threads: split differs by %g",
                         hearth_cache_type_name(cts[c]), lens[l] + 1, n_threads, worst);
        }
    hearth_model_free(m);
}

Test(attention_split, matches_per_head_one_thread) { check(1); }
Test(attention_split, matches_per_head_three_threads) { check(3); }
