/* Text to token ids: partition out special tokens, then run the model on each
 * raw fragment (llama_vocab::impl::tokenize). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "text/tok_internal.h"

/* Spaces become U+2581 for SentencePiece-style vocabularies. */
static bool escape_spaces(tok_buf *b, const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const char *sp = memchr(s + i, ' ', n - i);
        size_t run = sp ? (size_t)(sp - (s + i)) : n - i;
        if (!tok_buf_put(b, s + i, run)) return false;
        i += run;
        if (sp) {
            if (!tok_buf_put(b, "\xE2\x96\x81", 3)) return false;
            i++;
        }
    }
    return true;
}

hearth_status hr_tokenize(const hr_tokenizer *t, const char *text, size_t len, bool add_bos, bool parse_special,
                          int32_t **out, size_t *n_out, hearth_error *err) {
    *out = NULL;
    *n_out = 0;
    if (!text && len) return hr_fail(err, HEARTH_ERR_INVALID, "NULL text");
    if (len > (size_t)INT32_MAX) return hr_fail(err, HEARTH_ERR_RANGE, "text of %zu bytes is too long to tokenize", len);
    tok_fragment *frags = NULL;
    size_t n_frags = 0;
    hearth_status st = tok_special_partition(t, text, len, parse_special, &frags, &n_frags, err);
    if (st != HEARTH_OK) return st;

    tok_ids ids = {0};
    tok_buf buf = {0};
    if (add_bos && t->bos >= 0 && !tok_ids_push(&ids, t->bos)) goto nomem;
    bool prev_special = true; /* SentencePiece prefixes a space at the start and after special tokens */
    for (size_t f = 0; f < n_frags; f++) {
        if (frags[f].id >= 0) {
            if (!tok_ids_push(&ids, frags[f].id)) goto nomem;
            prev_special = true;
            continue;
        }
        const char *s = text + frags[f].start;
        size_t n = frags[f].end - frags[f].start;
        buf.n = 0;
        if (t->kind == TOK_KIND_SPM) {
            if (t->add_space_prefix && prev_special && !tok_buf_put(&buf, "\xE2\x96\x81", 3)) goto nomem;
            if (!escape_spaces(&buf, s, n)) goto nomem;
            st = tok_spm_fragment(t, buf.p, buf.n, &ids, err);
        } else if (t->escape_whitespaces) {
            if (!escape_spaces(&buf, s, n)) goto nomem;
            st = tok_bpe_fragment(t, buf.p, buf.n, &ids, err);
        } else {
            st = tok_bpe_fragment(t, s, n, &ids, err);
        }
        if (st != HEARTH_OK) goto fail;
        prev_special = false;
    }
    free(frags);
    free(buf.p);
    *out = ids.v;
    *n_out = ids.n;
    return HEARTH_OK;
nomem:
    st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
fail:
    free(frags);
    free(buf.p);
    free(ids.v);
    return st;
}
