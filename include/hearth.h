/*
 * hearth: a runtime for small language models on ordinary hardware.
 *
 * Public API of libhearth. Every handle is opaque. Every function that can
 * fail returns a hearth_status and, when given a hearth_error, leaves a
 * human-readable message in it (one line, no trailing newline).
 */
#ifndef HEARTH_H
#define HEARTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hearth_status {
    HEARTH_OK = 0,
    HEARTH_ERR_IO = 1,          /* file missing, unreadable, write failed */
    HEARTH_ERR_FORMAT = 2,      /* malformed or corrupt input (GGUF, JSON, ...) */
    HEARTH_ERR_UNSUPPORTED = 3, /* valid input we do not handle (architecture, type) */
    HEARTH_ERR_NOMEM = 4,       /* allocation failed or request exceeds memory */
    HEARTH_ERR_INVALID = 5,     /* invalid argument from the caller */
    HEARTH_ERR_RANGE = 6,       /* value out of range (token id, context length) */
    HEARTH_ERR_MISSING = 7,     /* a required key or tensor is absent */
    HEARTH_ERR_CANCELLED = 8,   /* the caller asked to stop */
} hearth_status;

/* Error message holder owned by the caller. */
typedef struct hearth_error {
    char message[512];
} hearth_error;

/* Short name of a status code ("format error", ...). */
const char *hearth_status_name(hearth_status st);

/* Library version string, e.g. "0.1.0". */
const char *hearth_version(void);


/* ---- Models, sessions, sampling (engine) ---------------------------------- */

typedef struct hearth_model hearth_model;     /* weights (memory-mapped) + tokenizer + thread pool */
typedef struct hearth_session hearth_session; /* the KV cache of one sequence */
typedef struct hearth_sampler hearth_sampler; /* sampling chain with its own PRNG state */

typedef struct hearth_model_params {
    int n_threads;   /* <= 0: number of physical cores */
    const char *isa; /* kernel ISA override ("scalar", "avx2", ...), NULL: best available */
} hearth_model_params;

hearth_model_params hearth_model_default_params(void);
/* Loads a GGUF file of a supported architecture. Errors name the missing key or tensor. */
hearth_status hearth_model_load(const char *path, const hearth_model_params *params, hearth_model **out,
                                hearth_error *err);
void hearth_model_free(hearth_model *m);

const char *hearth_model_arch(const hearth_model *m);
int32_t hearth_model_n_vocab(const hearth_model *m);
int32_t hearth_model_n_ctx_train(const hearth_model *m);
int32_t hearth_model_n_layer(const hearth_model *m);
int hearth_model_n_threads(const hearth_model *m);
const char *hearth_model_isa(const hearth_model *m);
/* Bytes of weight data (as stored in the file). */
uint64_t hearth_model_weight_bytes(const hearth_model *m);

typedef enum hearth_cache_type {
    HEARTH_CACHE_F16 = 0,
    HEARTH_CACHE_Q8_0 = 1,
    HEARTH_CACHE_F32 = 2,
} hearth_cache_type;

/* Parses "f16", "q8_0", "f32"; false when unknown. */
bool hearth_cache_type_from_name(const char *name, hearth_cache_type *out);
const char *hearth_cache_type_name(hearth_cache_type t);
/* Bytes of KV cache the model needs for n_ctx positions in a cache type. */
uint64_t hearth_model_kv_bytes(const hearth_model *m, int32_t n_ctx, hearth_cache_type t);
/* Bytes of the fixed per-sequence recurrent state (Mamba-2 / Gated DeltaNet
 * layers), independent of the context length; 0 for pure transformers. */
uint64_t hearth_model_state_bytes(const hearth_model *m);

typedef struct hearth_session_params {
    int32_t n_ctx;        /* <= 0: the model's trained context, reduced (warning on stderr) to fit memory */
    hearth_cache_type cache_type;
    int32_t n_batch;      /* tokens per forward pass while processing a prompt; <= 0: 256 */
} hearth_session_params;

hearth_session_params hearth_session_default_params(void);
/* Allocates the cache. An explicit n_ctx beyond MemAvailable is HEARTH_ERR_NOMEM. */
hearth_status hearth_session_new(hearth_model *m, const hearth_session_params *params, hearth_session **out,
                                 hearth_error *err);
void hearth_session_free(hearth_session *s);
int32_t hearth_session_n_ctx(const hearth_session *s);
int32_t hearth_session_n_past(const hearth_session *s); /* positions filled in the cache */

/* Appends n tokens to the sequence (in batches) and computes the next-token
 * logits after the last one. Token ids are range-checked first; on error the
 * cache is left as before the call. */
hearth_status hearth_session_eval(hearth_session *s, const int32_t *tokens, size_t n, hearth_error *err);
/* Same, but writes the logits after every token to logits (n * n_vocab floats), e.g. for perplexity. */
hearth_status hearth_session_eval_all(hearth_session *s, const int32_t *tokens, size_t n, float *logits,
                                      hearth_error *err);
/* Logits (n_vocab floats) after the last evaluated token; NULL before any eval. */
const float *hearth_session_logits(const hearth_session *s);
/* Keeps the first n_keep positions (prefix reuse); n_keep > n_past is an error, and so is,
 * on models whose state cannot be cut back everywhere (recurrent hybrids, sliding windows),
 * a length other than one hearth_session_reusable returns. */
hearth_status hearth_session_truncate(hearth_session *s, int32_t n_keep, hearth_error *err);
/* The longest prefix of at most n_keep positions that hearth_session_truncate can keep:
 * min(n_keep, n_past) for transformers. The recurrent hybrids (Qwen 3.5, Nemotron-H) keep
 * snapshots of their state, taken at the end of every multi-token eval and a few tokens
 * before it: the answer is n_past or the latest snapshot at or before n_keep, else 0.
 * Callers then evaluate the tokens from there again. */
int32_t hearth_session_reusable(const hearth_session *s, int32_t n_keep);
void hearth_session_reset(hearth_session *s);
/* Continuous batching: appends tokens[i] to sessions[i] for n distinct sessions of one model
 * in one forward pass (each weight read once for all of them) and computes each session's
 * next-token logits, equal to what hearth_session_eval of that token alone gives. Everything
 * is validated first: on error no session changes. */
hearth_status hearth_sessions_decode(hearth_session *const *sessions, const int32_t *tokens, size_t n,
                                     hearth_error *err);
/* The same with any number of tokens per session: appends tokens[i][0..counts[i]) to
 * sessions[i] (distinct sessions of one model) in as few forward passes as their batch
 * sizes allow, e.g. several clients' prompts together with others' next tokens, and leaves
 * each session's logits after its last token. Results equal hearth_session_eval's up to
 * float summation order. Validated first: on error no session changes. */
hearth_status hearth_sessions_eval(hearth_session *const *sessions, const int32_t *const *tokens, const size_t *counts,
                                   size_t n, hearth_error *err);

typedef struct hearth_sampler_params {
    float temperature;       /* <= 0: greedy */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* >= 1: off */
    float min_p;             /* <= 0: off */
    float repeat_penalty;    /* 1: off */
    float frequency_penalty; /* 0: off */
    float presence_penalty;  /* 0: off */
    int32_t penalty_last_n;  /* window of recent tokens the penalties look at (64) */
    uint64_t seed;
} hearth_sampler_params;

hearth_sampler_params hearth_sampler_default_params(void);
hearth_status hearth_sampler_new(const hearth_sampler_params *params, hearth_sampler **out, hearth_error *err);
void hearth_sampler_free(hearth_sampler *s);
/* Picks a token from logits (n_vocab floats, not modified). */
hearth_status hearth_sampler_sample(hearth_sampler *s, const float *logits, int32_t n_vocab, int32_t *out,
                                    hearth_error *err);
/* Records a token of the sequence (prompt or generated) for the penalties. */
void hearth_sampler_accept(hearth_sampler *s, int32_t token);
void hearth_sampler_reset(hearth_sampler *s);

/* Tokenizer of a model (from the file's tokenizer.ggml.* metadata). Functions
 * that need one fail with HEARTH_ERR_UNSUPPORTED when the file has none. */
bool hearth_model_has_tokenizer(const hearth_model *m);
bool hearth_model_add_bos(const hearth_model *m); /* whether prompts start with BOS */
/* Tokenizes len bytes; *out is malloc'd (caller frees with free()), *n_out its length.
 * parse_special: text like <|im_start|> becomes the special token. */
hearth_status hearth_tokenize(const hearth_model *m, const char *text, size_t len, bool add_bos, bool parse_special,
                              int32_t **out, size_t *n_out, hearth_error *err);
/* Bytes of one token (special tokens rendered only when special); returns the length
 * (may exceed cap: then the piece is cut), or -1 for an invalid id or no tokenizer. */
int hearth_token_to_piece(const hearth_model *m, int32_t id, bool special, char *buf, size_t cap);
/* End-of-generation token (eos, eot, <|im_end|>, ...). False without a tokenizer. */
bool hearth_token_is_eog(const hearth_model *m, int32_t id);

/* Streaming detokenizer: never emits half a UTF-8 character. */
typedef struct hearth_detok hearth_detok;
hearth_status hearth_detok_new(const hearth_model *m, bool special, hearth_detok **out, hearth_error *err);
/* Appends a token; returns the text now complete (NUL-terminated, valid until the next call). */
const char *hearth_detok_push(hearth_detok *d, int32_t id);
const char *hearth_detok_flush(hearth_detok *d);
void hearth_detok_free(hearth_detok *d);

#ifdef __cplusplus
}
#endif
#endif /* HEARTH_H */
