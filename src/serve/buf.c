/* Byte buffers, clock, and job lifetime. */
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/serve_internal.h"

bool hs_buf_add(hs_buf *b, const void *data, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return false;
        b->p = p;
        b->cap = cap;
    }
    if (n && data) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
    return true;
}

bool hs_buf_str(hs_buf *b, const char *s) { return hs_buf_add(b, s, strlen(s)); }

bool hs_buf_printf(hs_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    if (!hs_buf_add(b, NULL, (size_t)n)) return false; /* reserve */
    b->len -= (size_t)n;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

bool hs_buf_json(hs_buf *b, const json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s) return false;
    bool ok = hs_buf_str(b, s);
    free(s);
    return ok;
}

void hs_buf_free(hs_buf *b) {
    free(b->p);
    *b = (hs_buf){0};
}

double hs_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

hs_job *hs_job_new(void) {
    hs_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_mutex_init(&j->mu, NULL);
    j->refs = 1;
    j->fd = -1;
    j->max_tokens = -1;
    j->t_arrive = hs_now();
    atomic_init(&j->cancel, false);
    return j;
}

void hs_job_release(hs_job *j) {
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left > 0) return;
    pthread_mutex_destroy(&j->mu);
    free(j->prompt);
    for (int i = 0; i < j->n_stop; i++) free(j->stop[i]);
    free(j->stop);
    hs_buf_free(&j->out);
    hs_buf_free(&j->text);
    hs_buf_free(&j->reasoning);
    hs_buf_free(&j->answer);
    free(j->lps);
    json_decref(j->lp_all);
    free(j);
}

bool hs_job_push_lp(hs_job *j, const hs_logprob *lp) {
    if (j->n_lps == j->cap_lps) {
        size_t cap = j->cap_lps ? j->cap_lps * 2 : 8;
        hs_logprob *p = realloc(j->lps, cap * sizeof *p);
        if (!p) return false;
        j->lps = p;
        j->cap_lps = cap;
    }
    j->lps[j->n_lps++] = *lp;
    return true;
}

void hs_job_notify(hs_job *j) {
    if (j->suspended && j->conn_alive && j->conn) {
        j->suspended = false;
        MHD_resume_connection(j->conn);
    }
}
