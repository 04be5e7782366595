/* Helpers shared by the routes (request.c). */
#ifndef HR_SERVE_REQUEST_H
#define HR_SERVE_REQUEST_H

#include "serve/serve_internal.h"

/* 400 invalid_request_error with a message. */
hs_reply hs_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Checks body[key] (when present) names the served model; else a 404 (or 400 for a wrong type) in *err. */
bool hs_check_model(hs_server *sv, json_t *body, const char *key, hs_reply *err);
/* Optional fields: absent or null leaves *out unchanged; a wrong type or range is a 400 in *err. */
bool hs_opt_num(json_t *o, const char *key, double lo, double hi, double *out, hs_reply *err);
bool hs_opt_int(json_t *o, const char *key, long long lo, long long hi, long long *out, hs_reply *err);
bool hs_opt_bool(json_t *o, const char *key, bool *out, hs_reply *err);
bool hs_opt_stop(json_t *o, const char *key, hs_job *j, hs_reply *err);
/* Validates roles and content, renders with the model's chat template (generation prompt added). */
bool hs_render_chat(hs_server *sv, json_t *messages, char **prompt, hs_reply *err);
/* The same with extra template variables (chat_template_kwargs, Ollama's think); kwargs may be NULL. */
bool hs_render_chat_kw(hs_server *sv, json_t *messages, const json_t *kwargs, char **prompt, hs_reply *err);
/* Separates the thinking of the generation that follows prompt from its answer
 * (the family's markers; starts inside the thinking when the prompt opened it).
 * Nothing when the template writes no thinking markers. */
void hs_split_thinking(hs_server *sv, hs_job *j, const char *prompt);
/* Tokenizes (special tokens parsed; BOS added when the model wants one and add_special) into j->prompt. */
bool hs_tokenize_prompt(hs_server *sv, const char *text, bool add_special, hs_job *j, hs_reply *err);
/* Bytes of the longest token text (special tokens rendered): a prompt of n bytes has at least n / max tokens. */
size_t hs_max_piece(const hearth_model *m);
/* Takes toks (malloc'd); a 400 naming the counts when it does not fit a slot's context. */
bool hs_set_prompt(hs_server *sv, hs_job *j, int32_t *toks, size_t n, hs_reply *err);
void hs_job_set_id(hs_server *sv, hs_job *j, const char *prefix);
uint64_t hs_random_seed(hs_server *sv);
/* Token text (special tokens rendered), malloc'd, raw bytes. */
char *hs_token_text(const hearth_model *m, int32_t id);
/* JSON string of bytes that may not be valid UTF-8 (invalid bytes become U+FFFD). */
json_t *hs_json_lossy(const char *s, size_t n);
/* Current UTC time as Ollama writes it: 2024-01-01T00:00:00.000000000Z. */
void hs_iso_time(char *buf, size_t cap);

#endif
