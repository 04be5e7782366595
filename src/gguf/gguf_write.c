/*
 * GGUF writer: collects metadata (stored already encoded, little-endian) and
 * tensor copies, then emits a version 3 file laid out the way llama.cpp
 * expects: tensor data in insertion order, each padded to the alignment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "gguf/gguf_internal.h"

/* llama.cpp keeps tensor names in a fixed 64-byte buffer (GGML_MAX_NAME). */
#define MAX_TENSOR_NAME 63

typedef struct wkv {
    char *key;
    hr_gguf_type type;
    uint8_t *val; /* encoded value as stored after the type field */
    size_t size;
} wkv;

typedef struct wtensor {
    char *name;
    hr_type type;
    uint32_t n_dims;
    int64_t ne[HR_GGUF_MAX_DIMS];
    uint8_t *data;
    size_t nbytes;
} wtensor;

struct hr_gguf_writer {
    wkv *kvs;
    size_t n_kv, cap_kv;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

hr_gguf_writer *hr_gguf_writer_new(void) { return calloc(1, sizeof(hr_gguf_writer)); }

void hr_gguf_writer_free(hr_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].val);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->kvs);
    free(w->tensors);
    free(w);
}

static void put_le(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Takes ownership of val (even on failure). */
static hearth_status set_encoded(hr_gguf_writer *w, const char *key, hr_gguf_type type, uint8_t *val, size_t size) {
    if (!w || !key || !*key) {
        free(val);
        return HEARTH_ERR_INVALID;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) {
            free(w->kvs[i].val);
            w->kvs[i] = (wkv){w->kvs[i].key, type, val, size};
            return HEARTH_OK;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        wkv *k = realloc(w->kvs, cap * sizeof *k);
        if (!k) {
            free(val);
            return HEARTH_ERR_NOMEM;
        }
        w->kvs = k;
        w->cap_kv = cap;
    }
    char *kc = strdup(key);
    if (!kc) {
        free(val);
        return HEARTH_ERR_NOMEM;
    }
    w->kvs[w->n_kv++] = (wkv){kc, type, val, size};
    return HEARTH_OK;
}

static hearth_status set_copy(hr_gguf_writer *w, const char *key, hr_gguf_type type, const void *src, size_t size) {
    uint8_t *val = malloc(size ? size : 1);
    if (!val) return HEARTH_ERR_NOMEM;
    if (size) memcpy(val, src, size);
    return set_encoded(w, key, type, val, size);
}

static hearth_status set_scalar(hr_gguf_writer *w, const char *key, hr_gguf_type type, uint64_t bits) {
    uint8_t b[8];
    size_t n = hr_gguf_type_size(type);
    put_le(b, bits, n);
    return set_copy(w, key, type, b, n);
}

hearth_status hr_gguf_set_u32(hr_gguf_writer *w, const char *key, uint32_t v) {
    return set_scalar(w, key, HR_GGUF_UINT32, v);
}
hearth_status hr_gguf_set_i32(hr_gguf_writer *w, const char *key, int32_t v) {
    return set_scalar(w, key, HR_GGUF_INT32, (uint32_t)v);
}
hearth_status hr_gguf_set_u64(hr_gguf_writer *w, const char *key, uint64_t v) {
    return set_scalar(w, key, HR_GGUF_UINT64, v);
}
hearth_status hr_gguf_set_f32(hr_gguf_writer *w, const char *key, float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return set_scalar(w, key, HR_GGUF_FLOAT32, bits);
}
hearth_status hr_gguf_set_bool(hr_gguf_writer *w, const char *key, bool v) {
    return set_scalar(w, key, HR_GGUF_BOOL, v ? 1 : 0);
}

hearth_status hr_gguf_set_str(hr_gguf_writer *w, const char *key, const char *v) {
    if (!v) return HEARTH_ERR_INVALID;
    size_t len = strlen(v);
    uint8_t *val = malloc(8 + len);
    if (!val) return HEARTH_ERR_NOMEM;
    put_le(val, len, 8);
    memcpy(val + 8, v, len);
    return set_encoded(w, key, HR_GGUF_STRING, val, 8 + len);
}

hearth_status hr_gguf_set_arr(hr_gguf_writer *w, const char *key, hr_gguf_type type, const void *data, uint64_t n) {
    size_t es = hr_gguf_type_size(type);
    if (es == 0 || (n && !data) || n > (SIZE_MAX - 12) / es) return HEARTH_ERR_INVALID;
    uint8_t *val = malloc(12 + (size_t)n * es);
    if (!val) return HEARTH_ERR_NOMEM;
    put_le(val, type, 4);
    put_le(val + 4, n, 8);
    /* Elements are host-order values; hearth only runs on little-endian hosts. */
    if (n) memcpy(val + 12, data, (size_t)n * es);
    return set_encoded(w, key, HR_GGUF_ARRAY, val, 12 + (size_t)n * es);
}

hearth_status hr_gguf_set_arr_str(hr_gguf_writer *w, const char *key, const char *const *strs, uint64_t n) {
    if (n && !strs) return HEARTH_ERR_INVALID;
    size_t size = 12;
    for (uint64_t j = 0; j < n; j++) {
        if (!strs[j]) return HEARTH_ERR_INVALID;
        size_t add = 8 + strlen(strs[j]);
        if (size > SIZE_MAX - add) return HEARTH_ERR_NOMEM;
        size += add;
    }
    uint8_t *val = malloc(size), *p = val + 12;
    if (!val) return HEARTH_ERR_NOMEM;
    put_le(val, HR_GGUF_STRING, 4);
    put_le(val + 4, n, 8);
    for (uint64_t j = 0; j < n; j++) {
        size_t len = strlen(strs[j]);
        put_le(p, len, 8);
        memcpy(p + 8, strs[j], len);
        p += 8 + len;
    }
    return set_encoded(w, key, HR_GGUF_ARRAY, val, size);
}

hearth_status hr_gguf_copy_kv(hr_gguf_writer *w, const hr_gguf *g) {
    if (!w || !g) return HEARTH_ERR_INVALID;
    /* The reader validated the encodings, and v2 and v3 encode values alike,
     * so the bytes carry over verbatim (string arrays with embedded NULs too). */
    for (int64_t i = 0; i < g->n_kv; i++) {
        const hr_gguf_kv *kv = &g->kvs[i];
        hearth_status st = set_copy(w, kv->key, kv->type, kv->encoded, kv->encoded_size);
        if (st != HEARTH_OK) return st;
    }
    return HEARTH_OK;
}

void hr_gguf_remove_key(hr_gguf_writer *w, const char *key) {
    if (!w || !key) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) != 0) continue;
        free(w->kvs[i].key);
        free(w->kvs[i].val);
        memmove(&w->kvs[i], &w->kvs[i + 1], (w->n_kv - i - 1) * sizeof *w->kvs);
        w->n_kv--;
        return;
    }
}

hearth_status hr_gguf_add_tensor(hr_gguf_writer *w, const char *name, hr_type type, uint32_t n_dims,
                                 const int64_t *ne, const void *data, size_t nbytes) {
    if (!w || !name || !*name || strlen(name) > MAX_TENSOR_NAME || !ne || !data) return HEARTH_ERR_INVALID;
    if (n_dims < 1 || n_dims > HR_GGUF_MAX_DIMS) return HEARTH_ERR_INVALID;
    const hr_type_traits *tr = hr_type_traits_get(type);
    if (!tr) return HEARTH_ERR_INVALID;
    int64_t nelem = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 1 || nelem > INT64_MAX / ne[d]) return HEARTH_ERR_INVALID;
        nelem *= ne[d];
    }
    size_t row = hr_row_size(type, ne[0]);
    int64_t rows = nelem / ne[0];
    if (row == 0 || (uint64_t)rows > SIZE_MAX / row || row * (size_t)rows != nbytes) return HEARTH_ERR_INVALID;
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return HEARTH_ERR_INVALID;
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 16;
        wtensor *t = realloc(w->tensors, cap * sizeof *t);
        if (!t) return HEARTH_ERR_NOMEM;
        w->tensors = t;
        w->cap_tensors = cap;
    }
    wtensor t = {.name = strdup(name), .type = type, .n_dims = n_dims, .data = malloc(nbytes ? nbytes : 1),
                 .nbytes = nbytes};
    if (!t.name || !t.data) {
        free(t.name);
        free(t.data);
        return HEARTH_ERR_NOMEM;
    }
    for (uint32_t d = 0; d < HR_GGUF_MAX_DIMS; d++) t.ne[d] = d < n_dims ? ne[d] : 1;
    memcpy(t.data, data, nbytes);
    w->tensors[w->n_tensors++] = t;
    return HEARTH_OK;
}

/* ---- output ---- */

/* Either a FILE or a growing buffer, so the file path never holds a second copy. */
typedef struct sink {
    FILE *f;
    uint8_t *buf;
    size_t len, cap;
    bool failed;
} sink;

static void put(sink *s, const void *p, size_t n) {
    if (s->failed || n == 0) return;
    if (s->f) {
        if (fwrite(p, 1, n, s->f) != n) s->failed = true;
        return;
    }
    if (s->cap - s->len < n) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap - s->len < n) {
            if (cap > SIZE_MAX / 2) {
                s->failed = true;
                return;
            }
            cap *= 2;
        }
        uint8_t *b = realloc(s->buf, cap);
        if (!b) {
            s->failed = true;
            return;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void put_int(sink *s, uint64_t v, size_t n) {
    uint8_t b[8];
    put_le(b, v, n);
    put(s, b, n);
}

static void put_zeros(sink *s, size_t n) {
    static const uint8_t z[64];
    while (n > 0) {
        size_t k = n < sizeof z ? n : sizeof z;
        put(s, z, k);
        n -= k;
    }
}

static hearth_status writer_alignment(const hr_gguf_writer *w, size_t *align, hearth_error *err) {
    *align = HR_GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, "general.alignment") != 0) continue;
        /* llama.cpp reads this key with a uint32 accessor that aborts on any other type. */
        if (w->kvs[i].type != HR_GGUF_UINT32)
            return hr_fail(err, HEARTH_ERR_INVALID, "general.alignment must be a uint32, not %s",
                           hr_gguf_type_name(w->kvs[i].type));
        uint32_t v = hr_le32(w->kvs[i].val);
        if (v == 0 || (v & (v - 1)) != 0 || v > (1u << 30))
            return hr_fail(err, HEARTH_ERR_INVALID, "general.alignment %u is not a power of two up to 2^30", v);
        *align = v;
    }
    return HEARTH_OK;
}

static size_t pad_to(size_t n, size_t align) { return (align - n % align) % align; }

static hearth_status emit(const hr_gguf_writer *w, sink *s, hearth_error *err) {
    size_t align;
    hearth_status st = writer_alignment(w, &align, err);
    if (st != HEARTH_OK) return st;
    size_t pos = 0;
    put(s, "GGUF", 4);
    put_int(s, 3, 4);
    put_int(s, w->n_tensors, 8);
    put_int(s, w->n_kv, 8);
    pos += 24;
    for (size_t i = 0; i < w->n_kv; i++) {
        const wkv *kv = &w->kvs[i];
        size_t klen = strlen(kv->key);
        put_int(s, klen, 8);
        put(s, kv->key, klen);
        put_int(s, kv->type, 4);
        put(s, kv->val, kv->size);
        pos += 12 + klen + kv->size;
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        size_t nlen = strlen(t->name);
        put_int(s, nlen, 8);
        put(s, t->name, nlen);
        put_int(s, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++) put_int(s, (uint64_t)t->ne[d], 8);
        put_int(s, (uint32_t)t->type, 4);
        put_int(s, offset, 8);
        pos += 24 + nlen + 8 * (size_t)t->n_dims;
        offset += t->nbytes + pad_to(t->nbytes, align);
    }
    put_zeros(s, pad_to(pos, align));
    for (size_t i = 0; i < w->n_tensors; i++) {
        put(s, w->tensors[i].data, w->tensors[i].nbytes);
        put_zeros(s, pad_to(w->tensors[i].nbytes, align));
    }
    return HEARTH_OK;
}

hearth_status hr_gguf_write_memory(const hr_gguf_writer *w, void **out, size_t *size, hearth_error *err) {
    *out = NULL;
    *size = 0;
    sink s = {0};
    hearth_status st = emit(w, &s, err);
    if (st == HEARTH_OK && s.failed) st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory writing GGUF to memory");
    if (st != HEARTH_OK) {
        free(s.buf);
        return st;
    }
    *out = s.buf;
    *size = s.len;
    return HEARTH_OK;
}

/* Writes beside the target and renames, so a reader mapping the old file (say,
 * the input of a re-quantization to the same path) never sees it truncated. */
hearth_status hr_gguf_write_file(const hr_gguf_writer *w, const char *path, hearth_error *err) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp%ld", path, (long)getpid());
    sink s = {.f = fopen(tmp, "wb")};
    if (!s.f) {
        hearth_status st = hr_fail(err, HEARTH_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    hearth_status st = emit(w, &s, err);
    int e = s.failed ? errno : 0;
    if (fclose(s.f) != 0 && !s.failed) {
        s.failed = true;
        e = errno;
    }
    if (st == HEARTH_OK && s.failed) st = hr_fail(err, HEARTH_ERR_IO, "%s: write failed: %s", path, strerror(e));
    if (st == HEARTH_OK && rename(tmp, path) != 0)
        st = hr_fail(err, HEARTH_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (st != HEARTH_OK) {
        remove(tmp);
        if (st != HEARTH_ERR_IO) hr_error_prefix(err, "%s", path);
    }
    free(tmp);
    return st;
}
