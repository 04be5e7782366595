/* Jinja engine features, one small template each, and its limits on hostile
 * templates.
 *
 * The expected output or error of every item in tests/unit/jinja_features.json
 * was produced by @huggingface/jinja 0.5.11 with
 *     node tests/oracle/jinja/compare.mjs - --fill tests/unit/jinja_features.json
 * and tests/integration/31_jinja_oracle.sh re-derives them at test time. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "text/chat_template.h"
#include "text/jinja.h"

#define RENDER_DAY 1795521600 /* 2026-11-24 12:00 UTC, as compare.mjs pins it */

static hearth_status render_ctx(const char *src, json_t *ctx, const hr_jinja_opts *opts, char **out,
                                hearth_error *err, int *line) {
    hr_jinja *t;
    hearth_status st = hr_jinja_parse(src, strlen(src), &t, err, line);
    if (st != HEARTH_OK) return st;
    st = hr_jinja_render(t, ctx, opts, out, NULL, err, line);
    hr_jinja_free(t);
    return st;
}

Test(jinja, features_match_hugging_face) {
    json_error_t je;
    json_t *items = json_load_file("tests/unit/jinja_features.json", JSON_DECODE_INT_AS_REAL, &je);
    cr_assert(items, "jinja_features.json: %s", je.text);
    size_t i;
    json_t *it;
    int bad = 0;
    json_array_foreach(items, i, it) {
        const char *name = json_string_value(json_object_get(it, "name"));
        const char *src = json_string_value(json_object_get(it, "template"));
        const char *want_out = json_string_value(json_object_get(it, "output"));
        const char *want_err = json_string_value(json_object_get(it, "error"));
        cr_assert(src && (want_out || want_err), "item %zu malformed", i);
        hr_jinja_opts o = {.now = RENDER_DAY, .utc = 1};
        hearth_error err = {{0}};
        char *out = NULL;
        int line;
        hearth_status st = render_ctx(src, json_object_get(it, "context"), &o, &out, &err, &line);
        if (want_err) {
            if (st == HEARTH_OK || strcmp(err.message, want_err)) {
                bad++;
                cr_log_error("%s: want error \"%s\", got \"%s\"", name, want_err, st == HEARTH_OK ? out : err.message);
            }
        } else if (st != HEARTH_OK) {
            bad++;
            cr_log_error("%s: unexpected error \"%s\"", name, err.message);
        } else if (strcmp(out, want_out)) {
            bad++;
            cr_log_error("%s: want \"%s\", got \"%s\"", name, want_out, out);
        }
        free(out);
    }
    cr_assert_eq(bad, 0, "%d of %zu features differ from @huggingface/jinja", bad, json_array_size(items));
    json_decref(items);
}

/* ---- limits on hostile templates (Hugging Face would overflow its stack or hang) ---- */
static void expect_error(const char *src, const hr_jinja_opts *o, const char *fragment) {
    hearth_error err = {{0}};
    char *out = NULL;
    int line;
    json_t *ctx = json_object();
    hearth_status st = render_ctx(src, ctx, o, &out, &err, &line);
    json_decref(ctx);
    cr_assert_neq(st, HEARTH_OK, "expected failure, got output of %zu bytes", out ? strlen(out) : 0);
    cr_assert(strstr(err.message, fragment), "message \"%s\" lacks \"%s\"", err.message, fragment);
    free(out);
}

static char *repeat(const char *a, int n, const char *mid, const char *b) {
    size_t la = strlen(a), lb = strlen(b), lm = strlen(mid);
    char *s = malloc((la + lb) * (size_t)n + lm + 1), *p = s;
    for (int i = 0; i < n; i++, p += la) memcpy(p, a, la);
    memcpy(p, mid, lm);
    p += lm;
    for (int i = 0; i < n; i++, p += lb) memcpy(p, b, lb);
    *p = 0;
    return s;
}

Test(jinja, deep_expression_nesting_is_an_error) {
    char *s = repeat("(", 100000, "1", ")");
    char *src = malloc(strlen(s) + 8);
    sprintf(src, "{{ %s }}", s);
    expect_error(src, NULL, "Maximum call stack size exceeded");
    free(src);
    free(s);
}

Test(jinja, deep_statement_nesting_is_an_error) {
    char *s = repeat("{% if true %}", 50000, "x", "{% endif %}");
    expect_error(s, NULL, "Maximum call stack size exceeded");
    free(s);
}

Test(jinja, unbounded_recursion_is_an_error) {
    expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, "Maximum call stack size exceeded");
}

Test(jinja, step_limit_stops_long_loops) {
    hr_jinja_opts o = {.max_steps = 100000};
    expect_error("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", &o, "step limit");
}

Test(jinja, output_limit) {
    hr_jinja_opts o = {.max_output = 1000};
    expect_error("{% for i in range(10000) %}xxxxxxxx{% endfor %}", &o, "output exceeds");
}

Test(jinja, memory_limit) {
    hr_jinja_opts o = {.max_memory = 4u << 20};
    expect_error("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                 &o, "memory limit");
}

Test(jinja, huge_range_is_refused) { expect_error("{{ range(1000000000000) | length }}", NULL, "range()"); }

Test(jinja, cyclic_namespace_to_json_is_an_error) {
    expect_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}", NULL,
                 "Maximum call stack size exceeded");
}

Test(jinja, errors_name_their_line) {
    hearth_error err = {{0}};
    char *out = NULL;
    int line = 0;
    hearth_status st = render_ctx("line 1\nline 2\n{{ raise_exception('boom') }}\n", NULL, NULL, &out, &err, &line);
    cr_assert_neq(st, HEARTH_OK);
    cr_assert_str_eq(err.message, "boom");
    cr_assert_eq(line, 3);
    st = render_ctx("a\n\n\n{% if %}", NULL, NULL, &out, &err, &line);
    cr_assert_neq(st, HEARTH_OK);
    cr_assert_eq(line, 4);
}

Test(jinja, malformed_templates_fail_cleanly) {
    static const char *bad[] = {
        "{{", "{%", "{#", "{{ 'abc", "{{ \"\\u12\" }}", "{{ \"\\q\" }}", "{% for %}", "{% for x in %}{% endfor %}",
        "{% set %}", "{% macro %}", "{{ a[ }}", "{{ a.b. }}", "{{ {1: } }}", "{{ f(a=1, 2) }}", "{% endif %}",
        "{% if 1 %}{% else %}{% else %}{% endif %}", "}}", "{{ ] }}", "{% call x %}", "\xff\xfe{{ x }}\xc3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hearth_error err = {{0}};
        char *out = NULL;
        int line;
        hearth_status st = render_ctx(bad[i], NULL, NULL, &out, &err, &line);
        if (st == HEARTH_OK) free(out);
        else cr_assert(err.message[0] || !strcmp(bad[i], "{% call x %}"), "empty message for %s", bad[i]);
    }
}

Test(jinja, template_is_reusable_and_context_is_not_mutated) {
    hr_jinja *t;
    hearth_error err = {{0}};
    const char *src = "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}"
                      "{{ ns.n }}";
    cr_assert_eq(hr_jinja_parse(src, strlen(src), &t, &err, NULL), HEARTH_OK);
    json_t *ctx = json_pack("{s:[{s:s},{s:s}]}", "messages", "role", "user", "role", "assistant");
    for (int i = 0; i < 3; i++) {
        char *out;
        cr_assert_eq(hr_jinja_render(t, ctx, NULL, &out, NULL, &err, NULL), HEARTH_OK, "%s", err.message);
        cr_assert_str_eq(out, "2");
        free(out);
    }
    json_decref(ctx);
    hr_jinja_free(t);
}

/* ---- chat templates from GGUF metadata ---- */
static hr_gguf *write_vocab(const char *arch, const char *const *tokens, uint64_t n, const char *tmpl) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    cr_assert(w);
    hr_gguf_set_str(w, "general.architecture", arch);
    if (n) hr_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tokens, n);
    hr_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    hr_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    if (tmpl) hr_gguf_set_str(w, "tokenizer.chat_template", tmpl);
    char path[] = "/tmp/hearth-jinja-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_write_file(w, path, &err), HEARTH_OK, "%s", err.message);
    hr_gguf_writer_free(w);
    hr_gguf *g;
    cr_assert_eq(hr_gguf_open(path, &g, &err), HEARTH_OK, "%s", err.message);
    remove(path);
    return g;
}

Test(chat_template, fallback_choice_by_architecture_and_vocabulary) {
    static const char *const llama3[] = {"<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>"};
    static const char *const gemma[] = {"<pad>", "<bos>", "<eos>", "<start_of_turn>"};
    static const char *const mistral[] = {"<unk>", "<s>", "</s>", "[INST]"};
    static const char *const plain[] = {"<unk>", "<s>", "</s>", "a"};
    struct {
        const char *arch;
        const char *const *toks;
        const char *want;
    } cases[] = {{"llama", llama3, "llama3"}, {"gemma3", plain, "gemma"}, {"llama", gemma, "gemma"},
                 {"mistral3", plain, "mistral"}, {"llama", mistral, "mistral"}, {"qwen2", plain, "chatml"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hr_gguf *g = write_vocab(cases[i].arch, cases[i].toks, 4, NULL);
        cr_assert_str_eq(hr_chat_builtin_for(g), cases[i].want, "case %zu", i);
        hr_gguf_close(g);
    }
}

Test(chat_template, gguf_template_gets_bos_and_eos_strings) {
    static const char *const toks[] = {"<unk>", "<BOS!>", "<EOS!>", "x"};
    hr_gguf *g = write_vocab("llama", toks, 4, "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"
                                                "{% if add_generation_prompt %}+{% endif %}");
    hr_chat_template *ct;
    hearth_error err = {{0}};
    cr_assert_eq(hr_chat_template_from_gguf(g, NULL, &ct, &err), HEARTH_OK, "%s", err.message);
    cr_assert_str_eq(hr_chat_template_origin(ct), "gguf");
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", "hi");
    char *out;
    cr_assert_eq(hr_chat_template_render(ct, msgs, NULL, true, NULL, &out, NULL, &err, NULL), HEARTH_OK);
    cr_assert_str_eq(out, "<BOS!>hi<EOS!>+");
    free(out);
    json_decref(msgs);
    hr_chat_template_free(ct);
    hr_gguf_close(g);
}

Test(chat_template, builtins_parse_and_render_parts) {
    static const char *names[] = {"chatml", "llama3", "gemma", "mistral"};
    json_t *msgs = json_pack("[{s:s,s:[{s:s,s:s}]}]", "role", "user", "content", "type", "text", "text", "part");
    for (size_t i = 0; i < 4; i++) {
        const char *src = hr_chat_builtin(names[i]);
        hr_chat_template *ct;
        hearth_error err = {{0}};
        cr_assert_eq(hr_chat_template_new(src, strlen(src), "<s>", "</s>", &ct, &err), HEARTH_OK, "%s", err.message);
        char *out;
        cr_assert_eq(hr_chat_template_render(ct, msgs, NULL, true, NULL, &out, NULL, &err, NULL), HEARTH_OK, "%s",
                     err.message);
        cr_assert(strstr(out, "part"), "%s: %s", names[i], out);
        free(out);
        hr_chat_template_free(ct);
    }
    json_decref(msgs);
    cr_assert_null(hr_chat_builtin("nope"));
}
