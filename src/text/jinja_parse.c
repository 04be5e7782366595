/* Tokens to syntax tree: a recursive-descent parser with @huggingface/jinja's
 * grammar, precedence and error messages. Nesting is bounded so hostile
 * input cannot exhaust the C stack. */
#include <stdlib.h>
#include <string.h>

#include "text/jinja_int.h"

#define MAX_PARSE_DEPTH 200

typedef struct {
    jctx *c;
    jtok *t;
    size_t n, cur;
    int depth;
} parser;

typedef struct {
    jnode **v;
    size_t n, cap;
} nvec;

static void nv_push(parser *P, nvec *v, jnode *x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        jnode **nvv = ja_alloc(P->c, cap * sizeof *nvv);
        if (v->n) memcpy(nvv, v->v, v->n * sizeof *nvv);
        v->v = nvv;
        v->cap = cap;
    }
    v->v[v->n++] = x;
}

static jlist_n nv_list(nvec *v) { return (jlist_n){v->v, v->n}; }

const char *jnode_type_name(jnode_kind k) {
    static const char *names[] = {
        "Program", "If", "For", "Break", "Continue", "Set", "Macro", "Comment", "MemberExpression",
        "CallExpression", "Identifier", "IntegerLiteral", "FloatLiteral", "StringLiteral", "ArrayLiteral",
        "TupleLiteral", "ObjectLiteral", "BinaryExpression", "FilterExpression", "FilterStatement",
        "SelectExpression", "TestExpression", "UnaryExpression", "SliceExpression", "KeywordArgumentExpression",
        "SpreadExpression", "KeywordSpreadExpression", "CallStatement", "Ternary",
    };
    return names[k];
}

static _Noreturn void undef_read(parser *P, const char *prop) {
    if (P->n) P->c->line = P->t[P->n - 1].line;
    jraise(P->c, "Cannot read properties of undefined (reading '%s')", prop);
}

static jtok *tok(parser *P, size_t i) {
    if (i >= P->n) undef_read(P, "type");
    P->c->line = P->t[i].line;
    return &P->t[i];
}

static jnode *mk(parser *P, jnode_kind k) {
    jnode *n = ja_alloc(P->c, sizeof *n);
    n->kind = k;
    n->line = P->cur < P->n ? P->t[P->cur].line : (P->n ? P->t[P->n - 1].line : 1);
    return n;
}

static void enter(parser *P) {
    if (++P->depth > MAX_PARSE_DEPTH) jraise(P->c, "Maximum call stack size exceeded");
}

static bool is1(parser *P, jtok_type t) { return P->cur < P->n && P->t[P->cur].type == t; }

static jtok *expect(parser *P, jtok_type type, const char *msg) {
    if (P->cur >= P->n) {
        P->cur++;
        undef_read(P, "type");
    }
    jtok *t = &P->t[P->cur++];
    P->c->line = t->line;
    if (t->type != type) jraise(P->c, "Parser Error: %s. %s !== %s.", msg, jtok_name(t->type), jtok_name(type));
    return t;
}

static bool is_ident(parser *P, const char *name) {
    return P->cur < P->n && P->t[P->cur].type == T_IDENT && js_eq(P->t[P->cur].v, name);
}

static bool is_ident2(parser *P, const char *a, const char *b) {
    return P->cur + 1 < P->n && P->t[P->cur].type == T_IDENT && js_eq(P->t[P->cur].v, a) &&
           P->t[P->cur + 1].type == T_IDENT && js_eq(P->t[P->cur + 1].v, b);
}

static void expect_ident(parser *P, const char *name) {
    if (!is_ident(P, name)) jraise(P->c, "Expected %s", name);
    P->cur++;
}

static bool is_stmt(parser *P, const char *const *names) {
    if (!(P->cur + 1 < P->n && P->t[P->cur].type == T_OPEN_STMT && P->t[P->cur + 1].type == T_IDENT)) return false;
    for (; *names; names++)
        if (js_eq(P->t[P->cur + 1].v, *names)) return true;
    return false;
}

static jnode *parse_any(parser *P);
static jnode *parse_expr(parser *P);
static jnode *parse_primary(parser *P);
static jnode *parse_member(parser *P, jnode *obj);
static jnode *parse_call(parser *P, jnode *callee);
static jlist_n parse_args(parser *P, bool params);

static jnode *parse_seq(parser *P, bool primary) {
    nvec v = {0};
    nv_push(P, &v, primary ? parse_primary(P) : parse_expr(P));
    bool tuple = is1(P, T_COMMA);
    while (tuple) {
        P->cur++;
        nv_push(P, &v, primary ? parse_primary(P) : parse_expr(P));
        if (!is1(P, T_COMMA)) break;
    }
    if (!tuple) return v.v[0];
    jnode *t = mk(P, N_TUPLE);
    t->line = v.v[0]->line;
    t->l1 = nv_list(&v);
    return t;
}

static jlist_n parse_until(parser *P, const char *const *names) {
    nvec v = {0};
    while (!is_stmt(P, names)) nv_push(P, &v, parse_any(P));
    return nv_list(&v);
}

static jnode *parse_set(parser *P, int line) {
    jnode *n = mk(P, N_SET);
    n->line = line;
    n->a = parse_seq(P, false);
    if (is1(P, T_EQUALS)) {
        P->cur++;
        n->b = parse_seq(P, false);
    } else {
        expect(P, T_CLOSE_STMT, "Expected %} token");
        static const char *const end[] = {"endset", NULL};
        n->l1 = parse_until(P, end);
        expect(P, T_OPEN_STMT, "Expected {% token");
        expect_ident(P, "endset");
    }
    expect(P, T_CLOSE_STMT, "Expected closing statement token");
    return n;
}

static jnode *parse_if(parser *P, int line) {
    enter(P);
    jnode *n = mk(P, N_IF);
    n->line = line;
    n->a = parse_expr(P);
    expect(P, T_CLOSE_STMT, "Expected closing statement token");
    static const char *const stops[] = {"elif", "else", "endif", NULL};
    n->l1 = parse_until(P, stops);
    static const char *const elif[] = {"elif", NULL}, *const els[] = {"else", NULL}, *const endif[] = {"endif", NULL};
    if (is_stmt(P, elif)) {
        int l = P->t[P->cur].line;
        P->cur += 2;
        nvec v = {0};
        nv_push(P, &v, parse_if(P, l));
        n->l2 = nv_list(&v);
    } else if (is_stmt(P, els)) {
        P->cur += 2;
        expect(P, T_CLOSE_STMT, "Expected closing statement token");
        n->l2 = parse_until(P, endif);
    }
    P->depth--;
    return n;
}

/* Which of kwargs/varargs a macro body reads before declaring them, in
 * Jinja's visiting order (findAccessedSpecialMacroArguments). */
typedef struct {
    unsigned declared, accessed;
} special_scan;

static unsigned special_bit(jstr s) { return js_eq(s, "kwargs") ? 1u : js_eq(s, "varargs") ? 2u : 0u; }

static void sv_visit(special_scan *S, jnode *n);
static void sv_list(special_scan *S, jlist_n *l) {
    for (size_t i = 0; i < l->n; i++) sv_visit(S, l->v[i]);
}
static void sv_declare_target(special_scan *S, jnode *t) {
    if (!t) return;
    if (t->kind == N_IDENT) S->declared |= special_bit(t->s);
    else if (t->kind == N_TUPLE)
        for (size_t i = 0; i < t->l1.n; i++) sv_declare_target(S, t->l1.v[i]);
}
static jstr param_name(jnode *p) { return p->kind == N_IDENT ? p->s : p->s; }
static void sv_params(special_scan *S, jlist_n *params) {
    for (size_t i = 0; i < params->n; i++) S->declared |= special_bit(param_name(params->v[i]));
    for (size_t i = 0; i < params->n; i++)
        if (params->v[i]->kind == N_KWARG) sv_visit(S, params->v[i]->b);
}
static void sv_filter(special_scan *S, jnode *f) {
    if (f->kind == N_CALL) sv_list(S, &f->l1);
}

static void sv_visit(special_scan *S, jnode *n) {
    if (!n) return;
    switch (n->kind) {
    case N_FOR:
        sv_declare_target(S, n->a);
        if (n->b->kind == N_SELECT) {
            sv_visit(S, n->b->a);
            sv_list(S, &n->l1);
            sv_list(S, &n->l2);
            sv_visit(S, n->b->b);
            return;
        }
        sv_visit(S, n->b);
        sv_list(S, &n->l1);
        sv_list(S, &n->l2);
        return;
    case N_SET:
        sv_declare_target(S, n->a);
        sv_visit(S, n->b);
        sv_list(S, &n->l1);
        return;
    case N_MACRO:
        sv_params(S, &n->l1);
        sv_list(S, &n->l2);
        return;
    case N_CALL_STMT:
        sv_visit(S, n->a);
        sv_params(S, &n->l1);
        sv_list(S, &n->l2);
        return;
    case N_FILTER_STMT:
        sv_list(S, &n->l1);
        sv_filter(S, n->b);
        return;
    case N_IDENT: {
        unsigned b = special_bit(n->s);
        if (b && !(S->declared & b)) S->accessed |= b;
        return;
    }
    case N_MEMBER:
        sv_visit(S, n->a);
        if (n->flag) sv_visit(S, n->b);
        return;
    case N_FILTER:
        sv_visit(S, n->a);
        sv_filter(S, n->b);
        return;
    case N_TEST: sv_visit(S, n->a); return;
    case N_SELECT:
        sv_visit(S, n->b);
        sv_visit(S, n->a);
        return;
    case N_KWARG: sv_visit(S, n->b); return;
    case N_OBJECT:
        for (size_t i = 0; i < n->l1.n; i++) {
            sv_visit(S, n->l1.v[i]);
            sv_visit(S, n->l2.v[i]);
        }
        return;
    default:
        sv_visit(S, n->a);
        sv_visit(S, n->b);
        sv_visit(S, n->c);
        sv_list(S, &n->l1);
        sv_list(S, &n->l2);
        return;
    }
}

static unsigned special_args(jlist_n *params, jlist_n *body) {
    special_scan S = {0, 0};
    for (size_t i = 0; i < params->n; i++) S.declared |= special_bit(param_name(params->v[i]));
    sv_list(&S, body);
    return S.accessed;
}

static jnode *parse_macro(parser *P, int line) {
    jnode *n = mk(P, N_MACRO);
    n->line = line;
    jnode *name = parse_primary(P);
    if (name->kind != N_IDENT) jraise(P->c, "Expected identifier following macro statement");
    n->s = name->s;
    n->l1 = parse_args(P, true);
    expect(P, T_CLOSE_STMT, "Expected closing statement token");
    static const char *const end[] = {"endmacro", NULL};
    n->l2 = parse_until(P, end);
    n->special = special_args(&n->l1, &n->l2);
    return n;
}

static jnode *parse_for(parser *P, int line) {
    jnode *n = mk(P, N_FOR);
    n->line = line;
    n->a = parse_seq(P, true);
    if (n->a->kind != N_IDENT && n->a->kind != N_TUPLE)
        jraise(P->c, "Expected identifier/tuple for the loop variable, got %s instead", jnode_type_name(n->a->kind));
    if (!is_ident(P, "in")) jraise(P->c, "Expected `in` keyword following loop variable");
    P->cur++;
    n->b = parse_expr(P);
    expect(P, T_CLOSE_STMT, "Expected closing statement token");
    static const char *const stops[] = {"endfor", "else", NULL}, *const els[] = {"else", NULL},
                             *const end[] = {"endfor", NULL};
    n->l1 = parse_until(P, stops);
    if (is_stmt(P, els)) {
        P->cur += 2;
        expect(P, T_CLOSE_STMT, "Expected closing statement token");
        n->l2 = parse_until(P, end);
    }
    return n;
}

static jnode *parse_statement(parser *P) {
    jtok *open = expect(P, T_OPEN_STMT, "Expected opening statement token");
    int line = open->line;
    jtok *t = tok(P, P->cur);
    if (t->type != T_IDENT) jraise(P->c, "Unknown statement, got %s", jtok_name(t->type));
    jstr name = t->v;
    jnode *r;
    enter(P);
    if (js_eq(name, "set")) {
        P->cur++;
        r = parse_set(P, line);
    } else if (js_eq(name, "if")) {
        P->cur++;
        r = parse_if(P, line);
        expect(P, T_OPEN_STMT, "Expected {% token");
        expect_ident(P, "endif");
        expect(P, T_CLOSE_STMT, "Expected %} token");
    } else if (js_eq(name, "macro")) {
        P->cur++;
        r = parse_macro(P, line);
        expect(P, T_OPEN_STMT, "Expected {% token");
        expect_ident(P, "endmacro");
        expect(P, T_CLOSE_STMT, "Expected %} token");
    } else if (js_eq(name, "for")) {
        P->cur++;
        r = parse_for(P, line);
        expect(P, T_OPEN_STMT, "Expected {% token");
        expect_ident(P, "endfor");
        expect(P, T_CLOSE_STMT, "Expected %} token");
    } else if (js_eq(name, "call")) {
        P->cur++;
        r = mk(P, N_CALL_STMT);
        r->line = line;
        bool has_params = is1(P, T_LPAREN);
        if (has_params) r->l1 = parse_args(P, true);
        jnode *callee = parse_primary(P);
        if (callee->kind != N_IDENT) jraise(P->c, "Expected identifier following call statement");
        jnode *call = mk(P, N_CALL);
        call->line = line;
        call->a = callee;
        call->l1 = parse_args(P, false);
        expect(P, T_CLOSE_STMT, "Expected closing statement token");
        static const char *const end[] = {"endcall", NULL};
        r->l2 = parse_until(P, end);
        expect(P, T_OPEN_STMT, "Expected '{%'");
        expect_ident(P, "endcall");
        expect(P, T_CLOSE_STMT, "Expected closing statement token");
        r->a = call;
        r->special = special_args(&r->l1, &r->l2);
    } else if (js_eq(name, "break") || js_eq(name, "continue")) {
        P->cur++;
        expect(P, T_CLOSE_STMT, "Expected closing statement token");
        r = mk(P, js_eq(name, "break") ? N_BREAK : N_CONTINUE);
        r->line = line;
    } else if (js_eq(name, "filter")) {
        P->cur++;
        r = mk(P, N_FILTER_STMT);
        r->line = line;
        jnode *f = parse_primary(P);
        if (f->kind == N_IDENT && is1(P, T_LPAREN)) f = parse_call(P, f);
        expect(P, T_CLOSE_STMT, "Expected closing statement token");
        static const char *const end[] = {"endfilter", NULL};
        r->l1 = parse_until(P, end);
        expect(P, T_OPEN_STMT, "Expected '{%'");
        expect_ident(P, "endfilter");
        expect(P, T_CLOSE_STMT, "Expected '%}'");
        r->b = f;
    } else {
        jraise(P->c, "Unknown statement type: %.*s", (int)name.n, name.p);
    }
    P->depth--;
    return r;
}

static jnode *parse_any(parser *P) {
    jtok *t = tok(P, P->cur);
    switch (t->type) {
    case T_COMMENT: {
        jnode *n = mk(P, N_COMMENT);
        n->s = t->v;
        P->cur++;
        return n;
    }
    case T_TEXT: {
        jnode *n = mk(P, N_STR);
        n->s = expect(P, T_TEXT, "Expected text token")->v;
        return n;
    }
    case T_OPEN_STMT: return parse_statement(P);
    case T_OPEN_EXPR: {
        expect(P, T_OPEN_EXPR, "Expected opening expression token");
        jnode *e = parse_expr(P);
        expect(P, T_CLOSE_EXPR, "Expected closing expression token");
        return e;
    }
    default: jraise(P->c, "Unexpected token type: %s", jtok_name(t->type));
    }
}

static jnode *parse_or(parser *P);

static jnode *parse_if_expr(parser *P) {
    jnode *a = parse_or(P);
    if (is_ident(P, "if")) {
        P->cur++;
        jnode *test = parse_or(P);
        if (is_ident(P, "else")) {
            P->cur++;
            enter(P);
            jnode *f = parse_if_expr(P);
            P->depth--;
            jnode *n = mk(P, N_TERNARY);
            n->line = a->line;
            n->a = test;
            n->b = a;
            n->c = f;
            return n;
        }
        jnode *n = mk(P, N_SELECT);
        n->line = a->line;
        n->a = a;
        n->b = test;
        return n;
    }
    return a;
}

static jnode *parse_expr(parser *P) {
    enter(P);
    jnode *r = parse_if_expr(P);
    P->depth--;
    return r;
}

static jnode *binop(parser *P, jstr op, jnode *l, jnode *r) {
    jnode *n = mk(P, N_BINARY);
    n->line = l->line;
    n->s = op;
    n->a = l;
    n->b = r;
    return n;
}

static jnode *parse_not(parser *P);
static jnode *parse_and(parser *P) {
    jnode *l = parse_not(P);
    while (is_ident(P, "and")) {
        jstr op = P->t[P->cur++].v;
        l = binop(P, op, l, parse_not(P));
    }
    return l;
}

static jnode *parse_or(parser *P) {
    jnode *l = parse_and(P);
    while (is_ident(P, "or")) {
        jstr op = P->t[P->cur++].v;
        l = binop(P, op, l, parse_and(P));
    }
    return l;
}

static jnode *parse_cmp(parser *P);
static jnode *parse_not(parser *P) {
    jnode *r = NULL;
    while (is_ident(P, "not")) {
        jnode *n = mk(P, N_UNARY);
        n->s = P->t[P->cur++].v;
        enter(P);
        n->a = parse_not(P);
        P->depth--;
        r = n;
    }
    return r ? r : parse_cmp(P);
}

static jnode *parse_add(parser *P);
static jnode *parse_cmp(parser *P) {
    jnode *l = parse_add(P);
    for (;;) {
        jstr op;
        if (is_ident2(P, "not", "in")) {
            op = js_lit("not in");
            P->cur += 2;
        } else if (is_ident(P, "in") || is1(P, T_CMP)) {
            op = P->t[P->cur++].v;
        } else {
            break;
        }
        l = binop(P, op, l, parse_add(P));
    }
    return l;
}

static jnode *parse_mul(parser *P);
static jnode *parse_add(parser *P) {
    jnode *l = parse_mul(P);
    while (is1(P, T_ADD)) {
        jstr op = P->t[P->cur++].v;
        l = binop(P, op, l, parse_mul(P));
    }
    return l;
}

static jnode *parse_pow(parser *P);
static jnode *parse_mul(parser *P) {
    jnode *l = parse_pow(P);
    while (is1(P, T_MUL)) {
        jstr op = P->t[P->cur++].v;
        l = binop(P, op, l, parse_pow(P));
    }
    return l;
}

static jnode *parse_test(parser *P);
static jnode *parse_pow(parser *P) {
    jnode *l = parse_test(P);
    while (is1(P, T_POW)) {
        jstr op = P->t[P->cur++].v;
        l = binop(P, op, l, parse_test(P));
    }
    return l;
}

static jnode *parse_filter(parser *P);
static jnode *parse_test(parser *P) {
    jnode *operand = parse_filter(P);
    while (is_ident(P, "is")) {
        P->cur++;
        bool neg = is_ident(P, "not");
        if (neg) P->cur++;
        jnode *f = parse_primary(P);
        if (f->kind != N_IDENT) jraise(P->c, "Expected identifier for the test");
        jnode *n = mk(P, N_TEST);
        n->line = operand->line;
        n->a = operand;
        n->flag = neg;
        n->s = f->s;
        operand = n;
    }
    return operand;
}

static jnode *parse_unary_sign(parser *P);
static jnode *parse_filter(parser *P) {
    jnode *operand = parse_unary_sign(P);
    while (is1(P, T_PIPE)) {
        P->cur++;
        jnode *f = parse_primary(P);
        if (f->kind != N_IDENT) jraise(P->c, "Expected identifier for the filter");
        if (is1(P, T_LPAREN)) f = parse_call(P, f);
        jnode *n = mk(P, N_FILTER);
        n->line = operand->line;
        n->a = operand;
        n->b = f;
        operand = n;
    }
    return operand;
}

static jnode *parse_call_member(parser *P);
static jnode *parse_unary_sign(parser *P) {
    if (P->cur < P->n) {
        jtok *t = &P->t[P->cur];
        if ((t->type == T_UNARY || t->type == T_ADD) && (js_eq(t->v, "-") || js_eq(t->v, "+"))) {
            jnode *n = mk(P, N_UNARY);
            n->s = t->v;
            P->cur++;
            enter(P);
            n->a = parse_unary_sign(P);
            P->depth--;
            return n;
        }
    }
    return parse_call_member(P);
}

static jnode *parse_call_member(parser *P) {
    jnode *m = parse_member(P, parse_primary(P));
    if (is1(P, T_LPAREN)) return parse_call(P, m);
    return m;
}

static jnode *parse_call(parser *P, jnode *callee) {
    enter(P);
    jnode *n = mk(P, N_CALL);
    n->line = callee->line;
    n->a = callee;
    n->l1 = parse_args(P, false);
    jnode *e = parse_member(P, n);
    if (is1(P, T_LPAREN)) e = parse_call(P, e);
    P->depth--;
    return e;
}

static jlist_n parse_args(parser *P, bool params) {
    expect(P, T_LPAREN, "Expected opening parenthesis for arguments list");
    nvec v = {0};
    nvec names = {0};
    bool saw_kw = false, saw_spread = false;
    while (!is1(P, T_RPAREN)) {
        bool kwspread = is1(P, T_POW);
        bool spread = is1(P, T_MUL) && js_eq(P->t[P->cur].v, "*");
        if (params && (kwspread || spread)) jraise(P->c, "Argument unpacking is not allowed in parameter declarations");
        if (kwspread) {
            P->cur++;
            jnode *n = mk(P, N_KWSPREAD);
            n->a = parse_expr(P);
            nv_push(P, &v, n);
            if (is1(P, T_COMMA)) P->cur++;
            if (!is1(P, T_RPAREN))
                jraise(P->c, "Expected closing parenthesis: `**` must be applied to the final argument");
            break;
        }
        jnode *arg;
        if (spread) {
            if (saw_spread) jraise(P->c, "Only one `*` argument unpacking is allowed");
            saw_spread = true;
            P->cur++;
            arg = mk(P, N_SPREAD);
            arg->a = parse_expr(P);
        } else {
            arg = parse_expr(P);
            if (is1(P, T_EQUALS)) {
                P->cur++;
                if (arg->kind != N_IDENT)
                    jraise(P->c, params ? "Expected identifier for parameter declaration"
                                        : "Expected identifier for keyword argument");
                jnode *kw = mk(P, N_KWARG);
                kw->line = arg->line;
                kw->s = arg->s;
                kw->a = arg;
                kw->b = parse_expr(P);
                arg = kw;
            }
            if (params) {
                if (arg->kind != N_IDENT && arg->kind != N_KWARG)
                    jraise(P->c, "Expected identifier for parameter declaration");
                for (size_t i = 0; i < names.n; i++)
                    if (js_eqs(names.v[i]->s, arg->s))
                        jraise(P->c, "Duplicate parameter name: %.*s", (int)arg->s.n, arg->s.p);
                nv_push(P, &names, arg);
            }
            if (arg->kind == N_KWARG) saw_kw = true;
            else if (saw_kw)
                jraise(P->c, params ? "Non-default argument follows default argument"
                                    : "Positional arguments must come before keyword arguments");
            else if (saw_spread) jraise(P->c, "Positional arguments must not follow `*` argument unpacking");
        }
        nv_push(P, &v, arg);
        if (is1(P, T_COMMA)) P->cur++;
    }
    expect(P, T_RPAREN, "Expected closing parenthesis for arguments list");
    return nv_list(&v);
}

static jnode *parse_subscript(parser *P) {
    jnode *slots[4] = {0};
    size_t n = 0;
    bool slice = false;
    while (!is1(P, T_RBRACKET)) {
        jnode *x = NULL;
        if (is1(P, T_COLON)) {
            P->cur++;
            slice = true;
        } else {
            x = parse_expr(P);
            if (is1(P, T_COLON)) {
                P->cur++;
                slice = true;
            }
        }
        if (n < 4) slots[n] = x;
        n++;
        if (P->cur >= P->n) undef_read(P, "type");
    }
    if (n == 0) jraise(P->c, "Expected at least one argument for member/slice expression");
    if (slice) {
        if (n > 3) jraise(P->c, "Expected 0-3 arguments for slice expression");
        jnode *s = mk(P, N_SLICE);
        s->a = slots[0];
        s->b = slots[1];
        s->c = slots[2];
        return s;
    }
    return slots[0];
}

static jnode *parse_member(parser *P, jnode *obj) {
    int guard = 0;
    while (is1(P, T_DOT) || is1(P, T_LBRACKET)) {
        bool computed = P->t[P->cur].type == T_LBRACKET;
        P->cur++;
        jnode *prop;
        if (computed) {
            enter(P);
            guard++;
            prop = parse_subscript(P);
            expect(P, T_RBRACKET, "Expected closing square bracket");
        } else {
            prop = parse_primary(P);
            if (prop->kind != N_IDENT && prop->kind != N_INT)
                jraise(P->c, "Expected identifier or integer following dot operator");
        }
        jnode *m = mk(P, N_MEMBER);
        m->line = obj->line;
        m->a = obj;
        m->b = prop;
        m->flag = computed;
        obj = m;
    }
    P->depth -= guard;
    return obj;
}

static jnode *parse_primary(parser *P) {
    jtok *t = tok(P, P->cur);
    P->cur++;
    jnode *n;
    switch (t->type) {
    case T_NUM: {
        bool is_float = memchr(t->v.p, '.', t->v.n) != NULL;
        n = mk(P, is_float ? N_FLOAT : N_INT);
        n->line = t->line;
        n->num = strtod(js_dup(P->c, t->v.p, t->v.n).p, NULL);
        return n;
    }
    case T_STR: {
        n = mk(P, N_STR);
        n->line = t->line;
        if (is1(P, T_STR)) {
            jbuf b = {0};
            jb_put(P->c, &b, t->v.p, t->v.n);
            while (is1(P, T_STR)) {
                jb_put(P->c, &b, P->t[P->cur].v.p, P->t[P->cur].v.n);
                P->cur++;
            }
            n->s = jb_str(&b);
        } else {
            n->s = t->v;
        }
        return n;
    }
    case T_IDENT:
        n = mk(P, N_IDENT);
        n->line = t->line;
        n->s = t->v;
        return n;
    case T_LPAREN: {
        enter(P);
        jnode *e = parse_seq(P, false);
        expect(P, T_RPAREN, "Expected closing parenthesis, got ${tokens[current].type} instead.");
        P->depth--;
        return e;
    }
    case T_LBRACKET: {
        enter(P);
        n = mk(P, N_ARRAY);
        n->line = t->line;
        nvec v = {0};
        while (!is1(P, T_RBRACKET)) {
            nv_push(P, &v, parse_expr(P));
            if (is1(P, T_COMMA)) P->cur++;
            if (P->cur >= P->n) undef_read(P, "type");
        }
        P->cur++;
        n->l1 = nv_list(&v);
        P->depth--;
        return n;
    }
    case T_LBRACE: {
        enter(P);
        n = mk(P, N_OBJECT);
        n->line = t->line;
        nvec k = {0}, v = {0};
        while (!is1(P, T_RBRACE)) {
            nv_push(P, &k, parse_expr(P));
            expect(P, T_COLON, "Expected colon between key and value in object literal");
            nv_push(P, &v, parse_expr(P));
            if (is1(P, T_COMMA)) P->cur++;
            if (P->cur >= P->n) undef_read(P, "type");
        }
        P->cur++;
        n->l1 = nv_list(&k);
        n->l2 = nv_list(&v);
        P->depth--;
        return n;
    }
    default: jraise(P->c, "Unexpected token: %s", jtok_name(t->type));
    }
}

jnode *jparse(jctx *c, jtok *toks, size_t ntoks) {
    parser P = {c, toks, ntoks, 0, 0};
    jnode *prog = ja_alloc(c, sizeof *prog);
    prog->kind = N_PROGRAM;
    prog->line = 1;
    nvec v = {0};
    while (P.cur < P.n) nv_push(&P, &v, parse_any(&P));
    prog->l1 = nv_list(&v);
    return prog;
}
