/*
 * Corrupt GGUF files fail cleanly: each file of tests/data/gguf-corrupt/ gives
 * HEARTH_ERR_FORMAT and one line with the words its MANIFEST entry lists
 * (the problem and its byte offset); every truncation and single-bit flip of a
 * valid file is either accepted or refused without crashing (the sanitizer
 * build checks for out-of-bounds reads).
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "gguf/gguf.h"
#include "gguf_bytes.h"

#define CORPUS "tests/data/gguf-corrupt"
#define VALID "fuzz/corpus/gguf/valid.gguf"

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

Test(gguf_corrupt, every_corpus_file_fails_with_its_message) {
    FILE *m = fopen(CORPUS "/MANIFEST", "r");
    cr_assert_not_null(m);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, m)) {
        line[strcspn(line, "\n")] = 0;
        char *tab = strchr(line, '\t');
        cr_assert_not_null(tab, "bad manifest line '%s'", line);
        *tab = 0;
        const char *name = line, *words = tab + 1;
        char path[sizeof line + 64];
        snprintf(path, sizeof path, CORPUS "/%s", name);
        hr_gguf *g = NULL;
        hearth_error err = {{0}};
        hearth_status st = hr_gguf_open(path, &g, &err);
        cr_assert_eq(st, HEARTH_ERR_FORMAT, "%s: status %d (%s)", name, st, err.message);
        cr_assert_null(g);
        cr_assert(strstr(err.message, words), "%s: '%s' lacks '%s'", name, err.message, words);
        cr_assert(strncmp(err.message, path, strlen(path)) == 0, "%s: message does not name the file", name);
        cr_assert_null(strchr(err.message, '\n'));
        cr_assert(strstr(err.message, "byte offset"), "%s: no byte offset in '%s'", name, err.message);

        size_t len;
        uint8_t *buf = slurp(path, &len);
        hearth_error err2 = {{0}};
        cr_assert_eq(hr_gguf_open_memory(buf, len, &g, &err2), HEARTH_ERR_FORMAT);
        cr_assert(strstr(err2.message, words), "%s: '%s' lacks '%s'", name, err2.message, words);
        free(buf);
        n++;
    }
    fclose(m);
    cr_assert_geq(n, 40);

    /* every file in the directory has a manifest entry */
    glob_t gl;
    cr_assert_eq(glob(CORPUS "/*.gguf", 0, NULL, &gl), 0);
    cr_assert_eq(gl.gl_pathc, (size_t)n, "%zu files, %d manifest entries", gl.gl_pathc, n);
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        size_t len;
        uint8_t *p = slurp(gl.gl_pathv[i], &len);
        cr_assert_lt(len, 4096, "%s is over 4 KB", gl.gl_pathv[i]);
        free(p);
    }
    globfree(&gl);
}

/* A copy of exactly len bytes on the heap, so the sanitizer sees any read past it. */
static hearth_status open_copy(const uint8_t *p, size_t len, hearth_error *err) {
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, p, len);
    hr_gguf *g = NULL;
    hearth_status st = hr_gguf_open_memory(c, len, &g, err);
    if (st == HEARTH_OK) {
        /* touch everything an accepted file exposes */
        for (int64_t i = 0; i < hr_gguf_n_kv(g); i++) {
            hr_gguf_str s = hr_gguf_get_str(g, i);
            if (s.ptr) cr_assert_leq(strlen(s.ptr), s.len); /* values may hold NULs */
            for (uint64_t j = 0; j < hr_gguf_arr_len(g, i); j++) (void)hr_gguf_arr_str(g, i, j);
        }
        volatile uint8_t sink = 0;
        for (int64_t i = 0; i < hr_gguf_n_tensors(g); i++) {
            const hr_gguf_tensor *t = hr_gguf_tensor_at(g, i);
            for (size_t k = 0; k < t->nbytes; k++) sink ^= ((const uint8_t *)t->data)[k];
        }
        (void)sink;
        hr_gguf_close(g);
    }
    free(c);
    return st;
}

Test(gguf_corrupt, every_truncation_is_refused) {
    size_t len;
    uint8_t *p = slurp(VALID, &len);
    hearth_error err = {{0}};
    cr_assert_eq(open_copy(p, len, &err), HEARTH_OK, "%s", err.message);
    for (size_t cut = 0; cut < len; cut++) {
        hearth_status st = open_copy(p, cut, &err);
        cr_assert_eq(st, HEARTH_ERR_FORMAT, "prefix of %zu bytes: status %d", cut, st);
        cr_assert(strstr(err.message, "byte offset"), "prefix of %zu: %s", cut, err.message);
    }
    free(p);
}

Test(gguf_corrupt, every_bit_flip_is_handled) {
    size_t len;
    uint8_t *p = slurp(VALID, &len);
    hearth_error err;
    int refused = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (uint8_t)(1 << bit);
            hearth_status st = open_copy(p, len, &err);
            cr_assert(st == HEARTH_OK || st == HEARTH_ERR_FORMAT || st == HEARTH_ERR_UNSUPPORTED,
                      "flip %zu.%d: status %d", i, bit, st);
            refused += st != HEARTH_OK;
            p[i] ^= (uint8_t)(1 << bit);
        }
    }
    cr_assert_gt(refused, 100);
    free(p);
}

/* Type ids ggml defines but hearth cannot handle are refused as unsupported, not corrupt. */
Test(gguf_corrupt, known_but_unsupported_tensor_type) {
    bytes b = {0};
    b_header(&b, 3, 1, 0);
    b_str(&b, "w");
    b_u32(&b, 1);
    b_u64(&b, 256);
    b_u32(&b, 19); /* IQ1_S */
    b_u64(&b, 0);
    b_pad(&b, 32);
    for (int i = 0; i < 256; i++) b_u8(&b, 0);
    hr_gguf *g = NULL;
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_open_memory(b.p, b.len, &g, &err), HEARTH_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "'w' has type 19"), "%s", err.message);
    free(b.p);
}
