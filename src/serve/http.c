/*
 * HTTP glue to libmicrohttpd: one internal polling thread; request bodies are
 * gathered (bounded by --max-body), then auth, rate limit and routing; a
 * generation suspends its connection and the scheduler resumes it when output
 * (a stream chunk, or the whole reply) is ready.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "serve/request.h"

#include "text/chat_template.h"

/* Per connection: headers must fit in HS_CONN_MEMORY (else MHD answers 431);
 * with --max-body this bounds what HS_MAX_CONNECTIONS clients can hold. The
 * idle limit (--request-timeout) does not apply while a connection waits for
 * generated output (it is suspended then), only to a client that stops
 * sending or reading. */
#define HS_CONN_MEMORY (64 * 1024)
#define HS_MAX_CONNECTIONS 512

typedef struct req {
    hs_server *sv;
    struct MHD_Connection *conn;
    hs_buf body;
    bool too_big, handled, replied;
    double t0;
    char method[12], path[96], endpoint[96];
    int status;
    hs_job *job;
} req;

hs_config hs_config_default(void) {
    return (hs_config){.host = "127.0.0.1", .port = 8080, .parallel = 1, .ctx_per_slot = 4096, .queue_size = 64,
                       .max_body = 8u << 20, .request_timeout = 30, .n_threads = 0};
}

static enum MHD_Result queue(req *rq, hs_reply *r) {
    const char *body = r->body ? r->body : "";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
    if (r->retry_after > 0) {
        char s[16];
        snprintf(s, sizeof s, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", s);
    }
    if (r->status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    rq->status = r->status;
    rq->handled = true;
    enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result queue_error(req *rq, int status, const char *type, int retry_after, const char *msg) {
    hs_reply r = hs_reply_error(status, type, NULL, "%s", msg);
    r.retry_after = retry_after;
    return queue(rq, &r);
}

/* Streams the job's formatted output; suspends the connection when nothing is ready. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    req *rq = cls;
    hs_job *j = rq->job;
    pthread_mutex_lock(&j->mu);
    size_t avail = j->out.len - j->out_pos;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(buf, j->out.p + j->out_pos, n);
        j->out_pos += n;
        if (j->out_pos == j->out.len) j->out.len = j->out_pos = 0;
        pthread_mutex_unlock(&j->mu);
        return (ssize_t)n;
    }
    if (j->done) {
        pthread_mutex_unlock(&j->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    j->suspended = true;
    MHD_suspend_connection(rq->conn);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

/* Reply for a finished non-streaming job. */
static enum MHD_Result reply_done(req *rq) {
    hs_job *j = rq->job;
    pthread_mutex_lock(&j->mu);
    hs_reply r;
    if (j->error[0]) {
        r = hs_reply_error(500, "server_error", NULL, "generation failed: %s", j->error);
    } else {
        r = (hs_reply){.status = 200, .ctype = "application/json", .body = j->out.p};
        j->out = (hs_buf){0};
    }
    pthread_mutex_unlock(&j->mu);
    return queue(rq, &r);
}

static enum MHD_Result start_job(req *rq, hs_job *j) {
    hs_server *sv = rq->sv;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->conn = rq->conn;
    j->fd = ci ? ci->connect_fd : -1;
    j->conn_alive = true;
    rq->job = j;
    if (!hs_sched_submit(sv->sched, j)) {
        hs_gauges g;
        hs_sched_gauges(sv->sched, &g);
        hs_reply r = hs_reply_error(503, "server_error", "queue_full",
                                    "the server is busy: %d requests are waiting for %d slots; retry later",
                                    g.queue_depth, g.n_slots);
        r.retry_after = 1;
        pthread_mutex_lock(&j->mu);
        j->done = true;
        j->finish_reason = "rejected";
        pthread_mutex_unlock(&j->mu);
        return queue(rq, &r);
    }
    if (j->stream) {
        struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, rq, NULL);
        if (!resp) return MHD_NO;
        bool sse = j->api == HS_API_OPENAI_CHAT || j->api == HS_API_OPENAI_COMPLETION;
        MHD_add_response_header(resp, "Content-Type", sse ? "text/event-stream" : "application/x-ndjson");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        rq->status = 200;
        rq->handled = true;
        enum MHD_Result ret = MHD_queue_response(rq->conn, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    rq->handled = true;
    rq->status = 200;
    pthread_mutex_lock(&j->mu);
    bool done = j->done;
    if (!done) {
        j->suspended = true;
        MHD_suspend_connection(rq->conn);
    }
    pthread_mutex_unlock(&j->mu);
    if (!done) return MHD_YES;
    rq->replied = true;
    return reply_done(rq);
}

static void client_address(struct MHD_Connection *c, char *out, size_t cap) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "unknown");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

typedef enum { R_GET, R_POST } rmethod;
typedef struct route {
    const char *path;
    rmethod method;
    int id;
} route;
enum { E_CHAT, E_CMPL, E_MODELS, E_OCHAT, E_OGEN, E_TAGS, E_SHOW, E_VERSION, E_PS, E_HEALTH, E_METRICS };
static const route routes[] = {
    {"/v1/chat/completions", R_POST, E_CHAT}, {"/v1/completions", R_POST, E_CMPL}, {"/v1/models", R_GET, E_MODELS},
    {"/api/chat", R_POST, E_OCHAT},           {"/api/generate", R_POST, E_OGEN},   {"/api/tags", R_GET, E_TAGS},
    {"/api/show", R_POST, E_SHOW},            {"/api/version", R_GET, E_VERSION},  {"/api/ps", R_GET, E_PS},
    {"/health", R_GET, E_HEALTH},             {"/metrics", R_GET, E_METRICS},
};

static enum MHD_Result dispatch(req *rq) {
    hs_server *sv = rq->sv;
    const route *rt = NULL;
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        if (strcmp(routes[i].path, rq->path) != 0) continue;
        path_known = true;
        if (!strcmp(rq->method, routes[i].method == R_GET ? "GET" : "POST")) rt = &routes[i];
    }
    snprintf(rq->endpoint, sizeof rq->endpoint, "%s", path_known ? rq->path : "other");
    if (!path_known) {
        char msg[160];
        snprintf(msg, sizeof msg, "no such endpoint: %s %.96s", rq->method, rq->path);
        return queue_error(rq, 404, "invalid_request_error", 0, msg);
    }
    if (!rt) return queue_error(rq, 405, "invalid_request_error", 0, "method not allowed for this endpoint");
    if (rt->id == E_HEALTH) {
        bool ready = atomic_load(&sv->ready);
        hs_reply r = hs_reply_json(ready ? 200 : 503, json_pack("{s:s}", "status", ready ? "ready" : "loading"));
        return queue(rq, &r);
    }
    if (sv->cfg.api_key) {
        const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Authorization");
        if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !hs_key_equal(h + 7, sv->cfg.api_key))
            return queue_error(rq, 401, "invalid_request_error", 0,
                               h ? "invalid API key" : "missing API key: send Authorization: Bearer KEY");
    }
    if (sv->rl && rt->id != E_METRICS) { /* scrapers are not rate limited */
        char client[64];
        if (sv->cfg.api_key) snprintf(client, sizeof client, "key");
        else client_address(rq->conn, client, sizeof client);
        int retry = 1;
        if (!hs_ratelimit_take(sv->rl, client, hs_now(), &retry)) {
            char msg[128];
            snprintf(msg, sizeof msg, "rate limit of %d requests per minute reached; retry in %d s", sv->cfg.rate_limit,
                     retry);
            return queue_error(rq, 429, "rate_limit_exceeded", retry, msg);
        }
    }
    if (rt->id == E_METRICS) {
        hs_gauges g = {0};
        if (atomic_load(&sv->ready)) hs_sched_gauges(sv->sched, &g);
        hs_buf b = {0};
        hs_metrics_render(sv->mx, &g, &b);
        hs_reply r = {.status = 200, .ctype = "text/plain; version=0.0.4", .body = b.p};
        return queue(rq, &r);
    }
    if (!atomic_load(&sv->ready)) return queue_error(rq, 503, "server_error", 1, "the model is still loading");
    const char *b = rq->body.p ? rq->body.p : "";
    hs_reply r;
    switch (rt->id) {
    case E_CHAT: r = hs_post(sv, HS_POST_CHAT, b, rq->body.len); break;
    case E_CMPL: r = hs_post(sv, HS_POST_COMPLETIONS, b, rq->body.len); break;
    case E_MODELS: r = hs_openai_models(sv); break;
    case E_OCHAT: r = hs_post(sv, HS_POST_OLLAMA_CHAT, b, rq->body.len); break;
    case E_OGEN: r = hs_post(sv, HS_POST_OLLAMA_GENERATE, b, rq->body.len); break;
    case E_TAGS: r = hs_ollama_tags(sv); break;
    case E_SHOW: r = hs_post(sv, HS_POST_OLLAMA_SHOW, b, rq->body.len); break;
    case E_VERSION: r = hs_ollama_version(sv); break;
    default: r = hs_ollama_ps(sv); break;
    }
    if (r.job) return start_job(rq, r.job);
    return queue(rq, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    hs_server *sv = cls;
    req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        rq->sv = sv;
        rq->conn = conn;
        rq->t0 = hs_now();
        snprintf(rq->method, sizeof rq->method, "%s", method);
        snprintf(rq->path, sizeof rq->path, "%s", url);
        snprintf(rq->endpoint, sizeof rq->endpoint, "other");
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > sv->cfg.max_body) rq->too_big = true;
        if (!rq->too_big) return MHD_YES;
    }
    if (rq->handled) {
        /* Resumed: a non-streaming job has finished. */
        hs_job *j = rq->job;
        if (!j || j->stream || rq->status != 200 || rq->replied) return MHD_YES;
        pthread_mutex_lock(&j->mu);
        bool done = j->done;
        if (!done) { /* woken by progress, not completion */
            j->suspended = true;
            MHD_suspend_connection(conn);
        }
        pthread_mutex_unlock(&j->mu);
        if (!done) return MHD_YES;
        rq->replied = true;
        return reply_done(rq);
    }
    if (*upload_data_size) {
        /* A body trickled byte by byte never trips the idle timeout; the whole
         * request gets a deadline instead (checked as its bytes arrive). MHD
         * cannot answer in the middle of an upload, so the connection is closed
         * (logged and counted as 408). */
        if (hs_now() - rq->t0 > sv->cfg.request_timeout) {
            rq->status = 408;
            return MHD_NO;
        }
        if (!rq->too_big && rq->body.len + *upload_data_size > sv->cfg.max_body) rq->too_big = true;
        if (!rq->too_big) hs_buf_add(&rq->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body larger than the limit of %zu bytes", sv->cfg.max_body);
        return queue_error(rq, 413, "invalid_request_error", 0, msg);
    }
    return dispatch(rq);
}

static void log_request(hs_server *sv, req *rq, enum MHD_RequestTerminationCode toe) {
    int tin = 0, tout = 0;
    const char *fin = "";
    if (rq->job) {
        pthread_mutex_lock(&rq->job->mu);
        tin = (int)rq->job->n_prompt;
        tout = rq->job->n_gen;
        fin = rq->job->finish_reason ? rq->job->finish_reason : "cancelled";
        pthread_mutex_unlock(&rq->job->mu);
    }
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) fin = "client_closed";
    double ms = (hs_now() - rq->t0) * 1000.0;
    if (sv->cfg.log_json) {
        json_t *o = json_pack("{s:o,s:o,s:i,s:i,s:i,s:f,s:s}", "method", hs_json_lossy(rq->method, strlen(rq->method)), "path",
                              hs_json_lossy(rq->path, strlen(rq->path)), "status", rq->status,
                              "tokens_in", tin, "tokens_out", tout, "ms", ms, "finish", fin);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) fprintf(stderr, "%s\n", s);
        free(s);
        json_decref(o);
    } else {
        fprintf(stderr, "hearth serve: %s %s %d in=%d out=%d %.1fms%s%s\n", rq->method, rq->path, rq->status, tin, tout, ms,
                fin[0] ? " " : "", fin);
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)conn;
    hs_server *sv = cls;
    req *rq = *con_cls;
    if (!rq) return;
    *con_cls = NULL;
    if (rq->job) {
        hs_job *j = rq->job;
        pthread_mutex_lock(&j->mu);
        j->conn_alive = false;
        j->conn = NULL;
        j->fd = -1;
        bool done = j->done;
        pthread_mutex_unlock(&j->mu);
        if (!done) {
            atomic_store(&j->cancel, true);
            if (atomic_load(&sv->ready)) hs_sched_kick(sv->sched);
        }
    }
    if (rq->status == 0) rq->status = 500;
    hs_metrics_request(sv->mx, rq->endpoint, rq->status);
    log_request(sv, rq, toe);
    hs_job_release(rq->job);
    hs_buf_free(&rq->body);
    free(rq);
}

static bool is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

static void model_name_from_path(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".gguf")) n -= 5;
    snprintf(out, cap, "%.*s", (int)n, b);
}

hearth_status hs_serve(const hs_config *cfg, hearth_error *err) {
    hs_server *sv = calloc(1, sizeof *sv);
    if (!sv) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    sv->cfg = *cfg;
    atomic_init(&sv->ready, false);
    atomic_init(&sv->next_id, 1);
    if (cfg->alias) snprintf(sv->model_name, sizeof sv->model_name, "%s", cfg->alias);
    else model_name_from_path(cfg->model_path, sv->model_name, sizeof sv->model_name);
    struct stat stt;
    if (stat(cfg->model_path, &stt) != 0) {
        free(sv);
        return hr_fail(err, HEARTH_ERR_IO, "cannot open %s", cfg->model_path);
    }
    sv->file_size = (uint64_t)stt.st_size;
    sv->mx = hs_metrics_new();
    if (cfg->rate_limit > 0) sv->rl = hs_ratelimit_new(cfg->rate_limit);

    /* Signals are taken by sigwait in this thread; every thread started from here inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(cfg->host, port, &hints, &ai);
    if (gai || !ai) {
        hs_metrics_free(sv->mx);
        hs_ratelimit_free(sv->rl);
        free(sv);
        return hr_fail(err, HEARTH_ERR_INVALID, "cannot resolve host '%s': %s", cfg->host, gai_strerror(gai));
    }
    if (!is_loopback(ai->ai_addr) && !cfg->api_key)
        fprintf(stderr, "hearth serve: warning: listening on %s without --api-key: anyone who can reach this address can "
                        "use the model\n", cfg->host);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, sv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, sv,
                                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->request_timeout,
                                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HS_CONN_MEMORY,
                                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)HS_MAX_CONNECTIONS, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        hs_metrics_free(sv->mx);
        hs_ratelimit_free(sv->rl);
        free(sv);
        return hr_fail(err, HEARTH_ERR_IO, "cannot listen on %s port %d (in use, or not an address of this machine)",
                       cfg->host, cfg->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "hearth serve: listening on http://%s:%u (model loading)\n", cfg->host, di ? di->port : 0u);

    hearth_status st;
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = cfg->n_threads;
    mp.isa = cfg->isa;
    st = hearth_model_load(cfg->model_path, &mp, &sv->model, err);
    if (!st && !hearth_model_has_tokenizer(sv->model))
        st = hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s has no tokenizer; serve needs one", cfg->model_path);
    if (!st) sv->max_piece = hs_max_piece(sv->model);
    if (!st) st = hr_chat_template_load(cfg->model_path, cfg->chat_template, &sv->tmpl, err);
    if (!st) st = hr_chat_family_detect(sv->model, sv->tmpl, &sv->family, err);
    if (!st) st = hs_sched_new(sv->model, cfg->parallel, cfg->ctx_per_slot, cfg->queue_size, sv->mx, &sv->sched, err);
    if (!st) {
        int32_t *force = NULL;
        size_t n_force = 0;
        st = hr_force_ids_parse(cfg->force_ids, hearth_model_n_vocab(sv->model), &force, &n_force, err);
        if (!st) st = hs_sched_set_family(sv->sched, &sv->family, force, n_force, err);
        free(force);
    }
    if (!st) {
        sv->load_time = (long long)time(NULL);
        atomic_store(&sv->ready, true);
        fprintf(stderr, "hearth serve: ready: model '%s', %d slots of %d tokens\n", sv->model_name, cfg->parallel,
                hs_sched_n_ctx(sv->sched));
        int sig = 0;
        sigwait(&sigs, &sig);
        fprintf(stderr, "hearth serve: shutting down\n");
    }
    /* Stop accepting, then end the generations (which resumes their connections), then close. */
    MHD_quiesce_daemon(d);
    atomic_store(&sv->ready, false);
    hs_sched_free(sv->sched);
    sv->sched = NULL;
    MHD_stop_daemon(d);
    hr_chat_template_free(sv->tmpl);
    hearth_model_free(sv->model);
    hs_metrics_free(sv->mx);
    hs_ratelimit_free(sv->rl);
    free(sv);
    return st;
}
