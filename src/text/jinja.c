/* Entry points: parse once into the template's own arena, render into a
 * fresh arena per call; errors from anywhere inside unwind to here. */
#include "text/jinja.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "text/jinja_int.h"

#define MAX_TEMPLATE_BYTES (16u << 20)

struct hr_jinja {
    jarena arena;
    jnode *prog;
};

/* Node reads template files as UTF-8 with replacement characters. */
static jstr sanitize_utf8(jctx *c, const char *s, size_t n) {
    size_t i = 0, l;
    bool clean = true;
    while (i < n) {
        uint32_t cp = u8_decode(s + i, n - i, &l);
        if ((cp == 0xFFFD && l == 1) || (cp >= 0xD800 && cp <= 0xDFFF)) {
            clean = false;
            break;
        }
        i += l;
    }
    if (clean) return (jstr){s, n};
    jbuf b = {0};
    for (i = 0; i < n; i += l) {
        uint32_t cp = u8_decode(s + i, n - i, &l);
        if ((cp == 0xFFFD && l == 1) || (cp >= 0xD800 && cp <= 0xDFFF)) jb_put(c, &b, "\xef\xbf\xbd", 3);
        else jb_put(c, &b, s + i, l);
    }
    return jb_str(&b);
}

hearth_status hr_jinja_parse(const char *src, size_t len, hr_jinja **out, hearth_error *err, int *err_line) {
    *out = NULL;
    if (err_line) *err_line = 0;
    if (!src && len) return hr_fail(err, HEARTH_ERR_INVALID, "template text is NULL");
    if (len > MAX_TEMPLATE_BYTES) return hr_fail(err, HEARTH_ERR_RANGE, "template of %zu bytes is too large", len);
    /* state read after longjmp lives on the heap, not in registers */
    hr_jinja *t = calloc(1, sizeof *t);
    jctx *c = calloc(1, sizeof *c);
    jmp_buf *jb = malloc(sizeof *jb);
    if (!t || !c || !jb) {
        free(t), free(c), free(jb);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    t->arena.cap = (size_t)64 * len + ((size_t)64 << 20);
    *c = (jctx){.A = &t->arena, .jb = jb, .err = err, .line = 1};
    if (setjmp(*jb)) {
        if (err_line) *err_line = c->err_line;
        ja_free_all(&t->arena);
        free(t), free(c), free(jb);
        return HEARTH_ERR_FORMAT;
    }
    jstr s = sanitize_utf8(c, src ? src : "", len);
    jtok *toks;
    size_t ntoks;
    jlex(c, s.p, s.n, &toks, &ntoks);
    t->prog = jparse(c, toks, ntoks);
    free(c), free(jb);
    *out = t;
    return HEARTH_OK;
}

void hr_jinja_free(hr_jinja *t) {
    if (!t) return;
    ja_free_all(&t->arena);
    free(t);
}

hearth_status hr_jinja_render(const hr_jinja *t, const json_t *context, const hr_jinja_opts *opts, char **out,
                              size_t *out_len, hearth_error *err, int *err_line) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if (err_line) *err_line = 0;
    if (!t) return hr_fail(err, HEARTH_ERR_INVALID, "no template");
    if (context && !json_is_object(context)) return hr_fail(err, HEARTH_ERR_INVALID, "template context must be a JSON object");
    hr_jinja_opts o = opts ? *opts : (hr_jinja_opts){0};
    struct state {
        jarena arena;
        jctx c;
        jrt r;
        jmp_buf jb;
    } *st = calloc(1, sizeof *st);
    if (!st) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    st->arena.cap = o.max_memory ? o.max_memory : ((size_t)512 << 20);
    st->c = (jctx){.A = &st->arena, .jb = &st->jb, .err = err, .line = 0};
    st->r = (jrt){
        .c = &st->c,
        .max_depth = 2000,
        .max_steps = o.max_steps ? o.max_steps : 50000000ull,
        .max_output = o.max_output ? o.max_output : ((size_t)64 << 20),
        .now = o.now,
        .utc = o.utc != 0,
    };
    if (setjmp(st->jb)) {
        if (err_line) *err_line = st->c.err_line;
        ja_free_all(&st->arena);
        free(st);
        return HEARTH_ERR_FORMAT;
    }
    jctx *c = &st->c;
    jrt *r = &st->r;
    jenv *env = jenv_new(r, NULL);
    jsetup_globals(r, env);
    if (context) {
        jv *ctx = jv_from_json(c, context);
        for (size_t i = 0; i < ctx->map->n; i++) {
            jstr k = ctx->map->k[i];
            if (js_eq(k, "namespace") || jm_get(&env->vars, k)) jraise(c, "Variable already declared: %.*s", (int)k.n, k.p);
            jenv_set(r, env, k, ctx->map->v[i]);
        }
    }
    jv *res = jeval(r, t->prog, env);
    char *s = malloc(res->s.n + 1);
    if (!s) jraise(c, "out of memory");
    memcpy(s, res->s.p, res->s.n);
    s[res->s.n] = 0;
    *out = s;
    if (out_len) *out_len = res->s.n;
    ja_free_all(&st->arena);
    free(st);
    return HEARTH_OK;
}
