/* hearth info FILE [--json]: what a GGUF model is and the memory it needs.
 * Reads the file's metadata and tensor table through the GGUF reader (internal
 * header gguf/gguf.h: tensor types and sizes are not part of the public API)
 * and the model facts (dimensions, KV cache size) through hearth.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gguf/gguf.h"
#include "hearth.h"

typedef struct {
    uint64_t n_tensors, bytes, params;
} type_stat;

static void usage(FILE *f) { fputs("usage: hearth info FILE [--json]\n", f); }

static const char *meta_str(const hr_gguf *g, const char *key) {
    const char *s = NULL;
    if (hr_gguf_find_key(g, key) < 0 || hr_gguf_get_string(g, key, &s, NULL)) return NULL;
    return s;
}

/* The largest element of a per-layer array (hybrid files give 0 heads or 0
 * feed-forward width to the layers without them), or -1: 32-bit integers,
 * the only arrays the loaders accept for these keys. */
static int64_t meta_int_array_max(const hr_gguf *g, int64_t i) {
    const hr_gguf_type t = hr_gguf_arr_type(g, i);
    const uint8_t *d = hr_gguf_arr_data(g, i);
    if ((t != HR_GGUF_INT32 && t != HR_GGUF_UINT32) || !d) return -1;
    int64_t best = -1;
    for (uint64_t j = 0; j < hr_gguf_arr_len(g, i); j++) {
        uint32_t u;
        memcpy(&u, d + j * sizeof u, sizeof u); /* array data in the file need not be aligned */
        const int64_t v = t == HR_GGUF_INT32 ? (int64_t)(int32_t)u : (int64_t)u;
        if (v > best) best = v;
    }
    return best;
}

/* An integer of the architecture's metadata, -1 when absent; for a per-layer
 * array, its largest element. */
static int64_t meta_int(const hr_gguf *g, const char *arch, const char *suffix) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const int64_t i = hr_gguf_find_key(g, key);
    if (i < 0) return -1;
    if (hr_gguf_kv_type(g, i) == HR_GGUF_ARRAY) return meta_int_array_max(g, i);
    int64_t v = -1;
    if (hr_gguf_get_i64(g, key, &v, NULL)) return -1;
    return v;
}

static void json_escape(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_die("unknown option '%s' (see hearth info --help)", argv[i]);
        } else if (path) {
            return cli_die("info: one file at a time ('%s' and '%s')", path, argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path) return cli_die("info: a GGUF file is required (hearth info FILE)");

    hearth_error err = {{0}};
    hr_gguf *g = NULL;
    if (hr_gguf_open(path, &g, &err)) return cli_die("%s", err.message);
    const char *arch = meta_str(g, "general.architecture");
    if (!arch) {
        hr_gguf_close(g);
        return cli_die("%s: metadata 'general.architecture' is missing", path);
    }
    /* The model (validates shapes, types and metadata); one thread is enough here. */
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 1;
    mp.isa = getenv("HEARTH_ISA");
    hearth_model *m = NULL;
    if (hearth_model_load(path, &mp, &m, &err)) {
        hr_gguf_close(g);
        return cli_die("%s", err.message);
    }

    type_stat stats[HR_TYPE_COUNT];
    memset(stats, 0, sizeof stats);
    uint64_t params = 0, bytes = 0;
    for (int64_t i = 0; i < hr_gguf_n_tensors(g); i++) {
        const hr_gguf_tensor *t = hr_gguf_tensor_at(g, i);
        uint64_t n = 1;
        for (int d = 0; d < HR_GGUF_MAX_DIMS; d++) n *= (uint64_t)t->ne[d];
        params += n;
        bytes += t->nbytes;
        if ((unsigned)t->type < HR_TYPE_COUNT) {
            stats[t->type].n_tensors++;
            stats[t->type].bytes += t->nbytes;
            stats[t->type].params += n;
        }
    }
    const int64_t n_embd = meta_int(g, arch, "embedding_length"), n_ff = meta_int(g, arch, "feed_forward_length");
    const int64_t n_head = meta_int(g, arch, "attention.head_count");
    int64_t n_head_kv = meta_int(g, arch, "attention.head_count_kv");
    if (n_head_kv < 0) n_head_kv = n_head;
    int64_t head_dim = meta_int(g, arch, "attention.key_length");
    if (head_dim < 0 && n_head > 0) head_dim = n_embd / n_head;
    const char *tok = meta_str(g, "tokenizer.ggml.model");
    const char *name = meta_str(g, "general.name");
    const int32_t n_ctx_train = hearth_model_n_ctx_train(m);
    int32_t ctxs[5];
    int n_ctxs = 0;
    const int32_t want[4] = {2048, 8192, 32768, 131072};
    for (int i = 0; i < 4; i++)
        if (want[i] < n_ctx_train) ctxs[n_ctxs++] = want[i];
    ctxs[n_ctxs++] = n_ctx_train;
    const hearth_cache_type cts[3] = {HEARTH_CACHE_F16, HEARTH_CACHE_Q8_0, HEARTH_CACHE_F32};

    if (json) {
        printf("{\"file\":");
        json_escape(path);
        printf(",\"file_bytes\":%zu,\"name\":", hr_gguf_file_size(g));
        if (name) json_escape(name);
        else printf("null");
        printf(",\"architecture\":");
        json_escape(arch);
        printf(",\"parameters\":%llu,\"layers\":%d,\"embedding_length\":%lld,\"feed_forward_length\":%lld,"
               "\"head_count\":%lld,\"head_count_kv\":%lld,\"head_size\":%lld,\"vocab_size\":%d,\"context_length\":%d,"
               "\"tokenizer\":",
               (unsigned long long)params, hearth_model_n_layer(m), (long long)n_embd, (long long)n_ff,
               (long long)n_head, (long long)n_head_kv, (long long)head_dim, hearth_model_n_vocab(m), n_ctx_train);
        if (tok) json_escape(tok);
        else printf("null");
        printf(",\"tensor_types\":{");
        bool first = true;
        for (int t = 0; t < HR_TYPE_COUNT; t++) {
            if (!stats[t].n_tensors) continue;
            printf("%s\"%s\":{\"tensors\":%llu,\"parameters\":%llu,\"bytes\":%llu}", first ? "" : ",", hr_type_name(t),
                   (unsigned long long)stats[t].n_tensors, (unsigned long long)stats[t].params,
                   (unsigned long long)stats[t].bytes);
            first = false;
        }
        printf("},\"weight_bytes\":%llu,\"recurrent_state_bytes\":%llu,\"kv_cache_bytes\":[", (unsigned long long)bytes,
               (unsigned long long)hearth_model_state_bytes(m));
        for (int i = 0; i < n_ctxs; i++) {
            printf("%s{\"context\":%d", i ? "," : "", ctxs[i]);
            for (int c = 0; c < 3; c++)
                printf(",\"%s\":%llu", hearth_cache_type_name(cts[c]),
                       (unsigned long long)hearth_model_kv_bytes(m, ctxs[i], cts[c]));
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("file:          %s (%.1f MiB, GGUF v%u)\n", path, hr_gguf_file_size(g) / 1048576.0, hr_gguf_version(g));
        if (name) printf("name:          %s\n", name);
        printf("architecture:  %s\n", arch);
        printf("parameters:    %llu (%.2f B)\n", (unsigned long long)params, params / 1e9);
        printf("layers:        %d\n", hearth_model_n_layer(m));
        printf("heads:         %lld (kv %lld), head size %lld\n", (long long)n_head, (long long)n_head_kv, (long long)head_dim);
        printf("dimensions:    embedding %lld, feed-forward %lld, vocabulary %d\n", (long long)n_embd, (long long)n_ff,
               hearth_model_n_vocab(m));
        printf("context:       %d (trained)\n", n_ctx_train);
        printf("tokenizer:     %s\n", tok ? tok : "(none)");
        printf("tensor types:\n");
        for (int t = 0; t < HR_TYPE_COUNT; t++)
            if (stats[t].n_tensors)
                printf("  %-6s %5llu tensors %14llu params %10.2f MiB\n", hr_type_name(t),
                       (unsigned long long)stats[t].n_tensors, (unsigned long long)stats[t].params,
                       stats[t].bytes / 1048576.0);
        printf("memory:\n  weights      %10.2f MiB (memory-mapped)\n", bytes / 1048576.0);
        if (hearth_model_state_bytes(m))
            printf("  recurrent    %10.2f MiB per sequence, whatever the context\n",
                   hearth_model_state_bytes(m) / 1048576.0);
        printf("  KV cache     %10s %10s %10s\n", "f16", "q8_0", "f32");
        for (int i = 0; i < n_ctxs; i++) {
            printf("  %7d%s", ctxs[i], ctxs[i] == n_ctx_train ? "*" : " ");
            printf("  ");
            for (int c = 0; c < 3; c++) printf(" %9.1f", hearth_model_kv_bytes(m, ctxs[i], cts[c]) / 1048576.0);
            printf(" MiB\n");
        }
        printf("  (* trained context)\n");
    }
    hearth_model_free(m);
    hr_gguf_close(g);
    return 0;
}
