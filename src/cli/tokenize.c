/* hearth tokenize / hearth detokenize: the tokenizer of a GGUF file (a
 * vocabulary-only file is enough) from the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "gguf/gguf.h"
#include "text/tokenizer.h"

static void tokenize_usage(FILE *f) {
    fprintf(f, "usage: hearth tokenize -m FILE [--special] [--bos] [--json] (TEXT | -f FILE | -)\n"
               "  prints the token ids of TEXT (of FILE's bytes with -f, of stdin with -)\n"
               "  --special  text like <|im_start|> becomes the special token (default: plain text)\n"
               "  --bos      prepend the BOS token\n"
               "  --json     print one JSON array instead of space-separated ids\n"
               "  --batch    the input (-f FILE or -) holds one JSON string per line; prints one JSON array per line\n"
               "  --vocab-info  instead of tokenizing, print the vocabulary's special ids, flags, end-of-generation\n"
               "             ids and per-token attribute bits (llama.cpp numbering) as one JSON object\n");
}

static void detokenize_usage(FILE *f) {
    fprintf(f, "usage: hearth detokenize -m FILE [--special] ID[,ID...] [ID...]\n"
               "  prints the text of the token ids (as llama.cpp's detokenize), then a newline\n"
               "  --special  render control tokens such as <|im_end|>\n"
               "  --batch    read one JSON array of ids per line from stdin; print each text as hex bytes\n");
}

static bool read_stream(FILE *f, char **out, size_t *n) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) return false;
    for (;;) {
        if (len == cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                return false;
            }
            buf = p;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        free(buf);
        return false;
    }
    *out = buf;
    *n = len;
    return true;
}

static int open_tokenizer(const char *path, hr_tokenizer **tok) {
    hearth_error err = {{0}};
    hr_gguf *g = NULL;
    if (hr_gguf_open(path, &g, &err) != HEARTH_OK) return cli_die("%s", err.message);
    hearth_status st = hr_tokenizer_new(g, tok, &err);
    hr_gguf_close(g);
    if (st != HEARTH_OK) return cli_die("%s: %s", path, err.message);
    return 0;
}

static void print_vocab_info(const hr_tokenizer *t) {
    int32_t n = hr_tokenizer_n_vocab(t);
    printf("{\"model\":\"%s\",\"pre\":\"%s\",\"n_vocab\":%d,\"bos\":%d,\"eos\":%d,\"eot\":%d,\"add_bos\":%s,"
           "\"add_eos\":%s,\"eog\":[",
           hr_tokenizer_model_name(t), hr_tokenizer_pre_name(t), n, hr_tokenizer_bos(t), hr_tokenizer_eos(t),
           hr_tokenizer_eot(t), hr_tokenizer_add_bos(t) ? "true" : "false", hr_tokenizer_add_eos(t) ? "true" : "false");
    bool first = true;
    for (int32_t i = 0; i < n; i++)
        if (hr_tokenizer_is_eog(t, i)) printf(first ? "%d" : ",%d", i), first = false;
    printf("],\"attr\":[");
    for (int32_t i = 0; i < n; i++) printf(i ? ",%u" : "%u", hr_tokenizer_attr(t, i));
    printf("]}\n");
}

/* One JSON string per input line (how tests feed many texts through one load). */
static int tokenize_batch(const hr_tokenizer *tok, const char *data, size_t len, bool bos, bool special) {
    size_t pos = 0, line_no = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (data + pos)) : len - pos;
        line_no++;
        json_error_t jerr;
        json_t *js = ll ? json_loadb(data + pos, ll, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr) : NULL;
        pos += ll + 1;
        if (!ll) continue;
        if (!js || !json_is_string(js)) {
            json_decref(js);
            return cli_die("tokenize: line %zu is not a JSON string", line_no);
        }
        hearth_error err = {{0}};
        int32_t *ids = NULL;
        size_t n = 0;
        hearth_status st = hr_tokenize(tok, json_string_value(js), json_string_length(js), bos, special, &ids, &n, &err);
        json_decref(js);
        if (st != HEARTH_OK) return cli_die("tokenize: line %zu: %s", line_no, err.message);
        putchar('[');
        for (size_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
        puts("]");
        free(ids);
    }
    return fflush(stdout) ? 1 : 0;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *file = NULL, *text = NULL;
    bool special = false, bos = false, json = false, from_stdin = false, batch = false, vocab_info = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            tokenize_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc) return cli_die("%s needs a file", a);
            model = argv[i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (++i >= argc) return cli_die("%s needs a file", a);
            file = argv[i];
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "--bos")) {
            bos = true;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--batch")) {
            batch = true;
        } else if (!strcmp(a, "--vocab-info")) {
            vocab_info = true;
        } else if (!strcmp(a, "-")) {
            from_stdin = true;
        } else if (a[0] == '-' && a[1] && !text) {
            return cli_die("tokenize: unknown option '%s' (try: hearth tokenize --help)", a);
        } else if (!text) {
            text = a;
        } else {
            return cli_die("tokenize: more than one TEXT given (quote it)");
        }
    }
    if (!model) return cli_die("tokenize: -m FILE is required (try: hearth tokenize --help)");
    if (vocab_info) {
        hr_tokenizer *tok = NULL;
        if (open_tokenizer(model, &tok)) return 1;
        print_vocab_info(tok);
        hr_tokenizer_free(tok);
        return fflush(stdout) ? 1 : 0;
    }
    if ((text != NULL) + (file != NULL) + from_stdin != 1) return cli_die("tokenize: give exactly one of TEXT, -f FILE or -");
    if (batch && text) return cli_die("tokenize: --batch reads -f FILE or -");

    char *data = NULL;
    size_t len = 0;
    if (file) {
        FILE *f = fopen(file, "rb");
        if (!f) return cli_die("%s: %s", file, strerror(errno));
        bool ok = read_stream(f, &data, &len);
        fclose(f);
        if (!ok) return cli_die("%s: read failed", file);
    } else if (from_stdin) {
        if (!read_stream(stdin, &data, &len)) return cli_die("stdin: read failed");
    }
    hr_tokenizer *tok = NULL;
    if (open_tokenizer(model, &tok)) {
        free(data);
        return 1;
    }
    if (batch) {
        int rc = tokenize_batch(tok, data, len, bos, special);
        free(data);
        hr_tokenizer_free(tok);
        return rc;
    }
    hearth_error err = {{0}};
    int32_t *ids = NULL;
    size_t n = 0;
    hearth_status st = hr_tokenize(tok, data ? data : text, data ? len : strlen(text), bos, special, &ids, &n, &err);
    free(data);
    hr_tokenizer_free(tok);
    if (st != HEARTH_OK) return cli_die("tokenize: %s", err.message);
    if (json) putchar('[');
    for (size_t i = 0; i < n; i++) printf(i ? (json ? ",%d" : " %d") : "%d", ids[i]);
    puts(json ? "]" : "");
    free(ids);
    return fflush(stdout) ? 1 : 0;
}

/* Appends the ids of a "1,2,3" argument. */
static bool parse_ids(const char *s, int32_t **ids, size_t *n, size_t *cap) {
    while (*s) {
        if (*s == ',' || *s == ' ') {
            s++;
            continue;
        }
        char *end = NULL;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX || (*end && *end != ',' && *end != ' ')) return false;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 64;
            int32_t *p = realloc(*ids, c * sizeof *p);
            if (!p) return false;
            *ids = p;
            *cap = c;
        }
        (*ids)[(*n)++] = (int32_t)v;
        s = end;
    }
    return true;
}

static int detokenize_batch(const hr_tokenizer *tok, bool special) {
    char *data = NULL;
    size_t len = 0;
    if (!read_stream(stdin, &data, &len)) return cli_die("stdin: read failed");
    size_t pos = 0, line_no = 0;
    int rc = 0;
    while (pos < len && !rc) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (data + pos)) : len - pos;
        line_no++;
        json_error_t jerr;
        json_t *js = ll ? json_loadb(data + pos, ll, 0, &jerr) : NULL;
        pos += ll + 1;
        if (!ll) continue;
        size_t n = json_is_array(js) ? json_array_size(js) : 0;
        int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        bool ok = js && json_is_array(js) && ids;
        for (size_t i = 0; ok && i < n; i++) {
            json_t *v = json_array_get(js, i);
            ok = json_is_integer(v) && json_integer_value(v) >= INT32_MIN && json_integer_value(v) <= INT32_MAX;
            if (ok) ids[i] = (int32_t)json_integer_value(v);
        }
        json_decref(js);
        if (!ok) {
            free(ids);
            rc = cli_die("detokenize: line %zu is not a JSON array of token ids", line_no);
            break;
        }
        hearth_error err = {{0}};
        char *text = NULL;
        size_t tl = 0;
        hearth_status st = hr_detokenize(tok, ids, n, special, &text, &tl, &err);
        free(ids);
        if (st != HEARTH_OK) {
            rc = cli_die("detokenize: line %zu: %s", line_no, err.message);
            break;
        }
        for (size_t i = 0; i < tl; i++) printf("%02x", (unsigned char)text[i]);
        putchar('\n');
        free(text);
    }
    free(data);
    return rc ? rc : fflush(stdout) ? 1 : 0;
}

int cmd_detokenize(int argc, char **argv) {
    const char *model = NULL;
    bool special = false, batch = false;
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            detokenize_usage(stdout);
            free(ids);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc) {
                free(ids);
                return cli_die("%s needs a file", a);
            }
            model = argv[i];
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "--batch")) {
            batch = true;
        } else if (!parse_ids(a, &ids, &n, &cap)) {
            free(ids);
            return cli_die("detokenize: '%s' is not a list of token ids", a);
        }
    }
    if (!model) {
        free(ids);
        return cli_die("detokenize: -m FILE is required (try: hearth detokenize --help)");
    }
    hr_tokenizer *tok = NULL;
    if (open_tokenizer(model, &tok)) {
        free(ids);
        return 1;
    }
    if (batch) {
        free(ids);
        int rc = detokenize_batch(tok, special);
        hr_tokenizer_free(tok);
        return rc;
    }
    hearth_error err = {{0}};
    char *text = NULL;
    size_t len = 0;
    hearth_status st = hr_detokenize(tok, ids, n, special, &text, &len, &err);
    hr_tokenizer_free(tok);
    free(ids);
    if (st != HEARTH_OK) return cli_die("detokenize: %s", err.message);
    fwrite(text, 1, len, stdout);
    putchar('\n');
    free(text);
    return fflush(stdout) ? 1 : 0;
}
