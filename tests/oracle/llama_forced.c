/* llama.cpp itself behind hearth's `run` command line, for tests/oracle/compare.mjs:
 * the oracle's own libllama (node-llama-cpp's build), teacher-forced like hearth,
 * printing {"top": [[[id, p], ...], ...]} (every token's probability at every step).
 * Built and run by llama_forced.sh, used to measure llama.cpp against itself: with
 * LLAMA_FORCED_NOREPACK=1 the weights are not repacked, so Q4_K matmuls take
 * ggml's vec_dot kernel instead of the interleaved q4_K_8x8 one -- the same numbers
 * summed in another order. How far that moves llama.cpp from the oracle is the
 * floor for what any other implementation can reach on a given model.
 *
 *   llama_forced run -m FILE --ids A,B,.. --force-ids X,Y,.. [-b UBATCH] [ignored hearth flags]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

#define MAX_IDS 4096

static int parse_ids(const char *s, llama_token *out) {
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || n == MAX_IDS || v < 0) return -1;
        out[n++] = (llama_token)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)level;
    (void)text;
    (void)user;
}

int main(int argc, char **argv) {
    static llama_token ids[MAX_IDS], forced[MAX_IDS];
    const char *path = NULL;
    int nids = 0, nforced = 0, ubatch = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) continue;
        if (!v) {
            fprintf(stderr, "llama_forced: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "-m")) path = v;
        else if (!strcmp(a, "--ids")) nids = parse_ids(v, ids);
        else if (!strcmp(a, "--force-ids")) nforced = parse_ids(v, forced);
        else if (!strcmp(a, "-b")) ubatch = atoi(v);
        /* --probs, --cache-type, -t, -n: fixed below (all tokens, F32 cache, one thread) */
    }
    if (argc < 2 || strcmp(argv[1], "run") || !path || nids <= 0 || nforced <= 0 || ubatch < 0 || ubatch > 256) {
        fprintf(stderr, "usage: llama_forced run -m FILE --ids A,B,.. --force-ids X,Y,.. [-b N]\n");
        return 2;
    }
    if (!getenv("LLAMA_FORCED_VERBOSE")) llama_log_set(quiet, NULL);
    ggml_backend_load_all_from_path(getenv("LLAMA_FORCED_BINS"));
    struct llama_model_params mp = llama_model_default_params();
    mp.use_extra_bufts = getenv("LLAMA_FORCED_NOREPACK") == NULL;
    struct llama_model *model = llama_model_load_from_file(path, mp);
    if (!model) {
        fprintf(stderr, "llama_forced: cannot load %s\n", path);
        return 1;
    }
    /* as compare.mjs creates the oracle's context */
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_ubatch = ubatch ? (uint32_t)ubatch : 256;
    cp.n_threads = cp.n_threads_batch = 1;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "llama_forced: cannot create a context\n");
        return 1;
    }
    const int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
    double *p = malloc(sizeof *p * (size_t)nv);
    if (!p) return 1;
    printf("{\"top\":[");
    for (int s = 0; s < nforced; s++) {
        /* step s: the distribution after the prompt and the first s forced tokens */
        struct llama_batch b = s == 0 ? llama_batch_get_one(ids, nids) : llama_batch_get_one(&forced[s - 1], 1);
        if (llama_decode(ctx, b)) {
            fprintf(stderr, "llama_forced: decode failed at step %d\n", s);
            return 1;
        }
        const float *lg = llama_get_logits_ith(ctx, -1);
        double mx = -INFINITY, z = 0;
        for (int i = 0; i < nv; i++) mx = lg[i] > mx ? lg[i] : mx;
        for (int i = 0; i < nv; i++) z += p[i] = exp((double)lg[i] - mx);
        printf("%s[", s ? "," : "");
        for (int i = 0; i < nv; i++) printf("%s[%d,%.17g]", i ? "," : "", i, p[i] / z);
        printf("]");
    }
    printf("]}\n");
    free(p);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
