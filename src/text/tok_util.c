/* Small helpers of the tokenizer: hashing, growable buffers, llama.cpp-style UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "text/tok_internal.h"

uint64_t tok_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

bool tok_ids_push(tok_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v) return false;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return true;
}

bool tok_buf_put(tok_buf *b, const void *data, size_t n) {
    if (n > SIZE_MAX / 2 - b->n) return false;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return false;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
    return true;
}

/* Mirrors llama.cpp's unicode_cpt_from_utf8 + unicode_cpts_from_utf8: lead
 * bits decide the length, only continuation bits are checked (so overlong
 * forms and surrogates decode), and a failure consumes a single byte. Values
 * past U+10FFFF, which llama.cpp cannot re-encode, are treated as invalid. */
uint32_t tok_utf8_decode(const char *s, size_t n, size_t *i) {
    const unsigned char *u = (const unsigned char *)s;
    size_t o = *i;
    unsigned c = u[o];
    uint32_t cp;
    size_t len;
    if (!(c & 0x80)) {
        *i = o + 1;
        return c;
    }
    if (!(c & 0x40)) goto bad;
    if (!(c & 0x20)) {
        len = 2;
        cp = c & 0x1F;
    } else if (!(c & 0x10)) {
        len = 3;
        cp = c & 0x0F;
    } else if (!(c & 0x08)) {
        len = 4;
        cp = c & 0x07;
    } else {
        goto bad;
    }
    if (o + len > n) goto bad;
    for (size_t k = 1; k < len; k++) {
        if ((u[o + k] & 0xC0) != 0x80) goto bad;
        cp = (cp << 6) | (u[o + k] & 0x3F);
    }
    if (cp > 0x10FFFF) goto bad;
    *i = o + len;
    return cp;
bad:
    *i = o + 1;
    return 0xFFFD;
}

size_t tok_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp <= 0x7F) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp <= 0x7FF) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp <= 0xFFFF) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp <= 0x10FFFF) {
        o[0] = (unsigned char)(0xF0 | (cp >> 18));
        o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (unsigned char)(0x80 | (cp & 0x3F));
        return 4;
    }
    return 0;
}
