/* SentencePiece BPE (tokenizer.ggml.model "llama") as llama.cpp runs it: start
 * from UTF-8 characters (by lead byte, no validation), repeatedly merge the
 * adjacent pair whose concatenation is the highest-scoring token (leftmost on
 * ties) with a binary heap, and spell any symbol that is not a token with
 * byte tokens <0xNN>. Every merge yields a token, so llama.cpp's resegment
 * step only ever falls back to bytes for single characters. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "text/tok_heap.h"
#include "text/tok_internal.h"

typedef struct {
    size_t start, n;
    ptrdiff_t prev, next;
} symbol;

typedef struct {
    float score;
    ptrdiff_t left, right;
    size_t size;
} bigram;

static bool before(const bigram *a, const bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

HR_DEFINE_HEAP(heap, bigram, before)

static bool add_bigram(const hr_tokenizer *t, const char *text, symbol *sym, heap *h, ptrdiff_t left, ptrdiff_t right) {
    if (left < 0 || right < 0) return true;
    size_t size = sym[left].n + sym[right].n;
    int32_t id = tok_lookup(t, text + sym[left].start, size);
    if (id < 0) return true;
    return heap_push(h, (bigram){t->scores[id], left, right, size});
}

hearth_status tok_spm_fragment(const hr_tokenizer *t, const char *text, size_t len, tok_ids *out, hearth_error *err) {
    if (!len) return HEARTH_OK;
    symbol *sym = malloc(len * sizeof *sym);
    heap h = {0};
    if (!sym) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    size_t n_sym = 0;
    for (size_t off = 0; off < len;) {
        size_t n = tok_utf8_len((unsigned char)text[off]);
        if (n > len - off) n = len - off;
        ptrdiff_t i = (ptrdiff_t)n_sym;
        sym[n_sym++] = (symbol){off, n, i - 1, off + n == len ? -1 : i + 1};
        off += n;
    }
    for (size_t i = 1; i < n_sym; i++)
        if (!add_bigram(t, text, sym, &h, (ptrdiff_t)i - 1, (ptrdiff_t)i)) goto nomem;
    while (h.n) {
        bigram b = heap_pop(&h);
        symbol *l = &sym[b.left], *r = &sym[b.right];
        if (!l->n || !r->n || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = b.left;
        if (!add_bigram(t, text, sym, &h, l->prev, b.left) || !add_bigram(t, text, sym, &h, b.left, l->next)) goto nomem;
    }
    for (ptrdiff_t i = 0; i >= 0; i = sym[i].next) {
        const char *p = text + sym[i].start;
        int32_t id = tok_lookup(t, p, sym[i].n);
        if (id >= 0) {
            if (!tok_ids_push(out, id)) goto nomem;
            continue;
        }
        for (size_t k = 0; k < sym[i].n; k++) {
            int32_t bid = t->byte_token[(unsigned char)p[k]];
            if (bid >= 0 && !tok_ids_push(out, bid)) goto nomem;
        }
    }
    free(sym);
    free(h.v);
    return HEARTH_OK;
nomem:
    free(sym);
    free(h.v);
    return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}
