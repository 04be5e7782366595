/* `hearth bench`: prompt-processing and generation speed of a model, measured
 * like llama-bench (pp: one prompt of -p tokens; tg: -n tokens generated one at
 * a time from an empty context, or, with -d N, from a context already holding
 * N tokens, like llama-bench's -d), plus the weight-read bandwidth of
 * generation and peak resident memory. Timings only; nothing is asserted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "gguf/gguf.h"
#include "hearth.h"

static void usage(FILE *f) {
    fputs("usage: hearth bench -m MODEL.gguf [-p 512] [-n 128] [-d DEPTH] [-t THREADS] [-r REPETITIONS] [--cache-type f16|q8_0|f32]\n"
          "  prompt (pp) and generation (tg) tokens/s, with -d after DEPTH tokens of context\n",
          f);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Bytes of weights one generated token reads: every tensor, except the token
 * embeddings when a separate output matrix exists (then only one row of them
 * is read), and Gemma's per-layer token embeddings (always one row). */
static int bytes_per_token(const char *path, uint64_t *out) {
    hr_gguf *g = NULL;
    hearth_error err = {0};
    if (hr_gguf_open(path, &g, &err) != HEARTH_OK) return cli_die("%s", err.message);
    bool untied = hr_gguf_find_tensor(g, "output.weight") != NULL;
    uint64_t sum = 0;
    for (int64_t i = 0; i < hr_gguf_n_tensors(g); i++) {
        const hr_gguf_tensor *t = hr_gguf_tensor_at(g, i);
        if (untied && !strcmp(t->name, "token_embd.weight")) continue;
        if (!strcmp(t->name, "per_layer_token_embd.weight")) continue;
        sum += t->nbytes;
    }
    hr_gguf_close(g);
    *out = sum;
    return 0;
}

/* Evaluates n tokens (one batch when batch, else one at a time) after the
 * first depth tokens of toks (evaluated untimed from an empty context) and
 * returns the seconds the n took, or a negative value on error. */
static double timed_eval(hearth_session *s, const int32_t *toks, int64_t depth, int64_t n, bool batch) {
    hearth_error err = {0};
    hearth_session_reset(s);
    if (depth > 0 && hearth_session_eval(s, toks, (size_t)depth, &err) != HEARTH_OK)
        return cli_die("%s", err.message), -1;
    toks += depth;
    double t0 = now_s();
    if (batch) {
        if (hearth_session_eval(s, toks, (size_t)n, &err) != HEARTH_OK) return cli_die("%s", err.message), -1;
    } else {
        for (int64_t i = 0; i < n; i++)
            if (hearth_session_eval(s, &toks[i], 1, &err) != HEARTH_OK) return cli_die("%s", err.message), -1;
    }
    return now_s() - t0;
}

int cmd_bench(int argc, char **argv) {
    const char *path = NULL, *cache = "f16";
    int64_t n_prompt = 512, n_gen = 128, n_threads = 0, reps = 1, depth = 0;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        static const char *const flags[] = {"-m", "--model", "-p", "-n", "-t", "--threads", "-r", "-d", "--n-depth", "--cache-type"};
        bool known = false, ok = true;
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) known |= !strcmp(a, flags[f]);
        if (!known) return cli_die("bench: unknown option '%s'", a);
        if (!v) return cli_die("bench: %s needs a value", a);
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) path = v;
        else if (!strcmp(a, "--cache-type")) cache = v;
        else if (!strcmp(a, "-p")) ok = cli_parse_i64(a, v, 0, 1 << 16, &n_prompt);
        else if (!strcmp(a, "-n")) ok = cli_parse_i64(a, v, 0, 1 << 16, &n_gen);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) ok = cli_parse_i64(a, v, 1, 1024, &n_threads);
        else if (!strcmp(a, "-d") || !strcmp(a, "--n-depth")) ok = cli_parse_i64(a, v, 0, 1 << 20, &depth);
        else ok = cli_parse_i64(a, v, 1, 100, &reps);
        if (!ok) return 1;
    }
    if (!path) {
        usage(stderr);
        return 1;
    }
    hearth_session_params sp = hearth_session_default_params();
    if (!hearth_cache_type_from_name(cache, &sp.cache_type))
        return cli_die("bench: --cache-type expects f16, q8_0 or f32, got '%s'", cache);
    uint64_t bpt = 0;
    if (bytes_per_token(path, &bpt)) return 1;

    hearth_error err = {0};
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = (int)n_threads;
    mp.isa = getenv("HEARTH_ISA");
    hearth_model *m = NULL;
    if (hearth_model_load(path, &mp, &m, &err) != HEARTH_OK) return cli_die("%s", err.message);
    sp.n_ctx = (int32_t)(depth + (n_prompt > n_gen ? n_prompt : n_gen) + 16);
    hearth_session *s = NULL;
    int rc = 1;
    int64_t n_toks = depth + (n_prompt > n_gen ? n_prompt : n_gen);
    int32_t *toks = malloc(sizeof *toks * (size_t)(n_toks + 1));
    if (!toks) {
        cli_die("out of memory");
        goto done;
    }
    if (hearth_session_new(m, &sp, &s, &err) != HEARTH_OK) {
        cli_die("%s", err.message);
        goto done;
    }
    /* Random ids from a fixed LCG: the content does not change the work. */
    uint32_t x = 12345, nv = (uint32_t)hearth_model_n_vocab(m);
    for (int64_t i = 0; i <= n_toks; i++) toks[i] = (int32_t)((x = x * 1664525u + 1013904223u) >> 8) % (int32_t)nv;

    /* Warm-up (page in the weights, size the buffers), as llama-bench does. */
    if (timed_eval(s, toks, 0, n_prompt < 32 ? n_prompt : 32, true) < 0 || timed_eval(s, toks, 0, 1, false) < 0) goto done;
    double pp = 0, tg = 0;
    for (int64_t r = 0; r < reps; r++) {
        double t;
        if (n_prompt > 0) {
            if ((t = timed_eval(s, toks, depth, n_prompt, true)) < 0) goto done;
            pp += (double)n_prompt / t;
        }
        if (n_gen > 0) {
            if ((t = timed_eval(s, toks, depth, n_gen, false)) < 0) goto done;
            tg += (double)n_gen / t;
        }
    }
    pp /= (double)reps, tg /= (double)reps;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("model: %s (%s, %.1f MiB read per token), threads: %d, isa: %s, cache: %s\n", path, hearth_model_arch(m),
           (double)bpt / (1 << 20), hearth_model_n_threads(m), hearth_model_isa(m), hearth_cache_type_name(sp.cache_type));
    /* llama-bench's names: "tg128 @ d16384" for a run from a filled context. */
    char at[40] = "";
    if (depth > 0) snprintf(at, sizeof at, " @ d%" PRId64, depth);
    if (n_prompt > 0) printf("pp%" PRId64 "%s: %.2f tok/s\n", n_prompt, at, pp);
    if (n_gen > 0) {
        /* The KV cache a generated token reads: every cached position of the
         * attention layers, at the generation's middle position. With the
         * weights it bounds the depth's cost: from a context of D, a token
         * that reads weights and cache at the same bandwidth takes
         * (weights + cache(D)) / (weights + cache(512)) as long as at 512. */
        const uint64_t kv = hearth_model_kv_bytes(m, (int32_t)(depth + n_gen / 2 + 1), sp.cache_type);
        printf("tg%" PRId64 "%s: %.2f tok/s, weight reads %.2f GB/s, cache reads %.2f MiB per token\n", n_gen, at, tg,
               tg * (double)bpt / 1e9, (double)kv / (1 << 20));
    }
    printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024);
    rc = 0;
done:
    free(toks);
    hearth_session_free(s);
    hearth_model_free(m);
    return rc;
}
