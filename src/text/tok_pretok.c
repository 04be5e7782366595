/* Pre-tokenizers for BPE vocabularies: the split regexes llama.cpp uses per
 * tokenizer.ggml.pre, run with PCRE2 (UTF + UCP + JIT). Regexes apply one
 * after another; each splits every piece of the previous one into its matches
 * and the gaps between them, as llama.cpp's unicode_regex_split does.
 *
 * llama.cpp's \s is PCRE2's \s plus U+0085 (NEL), so every \s is written
 * [\s\x{85}] here. Its case-insensitive contractions (?i:'s|...) are spelled
 * out as ASCII classes, as llama.cpp's own adapted patterns do. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "common/error.h"
#include "text/tok_internal.h"

#define WS "\\s\\x{85}"
#define CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define WS_TAIL "|[" WS "]+(?![^" WS "])|[" WS "]+"

static const char re_gpt2[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+" WS_TAIL;
static const char re_llama3[] = CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^" WS
                                             "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+" WS_TAIL;
static const char re_qwen2[] = CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^" WS
                                            "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+" WS_TAIL;
static const char re_qwen35[] = CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^" WS
                                             "\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+" WS_TAIL;
static const char re_newlines[] = "[^\\n]+|\\n+";
static const char re_digit[] = "\\p{N}";
static const char re_digits[] = "\\p{N}+";
static const char re_punct[] = "[\\p{P}$+<=>^~|]+";
static const char re_3digits[] = "[0-9][0-9][0-9]";

hearth_status tok_pretok_init(hr_tokenizer *t, hearth_error *err) {
    const char *list[TOK_MAX_REGEX] = {0};
    int n = 0;
    switch (t->pre) {
    case PRE_DEFAULT:
        list[n++] = re_punct;
        list[n++] = re_gpt2;
        list[n++] = re_digits;
        list[n++] = re_3digits;
        break;
    case PRE_LLAMA3: list[n++] = re_llama3; break;
    case PRE_GPT2: list[n++] = re_gpt2; break;
    case PRE_STARCODER:
        list[n++] = re_digit;
        list[n++] = re_gpt2;
        break;
    case PRE_QWEN2: list[n++] = re_qwen2; break;
    case PRE_QWEN35: list[n++] = re_qwen35; break;
    case PRE_GEMMA4: list[n++] = re_newlines; break;
    }
    for (int i = 0; i < n; i++) {
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)list[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
        if (!re) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(ec, msg, sizeof msg);
            return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "pre-tokenizer regex %d: %s at %zu", i, (const char *)msg, (size_t)eo);
        }
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT it still works, only slower */
        t->regex[t->n_regex++] = re;
    }
    return HEARTH_OK;
}

/* True when text is strict UTF-8 (utf8proc rejects overlong forms and
 * surrogates), which llama.cpp's decode/re-encode leaves unchanged. */
static bool utf8_canonical(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (!((unsigned char)s[i] & 0x80)) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (r <= 0) return false;
        i += (size_t)r;
    }
    return true;
}

typedef struct {
    size_t *v;
    size_t n, cap;
} bounds_vec;

static bool bounds_push(bounds_vec *b, size_t s, size_t e) {
    if (b->n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        size_t *v = realloc(b->v, cap * sizeof *v);
        if (!v) return false;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = s;
    b->v[b->n++] = e;
    return true;
}

/* Splits [s, e) of subject by one regex into matches and the gaps between them. */
static hearth_status split_piece(const pcre2_code *re, pcre2_match_data *md, const char *subject, size_t s, size_t e,
                                 bounds_vec *out, hearth_error *err) {
    size_t pos = 0, len = e - s, last = 0;
    PCRE2_SPTR base = (PCRE2_SPTR)(subject + s);
    while (pos < len) {
        int rc = pcre2_match(re, base, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return hr_fail(err, HEARTH_ERR_INVALID, "pre-tokenizer regex failed (%d)", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) { /* cannot happen with our patterns; step one character to be safe */
            me = ms + 1;
            while (me < len && ((unsigned char)base[me] & 0xC0) == 0x80) me++;
            pos = me;
            continue;
        }
        if (ms > last && !bounds_push(out, s + last, s + ms)) goto nomem;
        if (!bounds_push(out, s + ms, s + me)) goto nomem;
        last = pos = me;
    }
    if (last < len && !bounds_push(out, s + last, e)) goto nomem;
    return HEARTH_OK;
nomem:
    return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}

hearth_status tok_pretok_split(const hr_tokenizer *t, const char *text, size_t len, tok_buf *norm, tok_buf *bounds,
                               hearth_error *err) {
    norm->n = 0;
    bounds->n = 0;
    /* llama.cpp decodes leniently: each invalid byte becomes U+FFFD, surrogates and overlong forms are kept. */
    bool has_surrogate = false;
    if (utf8_canonical(text, len)) {
        if (!tok_buf_put(norm, text, len)) goto nomem;
    } else {
        size_t i = 0;
        char enc[4];
        while (i < len) {
            uint32_t cp = tok_utf8_decode(text, len, &i);
            has_surrogate |= cp >= 0xD800 && cp <= 0xDFFF;
            if (!tok_buf_put(norm, enc, tok_utf8_encode(cp, enc))) goto nomem;
        }
    }
    /* PCRE2 rejects surrogates; U+E000 has the same length and, like them, is category C. */
    const char *subject = norm->p ? norm->p : "";
    char *copy = NULL;
    if (has_surrogate) {
        copy = malloc(norm->n + 1);
        if (!copy) goto nomem;
        memcpy(copy, norm->p, norm->n + 1);
        for (size_t i = 0; i + 2 < norm->n; i++)
            if ((unsigned char)copy[i] == 0xED && ((unsigned char)copy[i + 1] & 0xE0) == 0xA0) {
                copy[i] = (char)0xEE, copy[i + 1] = (char)0x80, copy[i + 2] = (char)0x80;
                i += 2;
            }
        subject = copy;
    }

    hearth_status st = HEARTH_OK;
    bounds_vec cur = {0}, next = {0};
    pcre2_match_data *md = NULL;
    if (norm->n && !bounds_push(&cur, 0, norm->n)) goto nomem_free;
    for (int r = 0; r < t->n_regex && cur.n; r++) {
        md = pcre2_match_data_create_from_pattern(t->regex[r], NULL);
        if (!md) goto nomem_free;
        next.n = 0;
        for (size_t k = 0; k < cur.n; k += 2)
            if ((st = split_piece(t->regex[r], md, subject, cur.v[k], cur.v[k + 1], &next, err)) != HEARTH_OK) goto out;
        pcre2_match_data_free(md);
        md = NULL;
        bounds_vec tmp = cur;
        cur = next;
        next = tmp;
    }
    if (!tok_buf_put(bounds, cur.v, cur.n * sizeof *cur.v)) goto nomem_free;
out:
    pcre2_match_data_free(md);
    free(cur.v);
    free(next.v);
    free(copy);
    return st;
nomem_free:
    st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    goto out;
nomem:
    return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
}
