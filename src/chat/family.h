/*
 * What a chat template's family needs at generation time, found from the
 * template and the vocabulary rather than from a model name:
 *  - the markers around the model's thinking in its output: a table of known
 *    pairs (Gemma 4's thought channel, <think></think> of Qwen 3 / 3.5,
 *    Nemotron 3, DeepSeek R1), the one whose opening marker the template
 *    itself writes in its generation prompt (with enable_thinking true or
 *    false) wins;
 *  - the marker tokens that are control tokens (Gemma 4's <|channel>, ...):
 *    the detokenizer drops control tokens, so these are spelled out;
 *  - the template's end-of-turn marker (what follows an assistant message)
 *    when it is one token: generation stops there as at the vocabulary's
 *    end-of-generation tokens.
 * Also the test-only HEARTH_FORCE_IDS list (see hr_force_ids_parse).
 */
#ifndef HR_CHAT_FAMILY_H
#define HR_CHAT_FAMILY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"
#include "text/chat_template.h"

#define HR_FAMILY_MAX_MARKER_TOKENS 8

typedef struct hr_chat_family {
    const char *name;        /* "gemma4-channel", "think-tags" ("think-tags" also when nothing was found) */
    const char *open, *close; /* thinking markers in the generated text (static strings) */
    bool found;              /* the template writes these markers (false: the default pair, unconfirmed) */
    int32_t end_turn;        /* the template's end-of-turn token, -1 when none is one token */
    int32_t marker_ids[HR_FAMILY_MAX_MARKER_TOKENS]; /* control tokens spelled out in generated text */
    int n_marker_ids;
} hr_chat_family;

/* Never fails for lack of markers (the default pair is <think></think>); fails only
 * for out-of-memory or a model without a tokenizer. */
hearth_status hr_chat_family_detect(const hearth_model *m, const hr_chat_template *ct, hr_chat_family *out,
                                    hearth_error *err);

/* Whether generation ends at tok: an end-of-generation token or the template's end of turn. */
bool hr_chat_family_is_end(const hr_chat_family *f, const hearth_model *m, int32_t tok);

/* Whether a rendered prompt leaves the model inside its thinking (the last
 * opening marker comes after the last closing one, as with Qwen 3.5's
 * generation prompt "<think>\n"). */
bool hr_chat_family_prompt_thinking(const hr_chat_family *f, const char *prompt, size_t len);

/* Text of one generated token through dt, with the family's marker tokens
 * spelled out. buf (cap >= 128) may hold the result; the pointer is valid
 * until the next call. */
const char *hr_chat_family_piece(const hr_chat_family *f, const hearth_model *m, hearth_detok *dt, int32_t tok,
                                 char *buf, size_t cap);

/* HEARTH_FORCE_IDS, for tests only: "12,7,99" makes every answer of hearth chat
 * and every generation of hearth serve emit these token ids in order instead of
 * sampling (then sample as usual), so that a random-weight model produces a
 * chosen text. NULL or "" gives none. Ids outside the vocabulary are an error. */
hearth_status hr_force_ids_parse(const char *s, int32_t n_vocab, int32_t **out, size_t *n_out, hearth_error *err);

#endif
