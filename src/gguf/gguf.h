/*
 * GGUF reader and writer (versions 2 and 3).
 *
 * The reader memory-maps the file and validates every count, length, type,
 * offset and size before anything uses it; after hr_gguf_open succeeds every
 * accessor is safe. Strings returned point into the reader's own memory and
 * live as long as the hr_gguf.
 */
#ifndef HR_GGUF_H
#define HR_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"
#include "tensor/types.h"

typedef enum hr_gguf_type {
    HR_GGUF_UINT8 = 0,
    HR_GGUF_INT8 = 1,
    HR_GGUF_UINT16 = 2,
    HR_GGUF_INT16 = 3,
    HR_GGUF_UINT32 = 4,
    HR_GGUF_INT32 = 5,
    HR_GGUF_FLOAT32 = 6,
    HR_GGUF_BOOL = 7,
    HR_GGUF_STRING = 8,
    HR_GGUF_ARRAY = 9,
    HR_GGUF_UINT64 = 10,
    HR_GGUF_INT64 = 11,
    HR_GGUF_FLOAT64 = 12,
    HR_GGUF_TYPE_COUNT = 13,
} hr_gguf_type;

#define HR_GGUF_MAX_DIMS 4
#define HR_GGUF_DEFAULT_ALIGNMENT 32

typedef struct hr_gguf_str {
    const char *ptr; /* NUL-terminated copy owned by the reader */
    uint64_t len;
} hr_gguf_str;

typedef struct hr_gguf_tensor {
    const char *name;
    hr_type type;
    uint32_t n_dims;
    int64_t ne[HR_GGUF_MAX_DIMS]; /* ne[0] is the row length (contiguous); unused dims are 1 */
    uint64_t offset;              /* relative to the start of the data section */
    size_t nbytes;
    const void *data;             /* points into the mapping */
} hr_gguf_tensor;

typedef struct hr_gguf hr_gguf;

/* Opens and validates a file (memory-mapped, read-only). */
hearth_status hr_gguf_open(const char *path, hr_gguf **out, hearth_error *err);
/* Validates a buffer the caller keeps alive for the reader's lifetime (fuzzing, tests). */
hearth_status hr_gguf_open_memory(const void *data, size_t size, hr_gguf **out, hearth_error *err);
void hr_gguf_close(hr_gguf *g);
/* Tells the system that bytes [p, p + n) of a file-mapped g will not be read
 * again (a tensor copied elsewhere), so its pages leave the process's
 * resident set; a later read would still see the file. No-op for memory
 * opened with hr_gguf_open_memory. */
void hr_gguf_release_range(const hr_gguf *g, const void *p, size_t n);

uint32_t hr_gguf_version(const hr_gguf *g);
size_t hr_gguf_alignment(const hr_gguf *g);
size_t hr_gguf_file_size(const hr_gguf *g);
/* Byte offset of the data section (tensor offsets are relative to it). */
size_t hr_gguf_data_offset(const hr_gguf *g);

/* "uint32", "string", ... ("unknown" outside the enum), and the byte size of
 * one element of a fixed-size type (0 for STRING, ARRAY and unknown ids). */
const char *hr_gguf_type_name(uint32_t type);
size_t hr_gguf_type_size(uint32_t type);

/* Metadata. Keys are indexed 0..n_kv-1; lookups return -1 when absent. */
int64_t hr_gguf_n_kv(const hr_gguf *g);
int64_t hr_gguf_find_key(const hr_gguf *g, const char *key);
const char *hr_gguf_key(const hr_gguf *g, int64_t i);
hr_gguf_type hr_gguf_kv_type(const hr_gguf *g, int64_t i);
/* For arrays: element type and count. */
hr_gguf_type hr_gguf_arr_type(const hr_gguf *g, int64_t i);
uint64_t hr_gguf_arr_len(const hr_gguf *g, int64_t i);
/* Accessors give neutral answers for a bad index or the wrong kind of value:
 * NULL, 0, HR_GGUF_TYPE_COUNT, or {NULL, 0} for strings. */
/* Raw pointer to array elements of fixed-size type (unaligned: read with memcpy). */
const void *hr_gguf_arr_data(const hr_gguf *g, int64_t i);
/* String element j of a string array. */
hr_gguf_str hr_gguf_arr_str(const hr_gguf *g, int64_t i, uint64_t j);
hr_gguf_str hr_gguf_get_str(const hr_gguf *g, int64_t i);

/* Typed getters by key that convert between integer widths and check range.
 * Return HEARTH_ERR_MISSING (message names the key) when absent,
 * HEARTH_ERR_FORMAT when the stored type does not fit. */
hearth_status hr_gguf_get_u32(const hr_gguf *g, const char *key, uint32_t *out, hearth_error *err);
hearth_status hr_gguf_get_i64(const hr_gguf *g, const char *key, int64_t *out, hearth_error *err);
hearth_status hr_gguf_get_f32(const hr_gguf *g, const char *key, float *out, hearth_error *err);
hearth_status hr_gguf_get_bool(const hr_gguf *g, const char *key, bool *out, hearth_error *err);
hearth_status hr_gguf_get_string(const hr_gguf *g, const char *key, const char **out, hearth_error *err);
/* Same, but leave *out untouched and return HEARTH_OK when the key is absent. */
hearth_status hr_gguf_opt_u32(const hr_gguf *g, const char *key, uint32_t *out, hearth_error *err);
hearth_status hr_gguf_opt_f32(const hr_gguf *g, const char *key, float *out, hearth_error *err);
hearth_status hr_gguf_opt_bool(const hr_gguf *g, const char *key, bool *out, hearth_error *err);

/* Tensors. */
int64_t hr_gguf_n_tensors(const hr_gguf *g);
const hr_gguf_tensor *hr_gguf_tensor_at(const hr_gguf *g, int64_t i);
const hr_gguf_tensor *hr_gguf_find_tensor(const hr_gguf *g, const char *name);

/* Writer: collects metadata and tensors in memory order, then writes a v3 file. */
typedef struct hr_gguf_writer hr_gguf_writer;

hr_gguf_writer *hr_gguf_writer_new(void); /* NULL on out-of-memory */
void hr_gguf_writer_free(hr_gguf_writer *w);
/* Setters copy their arguments; setting an existing key replaces it. */
hearth_status hr_gguf_set_u32(hr_gguf_writer *w, const char *key, uint32_t v);
hearth_status hr_gguf_set_i32(hr_gguf_writer *w, const char *key, int32_t v);
hearth_status hr_gguf_set_u64(hr_gguf_writer *w, const char *key, uint64_t v);
hearth_status hr_gguf_set_f32(hr_gguf_writer *w, const char *key, float v);
hearth_status hr_gguf_set_bool(hr_gguf_writer *w, const char *key, bool v);
hearth_status hr_gguf_set_str(hr_gguf_writer *w, const char *key, const char *v);
/* Array of fixed-size elements (type not STRING/ARRAY), n elements at data. */
hearth_status hr_gguf_set_arr(hr_gguf_writer *w, const char *key, hr_gguf_type type, const void *data, uint64_t n);
hearth_status hr_gguf_set_arr_str(hr_gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* Copies every key of g (used by quantize to carry metadata over). */
hearth_status hr_gguf_copy_kv(hr_gguf_writer *w, const hr_gguf *g);
/* Removes a key if present (a later set appends it at the end, as llama.cpp's gguf does). */
void hr_gguf_remove_key(hr_gguf_writer *w, const char *key);
/* Adds a tensor; data (nbytes = hr_row_size(type, ne[0]) * rows) is copied. */
hearth_status hr_gguf_add_tensor(hr_gguf_writer *w, const char *name, hr_type type, uint32_t n_dims,
                                 const int64_t *ne, const void *data, size_t nbytes);
hearth_status hr_gguf_write_file(const hr_gguf_writer *w, const char *path, hearth_error *err);
/* Same bytes into a malloc'd buffer (*out, freed by the caller with free). */
hearth_status hr_gguf_write_memory(const hr_gguf_writer *w, void **out, size_t *size, hearth_error *err);

#endif
