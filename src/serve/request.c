/* Helpers shared by the OpenAI and Ollama routes: replies, validation of
 * JSON fields, chat rendering, tokenization against the slot context. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/request.h"

#include "text/chat_template.h"

#define HS_MAX_STOP_LEN 1024

hs_reply hs_reply_json(int status, json_t *obj) {
    hs_reply r = {.status = status, .ctype = "application/json"};
    r.body = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(obj);
    if (!r.body) r = (hs_reply){.status = 500, .ctype = "application/json", .body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}")};
    return r;
}

hs_reply hs_reply_error(int status, const char *type, const char *code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The message may quote the client's bytes (a JSON parser excerpt, a path) or be
     * cut by the buffer inside a character: it must still become a JSON string. */
    json_t *e = json_pack("{s:{s:o,s:s,s:n,s:o}}", "error", "message", hs_json_lossy(msg, strlen(msg)), "type", type,
                          "param", "code", code ? json_string(code) : json_null());
    return hs_reply_json(status, e);
}

hs_reply hs_bad(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hs_reply_error(400, "invalid_request_error", NULL, "%s", msg);
}

bool hs_check_model(hs_server *sv, json_t *body, const char *key, hs_reply *err) {
    json_t *m = json_object_get(body, key);
    if (!m || json_is_null(m)) return true;
    if (!json_is_string(m)) return *err = hs_bad("'%s' must be a string", key), false;
    const char *name = json_string_value(m);
    if (!strcmp(name, sv->model_name)) return true;
    /* Ollama names carry a tag: "name:latest" is the same model. */
    size_t n = strlen(sv->model_name);
    if (!strncmp(name, sv->model_name, n) && !strcmp(name + n, ":latest")) return true;
    *err = hs_reply_error(404, "invalid_request_error", "model_not_found",
                          "The model '%s' does not exist (this server serves '%s')", name, sv->model_name);
    return false;
}

bool hs_opt_num(json_t *o, const char *key, double lo, double hi, double *out, hs_reply *err) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_number(v)) return *err = hs_bad("'%s' must be a number", key), false;
    double d = json_number_value(v);
    if (!(d >= lo && d <= hi)) return *err = hs_bad("'%s' must be between %g and %g (got %g)", key, lo, hi, d), false;
    *out = d;
    return true;
}

bool hs_opt_int(json_t *o, const char *key, long long lo, long long hi, long long *out, hs_reply *err) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_integer(v)) return *err = hs_bad("'%s' must be an integer", key), false;
    long long d = json_integer_value(v);
    if (d < lo || d > hi) return *err = hs_bad("'%s' must be between %lld and %lld (got %lld)", key, lo, hi, d), false;
    *out = d;
    return true;
}

bool hs_opt_bool(json_t *o, const char *key, bool *out, hs_reply *err) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    if (!json_is_boolean(v)) return *err = hs_bad("'%s' must be a boolean", key), false;
    *out = json_is_true(v);
    return true;
}

bool hs_opt_stop(json_t *o, const char *key, hs_job *j, hs_reply *err) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return true;
    size_t n = json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : (size_t)-1;
    if (n == (size_t)-1) return *err = hs_bad("'%s' must be a string or an array of strings", key), false;
    if (n > 16) return *err = hs_bad("'%s' has %zu strings, at most 16 are allowed", key, n), false;
    j->stop = calloc(n ? n : 1, sizeof *j->stop);
    if (!j->stop) return *err = hs_reply_error(500, "server_error", NULL, "out of memory"), false;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_string(v) ? v : json_array_get(v, i);
        if (!json_is_string(s)) return *err = hs_bad("'%s' must be a string or an array of strings", key), false;
        if (json_string_length(s) == 0) continue;
        /* each generated token scans the held-back text against every stop string */
        if (json_string_length(s) > HS_MAX_STOP_LEN)
            return *err = hs_bad("'%s' strings must be at most %d bytes (got %zu)", key, HS_MAX_STOP_LEN, json_string_length(s)),
                   false;
        j->stop[j->n_stop] = strdup(json_string_value(s));
        if (!j->stop[j->n_stop]) return *err = hs_reply_error(500, "server_error", NULL, "out of memory"), false;
        j->n_stop++;
    }
    return true;
}

/* Text of a message's content: a string, or an array of text parts. */
static bool content_text(json_t *c, int idx, hs_buf *out, hs_reply *err) {
    if (!c || json_is_null(c)) return true;
    if (json_is_string(c)) return hs_buf_add(out, json_string_value(c), json_string_length(c));
    if (!json_is_array(c)) return *err = hs_bad("messages[%d].content must be a string or an array of parts", idx), false;
    size_t i;
    json_t *p;
    json_array_foreach(c, i, p) {
        json_t *type = json_object_get(p, "type");
        if (!json_is_object(p) || !json_is_string(type))
            return *err = hs_bad("messages[%d].content[%zu] must be an object with a 'type'", idx, i), false;
        if (strcmp(json_string_value(type), "text") != 0)
            return *err = hs_bad("messages[%d].content[%zu]: content parts of type '%s' are not supported (text only)",
                                 idx, i, json_string_value(type)),
                   false;
        json_t *t = json_object_get(p, "text");
        if (!json_is_string(t)) return *err = hs_bad("messages[%d].content[%zu].text must be a string", idx, i), false;
        hs_buf_add(out, json_string_value(t), json_string_length(t));
    }
    return true;
}

bool hs_render_chat(hs_server *sv, json_t *messages, char **prompt, hs_reply *err) {
    return hs_render_chat_kw(sv, messages, NULL, prompt, err);
}

bool hs_render_chat_kw(hs_server *sv, json_t *messages, const json_t *kwargs, char **prompt, hs_reply *err) {
    static const char *roles[] = {"system", "developer", "user", "assistant"};
    if (!json_is_array(messages)) return *err = hs_bad("'messages' must be an array"), false;
    if (json_array_size(messages) == 0) return *err = hs_bad("'messages' must not be empty"), false;
    json_t *norm = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) {
        json_t *role = json_object_get(m, "role");
        if (!json_is_object(m) || !json_is_string(role)) {
            json_decref(norm);
            return *err = hs_bad("messages[%zu] must be an object with a string 'role'", i), false;
        }
        const char *r = json_string_value(role);
        bool known = false;
        for (size_t k = 0; k < sizeof roles / sizeof *roles; k++) known |= !strcmp(r, roles[k]);
        if (!known) {
            json_decref(norm);
            if (!strcmp(r, "tool") || !strcmp(r, "function"))
                return *err = hs_bad("messages[%zu]: role '%s' is not supported (tool calling is not implemented)", i, r),
                       false;
            return *err = hs_bad("messages[%zu]: unknown role '%s' (expected system, developer, user or assistant)", i, r),
                   false;
        }
        if (json_object_get(m, "tool_calls") && !json_is_null(json_object_get(m, "tool_calls"))) {
            json_decref(norm);
            return *err = hs_bad("messages[%zu]: tool_calls are not supported", i), false;
        }
        if (json_object_get(m, "images") && !json_is_null(json_object_get(m, "images"))) {
            json_decref(norm);
            return *err = hs_bad("messages[%zu]: images are not supported", i), false;
        }
        hs_buf text = {0};
        hs_buf_add(&text, "", 0);
        if (!content_text(json_object_get(m, "content"), (int)i, &text, err)) {
            hs_buf_free(&text);
            json_decref(norm);
            return false;
        }
        json_array_append_new(norm, json_pack("{s:s,s:s%}", "role", !strcmp(r, "developer") ? "system" : r, "content",
                                              text.p, text.len));
        hs_buf_free(&text);
    }
    hearth_error e = {0};
    int line = 0;
    hr_jinja_opts opts = {0};
    opts.max_output = 16u << 20;
    hearth_status st = hr_chat_template_render_kw(sv->tmpl, norm, NULL, kwargs, true, &opts, prompt, NULL, &e, &line);
    json_decref(norm);
    if (st) return *err = hs_bad("the chat template failed: %s", e.message), false;
    return true;
}

size_t hs_max_piece(const hearth_model *m) {
    size_t mx = 0;
    char buf[8];
    for (int32_t id = 0; id < hearth_model_n_vocab(m); id++) {
        int n = hearth_token_to_piece(m, id, true, buf, sizeof buf);
        if (n > 0 && (size_t)n > mx) mx = (size_t)n;
    }
    return mx;
}

bool hs_tokenize_prompt(hs_server *sv, const char *text, bool add_special, hs_job *j, hs_reply *err) {
    /* Tokenizing runs on the HTTP thread and costs about a microsecond a byte:
     * a text that cannot fit is refused unread. Twice the longest token (and
     * at least 4 bytes, an unknown character's token) leaves room for
     * normalization, so nothing that fits is ever refused. */
    size_t len = strlen(text), per = 2 * (sv->max_piece > 4 ? sv->max_piece : 4);
    int32_t n_ctx = hs_sched_n_ctx(sv->sched);
    if (sv->max_piece && len / per >= (size_t)n_ctx) {
        *err = hs_reply_error(400, "invalid_request_error", "context_length_exceeded",
                              "the prompt has %zu bytes, more than %zu tokens, but the context of a slot holds %d; "
                              "nothing was truncated",
                              len, len / per, n_ctx);
        return false;
    }
    hearth_error e = {0};
    int32_t *toks = NULL;
    size_t n = 0;
    if (hearth_tokenize(sv->model, text, strlen(text), false, true, &toks, &n, &e))
        return *err = hs_bad("cannot tokenize the prompt: %s", e.message), false;
    if (add_special && hearth_model_add_bos(sv->model)) {
        int32_t *bos = NULL;
        size_t nb = 0;
        /* the BOS id is what tokenizing "" with add_bos yields; not doubled when the template wrote it */
        if (hearth_tokenize(sv->model, "", 0, true, false, &bos, &nb, &e) == HEARTH_OK && nb == 1 &&
            (n == 0 || toks[0] != bos[0])) {
            int32_t *t2 = realloc(toks, (n + 1) * sizeof *t2);
            if (t2) {
                memmove(t2 + 1, t2, n * sizeof *t2);
                t2[0] = bos[0];
                toks = t2;
                n++;
            }
        }
        free(bos);
    }
    return hs_set_prompt(sv, j, toks, n, err);
}

bool hs_set_prompt(hs_server *sv, hs_job *j, int32_t *toks, size_t n, hs_reply *err) {
    int32_t n_ctx = hs_sched_n_ctx(sv->sched);
    if (n == 0) {
        free(toks);
        return *err = hs_bad("the prompt is empty (0 tokens)"), false;
    }
    if (n >= (size_t)n_ctx) {
        free(toks);
        *err = hs_reply_error(400, "invalid_request_error", "context_length_exceeded",
                              "the prompt has %zu tokens but the context of a slot holds %d (at most %d prompt tokens "
                              "leave room for one generated token); nothing was truncated",
                              n, n_ctx, n_ctx - 1);
        return false;
    }
    j->prompt = toks;
    j->n_prompt = n;
    return true;
}

void hs_job_set_id(hs_server *sv, hs_job *j, const char *prefix) {
    unsigned long long k = (unsigned long long)atomic_fetch_add(&sv->next_id, 1);
    snprintf(j->id, sizeof j->id, "%s%llx%04llx", prefix, (unsigned long long)time(NULL), k & 0xffff);
    j->created = (long long)time(NULL);
    snprintf(j->model, sizeof j->model, "%s", sv->model_name);
    j->m = sv->model;
}

uint64_t hs_random_seed(hs_server *sv) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (atomic_fetch_add(&sv->next_id, 1) << 40);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

char *hs_token_text(const hearth_model *m, int32_t id) {
    char small[64];
    int n = hearth_token_to_piece(m, id, true, small, sizeof small);
    if (n < 0) return strdup("");
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    if ((size_t)n < sizeof small) memcpy(p, small, (size_t)n);
    else hearth_token_to_piece(m, id, true, p, (size_t)n + 1);
    p[n] = 0;
    return p;
}

void hs_iso_time(char *buf, size_t cap) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[32];
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%09ldZ", t, ts.tv_nsec);
}

json_t *hs_json_lossy(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    if (j) return j;
    hs_buf b = {0};
    hs_buf_add(&b, "", 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) hs_buf_add(&b, &c, 1);
        else hs_buf_str(&b, "\xEF\xBF\xBD");
    }
    j = json_stringn(b.p, b.len);
    hs_buf_free(&b);
    return j ? j : json_string("");
}

void hs_split_thinking(hs_server *sv, hs_job *j, const char *prompt) {
    const hr_chat_family *f = &sv->family;
    /* A template without thinking markers: the text stays as generated. */
    if (!f->found) return;
    j->split_think = true;
    hr_think_init(&j->think, f->open, f->close, hr_chat_family_prompt_thinking(f, prompt, strlen(prompt)), true);
}
