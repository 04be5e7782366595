/* Tokenization speed on ~1 MB of deterministic mixed text (English prose, code,
 * CJK) for each shared vocabulary; with llama.cpp available (node-llama-cpp, or
 * the command in $LLAMA_TOKENIZE_BENCH, called as CMD VOCAB TEXTFILE and
 * printing "MB/s X"), its speed on the same text and the ratio. Timings only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

static const char *const english[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "model",
                                      "runs", "on", "ordinary", "hardware", "with", "tokens", "of", "text", "It's",
                                      "we'll", "Hello,", "world.", "however", "because", "1984", "3.14"};
static const char *const code[] = {"int main(void) {\n", "    return x * 2;\n", "}\n", "for (i = 0; i < n; i++)",
                                   "def tokenize(text):\n", "    if not text: return []\n", "#include <stdio.h>\n",
                                   "const x = {a: 1, b: [2, 3]};\n", "\t// comment\n"};

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rng(void) { /* xorshift64*, fixed seed: the same text every run */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static char *make_text(size_t target, size_t *len) {
    char *s = malloc(target + 256);
    size_t n = 0;
    while (n < target) {
        uint32_t kind = rng() % 4;
        if (kind < 2) {
            for (int w = 0; w < 12; w++) n += (size_t)sprintf(s + n, "%s ", english[rng() % (sizeof english / sizeof *english)]);
            s[n++] = '\n';
        } else if (kind == 2) {
            for (int w = 0; w < 3; w++) n += (size_t)sprintf(s + n, "%s", code[rng() % (sizeof code / sizeof *code)]);
        } else {
            for (int w = 0; w < 20; w++) { /* CJK Unified Ideographs, then a full stop */
                uint32_t cp = 0x4E00 + rng() % 0x51A6;
                s[n++] = (char)(0xE0 | (cp >> 12)), s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F)), s[n++] = (char)(0x80 | (cp & 0x3F));
            }
            memcpy(s + n, "\xE3\x80\x82\n", 4), n += 4;
        }
    }
    *len = n;
    return s;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double llama_mbps(const char *cmd, const char *vocab, const char *file) {
    char line[4096];
    snprintf(line, sizeof line, "%s '%s' '%s' 2>/dev/null", cmd, vocab, file);
    FILE *p = popen(line, "r");
    if (!p) return -1;
    double v = -1;
    while (fgets(line, sizeof line, p)) sscanf(line, "MB/s %lf", &v);
    pclose(p);
    return v;
}

int main(int argc, char **argv) {
    static const char *const names[] = {"llama-bpe", "qwen2", "qwen35", "gpt-2", "llama-spm", "phi-3", "gemma-4"};
    const char *dir = argc > 1 ? argv[1] : "../shared/vocab";
    size_t len;
    char *text = make_text(1 << 20, &len);
    char file[] = "/tmp/hearth_tokbench_XXXXXX";
    int fd = mkstemp(file);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) return perror("bench_tokenizer"), 1;
    close(fd);
    const char *cmd = getenv("LLAMA_TOKENIZE_BENCH");
    if (!cmd && access("tests/oracle/node_modules/node-llama-cpp/package.json", R_OK) == 0)
        cmd = "node tests/oracle/tokenize_bench.mjs";
    printf("tokenizer bench: %.2f MB of mixed English/code/CJK text%s\n", (double)len / 1e6,
           cmd ? "" : " (llama.cpp comparison unavailable: install tests/oracle or set LLAMA_TOKENIZE_BENCH)");
    for (size_t v = 0; v < sizeof names / sizeof *names; v++) {
        char path[512];
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", dir, names[v]);
        hearth_error err = {{0}};
        hr_gguf *g = NULL;
        hr_tokenizer *t = NULL;
        double t0 = now();
        if (hr_gguf_open(path, &g, &err) != HEARTH_OK || hr_tokenizer_new(g, &t, &err) != HEARTH_OK) {
            printf("  %-10s skipped: %s\n", names[v], err.message);
            hr_gguf_close(g);
            continue;
        }
        hr_gguf_close(g);
        double load = now() - t0, best = 1e9;
        size_t n = 0;
        for (int r = 0; r < 3; r++) {
            int32_t *ids = NULL;
            t0 = now();
            if (hr_tokenize(t, text, len, false, false, &ids, &n, &err) != HEARTH_OK) return printf("%s\n", err.message), 1;
            double dt = now() - t0;
            if (dt < best) best = dt;
            free(ids);
        }
        double mbps = (double)len / 1e6 / best;
        printf("  %-10s load %5.0f ms  %7zu tokens  hearth %6.2f MB/s", names[v], load * 1e3, n, mbps);
        double ref = cmd ? llama_mbps(cmd, path, file) : -1;
        if (ref > 0) printf("  llama.cpp %6.2f MB/s  ratio %.2f", ref, mbps / ref);
        printf("\n");
        fflush(stdout);
        hr_tokenizer_free(t);
    }
    unlink(file);
    free(text);
    return 0;
}
