/*
 * Rewrites a GGUF file through hearth's reader and writer (metadata via
 * hr_gguf_copy_kv, tensors re-added), to check that what the writer produces
 * loads in llama.cpp. --extra-tensors appends a few small tensors of several
 * types so the check also covers tensor infos and data layout.
 *
 *   build/gguf_copy IN OUT [--extra-tensors]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

static int die(const char *what, hearth_status st, const hearth_error *err) {
    fprintf(stderr, "gguf_copy: %s: %s (%s)\n", what, err ? err->message : "", hearth_status_name(st));
    return 1;
}

static hearth_status add_extra(hr_gguf_writer *w) {
    static const struct { const char *name; hr_type type; int64_t ne0, ne1; } t[] = {
        {"hearth.test.f32", HR_TYPE_F32, 5, 3},
        {"hearth.test.f16", HR_TYPE_F16, 7, 1},
        {"hearth.test.q8_0", HR_TYPE_Q8_0, 64, 2},
        {"hearth.test.q4_K", HR_TYPE_Q4_K, 256, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t ne[2] = {t[i].ne0, t[i].ne1};
        size_t nbytes = hr_row_size(t[i].type, ne[0]) * (size_t)ne[1];
        unsigned char *data = calloc(1, nbytes);
        if (!data) return HEARTH_ERR_NOMEM;
        for (size_t k = 0; k < nbytes; k++) data[k] = (unsigned char)(k * 7 + i);
        if (t[i].type == HR_TYPE_F32 || t[i].type == HR_TYPE_F16) memset(data, 0, nbytes); /* no NaN patterns */
        hearth_status st = hr_gguf_add_tensor(w, t[i].name, t[i].type, 2, ne, data, nbytes);
        free(data);
        if (st != HEARTH_OK) return st;
    }
    return HEARTH_OK;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--extra-tensors") != 0)) {
        fprintf(stderr, "usage: %s IN OUT [--extra-tensors]\n", argv[0]);
        return 2;
    }
    hearth_error err = {{0}};
    hr_gguf *g = NULL;
    hearth_status st = hr_gguf_open(argv[1], &g, &err);
    if (st != HEARTH_OK) return die("open", st, &err);
    hr_gguf_writer *w = hr_gguf_writer_new();
    if (!w) return die("writer", HEARTH_ERR_NOMEM, NULL);
    st = hr_gguf_copy_kv(w, g);
    if (st != HEARTH_OK) return die("copy metadata", st, NULL);
    for (int64_t i = 0; i < hr_gguf_n_tensors(g); i++) {
        const hr_gguf_tensor *t = hr_gguf_tensor_at(g, i);
        st = hr_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes);
        if (st != HEARTH_OK) return die(t->name, st, NULL);
    }
    if (argc == 4 && (st = add_extra(w)) != HEARTH_OK) return die("extra tensors", st, NULL);
    st = hr_gguf_write_file(w, argv[2], &err);
    if (st != HEARTH_OK) return die("write", st, &err);
    printf("%s: %lld keys, %lld tensors copied\n", argv[2], (long long)hr_gguf_n_kv(g),
           (long long)hr_gguf_n_tensors(g));
    hr_gguf_writer_free(w);
    hr_gguf_close(g);
    return 0;
}
