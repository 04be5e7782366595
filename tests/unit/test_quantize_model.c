/* Whole-file quantization: metadata, shapes and data of the output, thread
 * independence, and failures. (Byte equality with llama.cpp's own output is
 * checked in tests/integration/quantize.sh.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "quantize/quantize_model.h"
#include "tensor/quants.h"

#define EMBD 64
#define ROWS 8

static float weight(int i) { return (float)((i * 37) % 101 - 50) / 50.0f; }

static void make_input(const char *path) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    cr_assert_not_null(w);
    hr_gguf_set_str(w, "general.architecture", "llama");
    hr_gguf_set_str(w, "general.name", "unit");
    hr_gguf_set_u32(w, "general.file_type", 0);
    hr_gguf_set_u32(w, "llama.block_count", 1);
    hr_gguf_set_u32(w, "split.count", 1); /* dropped, as llama.cpp does */
    float wq[EMBD * ROWS], norm[EMBD];
    for (int i = 0; i < EMBD * ROWS; i++) wq[i] = weight(i);
    for (int i = 0; i < EMBD; i++) norm[i] = 1.0f + i / 100.0f;
    const int64_t ne2[2] = {EMBD, ROWS}, ne1[1] = {EMBD};
    cr_assert_eq(hr_gguf_add_tensor(w, "blk.0.attn_q.weight", HR_TYPE_F32, 2, ne2, wq, sizeof wq), HEARTH_OK);
    cr_assert_eq(hr_gguf_add_tensor(w, "blk.0.attn_norm.weight", HR_TYPE_F32, 1, ne1, norm, sizeof norm), HEARTH_OK);
    cr_assert_eq(hr_gguf_add_tensor(w, "output.weight", HR_TYPE_F32, 2, ne2, wq, sizeof wq), HEARTH_OK);
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_write_file(w, path, &err), HEARTH_OK, "%s", err.message);
    hr_gguf_writer_free(w);
}

static void tmpname(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/hearth-qm-%d-%s.gguf", (int)getpid(), tag);
}

static void *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(*size);
    cr_assert_eq(fread(p, 1, *size, f), *size);
    fclose(f);
    return p;
}

Test(quantize_model, q8_0_output_metadata_shapes_and_data) {
    char in[128], out[128], out3[128];
    tmpname(in, sizeof in, "in");
    tmpname(out, sizeof out, "out");
    tmpname(out3, sizeof out3, "out3");
    make_input(in);
    hearth_error err = {{0}};
    hr_quantize_opts o = {.ftype = HR_FTYPE_MOSTLY_Q8_0, .n_threads = 1};
    hr_quantize_stats s;
    cr_assert_eq(hr_quantize_model(in, out, &o, &s, &err), HEARTH_OK, "%s", err.message);
    cr_expect_eq(s.n_tensors, 3);
    cr_expect_eq(s.n_converted, 2);
    o.n_threads = 3;
    cr_assert_eq(hr_quantize_model(in, out3, &o, NULL, &err), HEARTH_OK, "%s", err.message);
    size_t n1, n3;
    void *b1 = slurp(out, &n1), *b3 = slurp(out3, &n3);
    cr_expect(n1 == n3 && !memcmp(b1, b3, n1), "thread count changed the output");
    free(b1);
    free(b3);

    hr_gguf *g = NULL;
    cr_assert_eq(hr_gguf_open(out, &g, &err), HEARTH_OK, "%s", err.message);
    uint32_t v = 0;
    cr_expect_eq(hr_gguf_get_u32(g, "general.file_type", &v, &err), HEARTH_OK);
    cr_expect_eq(v, 7);
    cr_expect_eq(hr_gguf_get_u32(g, "general.quantization_version", &v, &err), HEARTH_OK);
    cr_expect_eq(v, 2);
    const char *name = NULL;
    cr_expect_eq(hr_gguf_get_string(g, "general.name", &name, &err), HEARTH_OK);
    cr_expect_str_eq(name, "unit");
    cr_expect_lt(hr_gguf_find_key(g, "split.count"), 0);
    /* llama.cpp's order: file_type and quantization_version are the last keys */
    int64_t nkv = hr_gguf_n_kv(g);
    cr_expect_str_eq(hr_gguf_key(g, nkv - 1), "general.file_type");
    cr_expect_str_eq(hr_gguf_key(g, nkv - 2), "general.quantization_version");

    const hr_gguf_tensor *q = hr_gguf_find_tensor(g, "blk.0.attn_q.weight");
    const hr_gguf_tensor *nrm = hr_gguf_find_tensor(g, "blk.0.attn_norm.weight");
    const hr_gguf_tensor *ow = hr_gguf_find_tensor(g, "output.weight");
    cr_assert(q && nrm && ow);
    cr_expect_eq(q->type, HR_TYPE_Q8_0);
    cr_expect_eq(ow->type, HR_TYPE_Q8_0);
    cr_expect_eq(nrm->type, HR_TYPE_F32);
    cr_expect(q->n_dims == 2 && q->ne[0] == EMBD && q->ne[1] == ROWS);
    cr_expect(nrm->n_dims == 1 && nrm->ne[0] == EMBD);
    float src[EMBD * ROWS];
    for (int i = 0; i < EMBD * ROWS; i++) src[i] = weight(i);
    hr_block_q8_0 want[EMBD * ROWS / 32];
    hr_quantize_row_q8_0(src, want, EMBD * ROWS);
    cr_assert_eq(q->nbytes, sizeof want);
    cr_expect(!memcmp(q->data, want, sizeof want), "quantized data differs from the row quantizer's");
    cr_expect_float_eq(((const float *)nrm->data)[5], 1.05f, 0.0f);
    hr_gguf_close(g);

    /* the quantized file is refused as input unless requantizing is allowed */
    o.ftype = HR_FTYPE_MOSTLY_Q4_0;
    cr_expect_eq(hr_quantize_model(out, out3, &o, NULL, &err), HEARTH_ERR_UNSUPPORTED);
    cr_expect(strstr(err.message, "already q8_0") != NULL, "%s", err.message);
    o.allow_requantize = true;
    cr_expect_eq(hr_quantize_model(out, out3, &o, NULL, &err), HEARTH_OK, "%s", err.message);
    remove(in);
    remove(out);
    remove(out3);
}

Test(quantize_model, failures_report_one_line) {
    hearth_error err = {{0}};
    hr_quantize_opts o = {.ftype = HR_FTYPE_MOSTLY_Q4_K_M, .n_threads = 2};
    cr_expect_eq(hr_quantize_model("/nonexistent/in.gguf", "/tmp/x.gguf", &o, NULL, &err), HEARTH_ERR_IO);
    cr_expect_neq(err.message[0], 0);
    char in[128];
    tmpname(in, sizeof in, "in2");
    make_input(in);
    cr_expect_eq(hr_quantize_model(in, "/nonexistent/dir/out.gguf", &o, NULL, &err), HEARTH_ERR_IO);
    o.ftype = (hr_ftype)99;
    cr_expect_eq(hr_quantize_model(in, "/tmp/x.gguf", &o, NULL, &err), HEARTH_ERR_INVALID);
    remove(in);
}
