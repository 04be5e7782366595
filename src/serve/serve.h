/* hearth serve: an HTTP server (OpenAI and Ollama APIs) over one loaded model. */
#ifndef HR_SERVE_H
#define HR_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hearth.h"

typedef struct hs_config {
    const char *model_path;
    const char *host;     /* bind address; "127.0.0.1" by default */
    int port;             /* 0: any free port (printed on stderr once listening) */
    int parallel;         /* slots decoded together */
    int32_t ctx_per_slot; /* KV positions of each slot */
    int queue_size;       /* requests waiting for a slot before 503 */
    const char *api_key;  /* NULL: no authentication */
    size_t max_body;      /* bytes */
    int request_timeout;  /* seconds a client has to send a request (headers and body); also the idle limit */
    int rate_limit;       /* requests per minute per key (or client address); 0: off */
    const char *alias;    /* model name served; NULL: file name without .gguf */
    bool log_json;
    int n_threads;        /* <= 0: engine default */
    const char *isa;      /* kernel ISA override (hearth_model_params.isa), NULL: best available */
    const char *chat_template; /* Jinja file used instead of the model's template; NULL: the model's */
    const char *force_ids;     /* tests only (HEARTH_FORCE_IDS): ids every generation emits first; NULL: none */
} hs_config;

hs_config hs_config_default(void);

/* Loads the model, serves until SIGINT or SIGTERM, then shuts down cleanly. */
hearth_status hs_serve(const hs_config *cfg, hearth_error *err);

#endif
