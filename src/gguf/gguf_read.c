/*
 * GGUF reader: maps the file and validates every field before anything uses it.
 * Each failure names the problem and the byte offset it applies to, because a
 * corrupt model is only fixable (or reportable) when one can find the bad bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "gguf/gguf_internal.h"

#define GGUF_MAGIC "GGUF"
#define HEADER_SIZE 24
/* Smallest possible encodings, used to reject counts the file cannot hold
 * before allocating for them (which also bounds the allocation by the file size): a key/value is an empty-ish key (8) + type (4) + 1-byte value;
 * a tensor info is name length (8) + n_dims (4) + one dim (8) + type (4) + offset (8). */
#define MIN_KV_SIZE 13
#define MIN_TENSOR_INFO_SIZE 32
#define MAX_ALIGNMENT ((uint64_t)1 << 30)

#define TRY(expr) do { hearth_status st_ = (expr); if (st_ != HEARTH_OK) return st_; } while (0)

/* ---- arena: stable storage for string copies, freed in one go ---- */

struct hr_gguf_chunk {
    hr_gguf_chunk *next;
    size_t used, cap;
    max_align_t mem[];
};

/* align: 16 for structures, 1 for strings (a vocabulary's 150k short
 * strings would otherwise take twice their size). */
static void *arena_alloc_aligned(hr_gguf *g, size_t n, size_t align) {
    hr_gguf_chunk *c = g->arena;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0; /* chunk memory itself is max_align_t aligned */
    if (!c || at > c->cap || c->cap - at < n) {
        size_t cap = n > ((size_t)1 << 20) ? n : ((size_t)1 << 20);
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = g->arena;
        c->used = 0;
        c->cap = cap;
        g->arena = c;
        at = 0;
    }
    void *p = (unsigned char *)c->mem + at;
    c->used = at + n;
    return p;
}

static void *arena_alloc(hr_gguf *g, size_t n) { return arena_alloc_aligned(g, n, 16); }

/* ---- cursor over the untrusted bytes ---- */

typedef struct cursor {
    const uint8_t *p;
    size_t size, pos;
    hearth_error *err;
} cursor;

static size_t remain(const cursor *c) { return c->size - c->pos; }

static hearth_status take(cursor *c, size_t n, const char *what, const uint8_t **out) {
    if (remain(c) < n)
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "truncated %s at byte offset %zu (need %zu bytes, %zu remain)",
                       what, c->pos, n, remain(c));
    *out = c->p + c->pos;
    c->pos += n;
    return HEARTH_OK;
}

static hearth_status rd_u32(cursor *c, const char *what, uint32_t *v) {
    const uint8_t *b = NULL;
    TRY(take(c, 4, what, &b));
    *v = hr_le32(b);
    return HEARTH_OK;
}

static hearth_status rd_u64(cursor *c, const char *what, uint64_t *v) {
    const uint8_t *b = NULL;
    TRY(take(c, 8, what, &b));
    *v = hr_le64(b);
    return HEARTH_OK;
}

/* Reads a length-prefixed string and keeps a NUL-terminated copy in the arena. */
static hearth_status rd_str(hr_gguf *g, cursor *c, const char *what, hr_gguf_str *out) {
    size_t at = c->pos;
    uint64_t len;
    TRY(rd_u64(c, what, &len));
    if (len > remain(c))
        return hr_fail(c->err, HEARTH_ERR_FORMAT,
                       "truncated %s at byte offset %zu (length %" PRIu64 " exceeds remaining %zu bytes)", what, at,
                       len, remain(c));
    char *s = arena_alloc_aligned(g, (size_t)len + 1, 1);
    if (!s) return hr_fail(c->err, HEARTH_ERR_NOMEM, "out of memory copying %s at byte offset %zu", what, at);
    memcpy(s, c->p + c->pos, (size_t)len);
    s[len] = '\0';
    c->pos += (size_t)len;
    out->ptr = s;
    out->len = len;
    return HEARTH_OK;
}

/* Names (keys, tensor names) are looked up as C strings, so they must be
 * non-empty and free of NUL bytes. */
static hearth_status check_name(cursor *c, const hr_gguf_str *s, const char *what, size_t at) {
    if (s->len == 0) return hr_fail(c->err, HEARTH_ERR_FORMAT, "empty %s at byte offset %zu", what, at);
    if (strlen(s->ptr) != s->len)
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "%s at byte offset %zu contains a NUL byte", what, at);
    return HEARTH_OK;
}

/* ---- metadata ---- */

static hearth_status check_bools(cursor *c, const uint8_t *b, uint64_t n, const char *key) {
    for (uint64_t j = 0; j < n; j++) {
        if (b[j] > 1)
            return hr_fail(c->err, HEARTH_ERR_FORMAT, "invalid bool value %u for key '%s' at byte offset %zu", b[j],
                           key, (size_t)(b + j - c->p));
    }
    return HEARTH_OK;
}

static hearth_status parse_array(hr_gguf *g, cursor *c, hr_gguf_kv *kv, const char *what) {
    size_t at = c->pos;
    uint32_t et;
    uint64_t n;
    TRY(rd_u32(c, what, &et));
    if (et == HR_GGUF_ARRAY)
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "nested array in key '%s' at byte offset %zu is not supported",
                       kv->key, at);
    if (et >= HR_GGUF_TYPE_COUNT)
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "unknown array element type %" PRIu32 " for key '%s' at byte offset %zu",
                       et, kv->key, at);
    size_t len_at = c->pos;
    TRY(rd_u64(c, what, &n));
    size_t esize = et == HR_GGUF_STRING ? 8 : hr_gguf_type_size(et);
    if (n > remain(c) / esize)
        return hr_fail(c->err, HEARTH_ERR_FORMAT,
                       "array length %" PRIu64 " of key '%s' at byte offset %zu exceeds remaining %zu bytes", n, kv->key,
                       len_at, remain(c));
    kv->arr_type = (hr_gguf_type)et;
    kv->arr_len = n;
    kv->data = c->p + c->pos;
    if (et != HR_GGUF_STRING) {
        const uint8_t *b = NULL;
        TRY(take(c, (size_t)n * esize, what, &b));
        if (et == HR_GGUF_BOOL) TRY(check_bools(c, b, n, kv->key));
        return HEARTH_OK;
    }
    kv->strs = arena_alloc(g, (size_t)n * sizeof *kv->strs);
    if (!kv->strs && n) return hr_fail(c->err, HEARTH_ERR_NOMEM, "out of memory for array '%s'", kv->key);
    for (uint64_t j = 0; j < n; j++) TRY(rd_str(g, c, what, &kv->strs[j]));
    return HEARTH_OK;
}

static hearth_status parse_kv(hr_gguf *g, cursor *c, hr_gguf_kv *kv, size_t *key_at) {
    hr_gguf_str key;
    *key_at = c->pos;
    TRY(rd_str(g, c, "key", &key));
    TRY(check_name(c, &key, "key", *key_at));
    kv->key = key.ptr;
    kv->arr_type = HR_GGUF_TYPE_COUNT;

    char what[160];
    snprintf(what, sizeof what, "value of key '%.100s'", key.ptr);
    size_t type_at = c->pos;
    uint32_t t;
    TRY(rd_u32(c, what, &t));
    if (t >= HR_GGUF_TYPE_COUNT)
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "unknown value type %" PRIu32 " for key '%s' at byte offset %zu", t,
                       key.ptr, type_at);
    kv->type = (hr_gguf_type)t;
    size_t start = c->pos;
    kv->encoded = c->p + start;
    if (t == HR_GGUF_STRING) {
        TRY(rd_str(g, c, what, &kv->str));
    } else if (t == HR_GGUF_ARRAY) {
        TRY(parse_array(g, c, kv, what));
    } else {
        TRY(take(c, hr_gguf_type_size(t), what, &kv->data));
        if (t == HR_GGUF_BOOL) TRY(check_bools(c, kv->data, 1, key.ptr));
    }
    kv->encoded_size = c->pos - start;
    return HEARTH_OK;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const hr_gguf_name_index *)a)->name, ((const hr_gguf_name_index *)b)->name);
}

/* Sorts the index by name and rejects duplicates (n log n: counts can be large). */
static hearth_status sort_unique(hr_gguf_name_index *ix, int64_t n, const char *what, hearth_error *err) {
    qsort(ix, (size_t)n, sizeof *ix, cmp_name);
    for (int64_t i = 1; i < n; i++) {
        if (strcmp(ix[i - 1].name, ix[i].name) == 0) {
            size_t a = ix[i - 1].at, b = ix[i].at;
            return hr_fail(err, HEARTH_ERR_FORMAT, "duplicate %s '%s' at byte offset %zu (first at byte offset %zu)",
                           what, ix[i].name, a > b ? a : b, a < b ? a : b);
        }
    }
    return HEARTH_OK;
}

static hearth_status read_alignment(hr_gguf *g, hearth_error *err) {
    g->alignment = HR_GGUF_DEFAULT_ALIGNMENT;
    int64_t i = hr_gguf_find_key(g, "general.alignment");
    if (i < 0) return HEARTH_OK;
    const hr_gguf_kv *kv = &g->kvs[i];
    size_t at = (size_t)(kv->encoded - g->base);
    uint64_t v;
    switch (kv->type) {
    case HR_GGUF_UINT8: v = kv->data[0]; break;
    case HR_GGUF_UINT16: v = hr_le16(kv->data); break;
    case HR_GGUF_UINT32: v = hr_le32(kv->data); break;
    case HR_GGUF_UINT64: v = hr_le64(kv->data); break;
    default:
        return hr_fail(err, HEARTH_ERR_FORMAT, "general.alignment at byte offset %zu has type %s, expected uint32", at,
                       hr_gguf_type_name(kv->type));
    }
    if (v == 0 || (v & (v - 1)) != 0 || v > MAX_ALIGNMENT)
        return hr_fail(err, HEARTH_ERR_FORMAT,
                       "bad alignment: general.alignment %" PRIu64 " at byte offset %zu is not a power of two up to 2^30",
                       v, at);
    g->alignment = (size_t)v;
    return HEARTH_OK;
}

/* ---- tensor infos ---- */

static hearth_status parse_tensor_info(hr_gguf *g, cursor *c, hr_gguf_tensor *t, size_t *name_at) {
    hr_gguf_str name;
    *name_at = c->pos;
    TRY(rd_str(g, c, "tensor name", &name));
    TRY(check_name(c, &name, "tensor name", *name_at));
    t->name = name.ptr;

    char what[160];
    snprintf(what, sizeof what, "info of tensor '%.100s'", name.ptr);
    size_t at = c->pos;
    uint32_t n_dims;
    TRY(rd_u32(c, what, &n_dims));
    if (n_dims < 1 || n_dims > HR_GGUF_MAX_DIMS)
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "tensor '%s' has %" PRIu32 " dimensions (n_dims must be 1 to %d) at byte offset %zu",
                       name.ptr, n_dims, HR_GGUF_MAX_DIMS, at);
    t->n_dims = n_dims;
    int64_t nelem = 1;
    size_t dims_at = c->pos;
    for (uint32_t d = 0; d < HR_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= n_dims) continue;
        at = c->pos;
        uint64_t v;
        TRY(rd_u64(c, what, &v));
        int64_t s = (int64_t)v;
        if (s < 1)
            return hr_fail(c->err, HEARTH_ERR_FORMAT, "tensor '%s' dimension %" PRIu32 " is %" PRId64 " (must be >= 1) at byte offset %zu",
                           name.ptr, d, s, at);
        if (nelem > INT64_MAX / s)
            return hr_fail(c->err, HEARTH_ERR_FORMAT, "tensor '%s' element count overflows (dimensions at byte offset %zu)",
                           name.ptr, dims_at);
        nelem *= s;
        t->ne[d] = s;
    }
    at = c->pos;
    uint32_t type;
    TRY(rd_u32(c, what, &type));
    const hr_type_traits *tr = hr_type_traits_get(type);
    if (!tr) {
        if (type < HR_TYPE_COUNT)
            return hr_fail(c->err, HEARTH_ERR_UNSUPPORTED, "tensor '%s' has type %" PRIu32 " at byte offset %zu, which hearth does not support",
                           name.ptr, type, at);
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "tensor '%s' has unknown type %" PRIu32 " at byte offset %zu", name.ptr,
                       type, at);
    }
    t->type = (hr_type)type;
    if (t->ne[0] % tr->block_size != 0)
        return hr_fail(c->err, HEARTH_ERR_FORMAT,
                       "tensor '%s' of type %s has row length %" PRId64 ", not a multiple of the block size %" PRId64 " (byte offset %zu)",
                       name.ptr, tr->name, t->ne[0], tr->block_size, dims_at);
    uint64_t nblocks = (uint64_t)(nelem / tr->block_size);
    if (nblocks > SIZE_MAX / tr->type_size)
        return hr_fail(c->err, HEARTH_ERR_FORMAT, "tensor '%s' byte size overflows (dimensions at byte offset %zu)",
                       name.ptr, dims_at);
    t->nbytes = (size_t)nblocks * tr->type_size;
    at = c->pos;
    TRY(rd_u64(c, what, &t->offset));
    if (t->offset % g->alignment != 0)
        return hr_fail(c->err, HEARTH_ERR_FORMAT,
                       "tensor '%s' data offset %" PRIu64 " at byte offset %zu is not a multiple of the alignment %zu",
                       name.ptr, t->offset, at, g->alignment);
    return HEARTH_OK;
}

typedef struct span {
    uint64_t offset;
    int64_t idx;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* deterministic messages */
}

/* Every tensor's bytes must lie inside the file and belong to it alone. */
static hearth_status check_data(hr_gguf *g, const size_t *info_at, hearth_error *err) {
    if (g->n_tensors == 0) return HEARTH_OK;
    if (g->data_offset > g->size)
        return hr_fail(err, HEARTH_ERR_FORMAT, "data section at byte offset %zu starts beyond the end of the file (%zu bytes)",
                       g->data_offset, g->size);
    size_t avail = g->size - g->data_offset;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        hr_gguf_tensor *t = &g->tensors[i];
        if (t->offset > avail || t->nbytes > avail - t->offset) {
            uint64_t end = t->offset > UINT64_MAX - t->nbytes ? UINT64_MAX : t->offset + t->nbytes;
            return hr_fail(err, HEARTH_ERR_FORMAT,
                           "tensor '%s' data (offset %" PRIu64 ", end %" PRIu64 ", %zu bytes) lies outside the file's data section of %zu bytes (tensor info at byte offset %zu)",
                           t->name, t->offset, end, t->nbytes, avail, info_at[i]);
        }
        t->data = g->base + g->data_offset + t->offset;
    }
    span *s = malloc((size_t)g->n_tensors * sizeof *s);
    if (!s) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory checking %" PRId64 " tensors", g->n_tensors);
    for (int64_t i = 0; i < g->n_tensors; i++) s[i] = (span){g->tensors[i].offset, i};
    qsort(s, (size_t)g->n_tensors, sizeof *s, cmp_span);
    hearth_status st = HEARTH_OK;
    for (int64_t i = 1; i < g->n_tensors; i++) {
        const hr_gguf_tensor *a = &g->tensors[s[i - 1].idx], *b = &g->tensors[s[i].idx];
        if (a->offset + a->nbytes > b->offset) {
            st = hr_fail(err, HEARTH_ERR_FORMAT,
                         "tensors '%s' and '%s' overlap: data [%" PRIu64 ", %" PRIu64 ") and [%" PRIu64 ", %" PRIu64 ") (tensor info at byte offset %zu)",
                         a->name, b->name, a->offset, a->offset + a->nbytes, b->offset, b->offset + b->nbytes,
                         info_at[s[i].idx]);
            break;
        }
    }
    free(s);
    return st;
}

/* ---- whole file ---- */

static hearth_status parse(hr_gguf *g, hearth_error *err) {
    cursor c = {.p = g->base, .size = g->size, .pos = 0, .err = err};
    if (g->size < 4 || memcmp(g->base, GGUF_MAGIC, 4) != 0) {
        if (g->size < 4)
            return hr_fail(err, HEARTH_ERR_FORMAT, "truncated header at byte offset 0 (%zu bytes; not a GGUF file)", g->size);
        return hr_fail(err, HEARTH_ERR_FORMAT,
                       "bad magic at byte offset 0: %02x %02x %02x %02x (expected \"GGUF\"; not a GGUF file)", g->base[0],
                       g->base[1], g->base[2], g->base[3]);
    }
    c.pos = 4;
    TRY(rd_u32(&c, "header", &g->version));
    if (g->version == 1)
        return hr_fail(err, HEARTH_ERR_FORMAT,
                       "GGUF version 1 at byte offset 4 is obsolete and not supported (versions 2 and 3 are)");
    if (g->version == 0x02000000 || g->version == 0x03000000)
        return hr_fail(err, HEARTH_ERR_FORMAT, "big-endian GGUF (version field at byte offset 4) is not supported");
    if (g->version != 2 && g->version != 3)
        return hr_fail(err, HEARTH_ERR_FORMAT,
                       "unsupported GGUF version %" PRIu32 " at byte offset 4 (versions 2 and 3 are supported)", g->version);
    uint64_t n_tensors, n_kv;
    TRY(rd_u64(&c, "header", &n_tensors));
    TRY(rd_u64(&c, "header", &n_kv));
    size_t rest = remain(&c);
    if (n_tensors > rest / MIN_TENSOR_INFO_SIZE)
        return hr_fail(err, HEARTH_ERR_FORMAT,
                       "n_tensors %" PRIu64 " at byte offset 8 is too large for the %zu bytes that follow the header (truncated or corrupt file)",
                       n_tensors, rest);
    if (n_kv > rest / MIN_KV_SIZE)
        return hr_fail(err, HEARTH_ERR_FORMAT,
                       "n_kv %" PRIu64 " at byte offset 16 is too large for the %zu bytes that follow the header (truncated or corrupt file)", n_kv,
                       rest);
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;

    g->kvs = calloc(n_kv ? n_kv : 1, sizeof *g->kvs);
    g->kv_index = calloc(n_kv ? n_kv : 1, sizeof *g->kv_index);
    g->tensors = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);
    g->tensor_index = calloc(n_tensors ? n_tensors : 1, sizeof *g->tensor_index);
    if (!g->kvs || !g->kv_index || !g->tensors || !g->tensor_index)
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for %" PRIu64 " keys and %" PRIu64 " tensors", n_kv,
                       n_tensors);

    for (int64_t i = 0; i < g->n_kv; i++) {
        size_t at;
        TRY(parse_kv(g, &c, &g->kvs[i], &at));
        g->kv_index[i] = (hr_gguf_name_index){g->kvs[i].key, i, at};
    }
    TRY(sort_unique(g->kv_index, g->n_kv, "key", err));
    TRY(read_alignment(g, err));

    size_t *info_at = malloc((n_tensors ? n_tensors : 1) * sizeof *info_at);
    if (!info_at) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for %" PRIu64 " tensors", n_tensors);
    hearth_status st = HEARTH_OK;
    for (int64_t i = 0; i < g->n_tensors && st == HEARTH_OK; i++) {
        st = parse_tensor_info(g, &c, &g->tensors[i], &info_at[i]);
        g->tensor_index[i] = (hr_gguf_name_index){g->tensors[i].name, i, info_at[i]};
    }
    if (st == HEARTH_OK) st = sort_unique(g->tensor_index, g->n_tensors, "tensor name", err);
    if (st == HEARTH_OK) {
        /* pos <= size and alignment <= 2^30, so this cannot overflow. */
        g->data_offset = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
        st = check_data(g, info_at, err);
    }
    free(info_at);
    return st;
}

hearth_status hr_gguf_open_memory(const void *data, size_t size, hr_gguf **out, hearth_error *err) {
    *out = NULL;
    if (!data && size) return hr_fail(err, HEARTH_ERR_INVALID, "NULL buffer of %zu bytes", size);
    hr_gguf *g = calloc(1, sizeof *g);
    if (!g) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    static const uint8_t empty[1];
    g->base = data ? data : empty;
    g->size = size;
    hearth_status st = parse(g, err);
    if (st != HEARTH_OK) {
        hr_gguf_oneline(err);
        hr_gguf_close(g);
        return st;
    }
    *out = g;
    return HEARTH_OK;
}

hearth_status hr_gguf_open(const char *path, hr_gguf **out, hearth_error *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return hr_fail(err, HEARTH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return hr_fail(err, HEARTH_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return hr_fail(err, e == ENOMEM ? HEARTH_ERR_NOMEM : HEARTH_ERR_IO, "%s: cannot map %zu bytes: %s", path,
                           size, strerror(e));
        }
    }
    close(fd);
    hr_gguf *g;
    hearth_status st = hr_gguf_open_memory(map, size, &g, err);
    if (st != HEARTH_OK) {
        if (map) munmap(map, size);
        hr_error_prefix(err, "%s", path);
        return st;
    }
    g->map = map;
    *out = g;
    return HEARTH_OK;
}

void hr_gguf_release_range(const hr_gguf *g, const void *p, size_t n) {
    if (!g || !g->map || !n) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED); /* advice only: failure changes nothing */
}

void hr_gguf_close(hr_gguf *g) {
    if (!g) return;
    while (g->arena) {
        hr_gguf_chunk *n = g->arena->next;
        free(g->arena);
        g->arena = n;
    }
    free(g->kvs);
    free(g->kv_index);
    free(g->tensors);
    free(g->tensor_index);
    if (g->map) munmap(g->map, g->size);
    free(g);
}
