/* libFuzzer target for the tokenizer. The first byte picks the vocabulary
 * (../shared/vocab, or $HEARTH_FUZZ_VOCAB_DIR) and the flags; the rest is the
 * text. Besides memory safety it checks invariants that must hold on any
 * input: ids are in range, every piece renders, the streaming detokenizer
 * emits only whole UTF-8, and byte-level BPE without clean-up gives valid
 * UTF-8 input back exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

static const char *const names[] = {"qwen2", "llama-bpe", "qwen35", "gpt-2", "llama-spm", "phi-3", "gemma-4"};
#define N_VOCAB (sizeof names / sizeof names[0])
static hr_tokenizer *toks[N_VOCAB]; /* loaded once per process, read-only afterwards */

static void load_all(void) {
    const char *dir = getenv("HEARTH_FUZZ_VOCAB_DIR");
    if (!dir) dir = "../shared/vocab";
    for (size_t i = 0; i < N_VOCAB; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, names[i]);
        hearth_error err = {{0}};
        hr_gguf *g = NULL;
        if (hr_gguf_open(path, &g, &err) != HEARTH_OK || hr_tokenizer_new(g, &toks[i], &err) != HEARTH_OK) {
            fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err.message);
            abort();
        }
        hr_gguf_close(g);
    }
}

static bool valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!len || i + len > n) return false;
        for (size_t k = 1; k < len; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) return false;
        if (len == 3 && ((c == 0xE0 && (unsigned char)s[i + 1] < 0xA0) || (c == 0xED && (unsigned char)s[i + 1] > 0x9F))) return false;
        if (len == 4 && ((c == 0xF0 && (unsigned char)s[i + 1] < 0x90) || (c == 0xF4 && (unsigned char)s[i + 1] > 0x8F))) return false;
        i += len;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!toks[0]) load_all();
    if (size < 1) return 0;
    const hr_tokenizer *t = toks[data[0] % N_VOCAB];
    bool special = data[0] & 0x10, bos = data[0] & 0x20;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    int32_t *ids = NULL;
    size_t n = 0;
    hearth_error err = {{0}};
    if (hr_tokenize(t, text, len, bos, special, &ids, &n, &err) != HEARTH_OK) abort();
    if (len && !n) abort();
    hr_detok_stream *s = hr_detok_stream_new(t, special);
    for (size_t i = 0; i <= n; i++) {
        if (i < n && (ids[i] < 0 || ids[i] >= hr_tokenizer_n_vocab(t) || hr_token_to_piece(t, ids[i], true, NULL, 0) < 0)) abort();
        const char *chunk = i < n ? hr_detok_stream_push(s, ids[i]) : hr_detok_stream_flush(s);
        if (!chunk || !valid_utf8(chunk, strlen(chunk))) abort();
    }
    hr_detok_stream_free(s);
    char *back = NULL;
    size_t blen = 0;
    if (hr_detokenize(t, ids, n, false, &back, &blen, &err) != HEARTH_OK) abort();
    /* Qwen 2 (byte-level, no clean-up): plain valid text must come back unchanged. */
    if (t == toks[0] && !special && !bos && valid_utf8(text, len) && (blen != len || memcmp(back, text, len))) abort();
    free(back);
    free(ids);
    return 0;
}
