/* Byte-level BPE (tokenizer.ggml.model "gpt2", and "gemma4" on raw UTF-8):
 * pre-tokenize, then in each word repeatedly merge the adjacent pair of
 * lowest merge rank (leftmost on ties) using a binary heap, so a word of n
 * characters costs O(n log n). Symbols never move: a merge grows the left one
 * and empties the right one, which makes stale heap entries easy to spot. */
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
    int32_t rank;
    ptrdiff_t left, right;
    size_t size;
} bigram;

static bool before(const bigram *a, const bigram *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

HR_DEFINE_HEAP(heap, bigram, before)

typedef struct {
    const hr_tokenizer *t;
    const char *word;
    symbol *sym;
    size_t n_sym, cap_sym;
    heap h;
} bpe_state;

static bool add_bigram(bpe_state *s, ptrdiff_t left, ptrdiff_t right) {
    if (left < 0 || right < 0) return true;
    const symbol *l = &s->sym[left], *r = &s->sym[right];
    int32_t rank = tok_merge_rank(s->t, s->word + l->start, l->n + r->n, l->n);
    if (rank < 0) return true;
    return heap_push(&s->h, (bigram){rank, left, right, l->n + r->n});
}

static bool emit_symbol(const hr_tokenizer *t, const char *p, size_t n, tok_ids *out) {
    int32_t id = tok_lookup(t, p, n);
    if (id >= 0) return tok_ids_push(out, id);
    /* Not in the vocabulary: one token per byte where the vocabulary has it (llama.cpp drops the rest). */
    for (size_t k = 0; k < n; k++) {
        unsigned char b = (unsigned char)p[k];
        int32_t bid = t->byte_encode ? tok_lookup(t, p + k, 1) : t->byte_token[b];
        if (bid >= 0 && !tok_ids_push(out, bid)) return false;
    }
    return true;
}

static bool bpe_word(bpe_state *s, const char *word, size_t len, tok_ids *out) {
    const hr_tokenizer *t = s->t;
    s->word = word;
    if (t->ignore_merges || (t->pre == PRE_GEMMA4 && len && strspn(word, "\n") >= len)) {
        /* llama3-style vocabularies take a whole word that is a token as is; Gemma 4 does so for newline runs. */
        int32_t id = tok_lookup(t, word, len);
        if (id >= 0) return tok_ids_push(out, id);
    }
    s->n_sym = 0;
    s->h.n = 0;
    if (len > s->cap_sym) {
        symbol *v = realloc(s->sym, len * sizeof *v);
        if (!v) return false;
        s->sym = v;
        s->cap_sym = len;
    }
    for (size_t off = 0; off < len;) {
        size_t n = tok_utf8_len((unsigned char)word[off]);
        if (n > len - off) n = len - off;
        ptrdiff_t i = (ptrdiff_t)s->n_sym;
        s->sym[s->n_sym++] = (symbol){off, n, i - 1, off + n == len ? -1 : i + 1};
        off += n;
    }
    for (size_t i = 1; i < s->n_sym; i++)
        if (!add_bigram(s, (ptrdiff_t)i - 1, (ptrdiff_t)i)) return false;
    while (s->h.n) {
        bigram b = heap_pop(&s->h);
        symbol *l = &s->sym[b.left], *r = &s->sym[b.right];
        if (!l->n || !r->n || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = b.left;
        if (!add_bigram(s, l->prev, b.left) || !add_bigram(s, b.left, l->next)) return false;
    }
    for (ptrdiff_t i = s->n_sym ? 0 : -1; i >= 0; i = s->sym[i].next)
        if (!emit_symbol(t, word + s->sym[i].start, s->sym[i].n, out)) return false;
    return true;
}

/* GPT-2's byte-to-unicode mapping, as UTF-8. */
static size_t byte_encode(unsigned b, char *out) {
    uint32_t cp = b;
    if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) {
        uint32_t n = 0;
        for (unsigned c = 0; c < b; c++)
            if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) n++;
        cp = 256 + n;
    }
    return tok_utf8_encode(cp, out);
}

hearth_status tok_bpe_fragment(const hr_tokenizer *t, const char *text, size_t len, tok_ids *out, hearth_error *err) {
    tok_buf norm = {0}, bounds = {0}, enc = {0};
    bpe_state s = {.t = t};
    hearth_status st = tok_pretok_split(t, text, len, &norm, &bounds, err);
    if (st != HEARTH_OK) goto done;
    char table[256][2];
    uint8_t table_len[256];
    if (t->byte_encode)
        for (unsigned b = 0; b < 256; b++) {
            char tmp[4];
            table_len[b] = (uint8_t)byte_encode(b, tmp);
            memcpy(table[b], tmp, 2);
        }
    size_t n_words = bounds.n / (2 * sizeof(size_t));
    for (size_t w = 0; w < n_words; w++) {
        size_t ws, we;
        memcpy(&ws, bounds.p + (2 * w) * sizeof(size_t), sizeof ws);
        memcpy(&we, bounds.p + (2 * w + 1) * sizeof(size_t), sizeof we);
        const char *word = norm.p + ws;
        size_t wlen = we - ws;
        if (t->byte_encode) {
            enc.n = 0;
            for (size_t k = 0; k < wlen; k++) {
                unsigned char b = (unsigned char)word[k];
                if (!tok_buf_put(&enc, table[b], table_len[b])) goto nomem;
            }
            word = enc.p;
            wlen = enc.n;
        }
        if (!bpe_word(&s, word, wlen, out)) goto nomem;
    }
    goto done;
nomem:
    st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
done:
    free(norm.p);
    free(bounds.p);
    free(enc.p);
    free(s.sym);
    free(s.h.v);
    return st;
}
