/* Per-family generation facts found by rendering the template: thinking
 * markers, marker tokens to spell out, the end-of-turn token. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chat/family.h"
#include "common/error.h"

/* Known thinking markers as they appear in generated text. Gemma 4 opens a
 * channel named "thought"; the name is part of the opening marker so that it
 * does not show as thinking text. */
static const struct {
    const char *name, *open, *close;
} PAIRS[] = {
    {"gemma4-channel", "<|channel>thought", "<channel|>"},
    {"think-tags", "<think>", "</think>"},
};

static const char PROBE[] = "HEARTH-END-PROBE";

/* Renders a one-user-message conversation (plus an assistant message when
 * probe_answer) with extra variables; NULL when the template refuses. */
static char *render(const hr_chat_template *ct, const char *kwargs_json, bool probe_answer) {
    json_t *msgs = probe_answer ? json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "user", "content", "Hi", "role",
                                            "assistant", "content", PROBE)
                                : json_pack("[{s:s,s:s}]", "role", "user", "content", "Hi");
    json_t *kw = kwargs_json ? json_loads(kwargs_json, 0, NULL) : NULL;
    char *out = NULL;
    size_t len = 0;
    int line = 0;
    hearth_error e;
    hr_jinja_opts opts = {.max_output = 1u << 20, .max_steps = 5000000};
    if (!msgs || hr_chat_template_render_kw(ct, msgs, NULL, kw, !probe_answer, &opts, &out, &len, &e, &line)) {
        free(out);
        out = NULL;
    }
    json_decref(msgs);
    json_decref(kw);
    return out;
}

static void find_markers(const hr_chat_template *ct, hr_chat_family *f) {
    static const char *variants[] = {"{\"enable_thinking\": false}", "{\"enable_thinking\": true}", NULL};
    for (size_t v = 0; v < 3 && !f->found; v++) {
        char *text = render(ct, variants[v], false);
        for (size_t p = 0; text && p < sizeof PAIRS / sizeof *PAIRS; p++)
            if (strstr(text, PAIRS[p].open)) {
                f->name = PAIRS[p].name;
                f->open = PAIRS[p].open;
                f->close = PAIRS[p].close;
                f->found = true;
                break;
            }
        free(text);
    }
}

/* Control tokens of the markers: tokens the detokenizer would drop. */
static hearth_status find_marker_ids(const hearth_model *m, hr_chat_family *f, hearth_error *err) {
    const char *marks[2] = {f->open, f->close};
    for (int k = 0; k < 2; k++) {
        int32_t *t = NULL;
        size_t n = 0;
        hearth_status st = hearth_tokenize(m, marks[k], strlen(marks[k]), false, true, &t, &n, err);
        if (st) return st;
        for (size_t i = 0; i < n && f->n_marker_ids < HR_FAMILY_MAX_MARKER_TOKENS; i++) {
            char plain[8], spelled[64];
            if (hearth_token_to_piece(m, t[i], false, plain, sizeof plain) == 0 &&
                hearth_token_to_piece(m, t[i], true, spelled, sizeof spelled) > 0)
                f->marker_ids[f->n_marker_ids++] = t[i];
        }
        free(t);
    }
    return HEARTH_OK;
}

/* What the template writes right after an assistant message, up to white space. */
static hearth_status find_end_turn(const hearth_model *m, const hr_chat_template *ct, hr_chat_family *f,
                                   hearth_error *err) {
    char *text = render(ct, NULL, true);
    if (!text) return HEARTH_OK;
    const char *at = NULL, *p = text;
    while ((p = strstr(p, PROBE))) at = p++;
    hearth_status st = HEARTH_OK;
    if (at) {
        at += strlen(PROBE);
        size_t n = strcspn(at, " \t\r\n");
        int32_t *t = NULL;
        size_t nt = 0;
        if (n > 0 && !(st = hearth_tokenize(m, at, n, false, true, &t, &nt, err)) && nt == 1) {
            char plain[8];
            /* a control token: a marker, not text the model may also write */
            if (hearth_token_to_piece(m, t[0], false, plain, sizeof plain) == 0) f->end_turn = t[0];
        }
        free(t);
    }
    free(text);
    return st;
}

hearth_status hr_chat_family_detect(const hearth_model *m, const hr_chat_template *ct, hr_chat_family *out,
                                    hearth_error *err) {
    *out = (hr_chat_family){.name = PAIRS[1].name, .open = PAIRS[1].open, .close = PAIRS[1].close, .end_turn = -1};
    if (!hearth_model_has_tokenizer(m))
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "the model has no tokenizer; chat needs one");
    find_markers(ct, out);
    hearth_status st = find_marker_ids(m, out, err);
    if (!st) st = find_end_turn(m, ct, out, err);
    return st;
}

bool hr_chat_family_is_end(const hr_chat_family *f, const hearth_model *m, int32_t tok) {
    return hearth_token_is_eog(m, tok) || (f && f->end_turn >= 0 && tok == f->end_turn);
}

static const char *last_of(const char *s, size_t len, const char *needle) {
    size_t n = strlen(needle);
    const char *last = NULL;
    for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), needle, n)); p++) last = p;
    return last;
}

bool hr_chat_family_prompt_thinking(const hr_chat_family *f, const char *prompt, size_t len) {
    const char *o = last_of(prompt, len, f->open), *c = last_of(prompt, len, f->close);
    return o && (!c || o > c);
}

const char *hr_chat_family_piece(const hr_chat_family *f, const hearth_model *m, hearth_detok *dt, int32_t tok,
                                 char *buf, size_t cap) {
    bool marker = false;
    for (int i = 0; f && i < f->n_marker_ids; i++) marker |= f->marker_ids[i] == tok;
    if (!marker) return hearth_detok_push(dt, tok);
    /* A control token ends any partial character before it. */
    const char *rest = hearth_detok_flush(dt);
    size_t n = strlen(rest);
    if (n >= cap) n = cap - 1;
    memcpy(buf, rest, n);
    int k = hearth_token_to_piece(m, tok, true, buf + n, cap - n);
    if (k < 0 || (size_t)k >= cap - n) k = 0;
    buf[n + (size_t)k] = 0;
    return buf;
}

hearth_status hr_force_ids_parse(const char *s, int32_t n_vocab, int32_t **out, size_t *n_out, hearth_error *err) {
    *out = NULL;
    *n_out = 0;
    if (!s) return HEARTH_OK;
    size_t cap = 0, n = 0;
    int32_t *v = NULL;
    const char *p = s;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        char *end = NULL;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < 0 || x >= n_vocab || (*end && *end != ',' && *end != ' ' && *end != '\t' && *end != '\n')) {
            free(v);
            return hr_fail(err, HEARTH_ERR_INVALID, "HEARTH_FORCE_IDS: '%.20s' is not a token id (0..%d)", p, n_vocab - 1);
        }
        if (n == cap) {
            cap = cap * 2 + 16;
            int32_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
            }
            v = nv;
        }
        v[n++] = (int32_t)x;
        p = end;
    }
    *out = v;
    *n_out = n;
    return HEARTH_OK;
}
