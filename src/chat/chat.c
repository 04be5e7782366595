/* The conversation: rendering, control-token-safe tokenization, the context
 * policies, prefix reuse of the KV cache and the answer loop. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/chat.h"
#include "chat/family.h"
#include "common/error.h"

struct hr_chat {
    hearth_model *m;
    hearth_session *s;
    hearth_sampler *smp;
    const hr_chat_template *ct;
    hr_chat_params p;
    hr_chat_family fam;
    json_t *msgs;
    int32_t *cache; /* the tokens whose keys and values the session holds, in order */
    size_t n_cache, cap_cache;
    hr_chat_stats st;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void notice(hr_chat *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(hr_chat *c, const char *fmt, ...) {
    if (!c->p.notice) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->p.notice(c->p.notice_ud, line);
}

hearth_status hr_chat_new(hearth_model *m, hearth_session *s, hearth_sampler *smp, const hr_chat_template *ct,
                          const hr_chat_params *params, hr_chat **out, hearth_error *err) {
    *out = NULL;
    if (!hearth_model_has_tokenizer(m))
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "the model has no tokenizer; chat needs one");
    hr_chat *c = calloc(1, sizeof *c);
    if (!c || !(c->msgs = json_array())) {
        free(c);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    c->m = m;
    c->s = s;
    c->smp = smp;
    c->ct = ct;
    c->p = *params;
    if (c->p.n_predict <= 0) c->p.n_predict = 512;
    hearth_status st = hr_chat_family_detect(m, ct, &c->fam, err);
    if (st) {
        hr_chat_free(c);
        return st;
    }
    hearth_session_reset(s);
    *out = c;
    return HEARTH_OK;
}

void hr_chat_free(hr_chat *c) {
    if (!c) return;
    json_decref(c->msgs);
    free(c->cache);
    free(c);
}

const json_t *hr_chat_messages(const hr_chat *c) { return c->msgs; }

hearth_status hr_chat_set_messages(hr_chat *c, const json_t *msgs, hearth_error *err) {
    hearth_status st = hr_chat_messages_check(msgs, err);
    if (st) return st;
    json_t *copy = json_deep_copy(msgs);
    if (!copy) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    json_decref(c->msgs);
    c->msgs = copy;
    return HEARTH_OK;
}

static bool is_role(const json_t *msg, const char *role) {
    const char *r = json_string_value(json_object_get(msg, "role"));
    return r && !strcmp(r, role);
}

hearth_status hr_chat_set_system(hr_chat *c, const char *text, hearth_error *err) {
    bool has = json_array_size(c->msgs) && is_role(json_array_get(c->msgs, 0), "system");
    if (!*text) {
        if (has) json_array_remove(c->msgs, 0);
        return HEARTH_OK;
    }
    json_t *msg = json_pack("{s:s, s:s}", "role", "system", "content", text);
    if (!msg) return hr_fail(err, HEARTH_ERR_INVALID, "the system message is not valid UTF-8");
    int rc = has ? json_array_set_new(c->msgs, 0, msg) : json_array_insert_new(c->msgs, 0, msg);
    return rc ? hr_fail(err, HEARTH_ERR_NOMEM, "out of memory") : HEARTH_OK;
}

void hr_chat_clear(hr_chat *c) {
    size_t keep = json_array_size(c->msgs) && is_role(json_array_get(c->msgs, 0), "system") ? 1 : 0;
    while (json_array_size(c->msgs) > keep) json_array_remove(c->msgs, keep);
}

hr_chat_stats hr_chat_get_stats(const hr_chat *c) {
    hr_chat_stats st = c->st;
    st.n_ctx = hearth_session_n_ctx(c->s);
    st.n_past = hearth_session_n_past(c->s);
    return st;
}

/* ---- Tokenization ---------------------------------------------------------- */

typedef struct {
    int32_t *v;
    size_t n, cap;
} ivec;

static bool ivec_append(ivec *a, const int32_t *x, size_t n) {
    if (n == 0) return true; /* x may be NULL then */
    if (a->n + n > a->cap) {
        size_t nc = (a->n + n) * 2 + 16;
        int32_t *nv = realloc(a->v, nc * sizeof *nv);
        if (!nv) return false;
        a->v = nv;
        a->cap = nc;
    }
    memcpy(a->v + a->n, x, n * sizeof *x);
    a->n += n;
    return true;
}

static hearth_status tok_append(hr_chat *c, ivec *a, const char *s, size_t n, bool bos, bool special,
                                hearth_error *err) {
    int32_t *t = NULL;
    size_t nt = 0;
    hearth_status st = hearth_tokenize(c->m, s, n, bos, special, &t, &nt, err);
    if (st) return st;
    bool ok = ivec_append(a, t, nt);
    free(t);
    return ok ? HEARTH_OK : hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}

/* Whether text spells a control token, i.e. tokenizes differently when special text is parsed. */
static hearth_status spells_special(hr_chat *c, const char *s, bool *out, hearth_error *err) {
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    hearth_status st = hearth_tokenize(c->m, s, strlen(s), false, true, &a, &na, err);
    if (!st) st = hearth_tokenize(c->m, s, strlen(s), false, false, &b, &nb, err);
    if (!st) *out = na != nb || (na && memcmp(a, b, na * sizeof *a) != 0);
    free(a);
    free(b);
    return st;
}

hearth_status hr_chat_tokenize_messages(hr_chat *c, const json_t *msgs, bool add_generation_prompt, int32_t **out,
                                        size_t *n_out, hearth_error *err) {
    *out = NULL;
    *n_out = 0;
    char *text = NULL;
    size_t len = 0;
    int line = 0;
    hr_jinja_opts opts = {0};
    hearth_status st = hr_chat_template_render_kw(c->ct, msgs, NULL, c->p.template_kwargs, add_generation_prompt, &opts,
                                                  &text, &len, err, &line);
    if (st) return st;
    const char *bos = hr_chat_template_bos(c->ct);
    /* Templates that write the BOS themselves must not get a second one. */
    bool add_bos = hearth_model_add_bos(c->m) && !(bos && *bos && !strncmp(text, bos, strlen(bos)));
    ivec a = {0};
    size_t pos = 0, i;
    bool first = true;
    json_t *msg;
    json_array_foreach(msgs, i, msg) {
        const char *content = json_string_value(json_object_get(msg, "content"));
        if (!content || !*content) continue;
        bool sp = false;
        if ((st = spells_special(c, content, &sp, err))) goto fail;
        if (!sp) continue;
        const char *at = memmem(text + pos, len - pos, content, strlen(content));
        if (!at) {
            st = hr_fail(err, HEARTH_ERR_INVALID,
                         "message %zu spells a control token and the template changes its text, so it cannot be "
                         "kept out of the control tokens; refusing it",
                         i);
            goto fail;
        }
        size_t off = (size_t)(at - text);
        if ((st = tok_append(c, &a, text + pos, off - pos, add_bos && first, true, err))) goto fail;
        if ((st = tok_append(c, &a, at, strlen(content), false, false, err))) goto fail;
        first = false;
        pos = off + strlen(content);
    }
    if ((st = tok_append(c, &a, text + pos, len - pos, add_bos && first, true, err))) goto fail;
    free(text);
    *out = a.v;
    *n_out = a.n;
    return HEARTH_OK;
fail:
    free(text);
    free(a.v);
    return st;
}

/* ---- Generation ------------------------------------------------------------ */

/* Brings the session to hold exactly toks, evaluating only what differs from the cache. */
static hearth_status sync_cache(hr_chat *c, const int32_t *toks, size_t n, size_t *reused, hearth_error *err) {
    if (n == 0) return hr_fail(err, HEARTH_ERR_INVALID, "the chat template rendered no tokens");
    size_t lcp = hr_chat_common_prefix(c->cache, c->n_cache, toks, n);
    if ((int64_t)lcp > hearth_session_n_past(c->s)) lcp = (size_t)hearth_session_n_past(c->s);
    /* The next token's logits come from evaluating at least the last token. */
    if (lcp == n) lcp = n - 1;
    hearth_error terr;
    if (hearth_session_truncate(c->s, (int32_t)lcp, &terr)) {
        /* Recurrent (Qwen 3.5, Nemotron-H) and sliding-window (Gemma) state cannot
         * always be rewound: start again from nothing. */
        hearth_session_reset(c->s);
        lcp = 0;
    }
    hearth_status st;
    c->n_cache = lcp;
    st = hearth_session_eval(c->s, toks + lcp, n - lcp, err);
    if (st) {
        /* The engine leaves the cache as before the call: lcp tokens. */
        return st;
    }
    if (n > c->cap_cache) {
        int32_t *nc = realloc(c->cache, (n + 256) * sizeof *nc);
        if (!nc) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        c->cache = nc;
        c->cap_cache = n + 256;
    }
    memcpy(c->cache + lcp, toks + lcp, (n - lcp) * sizeof *toks);
    c->n_cache = n;
    *reused = lcp;
    return HEARTH_OK;
}

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static bool sbuf_add(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->n + n + 1) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns) return false;
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return true;
}

/* Samples up to max_tokens after the evaluated prompt (the forced ids first,
 * when forced); the text goes to out and, when emit is set, through the think
 * filter to emit. */
static hearth_status generate(hr_chat *c, int32_t max_tokens, bool start_thinking, bool forced, hr_chat_emit_fn emit,
                              void *ud, volatile sig_atomic_t *cancel, sbuf *out, size_t *n_gen, hearth_error *err) {
    hearth_detok *dt = NULL;
    hearth_status st = hearth_detok_new(c->m, false, &dt, err);
    if (st) return st;
    hr_think_filter tf;
    hr_think_init(&tf, c->fam.open, c->fam.close, start_thinking, false);
    tf.trim_markers = true; /* what follows a marker is layout, not text to print */
    char pbuf[256];
    const int32_t nv = hearth_model_n_vocab(c->m), n_ctx = hearth_session_n_ctx(c->s);
    hearth_sampler_reset(c->smp);
    for (size_t i = 0; i < c->n_cache; i++) hearth_sampler_accept(c->smp, c->cache[i]);
    *n_gen = 0;
    for (int32_t i = 0; i < max_tokens; i++) {
        if (cancel && *cancel) break;
        int32_t tok;
        if (forced && (size_t)i < c->p.n_force) tok = c->p.force_ids[i];
        else if ((st = hearth_sampler_sample(c->smp, hearth_session_logits(c->s), nv, &tok, err))) goto done;
        hearth_sampler_accept(c->smp, tok);
        ++*n_gen;
        if (hr_chat_family_is_end(&c->fam, c->m, tok)) break;
        const char *piece = hr_chat_family_piece(&c->fam, c->m, dt, tok, pbuf, sizeof pbuf);
        if (!sbuf_add(out, piece, strlen(piece))) {
            st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (emit) hr_think_feed(&tf, piece, strlen(piece), emit, ud);
        if (i + 1 == max_tokens) break;
        if (hearth_session_n_past(c->s) >= n_ctx) {
            notice(c, "the context (%d tokens) is full; the answer stops here", n_ctx);
            break;
        }
        if ((st = hearth_session_eval(c->s, &tok, 1, err))) goto done;
        if (c->n_cache == c->cap_cache) {
            size_t nc = c->cap_cache * 2 + 64;
            int32_t *ncache = realloc(c->cache, nc * sizeof *ncache);
            if (!ncache) {
                st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
                goto done;
            }
            c->cache = ncache;
            c->cap_cache = nc;
        }
        c->cache[c->n_cache++] = tok;
    }
    const char *rest = hearth_detok_flush(dt);
    if (!sbuf_add(out, rest, strlen(rest))) st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    else if (emit) {
        hr_think_feed(&tf, rest, strlen(rest), emit, ud);
        hr_think_flush(&tf, emit, ud);
    }
done:
    hearth_detok_free(dt);
    return st;
}

/* Whether the rendered generation prompt leaves the model inside its thinking
 * (Qwen 3.5's and Nemotron 3's "<think>\n", R1-style templates). */
static bool prompt_opens_think(hr_chat *c, const json_t *msgs) {
    char *text = NULL;
    size_t len = 0;
    int line = 0;
    hearth_error e;
    hr_jinja_opts opts = {0};
    if (hr_chat_template_render_kw(c->ct, msgs, NULL, c->p.template_kwargs, true, &opts, &text, &len, &e, &line))
        return false;
    bool open = hr_chat_family_prompt_thinking(&c->fam, text, len);
    free(text);
    return open;
}

/* The request a summary is written for and how it is kept in the conversation. */
#define SUMMARY_REQUEST                                                                                            \
    "Summarize this conversation in a few sentences, keeping the facts needed to continue it:\n\n"
#define SUMMARY_PREFIX "Summary of the earlier conversation: "

static int32_t answer_room(hr_chat *c) {
    int32_t n_ctx = hearth_session_n_ctx(c->s);
    return c->p.n_predict < n_ctx / 2 ? c->p.n_predict : n_ctx / 2;
}

static json_t *message(const char *role, const char *content) {
    return json_pack("{s:s, s:s}", "role", role, "content", content);
}

/* Replaces the oldest turns by a summary the model writes: as many whole old
 * turns as fit in one request, up to half of them. *done is false when no
 * request fits (the caller then drops the oldest turn instead). */
static hearth_status summarize_oldest(hr_chat *c, bool *done, hearth_error *err) {
    *done = false;
    size_t first, end;
    if (!hr_chat_oldest_turn(c->msgs, &first, &end)) return HEARTH_OK;
    size_t n_turns = 0, ends[64];
    {
        json_t *tmp = json_deep_copy(c->msgs);
        if (!tmp) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        size_t off = 0, f, e;
        while (n_turns < 64 && hr_chat_oldest_turn(tmp, &f, &e)) {
            ends[n_turns++] = off + e;
            for (size_t k = f; k < e; k++) json_array_remove(tmp, f);
            off += e - f;
        }
        json_decref(tmp);
    }
    /* A previous summary alone would only be rewritten, never shrink: take the turn after it too. */
    size_t min_take = end - first == 1 && is_role(json_array_get(c->msgs, first), "system") && n_turns > 1 ? 2 : 1;
    size_t take = n_turns / 2 > min_take ? n_turns / 2 : min_take;
    int32_t n_ctx = hearth_session_n_ctx(c->s), room = n_ctx / 8 < 256 ? n_ctx / 8 : 256;
    if (room < 1) room = 1;
    int32_t *toks = NULL;
    size_t nt = 0;
    json_t *req = NULL;
    hearth_status st = HEARTH_OK;
    bool fits = false;
    for (; take >= min_take; take--) {
        size_t stop = ends[take - 1];
        sbuf tr = {0};
        bool ok = sbuf_add(&tr, "", 0);
        for (size_t k = first; k < stop && ok; k++) {
            const json_t *m = json_array_get(c->msgs, k);
            const char *r = json_string_value(json_object_get(m, "role"));
            const char *t = json_string_value(json_object_get(m, "content"));
            ok = sbuf_add(&tr, r, strlen(r)) && sbuf_add(&tr, ": ", 2) && sbuf_add(&tr, t, strlen(t)) &&
                 sbuf_add(&tr, "\n", 1);
        }
        json_t *u = ok ? json_pack("{s:s, s:s+}", "role", "user", "content", SUMMARY_REQUEST, tr.s) : NULL;
        free(tr.s);
        json_decref(req);
        req = json_array();
        if (!u || !req || json_array_append_new(req, u)) {
            st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
            goto out;
        }
        free(toks);
        toks = NULL;
        if ((st = hr_chat_tokenize_messages(c, req, true, &toks, &nt, err))) goto out;
        if (nt > 0 && nt + (size_t)room <= (size_t)n_ctx) {
            fits = true;
            break;
        }
    }
    if (!fits) goto out;
    size_t reused = 0, n_gen = 0;
    if ((st = sync_cache(c, toks, nt, &reused, err))) goto out;
    sbuf sum = {0};
    if ((st = generate(c, room, false, false, NULL, NULL, NULL, &sum, &n_gen, err))) {
        free(sum.s);
        goto out;
    }
    /* Thinking is not part of the summary. */
    const char *text = sum.s ? sum.s : "";
    const char *close = strstr(text, c->fam.close);
    if (close) text = close + strlen(c->fam.close);
    while (*text == '\n' || *text == ' ') text++;
    json_t *sm = json_pack("{s:s, s:s+}", "role", "system", "content", SUMMARY_PREFIX, text);
    free(sum.s);
    if (!sm) {
        st = hr_fail(err, HEARTH_ERR_FORMAT, "the model's summary is not valid UTF-8");
        goto out;
    }
    size_t stop = ends[take - 1];
    for (size_t k = first; k < stop; k++) json_array_remove(c->msgs, first);
    json_array_insert_new(c->msgs, first, sm);
    notice(c, "summarize: replaced %zu old message(s) by a %zu-token summary written by the model", stop - first, n_gen);
    *done = true;
out:
    free(toks);
    json_decref(req);
    return st;
}

/* Makes the conversation fit: n prompt tokens plus room for the answer. */
static hearth_status fit_context(hr_chat *c, int32_t **toks, size_t *n, hearth_error *err) {
    int32_t n_ctx = hearth_session_n_ctx(c->s), room = answer_room(c);
    for (;;) {
        hearth_status st = hr_chat_tokenize_messages(c, c->msgs, true, toks, n, err);
        if (st) return st;
        if (*n + (size_t)room <= (size_t)n_ctx) return HEARTH_OK;
        size_t need = *n;
        free(*toks);
        *toks = NULL;
        size_t first, end;
        switch (c->p.policy) {
        case HR_CTX_ERROR:
            return hr_fail(err, HEARTH_ERR_RANGE,
                           "the conversation takes %zu tokens and the answer needs room for %d, more than the context "
                           "of %d tokens (--context-policy error)",
                           need, room, n_ctx);
        case HR_CTX_DROP_OLDEST:
            if (!hr_chat_oldest_turn(c->msgs, &first, &end))
                return hr_fail(err, HEARTH_ERR_RANGE,
                               "the message takes %zu tokens with the system message and the answer needs room for %d, "
                               "more than the context of %d tokens, even with every older turn dropped",
                               need, room, n_ctx);
            for (size_t k = first; k < end; k++) json_array_remove(c->msgs, first);
            notice(c, "drop-oldest: the conversation takes %zu tokens + %d for the answer > context %d; dropped the "
                      "oldest turn (%zu message(s))",
                   need, room, n_ctx, end - first);
            break;
        case HR_CTX_SUMMARIZE: {
            notice(c, "summarize: the conversation takes %zu tokens + %d for the answer > context %d", need, room, n_ctx);
            bool done = false;
            if ((st = summarize_oldest(c, &done, err))) return st;
            if (done) break;
            if (!hr_chat_oldest_turn(c->msgs, &first, &end))
                return hr_fail(err, HEARTH_ERR_RANGE,
                               "the message takes %zu tokens with the system message and the answer needs room for %d, "
                               "more than the context of %d tokens, with nothing older left to summarise",
                               need, room, n_ctx);
            for (size_t k = first; k < end; k++) json_array_remove(c->msgs, first);
            notice(c, "summarize: the oldest turn is too long to summarise within the context; dropped it (%zu "
                      "message(s)) instead",
                   end - first);
            break;
        }
        }
    }
}

hearth_status hr_chat_turn(hr_chat *c, const char *user_text, hr_chat_emit_fn emit, void *ud,
                           volatile sig_atomic_t *cancel, hearth_error *err) {
    json_t *backup = json_deep_copy(c->msgs);
    json_t *um = message("user", user_text);
    if (!backup || !um) {
        json_decref(backup);
        json_decref(um);
        return hr_fail(err, um ? HEARTH_ERR_NOMEM : HEARTH_ERR_INVALID,
                       um ? "out of memory" : "the message is not valid UTF-8");
    }
    json_array_append_new(c->msgs, um);
    int32_t *toks = NULL;
    size_t n = 0, reused = 0, n_gen = 0;
    sbuf ans = {0};
    hearth_status st = fit_context(c, &toks, &n, err);
    if (st) goto fail;
    double t0 = now_ms();
    if ((st = sync_cache(c, toks, n, &reused, err))) goto fail;
    double t1 = now_ms();
    bool think = prompt_opens_think(c, c->msgs);
    if ((st = generate(c, c->p.n_predict, think, true, emit, ud, cancel, &ans, &n_gen, err))) goto fail;
    double t2 = now_ms();
    json_t *am = message("assistant", ans.s ? ans.s : "");
    if (!am) {
        st = hr_fail(err, HEARTH_ERR_FORMAT, "the answer is not valid UTF-8");
        goto fail;
    }
    json_array_append_new(c->msgs, am);
    c->st.prompt_tokens = n;
    c->st.reused_tokens = reused;
    c->st.processed_tokens = n - reused;
    c->st.answer_tokens = n_gen;
    c->st.prompt_ms = t1 - t0;
    c->st.answer_ms = t2 - t1;
    c->st.turns++;
    json_decref(backup);
    free(toks);
    free(ans.s);
    return HEARTH_OK;
fail:
    json_decref(c->msgs);
    c->msgs = backup;
    free(toks);
    free(ans.s);
    return st;
}
