/* A tiny byte builder for assembling GGUF files by hand in tests, following the
 * format description directly (independently of the writer under test). */
#ifndef TEST_GGUF_BYTES_H
#define TEST_GGUF_BYTES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static inline void b_raw(bytes *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}
static inline void b_le(bytes *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        b_raw(b, &c, 1);
    }
}
static inline void b_u8(bytes *b, uint8_t v) { b_le(b, v, 1); }
static inline void b_u16(bytes *b, uint16_t v) { b_le(b, v, 2); }
static inline void b_u32(bytes *b, uint32_t v) { b_le(b, v, 4); }
static inline void b_u64(bytes *b, uint64_t v) { b_le(b, v, 8); }
static inline void b_f32(bytes *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    b_u32(b, u);
}
static inline void b_f64(bytes *b, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    b_u64(b, u);
}
static inline void b_str(bytes *b, const char *s) {
    b_u64(b, strlen(s));
    b_raw(b, s, strlen(s));
}
static inline void b_header(bytes *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    b_raw(b, "GGUF", 4);
    b_u32(b, version);
    b_u64(b, n_tensors);
    b_u64(b, n_kv);
}
static inline void b_pad(bytes *b, size_t align) {
    while (b->len % align) b_u8(b, 0);
}

#endif
