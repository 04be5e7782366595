/* Choosing and rendering a model's chat template. The built-in fallbacks are
 * our own Jinja, written to the published prompt formats; content may be a
 * string or a list of {type: "text", text} parts. */
#include "text/chat_template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define MAX_TEMPLATE_FILE (16u << 20)

/* Shared by the built-ins: a message's text whatever the content's shape. */
#define TEXT_MACRO                                                                   \
    "{%- macro text(content) -%}"                                                    \
    "{%- if content is string -%}{{- content -}}"                                    \
    "{%- elif content is iterable -%}"                                               \
    "{%- for part in content -%}"                                                    \
    "{%- if part is mapping and part.type == 'text' -%}{{- part.text -}}{%- endif -%}" \
    "{%- endfor -%}"                                                                 \
    "{%- endif -%}"                                                                  \
    "{%- endmacro -%}"

static const char chatml_src[] = TEXT_MACRO
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message.role + '\\n' + text(message.content) + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

static const char llama3_src[] = TEXT_MACRO
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + text(message.content) | trim + "
    "'<|eot_id|>' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}";

/* Gemma has no system role: the system text opens the first user turn. */
static const char gemma_src[] = TEXT_MACRO
    "{{- bos_token -}}"
    "{%- set ns = namespace(system='') -%}"
    "{%- for message in messages -%}"
    "{%- if message.role == 'system' -%}"
    "{%- set ns.system = ns.system + text(message.content) | trim + '\\n\\n' -%}"
    "{%- else -%}"
    "{%- set role = 'model' if message.role == 'assistant' else message.role -%}"
    "{{- '<start_of_turn>' + role + '\\n' + ns.system + text(message.content) | trim + '<end_of_turn>\\n' -}}"
    "{%- set ns.system = '' -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}";

static const char mistral_src[] = TEXT_MACRO
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message.role == 'system' -%}"
    "{{- '[SYSTEM_PROMPT]' + text(message.content) + '[/SYSTEM_PROMPT]' -}}"
    "{%- elif message.role == 'user' -%}"
    "{{- '[INST]' + text(message.content) + '[/INST]' -}}"
    "{%- elif message.role == 'assistant' -%}"
    "{{- text(message.content) + eos_token -}}"
    "{%- endif -%}"
    "{%- endfor -%}";

const char *hr_chat_builtin(const char *name) {
    if (!name) return NULL;
    if (!strcmp(name, "chatml")) return chatml_src;
    if (!strcmp(name, "llama3")) return llama3_src;
    if (!strcmp(name, "gemma")) return gemma_src;
    if (!strcmp(name, "mistral")) return mistral_src;
    return NULL;
}

struct hr_chat_template {
    hr_jinja *t;
    char *bos, *eos;
    const char *origin;
};

hearth_status hr_read_file(const char *path, char **out, size_t *len, hearth_error *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return hr_fail(err, HEARTH_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return hr_fail(err, HEARTH_ERR_NOMEM, "%s: out of memory", path);
        }
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (cap > MAX_TEMPLATE_FILE) {
            free(buf);
            fclose(f);
            return hr_fail(err, HEARTH_ERR_RANGE, "%s: larger than %u bytes", path, MAX_TEMPLATE_FILE);
        }
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) free(buf);
        buf = nb;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return hr_fail(err, HEARTH_ERR_IO, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return HEARTH_OK;
}

static int64_t find_token(const hr_gguf *g, int64_t toks, const char *text) {
    uint64_t n = hr_gguf_arr_len(g, toks);
    size_t tl = strlen(text);
    for (uint64_t i = 0; i < n; i++) {
        hr_gguf_str s = hr_gguf_arr_str(g, toks, i);
        if (s.ptr && s.len == tl && !memcmp(s.ptr, text, tl)) return (int64_t)i;
    }
    return -1;
}

const char *hr_chat_builtin_for(const hr_gguf *g) {
    const char *arch = "";
    hr_gguf_get_string(g, "general.architecture", &arch, NULL);
    int64_t toks = hr_gguf_find_key(g, "tokenizer.ggml.tokens");
    if (!strncmp(arch, "gemma", 5)) return "gemma";
    if (toks >= 0 && hr_gguf_arr_type(g, toks) == HR_GGUF_STRING) {
        if (find_token(g, toks, "<start_of_turn>") >= 0) return "gemma";
        if (find_token(g, toks, "<|start_header_id|>") >= 0) return "llama3";
        if (find_token(g, toks, "<|im_start|>") >= 0) return "chatml";
        if (find_token(g, toks, "[INST]") >= 0) return "mistral";
    }
    if (!strncmp(arch, "mistral", 7)) return "mistral";
    return "chatml";
}

static char *token_text(const hr_gguf *g, const char *id_key) {
    uint32_t id;
    int64_t toks = hr_gguf_find_key(g, "tokenizer.ggml.tokens");
    if (hr_gguf_find_key(g, id_key) < 0 || hr_gguf_get_u32(g, id_key, &id, NULL) != HEARTH_OK || toks < 0 ||
        hr_gguf_arr_type(g, toks) != HR_GGUF_STRING || id >= hr_gguf_arr_len(g, toks))
        return strdup("");
    hr_gguf_str s = hr_gguf_arr_str(g, toks, id);
    char *r = malloc(s.len + 1);
    if (r) {
        if (s.len) memcpy(r, s.ptr, s.len);
        r[s.len] = 0;
    }
    return r;
}

static hearth_status make(const char *src, size_t len, char *bos, char *eos, const char *origin,
                          hr_chat_template **out, hearth_error *err) {
    *out = NULL;
    hr_chat_template *ct = calloc(1, sizeof *ct);
    if (!ct || !bos || !eos) {
        free(ct), free(bos), free(eos);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    ct->bos = bos;
    ct->eos = eos;
    ct->origin = origin;
    int line = 0;
    hearth_status st = hr_jinja_parse(src, len, &ct->t, err, &line);
    if (st != HEARTH_OK) {
        if (line > 0) hr_error_prefix(err, "%s chat template, line %d", origin, line);
        else hr_error_prefix(err, "%s chat template", origin);
        hr_chat_template_free(ct);
        return st;
    }
    *out = ct;
    return HEARTH_OK;
}

hearth_status hr_chat_template_new(const char *source, size_t len, const char *bos, const char *eos,
                                   hr_chat_template **out, hearth_error *err) {
    return make(source, len, strdup(bos ? bos : ""), strdup(eos ? eos : ""), "given", out, err);
}

hearth_status hr_chat_template_from_gguf(const hr_gguf *g, const char *override_path, hr_chat_template **out,
                                         hearth_error *err) {
    char *bos = token_text(g, "tokenizer.ggml.bos_token_id"), *eos = token_text(g, "tokenizer.ggml.eos_token_id");
    if (override_path) {
        char *src;
        size_t len;
        hearth_status st = hr_read_file(override_path, &src, &len, err);
        if (st != HEARTH_OK) {
            free(bos), free(eos);
            return st;
        }
        st = make(src, len, bos, eos, "file", out, err);
        free(src);
        return st;
    }
    int64_t k = hr_gguf_find_key(g, "tokenizer.chat_template");
    if (k >= 0 && hr_gguf_kv_type(g, k) == HR_GGUF_STRING) {
        hr_gguf_str s = hr_gguf_get_str(g, k);
        return make(s.ptr, s.len, bos, eos, "gguf", out, err);
    }
    const char *name = hr_chat_builtin_for(g);
    const char *src = hr_chat_builtin(name);
    return make(src, strlen(src), bos, eos, name, out, err);
}

hearth_status hr_chat_template_load(const char *model_path, const char *override_path, hr_chat_template **out,
                                    hearth_error *err) {
    hr_gguf *g;
    hearth_status st = hr_gguf_open(model_path, &g, err);
    if (st != HEARTH_OK) return st;
    st = hr_chat_template_from_gguf(g, override_path, out, err);
    hr_gguf_close(g);
    return st;
}

hearth_status hr_chat_template_source(const char *model_path, const char *override_path, char **src,
                                      const char **origin, hearth_error *err) {
    *src = NULL;
    if (override_path) {
        *origin = "file";
        return hr_read_file(override_path, src, NULL, err);
    }
    hr_gguf *g;
    hearth_status st = hr_gguf_open(model_path, &g, err);
    if (st != HEARTH_OK) return st;
    int64_t k = hr_gguf_find_key(g, "tokenizer.chat_template");
    const char *text;
    size_t len;
    if (k >= 0 && hr_gguf_kv_type(g, k) == HR_GGUF_STRING) {
        hr_gguf_str s = hr_gguf_get_str(g, k);
        text = s.ptr;
        len = s.len;
        *origin = "gguf";
    } else {
        *origin = hr_chat_builtin_for(g);
        text = hr_chat_builtin(*origin);
        len = strlen(text);
    }
    *src = malloc(len + 1);
    if (*src) {
        memcpy(*src, text, len);
        (*src)[len] = 0;
    }
    hr_gguf_close(g);
    return *src ? HEARTH_OK : hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}

void hr_chat_template_free(hr_chat_template *ct) {
    if (!ct) return;
    hr_jinja_free(ct->t);
    free(ct->bos);
    free(ct->eos);
    free(ct);
}

const char *hr_chat_template_origin(const hr_chat_template *ct) { return ct->origin; }
const char *hr_chat_template_bos(const hr_chat_template *ct) { return ct->bos; }
const char *hr_chat_template_eos(const hr_chat_template *ct) { return ct->eos; }

hearth_status hr_chat_template_render(const hr_chat_template *ct, const json_t *messages, const json_t *tools,
                                      bool add_generation_prompt, const hr_jinja_opts *opts, char **out,
                                      size_t *out_len, hearth_error *err, int *err_line) {
    return hr_chat_template_render_kw(ct, messages, tools, NULL, add_generation_prompt, opts, out, out_len, err,
                                      err_line);
}

hearth_status hr_chat_template_render_kw(const hr_chat_template *ct, const json_t *messages, const json_t *tools,
                                         const json_t *kwargs, bool add_generation_prompt, const hr_jinja_opts *opts,
                                         char **out, size_t *out_len, hearth_error *err, int *err_line) {
    *out = NULL;
    if (!json_is_array(messages)) return hr_fail(err, HEARTH_ERR_INVALID, "messages must be a JSON array");
    if (kwargs && !json_is_object(kwargs)) return hr_fail(err, HEARTH_ERR_INVALID, "template variables must be a JSON object");
    /* The caller's variables first, so that messages and the rest cannot be overridden by them. */
    json_t *ctx = kwargs ? json_deep_copy(kwargs) : json_object();
    if (!ctx) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    json_object_set_new(ctx, "messages", json_deep_copy(messages));
    if (tools) json_object_set_new(ctx, "tools", json_deep_copy(tools));
    else json_object_del(ctx, "tools");
    json_object_set_new(ctx, "add_generation_prompt", json_boolean(add_generation_prompt));
    json_object_set_new(ctx, "bos_token", json_string(ct->bos));
    json_object_set_new(ctx, "eos_token", json_string(ct->eos));
    hearth_status st = hr_jinja_render(ct->t, ctx, opts, out, out_len, err, err_line);
    json_decref(ctx);
    return st;
}
