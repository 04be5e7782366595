/* Tokenizer against llama.cpp's test vectors (../shared/vocab/NAME.gguf.inp /
 * .out: Hugging Face's ids for each text, no BOS), plus round trips, bad
 * input and the streaming detokenizer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

#define VOCAB_DIR "../shared/vocab/"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

static hr_tokenizer *load(const char *name) {
    char path[256];
    snprintf(path, sizeof path, VOCAB_DIR "ggml-vocab-%s.gguf", name);
    hearth_error err = {{0}};
    hr_gguf *g = NULL;
    cr_assert_eq(hr_gguf_open(path, &g, &err), HEARTH_OK, "%s: %s", path, err.message);
    hr_tokenizer *t = NULL;
    hearth_status st = hr_tokenizer_new(g, &t, &err);
    hr_gguf_close(g);
    cr_assert_eq(st, HEARTH_OK, "%s: %s", path, err.message);
    return t;
}

static size_t tokenize(const hr_tokenizer *t, const char *s, size_t n, bool bos, bool special, int32_t **ids) {
    hearth_error err = {{0}};
    size_t n_ids = 0;
    cr_assert_eq(hr_tokenize(t, s, n, bos, special, ids, &n_ids, &err), HEARTH_OK, "%s", err.message);
    return n_ids;
}

/* Splits .inp on "\n__ggml_vocab_test__\n" exactly as llama.cpp's test-tokenizer-0 does. */
static void check_vectors(const char *name) {
    char path[256];
    snprintf(path, sizeof path, VOCAB_DIR "ggml-vocab-%s.gguf.inp", name);
    size_t inp_len;
    char *inp = read_file(path, &inp_len);
    cr_assert(inp, "cannot read %s", path);
    snprintf(path, sizeof path, VOCAB_DIR "ggml-vocab-%s.gguf.out", name);
    char *outs = read_file(path, NULL);
    cr_assert(outs, "cannot read %s", path);
    hr_tokenizer *t = load(name);

    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t pos = 0, n_tests = 0, n_fail = 0;
    char *line = outs;
    while (pos < inp_len) {
        char *next = strstr(inp + pos, sep);
        size_t tlen = next ? (size_t)(next - (inp + pos)) : inp_len - pos;
        char *eol = strchr(line, '\n');
        cr_assert(eol, "%s: missing expected line %zu", name, n_tests);
        *eol = '\0';
        int32_t want[4096];
        size_t n_want = 0;
        for (char *p = line; *p;) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            want[n_want++] = (int32_t)v;
            p = end;
        }
        int32_t *got = NULL;
        size_t n_got = tokenize(t, inp + pos, tlen, false, false, &got);
        bool ok = n_got == n_want && (n_got == 0 || !memcmp(got, want, n_got * sizeof *got));
        if (!ok) {
            n_fail++;
            fprintf(stderr, "%s: text %zu '%.*s'\n  want:", name, n_tests, (int)tlen, inp + pos);
            for (size_t i = 0; i < n_want; i++) fprintf(stderr, " %d", want[i]);
            fprintf(stderr, "\n  got: ");
            for (size_t i = 0; i < n_got; i++) fprintf(stderr, " %d", got[i]);
            fprintf(stderr, "\n");
        }
        free(got);
        n_tests++;
        line = eol + 1;
        if (!next) break;
        pos = (size_t)(next - inp) + sizeof sep - 1;
    }
    hr_tokenizer_free(t);
    free(inp);
    free(outs);
    cr_assert_gt(n_tests, 40, "%s: only %zu tests", name, n_tests);
    cr_assert_eq(n_fail, 0, "%s: %zu of %zu texts differ from llama.cpp's vectors", name, n_fail, n_tests);
}

Test(tokenizer_vectors, llama_bpe) { check_vectors("llama-bpe"); }
Test(tokenizer_vectors, qwen2) { check_vectors("qwen2"); }
Test(tokenizer_vectors, qwen35) { check_vectors("qwen35"); }
Test(tokenizer_vectors, gpt2) { check_vectors("gpt-2"); }
Test(tokenizer_vectors, llama_spm) { check_vectors("llama-spm"); }
Test(tokenizer_vectors, phi3) { check_vectors("phi-3"); }
Test(tokenizer_vectors, gemma4) { check_vectors("gemma-4"); }

static const char *const all_vocabs[] = {"llama-bpe", "qwen2", "qwen35", "gpt-2", "llama-spm", "phi-3", "gemma-4"};

/* Texts where llama.cpp's detokenizer gives back the input exactly (no " ?"-style clean-up). */
static const char *const lossless[] = {
    "Hello world",
    "  leading spaces and trailing   ",
    "tabs\tand\nnew\n\nlines\r\n",
    "caf\xC3\xA9 na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m",
    "\xE4\xB8\xAD\xE6\x96\x87\xE6\xB5\x8B\xE8\xAF\x95 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
    "emoji \xF0\x9F\xA6\x99\xF0\x9F\x98\x80\xE2\x9D\xA4\xEF\xB8\x8F",
    "int main(void) { return 0; }",
    "1234567890 3.14159",
};

Test(tokenizer_roundtrip, detokenize_tokenize_is_identity) {
    for (size_t v = 0; v < sizeof all_vocabs / sizeof *all_vocabs; v++) {
        hr_tokenizer *t = load(all_vocabs[v]);
        for (size_t k = 0; k < sizeof lossless / sizeof *lossless; k++) {
            int32_t *ids = NULL;
            size_t n = tokenize(t, lossless[k], strlen(lossless[k]), false, false, &ids);
            char *text = NULL;
            size_t len = 0;
            hearth_error err = {{0}};
            cr_assert_eq(hr_detokenize(t, ids, n, false, &text, &len, &err), HEARTH_OK, "%s", err.message);
            cr_expect(len == strlen(lossless[k]) && !memcmp(text, lossless[k], len), "%s: '%s' came back as '%s'",
                      all_vocabs[v], lossless[k], text);
            free(text);
            free(ids);
        }
        hr_tokenizer_free(t);
    }
}

static bool valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!len || i + len > n) return false;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

Test(tokenizer_stream, never_splits_a_character) {
    const char *text = "\xF0\x9F\xA6\x99 llamas \xE4\xB8\xAD\xE6\x96\x87 caf\xC3\xA9 \xF0\x9F\x98\x80!";
    for (size_t v = 0; v < sizeof all_vocabs / sizeof *all_vocabs; v++) {
        hr_tokenizer *t = load(all_vocabs[v]);
        int32_t *ids = NULL;
        size_t n = tokenize(t, text, strlen(text), false, false, &ids);
        hr_detok_stream *s = hr_detok_stream_new(t, false);
        cr_assert(s);
        char acc[256] = "";
        size_t acc_len = 0;
        for (size_t i = 0; i <= n; i++) {
            const char *chunk = i < n ? hr_detok_stream_push(s, ids[i]) : hr_detok_stream_flush(s);
            cr_assert(chunk);
            size_t cl = strlen(chunk);
            cr_assert(valid_utf8(chunk, cl), "%s: chunk %zu is not whole UTF-8", all_vocabs[v], i);
            cr_assert_lt(acc_len + cl, sizeof acc);
            memcpy(acc + acc_len, chunk, cl + 1);
            acc_len += cl;
        }
        /* SentencePiece pieces keep the prefix space the tokenizer added. */
        bool spm = !strcmp(all_vocabs[v], "llama-spm") || !strcmp(all_vocabs[v], "phi-3");
        const char *want_text = spm && acc[0] == ' ' ? acc + 1 : acc;
        cr_expect_str_eq(want_text, text, "%s", all_vocabs[v]);
        hr_detok_stream_free(s);
        free(ids);
        hr_tokenizer_free(t);
    }
}

Test(tokenizer_stream, invalid_bytes_become_replacement) {
    hr_tokenizer *t = load("llama-spm");
    size_t len;
    int32_t ids[3];
    /* <0xE4> <0xB8> then an ASCII piece: the truncated sequence is one U+FFFD */
    const char *want_ascii = "a";
    int32_t a_ids[1];
    int32_t *tmp = NULL;
    size_t n = tokenize(t, want_ascii, 1, false, false, &tmp);
    cr_assert_eq(n, 1);
    a_ids[0] = tmp[0];
    free(tmp);
    ids[0] = 3 + 0xE4, ids[1] = 3 + 0xB8, ids[2] = a_ids[0]; /* llama-spm's byte tokens are <0x00>.. at 3.. */
    const char *txt = hr_tokenizer_text(t, ids[0], &len);
    cr_assert_str_eq(txt, "<0xE4>");
    hr_detok_stream *s = hr_detok_stream_new(t, false);
    cr_assert_str_eq(hr_detok_stream_push(s, ids[0]), "");
    cr_assert_str_eq(hr_detok_stream_push(s, ids[1]), "");
    cr_assert_str_eq(hr_detok_stream_push(s, ids[2]), "\xEF\xBF\xBD a");
    cr_assert_str_eq(hr_detok_stream_push(s, ids[0]), "");
    cr_assert_str_eq(hr_detok_stream_flush(s), "\xEF\xBF\xBD");
    hr_detok_stream_free(s);
    hr_tokenizer_free(t);
}

/* llama.cpp's BPE pre-tokenizer decodes leniently: every invalid byte is U+FFFD. */
Test(tokenizer_bad_input, bpe_invalid_utf8_is_replacement_character) {
    const char *vocabs[] = {"llama-bpe", "qwen2", "gpt-2", "gemma-4"};
    for (size_t v = 0; v < 4; v++) {
        hr_tokenizer *t = load(vocabs[v]);
        int32_t *a = NULL, *b = NULL;
        size_t na = tokenize(t, "ab\xFF" "cd\xC3", 6, false, false, &a);
        size_t nb = tokenize(t, "ab\xEF\xBF\xBD" "cd\xEF\xBF\xBD", 10, false, false, &b);
        cr_expect(na == nb && !memcmp(a, b, na * sizeof *a), "%s", vocabs[v]);
        free(a);
        free(b);
        hr_tokenizer_free(t);
    }
}

/* SentencePiece spells bytes that are no token with <0xNN> byte tokens. */
Test(tokenizer_bad_input, spm_invalid_utf8_uses_byte_tokens) {
    hr_tokenizer *t = load("llama-spm");
    int32_t *ids = NULL;
    size_t n = tokenize(t, "\xFF\x00\xC3", 3, false, false, &ids);
    const char *want[] = {"\xE2\x96\x81", "<0xFF>", "<0x00>", "<0xC3>"};
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) cr_expect_str_eq(hr_tokenizer_text(t, ids[i], NULL), want[i]);
    free(ids);
    hr_tokenizer_free(t);
}

/* CPU time of this thread: a growth-rate check that other processes on the machine cannot fail */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Long runs without spaces must stay near-linear: 4x the length may not take
 * anywhere near 16x the time (best of two runs, to ride out noise). */
Test(tokenizer_bad_input, long_words_are_not_quadratic, .timeout = 60) {
    const char *patterns[] = {"a", "ab", "\xE4\xB8\xAD", "1", " ", "\n", "!"};
    for (size_t v = 0; v < sizeof all_vocabs / sizeof *all_vocabs; v++) {
        hr_tokenizer *t = load(all_vocabs[v]);
        for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
            double times[2] = {1e9, 1e9};
            for (int r = 0; r < 4; r++) {
                size_t target = (size_t)20000 << (2 * (r & 1)), pl = strlen(patterns[p]);
                char *text = malloc(target + 8);
                size_t len = 0;
                while (len + pl <= target) memcpy(text + len, patterns[p], pl), len += pl;
                double t0 = now();
                int32_t *ids = NULL;
                size_t n = tokenize(t, text, len, false, false, &ids);
                double dt = now() - t0;
                if (dt < times[r & 1]) times[r & 1] = dt;
                cr_assert_gt(n, 0);
                free(ids);
                free(text);
            }
            cr_expect(times[1] < 10 * times[0] + 0.1, "%s pattern %zu: %.3fs then %.3fs for 4x the text",
                      all_vocabs[v], p, times[0], times[1]);
        }
        hr_tokenizer_free(t);
    }
}

Test(tokenizer_special, parse_flag_decides) {
    hr_tokenizer *t = load("qwen2");
    const char *text = "<|im_start|>user\nhi<|im_end|>";
    int32_t *ids = NULL;
    size_t n = tokenize(t, text, strlen(text), false, true, &ids);
    cr_assert_geq(n, 3);
    cr_expect_str_eq(hr_tokenizer_text(t, ids[0], NULL), "<|im_start|>");
    cr_expect_str_eq(hr_tokenizer_text(t, ids[n - 1], NULL), "<|im_end|>");
    cr_expect(hr_tokenizer_is_eog(t, ids[n - 1]));
    free(ids);
    n = tokenize(t, text, strlen(text), false, false, &ids);
    for (size_t i = 0; i < n; i++) cr_expect(!(hr_tokenizer_attr(t, ids[i]) & HR_TOKEN_ATTR_CONTROL));
    free(ids);
    hr_tokenizer_free(t);
}

Test(tokenizer_special, bos_and_flags) {
    hr_tokenizer *t = load("llama-bpe");
    cr_expect_eq(hr_tokenizer_bos(t), 128000);
    cr_expect(hr_tokenizer_add_bos(t));
    int32_t *ids = NULL;
    size_t n = tokenize(t, "", 0, true, false, &ids);
    cr_expect(n == 1 && ids[0] == 128000);
    free(ids);
    hr_tokenizer_free(t);
    t = load("gpt-2");
    cr_expect(!hr_tokenizer_add_bos(t));
    cr_expect(hr_tokenizer_is_eog(t, 50256));
    hr_tokenizer_free(t);
}

Test(tokenizer_piece, invalid_ids_and_small_buffers) {
    hr_tokenizer *t = load("qwen2");
    char buf[4];
    cr_expect_eq(hr_token_to_piece(t, -1, true, buf, sizeof buf), -1);
    cr_expect_eq(hr_token_to_piece(t, hr_tokenizer_n_vocab(t), true, buf, sizeof buf), -1);
    int32_t *ids = NULL;
    size_t n = tokenize(t, " Hello", 6, false, false, &ids);
    cr_assert_eq(n, 1);
    cr_expect_eq(hr_token_to_piece(t, ids[0], false, buf, 2), 6);
    cr_expect_eq(memcmp(buf, " H", 2), 0);
    free(ids);
    hr_tokenizer_free(t);
}
