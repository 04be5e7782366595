/*
 * Whole-file quantization: the same tensor order, metadata and per-tensor
 * types as llama.cpp's llama_model_quantize (without an importance matrix),
 * so the output matches llama-quantize's byte for byte.
 */
#include "quantize/quantize_model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "gguf/gguf.h"

#define QNT_VERSION 2 /* ggml's GGML_QNT_VERSION, stored as general.quantization_version */

/* A u32 hyperparameter that may be stored per layer as an array: layer 0's value. */
static uint32_t hparam_u32(const hr_gguf *g, const char *arch, const char *suffix, uint32_t dflt) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t i = hr_gguf_find_key(g, key);
    if (i < 0) return dflt;
    hr_gguf_type t = hr_gguf_kv_type(g, i);
    const void *p = NULL;
    if (t == HR_GGUF_ARRAY) {
        if (hr_gguf_arr_len(g, i) == 0) return dflt;
        t = hr_gguf_arr_type(g, i);
        p = hr_gguf_arr_data(g, i);
        if (!p) return dflt;
        uint64_t v = 0;
        switch (t) {
        case HR_GGUF_UINT32: case HR_GGUF_INT32: { uint32_t u; memcpy(&u, p, 4); v = u; break; }
        case HR_GGUF_UINT16: case HR_GGUF_INT16: { uint16_t u; memcpy(&u, p, 2); v = u; break; }
        case HR_GGUF_UINT8: case HR_GGUF_INT8: { uint8_t u; memcpy(&u, p, 1); v = u; break; }
        case HR_GGUF_UINT64: case HR_GGUF_INT64: memcpy(&v, p, 8); break;
        default: return dflt;
        }
        return v > UINT32_MAX ? dflt : (uint32_t)v;
    }
    uint32_t v = dflt;
    if (hr_gguf_get_u32(g, key, &v, NULL) != HEARTH_OK) return dflt;
    return v;
}

typedef struct convert_job {
    const hr_type_traits *src, *dst;
    const uint8_t *in;
    uint8_t *out;
    int64_t ne0, row0, row1;
    size_t in_row, out_row;
    hearth_status st;
} convert_job;

static void *convert_rows(void *arg) {
    convert_job *j = arg;
    float *buf = malloc((size_t)j->ne0 * sizeof *buf);
    if (!buf) {
        j->st = HEARTH_ERR_NOMEM;
        return NULL;
    }
    for (int64_t r = j->row0; r < j->row1; r++) {
        j->src->to_float(j->in + (size_t)r * j->in_row, buf, j->ne0);
        j->dst->from_float(buf, j->out + (size_t)r * j->out_row, j->ne0);
    }
    free(buf);
    j->st = HEARTH_OK;
    return NULL;
}

/* Converts every row of a tensor, splitting the rows among n_threads threads. */
static hearth_status convert_tensor(const hr_gguf_tensor *t, hr_type to, int n_threads, uint8_t **out, size_t *out_size,
                                    hearth_error *err) {
    const hr_type_traits *src = hr_type_traits_get(t->type), *dst = hr_type_traits_get(to);
    const int64_t ne0 = t->ne[0], rows = t->ne[1] * t->ne[2] * t->ne[3];
    const size_t in_row = hr_row_size(t->type, ne0), out_row = hr_row_size(to, ne0);
    if (!src || !src->to_float || !dst || !dst->from_float || in_row == 0 || out_row == 0)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "tensor '%s': cannot convert %s to %s", t->name,
                       hr_type_name(t->type), hr_type_name(to));
    *out_size = out_row * (size_t)rows;
    *out = malloc(*out_size ? *out_size : 1);
    if (!*out) return hr_fail(err, HEARTH_ERR_NOMEM, "tensor '%s': out of memory (%zu bytes)", t->name, *out_size);
    enum { MAX_THREADS = 256 };
    if (n_threads < 1) n_threads = 1;
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    if (n_threads > rows) n_threads = (int)(rows > 0 ? rows : 1);
    convert_job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    bool started[MAX_THREADS] = {0};
    for (int i = 0; i < n_threads; i++) {
        jobs[i] = (convert_job){.src = src, .dst = dst, .in = t->data, .out = *out, .ne0 = ne0,
                                .row0 = rows * i / n_threads, .row1 = rows * (i + 1) / n_threads,
                                .in_row = in_row, .out_row = out_row, .st = HEARTH_OK};
        /* the calling thread takes the last share, and any share a thread could not start for */
        if (i < n_threads - 1) started[i] = pthread_create(&tids[i], NULL, convert_rows, &jobs[i]) == 0;
    }
    for (int i = 0; i < n_threads; i++)
        if (!started[i]) convert_rows(&jobs[i]);
    hearth_status st = HEARTH_OK;
    for (int i = 0; i < n_threads; i++) {
        if (started[i]) pthread_join(tids[i], NULL);
        if (jobs[i].st != HEARTH_OK) st = jobs[i].st;
    }
    if (st != HEARTH_OK) {
        free(*out);
        *out = NULL;
        return hr_fail(err, st, "tensor '%s': out of memory converting rows", t->name);
    }
    return HEARTH_OK;
}

hearth_status hr_quantize_model(const char *in_path, const char *out_path, const hr_quantize_opts *opts,
                                hr_quantize_stats *stats, hearth_error *err) {
    hr_quantize_stats local = {0};
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!in_path || !out_path || !opts || hr_ftype_default_type(opts->ftype) == HR_TYPE_COUNT)
        return hr_fail(err, HEARTH_ERR_INVALID, "quantize: bad arguments");

    hr_gguf *g = NULL;
    hearth_status st = hr_gguf_open(in_path, &g, err);
    if (st != HEARTH_OK) return st;

    hr_gguf_writer *w = NULL;
    hr_mix_tensor *mt = NULL;
    hr_type *types = NULL;
    const int64_t n = hr_gguf_n_tensors(g);

    uint32_t split_count = 1;
    if (hr_gguf_opt_u32(g, "split.count", &split_count, NULL) == HEARTH_OK && split_count > 1) {
        st = hr_fail(err, HEARTH_ERR_UNSUPPORTED, "%s is one part of a split model (%u parts); merge it first",
                     in_path, split_count);
        goto done;
    }

    const char *arch = "";
    if (hr_gguf_find_key(g, "general.architecture") >= 0 &&
        hr_gguf_get_string(g, "general.architecture", &arch, err) != HEARTH_OK) {
        st = HEARTH_ERR_FORMAT;
        goto done;
    }
    hr_mix_model model = {.arch = arch};
    model.n_layer = hparam_u32(g, arch, "block_count", 0);
    model.n_head = hparam_u32(g, arch, "attention.head_count", 0);
    model.n_head_kv = hparam_u32(g, arch, "attention.head_count_kv", model.n_head);
    model.n_expert = hparam_u32(g, arch, "expert_count", 0);

    mt = calloc((size_t)(n > 0 ? n : 1), sizeof *mt);
    types = calloc((size_t)(n > 0 ? n : 1), sizeof *types);
    w = hr_gguf_writer_new();
    if (!mt || !types || !w) {
        st = hr_fail(err, HEARTH_ERR_NOMEM, "quantize: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        const hr_gguf_tensor *t = hr_gguf_tensor_at(g, i);
        mt[i] = (hr_mix_tensor){.name = t->name, .type = t->type, .ne = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]}};
    }
    hr_mix_sort(mt, (size_t)n);
    int n_fallback = 0;
    hr_mix_choose(&model, opts->ftype, opts->pure, mt, (size_t)n, types, &n_fallback);
    stats->n_fallback = n_fallback;

    /* keys set here move to the end, and split keys go, as in llama.cpp's output */
    st = hr_gguf_copy_kv(w, g);
    static const char *const moved[] = {"general.quantization_version", "general.file_type", "split.no",
                                        "split.count", "split.tensors.count"};
    for (size_t k = 0; k < sizeof moved / sizeof *moved; k++) hr_gguf_remove_key(w, moved[k]);
    if (st != HEARTH_OK ||
        (st = hr_gguf_set_u32(w, "general.quantization_version", QNT_VERSION)) != HEARTH_OK ||
        (st = hr_gguf_set_u32(w, "general.file_type", (uint32_t)opts->ftype)) != HEARTH_OK) {
        st = hr_fail(err, st, "quantize: cannot copy metadata");
        goto done;
    }

    for (int64_t i = 0; i < n; i++) {
        const hr_gguf_tensor *t = hr_gguf_find_tensor(g, mt[i].name);
        stats->n_tensors++;
        stats->bytes_in += t->nbytes;
        const uint8_t *data = t->data;
        uint8_t *conv = NULL;
        size_t size = t->nbytes;
        if (types[i] != t->type) {
            if (hr_type_traits_get(t->type)->is_quantized && !opts->allow_requantize) {
                st = hr_fail(err, HEARTH_ERR_UNSUPPORTED,
                             "tensor '%s' is already %s; requantizing loses quality (allow it explicitly)", t->name,
                             hr_type_name(t->type));
                goto done;
            }
            if ((st = convert_tensor(t, types[i], opts->n_threads, &conv, &size, err)) != HEARTH_OK) goto done;
            data = conv;
            stats->n_converted++;
        }
        st = hr_gguf_add_tensor(w, t->name, types[i], t->n_dims, t->ne, data, size);
        free(conv);
        if (st != HEARTH_OK) {
            st = hr_fail(err, st, "tensor '%s': cannot add to the output", t->name);
            goto done;
        }
        stats->bytes_out += size;
    }
    st = hr_gguf_write_file(w, out_path, err);

done:
    hr_gguf_writer_free(w);
    free(mt);
    free(types);
    hr_gguf_close(g);
    return st;
}
