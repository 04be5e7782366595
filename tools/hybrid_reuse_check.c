/*
 * hybrid_reuse_check: prefix reuse on a recurrent hybrid through the public
 * API, against recomputation from scratch. Session A evaluates a prompt and
 * decodes a few tokens; a second "turn" shares only part of that sequence.
 * A keeps the longest prefix hearth_session_reusable allows (a snapshot of
 * the recurrent state) and evaluates the rest; session B evaluates the whole
 * second turn from nothing. Their logits, and those of 8 greedy tokens after,
 * must agree. Also: truncating where no snapshot exists is refused and leaves
 * the session as it was; hearth_session_reset gives the cold-start logits.
 *
 *   hybrid_reuse_check MODEL.gguf [TOLERANCE]     exit 0 when every check holds
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hearth.h"

#define NCTX 512

static int failures;

static void expect(bool ok, const char *what) {
    if (!ok) {
        printf("FAIL: %s\n", what);
        failures++;
    }
}

static void check_st(hearth_status st, const hearth_error *err, const char *what) {
    if (st) {
        printf("FAIL: %s: %s\n", what, err->message);
        exit(1);
    }
}

static float max_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN counts as the largest */
    }
    return m;
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int32_t rand_tok(int32_t nv) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (int32_t)(1 + rng % (uint64_t)(nv - 1));
}

/* Greedy decoding of n tokens on both sessions, comparing the logits at each step. */
static float decode_both(hearth_session *a, hearth_session *b, int32_t nv, int n) {
    hearth_error err = {0};
    float worst = 0.0f;
    for (int i = 0; i < n; i++) {
        int32_t ta = argmax(hearth_session_logits(a), nv), tb = argmax(hearth_session_logits(b), nv);
        expect(ta == tb, "greedy tokens differ after the second turn");
        check_st(hearth_session_eval(a, &ta, 1, &err), &err, "decode A");
        check_st(hearth_session_eval(b, &ta, 1, &err), &err, "decode B");
        float d = max_diff(hearth_session_logits(a), hearth_session_logits(b), (size_t)nv);
        if (d > worst) worst = d;
    }
    return worst;
}

/* One second turn: A holds hist (n_hist tokens); the new prompt is t2. Returns the worst logit difference. */
static float turn(hearth_model *m, hearth_session *a, const int32_t *t2, size_t n2, size_t lcp, int32_t want_keep,
                  int32_t *kept) {
    hearth_error err = {0};
    const int32_t nv = hearth_model_n_vocab(m);
    int32_t k = hearth_session_reusable(a, (int32_t)lcp);
    *kept = k;
    if (k != want_keep) {
        printf("FAIL: reusable(%zu) = %d, expected %d\n", lcp, k, want_keep);
        failures++;
    }
    check_st(hearth_session_truncate(a, k, &err), &err, "truncate to the reusable prefix");
    float *la = malloc(n2 * (size_t)nv * sizeof *la), *lb = malloc(n2 * (size_t)nv * sizeof *lb);
    if (!la || !lb) exit(1);
    check_st(hearth_session_eval_all(a, t2 + k, n2 - (size_t)k, la, &err), &err, "eval the rest on A");
    hearth_session *b = NULL;
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = NCTX;
    sp.cache_type = HEARTH_CACHE_F32;
    check_st(hearth_session_new(m, &sp, &b, &err), &err, "session B");
    check_st(hearth_session_eval_all(b, t2, n2, lb, &err), &err, "eval all on B");
    float worst = max_diff(la, lb + (size_t)k * nv, (n2 - (size_t)k) * (size_t)nv);
    float dec = decode_both(a, b, nv, 8);
    if (dec > worst) worst = dec;
    hearth_session_free(b);
    free(la);
    free(lb);
    return worst;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: hybrid_reuse_check MODEL.gguf [TOLERANCE]\n");
        return 2;
    }
    const float tol = argc > 2 ? strtof(argv[2], NULL) : 1e-4f;
    hearth_error err = {0};
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 2;
    hearth_model *m = NULL;
    check_st(hearth_model_load(argv[1], &mp, &m, &err), &err, "load");
    const int32_t nv = hearth_model_n_vocab(m);
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = NCTX;
    sp.cache_type = HEARTH_CACHE_F32;
    hearth_session *a = NULL;
    check_st(hearth_session_new(m, &sp, &a, &err), &err, "session A");

    /* Turn 1: a 60-token prompt (snapshots at 52 and 60), then 12 decoded tokens. */
    enum { P1 = 60, GEN = 12, TAIL = 8 };
    int32_t hist[P1 + GEN], t2[200];
    for (int i = 0; i < P1; i++) hist[i] = rand_tok(nv);
    check_st(hearth_session_eval(a, hist, P1, &err), &err, "turn 1 prompt");
    for (int i = 0; i < GEN; i++) {
        hist[P1 + i] = argmax(hearth_session_logits(a), nv);
        check_st(hearth_session_eval(a, &hist[P1 + i], 1, &err), &err, "turn 1 decode");
    }
    const int32_t n_hist = P1 + GEN;

    /* Refused: no snapshot at 55; the session stays at its length and state. */
    float before[8];
    memcpy(before, hearth_session_logits(a), sizeof before);
    hearth_status st = hearth_session_truncate(a, 55, &err);
    expect(st == HEARTH_ERR_UNSUPPORTED, "truncating to a position without a snapshot must be refused");
    expect(hearth_session_n_past(a) == n_hist && hearth_session_logits(a) &&
               !memcmp(before, hearth_session_logits(a), sizeof before),
           "a refused truncate must leave the session unchanged");
    expect(hearth_session_reusable(a, n_hist + 5) == n_hist, "reusable beyond n_past is n_past");

    float worst = 0.0f, w;
    int32_t kept;
    /* (a) The second turn diverges 2 tokens before turn 1's prompt end (a re-rendered
     * generation prompt): resumed from the snapshot TAIL tokens before the end. */
    size_t n2 = 0;
    for (int i = 0; i < P1 - 2; i++) t2[n2++] = hist[i];
    for (int i = 0; i < 30; i++) t2[n2++] = rand_tok(nv);
    w = turn(m, a, t2, n2, P1 - 2, P1 - TAIL, &kept);
    printf("diverging inside the prompt tail: kept %d of %d common tokens, max |dlogit| %.3g\n", kept, P1 - 2, w);
    worst = fmaxf(worst, w);

    /* (b) The next prompt extends the last one (A has also decoded 8 tokens past it, which
     * the new prompt does not share): resumed from the snapshot at the last prompt's end. */
    int32_t n_now = hearth_session_n_past(a);
    int32_t *seq = malloc(((size_t)n_now + 40) * sizeof *seq);
    size_t ns = 0;
    for (size_t i = 0; i < n2; i++) seq[ns++] = t2[i];
    for (int i = 0; i < 25; i++) seq[ns++] = rand_tok(nv);
    w = turn(m, a, seq, ns, n2, (int32_t)n2, &kept);
    printf("sharing the whole last prompt: kept %d of %zu common tokens, max |dlogit| %.3g\n", kept, n2, w);
    worst = fmaxf(worst, w);

    /* (c) Only 20 tokens in common, before every snapshot: recomputed from scratch. */
    for (int i = 20; i < 50; i++) seq[i] = rand_tok(nv);
    w = turn(m, a, seq, 50, 20, 0, &kept);
    printf("diverging before every snapshot: kept %d, max |dlogit| %.3g\n", kept, w);
    worst = fmaxf(worst, w);

    /* Reset: the state is cleared, so the same prompt gives the cold-start logits exactly. */
    {
        hearth_session *c = NULL;
        check_st(hearth_session_new(m, &sp, &c, &err), &err, "session C");
        check_st(hearth_session_eval(c, seq, 50, &err), &err, "cold eval");
        hearth_session_reset(a);
        expect(hearth_session_n_past(a) == 0 && hearth_session_reusable(a, 10) == 0, "reset empties the session");
        check_st(hearth_session_eval(a, seq, 50, &err), &err, "eval after reset");
        float d = max_diff(hearth_session_logits(a), hearth_session_logits(c), (size_t)nv);
        printf("after reset: max |dlogit| %.3g against a new session\n", d);
        expect(d == 0.0f, "after reset the logits must equal a new session's exactly");
        hearth_session_free(c);
    }
    free(seq);
    if (!(worst <= tol)) {
        printf("FAIL: max |dlogit| %.3g > %.3g between reuse and recomputation\n", worst, tol);
        failures++;
    }
    hearth_session_free(a);
    hearth_model_free(m);
    if (failures) return 1;
    printf("ok: prefix reuse matches recomputation (max |dlogit| %.3g <= %.3g)\n", worst, tol);
    return 0;
}
