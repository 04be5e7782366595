/*
 * llama_quantize_ref: runs llama.cpp's own llama_model_quantize (from the
 * oracle's libllama, loaded at run time) so tests can compare `hearth quantize`
 * with it. Test-only; needs tests/oracle/install.sh.
 *
 *   llama_quantize_ref LIBLLAMA.so IN.gguf OUT.gguf FTYPE_NUMBER [--pure]
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama_model_quantize_params as declared in llama.h of the oracle's llama.cpp
 * (node-llama-cpp 3.22.1); only the ABI is mirrored here. */
typedef struct llama_quantize_params_abi {
    int32_t nthread;
    int ftype;
    int output_tensor_type;
    int token_embedding_type;
    bool allow_requantize;
    bool quantize_output_tensor;
    bool only_copy;
    bool pure;
    bool keep_split;
    bool dry_run;
    const void *imatrix;
    const void *kv_overrides;
    const void *tt_overrides;
    const int32_t *prune_layers;
    size_t max_buf_size;
} llama_quantize_params_abi;

typedef llama_quantize_params_abi (*default_params_fn)(void);
typedef uint32_t (*quantize_fn)(const char *in, const char *out, const llama_quantize_params_abi *p);
typedef void (*log_cb)(int level, const char *text, void *user);
typedef void (*log_set_fn)(log_cb cb, void *user);

static void quiet(int level, const char *text, void *user) {
    (void)user;
    if (level == 4 /* GGML_LOG_LEVEL_ERROR */) fputs(text, stderr);
}

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6 || (argc == 6 && strcmp(argv[5], "--pure"))) {
        fprintf(stderr, "usage: llama_quantize_ref LIBLLAMA.so IN.gguf OUT.gguf FTYPE_NUMBER [--pure]\n");
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "llama_quantize_ref: %s\n", dlerror());
        return 1;
    }
    default_params_fn dp = (default_params_fn)dlsym(lib, "llama_model_quantize_default_params");
    quantize_fn q = (quantize_fn)dlsym(lib, "llama_model_quantize");
    log_set_fn ls = (log_set_fn)dlsym(lib, "llama_log_set");
    if (!dp || !q) {
        fprintf(stderr, "llama_quantize_ref: %s lacks llama_model_quantize\n", argv[1]);
        return 1;
    }
    if (ls) ls(quiet, NULL);
    llama_quantize_params_abi p = dp();
    p.ftype = atoi(argv[4]);
    p.nthread = 1;
    p.pure = argc == 6;
    uint32_t rc = q(argv[2], argv[3], &p);
    if (rc != 0) fprintf(stderr, "llama_quantize_ref: llama_model_quantize failed (%u)\n", rc);
    return rc != 0;
}
