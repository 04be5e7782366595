/* hearth template: render a chat template, either a file with a JSON context
 * or a model's own template (with a built-in fallback) with its BOS/EOS. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "text/chat_template.h"
#include "text/jinja.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth template --file T.jinja --context C.json [--now UNIX] [--utc]\n"
            "       hearth template -m MODEL.gguf --messages M.json [--add-generation-prompt]\n"
            "                       [--tools TOOLS.json] [--chat-template FILE] [--now UNIX] [--utc]\n"
            "       hearth template -m MODEL.gguf [--chat-template FILE] --print-template\n"
            "       hearth template --print-builtin chatml|llama3|gemma|mistral\n"
            "Renders to stdout exactly as Hugging Face's Jinja would; a template that raises\n"
            "exits 1 with its message.\n");
}

static json_t *load_json(const char *path, const char *what) {
    json_error_t je;
    json_t *j = json_load_file(path, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je);
    if (!j) cli_die("%s %s: line %d: %s", what, path, je.line, je.text);
    return j;
}

static int print_result(hearth_status st, char *out, size_t n, const hearth_error *err, int line, bool parsed) {
    if (st != HEARTH_OK) {
        /* Hugging Face's own message for a template cut short is a JavaScript TypeError; say what it means */
        if (!parsed && !strncmp(err->message, "Cannot read properties of undefined", 35))
            fprintf(stderr, "hearth: the template ends inside an unclosed block or expression\n");
        if (line > 0) return cli_die("template line %d: %s", line, err->message);
        return cli_die("template: %s", err->message);
    }
    fwrite(out, 1, n, stdout);
    free(out);
    return fflush(stdout) == 0 ? 0 : cli_die("write failed");
}

int cmd_template(int argc, char **argv) {
    const char *file = NULL, *ctx_path = NULL, *model = NULL, *msgs_path = NULL, *tools_path = NULL,
               *override = NULL, *builtin = NULL;
    bool add_gen = false, print_template = false;
    hr_jinja_opts opts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--file")) slot = &file;
        else if (!strcmp(a, "--context")) slot = &ctx_path;
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) slot = &model;
        else if (!strcmp(a, "--messages")) slot = &msgs_path;
        else if (!strcmp(a, "--tools")) slot = &tools_path;
        else if (!strcmp(a, "--chat-template")) slot = &override;
        else if (!strcmp(a, "--print-builtin")) slot = &builtin;
        else if (!strcmp(a, "--print-template")) print_template = true;
        else if (!strcmp(a, "--add-generation-prompt")) add_gen = true;
        else if (!strcmp(a, "--utc")) opts.utc = 1;
        else if (!strcmp(a, "--now")) {
            if (i + 1 >= argc) return cli_die("--now needs a value");
            int64_t v;
            if (!cli_parse_i64("--now", argv[++i], 1, INT64_MAX / 2, &v)) return 1;
            opts.now = v;
        } else {
            usage(stderr);
            return cli_die("unknown option '%s'", a);
        }
        if (slot) {
            if (i + 1 >= argc) return cli_die("%s needs a value", a);
            *slot = argv[++i];
        }
    }
    hearth_error err = {{0}};
    int line = 0;
    if (builtin) {
        const char *src = hr_chat_builtin(builtin);
        if (!src) return cli_die("no built-in template '%s' (chatml, llama3, gemma, mistral)", builtin);
        fputs(src, stdout);
        return 0;
    }
    char *out = NULL;
    size_t n = 0;
    if (file) {
        if (model || msgs_path) return cli_die("--file and -m are exclusive");
        char *src;
        size_t len;
        if (hr_read_file(file, &src, &len, &err) != HEARTH_OK) return cli_die("%s", err.message);
        json_t *ctx = ctx_path ? load_json(ctx_path, "context") : json_object();
        if (!ctx) {
            free(src);
            return 1;
        }
        if (!json_is_object(ctx)) {
            json_decref(ctx);
            free(src);
            return cli_die("context %s: not a JSON object", ctx_path);
        }
        hr_jinja *t;
        hearth_status st = hr_jinja_parse(src, len, &t, &err, &line);
        free(src);
        bool parsed = st == HEARTH_OK;
        if (parsed) {
            st = hr_jinja_render(t, ctx, &opts, &out, &n, &err, &line);
            hr_jinja_free(t);
        }
        json_decref(ctx);
        return print_result(st, out, n, &err, line, parsed);
    }
    if (!model) {
        usage(stderr);
        return cli_die("give --file T.jinja or -m MODEL");
    }
    if (print_template) {
        char *src;
        const char *origin;
        if (hr_chat_template_source(model, override, &src, &origin, &err) != HEARTH_OK) return cli_die("%s", err.message);
        fputs(src, stdout);
        free(src);
        fprintf(stderr, "hearth: template from %s\n", origin);
        return 0;
    }
    if (!msgs_path) return cli_die("-m needs --messages M.json");
    json_t *msgs = load_json(msgs_path, "messages");
    if (!msgs) return 1;
    json_t *tools = tools_path ? load_json(tools_path, "tools") : NULL;
    if (tools_path && !tools) {
        json_decref(msgs);
        return 1;
    }
    hr_chat_template *ct;
    hearth_status st = hr_chat_template_load(model, override, &ct, &err);
    if (st != HEARTH_OK) {
        json_decref(msgs);
        json_decref(tools);
        return cli_die("%s", err.message);
    }
    /* M.json is a messages array, or a request-like object {"messages": [...], "tools": [...]} */
    json_t *m = msgs;
    if (json_is_object(msgs)) {
        m = json_object_get(msgs, "messages");
        if (!tools && json_object_get(msgs, "tools")) tools = json_incref(json_object_get(msgs, "tools"));
        if (json_is_true(json_object_get(msgs, "add_generation_prompt"))) add_gen = true;
    }
    st = hr_chat_template_render(ct, m, tools, add_gen, &opts, &out, &n, &err, &line);
    hr_chat_template_free(ct);
    json_decref(msgs);
    json_decref(tools);
    return print_result(st, out, n, &err, line, true);
}
