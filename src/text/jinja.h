/*
 * Jinja for chat templates, behaving exactly like Hugging Face's own
 * implementation (@huggingface/jinja 0.5.11, what transformers.js and the Hub
 * render with): the same output byte for byte and the same error messages,
 * including its departures from Python Jinja (true prints "true", strip()
 * ignores its argument, map() needs attribute=...).
 *
 * Templates are untrusted: parsing and rendering never crash; nesting depth,
 * evaluation steps, memory and output size are bounded and exceeding a bound
 * is an ordinary error. Rendering needs about 1 MiB of stack at the deepest
 * nesting it allows (several times that under AddressSanitizer).
 */
#ifndef HR_JINJA_H
#define HR_JINJA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"

typedef struct hr_jinja hr_jinja;

/* Parses a template (UTF-8). On failure err holds Hugging Face's message and
 * *err_line (when non-NULL) the 1-based template line, 0 when unknown. */
hearth_status hr_jinja_parse(const char *src, size_t len, hr_jinja **out, hearth_error *err, int *err_line);
void hr_jinja_free(hr_jinja *t);

typedef struct hr_jinja_opts {
    int64_t now;         /* strftime_now's clock, Unix seconds; 0 means the current time */
    int utc;             /* nonzero: strftime_now uses UTC instead of local time */
    size_t max_output;   /* bytes; 0 means 64 MiB */
    size_t max_memory;   /* bytes of working memory; 0 means 512 MiB */
    uint64_t max_steps;  /* evaluation steps; 0 means 50 million */
} hr_jinja_opts;

/* Renders with the variables of a JSON object (numbers with an integral value
 * are integers, as in JavaScript). *out is malloc'd, NUL-terminated, and
 * *out_len (when non-NULL) its length. When the template raises, err holds
 * the message (raise_exception's text as given) and *err_line its line. */
hearth_status hr_jinja_render(const hr_jinja *t, const json_t *context, const hr_jinja_opts *opts, char **out,
                              size_t *out_len, hearth_error *err, int *err_line);

#endif
