/*
 * Tokenizers that agree with llama.cpp token for token: SentencePiece-style
 * (tokenizer.ggml.model = "llama") and byte-level BPE ("gpt2", "gemma4"),
 * with the pre-tokenizers named by tokenizer.ggml.pre, special-token
 * partitioning, and llama.cpp's detokenization rules.
 *
 * A tokenizer is immutable after hr_tokenizer_new and may be used from
 * several threads at once.
 */
#ifndef HR_TEXT_TOKENIZER_H
#define HR_TEXT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"
#include "gguf/gguf.h"

typedef struct hr_tokenizer hr_tokenizer;

/* Token attributes (bit set), numbered as llama.cpp's llama_token_attr. */
enum {
    HR_TOKEN_ATTR_UNDEFINED = 0,
    HR_TOKEN_ATTR_UNKNOWN = 1 << 0,
    HR_TOKEN_ATTR_UNUSED = 1 << 1,
    HR_TOKEN_ATTR_NORMAL = 1 << 2,
    HR_TOKEN_ATTR_CONTROL = 1 << 3,
    HR_TOKEN_ATTR_USER_DEFINED = 1 << 4,
    HR_TOKEN_ATTR_BYTE = 1 << 5,
    HR_TOKEN_ATTR_LSTRIP = 1 << 7,
    HR_TOKEN_ATTR_RSTRIP = 1 << 8,
};

/* Builds a tokenizer from tokenizer.ggml.* metadata; copies what it needs, so
 * g may be closed afterwards. Unknown models or pre-tokenizers are
 * HEARTH_ERR_UNSUPPORTED; inconsistent metadata is HEARTH_ERR_FORMAT. */
hearth_status hr_tokenizer_new(const hr_gguf *g, hr_tokenizer **out, hearth_error *err);
void hr_tokenizer_free(hr_tokenizer *t);

int32_t hr_tokenizer_n_vocab(const hr_tokenizer *t);
int32_t hr_tokenizer_bos(const hr_tokenizer *t); /* -1 when none */
int32_t hr_tokenizer_eos(const hr_tokenizer *t); /* -1 when none */
int32_t hr_tokenizer_eot(const hr_tokenizer *t); /* -1 when none */
int32_t hr_tokenizer_pad(const hr_tokenizer *t); /* -1 when none */
int32_t hr_tokenizer_unk(const hr_tokenizer *t); /* -1 when none */
/* tokenizer.ggml.add_bos_token / add_eos_token, defaulting per model type as llama.cpp does. */
bool hr_tokenizer_add_bos(const hr_tokenizer *t);
bool hr_tokenizer_add_eos(const hr_tokenizer *t);
/* End of generation: eos, eot, eom, <|im_end|>, <end_of_turn>... as llama.cpp decides. */
bool hr_tokenizer_is_eog(const hr_tokenizer *t, int32_t id);
/* Attribute bits of a token (HR_TOKEN_ATTR_*), 0 for an invalid id. */
uint32_t hr_tokenizer_attr(const hr_tokenizer *t, int32_t id);
/* The token's stored text (e.g. "Ġthe", "<0x0A>", "<|im_start|>"), NULL for an invalid id. */
const char *hr_tokenizer_text(const hr_tokenizer *t, int32_t id, size_t *len);
/* "llama"/"gpt2"/"gemma4" and the pre-tokenizer name as stored in the file. */
const char *hr_tokenizer_model_name(const hr_tokenizer *t);
const char *hr_tokenizer_pre_name(const hr_tokenizer *t);

/* Tokenizes len bytes of text. add_bos: prepend BOS (if the vocab has one).
 * parse_special: text like <|im_start|> becomes the special token (else plain
 * text; user-defined tokens are matched either way, as in llama.cpp).
 * *out is malloc'd (caller frees; may be NULL when *n_out is 0). */
hearth_status hr_tokenize(const hr_tokenizer *t, const char *text, size_t len, bool add_bos, bool parse_special,
                          int32_t **out, size_t *n_out, hearth_error *err);

/* Bytes of one token as llama.cpp's token_to_piece renders them (control and
 * unknown tokens rendered only when `special`). Returns the byte length (may
 * exceed cap: then nothing is guaranteed written past cap), or -1 for an invalid id. */
int hr_token_to_piece(const hr_tokenizer *t, int32_t id, bool special, char *buf, size_t cap);

/* Whole-sequence detokenization as llama_detokenize(remove_special = false,
 * unparse_special = special): drops the SentencePiece leading space and applies
 * clean_up_tokenization_spaces where the vocabulary asks for it. *out is
 * malloc'd and NUL-terminated, *n_out its length. Invalid ids are HEARTH_ERR_RANGE. */
hearth_status hr_detokenize(const hr_tokenizer *t, const int32_t *ids, size_t n, bool special, char **out,
                            size_t *n_out, hearth_error *err);

/* Streaming detokenizer that never emits half a UTF-8 character. It renders
 * pieces as hr_token_to_piece does (no leading-space removal, no clean-up). */
typedef struct hr_detok_stream hr_detok_stream;
hr_detok_stream *hr_detok_stream_new(const hr_tokenizer *t, bool special); /* NULL on out-of-memory */
/* Appends the token and returns the complete UTF-8 text now ready
 * (NUL-terminated, owned by the stream, valid until the next call). Bytes that
 * can never start a valid character come out as U+FFFD; an invalid id adds
 * nothing. Returns NULL only on out-of-memory. */
const char *hr_detok_stream_push(hr_detok_stream *s, int32_t id);
const char *hr_detok_stream_flush(hr_detok_stream *s); /* what remains (invalid bytes as U+FFFD) */
void hr_detok_stream_free(hr_detok_stream *s);

#endif
