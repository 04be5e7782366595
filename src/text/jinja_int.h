/* Internals of the Jinja engine shared by its files (not an interface for
 * other modules: use jinja.h). Everything lives in an arena and errors unwind
 * with longjmp, so a failing parse or render frees all it made at once. */
#ifndef HR_JINJA_INT_H
#define HR_JINJA_INT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"

/* ---- arena and the error/unwind context ---- */
typedef struct ja_chunk ja_chunk;
typedef struct jarena {
    ja_chunk *head;
    size_t used, cap; /* bytes obtained from malloc, limit */
} jarena;

typedef struct jctx {
    jarena *A;
    jmp_buf *jb;
    hearth_error *err;
    int line;     /* line of the construct being evaluated, for errors */
    int err_line; /* line recorded when an error is raised */
} jctx;

_Noreturn void jraise(jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *ja_alloc(jctx *c, size_t n); /* zeroed; raises when over the memory limit */
void ja_free_all(jarena *a);

/* ---- strings (UTF-8, not NUL-terminated unless made with js_cstr) ---- */
typedef struct jstr {
    const char *p;
    size_t n;
} jstr;

typedef struct jbuf {
    char *p;
    size_t n, cap;
    size_t limit; /* 0: no limit besides memory */
} jbuf;

void jb_put(jctx *c, jbuf *b, const char *s, size_t n);
void jb_puts(jctx *c, jbuf *b, const char *s);
void jb_putc(jctx *c, jbuf *b, char ch);
void jb_printf(jctx *c, jbuf *b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
jstr jb_str(jbuf *b);
jstr js_dup(jctx *c, const char *s, size_t n);
jstr js_lit(const char *s);
bool js_eq(jstr a, const char *lit);
bool js_eqs(jstr a, jstr b);

/* UTF-8 helpers following JavaScript's view of strings. */
uint32_t u8_decode(const char *s, size_t n, size_t *len); /* bad bytes decode as U+FFFD, len 1 */
size_t u8_encode(uint32_t cp, char *out);
bool js_is_space(uint32_t cp); /* JavaScript \s and trim() */
size_t js_utf16_len(jstr s);
jstr js_trim(jstr s, bool left, bool right);
jstr js_upper(jctx *c, jstr s);
jstr js_lower(jctx *c, jstr s);
int js_strcmp(jstr a, jstr b); /* UTF-16 code unit order, like JavaScript's < */
void js_num_fmt(double v, char *out, size_t cap); /* Number.prototype.toString() */

/* ---- tokens ---- */
typedef enum {
    T_TEXT, T_NUM, T_STR, T_IDENT, T_EQUALS, T_LPAREN, T_RPAREN, T_OPEN_STMT, T_CLOSE_STMT, T_OPEN_EXPR,
    T_CLOSE_EXPR, T_LBRACKET, T_RBRACKET, T_LBRACE, T_RBRACE, T_COMMA, T_DOT, T_COLON, T_PIPE, T_ADD, T_MUL,
    T_POW, T_CMP, T_UNARY, T_COMMENT,
} jtok_type;

typedef struct jtok {
    jtok_type type;
    jstr v;
    int line;
} jtok;

const char *jtok_name(jtok_type t);
/* Hugging Face's preprocessing (lstrip_blocks, trim_blocks, generation tags) then tokens. */
void jlex(jctx *c, const char *src, size_t len, jtok **toks, size_t *ntoks);

/* ---- syntax tree ---- */
typedef enum {
    N_PROGRAM, N_IF, N_FOR, N_BREAK, N_CONTINUE, N_SET, N_MACRO, N_COMMENT, N_MEMBER, N_CALL, N_IDENT, N_INT,
    N_FLOAT, N_STR, N_ARRAY, N_TUPLE, N_OBJECT, N_BINARY, N_FILTER, N_FILTER_STMT, N_SELECT, N_TEST, N_UNARY,
    N_SLICE, N_KWARG, N_SPREAD, N_KWSPREAD, N_CALL_STMT, N_TERNARY,
} jnode_kind;

typedef struct jnode jnode;
typedef struct jlist_n {
    jnode **v;
    size_t n;
} jlist_n;

struct jnode {
    jnode_kind kind;
    int line;
    jstr s;        /* identifier name, string value, operator */
    double num;    /* numeric literal */
    bool flag;     /* member: computed; test: negated */
    jnode *a, *b, *c; /* children: see the parser for each kind */
    jlist_n l1, l2, l3;
    unsigned special; /* macro/call: 1 = reads kwargs, 2 = reads varargs */
};

const char *jnode_type_name(jnode_kind k);
jnode *jparse(jctx *c, jtok *toks, size_t ntoks);

/* ---- values ---- */
typedef enum {
    V_UNDEF, V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_ARRAY, V_TUPLE, V_OBJECT, V_KWARGS, V_NS, V_FUNC,
    V_RAWUNDEF, /* JavaScript's own undefined leaking out (e.g. [] | first) */
} jv_kind;

typedef struct jv jv;
typedef struct jarr {
    jv **v;
    size_t n, cap;
} jarr;
typedef struct jmap {
    jstr *k;
    jv **v;
    size_t n, cap;
    uint32_t *hidx; /* open-addressing index (entry + 1) once the map grows past a few keys */
    size_t hcap;
} jmap;

struct jenv;
struct jrt;
typedef jv *(*jbuiltin_fn)(struct jrt *r, jv *self, jv **args, size_t nargs, struct jenv *env);

typedef struct jfunc {
    jbuiltin_fn fn; /* builtin, or NULL for a macro / caller block */
    jv *self;
    jnode *node;       /* macro or call statement */
    struct jenv *env;  /* call block: the environment it was defined in */
    bool wrapped;      /* a context function (raise_exception, range, ...): gets raw values */
} jfunc;

struct jv {
    jv_kind k;
    bool b;
    union {
        double num;
        jstr s;
        jarr *arr;
        jmap *map;
        jfunc *fn;
    };
};

extern jv jv_undef_s, jv_null_s, jv_true_s, jv_false_s, jv_rawundef_s;
#define JV_UNDEF (&jv_undef_s)
#define JV_NULL (&jv_null_s)
#define JV_RAWUNDEF (&jv_rawundef_s)

const char *jv_type_name(const jv *v);
jv *jv_bool(bool b);
jv *jv_int(jctx *c, double n);
jv *jv_float(jctx *c, double n);
jv *jv_num_auto(jctx *c, double n); /* integer when integral, as JavaScript's conversion does */
jv *jv_str(jctx *c, jstr s);
jv *jv_cstr(jctx *c, const char *s);
jv *jv_array(jctx *c, jv_kind k, size_t cap);
void jv_push(jctx *c, jv *arr, jv *x);
jv *jv_map(jctx *c, jv_kind k);
jv *jmap_get(const jv *m, jstr key); /* NULL when absent */
void jmap_set(jctx *c, jv *m, jstr key, jv *x);
jv *jm_get(const jmap *m, jstr key);
void jm_set(jctx *c, jmap *m, jstr key, jv *x);
bool jv_truthy(jctx *c, const jv *v);
bool jv_is_numeric(const jv *v); /* int or float */
bool jv_is_array(const jv *v);   /* array or tuple */
bool jv_is_object(const jv *v);  /* object or kwargs */

/* RuntimeValue.toString() */
jstr jv_to_string(jctx *c, jv *v);
/* String() of the raw JavaScript value (what ~, + and join use) */
void jv_raw_string(jctx *c, jbuf *b, jv *v, bool in_join);
/* toJSON: indent < 0 for none; seps NULL for the defaults */
typedef struct jjson_opts {
    int indent;
    bool ensure_ascii, sort_keys, undef_as_null;
    jstr item_sep, key_sep;
    bool custom_seps;
} jjson_opts;
void jv_to_json(jctx *c, jbuf *b, jv *v, const jjson_opts *o, int depth);
bool jv_loose_eq(jctx *c, jv *a, jv *b);  /* JavaScript == on .value */
bool jv_strict_eq(jv *a, jv *b);          /* JavaScript === on .value */
int jv_compare(jctx *c, jv *a, jv *b, bool case_sensitive); /* compareRuntimeValues */
jv *jv_from_json(jctx *c, const void *json); /* json_t* */

/* ---- interpreter ---- */
typedef struct jenv {
    struct jenv *parent;
    jmap vars;
} jenv;

typedef struct jhandler {
    jmp_buf jb;
    struct jhandler *prev;
} jhandler;

typedef struct jrt {
    jctx *c;
    jhandler *loop; /* innermost loop catching break/continue */
    int ctl;        /* 1 break, 2 continue */
    int depth, max_depth;
    uint64_t steps, max_steps;
    size_t max_output;
    int64_t now;
    bool utc;
} jrt;

jenv *jenv_new(jrt *r, jenv *parent);
void jenv_set(jrt *r, jenv *e, jstr name, jv *v);
jv *jenv_lookup(jrt *r, jenv *e, jstr name);
jv *jeval(jrt *r, jnode *n, jenv *env);
jv *jeval_block(jrt *r, jlist_n *stmts, jenv *env);
jv *jcall(jrt *r, jv *fn, jv **args, size_t nargs, jenv *env);
void jeval_args(jrt *r, jlist_n *args, jenv *env, jarr *pos, jv *kwargs);
jv *japply_filter(jrt *r, jv *operand, jnode *filter, jenv *env);
bool jrun_test(jrt *r, jstr name, jv **args, size_t nargs, bool *found);
jv *jmember_builtin(jrt *r, jv *obj, jstr name); /* NULL when none */
void jsetup_globals(jrt *r, jenv *env);
jv *jglobal_namespace(void);

#endif
