/* API keys (constant-time comparison) and per-client rate limiting. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_internal.h"

bool hs_key_equal(const char *given, const char *expected) {
    /* Time depends only on the expected key's length, never on where they differ. */
    size_t ng = strlen(given), ne = strlen(expected);
    unsigned char diff = (unsigned char)(ng != ne);
    for (size_t i = 0; i < ne; i++) {
        unsigned char g = i < ng ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)expected[i]);
    }
    return diff == 0;
}

/* A token bucket per client: capacity per_minute, refilled continuously. */
typedef struct bucket {
    char *client;
    double tokens, t;
} bucket;

struct hs_ratelimit {
    pthread_mutex_t mu;
    int per_minute;
    bucket *b;
    size_t n, cap;
};

hs_ratelimit *hs_ratelimit_new(int per_minute) {
    hs_ratelimit *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->per_minute = per_minute;
    return r;
}

void hs_ratelimit_free(hs_ratelimit *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) free(r->b[i].client);
    free(r->b);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

bool hs_ratelimit_take(hs_ratelimit *r, const char *client, double now, int *retry_after) {
    if (!r || r->per_minute <= 0) return true;
    const double rate = r->per_minute / 60.0, cap = r->per_minute;
    pthread_mutex_lock(&r->mu);
    bucket *b = NULL;
    for (size_t i = 0; i < r->n; i++) {
        bucket *c = &r->b[i];
        c->tokens = fmin(cap, c->tokens + (now - c->t) * rate);
        c->t = now;
        if (!strcmp(c->client, client)) b = c;
    }
    /* Full buckets carry no state: forget them so the table stays small. */
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->b[i].tokens >= cap && &r->b[i] != b) {
            free(r->b[i].client);
            continue;
        }
        if (&r->b[i] == b) b = &r->b[w];
        r->b[w++] = r->b[i];
    }
    r->n = w;
    if (!b) {
        if (r->n == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 16;
            bucket *nb = realloc(r->b, nc * sizeof *nb);
            if (!nb) {
                pthread_mutex_unlock(&r->mu);
                return true;
            }
            r->b = nb;
            r->cap = nc;
        }
        b = &r->b[r->n];
        *b = (bucket){.client = strdup(client), .tokens = cap, .t = now};
        if (!b->client) {
            pthread_mutex_unlock(&r->mu);
            return true;
        }
        r->n++;
    }
    bool ok = b->tokens >= 1.0;
    if (ok) b->tokens -= 1.0;
    else *retry_after = (int)ceil((1.0 - b->tokens) / rate);
    pthread_mutex_unlock(&r->mu);
    return ok;
}
