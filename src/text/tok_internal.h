/* Internal state shared by the tokenizer's files (not part of the interface). */
#ifndef HR_TEXT_TOK_INTERNAL_H
#define HR_TEXT_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

typedef enum { TOK_KIND_SPM, TOK_KIND_BPE } tok_kind;

typedef enum {
    PRE_DEFAULT,
    PRE_LLAMA3,
    PRE_GPT2,
    PRE_STARCODER,
    PRE_QWEN2,
    PRE_QWEN35,
    PRE_GEMMA4,
} tok_pre;

/* Open-addressing table of uint32 values (index + 1; 0 = empty). Keys live
 * elsewhere; the owner supplies the comparison. */
typedef struct tok_table {
    uint32_t *slots;
    uint64_t mask;
} tok_table;

uint64_t tok_hash(const void *p, size_t n);

#define TOK_MAX_REGEX 4
#define TOK_UTF8_REPL "\xEF\xBF\xBD"

/* A node of the byte trie over special-token texts. */
typedef struct tok_trie_node {
    uint32_t first_child; /* 0: none */
    uint32_t next_sibling;
    int32_t rank; /* priority rank of the token ending here, -1 if none */
    uint8_t byte;
} tok_trie_node;

struct hr_tokenizer {
    tok_kind kind;
    tok_pre pre;
    char model_name[32];
    char pre_name[64];

    int32_t n_vocab;
    char *text_pool;    /* every token text, NUL-separated */
    uint64_t *text_off; /* n_vocab offsets into text_pool */
    uint32_t *text_len;
    float *scores;
    uint16_t *attr;
    tok_table tok_map; /* text -> id */
    int32_t max_token_len;

    /* BPE merges: left and right stored back to back in merge_pool. */
    uint32_t n_merges;
    char *merge_pool;
    uint64_t *merge_off;
    uint32_t *merge_llen, *merge_rlen;
    tok_table merge_map; /* (left, right) -> rank */

    int32_t bos, eos, eot, eom, unk, pad, sep;
    bool add_bos, add_eos, add_space_prefix, ignore_merges, clean_spaces, escape_whitespaces, byte_encode;
    uint8_t *eog; /* n_vocab flags */

    /* Byte fallback: the token for each byte (<0xNN> for SPM and gemma4, the
     * byte-to-unicode character for byte-level BPE), -1 when absent. */
    int32_t byte_token[256];

    /* Special tokens (control, user-defined, unknown) by decreasing text length. */
    int32_t n_special;
    int32_t *special_ids;
    tok_trie_node *trie; /* node 0 is the root, whose children are in trie_root */
    uint32_t n_trie;
    uint32_t trie_root[256];

    /* Pre-tokenizer regexes, applied one after the other. */
    int n_regex;
    pcre2_code *regex[TOK_MAX_REGEX];

    /* token_to_piece(special = true) for every token. */
    char *piece_pool;
    uint64_t *piece_off;
    uint32_t *piece_len;
};

/* Token id of a byte string, -1 when not in the vocabulary. */
int32_t tok_lookup(const hr_tokenizer *t, const char *s, size_t n);
/* Rank of the merge (s[0..llen), s[llen..n)), -1 when none. */
int32_t tok_merge_rank(const hr_tokenizer *t, const char *s, size_t n, size_t llen);

/* Growable id vector. */
typedef struct tok_ids {
    int32_t *v;
    size_t n, cap;
} tok_ids;
bool tok_ids_push(tok_ids *ids, int32_t id);

/* Growable byte buffer. */
typedef struct tok_buf {
    char *p;
    size_t n, cap;
} tok_buf;
bool tok_buf_put(tok_buf *b, const void *data, size_t n);

/* llama.cpp's lenient UTF-8 decoding: one code point at s[*i], advancing *i;
 * an invalid lead or truncated sequence consumes one byte and yields U+FFFD. */
uint32_t tok_utf8_decode(const char *s, size_t n, size_t *i);
/* Encodes cp (surrogates included, as llama.cpp does); returns the length, 0 if cp > 0x10FFFF. */
size_t tok_utf8_encode(uint32_t cp, char *out);
/* Bytes of the UTF-8 sequence led by c, as llama.cpp counts them (1 for a stray continuation byte). */
static inline size_t tok_utf8_len(unsigned char c) {
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

/* Pre-tokenizer setup (tok_pretok.c). */
hearth_status tok_pretok_init(hr_tokenizer *t, hearth_error *err);
/* Splits text into words (byte ranges of *norm, which is text with invalid
 * UTF-8 made canonical as llama.cpp does). Words are appended as pairs
 * (start, end) to *bounds. */
hearth_status tok_pretok_split(const hr_tokenizer *t, const char *text, size_t len, tok_buf *norm, tok_buf *bounds,
                               hearth_error *err);

/* The models (tok_bpe.c, tok_spm.c): tokenize one raw-text fragment. */
hearth_status tok_bpe_fragment(const hr_tokenizer *t, const char *text, size_t len, tok_ids *out, hearth_error *err);
hearth_status tok_spm_fragment(const hr_tokenizer *t, const char *text, size_t len, tok_ids *out, hearth_error *err);

/* Special tokens (tok_special.c). */
hearth_status tok_special_init(hr_tokenizer *t, hearth_error *err);
/* A fragment of partitioned text: a special token (id >= 0) or raw bytes [start, end). */
typedef struct tok_fragment {
    int32_t id;
    size_t start, end;
} tok_fragment;
hearth_status tok_special_partition(const hr_tokenizer *t, const char *text, size_t len, bool parse_special,
                                    tok_fragment **frags, size_t *n_frags, hearth_error *err);

/* Piece cache (tok_detok.c). */
hearth_status tok_pieces_init(hr_tokenizer *t, hearth_error *err);

#endif
