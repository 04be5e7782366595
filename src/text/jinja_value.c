/* Runtime values: construction, truthiness, printing, JSON, equality and
 * ordering, each as @huggingface/jinja's RuntimeValue classes define them
 * (which is JavaScript's behaviour on the wrapped value). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/jinja_int.h"

#define MAX_JSON_DEPTH 400

jv jv_undef_s = {.k = V_UNDEF}, jv_null_s = {.k = V_NULL}, jv_true_s = {.k = V_BOOL, .b = true},
   jv_false_s = {.k = V_BOOL, .b = false}, jv_rawundef_s = {.k = V_RAWUNDEF};

const char *jv_type_name(const jv *v) {
    switch (v->k) {
    case V_UNDEF: return "UndefinedValue";
    case V_NULL: return "NullValue";
    case V_BOOL: return "BooleanValue";
    case V_INT: return "IntegerValue";
    case V_FLOAT: return "FloatValue";
    case V_STR: return "StringValue";
    case V_ARRAY: return "ArrayValue";
    case V_TUPLE: return "TupleValue";
    case V_OBJECT: return "ObjectValue";
    case V_KWARGS: return "KeywordArgumentsValue";
    case V_NS: return "NamespaceValue";
    case V_FUNC: return "FunctionValue";
    case V_RAWUNDEF: return "undefined";
    }
    return "?";
}

jv *jv_bool(bool b) { return b ? &jv_true_s : &jv_false_s; }

jv *jv_int(jctx *c, double n) {
    jv *v = ja_alloc(c, sizeof *v);
    v->k = V_INT;
    v->num = n;
    return v;
}

jv *jv_float(jctx *c, double n) {
    jv *v = ja_alloc(c, sizeof *v);
    v->k = V_FLOAT;
    v->num = n;
    return v;
}

jv *jv_num_auto(jctx *c, double n) { return (isfinite(n) && n == trunc(n)) ? jv_int(c, n) : jv_float(c, n); }

jv *jv_str(jctx *c, jstr s) {
    jv *v = ja_alloc(c, sizeof *v);
    v->k = V_STR;
    v->s = s;
    return v;
}

jv *jv_cstr(jctx *c, const char *s) { return jv_str(c, js_dup(c, s, strlen(s))); }

jv *jv_array(jctx *c, jv_kind k, size_t cap) {
    jv *v = ja_alloc(c, sizeof *v);
    v->k = k;
    v->arr = ja_alloc(c, sizeof *v->arr);
    if (cap) {
        v->arr->v = ja_alloc(c, cap * sizeof(jv *));
        v->arr->cap = cap;
    }
    return v;
}

void jv_push(jctx *c, jv *a, jv *x) {
    jarr *r = a->arr;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        jv **nv = ja_alloc(c, cap * sizeof *nv);
        if (r->n) memcpy(nv, r->v, r->n * sizeof *nv);
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = x;
}

jv *jv_map(jctx *c, jv_kind k) {
    jv *v = ja_alloc(c, sizeof *v);
    v->k = k;
    v->map = ja_alloc(c, sizeof *v->map);
    return v;
}

static uint64_t key_hash(jstr k) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k.n; i++) h = (h ^ (unsigned char)k.p[i]) * 1099511628211ull;
    return h;
}

static void rehash(jctx *c, jmap *p, size_t hcap) {
    p->hidx = ja_alloc(c, hcap * sizeof *p->hidx);
    p->hcap = hcap;
    for (size_t i = 0; i < p->n; i++) {
        size_t h = key_hash(p->k[i]) & (hcap - 1);
        while (p->hidx[h]) h = (h + 1) & (hcap - 1);
        p->hidx[h] = (uint32_t)(i + 1);
    }
}

static size_t find(const jmap *p, jstr key) {
    if (p->hidx) {
        size_t h = key_hash(key) & (p->hcap - 1);
        for (; p->hidx[h]; h = (h + 1) & (p->hcap - 1))
            if (js_eqs(p->k[p->hidx[h] - 1], key)) return p->hidx[h] - 1;
        return p->n;
    }
    for (size_t i = 0; i < p->n; i++)
        if (js_eqs(p->k[i], key)) return i;
    return p->n;
}

jv *jm_get(const jmap *p, jstr key) {
    size_t i = find(p, key);
    return i < p->n ? p->v[i] : NULL;
}

void jm_set(jctx *c, jmap *p, jstr key, jv *x) {
    size_t i = find(p, key);
    if (i < p->n) {
        p->v[i] = x;
        return;
    }
    if (p->n >= UINT32_MAX - 1) jraise(c, "too many keys");
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        jstr *nk = ja_alloc(c, cap * sizeof *nk);
        jv **nv = ja_alloc(c, cap * sizeof *nv);
        if (p->n) {
            memcpy(nk, p->k, p->n * sizeof *nk);
            memcpy(nv, p->v, p->n * sizeof *nv);
        }
        p->k = nk;
        p->v = nv;
        p->cap = cap;
    }
    p->k[p->n] = key;
    p->v[p->n] = x;
    p->n++;
    if (p->hidx && p->n * 2 > p->hcap) rehash(c, p, p->hcap * 2);
    else if (!p->hidx && p->n >= 16) rehash(c, p, 64);
    else if (p->hidx) {
        size_t h = key_hash(key) & (p->hcap - 1);
        while (p->hidx[h]) h = (h + 1) & (p->hcap - 1);
        p->hidx[h] = (uint32_t)p->n;
    }
}

jv *jmap_get(const jv *m, jstr key) { return jm_get(m->map, key); }
void jmap_set(jctx *c, jv *m, jstr key, jv *x) { jm_set(c, m->map, key, x); }

bool jv_is_numeric(const jv *v) { return v->k == V_INT || v->k == V_FLOAT; }
bool jv_is_array(const jv *v) { return v->k == V_ARRAY || v->k == V_TUPLE; }
bool jv_is_object(const jv *v) { return v->k == V_OBJECT || v->k == V_KWARGS; }

bool jv_truthy(jctx *c, const jv *v) {
    switch (v->k) {
    case V_UNDEF: case V_NULL: return false;
    case V_BOOL: return v->b;
    case V_INT: case V_FLOAT: return v->num != 0 && !isnan(v->num);
    case V_STR: return v->s.n > 0;
    case V_ARRAY: case V_TUPLE: return v->arr->n > 0;
    case V_OBJECT: case V_KWARGS: return v->map->n > 0;
    case V_NS: case V_FUNC: return true;
    case V_RAWUNDEF: jraise(c, "Cannot read properties of undefined (reading '__bool__')");
    }
    return false;
}

static void float_str(double v, char *out, size_t cap) {
    if (v == 0 && signbit(v)) snprintf(out, cap, "-0.0");
    else if (isfinite(v) && v == trunc(v) && fabs(v) < 1e21) snprintf(out, cap, "%.1f", v);
    else js_num_fmt(v, out, cap);
}

jstr jv_to_string(jctx *c, jv *v) {
    char tmp[64];
    switch (v->k) {
    case V_UNDEF: return js_lit("undefined");
    case V_NULL: return js_lit("null");
    case V_BOOL: return js_lit(v->b ? "true" : "false");
    case V_INT: js_num_fmt(v->num, tmp, sizeof tmp); return js_dup(c, tmp, strlen(tmp));
    case V_FLOAT: float_str(v->num, tmp, sizeof tmp); return js_dup(c, tmp, strlen(tmp));
    case V_STR: return v->s;
    case V_ARRAY: case V_TUPLE: case V_OBJECT: case V_KWARGS: case V_NS: {
        jbuf b = {0};
        jjson_opts o = {0};
        jv_to_json(c, &b, v, &o, 0);
        return jb_str(&b);
    }
    case V_FUNC: return js_lit("[Function]");
    case V_RAWUNDEF: jraise(c, "Cannot read properties of undefined (reading 'toString')");
    }
    return js_lit("");
}

void jv_raw_string(jctx *c, jbuf *b, jv *v, bool in_join) {
    char tmp[64];
    switch (v->k) {
    case V_UNDEF: case V_RAWUNDEF: if (!in_join) jb_puts(c, b, "undefined"); return;
    case V_NULL: if (!in_join) jb_puts(c, b, "null"); return;
    case V_BOOL: jb_puts(c, b, v->b ? "true" : "false"); return;
    case V_INT: case V_FLOAT: js_num_fmt(v->num, tmp, sizeof tmp); jb_puts(c, b, tmp); return;
    case V_STR: jb_put(c, b, v->s.p, v->s.n); return;
    case V_ARRAY: case V_TUPLE:
        /* Array.prototype.toString joins the RuntimeValue objects with their own toString() */
        for (size_t i = 0; i < v->arr->n; i++) {
            if (i) jb_putc(c, b, ',');
            jstr s = jv_to_string(c, v->arr->v[i]);
            jb_put(c, b, s.p, s.n);
        }
        return;
    case V_OBJECT: case V_KWARGS: case V_NS: jb_puts(c, b, "[object Map]"); return;
    case V_FUNC: jb_puts(c, b, "[Function]"); return;
    }
}

/* ---- JSON ---- */
static void jjson_str(jctx *c, jbuf *b, jstr s, bool ascii) {
    jb_putc(c, b, '"');
    size_t i = 0, l;
    while (i < s.n) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch < 0x80) {
            switch (ch) {
            case '"': jb_put(c, b, "\\\"", 2); break;
            case '\\': jb_put(c, b, "\\\\", 2); break;
            case '\b': jb_put(c, b, "\\b", 2); break;
            case '\f': jb_put(c, b, "\\f", 2); break;
            case '\n': jb_put(c, b, "\\n", 2); break;
            case '\r': jb_put(c, b, "\\r", 2); break;
            case '\t': jb_put(c, b, "\\t", 2); break;
            default:
                if (ch < 0x20 || (ascii && ch == 0x7f)) jb_printf(c, b, "\\u%04x", ch);
                else jb_putc(c, b, (char)ch);
            }
            i++;
            continue;
        }
        uint32_t cp = u8_decode(s.p + i, s.n - i, &l);
        if (ascii) {
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                jb_printf(c, b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            } else {
                jb_printf(c, b, "\\u%04x", cp);
            }
        } else if (cp == 0xFFFD && l == 1) {
            jb_put(c, b, "\xef\xbf\xbd", 3);
        } else {
            jb_put(c, b, s.p + i, l);
        }
        i += l;
    }
    jb_putc(c, b, '"');
}

/* localeCompare stand-in: the root collation's order for ASCII (punctuation,
 * then digits, then letters case-insensitively, lower case first on ties). */
static int coll_weight(unsigned char ch) {
    static const char order[] = "\t\n\v\f\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789";
    if (ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch + 32);
    if (ch >= 'a' && ch <= 'z') return 100 + (ch - 'a');
    const char *p = ch ? strchr(order, ch) : NULL;
    if (p) return (int)(p - order);
    return 200 + ch;
}

static int locale_cmp(jstr a, jstr b) {
    size_t n = a.n < b.n ? a.n : b.n;
    for (size_t i = 0; i < n; i++) {
        int wa = coll_weight((unsigned char)a.p[i]), wb = coll_weight((unsigned char)b.p[i]);
        if (wa != wb) return wa < wb ? -1 : 1;
    }
    if (a.n != b.n) return a.n < b.n ? -1 : 1;
    for (size_t i = 0; i < n; i++) {
        bool la = a.p[i] >= 'a' && a.p[i] <= 'z', lb = b.p[i] >= 'a' && b.p[i] <= 'z';
        if (la != lb) return la ? -1 : 1;
    }
    return 0;
}

static void put_pad(jctx *c, jbuf *b, int indent, int depth) {
    jb_putc(c, b, '\n');
    for (int i = 0; i < indent * depth; i++) jb_putc(c, b, ' ');
}

void jv_to_json(jctx *c, jbuf *b, jv *v, const jjson_opts *o, int depth) {
    if (depth > MAX_JSON_DEPTH) jraise(c, "Maximum call stack size exceeded");
    jstr item_sep = o->custom_seps ? o->item_sep : js_lit(o->indent > 0 ? "," : ", ");
    jstr key_sep = o->custom_seps ? o->key_sep : js_lit(": ");
    char tmp[64];
    switch (v->k) {
    case V_NULL: jb_puts(c, b, "null"); return;
    case V_UNDEF: jb_puts(c, b, o->undef_as_null ? "null" : "undefined"); return;
    case V_INT: case V_FLOAT:
        if (!isfinite(v->num)) jb_puts(c, b, "null");
        else {
            js_num_fmt(v->num, tmp, sizeof tmp);
            jb_puts(c, b, tmp);
        }
        return;
    case V_BOOL: jb_puts(c, b, v->b ? "true" : "false"); return;
    case V_STR: jjson_str(c, b, v->s, o->ensure_ascii); return;
    case V_ARRAY: {
        jarr *a = v->arr;
        jb_putc(c, b, '[');
        for (size_t i = 0; i < a->n; i++) {
            if (i) jb_put(c, b, item_sep.p, item_sep.n);
            if (o->indent > 0) put_pad(c, b, o->indent, depth + 1);
            jv_to_json(c, b, a->v[i], o, depth + 1);
        }
        if (o->indent > 0 && a->n) put_pad(c, b, o->indent, depth);
        jb_putc(c, b, ']');
        return;
    }
    case V_OBJECT: case V_NS: {
        jmap *m = v->map;
        size_t *ord = ja_alloc(c, (m->n + 1) * sizeof *ord);
        for (size_t i = 0; i < m->n; i++) ord[i] = i;
        if (o->sort_keys)
            for (size_t i = 1; i < m->n; i++) /* stable insertion sort, as Array#sort is stable */
                for (size_t j = i; j > 0 && locale_cmp(m->k[ord[j - 1]], m->k[ord[j]]) > 0; j--) {
                    size_t t = ord[j];
                    ord[j] = ord[j - 1];
                    ord[j - 1] = t;
                }
        jb_putc(c, b, '{');
        for (size_t i = 0; i < m->n; i++) {
            if (i) jb_put(c, b, item_sep.p, item_sep.n);
            if (o->indent > 0) put_pad(c, b, o->indent, depth + 1);
            jjson_str(c, b, m->k[ord[i]], o->ensure_ascii);
            jb_put(c, b, key_sep.p, key_sep.n);
            jv_to_json(c, b, m->v[ord[i]], o, depth + 1);
        }
        if (o->indent > 0 && m->n) put_pad(c, b, o->indent, depth);
        jb_putc(c, b, '}');
        return;
    }
    case V_RAWUNDEF: jraise(c, "Cannot read properties of undefined (reading 'type')");
    default: jraise(c, "Cannot convert to JSON: %s", jv_type_name(v));
    }
}

/* ---- equality ---- */
typedef enum { P_UNDEF, P_NULL, P_BOOL, P_NUM, P_STR, P_OBJ } prim;

static prim prim_of(const jv *v) {
    switch (v->k) {
    case V_UNDEF: case V_RAWUNDEF: return P_UNDEF;
    case V_NULL: return P_NULL;
    case V_BOOL: return P_BOOL;
    case V_INT: case V_FLOAT: return P_NUM;
    case V_STR: return P_STR;
    default: return P_OBJ;
    }
}

static const void *identity(const jv *v) {
    if (v->k == V_FUNC) return v->fn;
    if (jv_is_array(v)) return v->arr;
    return v->map;
}

bool jv_strict_eq(jv *a, jv *b) {
    prim pa = prim_of(a), pb = prim_of(b);
    if (pa != pb) return false;
    switch (pa) {
    case P_UNDEF: case P_NULL: return true;
    case P_BOOL: return a->b == b->b;
    case P_NUM: return a->num == b->num;
    case P_STR: return js_eqs(a->s, b->s);
    case P_OBJ: return identity(a) == identity(b);
    }
    return false;
}

/* JavaScript's StringToNumber. */
static double str_to_num(jstr s) {
    s = js_trim(s, true, true);
    if (s.n == 0) return 0;
    char buf[400];
    if (s.n >= sizeof buf) return NAN;
    memcpy(buf, s.p, s.n);
    buf[s.n] = 0;
    if (!strcmp(buf, "Infinity") || !strcmp(buf, "+Infinity")) return INFINITY;
    if (!strcmp(buf, "-Infinity")) return -INFINITY;
    if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X' || buf[1] == 'o' || buf[1] == 'O' || buf[1] == 'b' ||
                          buf[1] == 'B')) {
        int base = (buf[1] == 'x' || buf[1] == 'X') ? 16 : (buf[1] == 'o' || buf[1] == 'O') ? 8 : 2;
        if (!buf[2]) return NAN;
        double v = 0;
        for (char *p = buf + 2; *p; p++) {
            int d = (*p >= '0' && *p <= '9') ? *p - '0' : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
                                                       : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10 : 99;
            if (d >= base) return NAN;
            v = v * base + d;
        }
        return v;
    }
    /* decimal literal: [+-] digits [. digits] [e [+-] digits], at least one digit */
    const char *p = buf;
    if (*p == '+' || *p == '-') p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++, digits++;
    }
    if (!digits) return NAN;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NAN;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p) return NAN;
    return strtod(buf, NULL);
}

bool jv_loose_eq(jctx *c, jv *a, jv *b) {
    prim pa = prim_of(a), pb = prim_of(b);
    if (pa == pb) return jv_strict_eq(a, b);
    if ((pa == P_UNDEF || pa == P_NULL) && (pb == P_UNDEF || pb == P_NULL)) return true;
    if (pa == P_UNDEF || pa == P_NULL || pb == P_UNDEF || pb == P_NULL) return false;
    if (pa == P_BOOL) return jv_loose_eq(c, jv_int(c, a->b ? 1 : 0), b);
    if (pb == P_BOOL) return jv_loose_eq(c, a, jv_int(c, b->b ? 1 : 0));
    if (pa == P_NUM && pb == P_STR) return a->num == str_to_num(b->s);
    if (pa == P_STR && pb == P_NUM) return str_to_num(a->s) == b->num;
    if (pa == P_OBJ || pb == P_OBJ) {
        jv *o = pa == P_OBJ ? a : b, *x = pa == P_OBJ ? b : a;
        jbuf buf = {0};
        jv_raw_string(c, &buf, o, false);
        return jv_loose_eq(c, jv_str(c, jb_str(&buf)), x);
    }
    return false;
}

/* compareRuntimeValues */
int jv_compare(jctx *c, jv *a, jv *b, bool case_sensitive) {
    if (a->k == V_NULL && b->k == V_NULL) return 0;
    if (a->k == V_NULL || b->k == V_NULL) jraise(c, "Cannot compare %s with %s", jv_type_name(a), jv_type_name(b));
    if (a->k == V_UNDEF && b->k == V_UNDEF) return 0;
    if (a->k == V_UNDEF || b->k == V_UNDEF) jraise(c, "Cannot compare %s with %s", jv_type_name(a), jv_type_name(b));
    bool na = jv_is_numeric(a) || a->k == V_BOOL, nb = jv_is_numeric(b) || b->k == V_BOOL;
    if (na && nb) {
        double x = a->k == V_BOOL ? a->b : a->num, y = b->k == V_BOOL ? b->b : b->num;
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->k != b->k) jraise(c, "Cannot compare different types: %s and %s", jv_type_name(a), jv_type_name(b));
    if (a->k == V_STR) {
        jstr x = a->s, y = b->s;
        if (!case_sensitive) {
            x = js_lower(c, x);
            y = js_lower(c, y);
        }
        return js_strcmp(x, y);
    }
    jraise(c, "Cannot compare type: %s", jv_type_name(a));
}

/* ---- from JSON ---- */
/* Object.entries order: integer-like keys first, ascending, then insertion order. */
static bool array_index_key(const char *k, size_t n, double *idx) {
    if (n == 0 || n > 10) return false;
    if (n > 1 && k[0] == '0') return false;
    double v = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < '0' || k[i] > '9') return false;
        v = v * 10 + (k[i] - '0');
    }
    if (v > 4294967294.0) return false;
    *idx = v;
    return true;
}

typedef struct {
    double idx;
    size_t pos;
} idx_key;

static int cmp_idx_key(const void *a, const void *b) {
    double x = ((const idx_key *)a)->idx, y = ((const idx_key *)b)->idx;
    return x < y ? -1 : x > y;
}

static jv *from_json(jctx *c, const json_t *j, int depth) {
    if (depth > MAX_JSON_DEPTH) jraise(c, "context nests too deeply");
    switch (json_typeof(j)) {
    case JSON_NULL: return JV_NULL;
    case JSON_TRUE: return jv_bool(true);
    case JSON_FALSE: return jv_bool(false);
    case JSON_INTEGER: return jv_num_auto(c, (double)json_integer_value(j));
    case JSON_REAL: return jv_num_auto(c, json_real_value(j));
    case JSON_STRING: return jv_str(c, js_dup(c, json_string_value(j), json_string_length(j)));
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        jv *a = jv_array(c, V_ARRAY, n);
        for (size_t i = 0; i < n; i++) jv_push(c, a, from_json(c, json_array_get(j, i), depth + 1));
        return a;
    }
    case JSON_OBJECT: {
        jv *m = jv_map(c, V_OBJECT);
        size_t n = json_object_size(j), k = 0, ni = 0;
        const char **keys = ja_alloc(c, (n + 1) * sizeof *keys);
        size_t *klen = ja_alloc(c, (n + 1) * sizeof *klen);
        double *idx = ja_alloc(c, (n + 1) * sizeof *idx);
        bool *isidx = ja_alloc(c, (n + 1) * sizeof *isidx);
        const char *key;
        size_t keylen;
        json_t *val;
        void *tmp;
        json_object_keylen_foreach_safe((json_t *)j, tmp, key, keylen, val) {
            (void)val;
            if (k >= n) break;
            keys[k] = key;
            klen[k] = keylen;
            isidx[k] = array_index_key(key, keylen, &idx[k]);
            if (isidx[k]) ni++;
            k++;
        }
        /* integer keys first, in ascending order */
        idx_key *ik = ja_alloc(c, (ni + 1) * sizeof *ik);
        size_t m2 = 0;
        for (size_t i = 0; i < k; i++)
            if (isidx[i]) ik[m2++] = (idx_key){idx[i], i};
        qsort(ik, m2, sizeof *ik, cmp_idx_key);
        for (size_t r = 0; r < m2; r++) {
            size_t best = ik[r].pos;
            jmap_set(c, m, js_dup(c, keys[best], klen[best]),
                     from_json(c, json_object_getn(j, keys[best], klen[best]), depth + 1));
        }
        for (size_t i = 0; i < k; i++)
            if (!isidx[i])
                jmap_set(c, m, js_dup(c, keys[i], klen[i]), from_json(c, json_object_getn(j, keys[i], klen[i]), depth + 1));
        return m;
    }
    }
    return JV_UNDEF;
}

jv *jv_from_json(jctx *c, const void *json) { return from_json(c, json, 0); }
