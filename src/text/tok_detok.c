/* Token ids to bytes with llama.cpp's rules: token_to_piece per token (cached
 * at load), detokenize for whole sequences (leading-space removal and
 * clean_up_tokenization_spaces), and a streaming form that holds back
 * incomplete UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "text/tok_internal.h"

/* Inverse of GPT-2's byte-to-unicode mapping; -1 for code points outside it. */
static int unicode_to_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    if (cp < 256 || cp >= 256 + 68) return -1;
    uint32_t n = 0;
    for (unsigned c = 0; c < 256; c++) {
        if ((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)) continue;
        if (n++ == cp - 256) return (int)c;
    }
    return -1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The byte of a <0xNN> token (llama.cpp parses the two characters after "<0x"). */
static char token_byte(const char *s, size_t n) {
    int v = 0;
    for (size_t k = 3; k < 5 && k < n && hexval(s[k]) >= 0; k++) v = v * 16 + hexval(s[k]);
    return (char)v;
}

static bool put_unescaped(tok_buf *b, const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const char *p = memmem(s + i, n - i, "\xE2\x96\x81", 3);
        size_t run = p ? (size_t)(p - (s + i)) : n - i;
        if (!tok_buf_put(b, s + i, run)) return false;
        i += run;
        if (p) {
            if (!tok_buf_put(b, " ", 1)) return false;
            i += 3;
        }
    }
    return true;
}

/* A token's rendering may not exceed this: llama.cpp's "[UNK_BYTE_0x..." form
 * repeats the whole token text per unmapped character, which a hostile
 * vocabulary could turn into gigabytes. */
#define MAX_PIECE (1u << 20)

/* Byte-level BPE text back to bytes; characters outside the mapping are shown
 * the way llama.cpp shows them ("[UNK_BYTE_0x..." followed by the token text). */
static bool put_decoded(tok_buf *b, const char *s, size_t n) {
    size_t i = 0, start = b->n;
    while (i < n) {
        if (b->n - start > MAX_PIECE) return false;
        uint32_t cp = tok_utf8_decode(s, n, &i);
        int byte = unicode_to_byte(cp);
        if (byte >= 0) {
            char c = (char)byte;
            if (!tok_buf_put(b, &c, 1)) return false;
            continue;
        }
        char enc[4], hex[16];
        size_t el = tok_utf8_encode(cp, enc);
        if (!tok_buf_put(b, "[UNK_BYTE_0x", 12)) return false;
        for (size_t k = 0; k < el; k++) {
            snprintf(hex, sizeof hex, "%02x", (unsigned char)enc[k]);
            if (!tok_buf_put(b, hex, 2)) return false;
        }
        if (!tok_buf_put(b, s, n) || !tok_buf_put(b, "]", 1)) return false;
    }
    return true;
}

static bool render_piece(const hr_tokenizer *t, int32_t id, tok_buf *b) {
    const char *s = t->text_pool + t->text_off[id];
    size_t n = t->text_len[id];
    uint16_t a = t->attr[id];
    if (a & (HR_TOKEN_ATTR_UNKNOWN | HR_TOKEN_ATTR_CONTROL | HR_TOKEN_ATTR_USER_DEFINED)) return tok_buf_put(b, s, n);
    if (a & HR_TOKEN_ATTR_NORMAL) {
        if (t->kind == TOK_KIND_SPM || t->escape_whitespaces) return put_unescaped(b, s, n);
        return put_decoded(b, s, n);
    }
    if (a & HR_TOKEN_ATTR_BYTE) {
        char c = token_byte(s, n);
        return tok_buf_put(b, &c, 1);
    }
    return true; /* unused and undefined tokens render as nothing */
}

hearth_status tok_pieces_init(hr_tokenizer *t, hearth_error *err) {
    tok_buf b = {0};
    t->piece_off = malloc((size_t)t->n_vocab * sizeof *t->piece_off);
    t->piece_len = malloc((size_t)t->n_vocab * sizeof *t->piece_len);
    if (!t->piece_off || !t->piece_len) goto nomem;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        size_t before = b.n;
        if (!render_piece(t, i, &b) || b.n - before > MAX_PIECE) {
            bool too_long = b.n - before > MAX_PIECE;
            free(b.p);
            if (too_long) return hr_fail(err, HEARTH_ERR_FORMAT, "token %d renders to more than %u bytes", i, MAX_PIECE);
            return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        }
        t->piece_off[i] = before;
        t->piece_len[i] = (uint32_t)(b.n - before);
    }
    if (!tok_buf_put(&b, "", 0)) goto nomem;
    t->piece_pool = b.p;
    return HEARTH_OK;
nomem:
    free(b.p);
    return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}

static const char *piece(const hr_tokenizer *t, int32_t id, bool special, size_t *n) {
    if (!special && (t->attr[id] & (HR_TOKEN_ATTR_UNKNOWN | HR_TOKEN_ATTR_CONTROL))) {
        *n = 0;
        return "";
    }
    *n = t->piece_len[id];
    return t->piece_pool + t->piece_off[id];
}

int hr_token_to_piece(const hr_tokenizer *t, int32_t id, bool special, char *buf, size_t cap) {
    if (id < 0 || id >= t->n_vocab) return -1;
    size_t n;
    const char *p = piece(t, id, special, &n);
    if (buf) memcpy(buf, p, n < cap ? n : cap);
    return (int)n;
}

/* clean_up_tokenization_spaces, three passes over the bytes as llama.cpp makes them. */
static size_t clean_spaces(char *text, size_t total) {
    if (total < 2) return total;
    /* " ?", " !", " .", " ," lose the space */
    size_t w = 1;
    for (size_t i = 1; i < total; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) w--;
        text[w++] = x;
    }
    total = w;
    /* " ' " becomes "'"; the swallowed space no longer counts as a space before the next byte */
    w = 1;
    for (size_t i = 1; i < total; i++) {
        char x = text[i];
        if (x == '\'' && i + 1 < total && text[i - 1] == ' ' && text[i + 1] == ' ') {
            w--;
            text[++i] = '\0';
        }
        text[w++] = x;
    }
    total = w;
    /* " 's", " 'm", " 're", " 've" lose the space */
    w = 1;
    for (size_t i = 1; i < total; i++) {
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < total) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm') w--;
            else if (i + 2 < total && ((x1 == 'r' && text[i + 2] == 'e') || (x1 == 'v' && text[i + 2] == 'e'))) w--;
        }
        text[w++] = x;
    }
    return w;
}

hearth_status hr_detokenize(const hr_tokenizer *t, const int32_t *ids, size_t n, bool special, char **out,
                            size_t *n_out, hearth_error *err) {
    *out = NULL;
    *n_out = 0;
    tok_buf b = {0};
    if (!tok_buf_put(&b, "", 0)) goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) {
            free(b.p);
            return hr_fail(err, HEARTH_ERR_RANGE, "token id %d is outside the vocabulary (%d tokens)", ids[i], t->n_vocab);
        }
        size_t len;
        const char *p = piece(t, ids[i], special, &len);
        if (i == 0 && t->add_space_prefix && len && p[0] == ' ') p++, len--; /* the prefix SentencePiece added */
        if (!tok_buf_put(&b, p, len)) goto nomem;
    }
    if (t->clean_spaces) {
        b.n = clean_spaces(b.p, b.n);
        b.p[b.n] = '\0';
    }
    *out = b.p;
    *n_out = b.n;
    return HEARTH_OK;
nomem:
    free(b.p);
    return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}

struct hr_detok_stream {
    const hr_tokenizer *t;
    bool special;
    tok_buf pending; /* bytes of an incomplete character */
    tok_buf out;
};

hr_detok_stream *hr_detok_stream_new(const hr_tokenizer *t, bool special) {
    hr_detok_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->t = t;
    s->special = special;
    if (!tok_buf_put(&s->out, "", 0) || !tok_buf_put(&s->pending, "", 0)) {
        hr_detok_stream_free(s);
        return NULL;
    }
    return s;
}

/* Length of the valid character at p[0..n): > 0 complete, 0 a prefix that
 * more bytes may complete, < 0 the negated length of an invalid maximal subpart. */
static int utf8_char(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    int len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    for (int k = 1; k < len; k++) {
        if ((size_t)k >= n) return 0;
        unsigned b = p[k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return -k;
    }
    return len;
}

/* Moves every decidable byte of pending to out; with final, the rest too. */
static bool drain(hr_detok_stream *s, bool final) {
    const unsigned char *p = (const unsigned char *)s->pending.p;
    size_t n = s->pending.n, i = 0;
    s->out.n = 0;
    s->out.p[0] = '\0';
    while (i < n) {
        int r = utf8_char(p + i, n - i);
        if (r > 0) {
            size_t j = i + (size_t)r;
            while (j < n && p[j] < 0x80) j++; /* copy ASCII runs in one go */
            if (!tok_buf_put(&s->out, p + i, j - i)) return false;
            i = j;
        } else if (r < 0 || final) {
            if (!tok_buf_put(&s->out, TOK_UTF8_REPL, 3)) return false;
            i += r < 0 ? (size_t)-r : n - i;
        } else {
            break;
        }
    }
    memmove(s->pending.p, s->pending.p + i, n - i);
    s->pending.n = n - i;
    return true;
}

const char *hr_detok_stream_push(hr_detok_stream *s, int32_t id) {
    if (id >= 0 && id < s->t->n_vocab) {
        size_t n;
        const char *p = piece(s->t, id, s->special, &n);
        if (!tok_buf_put(&s->pending, p, n)) return NULL;
    }
    return drain(s, false) ? s->out.p : NULL;
}

const char *hr_detok_stream_flush(hr_detok_stream *s) { return drain(s, true) ? s->out.p : NULL; }

void hr_detok_stream_free(hr_detok_stream *s) {
    if (!s) return;
    free(s->pending.p);
    free(s->out.p);
    free(s);
}
