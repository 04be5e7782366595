/* The request-body parser: the bytes of a POST body to a reply or a job ready
 * to submit. Every defect of untrusted input (bad UTF-8, deep nesting, huge
 * numbers, wrong types) is a 400 with a message; nothing here may crash, and
 * the work is bounded by the body's size. This is the fuzz target's entry. */
#include <string.h>

#include "serve/request.h"

/* Real requests nest a few levels (body, messages, parts); the parser recurses per level. */
#define HS_MAX_JSON_DEPTH 64

/* Depth of [ and { outside strings, checked before parsing so that the parser's
 * recursion never goes deeper than the bound. */
static bool depth_ok(const char *p, size_t n, size_t *at) {
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > HS_MAX_JSON_DEPTH) return *at = i, false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

static hs_reply parse_error(const json_error_t *je) {
    switch (json_error_code(je)) {
    case json_error_invalid_utf8:
        return hs_bad("the JSON body is not valid UTF-8 (line %d, column %d): strings must be UTF-8 text", je->line,
                      je->column);
    case json_error_numeric_overflow:
        return hs_bad("a number in the JSON body is out of range (line %d, column %d): %s", je->line, je->column, je->text);
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return hs_bad("the JSON body contains a NUL character (line %d, column %d)", je->line, je->column);
    default:
        return hs_bad("malformed JSON body: %s (line %d, column %d)", je->text, je->line, je->column);
    }
}

hs_reply hs_post(hs_server *sv, hs_post_endpoint ep, const char *data, size_t len) {
    size_t at = 0;
    if (!depth_ok(data, len, &at))
        return hs_bad("the JSON body is nested deeper than %d levels (at byte %zu)", HS_MAX_JSON_DEPTH, at);
    json_error_t je;
    json_t *body = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!body) return parse_error(&je);
    if (!json_is_object(body)) {
        json_decref(body);
        return hs_bad("the JSON body must be an object");
    }
    hs_reply r;
    switch (ep) {
    case HS_POST_CHAT: r = hs_openai_chat(sv, body); break;
    case HS_POST_COMPLETIONS: r = hs_openai_completions(sv, body); break;
    case HS_POST_OLLAMA_CHAT: r = hs_ollama_chat(sv, body); break;
    case HS_POST_OLLAMA_GENERATE: r = hs_ollama_generate(sv, body); break;
    default: r = hs_ollama_show(sv, body); break;
    }
    json_decref(body);
    return r;
}
