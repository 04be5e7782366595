/* Tokenizer construction from hand-made vocabularies: validation of bad
 * metadata, and SentencePiece / BPE rules on vocabularies small enough to
 * work the expected ids out by hand. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

typedef struct {
    void *data;
    hr_gguf *g;
} mem_gguf;

static hearth_status build(hr_gguf_writer *w, hr_tokenizer **t, hearth_error *err, mem_gguf *m) {
    size_t size = 0;
    cr_assert_eq(hr_gguf_write_memory(w, &m->data, &size, err), HEARTH_OK, "%s", err->message);
    hr_gguf_writer_free(w);
    cr_assert_eq(hr_gguf_open_memory(m->data, size, &m->g, err), HEARTH_OK, "%s", err->message);
    return hr_tokenizer_new(m->g, t, err);
}

static void release(mem_gguf *m, hr_tokenizer *t) {
    hr_tokenizer_free(t);
    hr_gguf_close(m->g);
    free(m->data);
}

static hr_gguf_writer *spm_writer(void) {
    /* ids: 0 <unk> 1 <s> 2 </s> 3 <0x41>('A') 4 ▁ 5 a 6 b 7 ▁a 8 ab 9 ▁ab */
    static const char *const toks[] = {"<unk>", "<s>", "</s>", "<0x41>", "\xE2\x96\x81", "a", "b",
                                       "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab"};
    const float scores[] = {0, 0, 0, 0, -1, -2, -2, -3, -4, -5};
    const int32_t types[] = {2, 3, 3, 6, 1, 1, 1, 1, 1, 1};
    hr_gguf_writer *w = hr_gguf_writer_new();
    cr_assert(w);
    hr_gguf_set_str(w, "tokenizer.ggml.model", "llama");
    hr_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 10);
    hr_gguf_set_arr(w, "tokenizer.ggml.scores", HR_GGUF_FLOAT32, scores, 10);
    hr_gguf_set_arr(w, "tokenizer.ggml.token_type", HR_GGUF_INT32, types, 10);
    return w;
}

static void expect_ids(const hr_tokenizer *t, const char *text, const int32_t *want, size_t n_want) {
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_error err = {{0}};
    cr_assert_eq(hr_tokenize(t, text, strlen(text), false, false, &ids, &n, &err), HEARTH_OK, "%s", err.message);
    cr_expect_eq(n, n_want, "'%s': %zu ids, want %zu", text, n, n_want);
    for (size_t i = 0; i < n && i < n_want; i++) cr_expect_eq(ids[i], want[i], "'%s' id %zu", text, i);
    free(ids);
}

Test(tokenizer_vocab, spm_rules_by_hand) {
    hearth_error err = {{0}};
    hr_tokenizer *t = NULL;
    mem_gguf m = {0};
    cr_assert_eq(build(spm_writer(), &t, &err, &m), HEARTH_OK, "%s", err.message);
    /* " ab": "▁a" (-3) beats "ab" (-4), then "▁a"+"b" = "▁ab" (-5) */
    expect_ids(t, "ab", (int32_t[]){9}, 1);
    /* "ba": no merge applies; the space prefix stays alone */
    expect_ids(t, "ba", (int32_t[]){4, 6, 5}, 3);
    /* 'A' only exists as the byte token <0x41> */
    expect_ids(t, "A", (int32_t[]){4, 3}, 2);
    /* defaults for a "llama" vocabulary: BOS 1, EOS 2, add BOS, EOS is end of generation */
    cr_expect_eq(hr_tokenizer_bos(t), 1);
    cr_expect(hr_tokenizer_add_bos(t));
    cr_expect(hr_tokenizer_is_eog(t, 2));
    char buf[8];
    cr_expect_eq(hr_token_to_piece(t, 3, false, buf, sizeof buf), 1);
    cr_expect_eq(buf[0], 'A');
    cr_expect_eq(hr_token_to_piece(t, 1, false, buf, sizeof buf), 0); /* control tokens hidden */
    cr_expect_eq(hr_token_to_piece(t, 1, true, buf, sizeof buf), 3);
    release(&m, t);
}

Test(tokenizer_vocab, bpe_merge_ranks_by_hand) {
    /* byte-level: 'Ġ' is the space; merges "a b" (rank 0) and "Ġ ab" (rank 1) and "b c" (rank 2) */
    static const char *const toks[] = {"a", "b", "c", "\xC4\xA0", "ab", "\xC4\xA0" "ab", "bc"};
    static const char *const merges[] = {"a b", "\xC4\xA0 ab", "b c"};
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    hr_gguf_set_str(w, "tokenizer.ggml.pre", "gpt-2");
    hr_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 7);
    hr_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 3);
    hearth_error err = {{0}};
    hr_tokenizer *t = NULL;
    mem_gguf m = {0};
    cr_assert_eq(build(w, &t, &err, &m), HEARTH_OK, "%s", err.message);
    /* "abc": "a b" has the lower rank, so ab + c, never a + bc */
    expect_ids(t, "abc", (int32_t[]){4, 2}, 2);
    /* " ab": the pre-tokenizer keeps the space with the word; Ġ + ab merge next */
    expect_ids(t, " ab", (int32_t[]){5}, 1);
    /* "bc a": words split at the space */
    expect_ids(t, "bc a", (int32_t[]){6, 3, 0}, 3);
    release(&m, t);
}

Test(tokenizer_vocab, bad_metadata_is_rejected) {
    struct {
        const char *what;
        hearth_status want;
    } cases[] = {{"no model", HEARTH_ERR_MISSING},        {"unknown model", HEARTH_ERR_UNSUPPORTED},
                 {"unknown pre", HEARTH_ERR_UNSUPPORTED}, {"short scores", HEARTH_ERR_FORMAT},
                 {"no merges", HEARTH_ERR_MISSING},       {"tokens not strings", HEARTH_ERR_FORMAT}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hr_gguf_writer *w = hr_gguf_writer_new();
        static const char *const toks[] = {"a", "b"};
        const float scores[] = {0};
        const int32_t ints[] = {1, 2};
        if (k != 0) hr_gguf_set_str(w, "tokenizer.ggml.model", k == 1 ? "wordpiece-ish" : k >= 2 && k != 3 ? "gpt2" : "llama");
        if (k == 2) hr_gguf_set_str(w, "tokenizer.ggml.pre", "no-such-pre");
        if (k == 5) hr_gguf_set_arr(w, "tokenizer.ggml.tokens", HR_GGUF_INT32, ints, 2);
        else hr_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 2);
        if (k == 3) hr_gguf_set_arr(w, "tokenizer.ggml.scores", HR_GGUF_FLOAT32, scores, 1);
        if (k == 2 || k == 5) {
            static const char *const merges[] = {"a b"};
            hr_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 1);
        }
        hearth_error err = {{0}};
        hr_tokenizer *t = NULL;
        mem_gguf m = {0};
        hearth_status st = build(w, &t, &err, &m);
        cr_expect_eq(st, cases[k].want, "%s: got %s (%s)", cases[k].what, hearth_status_name(st), err.message);
        cr_expect(st == HEARTH_OK || t == NULL);
        cr_expect(st == HEARTH_OK || strlen(err.message) > 0);
        release(&m, t);
    }
}
