/* OpenAI API: POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
 * Streaming follows OpenAI's chunk format over Server-Sent Events, ending with data: [DONE]. */
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

/* ---- logprobs ---- */

static json_t *token_json(const hearth_model *m, int32_t id, float lp, bool with_bytes) {
    char *t = hs_token_text(m, id);
    size_t n = t ? strlen(t) : 0;
    json_t *o = json_object();
    json_object_set_new(o, "token", hs_json_lossy(t ? t : "", n));
    json_object_set_new(o, "logprob", json_real(lp));
    if (with_bytes) {
        json_t *b = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(b, json_integer((unsigned char)t[i]));
        json_object_set_new(o, "bytes", b);
    }
    free(t);
    return o;
}

/* Chat format: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}] */
static json_t *chat_logprobs(hs_job *j) {
    json_t *a = json_array();
    for (size_t i = 0; i < j->n_lps; i++) {
        const hs_logprob *lp = &j->lps[i];
        json_t *o = token_json(j->m, lp->id, lp->logprob, true);
        json_t *top = json_array();
        for (int k = 0; k < lp->n_top; k++) json_array_append_new(top, token_json(j->m, lp->top_id[k], lp->top_lp[k], true));
        json_object_set_new(o, "top_logprobs", top);
        json_array_append_new(a, o);
    }
    return a;
}

/* Legacy completions format: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset} */
static void completion_logprobs_add(hs_job *j, json_t *lp, size_t offset) {
    json_t *tokens = json_object_get(lp, "tokens"), *tlp = json_object_get(lp, "token_logprobs"),
           *top = json_object_get(lp, "top_logprobs"), *off = json_object_get(lp, "text_offset");
    for (size_t i = 0; i < j->n_lps; i++) {
        const hs_logprob *l = &j->lps[i];
        char *t = hs_token_text(j->m, l->id);
        json_array_append_new(tokens, hs_json_lossy(t ? t : "", t ? strlen(t) : 0));
        json_array_append_new(tlp, json_real(l->logprob));
        json_array_append_new(off, json_integer((json_int_t)offset));
        offset += t ? strlen(t) : 0;
        free(t);
        json_t *d = json_object();
        for (int k = 0; k < l->n_top; k++) {
            char *s = hs_token_text(j->m, l->top_id[k]);
            json_t *key = hs_json_lossy(s ? s : "", s ? strlen(s) : 0);
            json_object_set_new(d, json_string_value(key), json_real(l->top_lp[k]));
            json_decref(key);
            free(s);
        }
        json_array_append_new(top, d);
    }
}

static json_t *new_completion_lp(void) {
    return json_pack("{s:[],s:[],s:[],s:[]}", "tokens", "token_logprobs", "top_logprobs", "text_offset");
}

/* ---- formatting ---- */

static json_t *usage(hs_job *j) {
    return json_pack("{s:i,s:i,s:i,s:{s:i}}", "prompt_tokens", (json_int_t)j->n_prompt, "completion_tokens",
                     (json_int_t)j->n_gen, "total_tokens", (json_int_t)(j->n_prompt + (size_t)j->n_gen),
                     "prompt_tokens_details", "cached_tokens", (json_int_t)j->n_cached);
}

static json_t *chunk_base(hs_job *j, const char *object) {
    json_t *c = json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", j->id, "object", object, "created", (json_int_t)j->created,
                          "model", j->model, "system_fingerprint", "hearth");
    if (j->include_usage) json_object_set_new(c, "usage", json_null());
    return c;
}

static void sse(hs_job *j, json_t *obj) {
    hs_buf_str(&j->out, "data: ");
    hs_buf_json(&j->out, obj);
    hs_buf_str(&j->out, "\n\n");
    json_decref(obj);
}

static void chat_chunk(hs_job *j, json_t *delta, json_t *logprobs, const char *finish) {
    json_t *c = chunk_base(j, "chat.completion.chunk");
    json_t *choice = json_pack("{s:i,s:o,s:o,s:o}", "index", 0, "delta", delta, "logprobs",
                               logprobs ? logprobs : json_null(), "finish_reason",
                               finish ? json_string(finish) : json_null());
    json_object_set_new(c, "choices", json_pack("[o]", choice));
    sse(j, c);
}

static void chat_head(hs_job *j) {
    if (j->head_sent) return;
    j->head_sent = true;
    chat_chunk(j, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL, NULL);
}

/* One run of thinking or answer text out of the think filter. */
typedef struct {
    hs_job *j;
    bool lp_sent; /* the pending logprobs went out with a chunk */
} segment_ctx;

static void chat_segment(void *ud, const char *s, size_t n, bool thinking) {
    segment_ctx *c = ud;
    hs_job *j = c->j;
    if (!n) return;
    if (!j->stream) {
        hs_buf_add(thinking ? &j->reasoning : &j->answer, s, n);
        return;
    }
    chat_head(j);
    json_t *lp = j->logprobs && !c->lp_sent ? json_pack("{s:o}", "content", chat_logprobs(j)) : NULL;
    c->lp_sent = true;
    /* llama.cpp's delta field for reasoning */
    chat_chunk(j, json_pack("{s:s%}", thinking ? "reasoning_content" : "content", s, n), lp, NULL);
}

static void chat_on_text(hs_job *j, const char *text, size_t n) {
    if (j->split_think) {
        segment_ctx c = {j, false};
        hr_think_feed(&j->think, text, n, chat_segment, &c);
        if (j->stream && j->logprobs && !c.lp_sent && j->n_lps) {
            /* text held back (a possible marker) still reports its tokens */
            chat_head(j);
            chat_chunk(j, json_pack("{s:s}", "content", ""), json_pack("{s:o}", "content", chat_logprobs(j)), NULL);
        }
        if (!j->stream && j->logprobs) {
            if (!j->lp_all) j->lp_all = json_array();
            json_t *more = chat_logprobs(j);
            json_array_extend(j->lp_all, more);
            json_decref(more);
        }
        return;
    }
    if (j->stream) {
        chat_head(j);
        json_t *lp = j->logprobs ? json_pack("{s:o}", "content", chat_logprobs(j)) : NULL;
        chat_chunk(j, json_pack("{s:s%}", "content", text, n), lp, NULL);
    } else if (j->logprobs) {
        if (!j->lp_all) j->lp_all = json_array();
        json_t *more = chat_logprobs(j);
        json_array_extend(j->lp_all, more);
        json_decref(more);
    }
}

static void error_event(hs_job *j) {
    json_t *e = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message", j->error, "type", "server_error", "param", "code");
    sse(j, e);
    hs_buf_str(&j->out, "data: [DONE]\n\n");
}

static void chat_on_done(hs_job *j) {
    if (j->split_think && !j->error[0]) {
        segment_ctx c = {j, true};
        hr_think_flush(&j->think, chat_segment, &c);
    }
    if (j->stream) {
        if (j->error[0]) return error_event(j);
        chat_head(j);
        chat_chunk(j, json_object(), NULL, j->finish_reason);
        if (j->include_usage) {
            json_t *c = chunk_base(j, "chat.completion.chunk");
            json_object_set_new(c, "choices", json_array());
            json_object_set_new(c, "usage", usage(j));
            sse(j, c);
        }
        hs_buf_str(&j->out, "data: [DONE]\n\n");
        return;
    }
    if (j->error[0]) return; /* the HTTP side answers 500 with j->error */
    const hs_buf *content = j->split_think ? &j->answer : &j->text;
    json_t *msg = json_pack("{s:s,s:s%,s:n}", "role", "assistant", "content", content->p ? content->p : "", content->len,
                            "refusal");
    if (j->split_think && j->reasoning.len)
        json_object_set_new(msg, "reasoning_content", json_stringn(j->reasoning.p, j->reasoning.len));
    json_t *lp = j->logprobs ? json_pack("{s:o}", "content", j->lp_all ? json_incref(j->lp_all) : json_array()) : json_null();
    json_t *r = json_pack("{s:s,s:s,s:I,s:s,s:s,s:[{s:i,s:o,s:o,s:s}],s:o}", "id", j->id, "object", "chat.completion",
                          "created", (json_int_t)j->created, "model", j->model, "system_fingerprint", "hearth", "choices",
                          "index", 0, "message", msg, "logprobs", lp, "finish_reason", j->finish_reason, "usage", usage(j));
    hs_buf_json(&j->out, r);
    json_decref(r);
}

static const hs_job_ops chat_ops = {chat_on_text, chat_on_done};

static void cmpl_chunk(hs_job *j, const char *text, size_t n, json_t *lp, const char *finish) {
    json_t *c = chunk_base(j, "text_completion");
    json_t *choice = json_pack("{s:s%,s:i,s:o,s:o}", "text", text, n, "index", 0, "logprobs", lp ? lp : json_null(),
                               "finish_reason", finish ? json_string(finish) : json_null());
    json_object_set_new(c, "choices", json_pack("[o]", choice));
    sse(j, c);
}

static void cmpl_on_text(hs_job *j, const char *text, size_t n) {
    size_t offset = j->text.len - n; /* j->text already holds this text */
    if (j->stream) {
        json_t *lp = NULL;
        if (j->logprobs) {
            lp = new_completion_lp();
            completion_logprobs_add(j, lp, offset);
        }
        cmpl_chunk(j, text, n, lp, NULL);
    } else if (j->logprobs) {
        if (!j->lp_all) j->lp_all = new_completion_lp();
        completion_logprobs_add(j, j->lp_all, offset);
    }
}

static void cmpl_on_done(hs_job *j) {
    if (j->stream) {
        if (j->error[0]) return error_event(j);
        cmpl_chunk(j, "", 0, NULL, j->finish_reason);
        if (j->include_usage) {
            json_t *c = chunk_base(j, "text_completion");
            json_object_set_new(c, "choices", json_array());
            json_object_set_new(c, "usage", usage(j));
            sse(j, c);
        }
        hs_buf_str(&j->out, "data: [DONE]\n\n");
        return;
    }
    if (j->error[0]) return;
    json_t *lp = j->logprobs ? (j->lp_all ? json_incref(j->lp_all) : new_completion_lp()) : json_null();
    json_t *r = json_pack("{s:s,s:s,s:I,s:s,s:s,s:[{s:s%,s:i,s:o,s:s}],s:o}", "id", j->id, "object", "text_completion",
                          "created", (json_int_t)j->created, "model", j->model, "system_fingerprint", "hearth", "choices",
                          "text", j->text.p ? j->text.p : "", j->text.len, "index", 0, "logprobs", lp, "finish_reason",
                          j->finish_reason, "usage", usage(j));
    hs_buf_json(&j->out, r);
    json_decref(r);
}

static const hs_job_ops cmpl_ops = {cmpl_on_text, cmpl_on_done};

/* ---- request parsing ---- */

/* Fields of features not implemented: present with a non-default value is a 400, never ignored. */
static bool reject_unsupported(json_t *b, hs_reply *err) {
    static const char *never[] = {"tools", "functions", "audio", "prediction", "web_search_options", "suffix",
                                  "reasoning_effort", "verbosity"};
    for (size_t i = 0; i < sizeof never / sizeof *never; i++) {
        json_t *v = json_object_get(b, never[i]);
        if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
            return *err = hs_bad("'%s' is not supported by this server yet", never[i]), false;
    }
    json_t *v = json_object_get(b, "tool_choice");
    if (v && !json_is_null(v) && !(json_is_string(v) && !strcmp(json_string_value(v), "none")))
        return *err = hs_bad("'tool_choice' is not supported by this server yet (tools are not implemented)"), false;
    v = json_object_get(b, "function_call");
    if (v && !json_is_null(v) && !(json_is_string(v) && !strcmp(json_string_value(v), "none")))
        return *err = hs_bad("'function_call' is not supported by this server yet"), false;
    v = json_object_get(b, "response_format");
    if (v && !json_is_null(v)) {
        json_t *t = json_object_get(v, "type");
        if (!json_is_object(v) || !json_is_string(t)) return *err = hs_bad("'response_format' must be an object with a 'type'"), false;
        if (strcmp(json_string_value(t), "text") != 0)
            return *err = hs_bad("response_format type '%s' is not supported yet (only 'text')", json_string_value(t)), false;
    }
    v = json_object_get(b, "logit_bias");
    if (v && !json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0))
        return *err = hs_bad("'logit_bias' is not supported by this server yet"), false;
    v = json_object_get(b, "modalities");
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *x;
        if (!json_is_array(v)) return *err = hs_bad("'modalities' must be an array"), false;
        json_array_foreach(v, i, x) if (!json_is_string(x) || strcmp(json_string_value(x), "text") != 0) return *err = hs_bad("only the 'text' modality is supported"), false;
    }
    long long n = 1;
    if (!hs_opt_int(b, "n", 1, 128, &n, err)) return false;
    if (n != 1) return *err = hs_bad("'n' must be 1 (several choices per request are not supported)"), false;
    long long best_of = 1;
    if (!hs_opt_int(b, "best_of", 1, 128, &best_of, err)) return false;
    if (best_of != 1) return *err = hs_bad("'best_of' must be 1"), false;
    bool echo = false;
    if (!hs_opt_bool(b, "echo", &echo, err)) return false;
    if (echo) return *err = hs_bad("'echo' is not supported by this server yet"), false;
    return true;
}

/* Sampling and length fields shared by both endpoints. */
static bool common_params(hs_server *sv, json_t *b, hs_job *j, hs_reply *err) {
    hearth_sampler_params sp = hearth_sampler_default_params();
    /* OpenAI semantics: temperature 1 and nucleus sampling only, no top-k/min-p. */
    double temp = 1.0, top_p = 1.0, pp = 0.0, fp = 0.0;
    if (!hs_opt_num(b, "temperature", 0, 2, &temp, err) || !hs_opt_num(b, "top_p", 0, 1, &top_p, err) ||
        !hs_opt_num(b, "presence_penalty", -2, 2, &pp, err) || !hs_opt_num(b, "frequency_penalty", -2, 2, &fp, err))
        return false;
    sp.temperature = (float)temp;
    sp.top_p = (float)top_p;
    sp.top_k = 0;
    sp.min_p = 0;
    sp.presence_penalty = (float)pp;
    sp.frequency_penalty = (float)fp;
    long long seed = -1;
    if (!hs_opt_int(b, "seed", INT64_MIN, INT64_MAX, &seed, err)) return false;
    json_t *sv_seed = json_object_get(b, "seed");
    sp.seed = sv_seed && !json_is_null(sv_seed) ? (uint64_t)seed : hs_random_seed(sv);
    j->sp = sp;
    long long mt = -1, mct = -1;
    if (!hs_opt_int(b, "max_tokens", 1, INT32_MAX, &mt, err) ||
        !hs_opt_int(b, "max_completion_tokens", 1, INT32_MAX, &mct, err))
        return false;
    j->max_tokens = (int32_t)(mct > 0 ? mct : mt);
    if (!hs_opt_stop(b, "stop", j, err)) return false;
    if (!hs_opt_bool(b, "stream", &j->stream, err)) return false;
    json_t *so = json_object_get(b, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so)) return *err = hs_bad("'stream_options' must be an object"), false;
        if (!j->stream) return *err = hs_bad("'stream_options' is only allowed when 'stream' is true"), false;
        if (!hs_opt_bool(so, "include_usage", &j->include_usage, err)) return false;
    }
    return true;
}

static hs_reply start(hs_job *j, hs_reply err, bool ok) {
    if (!ok) {
        hs_job_release(j);
        return err;
    }
    return (hs_reply){.status = 200, .job = j};
}

hs_reply hs_openai_chat(hs_server *sv, json_t *b) {
    hs_reply err = {0};
    hs_job *j = hs_job_new();
    if (!j) return hs_reply_error(500, "server_error", NULL, "out of memory");
    hs_job_set_id(sv, j, "chatcmpl-");
    j->api = HS_API_OPENAI_CHAT;
    j->ops = &chat_ops;
    bool ok = hs_check_model(sv, b, "model", &err) && reject_unsupported(b, &err) && common_params(sv, b, j, &err);
    if (ok) {
        long long top = 0;
        ok = hs_opt_bool(b, "logprobs", &j->logprobs, &err) && hs_opt_int(b, "top_logprobs", 0, HS_MAX_TOP_LOGPROBS, &top, &err);
        j->top_logprobs = (int)top;
        if (ok && top > 0 && !j->logprobs) ok = false, err = hs_bad("'top_logprobs' needs 'logprobs' set to true");
    }
    /* llama.cpp's extensions: template variables, and reasoning_format "none" for the raw text in content */
    json_t *kwargs = json_object_get(b, "chat_template_kwargs");
    if (ok && kwargs && !json_is_null(kwargs) && !json_is_object(kwargs))
        ok = false, err = hs_bad("'chat_template_kwargs' must be an object");
    json_t *rf = json_object_get(b, "reasoning_format");
    const char *rfs = json_is_string(rf) ? json_string_value(rf) : "auto";
    if (ok && rf && !json_is_null(rf) &&
        (!json_is_string(rf) || (strcmp(rfs, "none") && strcmp(rfs, "auto") && strcmp(rfs, "deepseek"))))
        ok = false, err = hs_bad("'reasoning_format' must be \"none\", \"auto\" or \"deepseek\"");
    char *prompt = NULL;
    if (ok) {
        json_t *msgs = json_object_get(b, "messages");
        if (!msgs) ok = false, err = hs_bad("'messages' is required");
        else ok = hs_render_chat_kw(sv, msgs, json_is_object(kwargs) ? kwargs : NULL, &prompt, &err);
    }
    if (ok && strcmp(rfs, "none") != 0) hs_split_thinking(sv, j, prompt);
    if (ok) ok = hs_tokenize_prompt(sv, prompt, true, j, &err);
    free(prompt);
    return start(j, err, ok);
}

hs_reply hs_openai_completions(hs_server *sv, json_t *b) {
    hs_reply err = {0};
    hs_job *j = hs_job_new();
    if (!j) return hs_reply_error(500, "server_error", NULL, "out of memory");
    hs_job_set_id(sv, j, "cmpl-");
    j->api = HS_API_OPENAI_COMPLETION;
    j->ops = &cmpl_ops;
    bool ok = hs_check_model(sv, b, "model", &err) && reject_unsupported(b, &err) && common_params(sv, b, j, &err);
    long long lp = -1;
    if (ok) ok = hs_opt_int(b, "logprobs", 0, 5, &lp, &err);
    if (ok && lp >= 0) j->logprobs = true, j->top_logprobs = (int)lp;
    json_t *p = json_object_get(b, "prompt");
    if (ok && json_is_array(p) && json_array_size(p) == 1 && json_is_string(json_array_get(p, 0))) p = json_array_get(p, 0);
    if (!ok) {
    } else if (!p) {
        ok = false, err = hs_bad("'prompt' is required");
    } else if (json_is_string(p)) {
        ok = hs_tokenize_prompt(sv, json_string_value(p), true, j, &err);
    } else if (json_is_array(p) && json_array_size(p) > 0 && json_is_integer(json_array_get(p, 0))) {
        size_t n = json_array_size(p), i;
        int32_t *t = malloc(n * sizeof *t);
        int32_t nv = hearth_model_n_vocab(sv->model);
        json_t *x;
        if (!t) return start(j, hs_reply_error(500, "server_error", NULL, "out of memory"), false);
        json_array_foreach(p, i, x) {
            if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= nv) {
                free(t);
                return start(j, hs_bad("prompt[%zu] is not a token id (0..%d)", i, nv - 1), false);
            }
            t[i] = (int32_t)json_integer_value(x);
        }
        ok = hs_set_prompt(sv, j, t, n, &err);
    } else {
        ok = false, err = hs_bad("'prompt' must be a string or an array of token ids (one prompt per request)");
    }
    return start(j, err, ok);
}

hs_reply hs_openai_models(hs_server *sv) {
    json_t *r = json_pack("{s:s,s:[{s:s,s:s,s:I,s:s}]}", "object", "list", "data", "id", sv->model_name, "object", "model",
                          "created", (json_int_t)sv->load_time, "owned_by", "hearth");
    return hs_reply_json(200, r);
}
