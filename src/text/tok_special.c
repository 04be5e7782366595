/* Special-token partitioning with llama.cpp's semantics (tokenizer_st_partition):
 * special tokens are taken longest first; each one claims its leftmost
 * non-overlapping occurrences in the text not yet claimed, and LSTRIP/RSTRIP
 * tokens swallow the whitespace beside them. Rather than rescanning the text
 * once per special token, every occurrence is found in one pass over a trie
 * and the claims are then replayed in priority order. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "text/tok_internal.h"

typedef struct {
    uint32_t len;
    int32_t id;
} len_id;

/* Longest first; llama.cpp's std::sort leaves equal lengths in no particular order, we use the id. */
static int cmp_special(const void *a, const void *b) {
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static uint32_t trie_child(const hr_tokenizer *t, uint32_t node, unsigned char byte) {
    if (node == 0) return t->trie_root[byte];
    uint32_t c = t->trie[node].first_child;
    while (c && t->trie[c].byte != byte) c = t->trie[c].next_sibling;
    return c;
}

hearth_status tok_special_init(hr_tokenizer *t, hearth_error *err) {
    const uint16_t mask = HR_TOKEN_ATTR_CONTROL | HR_TOKEN_ATTR_USER_DEFINED | HR_TOKEN_ATTR_UNKNOWN;
    int32_t n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) n += (t->attr[i] & mask) != 0;
    t->special_ids = malloc((size_t)(n ? n : 1) * sizeof *t->special_ids);
    len_id *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!t->special_ids || !order) {
        free(order);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    n = 0;
    uint64_t total = 1;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->attr[i] & mask) {
            order[n++] = (len_id){t->text_len[i], i};
            total += t->text_len[i];
        }
    t->n_special = n;
    qsort(order, (size_t)n, sizeof *order, cmp_special);
    for (int32_t r = 0; r < n; r++) t->special_ids[r] = order[r].id;
    free(order);

    if (total > UINT32_MAX - 1) return hr_fail(err, HEARTH_ERR_FORMAT, "special tokens too long");
    t->trie = calloc(total, sizeof *t->trie);
    if (!t->trie) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    t->trie[0].rank = -1;
    t->n_trie = 1;
    for (int32_t r = 0; r < n; r++) {
        int32_t id = t->special_ids[r];
        const unsigned char *s = (const unsigned char *)t->text_pool + t->text_off[id];
        uint32_t node = 0;
        for (uint32_t k = 0; k < t->text_len[id]; k++) {
            uint32_t c = trie_child(t, node, s[k]);
            if (!c) {
                c = t->n_trie++;
                t->trie[c].byte = s[k];
                t->trie[c].rank = -1;
                if (node == 0) {
                    t->trie_root[s[k]] = c;
                } else {
                    t->trie[c].next_sibling = t->trie[node].first_child;
                    t->trie[node].first_child = c;
                }
            }
            node = c;
        }
        /* Duplicate texts cannot occur (the text map keeps one id per text) but keep the first. */
        if (t->trie[node].rank < 0) t->trie[node].rank = r;
    }
    return HEARTH_OK;
}

typedef struct {
    uint32_t rank;
    size_t start;
} occurrence;

static int cmp_occ(const void *a, const void *b) {
    const occurrence *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static bool range_free(const uint8_t *dead, size_t s, size_t e) {
    for (size_t i = s; i < e; i++)
        if (dead[i]) return false;
    return true;
}

/* dead[i]: 0 = raw text, 1 = claimed by a token, 2 = stripped whitespace. */
hearth_status tok_special_partition(const hr_tokenizer *t, const char *text, size_t len, bool parse_special,
                                    tok_fragment **frags, size_t *n_frags, hearth_error *err) {
    *frags = NULL;
    *n_frags = 0;
    occurrence *occ = NULL;
    size_t n_occ = 0, cap_occ = 0;
    const uint16_t skip = parse_special ? 0 : (HR_TOKEN_ATTR_CONTROL | HR_TOKEN_ATTR_UNKNOWN);
    const unsigned char *u = (const unsigned char *)text;

    for (size_t i = 0; i < len && t->n_special; i++) {
        uint32_t node = 0;
        for (size_t k = i; k < len; k++) {
            uint32_t c = trie_child(t, node, u[k]);
            if (!c) break;
            node = c;
            int32_t r = t->trie[node].rank;
            if (r < 0 || (t->attr[t->special_ids[r]] & skip)) continue;
            if (n_occ == cap_occ) {
                size_t nc = cap_occ ? cap_occ * 2 : 16;
                occurrence *p = realloc(occ, nc * sizeof *p);
                if (!p) {
                    free(occ);
                    return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
                }
                occ = p;
                cap_occ = nc;
            }
            occ[n_occ++] = (occurrence){(uint32_t)r, i};
        }
    }

    tok_fragment *out = NULL;
    uint8_t *dead = NULL;
    size_t n_out = 0;
    if (n_occ) {
        qsort(occ, n_occ, sizeof *occ, cmp_occ);
        dead = calloc(len, 1);
        if (!dead) goto nomem;
        size_t n_claimed = 0;
        for (size_t a = 0; a < n_occ;) {
            /* One token's occurrences, left to right; each later one must start after the previous claim. */
            size_t b = a;
            while (b < n_occ && occ[b].rank == occ[a].rank) b++;
            int32_t id = t->special_ids[occ[a].rank];
            size_t tl = t->text_len[id];
            uint16_t at = t->attr[id];
            size_t resume = 0;
            for (size_t k = a; k < b; k++) {
                size_t s = occ[k].start, e = s + tl;
                if (s < resume || !range_free(dead, s, e)) continue;
                memset(dead + s, 1, tl);
                occ[n_claimed++] = (occurrence){(uint32_t)id, s};
                resume = e;
                if (at & HR_TOKEN_ATTR_LSTRIP)
                    for (size_t p = s; p > 0 && !dead[p - 1] && isspace(u[p - 1]); p--) dead[p - 1] = 2;
                if (at & HR_TOKEN_ATTR_RSTRIP)
                    for (size_t p = e; p < len && !dead[p] && isspace(u[p]); p++) dead[p] = 2, resume = p + 1;
            }
            a = b;
        }
        /* occ[0..n_claimed) now holds (id, start) of claimed tokens; order them by position. */
        for (size_t k = 0; k < n_claimed; k++) {
            uint32_t id = occ[k].rank;
            occ[k].rank = (uint32_t)occ[k].start; /* reuse: sort by start */
            occ[k].start = id;
        }
        qsort(occ, n_claimed, sizeof *occ, cmp_occ);
        out = malloc((2 * n_claimed + 1) * sizeof *out);
        if (!out) goto nomem;
        size_t pos = 0;
        for (size_t k = 0; k <= n_claimed; k++) {
            size_t until = k < n_claimed ? occ[k].rank : len;
            /* Raw text before this token: the live bytes (stripped whitespace only borders tokens). */
            size_t s = pos, e = until;
            while (s < e && dead[s]) s++;
            while (e > s && dead[e - 1]) e--;
            if (e > s) out[n_out++] = (tok_fragment){-1, s, e};
            if (k < n_claimed) {
                int32_t id = (int32_t)occ[k].start;
                out[n_out++] = (tok_fragment){id, until, until + t->text_len[id]};
                pos = until + t->text_len[id];
            }
        }
    } else if (len) {
        out = malloc(sizeof *out);
        if (!out) goto nomem;
        out[n_out++] = (tok_fragment){-1, 0, len};
    }
    free(occ);
    free(dead);
    *frags = out;
    *n_frags = n_out;
    return HEARTH_OK;
nomem:
    free(occ);
    free(dead);
    free(out);
    return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}
