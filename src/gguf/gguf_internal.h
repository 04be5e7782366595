/* Layout of a parsed GGUF file, shared by the reader, accessors and writer. */
#ifndef HR_GGUF_INTERNAL_H
#define HR_GGUF_INTERNAL_H

#include "gguf/gguf.h"

typedef struct hr_gguf_kv {
    const char *key;
    hr_gguf_type type;
    hr_gguf_type arr_type;  /* HR_GGUF_TYPE_COUNT unless type is ARRAY */
    uint64_t arr_len;
    const uint8_t *data;    /* scalar value or first array element, in the mapping */
    hr_gguf_str str;        /* STRING value */
    hr_gguf_str *strs;      /* elements of a string array */
    const uint8_t *encoded; /* value as stored after the type field, for copying */
    size_t encoded_size;
} hr_gguf_kv;

/* Name-sorted index for binary search and uniqueness checks. */
typedef struct hr_gguf_name_index {
    const char *name;
    int64_t idx;
    size_t at; /* byte offset of the name in the file, for error messages */
} hr_gguf_name_index;

typedef struct hr_gguf_chunk hr_gguf_chunk;

struct hr_gguf {
    const uint8_t *base;
    size_t size;
    void *map; /* non-NULL when we own an mmap of the file */
    uint32_t version;
    size_t alignment;
    size_t data_offset;
    int64_t n_kv;
    hr_gguf_kv *kvs;
    hr_gguf_name_index *kv_index;
    int64_t n_tensors;
    hr_gguf_tensor *tensors;
    hr_gguf_name_index *tensor_index;
    hr_gguf_chunk *arena; /* copies of strings, string-array tables */
};

/* Names quoted in messages come from the file and may hold control bytes;
 * this keeps the message one printable line. */
static inline void hr_gguf_oneline(hearth_error *err) {
    if (!err) return;
    for (char *c = err->message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
}

static inline uint16_t hr_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t hr_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t hr_le64(const uint8_t *p) { return (uint64_t)hr_le32(p) | (uint64_t)hr_le32(p + 4) << 32; }

#endif
