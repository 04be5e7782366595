/*
 * The scheduler: --parallel slots share one model. Its own thread runs a step
 * loop: queued jobs join free slots between steps (each slot keeps the tokens
 * of its KV cache, so a job reuses the longest common prefix of the slot it
 * lands in), prompts are evaluated in chunks so running streams keep flowing,
 * and every generating slot gets one token per step, all of them decoded
 * together in one batched pass.
 */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "serve/serve_internal.h"

#define PROMPT_CHUNK 128

typedef enum { SLOT_IDLE, SLOT_PROMPT, SLOT_GEN } slot_state;

typedef struct slot {
    hearth_session *sess;
    int32_t *cache; /* tokens whose KV the session holds (its first n_past positions) */
    size_t n_cache;
    slot_state st;
    hs_job *job;
    hearth_sampler *smp;
    hearth_detok *dt;
    hs_buf gen;      /* generated text */
    size_t emitted;  /* bytes of gen handed to the job */
    int32_t n_gen;
    int32_t next_tok; /* token to decode this step */
    double t_last;
    uint64_t last_used;
} slot;

struct hs_sched {
    hearth_model *m;
    int n_slots;
    int32_t n_ctx, n_vocab;
    slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hs_job **queue;
    int q_cap, q_head, q_len;
    bool stop, started;
    pthread_t th;
    hs_metrics *mx;
    atomic_int active;
    atomic_llong kv_used;
    uint64_t use_counter;
    hearth_session **dec_sess; /* per-step batch: sessions, their tokens and counts */
    const int32_t **dec_toks;
    size_t *dec_cnt;
    hr_chat_family fam;
    int32_t *force; /* tests only: the first tokens of every generation */
    size_t n_force;
};

static size_t lcp(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

static void update_kv_gauge(hs_sched *s) {
    long long used = 0;
    for (int i = 0; i < s->n_slots; i++) used += hearth_session_n_past(s->slots[i].sess);
    atomic_store(&s->kv_used, used);
}

/* Hands text (and the pending logprobs) to the job's formatter and wakes the HTTP side. */
static void job_emit(hs_job *j, const char *text, size_t n) {
    pthread_mutex_lock(&j->mu);
    if (n || j->n_lps) {
        hs_buf_add(&j->text, text, n);
        j->ops->on_text(j, text, n);
        j->n_lps = 0;
        hs_job_notify(j);
    }
    pthread_mutex_unlock(&j->mu);
}

static void finish(hs_sched *s, slot *sl, const char *reason, const char *error) {
    hs_job *j = sl->job;
    if (!error && strcmp(reason, "cancelled") != 0) {
        /* Text held back for a possible stop string, and an incomplete UTF-8 tail. */
        const char *tail = sl->dt ? hearth_detok_flush(sl->dt) : "";
        hs_buf_str(&sl->gen, tail);
        job_emit(j, sl->gen.p ? sl->gen.p + sl->emitted : "", sl->gen.len - sl->emitted);
        sl->emitted = sl->gen.len;
    }
    pthread_mutex_lock(&j->mu);
    j->finish_reason = reason;
    j->n_gen = sl->n_gen;
    j->t_done = hs_now();
    if (error) snprintf(j->error, sizeof j->error, "%s", error);
    if (!atomic_load(&j->cancel) && strcmp(reason, "cancelled") != 0) j->ops->on_done(j);
    j->done = true;
    hs_job_notify(j);
    pthread_mutex_unlock(&j->mu);
    hs_metrics_tokens(s->mx, (int64_t)j->n_prompt - j->n_cached, sl->n_gen);
    hs_job_release(j);
    hearth_sampler_free(sl->smp);
    hearth_detok_free(sl->dt);
    sl->smp = NULL;
    sl->dt = NULL;
    sl->job = NULL;
    sl->st = SLOT_IDLE;
    hs_buf_free(&sl->gen);
    sl->emitted = 0;
    atomic_fetch_sub(&s->active, 1);
}

/* Stop strings: emits what can no longer be part of one; true when one matched (slot finished). */
static bool emit_checked(hs_sched *s, slot *sl) {
    hs_job *j = sl->job;
    size_t maxlen = 0;
    for (int i = 0; i < j->n_stop; i++) {
        size_t l = strlen(j->stop[i]);
        if (l > maxlen) maxlen = l;
    }
    const char *g = sl->gen.p ? sl->gen.p : "";
    size_t len = sl->gen.len;
    if (maxlen) {
        size_t from = sl->emitted >= maxlen ? sl->emitted - maxlen + 1 : 0;
        size_t best = SIZE_MAX;
        for (int i = 0; i < j->n_stop; i++) {
            size_t l = strlen(j->stop[i]);
            if (!l || len - from < l) continue;
            const char *p = memmem(g + from, len - from, j->stop[i], l);
            if (p && (size_t)(p - g) < best) best = (size_t)(p - g);
        }
        if (best != SIZE_MAX) {
            if (best > sl->emitted) job_emit(j, g + sl->emitted, best - sl->emitted);
            sl->emitted = len; /* the stop string and what follows are dropped */
            pthread_mutex_lock(&j->mu);
            j->n_lps = 0;
            pthread_mutex_unlock(&j->mu);
            hearth_detok_free(sl->dt);
            sl->dt = NULL;
            finish(s, sl, "stop", NULL);
            return true;
        }
    }
    size_t hold = 0;
    for (int i = 0; i < j->n_stop; i++) {
        size_t l = strlen(j->stop[i]);
        if (!l) continue;
        for (size_t k = l - 1; k > hold && k > 0; k--)
            if (k <= len - sl->emitted && memcmp(g + len - k, j->stop[i], k) == 0) {
                hold = k;
                break;
            }
    }
    if (len - hold > sl->emitted) {
        job_emit(j, g + sl->emitted, len - hold - sl->emitted);
        sl->emitted = len - hold;
    }
    return false;
}

static void fill_logprobs(const float *logits, int32_t nv, int32_t tok, int n_top, hs_logprob *lp) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < nv; i++)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (int32_t i = 0; i < nv; i++) sum += exp((double)(logits[i] - mx));
    const double lse = (double)mx + log(sum);
    lp->id = tok;
    lp->logprob = (float)(logits[tok] - lse);
    lp->n_top = 0;
    for (int32_t i = 0; i < nv; i++) {
        float v = logits[i];
        if (lp->n_top == n_top && (n_top == 0 || v <= logits[lp->top_id[n_top - 1]])) continue;
        int k = lp->n_top < n_top ? lp->n_top++ : n_top - 1;
        while (k > 0 && logits[lp->top_id[k - 1]] < v) {
            lp->top_id[k] = lp->top_id[k - 1];
            k--;
        }
        lp->top_id[k] = i;
    }
    for (int k = 0; k < lp->n_top; k++) lp->top_lp[k] = (float)(logits[lp->top_id[k]] - lse);
}

static bool client_gone(hs_job *j) {
    if (atomic_load(&j->cancel)) return true;
    bool gone = false;
    pthread_mutex_lock(&j->mu);
    if (!j->conn_alive) {
        gone = true;
    } else if (j->fd >= 0) {
        struct pollfd p = {.fd = j->fd, .events = POLLRDHUP};
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) gone = true;
    }
    pthread_mutex_unlock(&j->mu);
    return gone;
}

static void start(hs_sched *s, slot *sl, hs_job *j) {
    hearth_error err = {0};
    sl->job = j;
    sl->last_used = ++s->use_counter;
    size_t common = lcp(sl->cache, sl->n_cache, j->prompt, j->n_prompt);
    if (common >= j->n_prompt) common = j->n_prompt - 1; /* evaluate at least one token for the logits */
    if ((int32_t)common > hearth_session_n_past(sl->sess)) common = (size_t)hearth_session_n_past(sl->sess);
    /* Recurrent hybrids resume only from a snapshot of their state (hearth_session_reusable). */
    common = (size_t)hearth_session_reusable(sl->sess, (int32_t)common);
    if (hearth_session_truncate(sl->sess, (int32_t)common, &err)) {
        /* recurrent or sliding-window state that cannot be rewound: start again from nothing */
        hearth_session_reset(sl->sess);
        common = 0;
    }
    sl->n_cache = common;
    j->n_cached = (int32_t)common;
    sl->n_gen = 0;
    sl->emitted = 0;
    sl->st = SLOT_PROMPT;
    atomic_fetch_add(&s->active, 1);
    if (hearth_sampler_new(&j->sp, &sl->smp, &err) || hearth_detok_new(s->m, false, &sl->dt, &err)) {
        finish(s, sl, "error", err.message);
        return;
    }
    for (size_t i = 0; i < j->n_prompt; i++) hearth_sampler_accept(sl->smp, j->prompt[i]);
}

static bool cache_append(slot *sl, const int32_t *t, size_t n) {
    /* the cache array holds n_ctx entries from creation */
    memcpy(sl->cache + sl->n_cache, t, n * sizeof *t);
    sl->n_cache += n;
    return true;
}

/* Samples the next token of a generating slot; true when it goes on (token in sl->next_tok). */
static bool sample_step(hs_sched *s, slot *sl) {
    hs_job *j = sl->job;
    hearth_error err = {0};
    const float *logits = hearth_session_logits(sl->sess);
    int32_t tok = 0;
    if (logits && (size_t)sl->n_gen < s->n_force) tok = s->force[sl->n_gen];
    else if (!logits || hearth_sampler_sample(sl->smp, logits, s->n_vocab, &tok, &err)) {
        finish(s, sl, "error", logits ? err.message : "no logits");
        return false;
    }
    hearth_sampler_accept(sl->smp, tok);
    sl->n_gen++;
    double now = hs_now();
    if (sl->n_gen == 1) {
        hs_metrics_ttft(s->mx, now - j->t_arrive);
        pthread_mutex_lock(&j->mu);
        j->t_first = now;
        pthread_mutex_unlock(&j->mu);
    } else {
        hs_metrics_token_latency(s->mx, now - sl->t_last);
    }
    sl->t_last = now;
    if (hr_chat_family_is_end(&s->fam, s->m, tok)) {
        sl->n_gen--; /* the end-of-generation token is not part of the answer */
        finish(s, sl, "stop", NULL);
        return false;
    }
    if (j->logprobs) {
        hs_logprob lp;
        fill_logprobs(logits, s->n_vocab, tok, j->top_logprobs, &lp);
        pthread_mutex_lock(&j->mu);
        hs_job_push_lp(j, &lp);
        pthread_mutex_unlock(&j->mu);
    }
    char pbuf[256];
    hs_buf_str(&sl->gen, hr_chat_family_piece(&s->fam, s->m, sl->dt, tok, pbuf, sizeof pbuf));
    if (emit_checked(s, sl)) return false;
    if (j->max_tokens >= 0 && sl->n_gen >= j->max_tokens) {
        finish(s, sl, "length", NULL);
        return false;
    }
    if (hearth_session_n_past(sl->sess) >= s->n_ctx) {
        finish(s, sl, "length", NULL);
        return false;
    }
    sl->next_tok = tok;
    return true;
}

/* One forward pass for the step: the next prompt chunk of every slot still
 * reading its prompt together with the next token of every generating slot
 * (list[0..n), tokens tok[i][0..cnt[i])), so new clients' prompts share the
 * weight reads with the others' decoding. */
static void eval_step(hs_sched *s, slot **list, const int32_t **tok, size_t *cnt, int n) {
    if (!n) return;
    hearth_error err = {0};
    for (int i = 0; i < n; i++) s->dec_sess[i] = list[i]->sess;
    bool ok = hearth_sessions_eval(s->dec_sess, tok, cnt, (size_t)n, &err) == HEARTH_OK;
    for (int i = 0; i < n; i++) {
        slot *sl = list[i];
        /* on a failed batch (the sessions are unchanged) each slot goes alone, so one bad slot fails alone */
        if (!ok && hearth_session_eval(sl->sess, tok[i], cnt[i], &err)) {
            finish(s, sl, "error", err.message);
            continue;
        }
        cache_append(sl, tok[i], cnt[i]);
        if (sl->st == SLOT_PROMPT && sl->n_cache == sl->job->n_prompt) sl->st = SLOT_GEN;
    }
}

static slot *pick_slot(hs_sched *s, const hs_job *j) {
    slot *best = NULL;
    size_t best_common = 0;
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->st != SLOT_IDLE) continue;
        size_t c = lcp(sl->cache, sl->n_cache, j->prompt, j->n_prompt);
        if (!best || c > best_common || (c == best_common && sl->last_used < best->last_used)) {
            best = sl;
            best_common = c;
        }
    }
    return best;
}

/* Drops queued jobs whose client went away (hung up, even while its connection is
 * suspended), so they hold no queue place (s->mu held). */
static void purge_cancelled(hs_sched *s) {
    int w = 0;
    for (int i = 0; i < s->q_len; i++) {
        hs_job *j = s->queue[(s->q_head + i) % s->q_cap];
        if (client_gone(j)) {
            pthread_mutex_lock(&j->mu);
            j->done = true;
            j->finish_reason = "cancelled";
            hs_job_notify(j);
            pthread_mutex_unlock(&j->mu);
            hs_job_release(j);
            continue;
        }
        s->queue[(s->q_head + w++) % s->q_cap] = j;
    }
    s->q_len = w;
}

static void *loop(void *arg) {
    hs_sched *s = arg;
    slot **list = calloc((size_t)s->n_slots, sizeof *list);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->stop && atomic_load(&s->active) == 0 && s->q_len == 0) pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        purge_cancelled(s);
        while (s->q_len > 0) {
            slot *sl = pick_slot(s, s->queue[s->q_head]);
            if (!sl) break;
            hs_job *j = s->queue[s->q_head];
            s->q_head = (s->q_head + 1) % s->q_cap;
            s->q_len--;
            pthread_mutex_unlock(&s->mu);
            if (client_gone(j)) {
                pthread_mutex_lock(&j->mu);
                j->done = true;
                j->finish_reason = "cancelled";
                hs_job_notify(j);
                pthread_mutex_unlock(&j->mu);
                hs_job_release(j);
            } else {
                start(s, sl, j);
            }
            pthread_mutex_lock(&s->mu);
        }
        pthread_mutex_unlock(&s->mu);

        for (int i = 0; i < s->n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->st != SLOT_IDLE && client_gone(sl->job)) finish(s, sl, "cancelled", NULL);
        }
        int n = 0;
        for (int i = 0; i < s->n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->st == SLOT_PROMPT) {
                const size_t done = sl->n_cache, left = sl->job->n_prompt - done;
                list[n] = sl;
                s->dec_toks[n] = sl->job->prompt + done;
                s->dec_cnt[n++] = left < PROMPT_CHUNK ? left : PROMPT_CHUNK;
            } else if (sl->st == SLOT_GEN && sample_step(s, sl)) {
                list[n] = sl;
                s->dec_toks[n] = &sl->next_tok;
                s->dec_cnt[n++] = 1;
            }
        }
        eval_step(s, list, s->dec_toks, s->dec_cnt, n);
        update_kv_gauge(s);
    }
    free(list);
    return NULL;
}

hearth_status hs_sched_new(hearth_model *m, int n_slots, int32_t n_ctx, int queue_cap, hs_metrics *mx,
                           hs_sched **out, hearth_error *err) {
    *out = NULL;
    if (n_slots < 1 || queue_cap < 1) return hr_fail(err, HEARTH_ERR_INVALID, "need at least one slot and one queue place");
    hs_sched *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    s->m = m;
    s->n_slots = n_slots;
    s->fam = (hr_chat_family){.end_turn = -1};
    s->n_vocab = hearth_model_n_vocab(m);
    s->mx = mx;
    s->q_cap = queue_cap;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    atomic_init(&s->active, 0);
    atomic_init(&s->kv_used, 0);
    s->slots = calloc((size_t)n_slots, sizeof *s->slots);
    s->queue = calloc((size_t)queue_cap, sizeof *s->queue);
    s->dec_sess = calloc((size_t)n_slots, sizeof *s->dec_sess);
    s->dec_toks = calloc((size_t)n_slots, sizeof *s->dec_toks);
    s->dec_cnt = calloc((size_t)n_slots, sizeof *s->dec_cnt);
    if (!s->slots || !s->queue || !s->dec_sess || !s->dec_toks || !s->dec_cnt) {
        hs_sched_free(s);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = n_ctx;
    for (int i = 0; i < n_slots; i++) {
        hearth_status st = hearth_session_new(m, &sp, &s->slots[i].sess, err);
        if (st) {
            hr_error_prefix(err, "slot %d", i);
            hs_sched_free(s);
            return st;
        }
        s->n_ctx = hearth_session_n_ctx(s->slots[i].sess);
        s->slots[i].cache = malloc((size_t)s->n_ctx * sizeof(int32_t));
        if (!s->slots[i].cache) {
            hs_sched_free(s);
            return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        }
    }
    if (pthread_create(&s->th, NULL, loop, s)) {
        hs_sched_free(s);
        return hr_fail(err, HEARTH_ERR_NOMEM, "cannot start the scheduler thread");
    }
    s->started = true;
    *out = s;
    return HEARTH_OK;
}

static void abort_job(hs_job *j) {
    pthread_mutex_lock(&j->mu);
    snprintf(j->error, sizeof j->error, "the server is shutting down");
    j->finish_reason = "error";
    j->done = true;
    hs_job_notify(j);
    pthread_mutex_unlock(&j->mu);
    hs_job_release(j);
}

void hs_sched_free(hs_sched *s) {
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    for (int i = 0; s->queue && i < s->q_len; i++) abort_job(s->queue[(s->q_head + i) % s->q_cap]);
    for (int i = 0; s->slots && i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->job) finish(s, sl, "error", "the server is shutting down");
        hearth_session_free(sl->sess);
        free(sl->cache);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->slots);
    free(s->queue);
    free(s->dec_sess);
    free(s->dec_toks);
    free(s->dec_cnt);
    free(s->force);
    free(s);
}

hearth_status hs_sched_set_family(hs_sched *s, const hr_chat_family *fam, const int32_t *force, size_t n_force,
                                  hearth_error *err) {
    s->fam = *fam;
    free(s->force);
    s->force = NULL;
    s->n_force = 0;
    if (n_force) {
        s->force = malloc(n_force * sizeof *force);
        if (!s->force) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        memcpy(s->force, force, n_force * sizeof *force);
        s->n_force = n_force;
    }
    return HEARTH_OK;
}

bool hs_sched_submit(hs_sched *s, hs_job *j) {
    pthread_mutex_lock(&s->mu);
    bool ok = s->q_len < s->q_cap && !s->stop;
    if (ok) {
        pthread_mutex_lock(&j->mu);
        j->refs++;
        pthread_mutex_unlock(&j->mu);
        s->queue[(s->q_head + s->q_len) % s->q_cap] = j;
        s->q_len++;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void hs_sched_kick(hs_sched *s) {
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void hs_sched_gauges(hs_sched *s, hs_gauges *g) {
    pthread_mutex_lock(&s->mu);
    g->queue_depth = s->q_len;
    pthread_mutex_unlock(&s->mu);
    g->active_slots = atomic_load(&s->active);
    g->n_slots = s->n_slots;
    g->kv_used = atomic_load(&s->kv_used);
    g->kv_total = (int64_t)s->n_slots * s->n_ctx;
}

int32_t hs_sched_n_ctx(const hs_sched *s) { return s->n_ctx; }
