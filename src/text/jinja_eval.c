/* The interpreter: @huggingface/jinja's Interpreter, statement by statement.
 * break/continue unwind like the original's exceptions (to the innermost
 * running loop, even across a macro call), with a handler stack of jmp_bufs. */
#include <math.h>
#include <string.h>

#include "text/jinja_int.h"

/* ---- environments ---- */
jenv *jenv_new(jrt *r, jenv *parent) {
    jenv *e = ja_alloc(r->c, sizeof *e);
    e->parent = parent;
    return e;
}

void jenv_set(jrt *r, jenv *e, jstr name, jv *v) { jm_set(r->c, &e->vars, name, v); }

jv *jenv_lookup(jrt *r, jenv *e, jstr name) {
    (void)r;
    for (; e; e = e->parent) {
        jv *v = jm_get(&e->vars, name);
        if (v) return v;
        /* every Environment starts with its own `namespace` */
        if (js_eq(name, "namespace")) return jglobal_namespace();
    }
    return JV_UNDEF;
}

/* ---- helpers ---- */
static _Noreturn void undef_read(jrt *r, const char *prop) {
    jraise(r->c, "Cannot read properties of undefined (reading '%s')", prop);
}

static jv *str_value(jrt *r, jstr s) { return jv_str(r->c, s); }

jv *jeval_block(jrt *r, jlist_n *stmts, jenv *env) {
    jbuf b = {.limit = r->max_output};
    for (size_t i = 0; i < stmts->n; i++) {
        jv *v = jeval(r, stmts->v[i], env);
        if (v->k == V_RAWUNDEF) undef_read(r, "type");
        if (v->k == V_NULL || v->k == V_UNDEF) continue;
        jstr s = jv_to_string(r->c, v);
        jb_put(r->c, &b, s.p, s.n);
    }
    return str_value(r, jb_str(&b));
}

void jeval_args(jrt *r, jlist_n *args, jenv *env, jarr *pos, jv *kwargs) {
    jctx *c = r->c;
    jv tmp = {.k = V_ARRAY, .arr = pos};
    for (size_t i = 0; i < args->n; i++) {
        jnode *a = args->v[i];
        if (a->kind == N_SPREAD) {
            jv *v = jeval(r, a->a, env);
            if (!jv_is_array(v)) jraise(c, "Cannot unpack non-iterable type: %s", jv_type_name(v));
            for (size_t k = 0; k < v->arr->n; k++) jv_push(c, &tmp, v->arr->v[k]);
        } else if (a->kind != N_KWARG && a->kind != N_KWSPREAD) {
            jv_push(c, &tmp, jeval(r, a, env));
        }
    }
    for (size_t i = 0; i < args->n; i++) {
        jnode *a = args->v[i];
        if (a->kind == N_KWARG) {
            if (jmap_get(kwargs, a->s)) jraise(c, "Got multiple values for keyword argument '%.*s'", (int)a->s.n, a->s.p);
            jmap_set(c, kwargs, a->s, jeval(r, a->b, env));
        } else if (a->kind == N_KWSPREAD) {
            jv *v = jeval(r, a->a, env);
            if (v->k != V_OBJECT) jraise(c, "Argument after ** must be a mapping, not %s", jv_type_name(v));
            for (size_t k = 0; k < v->map->n; k++) {
                if (jmap_get(kwargs, v->map->k[k]))
                    jraise(c, "Got multiple values for keyword argument '%.*s'", (int)v->map->k[k].n, v->map->k[k].p);
                jmap_set(c, kwargs, v->map->k[k], v->map->v[k]);
            }
        }
    }
}

/* ---- macros ---- */
static void bind_args(jrt *r, const char *display, jlist_n *params, unsigned special, jv **args, size_t nargs,
                      jenv *scope) {
    jctx *c = r->c;
    jv *kw = jv_map(c, V_OBJECT);
    size_t npos = nargs;
    if (npos && args[npos - 1]->k == V_KWARGS) {
        jv *src = args[--npos];
        for (size_t i = 0; i < src->map->n; i++) jmap_set(c, kw, src->map->k[i], src->map->v[i]);
    }
    bool *taken = ja_alloc(c, (kw->map->n + 1) * sizeof *taken);
    jnode **pending = ja_alloc(c, (params->n + 1) * sizeof *pending);
    size_t npend = 0;
    for (size_t i = 0; i < params->n; i++) {
        jnode *p = params->v[i];
        jstr name = p->s;
        jv *value = i < npos ? args[i] : NULL;
        if (value && value->k == V_RAWUNDEF) value = NULL;
        if (!value)
            for (size_t k = 0; k < kw->map->n; k++)
                if (!taken[k] && js_eqs(kw->map->k[k], name)) {
                    value = kw->map->v[k];
                    taken[k] = true;
                    break;
                }
        if (!value && p->kind == N_KWARG) pending[npend++] = p;
        jenv_set(r, scope, name, value ? value : JV_UNDEF);
    }
    jv *rest = jv_map(c, V_OBJECT);
    for (size_t k = 0; k < kw->map->n; k++)
        if (!taken[k]) jmap_set(c, rest, kw->map->k[k], kw->map->v[k]);
    if (special & 1) jenv_set(r, scope, js_lit("kwargs"), rest);
    else if (rest->map->n)
        jraise(c, "macro %s takes no keyword argument '%.*s'", display, (int)rest->map->k[0].n, rest->map->k[0].p);
    if (special & 2) {
        jv *va = jv_array(c, V_ARRAY, 0);
        for (size_t i = params->n; i < npos; i++) jv_push(c, va, args[i]);
        jenv_set(r, scope, js_lit("varargs"), va);
    } else if (npos > params->n) {
        jraise(c, "macro %s takes not more than %zu argument(s)", display, params->n);
    }
    for (size_t i = 0; i < npend; i++) jenv_set(r, scope, pending[i]->s, jeval(r, pending[i]->b, scope));
}

jv *jcall(jrt *r, jv *fn, jv **args, size_t nargs, jenv *env) {
    jfunc *f = fn->fn;
    if (f->fn) return f->fn(r, f->self, args, nargs, env);
    jnode *n = f->node;
    int saved = r->c->line;
    jv *res;
    if (n->kind == N_MACRO) {
        jenv *scope = jenv_new(r, env);
        jbuf d = {0};
        jb_printf(r->c, &d, "'%.*s'", (int)n->s.n, n->s.p);
        bind_args(r, jb_str(&d).p, &n->l1, n->special, args, nargs, scope);
        res = jeval_block(r, &n->l2, scope);
    } else {
        jenv *scope = jenv_new(r, f->env);
        bind_args(r, "None", &n->l1, n->special, args, nargs, scope);
        res = jeval_block(r, &n->l2, scope);
    }
    r->c->line = saved;
    return res;
}

static jv *make_func(jrt *r, jnode *node, jenv *env) {
    jv *v = ja_alloc(r->c, sizeof *v);
    v->k = V_FUNC;
    v->fn = ja_alloc(r->c, sizeof *v->fn);
    v->fn->node = node;
    v->fn->env = env;
    return v;
}

/* ---- expressions ---- */
static jv *eval_binary(jrt *r, jnode *n, jenv *env) {
    jctx *c = r->c;
    jv *left = jeval(r, n->a, env);
    jstr op = n->s;
    if (js_eq(op, "and")) return jv_truthy(c, left) ? jeval(r, n->b, env) : left;
    if (js_eq(op, "or")) return jv_truthy(c, left) ? left : jeval(r, n->b, env);
    jv *right = jeval(r, n->b, env);
    if (left->k == V_RAWUNDEF || right->k == V_RAWUNDEF) undef_read(r, "value");
    if (js_eq(op, "==")) return jv_bool(jv_loose_eq(c, left, right));
    if (js_eq(op, "!=")) return jv_bool(!jv_loose_eq(c, left, right));
    bool in = js_eq(op, "in"), notin = js_eq(op, "not in");
    if (left->k == V_UNDEF || right->k == V_UNDEF) {
        if (right->k == V_UNDEF && (in || notin)) return jv_bool(notin);
        jraise(c, "Cannot perform operation %.*s on undefined values", (int)op.n, op.p);
    }
    if (left->k == V_NULL || right->k == V_NULL) jraise(c, "Cannot perform operation on null values");
    if (js_eq(op, "~")) {
        jbuf b = {0};
        jv_raw_string(c, &b, left, false);
        jv_raw_string(c, &b, right, false);
        return str_value(r, jb_str(&b));
    }
    bool lnum = jv_is_numeric(left) || left->k == V_BOOL, rnum = jv_is_numeric(right) || right->k == V_BOOL;
    if (js_eq(op, "**") && lnum && rnum) {
        double a = left->k == V_BOOL ? left->b : left->num, b = right->k == V_BOOL ? right->b : right->num;
        if (a == 0 && b < 0) jraise(c, "0.0 cannot be raised to a negative power");
        double res = pow(a, b);
        if ((a == 1 && !isfinite(b)) || (a == -1 && isinf(b))) res = NAN; /* JavaScript, not C */
        if (!isfinite(res)) jraise(c, "Exponentiation result is not a finite real number");
        bool fl = left->k == V_FLOAT || right->k == V_FLOAT || b < 0;
        return fl ? jv_float(c, res) : jv_int(c, res);
    }
    if (jv_is_numeric(left) && jv_is_numeric(right)) {
        double a = left->num, b = right->num;
        bool fl = left->k == V_FLOAT || right->k == V_FLOAT;
        if (js_eq(op, "+")) return fl ? jv_float(c, a + b) : jv_int(c, a + b);
        if (js_eq(op, "-")) return fl ? jv_float(c, a - b) : jv_int(c, a - b);
        if (js_eq(op, "*")) return fl ? jv_float(c, a * b) : jv_int(c, a * b);
        if (js_eq(op, "/")) return jv_float(c, a / b);
        if (js_eq(op, "//")) return fl ? jv_float(c, floor(a / b)) : jv_int(c, floor(a / b));
        if (js_eq(op, "%")) return fl ? jv_float(c, fmod(a, b)) : jv_int(c, fmod(a, b));
        if (js_eq(op, "<")) return jv_bool(a < b);
        if (js_eq(op, ">")) return jv_bool(a > b);
        if (js_eq(op, ">=")) return jv_bool(a >= b);
        if (js_eq(op, "<=")) return jv_bool(a <= b);
    } else if (jv_is_array(left) && jv_is_array(right)) {
        if (js_eq(op, "+")) {
            jv *res = jv_array(c, V_ARRAY, left->arr->n + right->arr->n);
            for (size_t i = 0; i < left->arr->n; i++) jv_push(c, res, left->arr->v[i]);
            for (size_t i = 0; i < right->arr->n; i++) jv_push(c, res, right->arr->v[i]);
            return res;
        }
    } else if (jv_is_array(right)) {
        bool member = false;
        for (size_t i = 0; i < right->arr->n && !member; i++) {
            jv *x = right->arr->v[i];
            if (x->k == V_RAWUNDEF) continue;
            member = jv_strict_eq(x, left);
        }
        if (in) return jv_bool(member);
        if (notin) return jv_bool(!member);
    }
    if ((left->k == V_STR || right->k == V_STR) && js_eq(op, "+")) {
        jbuf b = {0};
        jv_raw_string(c, &b, left, false);
        jv_raw_string(c, &b, right, false);
        return str_value(r, jb_str(&b));
    }
    if (left->k == V_STR && right->k == V_STR && (in || notin)) {
        bool found = right->s.n >= left->s.n && (left->s.n == 0 || memmem(right->s.p, right->s.n, left->s.p, left->s.n));
        return jv_bool(in ? found : !found);
    }
    if (left->k == V_STR && jv_is_object(right) && (in || notin)) {
        bool found = jmap_get(right, left->s) != NULL;
        return jv_bool(in ? found : !found);
    }
    jraise(c, "Unknown operator \"%.*s\" between %s and %s", (int)op.n, op.p, jv_type_name(left), jv_type_name(right));
}

/* Character i of a string in UTF-16 units (String#at); NULL when out of range. */
static jv *string_at(jrt *r, jstr s, double idx) {
    size_t len = js_utf16_len(s);
    if (isnan(idx)) idx = 0;
    idx = trunc(idx);
    if (idx < 0) idx += (double)len;
    if (idx < 0 || idx >= (double)len) return NULL;
    size_t want = (size_t)idx, u = 0, i = 0, l;
    while (i < s.n) {
        uint32_t cp = u8_decode(s.p + i, s.n - i, &l);
        size_t w = cp >= 0x10000 ? 2 : 1;
        if (want < u + w) {
            if (w == 2) return jv_cstr(r->c, "\xef\xbf\xbd"); /* half a surrogate pair */
            return str_value(r, (jstr){s.p + i, l});
        }
        u += w;
        i += l;
    }
    return NULL;
}

static jv *eval_slice(jrt *r, jv *obj, jnode *sl, jenv *env) {
    jctx *c = r->c;
    if (!jv_is_array(obj) && obj->k != V_STR) jraise(c, "Slice object must be an array or string");
    jv *vs[3];
    jnode *ns[3] = {sl->a, sl->b, sl->c};
    static const char *names[3] = {"start", "stop", "step"};
    for (int i = 0; i < 3; i++) {
        vs[i] = ns[i] ? jeval(r, ns[i], env) : JV_UNDEF;
        if (vs[i]->k != V_INT && vs[i]->k != V_UNDEF) jraise(c, "Slice %s must be numeric or undefined", names[i]);
    }
    /* the items: array elements or the string's code points */
    size_t len;
    jv **items = NULL;
    jstr *cps = NULL;
    if (obj->k == V_STR) {
        size_t n = 0, i = 0, l;
        cps = ja_alloc(c, (obj->s.n + 1) * sizeof *cps);
        while (i < obj->s.n) {
            u8_decode(obj->s.p + i, obj->s.n - i, &l);
            cps[n++] = (jstr){obj->s.p + i, l};
            i += l;
        }
        len = n;
    } else {
        items = obj->arr->v;
        len = obj->arr->n;
    }
    double L = (double)len;
    double step = vs[2]->k == V_UNDEF ? 1 : vs[2]->num;
    double dir = step > 0 ? 1 : step < 0 ? -1 : (isnan(step) ? NAN : 0);
    double start, stop;
    bool hs = vs[0]->k != V_UNDEF, he = vs[1]->k != V_UNDEF;
    if (dir >= 0) {
        start = hs ? vs[0]->num : 0;
        start = start < 0 ? fmax(L + start, 0) : fmin(start, L);
        stop = he ? vs[1]->num : L;
        stop = stop < 0 ? fmax(L + stop, 0) : fmin(stop, L);
    } else {
        start = hs ? vs[0]->num : L - 1;
        start = start < 0 ? fmax(L + start, -1) : fmin(start, L - 1);
        stop = he ? vs[1]->num : -1;
        stop = stop < -1 ? fmax(L + stop, -1) : fmin(stop, L - 1);
    }
    jv *res = obj->k == V_STR ? NULL : jv_array(c, V_ARRAY, 0);
    jbuf b = {0};
    if (!isnan(dir) && dir != 0)
        for (double i = start; dir * i < dir * stop; i += step) {
            if (i < 0 || i >= L) break;
            if (res) jv_push(c, res, items[(size_t)i]);
            else jb_put(c, &b, cps[(size_t)i].p, cps[(size_t)i].n);
        }
    return res ? res : str_value(r, jb_str(&b));
}

static jv *eval_member(jrt *r, jnode *n, jenv *env) {
    jctx *c = r->c;
    jv *obj = jeval(r, n->a, env);
    jv *prop;
    if (n->flag) {
        if (n->b->kind == N_SLICE) return eval_slice(r, obj, n->b, env);
        prop = jeval(r, n->b, env);
    } else if (n->b->kind == N_INT) {
        prop = jv_int(c, n->b->num);
    } else {
        prop = str_value(r, n->b->s);
    }
    if (obj->k == V_RAWUNDEF) undef_read(r, "value");
    jv *value = NULL;
    if (jv_is_object(obj) || obj->k == V_NS) {
        if (prop->k != V_STR) jraise(c, "Cannot access property with non-string: got %s", jv_type_name(prop));
        value = jmap_get(obj, prop->s);
        if (!value && obj->k != V_NS) value = jmember_builtin(r, obj, prop->s);
    } else if (jv_is_array(obj) || obj->k == V_STR) {
        if (prop->k == V_INT) {
            if (obj->k == V_STR) value = string_at(r, obj->s, prop->num);
            else {
                double idx = isnan(prop->num) ? 0 : trunc(prop->num);
                if (idx < 0) idx += (double)obj->arr->n;
                if (idx >= 0 && idx < (double)obj->arr->n) value = obj->arr->v[(size_t)idx];
            }
        } else if (prop->k == V_STR) {
            value = jmember_builtin(r, obj, prop->s);
        } else {
            jraise(c, "Cannot access property with non-string/non-number: got %s", jv_type_name(prop));
        }
    } else {
        if (prop->k != V_STR) jraise(c, "Cannot access property with non-string: got %s", jv_type_name(prop));
        value = NULL;
    }
    return value && value->k != V_RAWUNDEF ? value : JV_UNDEF;
}

static jv *eval_call(jrt *r, jnode *n, jenv *env) {
    jctx *c = r->c;
    jv pos = {.k = V_ARRAY, .arr = ja_alloc(c, sizeof(jarr))};
    jv *kw = jv_map(c, V_KWARGS);
    jeval_args(r, &n->l1, env, pos.arr, kw);
    if (kw->map->n) jv_push(c, &pos, kw);
    jv *fn = jeval(r, n->a, env);
    c->line = n->line;
    if (fn->k != V_FUNC) jraise(c, "Cannot call something that is not a function: got %s", jv_type_name(fn));
    return jcall(r, fn, pos.arr->v, pos.arr->n, env);
}

static jv *eval_unary(jrt *r, jnode *n, jenv *env) {
    jv *a = jeval(r, n->a, env);
    if (js_eq(n->s, "not")) return jv_bool(!jv_truthy(r->c, a));
    double sign = js_eq(n->s, "-") ? -1 : 1;
    if (a->k == V_INT || a->k == V_FLOAT || a->k == V_BOOL) {
        double v = a->k == V_BOOL ? (a->b ? 1 : 0) : a->num;
        return a->k == V_FLOAT ? jv_float(r->c, sign * v) : jv_int(r->c, sign * v);
    }
    if (a->k == V_RAWUNDEF) undef_read(r, "type");
    jraise(r->c, "Unknown operator \"%.*s\" for %s", (int)n->s.n, n->s.p, jv_type_name(a));
}

static jv *eval_test(jrt *r, jnode *n, jenv *env) {
    jv *operand = jeval(r, n->a, env);
    bool found;
    bool res = jrun_test(r, n->s, &operand, 1, &found);
    if (!found) jraise(r->c, "Unknown test: %.*s", (int)n->s.n, n->s.p);
    return jv_bool(n->flag ? !res : res);
}

/* ---- statements ---- */
static jv *eval_set(jrt *r, jnode *n, jenv *env) {
    jctx *c = r->c;
    jv *rhs = n->b ? jeval(r, n->b, env) : jeval_block(r, &n->l1, env);
    jnode *t = n->a;
    c->line = n->line;
    if (t->kind == N_IDENT) {
        jenv_set(r, env, t->s, rhs);
    } else if (t->kind == N_TUPLE) {
        if (rhs->k == V_RAWUNDEF) undef_read(r, "type");
        if (!jv_is_array(rhs)) jraise(c, "Cannot unpack non-iterable type in set: %s", jv_type_name(rhs));
        if (rhs->arr->n != t->l1.n)
            jraise(c, "Too %s items to unpack in set", t->l1.n > rhs->arr->n ? "few" : "many");
        for (size_t i = 0; i < t->l1.n; i++) {
            if (t->l1.v[i]->kind != N_IDENT)
                jraise(c, "Cannot unpack to non-identifier in set: %s", jnode_type_name(t->l1.v[i]->kind));
            jenv_set(r, env, t->l1.v[i]->s, rhs->arr->v[i]);
        }
    } else if (t->kind == N_MEMBER) {
        jv *obj = jeval(r, t->a, env);
        if (obj->k != V_NS) jraise(c, "cannot assign attribute on non-namespace object");
        if (t->b->kind != N_IDENT) jraise(c, "Cannot assign to member with non-identifier property");
        jmap_set(c, obj, t->b->s, rhs);
    } else {
        jraise(c, "Invalid LHS inside assignment expression: %s", jnode_type_name(t->kind));
    }
    return JV_NULL;
}

/* Runs one iteration's body; returns 0, or 1/2 when break/continue unwound it. */
static int run_iteration(jrt *r, jlist_n *body, jenv *scope, jbuf *out) {
    jhandler h;
    h.prev = r->loop;
    int depth = r->depth;
    r->loop = &h;
    int code = setjmp(h.jb);
    if (code == 0) {
        jv *s = jeval_block(r, body, scope);
        r->loop = h.prev;
        jb_put(r->c, out, s->s.p, s->s.n);
        return 0;
    }
    r->loop = h.prev;
    r->depth = depth;
    return code;
}

static void assign_loopvar(jrt *r, jnode *var, jv *cur, jenv *scope) {
    if (var->kind == N_IDENT) {
        jenv_set(r, scope, var->s, cur);
        return;
    }
    for (size_t j = 0; j < var->l1.n; j++) {
        if (var->l1.v[j]->kind != N_IDENT)
            jraise(r->c, "Cannot unpack non-identifier type: %s", jnode_type_name(var->l1.v[j]->kind));
        jenv_set(r, scope, var->l1.v[j]->s, cur->arr->v[j]);
    }
}

static jv *eval_for(jrt *r, jnode *n, jenv *env) {
    jctx *c = r->c;
    jenv *scope = jenv_new(r, env);
    jnode *test = NULL;
    jv *iter;
    if (n->b->kind == N_SELECT) {
        iter = jeval(r, n->b->a, scope);
        test = n->b->b;
    } else {
        iter = jeval(r, n->b, scope);
    }
    c->line = n->line;
    if (iter->k == V_RAWUNDEF) undef_read(r, "type");
    if (!jv_is_array(iter) && !jv_is_object(iter))
        jraise(c, "Expected iterable or object type in for loop: got %s", jv_type_name(iter));
    jv **src;
    size_t nsrc;
    if (jv_is_object(iter)) {
        nsrc = iter->map->n;
        src = ja_alloc(c, (nsrc + 1) * sizeof *src);
        for (size_t i = 0; i < nsrc; i++) src[i] = str_value(r, iter->map->k[i]);
    } else {
        src = iter->arr->v;
        nsrc = iter->arr->n;
    }
    jv **items = ja_alloc(c, (nsrc + 1) * sizeof *items);
    size_t nitems = 0;
    for (size_t i = 0; i < nsrc; i++) {
        jv *cur = src[i];
        if (n->a->kind == N_TUPLE) {
            if (cur->k == V_RAWUNDEF) undef_read(r, "type");
            if (cur->k != V_ARRAY) jraise(c, "Cannot unpack non-iterable type: %s", jv_type_name(cur));
            if (n->a->l1.n != cur->arr->n)
                jraise(c, "Too %s items to unpack", n->a->l1.n > cur->arr->n ? "few" : "many");
        }
        if (test) {
            jenv *ls = jenv_new(r, scope);
            assign_loopvar(r, n->a, cur, ls);
            if (!jv_truthy(c, jeval(r, test, ls))) continue;
        }
        items[nitems++] = cur;
    }
    jbuf out = {.limit = r->max_output};
    bool none = true;
    /* every iteration's loop object shares one key array: iterations are the hot path */
    static const char *const loop_keys[] = {"index", "index0", "revindex", "revindex0", "first",
                                            "last", "length", "previtem", "nextitem"};
    jstr *keys = ja_alloc(c, 9 * sizeof *keys);
    for (int k = 0; k < 9; k++) keys[k] = js_lit(loop_keys[k]);
    jv *length = jv_int(c, (double)nitems);
    for (size_t i = 0; i < nitems; i++) {
        if (++r->steps > r->max_steps)
            jraise(c, "template evaluation exceeds its step limit (%llu)", (unsigned long long)r->max_steps);
        jv *loop = jv_map(c, V_OBJECT);
        jv **vals = ja_alloc(c, 9 * sizeof *vals);
        vals[0] = jv_int(c, (double)i + 1);
        vals[1] = jv_int(c, (double)i);
        vals[2] = jv_int(c, (double)(nitems - i));
        vals[3] = jv_int(c, (double)(nitems - i - 1));
        vals[4] = jv_bool(i == 0);
        vals[5] = jv_bool(i == nitems - 1);
        vals[6] = length;
        vals[7] = i > 0 ? items[i - 1] : JV_UNDEF;
        vals[8] = i + 1 < nitems ? items[i + 1] : JV_UNDEF;
        *loop->map = (jmap){.k = keys, .v = vals, .n = 9, .cap = 9};
        jenv_set(r, scope, js_lit("loop"), loop);
        assign_loopvar(r, n->a, items[i], scope);
        int code = run_iteration(r, &n->l1, scope, &out);
        if (code == 1) break;
        if (code == 2) continue;
        none = false;
    }
    if (none) {
        jv *d = jeval_block(r, &n->l2, scope);
        jb_put(c, &out, d->s.p, d->s.n);
    }
    return str_value(r, jb_str(&out));
}

static jv *eval_call_stmt(jrt *r, jnode *n, jenv *env) {
    jctx *c = r->c;
    jv *caller = make_func(r, n, env);
    jv pos = {.k = V_ARRAY, .arr = ja_alloc(c, sizeof(jarr))};
    jv *kw = jv_map(c, V_KWARGS);
    jeval_args(r, &n->a->l1, env, pos.arr, kw);
    jv_push(c, &pos, kw);
    jv *fn = jeval(r, n->a->a, env);
    c->line = n->line;
    if (fn->k != V_FUNC) jraise(c, "Cannot call something that is not a function: got %s", jv_type_name(fn));
    jenv *ne = jenv_new(r, env);
    jenv_set(r, ne, js_lit("caller"), caller);
    return jcall(r, fn, pos.arr->v, pos.arr->n, ne);
}

static _Noreturn void unwind(jrt *r, int code) {
    if (!r->loop) jraise(r->c, "%s", ""); /* an uncaught BreakControl has an empty message */
    longjmp(r->loop->jb, code);
}

jv *jeval(jrt *r, jnode *n, jenv *env) {
    jctx *c = r->c;
    if (!n) return JV_UNDEF;
    c->line = n->line;
    if (++r->steps > r->max_steps) jraise(c, "template evaluation exceeds its step limit (%llu)",
                                          (unsigned long long)r->max_steps);
    if (++r->depth > r->max_depth) jraise(c, "Maximum call stack size exceeded");
    jv *res;
    switch (n->kind) {
    case N_PROGRAM: res = jeval_block(r, &n->l1, env); break;
    case N_SET: res = eval_set(r, n, env); break;
    case N_IF:
        res = jeval_block(r, jv_truthy(c, jeval(r, n->a, env)) ? &n->l1 : &n->l2, env);
        break;
    case N_FOR: res = eval_for(r, n, env); break;
    case N_MACRO:
        jenv_set(r, env, n->s, make_func(r, n, NULL));
        res = JV_NULL;
        break;
    case N_CALL_STMT: res = eval_call_stmt(r, n, env); break;
    case N_BREAK: unwind(r, 1);
    case N_CONTINUE: unwind(r, 2);
    case N_INT: res = jv_int(c, n->num); break;
    case N_FLOAT: res = jv_float(c, n->num); break;
    case N_STR: res = str_value(r, n->s); break;
    case N_ARRAY: case N_TUPLE: {
        res = jv_array(c, n->kind == N_ARRAY ? V_ARRAY : V_TUPLE, n->l1.n);
        for (size_t i = 0; i < n->l1.n; i++) jv_push(c, res, jeval(r, n->l1.v[i], env));
        break;
    }
    case N_OBJECT: {
        res = jv_map(c, V_OBJECT);
        for (size_t i = 0; i < n->l1.n; i++) {
            jv *k = jeval(r, n->l1.v[i], env);
            if (k->k == V_RAWUNDEF) undef_read(r, "type");
            if (k->k != V_STR) jraise(c, "Object keys must be strings: got %s", jv_type_name(k));
            jmap_set(c, res, k->s, jeval(r, n->l2.v[i], env));
        }
        break;
    }
    case N_IDENT: res = jenv_lookup(r, env, n->s); break;
    case N_CALL: res = eval_call(r, n, env); break;
    case N_MEMBER: res = eval_member(r, n, env); break;
    case N_UNARY: res = eval_unary(r, n, env); break;
    case N_BINARY: res = eval_binary(r, n, env); break;
    case N_FILTER: {
        jv *operand = jeval(r, n->a, env);
        c->line = n->line;
        res = japply_filter(r, operand, n->b, env);
        break;
    }
    case N_FILTER_STMT: {
        jv *body = jeval_block(r, &n->l1, env);
        res = japply_filter(r, body, n->b, env);
        break;
    }
    case N_TEST: res = eval_test(r, n, env); break;
    case N_SELECT:
        res = jv_truthy(c, jeval(r, n->b, env)) ? jeval(r, n->a, env) : JV_UNDEF;
        break;
    case N_TERNARY: res = jeval(r, jv_truthy(c, jeval(r, n->a, env)) ? n->b : n->c, env); break;
    case N_COMMENT: res = JV_NULL; break;
    default: jraise(c, "Unknown node type: %s", jnode_type_name(n->kind));
    }
    r->depth--;
    return res;
}
