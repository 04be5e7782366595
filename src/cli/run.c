/* hearth run: generate from a prompt (text or token ids), streaming text or
 * printing one JSON object with the tokens and, optionally, the top-K
 * next-token probabilities at each step (for comparison with llama.cpp).
 * Uses only the public API (hearth.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "hearth.h"

static void usage(FILE *f) {
    fputs("usage: hearth run -m FILE (-p TEXT | --ids 1,2,3) [options]\n"
          "  -n N                  tokens to generate (default 128)\n"
          "  -c CTX                context length (default: the model's, reduced to fit memory)\n"
          "  -t THREADS            threads (default: physical cores)\n"
          "  -b N                  prompt batch size (default 256)\n"
          "  --temp T              temperature (default 0.8; 0 = greedy)\n"
          "  --top-k K             (default 40; 0 = off)\n"
          "  --top-p P             (default 0.95; 1 = off)\n"
          "  --min-p P             (default 0.05; 0 = off)\n"
          "  --repeat-penalty R    (default 1 = off)\n"
          "  --repeat-last-n N     penalty window (default 64)\n"
          "  --frequency-penalty F (default 0)\n"
          "  --presence-penalty P  (default 0)\n"
          "  --seed S              (default: random)\n"
          "  --cache-type T        f16 (default), q8_0 or f32\n"
          "  --ids LIST            prompt as comma-separated token ids\n"
          "  --force-ids LIST      feed these tokens instead of sampling (teacher forcing)\n"
          "  --json                print one JSON object instead of streaming text\n"
          "  --probs K             with --json: the K most likely next tokens at each step\n",
          f);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Parses "1,2,3" into a malloc'd array; false (after printing) on junk. */
static bool parse_ids(const char *flag, const char *s, int32_t **out, size_t *n) {
    size_t cap = 16, len = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v) return cli_die("out of memory"), false;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end && *end != ',')) {
            free(v);
            cli_die("%s expects comma-separated non-negative token ids, got '%s'", flag, s);
            return false;
        }
        if (len == cap) {
            int32_t *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                return cli_die("out of memory"), false;
            }
            v = nv;
        }
        v[len++] = (int32_t)x;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            free(v);
            cli_die("%s expects comma-separated non-negative token ids, got '%s'", flag, s);
            return false;
        }
    }
    if (len == 0) {
        free(v);
        cli_die("%s is empty", flag);
        return false;
    }
    *out = v;
    *n = len;
    return true;
}

static void json_str(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') fputs("\\\"", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

typedef struct {
    int32_t id;
    float p;
} idp;

static int cmp_idp(const void *a, const void *b) {
    const idp *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The k most likely tokens under softmax(logits) (temperature 1), best first. */
static void top_probs(const float *logits, int32_t nv, int32_t k, idp *all, idp *out) {
    float mx = logits[0];
    for (int32_t i = 1; i < nv; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int32_t i = 0; i < nv; i++) sum += exp((double)logits[i] - mx);
    for (int32_t i = 0; i < nv; i++) all[i] = (idp){i, (float)(exp((double)logits[i] - mx) / sum)};
    if (k >= 64) {
        qsort(all, (size_t)nv, sizeof *all, cmp_idp);
        memcpy(out, all, (size_t)k * sizeof *out);
        return;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < nv; i++) {
        if (n == k && cmp_idp(&all[i], &out[k - 1]) >= 0) continue;
        int32_t j = n < k ? n++ : k - 1;
        while (j > 0 && cmp_idp(&all[i], &out[j - 1]) < 0) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = all[i];
    }
}

typedef struct {
    const char *model, *prompt, *ids, *force, *cache;
    int64_t n_gen, n_ctx, n_threads, n_batch, probs, last_n;
    float temp, top_k_f, top_p, min_p, rep, freq, pres;
    int64_t top_k;
    uint64_t seed;
    bool seed_set, json;
} run_opts;

static int parse_args(int argc, char **argv, run_opts *o) {
    *o = (run_opts){.n_gen = 128, .n_batch = 256, .last_n = 64, .temp = 0.8f, .top_k = 40, .top_p = 0.95f,
                    .min_p = 0.05f, .rep = 1.0f, .cache = "f16"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (i + 1 >= argc) {
            if (a[0] == '-') return cli_die("%s needs a value (see hearth run --help)", a);
            return cli_die("unexpected argument '%s' (see hearth run --help)", a);
        }
        const char *v = argv[i + 1];
        bool ok = true;
        int64_t seed;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) o->prompt = v;
        else if (!strcmp(a, "--ids")) o->ids = v;
        else if (!strcmp(a, "--force-ids")) o->force = v;
        else if (!strcmp(a, "--cache-type")) o->cache = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) ok = cli_parse_i64(a, v, 0, 1 << 24, &o->n_gen);
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) ok = cli_parse_i64(a, v, 1, 1 << 24, &o->n_ctx);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) ok = cli_parse_i64(a, v, 1, 1024, &o->n_threads);
        else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) ok = cli_parse_i64(a, v, 1, 4096, &o->n_batch);
        else if (!strcmp(a, "--probs")) ok = cli_parse_i64(a, v, 1, INT32_MAX, &o->probs);
        else if (!strcmp(a, "--top-k")) ok = cli_parse_i64(a, v, 0, INT32_MAX, &o->top_k);
        else if (!strcmp(a, "--repeat-last-n")) ok = cli_parse_i64(a, v, 0, 1 << 20, &o->last_n);
        else if (!strcmp(a, "--temp")) ok = cli_parse_f32(a, v, &o->temp);
        else if (!strcmp(a, "--top-p")) ok = cli_parse_f32(a, v, &o->top_p);
        else if (!strcmp(a, "--min-p")) ok = cli_parse_f32(a, v, &o->min_p);
        else if (!strcmp(a, "--repeat-penalty")) ok = cli_parse_f32(a, v, &o->rep);
        else if (!strcmp(a, "--frequency-penalty")) ok = cli_parse_f32(a, v, &o->freq);
        else if (!strcmp(a, "--presence-penalty")) ok = cli_parse_f32(a, v, &o->pres);
        else if (!strcmp(a, "--seed")) {
            ok = cli_parse_i64(a, v, 0, INT64_MAX, &seed);
            o->seed = (uint64_t)seed;
            o->seed_set = true;
        } else return cli_die("unknown option '%s' (see hearth run --help)", a);
        if (!ok) return 1;
        i++;
    }
    if (!o->model) return cli_die("run: -m FILE is required (see hearth run --help)");
    if (!o->prompt && !o->ids) return cli_die("run: a prompt is required: -p TEXT or --ids LIST");
    if (o->prompt && o->ids) return cli_die("run: give either -p or --ids, not both");
    if (o->probs && !o->json) return cli_die("run: --probs needs --json");
    if (o->top_p < 0 || o->top_p > 1) return cli_die("--top-p expects a number in [0, 1], got %g", o->top_p);
    if (o->min_p < 0 || o->min_p > 1) return cli_die("--min-p expects a number in [0, 1], got %g", o->min_p);
    if (o->rep <= 0) return cli_die("--repeat-penalty expects a positive number, got %g", o->rep);
    if (o->temp < 0) return cli_die("--temp expects a non-negative number, got %g", o->temp);
    return -1;
}

int cmd_run(int argc, char **argv) {
    run_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    hearth_cache_type ct;
    if (!hearth_cache_type_from_name(o.cache, &ct)) return cli_die("--cache-type expects f16, q8_0 or f32, got '%s'", o.cache);
    int32_t *prompt = NULL, *force = NULL;
    size_t n_prompt = 0, n_force = 0;
    if (o.ids && !parse_ids("--ids", o.ids, &prompt, &n_prompt)) return 1;
    if (o.force && !parse_ids("--force-ids", o.force, &force, &n_force)) {
        free(prompt);
        return 1;
    }

    hearth_error err = {{0}};
    hearth_model *m = NULL;
    hearth_session *s = NULL;
    hearth_sampler *smp = NULL;
    hearth_detok *dt = NULL;
    idp *all = NULL, *top = NULL;
    int32_t *gen = NULL;
    char *text = NULL;
    size_t text_len = 0, text_cap = 0;
    rc = 1;

    double t0 = now_ms();
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = (int)o.n_threads;
    mp.isa = getenv("HEARTH_ISA");
    if (hearth_model_load(o.model, &mp, &m, &err)) {
        cli_die("%s", err.message);
        goto done;
    }
    double load_ms = now_ms() - t0;
    const int32_t nv = hearth_model_n_vocab(m);
    if (o.prompt) {
        if (hearth_tokenize(m, o.prompt, strlen(o.prompt), hearth_model_add_bos(m), true, &prompt, &n_prompt, &err)) {
            cli_die("%s", err.message);
            goto done;
        }
        if (n_prompt == 0) {
            cli_die("the prompt is empty after tokenization");
            goto done;
        }
    }
    for (size_t i = 0; i < n_prompt; i++)
        if (prompt[i] >= nv) {
            cli_die("prompt token id %d is out of range (vocabulary size %d)", prompt[i], nv);
            goto done;
        }
    for (size_t i = 0; i < n_force; i++)
        if (force[i] >= nv) {
            cli_die("forced token id %d is out of range (vocabulary size %d)", force[i], nv);
            goto done;
        }
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = (int32_t)o.n_ctx;
    sp.cache_type = ct;
    sp.n_batch = (int32_t)o.n_batch;
    if (hearth_session_new(m, &sp, &s, &err)) {
        cli_die("%s", err.message);
        goto done;
    }
    int32_t n_ctx = hearth_session_n_ctx(s);
    if (n_prompt > (size_t)n_ctx) {
        cli_die("the prompt has %zu tokens, more than the context length %d", n_prompt, n_ctx);
        goto done;
    }
    hearth_sampler_params pp = hearth_sampler_default_params();
    pp.temperature = o.temp;
    pp.top_k = (int32_t)o.top_k;
    pp.top_p = o.top_p;
    pp.min_p = o.min_p;
    pp.repeat_penalty = o.rep;
    pp.frequency_penalty = o.freq;
    pp.presence_penalty = o.pres;
    pp.penalty_last_n = (int32_t)o.last_n;
    pp.seed = o.seed_set ? o.seed : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    if (hearth_sampler_new(&pp, &smp, &err)) {
        cli_die("%s", err.message);
        goto done;
    }
    if (hearth_model_has_tokenizer(m) && hearth_detok_new(m, false, &dt, &err)) {
        cli_die("%s", err.message);
        goto done;
    }
    size_t n_gen = force ? n_force : (size_t)o.n_gen;
    int32_t k = o.probs > nv ? nv : (int32_t)o.probs;
    gen = malloc((n_gen + 1) * sizeof *gen);
    if (k) {
        all = malloc((size_t)nv * sizeof *all);
        top = malloc((n_gen + 1) * (size_t)k * sizeof *top);
    }
    if (!gen || (k && (!all || !top))) {
        cli_die("out of memory");
        goto done;
    }

    double t1 = now_ms();
    if (hearth_session_eval(s, prompt, n_prompt, &err)) {
        cli_die("%s", err.message);
        goto done;
    }
    double prompt_ms = now_ms() - t1;
    for (size_t i = 0; i < n_prompt; i++) hearth_sampler_accept(smp, prompt[i]);

    double t2 = now_ms();
    size_t n_out = 0;
    bool ctx_full = false;
    for (size_t i = 0; i < n_gen; i++) {
        const float *logits = hearth_session_logits(s);
        if (k) top_probs(logits, nv, k, all, top + i * (size_t)k);
        int32_t tok;
        if (force) {
            tok = force[i];
        } else if (hearth_sampler_sample(smp, logits, nv, &tok, &err)) {
            cli_die("%s", err.message);
            goto done;
        }
        hearth_sampler_accept(smp, tok);
        gen[n_out++] = tok;
        bool eog = !force && hearth_token_is_eog(m, tok);
        if (!eog && dt) {
            const char *piece = hearth_detok_push(dt, tok);
            size_t pl = strlen(piece);
            if (o.json) {
                if (text_len + pl + 1 > text_cap) {
                    size_t nc = (text_len + pl + 1) * 2;
                    char *nt = realloc(text, nc);
                    if (!nt) {
                        cli_die("out of memory");
                        goto done;
                    }
                    text = nt;
                    text_cap = nc;
                }
                memcpy(text + text_len, piece, pl);
                text_len += pl;
            } else {
                fputs(piece, stdout);
                fflush(stdout);
            }
        }
        if (eog || i + 1 == n_gen) break;
        if (hearth_session_n_past(s) >= n_ctx) {
            ctx_full = true;
            break;
        }
        if (hearth_session_eval(s, &tok, 1, &err)) {
            cli_die("%s", err.message);
            goto done;
        }
    }
    double gen_ms = now_ms() - t2;
    if (dt) {
        const char *rest = hearth_detok_flush(dt);
        size_t pl = strlen(rest);
        if (o.json) {
            char *nt = realloc(text, text_len + pl + 1);
            if (nt) {
                text = nt;
                memcpy(text + text_len, rest, pl);
                text_len += pl;
            }
        } else {
            fputs(rest, stdout);
        }
    }
    if (ctx_full) fprintf(stderr, "hearth: warning: the context (%d tokens) is full; generation stopped\n", n_ctx);
    /* The first generated token comes from the prompt's logits; the others each cost a forward pass. */
    double prompt_tps = prompt_ms > 0 ? n_prompt * 1e3 / prompt_ms : 0;
    double gen_tps = n_out > 1 && gen_ms > 0 ? (n_out - 1) * 1e3 / gen_ms : 0;
    if (o.json) {
        printf("{\"prompt_tokens\":[");
        for (size_t i = 0; i < n_prompt; i++) printf(i ? ",%d" : "%d", prompt[i]);
        printf("],\"tokens\":[");
        for (size_t i = 0; i < n_out; i++) printf(i ? ",%d" : "%d", gen[i]);
        printf("],\"text\":");
        json_str(stdout, text ? text : "", text_len);
        if (k) {
            printf(",\"top\":[");
            for (size_t i = 0; i < n_out; i++) {
                printf(i ? ",[" : "[");
                for (int32_t j = 0; j < k; j++) {
                    const idp *e = &top[i * (size_t)k + j];
                    printf(j ? ",[%d,%.9g]" : "[%d,%.9g]", e->id, e->p);
                }
                printf("]");
            }
            printf("]");
        }
        printf(",\"timings\":{\"load_ms\":%.3f,\"prompt_tok_per_s\":%.3f,\"gen_tok_per_s\":%.3f}}\n", load_ms,
               prompt_tps, gen_tps);
    } else {
        fputc('\n', stdout);
    }
    fflush(stdout);
    fprintf(stderr, "hearth: load %.0f ms; prompt %zu tokens, %.2f tok/s; generation %zu tokens, %.2f tok/s (%d threads, %s)\n",
            load_ms, n_prompt, prompt_tps, n_out, gen_tps, hearth_model_n_threads(m), hearth_model_isa(m));
    rc = 0;
done:
    free(prompt);
    free(force);
    free(gen);
    free(all);
    free(top);
    free(text);
    hearth_detok_free(dt);
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    return rc;
}
