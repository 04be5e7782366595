/* Shared structures of the server: byte buffers, jobs (one generation request),
 * the scheduler, metrics, and the server itself. */
#ifndef HR_SERVE_INTERNAL_H
#define HR_SERVE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "chat/chat.h"
#include "chat/family.h"
#include "serve/serve.h"

/* ---- growable byte buffer (buf.c) ---- */
typedef struct hs_buf {
    char *p;
    size_t len, cap;
} hs_buf;
bool hs_buf_add(hs_buf *b, const void *data, size_t n);
bool hs_buf_str(hs_buf *b, const char *s);
bool hs_buf_printf(hs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends json_dumps of j (compact) and consumes nothing. */
bool hs_buf_json(hs_buf *b, const json_t *j);
void hs_buf_free(hs_buf *b);
double hs_now(void); /* monotonic seconds */

/* ---- jobs ---- */
#define HS_MAX_TOP_LOGPROBS 20

typedef struct hs_logprob {
    int32_t id;
    float logprob;
    int n_top;
    int32_t top_id[HS_MAX_TOP_LOGPROBS];
    float top_lp[HS_MAX_TOP_LOGPROBS];
} hs_logprob;

typedef struct hs_job hs_job;

/* Formatting of a job's output for one API; called by the scheduler thread with j->mu held. */
typedef struct hs_job_ops {
    /* New text (complete UTF-8); j->lps holds the logprobs of the tokens that produced it. */
    void (*on_text)(hs_job *j, const char *text, size_t len);
    /* Generation over (j->finish_reason set, or j->error non-empty). */
    void (*on_done)(hs_job *j);
} hs_job_ops;

typedef enum { HS_API_OPENAI_CHAT, HS_API_OPENAI_COMPLETION, HS_API_OLLAMA_CHAT, HS_API_OLLAMA_GENERATE } hs_api;

struct hs_job {
    /* Set by the route before submission, read-only afterwards. */
    const hearth_model *m;
    int32_t *prompt;
    size_t n_prompt;
    hearth_sampler_params sp;
    int32_t max_tokens; /* < 0: until the slot's context is full */
    char **stop;
    int n_stop;
    bool logprobs;
    int top_logprobs;
    const hs_job_ops *ops;
    hs_api api;
    bool stream, include_usage;
    char id[48];
    long long created;
    char model[128];
    double t_arrive;

    /* Shared between the HTTP side and the scheduler, under mu. */
    pthread_mutex_t mu;
    int refs;
    hs_buf out;      /* formatted bytes not yet sent */
    size_t out_pos;
    hs_buf text;     /* all text generated (for non-streaming replies) */
    hs_logprob *lps; /* logprobs of tokens whose text is pending or just emitted */
    size_t n_lps, cap_lps;
    json_t *lp_all;  /* non-streaming: logprobs content accumulated by the formatter */
    bool done;
    bool conn_alive;     /* false once MHD has finished the request (client gone or reply sent) */
    bool suspended;      /* MHD connection suspended, waiting for output */
    struct MHD_Connection *conn;
    int fd;              /* client socket, polled for hang-ups while conn_alive */
    atomic_bool cancel;  /* set by the HTTP side: stop at the next step */
    const char *finish_reason; /* "stop", "length", "cancelled" */
    int32_t n_gen, n_cached;
    double t_first, t_done;
    char error[256];
    bool head_sent; /* formatter state: the first chunk was written */
    /* Thinking separated from the answer (chat endpoints; set by the route). */
    bool split_think;
    hr_think_filter think;
    hs_buf reasoning, answer; /* non-streaming replies: the two parts */
};

hs_job *hs_job_new(void);
void hs_job_release(hs_job *j); /* drops one reference; frees at zero */
/* Appends a logprob record (under mu). */
bool hs_job_push_lp(hs_job *j, const hs_logprob *lp);
/* Wakes the HTTP side after output was added (under mu). */
void hs_job_notify(hs_job *j);

/* ---- metrics (metrics.c) ---- */
typedef struct hs_metrics hs_metrics;
hs_metrics *hs_metrics_new(void);
void hs_metrics_free(hs_metrics *mx);
void hs_metrics_request(hs_metrics *mx, const char *endpoint, int status);
void hs_metrics_tokens(hs_metrics *mx, int64_t prompt, int64_t generated);
void hs_metrics_ttft(hs_metrics *mx, double seconds);
void hs_metrics_token_latency(hs_metrics *mx, double seconds);
typedef struct hs_gauges {
    int queue_depth, active_slots, n_slots;
    int64_t kv_used, kv_total;
} hs_gauges;
/* Prometheus text exposition. */
bool hs_metrics_render(hs_metrics *mx, const hs_gauges *g, hs_buf *out);

/* ---- scheduler (scheduler.c) ---- */
typedef struct hs_sched hs_sched;
hearth_status hs_sched_new(hearth_model *m, int n_slots, int32_t n_ctx, int queue_cap, hs_metrics *mx,
                           hs_sched **out, hearth_error *err);
void hs_sched_free(hs_sched *s);
/* Takes a reference to j. False when the queue is full. */
bool hs_sched_submit(hs_sched *s, hs_job *j);
void hs_sched_gauges(hs_sched *s, hs_gauges *g);
/* Wakes the step loop (after a job was cancelled). */
void hs_sched_kick(hs_sched *s);
int32_t hs_sched_n_ctx(const hs_sched *s);
/* The template family (end-of-turn token, marker tokens spelled out) and the
 * test-only forced ids (copied); call before the first submission. */
hearth_status hs_sched_set_family(hs_sched *s, const hr_chat_family *fam, const int32_t *force, size_t n_force,
                                  hearth_error *err);

/* ---- auth and rate limiting (auth.c) ---- */
bool hs_key_equal(const char *given, const char *expected); /* constant time in the expected key's length */
typedef struct hs_ratelimit hs_ratelimit;
hs_ratelimit *hs_ratelimit_new(int per_minute);
void hs_ratelimit_free(hs_ratelimit *r);
/* True when the client may proceed; else *retry_after is the seconds to wait. */
bool hs_ratelimit_take(hs_ratelimit *r, const char *client, double now, int *retry_after);

/* ---- server ---- */
typedef struct hs_server {
    hs_config cfg;
    char model_name[128];
    hearth_model *model;
    atomic_bool ready;
    hs_sched *sched;
    hs_metrics *mx;
    hs_ratelimit *rl;
    struct hr_chat_template *tmpl;
    hr_chat_family family;
    atomic_uint_fast64_t next_id;
    long long load_time; /* Unix seconds the model finished loading */
    uint64_t file_size;
    size_t max_piece; /* longest token text in bytes (hs_max_piece); 0: unknown */
} hs_server;

/* What a route answers: an immediate reply, or a submitted job. */
typedef struct hs_reply {
    int status;
    char *body; /* malloc'd */
    const char *ctype;
    int retry_after; /* > 0: adds Retry-After */
    hs_job *job;     /* set when a generation was submitted */
} hs_reply;

hs_reply hs_reply_json(int status, json_t *obj); /* consumes obj */
/* OpenAI's error object: {"error":{"message","type","param","code"}}. */
hs_reply hs_reply_error(int status, const char *type, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The request-body parser (body.c): a POST body's bytes to a reply, or a job
 * that is not yet submitted (r.job; the caller submits or releases it). */
typedef enum { HS_POST_CHAT, HS_POST_COMPLETIONS, HS_POST_OLLAMA_CHAT, HS_POST_OLLAMA_GENERATE, HS_POST_OLLAMA_SHOW } hs_post_endpoint;
hs_reply hs_post(hs_server *sv, hs_post_endpoint ep, const char *data, size_t len);

/* Routes (body is the parsed JSON, NULL for GET). */
hs_reply hs_openai_chat(hs_server *sv, json_t *body);
hs_reply hs_openai_completions(hs_server *sv, json_t *body);
hs_reply hs_openai_models(hs_server *sv);
hs_reply hs_ollama_chat(hs_server *sv, json_t *body);
hs_reply hs_ollama_generate(hs_server *sv, json_t *body);
hs_reply hs_ollama_tags(hs_server *sv);
hs_reply hs_ollama_show(hs_server *sv, json_t *body);
hs_reply hs_ollama_version(hs_server *sv);
hs_reply hs_ollama_ps(hs_server *sv);

#endif
