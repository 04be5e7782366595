/* Template to tokens, the way @huggingface/jinja's lexer does it: first its
 * regex preprocessing (trailing newline, lstrip_blocks, trim_blocks, the
 * transformers {% generation %} tag), then the token scanner. A line map
 * follows the text through preprocessing so errors name original lines. */
#include <string.h>

#include "text/jinja_int.h"

typedef struct {
    char *s;
    int *line;
    size_t n;
} ptext;

static ptext pt_new(jctx *c, size_t cap) {
    ptext t = {ja_alloc(c, cap + 1), ja_alloc(c, (cap + 1) * sizeof(int)), 0};
    return t;
}

static void pt_put(ptext *t, const ptext *from, size_t i) {
    t->s[t->n] = from->s[i];
    t->line[t->n] = from->line[i];
    t->n++;
}

static bool space_at(const ptext *t, size_t i, size_t *len) {
    if (i >= t->n) return false;
    uint32_t cp = u8_decode(t->s + i, t->n - i, len);
    return js_is_space(cp);
}

/* JavaScript's ^ in multiline mode: after \n, \r, U+2028 or U+2029. */
static bool line_start(const ptext *t, size_t i) {
    if (i == 0) return true;
    char ch = t->s[i - 1];
    if (ch == '\n' || ch == '\r') return true;
    return i >= 3 && !memcmp(t->s + i - 3, "\xe2\x80", 2) &&
           ((unsigned char)t->s[i - 1] == 0xA8 || (unsigned char)t->s[i - 1] == 0xA9);
}

static ptext preprocess(jctx *c, const char *src, size_t len) {
    ptext a = pt_new(c, len);
    int line = 1;
    for (size_t i = 0; i < len; i++) {
        a.s[i] = src[i];
        a.line[i] = line;
        if (src[i] == '\n') line++;
    }
    a.n = len;
    if (a.n && a.s[a.n - 1] == '\n') a.n--;

    /* lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1" */
    ptext b = pt_new(c, a.n);
    for (size_t i = 0; i < a.n;) {
        if (line_start(&a, i)) {
            size_t j = i;
            while (j < a.n && (a.s[j] == ' ' || a.s[j] == '\t')) j++;
            if (j + 1 < a.n && a.s[j] == '{' && (a.s[j + 1] == '#' || a.s[j + 1] == '%' || a.s[j + 1] == '-')) {
                pt_put(&b, &a, j);
                pt_put(&b, &a, j + 1);
                i = j + 2;
                continue;
            }
        }
        pt_put(&b, &a, i++);
    }

    /* trim_blocks: /([#%-]})\n/g -> "$1" */
    ptext d = pt_new(c, b.n);
    for (size_t i = 0; i < b.n;) {
        if (i + 2 < b.n && (b.s[i] == '#' || b.s[i] == '%' || b.s[i] == '-') && b.s[i + 1] == '}' &&
            b.s[i + 2] == '\n') {
            pt_put(&d, &b, i);
            pt_put(&d, &b, i + 1);
            i += 3;
            continue;
        }
        pt_put(&d, &b, i++);
    }

    /* /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs -> (lstrip ? "" : before) + (rstrip ? "" : after) */
    ptext e = pt_new(c, d.n);
    size_t done = 0; /* d[0..done) is copied or consumed */
    size_t ws_start = 0;
    for (size_t i = 0; i < d.n;) {
        size_t l;
        if (space_at(&d, i, &l)) {
            i += l;
            continue;
        }
        if (i + 1 < d.n && d.s[i] == '{' && d.s[i + 1] == '%') {
            size_t p = i + 2;
            bool lstrip = p < d.n && d.s[p] == '-';
            if (lstrip) p++;
            while (space_at(&d, p, &l)) p += l;
            if (p + 3 <= d.n && !memcmp(d.s + p, "end", 3) && !(p + 10 <= d.n && !memcmp(d.s + p, "generation", 10)))
                p += 3;
            if (p + 10 <= d.n && !memcmp(d.s + p, "generation", 10)) {
                p += 10;
                while (space_at(&d, p, &l)) p += l;
                bool rstrip = p < d.n && d.s[p] == '-';
                size_t q = rstrip ? p + 1 : p;
                if (q + 1 < d.n && d.s[q] == '%' && d.s[q + 1] == '}') {
                    /* match: whitespace before is d[ws_start..i), after is from q+2 */
                    size_t ws_before = ws_start < done ? done : ws_start;
                    for (size_t k = done; k < ws_before; k++) pt_put(&e, &d, k);
                    if (!lstrip)
                        for (size_t k = ws_before; k < i; k++) pt_put(&e, &d, k);
                    size_t a2 = q + 2, z = a2;
                    while (space_at(&d, z, &l)) z += l;
                    if (!rstrip)
                        for (size_t k = a2; k < z; k++) pt_put(&e, &d, k);
                    done = z;
                    i = z;
                    ws_start = z;
                    continue;
                }
            }
        }
        i++;
        ws_start = i;
    }
    for (size_t k = done; k < d.n; k++) pt_put(&e, &d, k);
    return e;
}

const char *jtok_name(jtok_type t) {
    static const char *names[] = {
        "Text", "NumericLiteral", "StringLiteral", "Identifier", "Equals", "OpenParen", "CloseParen",
        "OpenStatement", "CloseStatement", "OpenExpression", "CloseExpression", "OpenSquareBracket",
        "CloseSquareBracket", "OpenCurlyBracket", "CloseCurlyBracket", "Comma", "Dot", "Colon", "Pipe",
        "AdditiveBinaryOperator", "MultiplicativeBinaryOperator", "ExponentiationBinaryOperator",
        "ComparisonBinaryOperator", "UnaryOperator", "Comment",
    };
    return names[t];
}

typedef struct {
    jctx *c;
    ptext t;
    size_t pos;
    jtok *v;
    size_t n, cap;
} lexer;

static void push(lexer *L, jtok_type type, const char *s, size_t n, int line) {
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 256;
        jtok *v = ja_alloc(L->c, cap * sizeof *v);
        if (L->n) memcpy(v, L->v, L->n * sizeof *v);
        L->v = v;
        L->cap = cap;
    }
    L->v[L->n++] = (jtok){type, {s, n}, line};
}

static int cur_line(lexer *L) { return L->pos < L->t.n ? L->t.line[L->pos] : (L->t.n ? L->t.line[L->t.n - 1] : 1); }

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_word(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '_';
}

enum { W_SPACE, W_DIGIT, W_WORD, W_STRING };

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* consumeWhile: note that, like the original, reaching the end of input
 * after consuming a character is an error. */
static jstr consume_while(lexer *L, int kind, char quote) {
    jctx *c = L->c;
    jbuf b = {0};
    ptext *t = &L->t;
    for (;;) {
        if (L->pos >= t->n) {
            /* the original reads src[length] (undefined): it passes the string and word tests */
            if (kind == W_STRING || kind == W_WORD) jraise(c, "Unexpected end of input");
            break;
        }
        size_t l = 1;
        char ch = t->s[L->pos];
        bool ok;
        switch (kind) {
        case W_SPACE: ok = space_at(t, L->pos, &l); break;
        case W_DIGIT: ok = is_digit(ch); break;
        case W_WORD: ok = is_word(ch); break;
        default: ok = ch != quote; break;
        }
        if (!ok) break;
        if (ch == '\\') {
            c->line = cur_line(L);
            if (++L->pos >= t->n) jraise(c, "Unexpected end of input");
            char esc = t->s[L->pos++];
            if (esc == 'x' || esc == 'u') {
                size_t need = esc == 'x' ? 2 : 4;
                uint32_t cp = 0;
                bool good = L->pos + need <= t->n;
                for (size_t k = 0; good && k < need; k++) {
                    int h = hexval(t->s[L->pos + k]);
                    if (h < 0) good = false;
                    else cp = cp * 16 + (uint32_t)h;
                }
                if (!good) {
                    size_t have = t->n - L->pos < need ? t->n - L->pos : need;
                    jraise(c, "Invalid hexadecimal escape sequence: \\%c%.*s", esc, (int)have, t->s + L->pos);
                }
                L->pos += need;
                /* a \uD83D\uDC4B pair is one character, as in JavaScript */
                if (cp >= 0xD800 && cp <= 0xDBFF && L->pos + 6 <= t->n && t->s[L->pos] == '\\' &&
                    t->s[L->pos + 1] == 'u') {
                    uint32_t lo = 0;
                    bool g2 = true;
                    for (int k = 0; k < 4; k++) {
                        int h = hexval(t->s[L->pos + 2 + k]);
                        if (h < 0) g2 = false;
                        else lo = lo * 16 + (uint32_t)h;
                    }
                    if (g2 && lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        L->pos += 6;
                    }
                }
                if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* a lone surrogate prints as U+FFFD */
                char tmp[4];
                jb_put(c, &b, tmp, u8_encode(cp, tmp));
                continue;
            }
            const char *un = NULL;
            switch (esc) {
            case 'n': un = "\n"; break;
            case 't': un = "\t"; break;
            case 'r': un = "\r"; break;
            case 'b': un = "\b"; break;
            case 'f': un = "\f"; break;
            case 'v': un = "\v"; break;
            case '\'': un = "'"; break;
            case '"': un = "\""; break;
            case '\\': un = "\\"; break;
            }
            if (!un) {
                size_t el;
                u8_decode(t->s + L->pos - 1, t->n - L->pos + 1, &el);
                jraise(c, "Unexpected escaped character: %.*s", (int)el, t->s + L->pos - 1);
            }
            jb_putc(c, &b, un[0]);
            continue;
        }
        jb_put(c, &b, t->s + L->pos, l);
        L->pos += l;
        if (L->pos >= t->n) {
            c->line = cur_line(L);
            jraise(c, "Unexpected end of input");
        }
    }
    return jb_str(&b);
}

static jtok_type last_type(lexer *L) { return L->n ? L->v[L->n - 1].type : (jtok_type)-1; }

static void strip_trailing(lexer *L) {
    if (L->n && L->v[L->n - 1].type == T_TEXT) {
        L->v[L->n - 1].v = js_trim(L->v[L->n - 1].v, false, true);
        if (L->v[L->n - 1].v.n == 0) L->n--;
    }
}

static void skip_leading(lexer *L) {
    size_t l;
    while (space_at(&L->t, L->pos, &l)) L->pos += l;
}

static bool at(lexer *L, const char *s) {
    size_t n = strlen(s);
    return L->pos + n <= L->t.n && !memcmp(L->t.s + L->pos, s, n);
}

static const struct {
    const char *seq;
    jtok_type type;
} table[] = {
    {"{%", T_OPEN_STMT}, {"%}", T_CLOSE_STMT}, {"{{", T_OPEN_EXPR}, {"}}", T_CLOSE_EXPR}, {"(", T_LPAREN},
    {")", T_RPAREN}, {"{", T_LBRACE}, {"}", T_RBRACE}, {"[", T_LBRACKET}, {"]", T_RBRACKET}, {",", T_COMMA},
    {".", T_DOT}, {":", T_COLON}, {"|", T_PIPE}, {"<=", T_CMP}, {">=", T_CMP}, {"==", T_CMP}, {"!=", T_CMP},
    {"<", T_CMP}, {">", T_CMP}, {"+", T_ADD}, {"-", T_ADD}, {"~", T_ADD}, {"**", T_POW}, {"*", T_MUL},
    {"//", T_MUL}, {"/", T_MUL}, {"%", T_MUL}, {"=", T_EQUALS},
};

void jlex(jctx *c, const char *src, size_t len, jtok **toks, size_t *ntoks) {
    lexer L = {.c = c};
    L.t = preprocess(c, src, len);
    ptext *t = &L.t;
    int depth = 0;
    while (L.pos < t->n) {
        int line = cur_line(&L);
        c->line = line;
        jtok_type lt = last_type(&L);
        if (L.n == 0 || lt == T_CLOSE_STMT || lt == T_CLOSE_EXPR || lt == T_COMMENT) {
            size_t s = L.pos;
            while (L.pos < t->n && !(t->s[L.pos] == '{' && L.pos + 1 < t->n &&
                                      (t->s[L.pos + 1] == '%' || t->s[L.pos + 1] == '{' || t->s[L.pos + 1] == '#')))
                L.pos++;
            if (L.pos > s) {
                push(&L, T_TEXT, t->s + s, L.pos - s, line);
                continue;
            }
        }
        if (at(&L, "{#")) {
            L.pos += 2;
            bool strip_before = L.pos < t->n && t->s[L.pos] == '-';
            if (strip_before) L.pos++;
            size_t s = L.pos;
            while (!(L.pos + 1 < t->n && t->s[L.pos] == '#' && t->s[L.pos + 1] == '}')) {
                if (L.pos + 2 >= t->n) jraise(c, "Missing end of comment tag");
                L.pos++;
            }
            size_t e = L.pos;
            bool strip_after = e > s && t->s[e - 1] == '-';
            if (strip_after) e--;
            if (strip_before) strip_trailing(&L);
            push(&L, T_COMMENT, t->s + s, e - s, line);
            L.pos += 2;
            if (strip_after) skip_leading(&L);
            continue;
        }
        if (at(&L, "{%-")) {
            strip_trailing(&L);
            push(&L, T_OPEN_STMT, "{%", 2, line);
            L.pos += 3;
            continue;
        }
        if (at(&L, "{{-")) {
            strip_trailing(&L);
            push(&L, T_OPEN_EXPR, "{{", 2, line);
            depth = 0;
            L.pos += 3;
            continue;
        }
        consume_while(&L, W_SPACE, 0);
        line = cur_line(&L);
        c->line = line;
        if (at(&L, "-%}")) {
            push(&L, T_CLOSE_STMT, "%}", 2, line);
            L.pos += 3;
            skip_leading(&L);
            continue;
        }
        if (at(&L, "-}}")) {
            push(&L, T_CLOSE_EXPR, "}}", 2, line);
            L.pos += 3;
            skip_leading(&L);
            continue;
        }
        if (L.pos >= t->n) {
            /* src[cursor] is undefined here in the original: no table entry matches and
             * /\w/.test(undefined) is true, so it lexes the word "undefined"... from an
             * empty string; that loop then throws at the end of input. */
            jraise(c, "Unexpected character: undefined");
        }
        char ch = t->s[L.pos];
        if (ch == '-' || ch == '+') {
            jtok_type plt = last_type(&L);
            if (L.n == 0 || plt == T_TEXT) jraise(c, "Unexpected character: %c", ch);
            if (!(plt == T_IDENT || plt == T_NUM || plt == T_STR || plt == T_RPAREN || plt == T_RBRACKET)) {
                L.pos++;
                jstr num = consume_while(&L, W_DIGIT, 0);
                jbuf b = {0};
                jb_putc(c, &b, ch);
                jb_put(c, &b, num.p, num.n);
                if (num.n > 0 && L.pos + 1 < t->n && t->s[L.pos] == '.' && is_digit(t->s[L.pos + 1])) {
                    L.pos++;
                    jstr frac = consume_while(&L, W_DIGIT, 0);
                    jb_putc(c, &b, '.');
                    jb_put(c, &b, frac.p, frac.n);
                }
                jstr v = jb_str(&b);
                push(&L, num.n > 0 ? T_NUM : T_UNARY, v.p, v.n, line);
                continue;
            }
        }
        bool matched = false;
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
            if (table[i].type == T_CLOSE_EXPR && depth > 0) continue;
            if (at(&L, table[i].seq)) {
                size_t n = strlen(table[i].seq);
                push(&L, table[i].type, table[i].seq, n, line);
                if (table[i].type == T_OPEN_EXPR) depth = 0;
                else if (table[i].type == T_LBRACE) depth++;
                else if (table[i].type == T_RBRACE) depth--;
                L.pos += n;
                matched = true;
                break;
            }
        }
        if (matched) continue;
        if (ch == '\'' || ch == '"') {
            L.pos++;
            jstr s = consume_while(&L, W_STRING, ch);
            push(&L, T_STR, s.p, s.n, line);
            L.pos++;
            continue;
        }
        if (is_digit(ch)) {
            jstr num = consume_while(&L, W_DIGIT, 0);
            if (last_type(&L) != T_DOT && L.pos + 1 < t->n && t->s[L.pos] == '.' && is_digit(t->s[L.pos + 1])) {
                L.pos++;
                jstr frac = consume_while(&L, W_DIGIT, 0);
                jbuf b = {0};
                jb_put(c, &b, num.p, num.n);
                jb_putc(c, &b, '.');
                jb_put(c, &b, frac.p, frac.n);
                num = jb_str(&b);
            }
            push(&L, T_NUM, num.p, num.n, line);
            continue;
        }
        if (is_word(ch)) {
            jstr w = consume_while(&L, W_WORD, 0);
            push(&L, T_IDENT, w.p, w.n, line);
            continue;
        }
        size_t l;
        u8_decode(t->s + L.pos, t->n - L.pos, &l);
        jraise(c, "Unexpected character: %.*s", (int)l, t->s + L.pos);
    }
    *toks = L.v;
    *ntoks = L.n;
}
