/*
 * libFuzzer target for the GGUF reader (and, on what it accepts, the writer):
 * any input is either refused with a one-line message or every accessor works
 * on it, and copying it through the writer reads back the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

static volatile uint8_t sink;

static void touch(const void *p, size_t n) {
    const uint8_t *b = p;
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++) x ^= b[i];
    sink ^= x;
}

static void walk_kv(const hr_gguf *g, int64_t i) {
    const char *key = hr_gguf_key(g, i);
    CHECK(key && *key);
    CHECK(hr_gguf_find_key(g, key) == i);
    hr_gguf_type t = hr_gguf_kv_type(g, i);
    CHECK(t < HR_GGUF_TYPE_COUNT);
    hearth_error err;
    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    const char *s;
    (void)hr_gguf_get_u32(g, key, &u32, &err);
    (void)hr_gguf_get_i64(g, key, &i64, &err);
    (void)hr_gguf_get_f32(g, key, &f, &err);
    (void)hr_gguf_get_bool(g, key, &b, &err);
    if (hr_gguf_get_string(g, key, &s, &err) == HEARTH_OK) CHECK(strlen(s) <= hr_gguf_get_str(g, i).len); /* may hold NULs */
    (void)hr_gguf_opt_u32(g, key, &u32, &err);
    (void)hr_gguf_opt_f32(g, key, &f, &err);
    (void)hr_gguf_opt_bool(g, key, &b, &err);
    if (t != HR_GGUF_ARRAY) return;
    hr_gguf_type at = hr_gguf_arr_type(g, i);
    uint64_t n = hr_gguf_arr_len(g, i);
    if (at == HR_GGUF_STRING) {
        CHECK(hr_gguf_arr_data(g, i) == NULL);
        for (uint64_t j = 0; j < n; j++) {
            hr_gguf_str e = hr_gguf_arr_str(g, i, j);
            CHECK(e.ptr);
            touch(e.ptr, e.len + 1);
        }
        CHECK(hr_gguf_arr_str(g, i, n).ptr == NULL);
    } else {
        CHECK(hr_gguf_type_size(at) > 0);
        if (n) touch(hr_gguf_arr_data(g, i), n * hr_gguf_type_size(at));
    }
}

static void walk_tensor(const hr_gguf *g, int64_t i) {
    const hr_gguf_tensor *t = hr_gguf_tensor_at(g, i);
    CHECK(t && t->name);
    CHECK(hr_gguf_find_tensor(g, t->name) == t);
    CHECK(t->n_dims >= 1 && t->n_dims <= HR_GGUF_MAX_DIMS);
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    CHECK(hr_row_size(t->type, t->ne[0]) * (size_t)rows == t->nbytes);
    CHECK(t->offset % hr_gguf_alignment(g) == 0);
    touch(t->data, t->nbytes);
}

/* Writes what the reader accepted and checks the copy reads back the same. */
static void round_trip(const hr_gguf *g) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    CHECK(w);
    CHECK(hr_gguf_copy_kv(w, g) == HEARTH_OK);
    for (int64_t i = 0; i < hr_gguf_n_tensors(g); i++) {
        const hr_gguf_tensor *t = hr_gguf_tensor_at(g, i);
        /* the writer keeps llama.cpp's 63-byte name limit; the reader does not */
        if (strlen(t->name) > 63) goto out;
        CHECK(hr_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes) == HEARTH_OK);
    }
    void *buf;
    size_t len;
    hearth_error err;
    if (hr_gguf_write_memory(w, &buf, &len, &err) != HEARTH_OK) goto out; /* e.g. a non-uint32 alignment */
    hr_gguf *c = NULL;
    hearth_status st = hr_gguf_open_memory(buf, len, &c, &err);
    if (st != HEARTH_OK) fprintf(stderr, "copy refused: %s\n", err.message);
    CHECK(st == HEARTH_OK);
    CHECK(hr_gguf_version(c) == 3);
    CHECK(hr_gguf_n_kv(c) == hr_gguf_n_kv(g));
    CHECK(hr_gguf_n_tensors(c) == hr_gguf_n_tensors(g));
    for (int64_t i = 0; i < hr_gguf_n_kv(g); i++) {
        CHECK(strcmp(hr_gguf_key(c, i), hr_gguf_key(g, i)) == 0);
        CHECK(hr_gguf_kv_type(c, i) == hr_gguf_kv_type(g, i));
        CHECK(hr_gguf_arr_len(c, i) == hr_gguf_arr_len(g, i));
    }
    for (int64_t i = 0; i < hr_gguf_n_tensors(g); i++) {
        const hr_gguf_tensor *a = hr_gguf_tensor_at(g, i), *b = hr_gguf_tensor_at(c, i);
        CHECK(strcmp(a->name, b->name) == 0 && a->type == b->type && a->nbytes == b->nbytes);
        CHECK(memcmp(a->data, b->data, a->nbytes) == 0);
    }
    hr_gguf_close(c);
    free(buf);
out:
    hr_gguf_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hr_gguf *g = NULL;
    hearth_error err;
    err.message[0] = 0;
    hearth_status st = hr_gguf_open_memory(data, size, &g, &err);
    if (st != HEARTH_OK) {
        CHECK(g == NULL);
        CHECK(st == HEARTH_ERR_FORMAT || st == HEARTH_ERR_UNSUPPORTED);
        CHECK(err.message[0] && !strchr(err.message, '\n'));
        return 0;
    }
    CHECK(hr_gguf_version(g) == 2 || hr_gguf_version(g) == 3);
    size_t a = hr_gguf_alignment(g);
    CHECK(a && (a & (a - 1)) == 0);
    for (int64_t i = 0; i < hr_gguf_n_kv(g); i++) walk_kv(g, i);
    for (int64_t i = 0; i < hr_gguf_n_tensors(g); i++) walk_tensor(g, i);
    CHECK(hr_gguf_key(g, hr_gguf_n_kv(g)) == NULL && hr_gguf_tensor_at(g, -1) == NULL);
    round_trip(g);
    hr_gguf_close(g);
    return 0;
}
