/*
 * Real GGUF files written by llama.cpp (../shared/vocab): every one opens, its
 * metadata is consistent, and the token strings read back are the right ones:
 * decoding llama.cpp's own tokenizer test vectors (NAME.gguf.out, ids) through
 * the token array reproduces the test texts (NAME.gguf.inp) byte for byte.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "gguf/gguf.h"

#define VOCAB_DIR "../shared/vocab"
#define SEP "\n__ggml_vocab_test__\n"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Appends the UTF-8 encoding of text into out. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const void *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

/* GPT-2 byte-level BPE shows each byte as a printable code point: bytes that are
 * printable Latin-1 stand for themselves, the others become 256, 257, ... in order. */
static int byte_of_codepoint(uint32_t cp) {
    static int table[512];
    static bool init;
    if (!init) {
        for (int i = 0; i < 512; i++) table[i] = -1;
        int n = 0;
        for (int b = 0; b < 256; b++) {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
            table[printable ? b : 256 + n++] = b;
        }
        init = true;
    }
    return cp < 512 ? table[cp] : -1;
}

static uint32_t next_cp(const unsigned char **s) {
    const unsigned char *p = *s;
    uint32_t cp;
    int extra;
    if (p[0] < 0x80) cp = p[0], extra = 0;
    else if (p[0] < 0xe0) cp = p[0] & 0x1f, extra = 1;
    else if (p[0] < 0xf0) cp = p[0] & 0x0f, extra = 2;
    else cp = p[0] & 0x07, extra = 3;
    for (int i = 1; i <= extra; i++) cp = cp << 6 | (p[i] & 0x3f);
    *s = p + 1 + extra;
    return cp;
}

static void decode_bytelevel(text *out, const char *tok) {
    const unsigned char *s = (const unsigned char *)tok;
    while (*s) {
        const unsigned char *start = s;
        int b = byte_of_codepoint(next_cp(&s));
        if (b < 0) {
            put(out, start, (size_t)(s - start)); /* added tokens are stored as plain text */
        } else {
            unsigned char c = (unsigned char)b;
            put(out, &c, 1);
        }
    }
}

/* SentencePiece: U+2581 stands for a space; <0xHH> tokens are raw bytes. */
static void decode_spm(text *out, const char *tok) {
    unsigned hh;
    if (strlen(tok) == 6 && sscanf(tok, "<0x%2X>", &hh) == 1) {
        unsigned char c = (unsigned char)hh;
        put(out, &c, 1);
        return;
    }
    for (const char *s = tok; *s;) {
        if (!strncmp(s, "\xe2\x96\x81", 3)) {
            put(out, " ", 1);
            s += 3;
        } else {
            put(out, s++, 1);
        }
    }
}

static void check_file(const char *path) {
    hr_gguf *g = NULL;
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_open(path, &g, &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(hr_gguf_version(g), 3, "%s", path);

    int64_t tk = hr_gguf_find_key(g, "tokenizer.ggml.tokens");
    cr_assert_geq(tk, 0);
    cr_assert_eq(hr_gguf_kv_type(g, tk), HR_GGUF_ARRAY);
    cr_assert_eq(hr_gguf_arr_type(g, tk), HR_GGUF_STRING);
    uint64_t n_tokens = hr_gguf_arr_len(g, tk);
    int64_t tt = hr_gguf_find_key(g, "tokenizer.ggml.token_type");
    cr_assert_eq(hr_gguf_arr_type(g, tt), HR_GGUF_INT32);
    cr_assert_eq(hr_gguf_arr_len(g, tt), n_tokens, "%s", path);
    int64_t sc = hr_gguf_find_key(g, "tokenizer.ggml.scores");
    if (sc >= 0) cr_assert_eq(hr_gguf_arr_len(g, sc), n_tokens);

    const char *arch, *model;
    cr_assert_eq(hr_gguf_get_string(g, "general.architecture", &arch, &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(hr_gguf_get_string(g, "tokenizer.ggml.model", &model, &err), HEARTH_OK, "%s", err.message);
    char key[128];
    snprintf(key, sizeof key, "%s.vocab_size", arch);
    uint32_t vs = (uint32_t)n_tokens, bos = 0, eos = 0;
    cr_assert_eq(hr_gguf_opt_u32(g, key, &vs, &err), HEARTH_OK);
    cr_assert_eq(vs, n_tokens);
    cr_assert_eq(hr_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos, &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(hr_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos, &err), HEARTH_OK, "%s", err.message);
    cr_assert_lt(bos, n_tokens);
    cr_assert_lt(eos, n_tokens);

    /* Decode the expected ids of each test text and compare with the text. */
    char inp_path[512], out_path[512];
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    size_t inp_len, out_len;
    char *inp = slurp(inp_path, &inp_len), *outs = slurp(out_path, &out_len);
    bool spm = !strcmp(model, "llama") || !strcmp(model, "gemma4");
    bool space_prefix = !strcmp(model, "llama");
    char *tp = inp, *line = outs;
    int n_texts = 0;
    while (*tp && *line) {
        char *end = strstr(tp, SEP);
        size_t tlen = end ? (size_t)(end - tp) : strlen(tp);
        char *eol = strchr(line, '\n');
        if (eol) *eol = 0;
        text got = {0}, want = {0};
        put(&got, "", 0);
        put(&want, "", 0);
        if (spm && space_prefix && tlen) put(&want, " ", 1);
        put(&want, tp, tlen);
        for (char *q = line; *q;) {
            char *qe;
            unsigned long id = strtoul(q, &qe, 10);
            if (qe == q) break;
            q = qe;
            cr_assert_lt(id, n_tokens, "%s: id %lu", path, id);
            hr_gguf_str s = hr_gguf_arr_str(g, tk, id);
            cr_assert_not_null(s.ptr);
            if (spm) decode_spm(&got, s.ptr);
            else decode_bytelevel(&got, s.ptr);
        }
        cr_assert_eq(got.len, want.len, "%s text %d: '%s' decodes to '%s'", path, n_texts, want.p, got.p);
        cr_assert_eq(memcmp(got.p, want.p, got.len), 0, "%s text %d: '%s' decodes to '%s'", path, n_texts, want.p, got.p);
        free(got.p);
        free(want.p);
        n_texts++;
        tp = end ? end + strlen(SEP) : tp + tlen;
        line = eol ? eol + 1 : line + strlen(line);
    }
    cr_assert_geq(n_texts, 40, "%s: only %d texts", path, n_texts);
    free(inp);
    free(outs);
    hr_gguf_close(g);
}

Test(gguf_vocab, every_shared_vocab_file_reads_correctly) {
    glob_t gl;
    cr_assert_eq(glob(VOCAB_DIR "/*.gguf", 0, NULL, &gl), 0, "no files in " VOCAB_DIR);
    cr_assert_geq(gl.gl_pathc, 7);
    for (size_t i = 0; i < gl.gl_pathc; i++) check_file(gl.gl_pathv[i]);
    globfree(&gl);
}

/* Facts about two vocabularies known independently of llama.cpp's files: the
 * Llama 2 SentencePiece vocabulary and Qwen2's byte-level BPE vocabulary. */
Test(gguf_vocab, known_token_strings) {
    hr_gguf *g = NULL;
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_open(VOCAB_DIR "/ggml-vocab-llama-spm.gguf", &g, &err), HEARTH_OK, "%s", err.message);
    int64_t tk = hr_gguf_find_key(g, "tokenizer.ggml.tokens");
    cr_assert_eq(hr_gguf_arr_len(g, tk), 32000);
    cr_assert_str_eq(hr_gguf_arr_str(g, tk, 0).ptr, "<unk>");
    cr_assert_str_eq(hr_gguf_arr_str(g, tk, 1).ptr, "<s>");
    cr_assert_str_eq(hr_gguf_arr_str(g, tk, 2).ptr, "</s>");
    cr_assert_str_eq(hr_gguf_arr_str(g, tk, 3).ptr, "<0x00>");
    cr_assert_str_eq(hr_gguf_arr_str(g, tk, 15043).ptr, "\xe2\x96\x81Hello");
    bool add_bos = false;
    cr_assert_eq(hr_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos, &err), HEARTH_OK);
    cr_assert(add_bos);
    hr_gguf_close(g);

    cr_assert_eq(hr_gguf_open(VOCAB_DIR "/ggml-vocab-qwen2.gguf", &g, &err), HEARTH_OK, "%s", err.message);
    tk = hr_gguf_find_key(g, "tokenizer.ggml.tokens");
    cr_assert_eq(hr_gguf_arr_len(g, tk), 151936);
    cr_assert_str_eq(hr_gguf_arr_str(g, tk, 151643).ptr, "<|endoftext|>");
    cr_assert_str_eq(hr_gguf_arr_str(g, tk, 9707).ptr, "Hello");
    int64_t mk = hr_gguf_find_key(g, "tokenizer.ggml.merges");
    cr_assert_eq(hr_gguf_arr_type(g, mk), HR_GGUF_STRING);
    cr_assert_str_eq(hr_gguf_arr_str(g, mk, 0).ptr, "\xc4\xa0 \xc4\xa0");
    hr_gguf_close(g);
}
