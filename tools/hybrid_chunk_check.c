/*
 * hybrid_chunk_check: a prompt processed in one batch (the recurrent layers'
 * chunked parallel form) against the same prompt one token at a time (the
 * per-token recurrence used for decoding): the logits after every token must
 * agree within a tolerance. Prints the worst difference, the largest logit,
 * and the prompt time of both paths.
 *
 *   hybrid_chunk_check MODEL.gguf N_TOKENS TOLERANCE     exit 0 when within
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hearth.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *run(hearth_model *m, const int32_t *toks, size_t n, int32_t n_batch, double *secs) {
    hearth_error err = {0};
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = (int32_t)n + 8;
    sp.n_batch = n_batch;
    sp.cache_type = HEARTH_CACHE_F32;
    hearth_session *s = NULL;
    float *out = malloc(n * (size_t)hearth_model_n_vocab(m) * sizeof *out);
    if (!out || hearth_session_new(m, &sp, &s, &err)) {
        fprintf(stderr, "hybrid_chunk_check: %s\n", err.message);
        exit(1);
    }
    double t0 = now();
    if (hearth_session_eval_all(s, toks, n, out, &err)) {
        fprintf(stderr, "hybrid_chunk_check: %s\n", err.message);
        exit(1);
    }
    *secs = now() - t0;
    hearth_session_free(s);
    return out;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: hybrid_chunk_check MODEL.gguf N_TOKENS TOLERANCE\n");
        return 2;
    }
    const size_t n = (size_t)atoi(argv[2]);
    const float tol = strtof(argv[3], NULL);
    hearth_error err = {0};
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 2;
    hearth_model *m = NULL;
    if (n < 2 || n > 8192 || hearth_model_load(argv[1], &mp, &m, &err)) {
        fprintf(stderr, "hybrid_chunk_check: %s\n", n < 2 || n > 8192 ? "N_TOKENS must be in 2..8192" : err.message);
        return 2;
    }
    const int32_t nv = hearth_model_n_vocab(m);
    int32_t *toks = malloc(n * sizeof *toks);
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        toks[i] = (int32_t)(1 + r % (uint64_t)(nv - 1));
    }
    double t_chunk, t_tok;
    /* the session's n_batch bounds a forward pass: 1 forces the per-token recurrence */
    float *a = run(m, toks, n, (int32_t)n, &t_chunk), *b = run(m, toks, n, 1, &t_tok);
    float worst = 0.0f, big = 0.0f;
    for (size_t i = 0; i < n * (size_t)nv; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= worst)) worst = d;
        if (fabsf(b[i]) > big) big = fabsf(b[i]);
    }
    printf("%zu tokens: max |dlogit| %.3g (largest |logit| %.3g); one batch %.3f s, token by token %.3f s\n", n, worst,
           big, t_chunk, t_tok);
    free(a);
    free(b);
    free(toks);
    hearth_model_free(m);
    if (!(worst <= tol)) {
        printf("FAIL: max |dlogit| %.3g > %.3g\n", worst, tol);
        return 1;
    }
    return 0;
}
