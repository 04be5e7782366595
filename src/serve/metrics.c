/* Prometheus metrics: request counts by endpoint and status, token counters,
 * latency histograms, and the scheduler's gauges (taken at scrape time). */
#include <stdlib.h>
#include <string.h>

#include "serve/serve_internal.h"

#define MAX_SERIES 64
#define N_BUCKETS 12

static const double ttft_bounds[N_BUCKETS] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double tok_bounds[N_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

typedef struct histo {
    const double *bounds;
    uint64_t counts[N_BUCKETS]; /* non-cumulative; summed when rendered */
    uint64_t n;
    double sum;
} histo;

struct hs_metrics {
    pthread_mutex_t mu;
    struct {
        char endpoint[48];
        int status;
        uint64_t n;
    } req[MAX_SERIES];
    int n_req;
    uint64_t prompt_tokens, gen_tokens;
    histo ttft, tok;
};

hs_metrics *hs_metrics_new(void) {
    hs_metrics *mx = calloc(1, sizeof *mx);
    if (!mx) return NULL;
    pthread_mutex_init(&mx->mu, NULL);
    mx->ttft.bounds = ttft_bounds;
    mx->tok.bounds = tok_bounds;
    return mx;
}

void hs_metrics_free(hs_metrics *mx) {
    if (!mx) return;
    pthread_mutex_destroy(&mx->mu);
    free(mx);
}

void hs_metrics_request(hs_metrics *mx, const char *endpoint, int status) {
    pthread_mutex_lock(&mx->mu);
    int i = 0;
    while (i < mx->n_req && !(mx->req[i].status == status && !strcmp(mx->req[i].endpoint, endpoint))) i++;
    if (i == mx->n_req && i < MAX_SERIES) {
        snprintf(mx->req[i].endpoint, sizeof mx->req[i].endpoint, "%s", endpoint);
        mx->req[i].status = status;
        mx->n_req++;
    }
    if (i < MAX_SERIES) mx->req[i].n++;
    pthread_mutex_unlock(&mx->mu);
}

void hs_metrics_tokens(hs_metrics *mx, int64_t prompt, int64_t generated) {
    pthread_mutex_lock(&mx->mu);
    mx->prompt_tokens += (uint64_t)(prompt > 0 ? prompt : 0);
    mx->gen_tokens += (uint64_t)(generated > 0 ? generated : 0);
    pthread_mutex_unlock(&mx->mu);
}

static void observe(hs_metrics *mx, histo *h, double v) {
    pthread_mutex_lock(&mx->mu);
    int b = 0;
    while (b < N_BUCKETS && v > h->bounds[b]) b++;
    if (b < N_BUCKETS) h->counts[b]++;
    h->n++;
    h->sum += v;
    pthread_mutex_unlock(&mx->mu);
}

void hs_metrics_ttft(hs_metrics *mx, double s) { observe(mx, &mx->ttft, s); }
void hs_metrics_token_latency(hs_metrics *mx, double s) { observe(mx, &mx->tok, s); }

static void render_histo(hs_buf *o, const char *name, const char *help, const histo *h) {
    hs_buf_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int b = 0; b < N_BUCKETS; b++) {
        cum += h->counts[b];
        hs_buf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[b], (unsigned long long)cum);
    }
    hs_buf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)h->n, name,
                  h->sum, name, (unsigned long long)h->n);
}

bool hs_metrics_render(hs_metrics *mx, const hs_gauges *g, hs_buf *o) {
    pthread_mutex_lock(&mx->mu);
    hs_buf_str(o, "# HELP hearth_requests_total HTTP requests by endpoint and status.\n"
                  "# TYPE hearth_requests_total counter\n");
    for (int i = 0; i < mx->n_req; i++)
        hs_buf_printf(o, "hearth_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n", mx->req[i].endpoint,
                      mx->req[i].status, (unsigned long long)mx->req[i].n);
    hs_buf_printf(o,
                  "# HELP hearth_prompt_tokens_total Prompt tokens evaluated (cached prefix excluded).\n"
                  "# TYPE hearth_prompt_tokens_total counter\nhearth_prompt_tokens_total %llu\n"
                  "# HELP hearth_generated_tokens_total Tokens generated.\n"
                  "# TYPE hearth_generated_tokens_total counter\nhearth_generated_tokens_total %llu\n",
                  (unsigned long long)mx->prompt_tokens, (unsigned long long)mx->gen_tokens);
    render_histo(o, "hearth_time_to_first_token_seconds", "Time from request arrival to the first generated token.",
                 &mx->ttft);
    render_histo(o, "hearth_token_latency_seconds", "Time between consecutive generated tokens of a request.", &mx->tok);
    pthread_mutex_unlock(&mx->mu);
    hs_buf_printf(o,
                  "# HELP hearth_queue_depth Requests waiting for a slot.\n# TYPE hearth_queue_depth gauge\n"
                  "hearth_queue_depth %d\n"
                  "# HELP hearth_active_slots Slots serving a request.\n# TYPE hearth_active_slots gauge\n"
                  "hearth_active_slots %d\n"
                  "# HELP hearth_slots Slots in total.\n# TYPE hearth_slots gauge\nhearth_slots %d\n"
                  "# HELP hearth_kv_cache_used_cells KV cache positions holding tokens, all slots.\n"
                  "# TYPE hearth_kv_cache_used_cells gauge\nhearth_kv_cache_used_cells %lld\n"
                  "# HELP hearth_kv_cache_cells KV cache positions, all slots.\n"
                  "# TYPE hearth_kv_cache_cells gauge\nhearth_kv_cache_cells %lld\n"
                  "# HELP hearth_kv_cache_usage_ratio Fraction of the KV cache in use.\n"
                  "# TYPE hearth_kv_cache_usage_ratio gauge\nhearth_kv_cache_usage_ratio %.6f\n",
                  g->queue_depth, g->active_slots, g->n_slots, (long long)g->kv_used, (long long)g->kv_total,
                  g->kv_total ? (double)g->kv_used / (double)g->kv_total : 0.0);
    return o->p != NULL;
}
