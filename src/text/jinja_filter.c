/* Filters, tests, the methods of strings and objects, and the globals
 * (namespace, raise_exception, range, strftime_now), ported one by one from
 * @huggingface/jinja's runtime so that outputs and error messages agree. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/jinja_int.h"

#define MAX_RANGE 10000000

static _Noreturn void undef_read(jrt *r, const char *prop) {
    jraise(r->c, "Cannot read properties of undefined (reading '%s')", prop);
}

static jv *arg_at(jv **args, size_t nargs, size_t i) { return i < nargs ? args[i] : NULL; }

static jv *make_builtin(jrt *r, jbuiltin_fn fn, jv *self) {
    jv *v = ja_alloc(r->c, sizeof *v);
    v->k = V_FUNC;
    v->fn = ja_alloc(r->c, sizeof *v->fn);
    v->fn->fn = fn;
    v->fn->self = self;
    return v;
}

static jv *mkstr(jrt *r, jstr s) { return jv_str(r->c, s); }

/* parseInt(s, 10) */
static double js_parse_int(jstr s) {
    s = js_trim(s, true, false);
    size_t i = 0;
    double sign = 1;
    if (i < s.n && (s.p[i] == '+' || s.p[i] == '-')) {
        if (s.p[i] == '-') sign = -1;
        i++;
    }
    size_t start = i;
    double v = 0;
    while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') v = v * 10 + (s.p[i++] - '0');
    if (i == start) return NAN;
    if (i - start > 15) { /* exact conversion for long digit strings */
        char buf[400];
        size_t n = i - start < sizeof buf - 1 ? i - start : sizeof buf - 1;
        memcpy(buf, s.p + start, n);
        buf[n] = 0;
        v = strtod(buf, NULL);
    }
    return sign * v;
}

/* parseFloat(s) */
static double js_parse_float(jstr s) {
    s = js_trim(s, true, false);
    size_t i = 0;
    if (i < s.n && (s.p[i] == '+' || s.p[i] == '-')) i++;
    if (s.n - i >= 8 && !memcmp(s.p + i, "Infinity", 8)) return s.p[0] == '-' ? -INFINITY : INFINITY;
    size_t d = 0, j = i;
    while (j < s.n && s.p[j] >= '0' && s.p[j] <= '9') j++, d++;
    if (j < s.n && s.p[j] == '.') {
        j++;
        while (j < s.n && s.p[j] >= '0' && s.p[j] <= '9') j++, d++;
    }
    if (!d) return NAN;
    if (j < s.n && (s.p[j] == 'e' || s.p[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.n && (s.p[k] == '+' || s.p[k] == '-')) k++;
        if (k < s.n && s.p[k] >= '0' && s.p[k] <= '9') {
            while (k < s.n && s.p[k] >= '0' && s.p[k] <= '9') k++;
            j = k;
        }
    }
    char buf[400];
    size_t n = j < sizeof buf - 1 ? j : sizeof buf - 1;
    memcpy(buf, s.p, n);
    buf[n] = 0;
    return strtod(buf, NULL);
}

/* ---- string methods ---- */
static jstr title_case(jrt *r, jstr s) {
    char *o = ja_alloc(r->c, s.n + 1);
    bool prev_word = false;
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        bool w = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        o[i] = (w && !prev_word && ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
        prev_word = w;
    }
    return (jstr){o, s.n};
}

static jstr capitalize(jrt *r, jstr s) {
    if (!s.n) return s;
    size_t l;
    uint32_t cp = u8_decode(s.p, s.n, &l);
    if (cp >= 0x10000) return s;
    jstr first = js_upper(r->c, (jstr){s.p, l});
    jbuf b = {0};
    jb_put(r->c, &b, first.p, first.n);
    jb_put(r->c, &b, s.p + l, s.n - l);
    return jb_str(&b);
}

static jv *m_upper(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return mkstr(r, js_upper(r->c, self->s)); }
static jv *m_lower(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return mkstr(r, js_lower(r->c, self->s)); }
static jv *m_strip(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return mkstr(r, js_trim(self->s, true, true)); }
static jv *m_lstrip(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return mkstr(r, js_trim(self->s, true, false)); }
static jv *m_rstrip(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return mkstr(r, js_trim(self->s, false, true)); }
static jv *m_title(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return mkstr(r, title_case(r, self->s)); }
static jv *m_capitalize(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return mkstr(r, capitalize(r, self->s)); }

static bool starts(jstr s, jstr p) { return p.n <= s.n && !memcmp(s.p, p.p, p.n); }
static bool ends(jstr s, jstr p) { return p.n <= s.n && !memcmp(s.p + s.n - p.n, p.p, p.n); }

static jv *affix(jrt *r, jv *self, jv **args, size_t nargs, bool start) {
    const char *nm = start ? "startswith" : "endswith";
    if (nargs == 0) jraise(r->c, "%s() requires at least one argument", nm);
    jv *p = args[0];
    if (p->k == V_STR) return jv_bool(start ? starts(self->s, p->s) : ends(self->s, p->s));
    if (jv_is_array(p)) {
        for (size_t i = 0; i < p->arr->n; i++) {
            jv *it = p->arr->v[i];
            if (it->k != V_STR) jraise(r->c, "%s() tuple elements must be strings", nm);
            if (start ? starts(self->s, it->s) : ends(self->s, it->s)) return jv_bool(true);
        }
        return jv_bool(false);
    }
    jraise(r->c, "%s() argument must be a string or tuple of strings", nm);
}
static jv *m_startswith(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)e; return affix(r, self, a, n, true); }
static jv *m_endswith(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)e; return affix(r, self, a, n, false); }

static jv *m_split(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)e;
    jctx *c = r->c;
    jv *sep = nargs > 0 ? args[0] : JV_NULL;
    if (sep->k != V_STR && sep->k != V_NULL) jraise(c, "sep argument must be a string or null");
    jv *maxs = nargs > 1 ? args[1] : NULL;
    if (maxs && maxs->k != V_INT) jraise(c, "maxsplit argument must be a number");
    double maxsplit = maxs ? maxs->num : -1;
    jv *res = jv_array(c, V_ARRAY, 0);
    jstr s = self->s;
    if (sep->k == V_NULL) {
        jstr t = js_trim(s, true, false);
        size_t i = 0, l;
        while (i < t.n) {
            uint32_t cp = u8_decode(t.p + i, t.n - i, &l);
            if (js_is_space(cp)) {
                i += l;
                continue;
            }
            size_t st = i;
            while (i < t.n) {
                cp = u8_decode(t.p + i, t.n - i, &l);
                if (js_is_space(cp)) break;
                i += l;
            }
            if (maxsplit != -1 && (double)res->arr->n >= maxsplit) {
                jv_push(c, res, mkstr(r, (jstr){t.p + st, t.n - st}));
                break;
            }
            jv_push(c, res, mkstr(r, (jstr){t.p + st, i - st}));
        }
        return res;
    }
    jstr p = sep->s;
    if (p.n == 0) jraise(c, "empty separator");
    size_t i = 0;
    for (;;) {
        const char *hit = i <= s.n ? memmem(s.p + i, s.n - i, p.p, p.n) : NULL;
        if (!hit) {
            jv_push(c, res, mkstr(r, (jstr){s.p + i, s.n - i}));
            break;
        }
        jv_push(c, res, mkstr(r, (jstr){s.p + i, (size_t)(hit - (s.p + i))}));
        i = (size_t)(hit - s.p) + p.n;
    }
    double len = (double)res->arr->n;
    if (maxsplit != -1 && len > maxsplit) {
        /* result.push(result.splice(maxsplit).join(sep)) */
        double st = maxsplit < 0 ? fmax(len + maxsplit, 0) : maxsplit;
        size_t k = (size_t)st;
        jbuf b = {0};
        for (size_t j = k; j < res->arr->n; j++) {
            if (j > k) jb_put(c, &b, p.p, p.n);
            jb_put(c, &b, res->arr->v[j]->s.p, res->arr->v[j]->s.n);
        }
        res->arr->n = k;
        jv_push(c, res, mkstr(r, jb_str(&b)));
    }
    return res;
}

static jv *m_replace(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)e;
    jctx *c = r->c;
    if (nargs < 2) jraise(c, "replace() requires at least two arguments");
    jv *o = args[0], *nw = args[1];
    if (o->k != V_STR || nw->k != V_STR) jraise(c, "replace() arguments must be strings");
    jv *count = JV_NULL;
    if (nargs > 2) {
        if (args[2]->k == V_KWARGS) {
            count = jmap_get(args[2], js_lit("count"));
            if (!count) count = JV_NULL;
        } else {
            count = args[2];
        }
    }
    if (count->k != V_INT && count->k != V_NULL) jraise(c, "replace() count argument must be a number or null");
    jstr s = self->s;
    if (count->k == V_INT && count->num == 0) return self;
    double remaining = (count->k == V_NULL || count->num < 0) ? INFINITY : count->num;
    jbuf b = {0};
    if (o->s.n == 0) {
        size_t i = 0, l;
        for (;;) {
            if (remaining > 0) {
                jb_put(c, &b, nw->s.p, nw->s.n);
                remaining--;
            }
            if (i >= s.n) break;
            u8_decode(s.p + i, s.n - i, &l);
            jb_put(c, &b, s.p + i, l);
            i += l;
        }
        return mkstr(r, jb_str(&b));
    }
    size_t i = 0;
    while (i <= s.n) {
        const char *hit = remaining > 0 ? memmem(s.p + i, s.n - i, o->s.p, o->s.n) : NULL;
        if (!hit) {
            jb_put(c, &b, s.p + i, s.n - i);
            break;
        }
        jb_put(c, &b, s.p + i, (size_t)(hit - (s.p + i)));
        jb_put(c, &b, nw->s.p, nw->s.n);
        remaining--;
        i = (size_t)(hit - s.p) + o->s.n;
    }
    return mkstr(r, jb_str(&b));
}

/* ---- object methods ---- */
static jv *pairs(jrt *r, jv *m) {
    jv *res = jv_array(r->c, V_ARRAY, m->map->n);
    for (size_t i = 0; i < m->map->n; i++) {
        jv *p = jv_array(r->c, V_ARRAY, 2);
        jv_push(r->c, p, mkstr(r, m->map->k[i]));
        jv_push(r->c, p, m->map->v[i]);
        jv_push(r->c, res, p);
    }
    return res;
}

static jv *m_get(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)e;
    jv *key = arg_at(args, nargs, 0), *def = arg_at(args, nargs, 1);
    if (!key) undef_read(r, "type");
    if (key->k != V_STR) jraise(r->c, "Object key must be a string: got %s", jv_type_name(key));
    jv *v = jmap_get(self, key->s);
    if (v) return v;
    return def && def->k != V_RAWUNDEF ? def : JV_NULL;
}

static jv *m_items(jrt *r, jv *self, jv **a, size_t n, jenv *e) { (void)a, (void)n, (void)e; return pairs(r, self); }
static jv *m_keys(jrt *r, jv *self, jv **a, size_t n, jenv *e) {
    (void)a, (void)n, (void)e;
    jv *res = jv_array(r->c, V_ARRAY, self->map->n);
    for (size_t i = 0; i < self->map->n; i++) jv_push(r->c, res, mkstr(r, self->map->k[i]));
    return res;
}
static jv *m_values(jrt *r, jv *self, jv **a, size_t n, jenv *e) {
    (void)a, (void)n, (void)e;
    jv *res = jv_array(r->c, V_ARRAY, self->map->n);
    for (size_t i = 0; i < self->map->n; i++) jv_push(r->c, res, self->map->v[i]);
    return res;
}

/* Stable merge sort (Array#sort is stable); cmp may raise. */
typedef struct {
    jrt *r;
    bool case_sensitive, reverse;
    int key; /* dictsort: 0 key, 1 value; -1: the item itself */
    jstr attr;
    bool has_attr;
} sort_spec;

static jv *attr_value(jrt *r, jv *item, jstr path);

static jv *sort_key(const sort_spec *S, jv *x) {
    if (S->key >= 0) return x->arr->v[S->key];
    if (S->has_attr) return attr_value(S->r, x, S->attr);
    return x;
}

static int sort_cmp(const sort_spec *S, jv *a, jv *b) {
    int res = jv_compare(S->r->c, sort_key(S, a), sort_key(S, b), S->case_sensitive);
    return S->reverse ? -res : res;
}

static void merge_sort(const sort_spec *S, jv **v, jv **tmp, size_t n) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(S, v, tmp, h);
    merge_sort(S, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = sort_cmp(S, v[j], v[i]) < 0 ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static jv *sorted(jrt *r, jv *arr, const sort_spec *S) {
    jv *res = jv_array(r->c, V_ARRAY, arr->arr->n);
    for (size_t i = 0; i < arr->arr->n; i++) jv_push(r->c, res, arr->arr->v[i]);
    jv **tmp = ja_alloc(r->c, (res->arr->n + 1) * sizeof *tmp);
    merge_sort(S, res->arr->v, tmp, res->arr->n);
    return res;
}

static jv *kwarg(jv *kw, const char *name) { return kw ? jmap_get(kw, js_lit(name)) : NULL; }

static jv *m_dictsort(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)e;
    jv *kw = NULL;
    jv *pos[3] = {0};
    size_t np = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (args[i]->k == V_KWARGS) kw = args[i];
        else if (np < 3) pos[np++] = args[i];
        else np++;
    }
    jv *cs = pos[0] ? pos[0] : kwarg(kw, "case_sensitive");
    if (!cs) cs = jv_bool(false);
    if (cs->k != V_BOOL) jraise(r->c, "case_sensitive must be a boolean");
    jv *by = pos[1] ? pos[1] : kwarg(kw, "by");
    if (!by) by = mkstr(r, js_lit("key"));
    if (by->k != V_STR) jraise(r->c, "by must be a string");
    if (!js_eq(by->s, "key") && !js_eq(by->s, "value")) jraise(r->c, "by must be either 'key' or 'value'");
    jv *rev = pos[2] ? pos[2] : kwarg(kw, "reverse");
    if (!rev) rev = jv_bool(false);
    if (rev->k != V_BOOL) jraise(r->c, "reverse must be a boolean");
    sort_spec S = {r, cs->b, rev->b, js_eq(by->s, "key") ? 0 : 1, {0}, false};
    return sorted(r, pairs(r, self), &S);
}

jv *jmember_builtin(jrt *r, jv *obj, jstr name) {
    static const struct {
        const char *name;
        jbuiltin_fn fn;
    } str_methods[] = {
        {"upper", m_upper}, {"lower", m_lower}, {"strip", m_strip}, {"title", m_title},
        {"capitalize", m_capitalize}, {"rstrip", m_rstrip}, {"lstrip", m_lstrip}, {"startswith", m_startswith},
        {"endswith", m_endswith}, {"split", m_split}, {"replace", m_replace},
    },
      obj_methods[] = {
          {"get", m_get}, {"items", m_items}, {"keys", m_keys}, {"values", m_values}, {"dictsort", m_dictsort},
      };
    if (obj->k == V_STR) {
        if (js_eq(name, "length")) return jv_int(r->c, (double)js_utf16_len(obj->s));
        for (size_t i = 0; i < sizeof str_methods / sizeof str_methods[0]; i++)
            if (js_eq(name, str_methods[i].name)) return make_builtin(r, str_methods[i].fn, obj);
    } else if (jv_is_array(obj)) {
        if (js_eq(name, "length")) return jv_int(r->c, (double)obj->arr->n);
    } else if (jv_is_object(obj)) {
        for (size_t i = 0; i < sizeof obj_methods / sizeof obj_methods[0]; i++)
            if (js_eq(name, obj_methods[i].name)) return make_builtin(r, obj_methods[i].fn, obj);
    }
    return NULL;
}

/* getAttributeValue: a dotted path through objects and array indices */
static jv *attr_value(jrt *r, jv *item, jstr path) {
    jv *v = item;
    size_t i = 0;
    for (;;) {
        const char *dot = memchr(path.p + i, '.', path.n - i);
        jstr part = {path.p + i, dot ? (size_t)(dot - (path.p + i)) : path.n - i};
        if (jv_is_object(v) || v->k == V_NS) {
            jv *x = jmap_get(v, part);
            v = x ? x : JV_UNDEF;
        } else if (jv_is_array(v)) {
            double idx = js_parse_int(part);
            if (!isnan(idx) && idx >= 0 && idx < (double)v->arr->n) v = v->arr->v[(size_t)idx];
            else return JV_UNDEF;
        } else {
            return JV_UNDEF;
        }
        if (!dot) break;
        i = (size_t)(dot - path.p) + 1;
    }
    (void)r;
    return v;
}

/* ---- tests ---- */
static bool known_test(jstr name) {
    static const char *const known[] = {"boolean", "callable", "odd", "even", "false", "true", "none", "string",
                                        "number", "integer", "iterable", "mapping", "sequence", "lower", "upper",
                                        "defined", "undefined", "equalto", "eq", NULL};
    for (const char *const *k = known; *k; k++)
        if (js_eq(name, *k)) return true;
    return false;
}

bool jrun_test(jrt *r, jstr name, jv **args, size_t nargs, bool *found) {
    jv *x = args[0];
    jv *y = nargs > 1 ? args[1] : NULL;
    *found = true;
    bool raw = x->k == V_RAWUNDEF;
#define T(s) js_eq(name, s)
    if (T("callable")) return x->k == V_FUNC;
    if (T("number")) return jv_is_numeric(x);
    if (T("integer")) return x->k == V_INT;
    if (T("mapping")) return jv_is_object(x);
    if (T("sequence")) return jv_is_array(x) || jv_is_object(x) || x->k == V_STR;
    if (T("equalto") || T("eq")) {
        if (raw || !y || y->k == V_RAWUNDEF) undef_read(r, "value");
        return jv_strict_eq(x, y);
    }
    bool known = T("boolean") || T("odd") || T("even") || T("false") || T("true") || T("none") || T("string") ||
                 T("iterable") || T("lower") || T("upper") || T("defined") || T("undefined");
    if (!known) {
        *found = false;
        return false;
    }
    if (raw) undef_read(r, "type");
    if (T("boolean")) return x->k == V_BOOL;
    if (T("odd") || T("even")) {
        if (x->k != V_INT) jraise(r->c, "cannot %s on %s", T("odd") ? "odd" : "even", jv_type_name(x));
        double m = fmod(x->num, 2);
        return T("odd") ? m != 0 : m == 0;
    }
    if (T("false")) return x->k == V_BOOL && !x->b;
    if (T("true")) return x->k == V_BOOL && x->b;
    if (T("none")) return x->k == V_NULL;
    if (T("string")) return x->k == V_STR;
    if (T("iterable")) return x->k == V_ARRAY || x->k == V_STR;
    if (T("lower")) return x->k == V_STR && js_eqs(x->s, js_lower(r->c, x->s));
    if (T("upper")) return x->k == V_STR && js_eqs(x->s, js_upper(r->c, x->s));
    if (T("defined")) return x->k != V_UNDEF;
    return x->k == V_UNDEF; /* undefined */
#undef T
}

/* ---- filters ---- */
static jv *str_join(jrt *r, jv **items, size_t n, jstr sep) {
    jbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i) jb_put(r->c, &b, sep.p, sep.n);
        jv_raw_string(r->c, &b, items[i], true);
    }
    return mkstr(r, jb_str(&b));
}

static jv *to_json_value(jrt *r, jv *v, const jjson_opts *o) {
    jbuf b = {0};
    jv_to_json(r->c, &b, v, o, 0);
    return mkstr(r, jb_str(&b));
}

static jv *indent_lines(jrt *r, jstr s, double width, bool first, bool blank) {
    jctx *c = r->c;
    if (width < 0) jraise(c, "Invalid count value: %s", jv_to_string(c, jv_int(c, width)).p);
    if (width > 1e6) jraise(c, "Invalid string length");
    jbuf ind = {0};
    for (double i = 0; i < width; i++) jb_putc(c, &ind, ' ');
    jbuf b = {0};
    size_t i = 0, line = 0;
    for (;;) {
        const char *nl = memchr(s.p + i, '\n', s.n - i);
        size_t len = nl ? (size_t)(nl - (s.p + i)) : s.n - i;
        if (!((!first && line == 0) || (!blank && len == 0))) jb_put(c, &b, ind.p, ind.n);
        jb_put(c, &b, s.p + i, len);
        if (!nl) break;
        jb_putc(c, &b, '\n');
        i += len + 1;
        line++;
    }
    return mkstr(r, jb_str(&b));
}

static bool raw_truthy(jv *v) {
    switch (v->k) {
    case V_UNDEF: case V_NULL: case V_RAWUNDEF: return false;
    case V_BOOL: return v->b;
    case V_INT: case V_FLOAT: return v->num != 0 && !isnan(v->num);
    case V_STR: return v->s.n > 0;
    default: return true;
    }
}

static jv *filter_ident(jrt *r, jv *x, jstr f, jenv *env) {
    jctx *c = r->c;
#define F(s) js_eq(f, s)
    if (F("safe")) return x;
    if (F("tojson")) {
        jjson_opts o = {.undef_as_null = true};
        return to_json_value(r, x, &o);
    }
    if (jv_is_array(x)) {
        jarr *a = x->arr;
        if (F("list")) return x;
        if (F("first")) return a->n ? a->v[0] : JV_RAWUNDEF;
        if (F("last")) return a->n ? a->v[a->n - 1] : JV_RAWUNDEF;
        if (F("length")) return jv_int(c, (double)a->n);
        if (F("reverse")) {
            jv *res = jv_array(c, V_ARRAY, a->n);
            for (size_t i = a->n; i > 0; i--) jv_push(c, res, a->v[i - 1]);
            return res;
        }
        if (F("sort")) {
            sort_spec S = {r, false, false, -1, {0}, false};
            return sorted(r, x, &S);
        }
        if (F("join")) return str_join(r, a->v, a->n, js_lit(""));
        if (F("string")) {
            jjson_opts o = {0};
            return to_json_value(r, x, &o);
        }
        if (F("unique")) {
            jv *res = jv_array(c, V_ARRAY, 0);
            for (size_t i = 0; i < a->n; i++) {
                bool seen = false;
                if ((r->steps += res->arr->n) > r->max_steps)
                    jraise(c, "template evaluation exceeds its step limit (%llu)", (unsigned long long)r->max_steps);
                for (size_t j = 0; j < res->arr->n && !seen; j++) {
                    jv *p = res->arr->v[j], *q = a->v[i];
                    seen = jv_strict_eq(p, q) || (jv_is_numeric(p) && jv_is_numeric(q) && isnan(p->num) && isnan(q->num));
                }
                if (!seen) jv_push(c, res, a->v[i]);
            }
            return res;
        }
        jraise(c, "Unknown ArrayValue filter: %.*s", (int)f.n, f.p);
    }
    if (x->k == V_STR) {
        if (F("length") || F("upper") || F("lower") || F("title") || F("capitalize")) {
            jv *b = jmember_builtin(r, x, f);
            if (b->k == V_FUNC) return jcall(r, b, NULL, 0, env);
            return b;
        }
        if (F("trim")) return mkstr(r, js_trim(x->s, true, true));
        if (F("indent")) return indent_lines(r, x->s, 4, false, false);
        if (F("join") || F("string")) return x;
        if (F("int")) {
            double v = js_parse_int(x->s);
            return jv_int(c, isnan(v) ? 0 : v);
        }
        if (F("float")) {
            double v = js_parse_float(x->s);
            return jv_float(c, isnan(v) ? 0 : v);
        }
        jraise(c, "Unknown StringValue filter: %.*s", (int)f.n, f.p);
    }
    if (jv_is_numeric(x)) {
        if (F("abs")) return x->k == V_INT ? jv_int(c, fabs(x->num)) : jv_float(c, fabs(x->num));
        if (F("int")) return jv_int(c, floor(x->num));
        if (F("float")) return jv_float(c, x->num);
        if (F("string")) return mkstr(r, jv_to_string(c, x));
        jraise(c, "Unknown NumericValue filter: %.*s", (int)f.n, f.p);
    }
    if (jv_is_object(x)) {
        if (F("items")) return pairs(r, x);
        if (F("length")) return jv_int(c, (double)x->map->n);
        jv *b = jmember_builtin(r, x, f);
        if (b) return jcall(r, b, NULL, 0, env);
        jraise(c, "Unknown ObjectValue filter: %.*s", (int)f.n, f.p);
    }
    if (x->k == V_BOOL) {
        if (F("bool")) return x;
        if (F("int")) return jv_int(c, x->b ? 1 : 0);
        if (F("float")) return jv_float(c, x->b ? 1 : 0);
        if (F("string")) return mkstr(r, js_lit(x->b ? "true" : "false"));
        jraise(c, "Unknown BooleanValue filter: %.*s", (int)f.n, f.p);
    }
    if (x->k == V_RAWUNDEF) undef_read(r, "type");
    jraise(c, "Cannot apply filter \"%.*s\" to type: %s", (int)f.n, f.p, jv_type_name(x));
#undef F
}

typedef struct {
    jv **v;
    size_t n;
    jv *kw;
} evargs;

static evargs eval_filter_args(jrt *r, jnode *call, jenv *env) {
    jv pos = {.k = V_ARRAY, .arr = ja_alloc(r->c, sizeof(jarr))};
    jv *kw = jv_map(r->c, V_KWARGS);
    jeval_args(r, &call->l1, env, pos.arr, kw);
    return (evargs){pos.arr->v, pos.arr->n, kw};
}

static jv *first_of(evargs *a, size_t i, const char *kwname, jv *def) {
    if (i < a->n && a->v[i]->k != V_RAWUNDEF) return a->v[i];
    jv *k = kwname ? jmap_get(a->kw, js_lit(kwname)) : NULL;
    return k ? k : def;
}

static jv *filter_call(jrt *r, jv *x, jnode *call, jenv *env) {
    jctx *c = r->c;
    if (call->a->kind != N_IDENT) jraise(c, "Unknown filter: %s", jnode_type_name(call->a->kind));
    jstr f = call->a->s;
#define F(s) js_eq(f, s)
    if (F("tojson")) {
        evargs a = eval_filter_args(r, call, env);
        jv *indent = first_of(&a, (size_t)-1, "indent", JV_NULL);
        if (indent->k != V_INT && indent->k != V_NULL) jraise(c, "If set, indent must be a number");
        jv *ea = first_of(&a, (size_t)-1, "ensure_ascii", jv_bool(false));
        if (ea->k != V_BOOL) jraise(c, "If set, ensure_ascii must be a boolean");
        jv *sk = first_of(&a, (size_t)-1, "sort_keys", jv_bool(false));
        if (sk->k != V_BOOL) jraise(c, "If set, sort_keys must be a boolean");
        jv *sep = first_of(&a, (size_t)-1, "separators", JV_NULL);
        jjson_opts o = {.undef_as_null = true, .ensure_ascii = ea->b, .sort_keys = sk->b};
        if (jv_is_array(sep)) {
            if (sep->arr->n != 2 || sep->arr->v[0]->k != V_STR || sep->arr->v[1]->k != V_STR)
                jraise(c, "separators must be a tuple of two strings");
            o.custom_seps = true;
            o.item_sep = sep->arr->v[0]->s;
            o.key_sep = sep->arr->v[1]->s;
        } else if (sep->k != V_NULL) {
            jraise(c, "If set, separators must be a tuple of two strings");
        }
        if (indent->k == V_INT) {
            if (isnan(indent->num) || indent->num == 0) o.indent = 0;
            else if (indent->num < 0) jraise(c, "Invalid count value: %s", jv_to_string(c, indent).p);
            else if (indent->num > 1000) jraise(c, "Invalid string length");
            else o.indent = (int)indent->num;
        }
        return to_json_value(r, x, &o);
    }
    if (F("join")) {
        jv **items;
        size_t n;
        if (x->k == V_STR) {
            size_t i = 0, l;
            items = ja_alloc(c, (x->s.n + 1) * sizeof *items);
            n = 0;
            while (i < x->s.n) {
                u8_decode(x->s.p + i, x->s.n - i, &l);
                items[n++] = mkstr(r, (jstr){x->s.p + i, l});
                i += l;
            }
        } else if (jv_is_array(x)) {
            items = x->arr->v;
            n = x->arr->n;
        } else {
            if (x->k == V_RAWUNDEF) undef_read(r, "type");
            jraise(c, "Cannot apply filter \"join\" to type: %s", jv_type_name(x));
        }
        evargs a = eval_filter_args(r, call, env);
        jv *sep = first_of(&a, 0, "separator", mkstr(r, js_lit("")));
        if (sep->k != V_STR) jraise(c, "separator must be a string");
        return str_join(r, items, n, sep->s);
    }
    if (F("int") || F("float")) {
        bool isint = F("int");
        evargs a = eval_filter_args(r, call, env);
        jv *def = first_of(&a, 0, "default", isint ? jv_int(c, 0) : jv_float(c, 0));
        if (x->k == V_STR) {
            double v = isint ? js_parse_int(x->s) : js_parse_float(x->s);
            return isnan(v) ? def : isint ? jv_int(c, v) : jv_float(c, v);
        }
        if (jv_is_numeric(x)) return x;
        if (x->k == V_BOOL) return isint ? jv_int(c, x->b) : jv_float(c, x->b);
        if (x->k == V_RAWUNDEF) undef_read(r, "type");
        jraise(c, "Cannot apply filter \"%.*s\" to type: %s", (int)f.n, f.p, jv_type_name(x));
    }
    if (F("default")) {
        evargs a = eval_filter_args(r, call, env);
        jv *def = a.n > 0 && a.v[0]->k != V_RAWUNDEF ? a.v[0] : mkstr(r, js_lit(""));
        jv *flag = first_of(&a, 1, "boolean", jv_bool(false));
        if (flag->k != V_BOOL) jraise(c, "`default` filter flag must be a boolean");
        if (x->k == V_UNDEF || (flag->b && !jv_truthy(c, x))) return def;
        return x;
    }
    if (jv_is_array(x)) {
        if (F("sort")) {
            evargs a = eval_filter_args(r, call, env);
            jv *rev = first_of(&a, 0, "reverse", jv_bool(false));
            if (rev->k != V_BOOL) jraise(c, "reverse must be a boolean");
            jv *cs = first_of(&a, 1, "case_sensitive", jv_bool(false));
            if (cs->k != V_BOOL) jraise(c, "case_sensitive must be a boolean");
            jv *attr = first_of(&a, 2, "attribute", JV_NULL);
            if (attr->k != V_STR && attr->k != V_INT && attr->k != V_NULL)
                jraise(c, "attribute must be a string, integer, or null");
            sort_spec S = {r, cs->b, rev->b, -1, {0}, attr->k != V_NULL};
            if (attr->k != V_NULL) S.attr = jv_to_string(c, attr);
            return sorted(r, x, &S);
        }
        if (F("selectattr") || F("rejectattr")) {
            bool sel = F("selectattr");
            for (size_t i = 0; i < x->arr->n; i++)
                if (!jv_is_object(x->arr->v[i]) && x->arr->v[i]->k != V_NS)
                    jraise(c, "`%.*s` can only be applied to array of objects", (int)f.n, f.p);
            for (size_t i = 0; i < call->l1.n; i++)
                if (call->l1.v[i]->kind != N_STR) jraise(c, "arguments of `%.*s` must be strings", (int)f.n, f.p);
            jv *ev[3] = {NULL, NULL, NULL};
            for (size_t i = 0; i < call->l1.n; i++) {
                jv *v = jeval(r, call->l1.v[i], env);
                if (i < 3) ev[i] = v;
            }
            jv *res = jv_array(c, V_ARRAY, 0);
            if (ev[1] && !known_test(ev[1]->s)) jraise(c, "Unknown test: %.*s", (int)ev[1]->s.n, ev[1]->s.p);
            if (!ev[0] && x->arr->n) undef_read(r, "value");
            for (size_t i = 0; i < x->arr->n; i++) {
                jv *item = x->arr->v[i];
                jv *av = jmap_get(item, ev[0]->s);
                bool result = false;
                if (av) {
                    if (ev[1]) {
                        jv *targs[2] = {av, ev[2]};
                        bool found;
                        result = jrun_test(r, ev[1]->s, targs, ev[2] ? 2 : 1, &found);
                    } else {
                        result = jv_truthy(c, av);
                    }
                }
                if (sel ? result : !result) jv_push(c, res, item);
            }
            return res;
        }
        if (F("map")) {
            evargs a = eval_filter_args(r, call, env);
            jv *attr = jmap_get(a.kw, js_lit("attribute"));
            if (!attr) jraise(c, "`map` expressions without `attribute` set are not currently supported.");
            if (attr->k != V_STR) jraise(c, "attribute must be a string");
            jv *def = jmap_get(a.kw, js_lit("default"));
            jv *res = jv_array(c, V_ARRAY, x->arr->n);
            for (size_t i = 0; i < x->arr->n; i++) {
                jv *item = x->arr->v[i];
                if (!jv_is_object(item) && item->k != V_NS) jraise(c, "items in map must be an object");
                jv *v = attr_value(r, item, attr->s);
                jv_push(c, res, v->k == V_UNDEF ? (def ? def : JV_UNDEF) : v);
            }
            return res;
        }
        jraise(c, "Unknown ArrayValue filter: %.*s", (int)f.n, f.p);
    }
    if (x->k == V_STR) {
        if (F("indent")) {
            evargs a = eval_filter_args(r, call, env);
            jv *w = first_of(&a, 0, "width", jv_int(c, 4));
            if (w->k != V_INT) jraise(c, "width must be a number");
            jv *first = first_of(&a, 1, "first", jv_bool(false));
            jv *blank = first_of(&a, 2, "blank", jv_bool(false));
            return indent_lines(r, x->s, w->num, raw_truthy(first), raw_truthy(blank));
        }
        if (F("replace")) {
            evargs a = eval_filter_args(r, call, env);
            jv **args = ja_alloc(c, (a.n + 2) * sizeof *args);
            if (a.n) memcpy(args, a.v, a.n * sizeof *args);
            args[a.n] = a.kw;
            return m_replace(r, x, args, a.n + 1, env);
        }
        jraise(c, "Unknown StringValue filter: %.*s", (int)f.n, f.p);
    }
    if (jv_is_object(x)) {
        jv *b = jmember_builtin(r, x, f);
        if (b) {
            evargs a = eval_filter_args(r, call, env);
            jv **args = ja_alloc(c, (a.n + 2) * sizeof *args);
            if (a.n) memcpy(args, a.v, a.n * sizeof *args);
            size_t n = a.n;
            if (a.kw->map->n) args[n++] = a.kw;
            return jcall(r, b, args, n, env);
        }
        jraise(c, "Unknown ObjectValue filter: %.*s", (int)f.n, f.p);
    }
    if (x->k == V_RAWUNDEF) undef_read(r, "type");
    jraise(c, "Cannot apply filter \"%.*s\" to type: %s", (int)f.n, f.p, jv_type_name(x));
#undef F
}

jv *japply_filter(jrt *r, jv *operand, jnode *filter, jenv *env) {
    if (filter->kind == N_IDENT) return filter_ident(r, operand, filter->s, env);
    if (filter->kind == N_CALL) return filter_call(r, operand, filter, env);
    jraise(r->c, "Unknown filter: %s", jnode_type_name(filter->kind));
}

/* ---- globals ---- */
static jv *g_namespace(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)self, (void)e;
    jctx *c = r->c;
    size_t npos = nargs;
    jv *kw = NULL;
    if (npos && args[npos - 1]->k == V_KWARGS) kw = args[--npos];
    if (npos > 1) jraise(c, "namespace expected at most 1 argument, got %zu", npos);
    jv *ns = jv_map(c, V_NS);
    if (npos == 1) {
        jv *src = args[0];
        if (jv_is_object(src)) {
            for (size_t i = 0; i < src->map->n; i++) jmap_set(c, ns, src->map->k[i], src->map->v[i]);
        } else if (jv_is_array(src)) {
            for (size_t i = 0; i < src->arr->n; i++) {
                jv *pair = src->arr->v[i], *k = NULL, *v = NULL;
                if (jv_is_array(pair) && pair->arr->n == 2) {
                    k = pair->arr->v[0];
                    v = pair->arr->v[1];
                } else if (pair->k == V_STR) {
                    size_t l0, l1;
                    u8_decode(pair->s.p, pair->s.n, &l0);
                    if (pair->s.n > l0) u8_decode(pair->s.p + l0, pair->s.n - l0, &l1);
                    if (l0 < pair->s.n && l0 + l1 == pair->s.n) {
                        k = mkstr(r, (jstr){pair->s.p, l0});
                        v = mkstr(r, (jstr){pair->s.p + l0, l1});
                    }
                }
                if (!k) jraise(c, "namespace expected an object or an iterable of [key, value] pairs");
                if (k->k != V_STR) jraise(c, "namespace keys must be strings");
                jmap_set(c, ns, k->s, v);
            }
        } else {
            if (src->k == V_RAWUNDEF) undef_read(r, "type");
            jraise(c, "'%s' object is not iterable", jv_type_name(src));
        }
    }
    if (kw)
        for (size_t i = 0; i < kw->map->n; i++) jmap_set(c, ns, kw->map->k[i], kw->map->v[i]);
    return ns;
}

static jfunc namespace_fn = {.fn = g_namespace};
static jv namespace_v = {.k = V_FUNC, .fn = &namespace_fn};
jv *jglobal_namespace(void) { return &namespace_v; }

static jv *g_raise(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)self, (void)e;
    jv *m = nargs ? args[0] : JV_RAWUNDEF;
    if (m->k == V_UNDEF || m->k == V_RAWUNDEF) jraise(r->c, "%s", "");
    jbuf b = {0};
    jv_raw_string(r->c, &b, m, false);
    jstr s = jb_str(&b);
    jraise(r->c, "%.*s", (int)s.n, s.p);
}

static double raw_number(jv *v) {
    switch (v->k) {
    case V_INT: case V_FLOAT: return v->num;
    case V_BOOL: return v->b;
    case V_NULL: return 0;
    case V_STR: return js_parse_float(v->s);
    default: return NAN;
    }
}

static jv *g_range(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)self, (void)e;
    jctx *c = r->c;
    jv *a0 = arg_at(args, nargs, 0), *a1 = arg_at(args, nargs, 1), *a2 = arg_at(args, nargs, 2);
    bool has_stop = a1 && a1->k != V_UNDEF && a1->k != V_RAWUNDEF;
    double start = a0 ? raw_number(a0) : NAN, stop, step = 1;
    if (!has_stop) {
        stop = start;
        start = 0;
    } else {
        stop = raw_number(a1);
    }
    if (a2 && a2->k != V_UNDEF && a2->k != V_RAWUNDEF) step = raw_number(a2);
    if (step == 0) jraise(c, "range() step must not be zero");
    if (isnan(step)) return jv_array(c, V_ARRAY, 0);
    double count = step > 0 ? ceil((stop - start) / step) : ceil((start - stop) / -step);
    if (count > MAX_RANGE) jraise(c, "range() of %.0f items exceeds the limit of %d", count, MAX_RANGE);
    if (count > 0 && (r->steps += (uint64_t)count) > r->max_steps)
        jraise(c, "template evaluation exceeds its step limit (%llu)", (unsigned long long)r->max_steps);
    jv *res = jv_array(c, V_ARRAY, count > 0 ? (size_t)count : 0);
    if (step > 0)
        for (double i = start; i < stop; i += step) jv_push(c, res, jv_num_auto(c, i));
    else
        for (double i = start; i > stop; i += step) jv_push(c, res, jv_num_auto(c, i));
    return res;
}

static jv *g_strftime_now(jrt *r, jv *self, jv **args, size_t nargs, jenv *e) {
    (void)self, (void)e;
    jctx *c = r->c;
    jv *f = nargs ? args[0] : JV_RAWUNDEF;
    if (f->k != V_STR) {
        if (f->k == V_UNDEF || f->k == V_RAWUNDEF) undef_read(r, "replace");
        jraise(c, "format.replace is not a function");
    }
    time_t now = r->now ? (time_t)r->now : time(NULL);
    struct tm tm;
    if (r->utc) gmtime_r(&now, &tm);
    else localtime_r(&now, &tm);
    static const char *months[] = {"January", "February", "March", "April", "May", "June", "July",
                                   "August", "September", "October", "November", "December"};
    jbuf b = {0};
    jstr s = f->s;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '%' && i + 1 < s.n) {
            char k = s.p[i + 1];
            bool hit = true;
            switch (k) {
            case 'Y': jb_printf(c, &b, "%d", tm.tm_year + 1900); break;
            case 'm': jb_printf(c, &b, "%02d", tm.tm_mon + 1); break;
            case 'd': jb_printf(c, &b, "%02d", tm.tm_mday); break;
            case 'b': jb_printf(c, &b, "%.3s", months[tm.tm_mon]); break;
            case 'B': jb_puts(c, &b, months[tm.tm_mon]); break;
            case 'H': jb_printf(c, &b, "%02d", tm.tm_hour); break;
            case 'M': jb_printf(c, &b, "%02d", tm.tm_min); break;
            case '%': jb_putc(c, &b, '%'); break;
            default: hit = false;
            }
            if (hit) {
                i++;
                continue;
            }
        }
        jb_putc(c, &b, s.p[i]);
    }
    return mkstr(r, jb_str(&b));
}

void jsetup_globals(jrt *r, jenv *env) {
    jenv_set(r, env, js_lit("false"), jv_bool(false));
    jenv_set(r, env, js_lit("true"), jv_bool(true));
    jenv_set(r, env, js_lit("none"), JV_NULL);
    jenv_set(r, env, js_lit("raise_exception"), make_builtin(r, g_raise, NULL));
    jenv_set(r, env, js_lit("range"), make_builtin(r, g_range, NULL));
    jenv_set(r, env, js_lit("strftime_now"), make_builtin(r, g_strftime_now, NULL));
    jenv_set(r, env, js_lit("True"), jv_bool(true));
    jenv_set(r, env, js_lit("False"), jv_bool(false));
    jenv_set(r, env, js_lit("None"), JV_NULL);
}
