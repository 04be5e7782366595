/* Gemma loader and session behaviour that the llama.cpp oracle test does not
 * reach: metadata validation, the sliding-window ring's limits on truncation,
 * and that the ring gives the same logits whatever the batch size. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "hearth.h"

enum { D = 32, L = 3, H = 2, HKV = 1, HD = 16, FF = 64, V = 64, SWA = 4 };

static float rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f);
}

static void add(hr_gguf_writer *w, const char *name, int64_t ne0, int64_t ne1, float bias, float scale, unsigned seed) {
    float *d = malloc((size_t)(ne0 * ne1) * sizeof *d);
    for (int64_t i = 0; i < ne0 * ne1; i++) d[i] = bias + scale * rnd(&seed);
    int64_t ne[2] = {ne0, ne1};
    cr_assert_eq(hr_gguf_add_tensor(w, name, HR_TYPE_F32, ne1 > 1 ? 2 : 1, ne, d, (size_t)(ne0 * ne1) * 4), HEARTH_OK);
    free(d);
}

/* A gemma3 file; bad selects one malformed field (0: none). */
static void write_gemma3(const char *path, int bad) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_str(w, "general.architecture", "gemma3");
    hr_gguf_set_u32(w, "gemma3.context_length", 256);
    hr_gguf_set_u32(w, "gemma3.embedding_length", D);
    hr_gguf_set_u32(w, "gemma3.block_count", L);
    hr_gguf_set_u32(w, "gemma3.feed_forward_length", FF);
    hr_gguf_set_u32(w, "gemma3.attention.head_count", H);
    hr_gguf_set_u32(w, "gemma3.attention.head_count_kv", HKV);
    hr_gguf_set_u32(w, "gemma3.attention.key_length", HD);
    hr_gguf_set_u32(w, "gemma3.attention.value_length", HD);
    hr_gguf_set_f32(w, "gemma3.attention.layer_norm_rms_epsilon", 1e-6f);
    hr_gguf_set_u32(w, "gemma3.attention.sliding_window", SWA);
    if (bad == 1) {
        uint8_t pat[2] = {1, 0}; /* one entry per layer is required */
        hr_gguf_set_arr(w, "gemma3.attention.sliding_window_pattern", HR_GGUF_BOOL, pat, 2);
    } else {
        hr_gguf_set_u32(w, "gemma3.attention.sliding_window_pattern", 3);
    }
    if (bad == 2) hr_gguf_set_str(w, "gemma3.rope.scaling.type", "yarn");
    unsigned s = 1;
    add(w, "token_embd.weight", D, V, 0, 0.5f, s++);
    add(w, "output_norm.weight", D, 1, 1, 0.2f, s++);
    for (int l = 0; l < L; l++) {
        char n[64];
#define T(suffix, a, b, bias, sc) (snprintf(n, sizeof n, "blk.%d." suffix, l), add(w, n, a, b, bias, sc, s++))
        T("attn_norm.weight", D, 1, 1, 0.2f);
        T("attn_q.weight", D, H * HD, 0, 0.6f);
        T("attn_k.weight", D, HKV * HD, 0, 0.6f);
        T("attn_v.weight", D, HKV * HD, 0, 0.6f);
        T("attn_output.weight", H * HD, D, 0, 0.6f);
        if (!(bad == 3 && l == 1)) T("attn_q_norm.weight", HD, 1, 1, 0.2f);
        T("attn_k_norm.weight", HD, 1, 1, 0.2f);
        T("post_attention_norm.weight", D, 1, 1, 0.2f);
        T("ffn_norm.weight", D, 1, 1, 0.2f);
        T("ffn_gate.weight", D, FF, 0, 0.6f);
        T("ffn_up.weight", D, FF, 0, 0.6f);
        T("ffn_down.weight", FF, D, 0, 0.5f);
        T("post_ffw_norm.weight", D, 1, 1, 0.2f);
#undef T
    }
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_write_file(w, path, &err), HEARTH_OK, "%s", err.message);
    hr_gguf_writer_free(w);
}

static hearth_model *load(int bad, hearth_status *st, hearth_error *err) {
    char path[] = "/tmp/hearth_gemma_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    write_gemma3(path, bad);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 2;
    hearth_model *m = NULL;
    *st = hearth_model_load(path, &mp, &m, err);
    unlink(path);
    return m;
}

Test(gemma, bad_metadata_is_reported) {
    for (int bad = 1; bad <= 3; bad++) {
        hearth_error err = {{0}};
        hearth_status st;
        hearth_model *m = load(bad, &st, &err);
        cr_expect_neq(st, HEARTH_OK, "case %d loaded", bad);
        cr_expect_null(m);
        cr_expect(strlen(err.message) > 0);
        const char *want[] = {"", "sliding_window_pattern", "yarn", "attn_q_norm"};
        cr_expect(strstr(err.message, want[bad]), "case %d: %s", bad, err.message);
    }
}

static float *run(hearth_model *m, int n_batch, const int32_t *toks, int n) {
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = 128;
    sp.n_batch = n_batch;
    sp.cache_type = HEARTH_CACHE_F32;
    hearth_session *s = NULL;
    hearth_error err = {{0}};
    cr_assert_eq(hearth_session_new(m, &sp, &s, &err), HEARTH_OK, "%s", err.message);
    float *all = malloc((size_t)n * V * sizeof *all);
    cr_assert_eq(hearth_session_eval_all(s, toks, (size_t)n, all, &err), HEARTH_OK, "%s", err.message);
    hearth_session_free(s);
    return all;
}

Test(gemma, ring_matches_whatever_the_batch) {
    hearth_error err = {{0}};
    hearth_status st;
    hearth_model *m = load(0, &st, &err);
    cr_assert_eq(st, HEARTH_OK, "%s", err.message);
    int32_t toks[40];
    for (int i = 0; i < 40; i++) toks[i] = (i * 7 + 3) % V;
    /* batch 40: the ring spans the whole prompt; batch 1 and 3: it wraps many times */
    float *ref = run(m, 40, toks, 40);
    for (int nb = 1; nb <= 3; nb += 2) {
        float *got = run(m, nb, toks, 40);
        float md = 0;
        for (int i = 0; i < 40 * V; i++) md = fmaxf(md, fabsf(got[i] - ref[i]));
        cr_expect_lt(md, 1e-4f, "n_batch %d: max |dlogit| %g", nb, md);
        free(got);
    }
    free(ref);
    /* KV estimate: 1 global layer of 128 positions + 2 sliding layers of 4 - 1 + 256 -> capped at 128. */
    cr_expect_eq(hearth_model_kv_bytes(m, 128, HEARTH_CACHE_F32), 3ull * 2 * 128 * HD * 4);
    cr_expect_eq(hearth_model_kv_bytes(m, 4096, HEARTH_CACHE_F32), (1ull * 4096 + 2ull * 259) * 2 * HD * 4);
    hearth_model_free(m);
}

Test(gemma, truncation_needs_the_window) {
    hearth_error err = {{0}};
    hearth_status st;
    hearth_model *m = load(0, &st, &err);
    cr_assert_eq(st, HEARTH_OK, "%s", err.message);
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = 128;
    sp.n_batch = 2; /* sliding layers keep 4 - 1 + 2 = 5 positions */
    hearth_session *s = NULL;
    cr_assert_eq(hearth_session_new(m, &sp, &s, &err), HEARTH_OK, "%s", err.message);
    int32_t toks[20] = {0};
    for (int i = 0; i < 20; i++) toks[i] = i + 1;
    cr_assert_eq(hearth_session_eval(s, toks, 20, &err), HEARTH_OK, "%s", err.message);
    /* positions 15..19 are held: keeping 18 needs 15..17, keeping 10 needs 7..9 (overwritten) */
    cr_expect_neq(hearth_session_truncate(s, 10, &err), HEARTH_OK);
    cr_expect_eq(hearth_session_n_past(s), 20);
    cr_expect_eq(hearth_session_truncate(s, 18, &err), HEARTH_OK, "%s", err.message);
    cr_expect_eq(hearth_session_truncate(s, 0, &err), HEARTH_OK, "%s", err.message);
    hearth_session_free(s);
    hearth_model_free(m);
}
