/*
 * A model's chat template: the GGUF's tokenizer.chat_template, a file given
 * by the user, or a built-in fallback (ChatML, Llama 3, Gemma, Mistral) when
 * the model has none; rendered with the model's BOS/EOS token strings.
 */
#ifndef HR_CHAT_TEMPLATE_H
#define HR_CHAT_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gguf/gguf.h"
#include "hearth.h"
#include "text/jinja.h"

typedef struct hr_chat_template hr_chat_template;

/* Reads a whole file (NUL-terminated, malloc'd). */
hearth_status hr_read_file(const char *path, char **out, size_t *len, hearth_error *err);

/* Jinja source of a built-in template: "chatml", "llama3", "gemma", "mistral"; NULL if unknown. */
const char *hr_chat_builtin(const char *name);
/* Which built-in suits a model without a template (by architecture and vocabulary). */
const char *hr_chat_builtin_for(const hr_gguf *g);

/* override_path (may be NULL) wins over the model's template, which wins over the built-in. */
hearth_status hr_chat_template_from_gguf(const hr_gguf *g, const char *override_path, hr_chat_template **out,
                                         hearth_error *err);
hearth_status hr_chat_template_load(const char *model_path, const char *override_path, hr_chat_template **out,
                                    hearth_error *err);
/* From template text and token strings directly. */
hearth_status hr_chat_template_new(const char *source, size_t len, const char *bos, const char *eos,
                                   hr_chat_template **out, hearth_error *err);
void hr_chat_template_free(hr_chat_template *ct);

/* The source text that hr_chat_template_load would use (malloc'd) and where it came from. */
hearth_status hr_chat_template_source(const char *model_path, const char *override_path, char **src,
                                      const char **origin, hearth_error *err);

/* "gguf", "file", or the built-in's name. */
const char *hr_chat_template_origin(const hr_chat_template *ct);
const char *hr_chat_template_bos(const hr_chat_template *ct);
const char *hr_chat_template_eos(const hr_chat_template *ct);

/* Renders {messages, tools (when non-NULL), add_generation_prompt, bos_token, eos_token}. */
hearth_status hr_chat_template_render(const hr_chat_template *ct, const json_t *messages, const json_t *tools,
                                      bool add_generation_prompt, const hr_jinja_opts *opts, char **out,
                                      size_t *out_len, hearth_error *err, int *err_line);

/* The same with extra template variables (e.g. {"enable_thinking": false}, as
 * chat_template_kwargs in llama.cpp); kwargs may be NULL. The standard
 * variables above win over a kwargs entry of the same name. */
hearth_status hr_chat_template_render_kw(const hr_chat_template *ct, const json_t *messages, const json_t *tools,
                                         const json_t *kwargs, bool add_generation_prompt, const hr_jinja_opts *opts,
                                         char **out, size_t *out_len, hearth_error *err, int *err_line);

#endif
