/* Arena, error unwinding, buffers and the JavaScript string/number semantics
 * the engine must reproduce (UTF-16 lengths and order, \s, Number#toString). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "common/error.h"
#include "text/jinja_int.h"

struct ja_chunk {
    ja_chunk *next;
    size_t size, used;
    max_align_t data[];
};

void jraise(jctx *c, const char *fmt, ...) {
    if (c->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
        va_end(ap);
    }
    c->err_line = c->line;
    longjmp(*c->jb, 1);
}

void *ja_alloc(jctx *c, size_t n) {
    jarena *a = c->A;
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    ja_chunk *h = a->head;
    if (!h || h->size - h->used < n) {
        size_t size = n > 65536 ? n : 65536;
        if (size > a->cap || a->used > a->cap - size) jraise(c, "template exceeds its memory limit (%zu bytes)", a->cap);
        h = malloc(sizeof *h + size);
        if (!h) jraise(c, "out of memory");
        h->size = size;
        h->used = 0;
        h->next = a->head;
        a->head = h;
        a->used += size;
    }
    void *p = (char *)h->data + h->used;
    h->used += n;
    memset(p, 0, n);
    return p;
}

void ja_free_all(jarena *a) {
    ja_chunk *h = a->head;
    while (h) {
        ja_chunk *next = h->next;
        free(h);
        h = next;
    }
    a->head = NULL;
    a->used = 0;
}

/* ---- buffers ---- */
void jb_put(jctx *c, jbuf *b, const char *s, size_t n) {
    if (n == 0) return;
    if (b->limit && (n > b->limit || b->n > b->limit - n))
        jraise(c, "template output exceeds its limit (%zu bytes)", b->limit);
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = ja_alloc(c, cap);
        if (b->n) memcpy(p, b->p, b->n);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void jb_puts(jctx *c, jbuf *b, const char *s) { jb_put(c, b, s, strlen(s)); }
void jb_putc(jctx *c, jbuf *b, char ch) { jb_put(c, b, &ch, 1); }

void jb_printf(jctx *c, jbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    jb_put(c, b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

jstr jb_str(jbuf *b) { return (jstr){b->p ? b->p : "", b->n}; }

jstr js_dup(jctx *c, const char *s, size_t n) {
    char *p = ja_alloc(c, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return (jstr){p, n};
}

jstr js_lit(const char *s) { return (jstr){s, strlen(s)}; }
bool js_eq(jstr a, const char *lit) { return a.n == strlen(lit) && !memcmp(a.p, lit, a.n); }
bool js_eqs(jstr a, jstr b) { return a.n == b.n && (a.n == 0 || !memcmp(a.p, b.p, a.n)); }

/* ---- UTF-8 ---- */
uint32_t u8_decode(const char *s, size_t n, size_t *len) {
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) {
        *len = 0;
        return 0;
    }
    if (u[0] < 0x80) {
        *len = 1;
        return u[0];
    }
    size_t need;
    uint32_t cp, min;
    if ((u[0] & 0xE0) == 0xC0) need = 2, cp = u[0] & 0x1F, min = 0x80;
    else if ((u[0] & 0xF0) == 0xE0) need = 3, cp = u[0] & 0x0F, min = 0x800;
    else if ((u[0] & 0xF8) == 0xF0) need = 4, cp = u[0] & 0x07, min = 0x10000;
    else goto bad;
    if (n < need) goto bad;
    for (size_t i = 1; i < need; i++) {
        if ((u[i] & 0xC0) != 0x80) goto bad;
        cp = (cp << 6) | (u[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF) goto bad;
    *len = need;
    return cp;
bad:
    *len = 1;
    return 0xFFFD;
}

size_t u8_encode(uint32_t cp, char *o) {
    unsigned char *u = (unsigned char *)o;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | (cp >> 18));
    u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

bool js_is_space(uint32_t cp) {
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

size_t js_utf16_len(jstr s) {
    size_t n = 0, i = 0, l;
    while (i < s.n) {
        uint32_t cp = u8_decode(s.p + i, s.n - i, &l);
        n += cp >= 0x10000 ? 2 : 1;
        i += l;
    }
    return n;
}

jstr js_trim(jstr s, bool left, bool right) {
    size_t a = 0, b = s.n, l;
    if (left)
        while (a < b) {
            uint32_t cp = u8_decode(s.p + a, b - a, &l);
            if (!js_is_space(cp)) break;
            a += l;
        }
    if (right)
        while (b > a) {
            size_t k = b - 1;
            while (k > a && ((unsigned char)s.p[k] & 0xC0) == 0x80 && b - k < 4) k--;
            uint32_t cp = u8_decode(s.p + k, b - k, &l);
            if (k + l != b) cp = 0xFFFD;
            if (!js_is_space(cp)) break;
            b = k;
        }
    return (jstr){s.p + a, b - a};
}

static jstr js_case(jctx *c, jstr s, bool upper) {
    jbuf b = {0};
    size_t i = 0, l;
    char tmp[8];
    while (i < s.n) {
        uint32_t cp = u8_decode(s.p + i, s.n - i, &l);
        if (cp < 0x80) {
            char ch = s.p[i];
            if (upper && ch >= 'a' && ch <= 'z') ch = (char)(ch - 32);
            if (!upper && ch >= 'A' && ch <= 'Z') ch = (char)(ch + 32);
            jb_putc(c, &b, ch);
        } else if (upper && cp == 0xDF) {
            jb_put(c, &b, "SS", 2); /* the one common full mapping that changes length */
        } else if (!upper && cp == 0x130) {
            jb_put(c, &b, "i\xcc\x87", 3);
        } else {
            int32_t m = upper ? utf8proc_toupper((int32_t)cp) : utf8proc_tolower((int32_t)cp);
            if (cp == 0xFFFD) jb_put(c, &b, s.p + i, l); /* keep undecodable bytes as they were */
            else jb_put(c, &b, tmp, u8_encode((uint32_t)m, tmp));
        }
        i += l;
    }
    jstr r = jb_str(&b);
    return r;
}

jstr js_upper(jctx *c, jstr s) { return js_case(c, s, true); }
jstr js_lower(jctx *c, jstr s) { return js_case(c, s, false); }

static uint32_t utf16_key(uint32_t cp, uint32_t *second) {
    if (cp < 0x10000) {
        *second = 0;
        return cp;
    }
    *second = 0xDC00 + ((cp - 0x10000) & 0x3FF);
    return 0xD800 + ((cp - 0x10000) >> 10);
}

int js_strcmp(jstr a, jstr b) {
    size_t i = 0, j = 0, la, lb;
    while (i < a.n && j < b.n) {
        uint32_t ca = u8_decode(a.p + i, a.n - i, &la), cb = u8_decode(b.p + j, b.n - j, &lb);
        if (ca != cb) {
            uint32_t sa, sb, ka = utf16_key(ca, &sa), kb = utf16_key(cb, &sb);
            if (ka != kb) return ka < kb ? -1 : 1;
            if (sa == 0) return -1; /* a's next unit follows in the next code point: compare conservatively */
            if (sb == 0) return 1;
            return sa < sb ? -1 : 1;
        }
        i += la;
        j += lb;
    }
    if (i < a.n) return 1;
    if (j < b.n) return -1;
    return 0;
}

/* Number.prototype.toString(): the shortest digits that read back as v,
 * laid out in fixed notation for exponents -7 < e < 21. */
void js_num_fmt(double v, char *out, size_t cap) {
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, "0");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char sign[2] = {0};
    if (v < 0) {
        sign[0] = '-';
        v = -v;
    }
    char tmp[64];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v) break;
    }
    /* tmp: d[.ddd]e[+-]xx */
    char digits[32];
    int k = 0;
    char *e = strchr(tmp, 'e');
    for (char *q = tmp; q < e; q++)
        if (*q != '.') digits[k++] = *q;
    digits[k] = 0;
    while (k > 1 && digits[k - 1] == '0') digits[--k] = 0;
    int n = atoi(e + 1) + 1;
    if (k <= n && n <= 21) {
        snprintf(out, cap, "%s%s%0*d", sign, digits, n - k, 0);
        if (n == k) snprintf(out, cap, "%s%s", sign, digits);
    } else if (0 < n && n <= 21) {
        snprintf(out, cap, "%s%.*s.%s", sign, n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        snprintf(out, cap, "%s0.%0*d%s", sign, -n, 0, digits);
        if (n == 0) snprintf(out, cap, "%s0.%s", sign, digits);
    } else {
        int ex = n - 1;
        if (k == 1) snprintf(out, cap, "%s%se%c%d", sign, digits, ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
        else snprintf(out, cap, "%s%c.%se%c%d", sign, digits[0], digits + 1, ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
}
