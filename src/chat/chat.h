/*
 * A chat conversation driven through the engine: messages in OpenAI format,
 * rendered with the model's chat template, kept within the context by an
 * explicit policy, and evaluated incrementally (only the tokens after the
 * prefix shared with the KV cache are processed).
 *
 * Control tokens: the rendered conversation is tokenized with special-token
 * parsing so that the template's markers (<|im_start|>, ...) become control
 * tokens. A message whose own content spells a control token would otherwise
 * inject it; such content is located verbatim in the rendered text and that
 * span alone is tokenized without special parsing (the template's text around
 * it still is). If the template transformed the content so it cannot be found,
 * the turn is refused rather than injected.
 */
#ifndef HR_CHAT_H
#define HR_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"
#include "text/chat_template.h"

/* ---- Pure helpers (unit-tested) ------------------------------------------ */

/* Length of the common prefix of two token sequences. */
size_t hr_chat_common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb);

/* Checks an OpenAI-style message array: objects with role system, user,
 * assistant or tool and a string content. err names the offending message. */
hearth_status hr_chat_messages_check(const json_t *msgs, hearth_error *err);
/* Reads a message array from a file: a JSON array, or an object with "messages". */
hearth_status hr_chat_messages_load(const char *path, json_t **out, hearth_error *err);
hearth_status hr_chat_messages_save(const json_t *msgs, const char *path, hearth_error *err);

/* The oldest whole turn that may be dropped or summarised: [*first, *end),
 * after a leading system message and before the last user message (the turn
 * being answered). False when there is none. */
bool hr_chat_oldest_turn(const json_t *msgs, size_t *first, size_t *end);

/* Splits streamed text into thinking (between the open and close markers,
 * <think> and </think> unless set) and answer, even when a marker is cut
 * across chunks. With trim, white space at the start of the thinking, right
 * after a marker and right before the close marker is dropped (what the
 * OpenAI and Ollama APIs return); trim_markers drops only what follows a
 * marker (Gemma 4's "thought\n", the "\n\n" after </think>). */
typedef void (*hr_chat_emit_fn)(void *ud, const char *text, size_t len, bool thinking);
typedef struct hr_think_filter {
    bool thinking;
    bool trim, trim_markers;
    const char *open, *close; /* NULL: <think>, </think>; at most 47 bytes */
    char pend[48]; /* a possible marker prefix held back */
    size_t n_pend;
    bool skip_ws;  /* trim: at the start of a segment */
    char ws[64];   /* trim: white space held back while thinking */
    size_t n_ws;
} hr_think_filter;
/* open/close must outlive the filter; a zeroed filter is <think> splitting without trim. */
void hr_think_init(hr_think_filter *f, const char *open, const char *close, bool thinking, bool trim);
void hr_think_feed(hr_think_filter *f, const char *s, size_t n, hr_chat_emit_fn emit, void *ud);
void hr_think_flush(hr_think_filter *f, hr_chat_emit_fn emit, void *ud);

/* ---- The conversation ----------------------------------------------------- */

typedef enum hr_ctx_policy {
    HR_CTX_ERROR = 0,      /* refuse the turn, with the counts */
    HR_CTX_DROP_OLDEST = 1, /* drop whole old turns, keep the system message */
    HR_CTX_SUMMARIZE = 2,  /* the model summarises the oldest turns; the summary replaces them */
} hr_ctx_policy;

bool hr_ctx_policy_from_name(const char *name, hr_ctx_policy *out);

typedef struct hr_chat_params {
    hr_ctx_policy policy;
    int32_t n_predict; /* tokens per answer at most; also the room kept free for it (capped at n_ctx/2) */
    /* Notices (policy actions, a full context) as one line each; NULL: none. */
    void (*notice)(void *ud, const char *line);
    void *notice_ud;
    /* Extra template variables (e.g. {"enable_thinking": true}); NULL: none. Borrowed. */
    const json_t *template_kwargs;
    /* Tests only (HEARTH_FORCE_IDS): every answer emits these ids first instead of sampling. Borrowed. */
    const int32_t *force_ids;
    size_t n_force;
} hr_chat_params;

typedef struct hr_chat_stats {
    int32_t n_ctx, n_past;       /* context size, positions now in the KV cache */
    size_t prompt_tokens;        /* last turn: tokens of the rendered conversation */
    size_t reused_tokens;        /* of which taken from the cache */
    size_t processed_tokens;     /* of which evaluated */
    size_t answer_tokens;        /* tokens generated */
    double prompt_ms, answer_ms;
    size_t turns;
} hr_chat_stats;

typedef struct hr_chat hr_chat;

/* Borrows the model, session, sampler and template (the caller frees them after). */
hearth_status hr_chat_new(hearth_model *m, hearth_session *s, hearth_sampler *smp, const hr_chat_template *ct,
                          const hr_chat_params *params, hr_chat **out, hearth_error *err);
void hr_chat_free(hr_chat *c);

const json_t *hr_chat_messages(const hr_chat *c);
/* Replaces the conversation (checked first; on error it is unchanged). */
hearth_status hr_chat_set_messages(hr_chat *c, const json_t *msgs, hearth_error *err);
/* Sets or replaces the leading system message; empty text removes it. */
hearth_status hr_chat_set_system(hr_chat *c, const char *text, hearth_error *err);
/* Forgets every message but the system message. */
void hr_chat_clear(hr_chat *c);
hr_chat_stats hr_chat_get_stats(const hr_chat *c);

/* Renders messages (with the generation prompt when asked) and tokenizes them
 * as described above; *out is malloc'd. */
hearth_status hr_chat_tokenize_messages(hr_chat *c, const json_t *msgs, bool add_generation_prompt, int32_t **out,
                                        size_t *n_out, hearth_error *err);

/* One turn: appends the user message, applies the context policy, evaluates
 * the new tokens, streams the answer through emit and appends it as the
 * assistant message. *cancel becoming nonzero (e.g. from a SIGINT handler)
 * ends the answer early (kept as far as generated). On error the user
 * message is taken back and the conversation is as before. */
hearth_status hr_chat_turn(hr_chat *c, const char *user_text, hr_chat_emit_fn emit, void *ud,
                           volatile sig_atomic_t *cancel, hearth_error *err);

#endif
