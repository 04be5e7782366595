/* Ollama API: POST /api/chat, POST /api/generate (NDJSON streaming), GET /api/tags,
 * POST /api/show, GET /api/version, GET /api/ps. */
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

static void line(hs_job *j, json_t *o) {
    hs_buf_json(&j->out, o);
    hs_buf_str(&j->out, "\n");
    json_decref(o);
}

static json_t *base(hs_job *j) {
    char t[48];
    hs_iso_time(t, sizeof t);
    return json_pack("{s:s,s:s}", "model", j->model, "created_at", t);
}

static json_t *piece(hs_job *j, const char *text, size_t n) {
    json_t *o = base(j);
    if (j->api == HS_API_OLLAMA_CHAT)
        json_object_set_new(o, "message", json_pack("{s:s,s:s%}", "role", "assistant", "content", text, n));
    else
        json_object_set_new(o, "response", json_stringn(text, n));
    return o;
}

/* Thinking goes to message.thinking (/api/chat) or thinking (/api/generate), as Ollama does. */
static void set_thinking(hs_job *j, json_t *o, const char *s, size_t n) {
    json_t *t = json_stringn(s, n);
    if (j->api == HS_API_OLLAMA_CHAT) json_object_set_new(json_object_get(o, "message"), "thinking", t);
    else json_object_set_new(o, "thinking", t);
}

static void segment(void *ud, const char *s, size_t n, bool thinking) {
    hs_job *j = ud;
    if (!n) return;
    if (!j->stream) {
        hs_buf_add(thinking ? &j->reasoning : &j->answer, s, n);
        return;
    }
    json_t *o = thinking ? piece(j, "", 0) : piece(j, s, n);
    if (thinking) set_thinking(j, o, s, n);
    json_object_set_new(o, "done", json_false());
    line(j, o);
}

static void on_text(hs_job *j, const char *text, size_t n) {
    if (j->split_think) {
        hr_think_feed(&j->think, text, n, segment, j);
        return;
    }
    if (!j->stream || !n) return;
    json_t *o = piece(j, text, n);
    json_object_set_new(o, "done", json_false());
    line(j, o);
}

static void on_done(hs_job *j) {
    if (j->error[0]) {
        if (j->stream) line(j, json_pack("{s:s}", "error", j->error));
        return;
    }
    if (j->split_think) hr_think_flush(&j->think, segment, j);
    const hs_buf *all = j->split_think ? &j->answer : &j->text;
    json_t *o = j->stream ? piece(j, "", 0) : piece(j, all->p ? all->p : "", all->len);
    if (!j->stream && j->split_think && j->reasoning.len) set_thinking(j, o, j->reasoning.p, j->reasoning.len);
    const double ns = 1e9;
    double t_first = j->t_first > 0 ? j->t_first : j->t_done;
    json_object_set_new(o, "done", json_true());
    json_object_set_new(o, "done_reason", json_string(j->finish_reason));
    json_object_set_new(o, "total_duration", json_integer((json_int_t)((j->t_done - j->t_arrive) * ns)));
    json_object_set_new(o, "load_duration", json_integer(0));
    json_object_set_new(o, "prompt_eval_count", json_integer((json_int_t)j->n_prompt));
    json_object_set_new(o, "prompt_eval_duration", json_integer((json_int_t)((t_first - j->t_arrive) * ns)));
    json_object_set_new(o, "eval_count", json_integer(j->n_gen));
    json_object_set_new(o, "eval_duration", json_integer((json_int_t)((j->t_done - t_first) * ns)));
    line(j, o);
}

static const hs_job_ops ollama_ops = {on_text, on_done};

/* options{}: the sampling and length settings; unknown or unimplemented ones are a 400. */
static bool parse_options(hs_server *sv, json_t *b, hs_job *j, hs_reply *err) {
    /* Ollama's defaults. */
    hearth_sampler_params sp = hearth_sampler_default_params();
    sp.temperature = 0.8f, sp.top_k = 40, sp.top_p = 0.9f, sp.min_p = 0.0f, sp.repeat_penalty = 1.1f;
    sp.penalty_last_n = 64;
    sp.seed = hs_random_seed(sv);
    j->max_tokens = -1;
    json_t *o = json_object_get(b, "options");
    if (o && !json_is_null(o)) {
        if (!json_is_object(o)) return *err = hs_bad("'options' must be an object"), false;
        static const char *known[] = {"num_ctx", "num_predict", "temperature", "seed", "top_p", "top_k", "min_p",
                                      "repeat_penalty", "repeat_last_n", "presence_penalty", "frequency_penalty", "stop",
                                      /* engine tuning with nothing to change here */
                                      "num_batch", "num_gpu", "main_gpu", "use_mmap", "use_mlock", "num_thread", "numa",
                                      "low_vram", "num_keep", "mirostat", "typical_p", "tfs_z", "penalize_newline"};
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            bool ok = false;
            for (size_t i = 0; i < sizeof known / sizeof *known; i++) ok |= !strcmp(k, known[i]);
            if (!ok) return *err = hs_bad("unknown option '%s'", k), false;
        }
        double d;
        long long n;
        if ((d = 0, !hs_opt_num(o, "mirostat", 0, 2, &d, err))) return false;
        if (d != 0) return *err = hs_bad("option 'mirostat' is not supported"), false;
        if ((d = 1, !hs_opt_num(o, "typical_p", 0, 1, &d, err))) return false;
        if (d != 1) return *err = hs_bad("option 'typical_p' is not supported"), false;
        if ((d = 1, !hs_opt_num(o, "tfs_z", 0, 1e9, &d, err))) return false;
        if (d != 1) return *err = hs_bad("option 'tfs_z' is not supported"), false;
        n = hs_sched_n_ctx(sv->sched);
        if (!hs_opt_int(o, "num_ctx", 1, INT32_MAX, &n, err)) return false;
        if (n > hs_sched_n_ctx(sv->sched))
            return *err = hs_bad("num_ctx %lld is larger than a slot's context (%d; start the server with a larger "
                                 "--ctx-per-slot)", n, hs_sched_n_ctx(sv->sched)),
                   false;
        long long np = -1;
        if (!hs_opt_int(o, "num_predict", -2, INT32_MAX, &np, err)) return false;
        j->max_tokens = np >= 0 ? (int32_t)np : -1;
        d = sp.temperature;
        if (!hs_opt_num(o, "temperature", 0, 100, &d, err)) return false;
        sp.temperature = (float)d;
        d = sp.top_p;
        if (!hs_opt_num(o, "top_p", 0, 1, &d, err)) return false;
        sp.top_p = (float)d;
        d = sp.min_p;
        if (!hs_opt_num(o, "min_p", 0, 1, &d, err)) return false;
        sp.min_p = (float)d;
        d = sp.repeat_penalty;
        if (!hs_opt_num(o, "repeat_penalty", 0, 100, &d, err)) return false;
        sp.repeat_penalty = (float)d;
        d = 0;
        if (!hs_opt_num(o, "presence_penalty", -100, 100, &d, err)) return false;
        sp.presence_penalty = (float)d;
        d = 0;
        if (!hs_opt_num(o, "frequency_penalty", -100, 100, &d, err)) return false;
        sp.frequency_penalty = (float)d;
        n = sp.top_k;
        if (!hs_opt_int(o, "top_k", 0, INT32_MAX, &n, err)) return false;
        sp.top_k = (int32_t)n;
        n = sp.penalty_last_n;
        if (!hs_opt_int(o, "repeat_last_n", -1, INT32_MAX, &n, err)) return false;
        sp.penalty_last_n = n < 0 ? hs_sched_n_ctx(sv->sched) : (int32_t)n;
        n = 0;
        if (!hs_opt_int(o, "seed", INT64_MIN, INT64_MAX, &n, err)) return false;
        if (json_object_get(o, "seed") && !json_is_null(json_object_get(o, "seed"))) sp.seed = (uint64_t)n;
        if (!hs_opt_stop(o, "stop", j, err)) return false;
    }
    j->sp = sp;
    j->stream = true; /* Ollama streams unless told not to */
    if (!hs_opt_bool(b, "stream", &j->stream, err)) return false;
    static const char *unsupported[] = {"format", "tools", "images", "suffix", "template", "context"};
    for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
        json_t *v = json_object_get(b, unsupported[i]);
        if (v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0) &&
            !(json_is_array(v) && json_array_size(v) == 0))
            return *err = hs_bad("'%s' is not supported by this server yet", unsupported[i]), false;
    }
    return true;
}

/* think: true renders with enable_thinking true and returns the thinking apart;
 * false renders with enable_thinking false; absent or null leaves the template's
 * default and the text as generated. *kwargs is NULL or {"enable_thinking": think}. */
static bool parse_think(hs_server *sv, json_t *b, bool *split, json_t **kwargs, hs_reply *err) {
    *split = false;
    *kwargs = NULL;
    json_t *tv = json_object_get(b, "think");
    if (!tv || json_is_null(tv)) return true;
    if (json_is_string(tv))
        return *err = hs_bad("think value \"%s\" is not supported for this model", json_string_value(tv)), false;
    if (!json_is_boolean(tv)) return *err = hs_bad("'think' must be a boolean"), false;
    if (json_is_true(tv) && !sv->family.found)
        return *err = hs_bad("\"%s\" does not support thinking", sv->model_name), false;
    *split = json_is_true(tv);
    *kwargs = json_pack("{s:b}", "enable_thinking", json_is_true(tv));
    return true;
}

static hs_reply finish_setup(hs_job *j, hs_reply err, bool ok) {
    if (!ok) {
        hs_job_release(j);
        return err;
    }
    return (hs_reply){.status = 200, .job = j};
}

static hs_job *new_job(hs_server *sv, hs_api api) {
    hs_job *j = hs_job_new();
    if (!j) return NULL;
    hs_job_set_id(sv, j, "ollama-");
    j->api = api;
    j->ops = &ollama_ops;
    return j;
}

hs_reply hs_ollama_chat(hs_server *sv, json_t *b) {
    hs_reply err = {0};
    hs_job *j = new_job(sv, HS_API_OLLAMA_CHAT);
    if (!j) return hs_reply_error(500, "server_error", NULL, "out of memory");
    bool split = false;
    json_t *kwargs = NULL;
    bool ok = hs_check_model(sv, b, "model", &err) && parse_options(sv, b, j, &err) &&
              parse_think(sv, b, &split, &kwargs, &err);
    char *prompt = NULL;
    if (ok) {
        json_t *msgs = json_object_get(b, "messages");
        if (!msgs || (json_is_array(msgs) && json_array_size(msgs) == 0)) {
            /* Ollama answers an empty chat by loading the model. */
            char t[48];
            hs_iso_time(t, sizeof t);
            hs_job_release(j);
            json_decref(kwargs);
            return hs_reply_json(200, json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:b}", "model", sv->model_name, "created_at", t,
                                                "message", "role", "assistant", "content", "", "done_reason", "load",
                                                "done", 1));
        }
        ok = hs_render_chat_kw(sv, msgs, kwargs, &prompt, &err);
    }
    if (ok && split) hs_split_thinking(sv, j, prompt);
    if (ok) ok = hs_tokenize_prompt(sv, prompt, true, j, &err);
    free(prompt);
    json_decref(kwargs);
    return finish_setup(j, err, ok);
}

hs_reply hs_ollama_generate(hs_server *sv, json_t *b) {
    hs_reply err = {0};
    hs_job *j = new_job(sv, HS_API_OLLAMA_GENERATE);
    if (!j) return hs_reply_error(500, "server_error", NULL, "out of memory");
    bool split = false;
    json_t *kwargs = NULL;
    bool ok = hs_check_model(sv, b, "model", &err) && parse_options(sv, b, j, &err) &&
              parse_think(sv, b, &split, &kwargs, &err);
    bool raw = false;
    if (ok) ok = hs_opt_bool(b, "raw", &raw, &err);
    json_t *p = json_object_get(b, "prompt"), *sys = json_object_get(b, "system");
    if (ok && p && !json_is_null(p) && !json_is_string(p)) ok = false, err = hs_bad("'prompt' must be a string");
    if (ok && sys && !json_is_null(sys) && !json_is_string(sys)) ok = false, err = hs_bad("'system' must be a string");
    if (ok && (!json_is_string(p) || json_string_length(p) == 0)) {
        char t[48];
        hs_iso_time(t, sizeof t);
        hs_job_release(j);
        json_decref(kwargs);
        return hs_reply_json(200, json_pack("{s:s,s:s,s:s,s:s,s:b}", "model", sv->model_name, "created_at", t, "response",
                                            "", "done_reason", "load", "done", 1));
    }
    char *prompt = NULL;
    if (ok && raw) {
        prompt = strdup(json_string_value(p));
    } else if (ok) {
        json_t *msgs = json_array();
        if (json_is_string(sys)) json_array_append_new(msgs, json_pack("{s:s,s:O}", "role", "system", "content", sys));
        json_array_append_new(msgs, json_pack("{s:s,s:O}", "role", "user", "content", p));
        ok = hs_render_chat_kw(sv, msgs, kwargs, &prompt, &err);
        json_decref(msgs);
    }
    if (ok && split) hs_split_thinking(sv, j, prompt);
    if (ok) ok = hs_tokenize_prompt(sv, prompt, true, j, &err);
    free(prompt);
    json_decref(kwargs);
    return finish_setup(j, err, ok);
}

static json_t *details(hs_server *sv) {
    const char *arch = hearth_model_arch(sv->model);
    return json_pack("{s:s,s:s,s:s,s:[s],s:s,s:s}", "parent_model", "", "format", "gguf", "family", arch, "families", arch,
                     "parameter_size", "", "quantization_level", "");
}

static json_t *model_entry(hs_server *sv) {
    char t[48];
    hs_iso_time(t, sizeof t);
    return json_pack("{s:s,s:s,s:s,s:I,s:s,s:o}", "name", sv->model_name, "model", sv->model_name, "modified_at", t,
                     "size", (json_int_t)sv->file_size, "digest", "", "details", details(sv));
}

hs_reply hs_ollama_tags(hs_server *sv) { return hs_reply_json(200, json_pack("{s:[o]}", "models", model_entry(sv))); }

hs_reply hs_ollama_ps(hs_server *sv) {
    json_t *e = model_entry(sv);
    json_object_del(e, "modified_at");
    json_object_set_new(e, "expires_at", json_string("2262-04-11T23:47:16.854775807Z")); /* never unloaded */
    json_object_set_new(e, "size_vram", json_integer(0));
    return hs_reply_json(200, json_pack("{s:[o]}", "models", e));
}

hs_reply hs_ollama_show(hs_server *sv, json_t *b) {
    hs_reply err = {0};
    json_t *name = json_object_get(b, "model");
    if (!name || json_is_null(name)) name = json_object_get(b, "name");
    if (!json_is_string(name)) return hs_bad("'model' is required");
    json_t *tmp = json_pack("{s:O}", "model", name);
    bool ok = hs_check_model(sv, tmp, "model", &err);
    json_decref(tmp);
    if (!ok) return err;
    json_t *info = json_pack("{s:s,s:i,s:i,s:i}", "general.architecture", hearth_model_arch(sv->model), "n_vocab",
                             (json_int_t)hearth_model_n_vocab(sv->model), "context_length",
                             (json_int_t)hearth_model_n_ctx_train(sv->model), "block_count",
                             (json_int_t)hearth_model_n_layer(sv->model));
    /* as Ollama: "thinking" when the template writes thinking markers */
    json_t *caps = sv->family.found ? json_pack("[s,s]", "completion", "thinking") : json_pack("[s]", "completion");
    return hs_reply_json(200, json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "license", "", "modelfile", "", "parameters", "",
                                        "details", details(sv), "model_info", info, "capabilities", caps));
}

hs_reply hs_ollama_version(hs_server *sv) {
    (void)sv;
    return hs_reply_json(200, json_pack("{s:s}", "version", hearth_version()));
}
