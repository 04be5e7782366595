/* A growable binary heap of merge candidates, shared by the BPE and
 * SentencePiece mergers. Defined per element type by a macro (rather than a
 * void-pointer heap with a comparator) so the compare inlines on the hot path.
 * BEFORE(a, b) is true when *a must pop before *b. */
#ifndef HR_TOK_HEAP_H
#define HR_TOK_HEAP_H

#include <stdbool.h>
#include <stdlib.h>

#define HR_DEFINE_HEAP(HEAP, TYPE, BEFORE)                                   \
    typedef struct {                                                         \
        TYPE *v;                                                             \
        size_t n, cap;                                                       \
    } HEAP;                                                                  \
                                                                             \
    static bool HEAP##_push(HEAP *h, TYPE b) {                               \
        if (h->n == h->cap) {                                                \
            size_t cap = h->cap ? h->cap * 2 : 64;                           \
            TYPE *v = realloc(h->v, cap * sizeof *v);                        \
            if (!v) return false;                                            \
            h->v = v;                                                        \
            h->cap = cap;                                                    \
        }                                                                    \
        size_t i = h->n++;                                                   \
        while (i > 0) {                                                      \
            size_t p = (i - 1) / 2;                                          \
            if (!BEFORE(&b, &h->v[p])) break;                                \
            h->v[i] = h->v[p];                                               \
            i = p;                                                           \
        }                                                                    \
        h->v[i] = b;                                                         \
        return true;                                                         \
    }                                                                        \
                                                                             \
    /* Caller checks h->n > 0. */                                            \
    static TYPE HEAP##_pop(HEAP *h) {                                        \
        TYPE top = h->v[0], last = h->v[--h->n];                             \
        size_t i = 0;                                                        \
        for (;;) {                                                           \
            size_t c = 2 * i + 1;                                            \
            if (c >= h->n) break;                                            \
            if (c + 1 < h->n && BEFORE(&h->v[c + 1], &h->v[c])) c++;         \
            if (!BEFORE(&h->v[c], &last)) break;                             \
            h->v[i] = h->v[c];                                               \
            i = c;                                                           \
        }                                                                    \
        if (h->n) h->v[i] = last;                                            \
        return top;                                                          \
    }

#endif
