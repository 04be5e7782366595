/* The model's tokenizer (from the file's tokenizer.ggml.* metadata). */
#include <stdlib.h>
#include "common/error.h"
#include "models/model_internal.h"

#include "text/tokenizer.h"

hearth_status hr_model_load_tokenizer(hearth_model *m, hearth_error *err) {
    m->tokenizer = NULL;
    if (hr_gguf_find_key(m->gguf, "tokenizer.ggml.model") < 0) return HEARTH_OK;
    hr_tokenizer *t = NULL;
    hearth_status st = hr_tokenizer_new(m->gguf, &t, err);
    if (st) return st;
    m->tokenizer = (struct hr_tokenizer *)t;
    return HEARTH_OK;
}

void hr_model_free_tokenizer(hearth_model *m) {
    hr_tokenizer_free((hr_tokenizer *)m->tokenizer);
    m->tokenizer = NULL;
}

bool hearth_model_has_tokenizer(const hearth_model *m) { return m && m->tokenizer; }

#define TOK(m) ((const hr_tokenizer *)(m)->tokenizer)

bool hearth_model_add_bos(const hearth_model *m) { return m && m->tokenizer && hr_tokenizer_add_bos(TOK(m)); }

hearth_status hearth_tokenize(const hearth_model *m, const char *text, size_t len, bool add_bos, bool parse_special,
                              int32_t **out, size_t *n_out, hearth_error *err) {
    if (!m || !out || !n_out || (!text && len)) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_tokenize: bad arguments");
    if (!m->tokenizer) return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "the model file has no tokenizer");
    return hr_tokenize(TOK(m), text ? text : "", len, add_bos, parse_special, out, n_out, err);
}

int hearth_token_to_piece(const hearth_model *m, int32_t id, bool special, char *buf, size_t cap) {
    if (!m || !m->tokenizer) return -1;
    return hr_token_to_piece(TOK(m), id, special, buf, cap);
}

bool hearth_token_is_eog(const hearth_model *m, int32_t id) { return m && m->tokenizer && hr_tokenizer_is_eog(TOK(m), id); }

struct hearth_detok {
    hr_detok_stream *s;
};

hearth_status hearth_detok_new(const hearth_model *m, bool special, hearth_detok **out, hearth_error *err) {
    if (!out) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_detok_new: out is NULL");
    *out = NULL;
    if (!m || !m->tokenizer) return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "the model file has no tokenizer");
    hearth_detok *d = malloc(sizeof *d);
    if (!d || !(d->s = hr_detok_stream_new(TOK(m), special))) {
        free(d);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    *out = d;
    return HEARTH_OK;
}

const char *hearth_detok_push(hearth_detok *d, int32_t id) { return d ? hr_detok_stream_push(d->s, id) : ""; }
const char *hearth_detok_flush(hearth_detok *d) { return d ? hr_detok_stream_flush(d->s) : ""; }

void hearth_detok_free(hearth_detok *d) {
    if (!d) return;
    hr_detok_stream_free(d->s);
    free(d);
}

