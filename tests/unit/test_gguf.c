/* GGUF reader and writer: round trips, hand-assembled files (v2 and v3), typed getters. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "gguf/gguf.h"
#include "gguf_bytes.h"

static hr_gguf *open_bytes(const void *p, size_t n) {
    hr_gguf *g = NULL;
    hearth_error err = {{0}};
    hearth_status st = hr_gguf_open_memory(p, n, &g, &err);
    cr_assert_eq(st, HEARTH_OK, "open failed: %s", err.message);
    return g;
}

static void write_mem(hr_gguf_writer *w, void **buf, size_t *len) {
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_write_memory(w, buf, len, &err), HEARTH_OK, "%s", err.message);
}

static int64_t key_of(const hr_gguf *g, const char *k) {
    int64_t i = hr_gguf_find_key(g, k);
    cr_assert_geq(i, 0, "key %s missing", k);
    return i;
}

/* ---- writer -> reader ---- */

Test(gguf, round_trip_every_value_type) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    cr_assert_not_null(w);
    cr_assert_eq(hr_gguf_set_u32(w, "a.u32", 4000000000u), HEARTH_OK);
    cr_assert_eq(hr_gguf_set_i32(w, "a.i32", -123456), HEARTH_OK);
    cr_assert_eq(hr_gguf_set_u64(w, "a.u64", 0xfedcba9876543210ull), HEARTH_OK);
    cr_assert_eq(hr_gguf_set_f32(w, "a.f32", -1.5e-7f), HEARTH_OK);
    cr_assert_eq(hr_gguf_set_bool(w, "a.bool", true), HEARTH_OK);
    cr_assert_eq(hr_gguf_set_str(w, "a.str", "h\xc3\xa9llo"), HEARTH_OK);
    cr_assert_eq(hr_gguf_set_str(w, "a.empty", ""), HEARTH_OK);

    uint8_t u8s[] = {0, 1, 255};
    int8_t i8s[] = {-128, 0, 127};
    uint16_t u16s[] = {0, 65535};
    int16_t i16s[] = {-32768, 32767};
    uint32_t u32s[] = {1, 2, 0xffffffffu};
    int32_t i32s[] = {INT32_MIN, -1, INT32_MAX};
    float f32s[] = {1.0f, -0.0f, INFINITY};
    bool bools[] = {true, false, true};
    uint64_t u64s[] = {UINT64_MAX, 7};
    int64_t i64s[] = {INT64_MIN, INT64_MAX};
    double f64s[] = {3.141592653589793, -2.5e300};
    struct { const char *k; hr_gguf_type t; const void *d; uint64_t n; size_t es; } arrs[] = {
        {"arr.u8", HR_GGUF_UINT8, u8s, 3, 1},     {"arr.i8", HR_GGUF_INT8, i8s, 3, 1},
        {"arr.u16", HR_GGUF_UINT16, u16s, 2, 2},  {"arr.i16", HR_GGUF_INT16, i16s, 2, 2},
        {"arr.u32", HR_GGUF_UINT32, u32s, 3, 4},  {"arr.i32", HR_GGUF_INT32, i32s, 3, 4},
        {"arr.f32", HR_GGUF_FLOAT32, f32s, 3, 4}, {"arr.bool", HR_GGUF_BOOL, bools, 3, 1},
        {"arr.u64", HR_GGUF_UINT64, u64s, 2, 8},  {"arr.i64", HR_GGUF_INT64, i64s, 2, 8},
        {"arr.f64", HR_GGUF_FLOAT64, f64s, 2, 8}, {"arr.empty", HR_GGUF_UINT32, NULL, 0, 4},
    };
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++)
        cr_assert_eq(hr_gguf_set_arr(w, arrs[i].k, arrs[i].t, arrs[i].d, arrs[i].n), HEARTH_OK);
    const char *strs[] = {"<unk>", "", "\xe2\x96\x81Hello", "a b"};
    cr_assert_eq(hr_gguf_set_arr_str(w, "arr.str", strs, 4), HEARTH_OK);
    cr_assert_eq(hr_gguf_set_arr(w, "bad", HR_GGUF_STRING, strs, 1), HEARTH_ERR_INVALID);
    cr_assert_eq(hr_gguf_set_arr(w, "bad", HR_GGUF_ARRAY, strs, 1), HEARTH_ERR_INVALID);

    void *buf;
    size_t len;
    write_mem(w, &buf, &len);
    hr_gguf_writer_free(w);
    hr_gguf *g = open_bytes(buf, len);
    cr_assert_eq(hr_gguf_version(g), 3);
    cr_assert_eq(hr_gguf_n_kv(g), 7 + 12 + 1);
    cr_assert_eq(hr_gguf_n_tensors(g), 0);
    cr_assert_eq(hr_gguf_alignment(g), 32);
    /* keys keep insertion order */
    cr_assert_str_eq(hr_gguf_key(g, 0), "a.u32");
    cr_assert_str_eq(hr_gguf_key(g, 19), "arr.str");

    hearth_error err = {{0}};
    uint32_t u32 = 0;
    int64_t i64 = 0;
    float f = 0;
    bool bv = false;
    const char *s = NULL;
    cr_assert_eq(hr_gguf_kv_type(g, key_of(g, "a.u32")), HR_GGUF_UINT32);
    cr_assert_eq(hr_gguf_get_u32(g, "a.u32", &u32, &err), HEARTH_OK);
    cr_assert_eq(u32, 4000000000u);
    cr_assert_eq(hr_gguf_kv_type(g, key_of(g, "a.i32")), HR_GGUF_INT32);
    cr_assert_eq(hr_gguf_get_i64(g, "a.i32", &i64, &err), HEARTH_OK);
    cr_assert_eq(i64, -123456);
    cr_assert_eq(hr_gguf_kv_type(g, key_of(g, "a.u64")), HR_GGUF_UINT64);
    cr_assert_eq(hr_gguf_get_i64(g, "a.u64", &i64, &err), HEARTH_ERR_FORMAT); /* > INT64_MAX */
    cr_assert(strstr(err.message, "a.u64"), "%s", err.message);
    cr_assert_eq(hr_gguf_get_f32(g, "a.f32", &f, &err), HEARTH_OK);
    cr_assert_eq(f, -1.5e-7f);
    cr_assert_eq(hr_gguf_get_bool(g, "a.bool", &bv, &err), HEARTH_OK);
    cr_assert(bv);
    cr_assert_eq(hr_gguf_get_string(g, "a.str", &s, &err), HEARTH_OK);
    cr_assert_str_eq(s, "h\xc3\xa9llo");
    hr_gguf_str hs = hr_gguf_get_str(g, key_of(g, "a.empty"));
    cr_assert_eq(hs.len, 0);
    cr_assert_str_eq(hs.ptr, "");

    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        int64_t k = key_of(g, arrs[i].k);
        cr_assert_eq(hr_gguf_kv_type(g, k), HR_GGUF_ARRAY);
        cr_assert_eq(hr_gguf_arr_type(g, k), arrs[i].t, "%s", arrs[i].k);
        cr_assert_eq(hr_gguf_arr_len(g, k), arrs[i].n, "%s", arrs[i].k);
        if (arrs[i].n) cr_assert_eq(memcmp(hr_gguf_arr_data(g, k), arrs[i].d, arrs[i].n * arrs[i].es), 0, "%s", arrs[i].k);
    }
    int64_t k = key_of(g, "arr.str");
    cr_assert_eq(hr_gguf_arr_type(g, k), HR_GGUF_STRING);
    cr_assert_eq(hr_gguf_arr_len(g, k), 4);
    cr_assert_null(hr_gguf_arr_data(g, k));
    for (uint64_t j = 0; j < 4; j++) {
        hr_gguf_str e = hr_gguf_arr_str(g, k, j);
        cr_assert_eq(e.len, strlen(strs[j]));
        cr_assert_str_eq(e.ptr, strs[j]);
    }
    cr_assert_null(hr_gguf_arr_str(g, k, 4).ptr);
    /* neutral answers for misuse */
    cr_assert_null(hr_gguf_key(g, -1));
    cr_assert_null(hr_gguf_key(g, 20));
    cr_assert_eq(hr_gguf_kv_type(g, 99), HR_GGUF_TYPE_COUNT);
    cr_assert_null(hr_gguf_get_str(g, key_of(g, "a.u32")).ptr);
    cr_assert_null(hr_gguf_arr_str(g, key_of(g, "arr.u8"), 0).ptr);
    cr_assert_eq(hr_gguf_find_key(g, "nope"), -1);
    hr_gguf_close(g);
    free(buf);
}

Test(gguf, setting_a_key_again_replaces_it) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_u32(w, "k", 1);
    hr_gguf_set_str(w, "other", "x");
    hr_gguf_set_str(w, "k", "now a string");
    void *buf;
    size_t len;
    write_mem(w, &buf, &len);
    hr_gguf *g = open_bytes(buf, len);
    cr_assert_eq(hr_gguf_n_kv(g), 2);
    cr_assert_str_eq(hr_gguf_key(g, 0), "k");
    cr_assert_str_eq(hr_gguf_get_str(g, 0).ptr, "now a string");
    hr_gguf_close(g);
    hr_gguf_writer_free(w);
    free(buf);
}

/* Fills n bytes with a pattern that differs per tensor, so misplaced data shows. */
static void pattern(uint8_t *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 31 + seed * 7 + 1);
}

Test(gguf, round_trip_tensors_exact_bytes) {
    struct { const char *name; hr_type type; uint32_t n_dims; int64_t ne[4]; size_t nbytes; } ts[] = {
        {"tok_embd.weight", HR_TYPE_F32, 2, {4, 3, 1, 1}, 4 * 3 * 4},
        {"norm.weight", HR_TYPE_F16, 1, {7, 1, 1, 1}, 14},
        {"blk.0.attn_q.weight", HR_TYPE_Q4_0, 2, {64, 2, 1, 1}, 2 * 2 * 18},
        {"blk.0.ffn_up.weight", HR_TYPE_Q8_0, 3, {32, 1, 2, 1}, 2 * 34},
        {"blk.0.ffn_down.weight", HR_TYPE_Q6_K, 4, {256, 1, 1, 2}, 2 * 210},
        {"positions", HR_TYPE_I32, 1, {5, 1, 1, 1}, 20},
        {"bf", HR_TYPE_BF16, 2, {3, 3, 1, 1}, 18},
    };
    const size_t nt = sizeof ts / sizeof ts[0];
    uint8_t data[nt][1024];
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_str(w, "general.architecture", "llama");
    for (size_t i = 0; i < nt; i++) {
        pattern(data[i], ts[i].nbytes, (unsigned)i);
        cr_assert_eq(hr_gguf_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_dims, ts[i].ne, data[i], ts[i].nbytes),
                     HEARTH_OK, "%s", ts[i].name);
    }
    /* wrong byte count, duplicate name, bad row length, bad dims are refused */
    int64_t ne[4] = {32, 1, 1, 1};
    cr_assert_eq(hr_gguf_add_tensor(w, "x", HR_TYPE_Q8_0, 1, ne, data[0], 33), HEARTH_ERR_INVALID);
    cr_assert_eq(hr_gguf_add_tensor(w, "bf", HR_TYPE_F32, 1, ne, data[0], 128), HEARTH_ERR_INVALID);
    int64_t ne_bad[4] = {33, 1, 1, 1};
    cr_assert_eq(hr_gguf_add_tensor(w, "x", HR_TYPE_Q8_0, 1, ne_bad, data[0], 34), HEARTH_ERR_INVALID);
    cr_assert_eq(hr_gguf_add_tensor(w, "x", HR_TYPE_F32, 5, ne, data[0], 128), HEARTH_ERR_INVALID);
    cr_assert_eq(hr_gguf_add_tensor(w, "x", (hr_type)99, 1, ne, data[0], 128), HEARTH_ERR_INVALID);

    void *buf;
    size_t len;
    write_mem(w, &buf, &len);
    hr_gguf_writer_free(w);
    cr_assert_eq(len % 32, 0, "file length %zu is not padded", len);
    hr_gguf *g = open_bytes(buf, len);
    cr_assert_eq(hr_gguf_n_tensors(g), (int64_t)nt);
    cr_assert_eq(hr_gguf_data_offset(g) % 32, 0);
    for (size_t i = 0; i < nt; i++) {
        const hr_gguf_tensor *t = hr_gguf_tensor_at(g, (int64_t)i);
        cr_assert_str_eq(t->name, ts[i].name);
        cr_assert_eq(hr_gguf_find_tensor(g, ts[i].name), t);
        cr_assert_eq(t->type, ts[i].type);
        cr_assert_eq(t->n_dims, ts[i].n_dims);
        for (int d = 0; d < 4; d++) cr_assert_eq(t->ne[d], ts[i].ne[d]);
        cr_assert_eq(t->nbytes, ts[i].nbytes);
        cr_assert_eq(t->offset % 32, 0);
        cr_assert_eq((const uint8_t *)t->data, (const uint8_t *)buf + hr_gguf_data_offset(g) + t->offset);
        cr_assert_eq(memcmp(t->data, data[i], ts[i].nbytes), 0, "%s data differs", ts[i].name);
    }
    cr_assert_null(hr_gguf_find_tensor(g, "absent"));
    cr_assert_null(hr_gguf_tensor_at(g, (int64_t)nt));
    hr_gguf_close(g);
    free(buf);
}

Test(gguf, writer_honours_general_alignment) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_u32(w, "general.alignment", 64);
    float a[3] = {1, 2, 3}, b[5] = {4, 5, 6, 7, 8};
    int64_t na[1] = {3}, nb[1] = {5};
    hr_gguf_add_tensor(w, "a", HR_TYPE_F32, 1, na, a, sizeof a);
    hr_gguf_add_tensor(w, "b", HR_TYPE_F32, 1, nb, b, sizeof b);
    void *buf;
    size_t len;
    write_mem(w, &buf, &len);
    hr_gguf *g = open_bytes(buf, len);
    cr_assert_eq(hr_gguf_alignment(g), 64);
    cr_assert_eq(hr_gguf_data_offset(g) % 64, 0);
    cr_assert_eq(hr_gguf_tensor_at(g, 0)->offset, 0);
    cr_assert_eq(hr_gguf_tensor_at(g, 1)->offset, 64);
    cr_assert_eq(len, hr_gguf_data_offset(g) + 128);
    hr_gguf_close(g);
    free(buf);
    /* an alignment llama.cpp could not use is refused at write time */
    hearth_error err = {{0}};
    hr_gguf_set_u32(w, "general.alignment", 48);
    cr_assert_eq(hr_gguf_write_memory(w, &buf, &len, &err), HEARTH_ERR_INVALID);
    cr_assert(strstr(err.message, "alignment"), "%s", err.message);
    hr_gguf_writer_free(w);
}

/* The writer's bytes, compared with a file assembled by hand from the format description. */
Test(gguf, writer_bytes_match_hand_assembled_file) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_str(w, "general.name", "t");
    uint8_t arr[2] = {5, 6};
    hr_gguf_set_arr(w, "x.arr", HR_GGUF_UINT8, arr, 2);
    float v[2] = {1.0f, -2.0f};
    int64_t ne[2] = {2, 1};
    hr_gguf_add_tensor(w, "w", HR_TYPE_F32, 2, ne, v, sizeof v);
    void *buf;
    size_t len;
    write_mem(w, &buf, &len);
    hr_gguf_writer_free(w);

    bytes e = {0};
    b_header(&e, 3, 1, 2);
    b_str(&e, "general.name");
    b_u32(&e, 8);
    b_str(&e, "t");
    b_str(&e, "x.arr");
    b_u32(&e, 9);
    b_u32(&e, 0);
    b_u64(&e, 2);
    b_u8(&e, 5);
    b_u8(&e, 6);
    b_str(&e, "w");
    b_u32(&e, 2);
    b_u64(&e, 2);
    b_u64(&e, 1);
    b_u32(&e, 0);
    b_u64(&e, 0);
    b_pad(&e, 32);
    b_f32(&e, 1.0f);
    b_f32(&e, -2.0f);
    b_pad(&e, 32);
    cr_assert_eq(len, e.len);
    cr_assert_eq(memcmp(buf, e.p, len), 0);
    free(buf);
    free(e.p);
}

/* ---- hand-assembled version 2 file with every scalar type ---- */

Test(gguf, reads_version_2_with_every_scalar_type) {
    bytes b = {0};
    b_header(&b, 2, 2, 14);
    b_str(&b, "s.u8"); b_u32(&b, HR_GGUF_UINT8); b_u8(&b, 200);
    b_str(&b, "s.i8"); b_u32(&b, HR_GGUF_INT8); b_u8(&b, (uint8_t)-100);
    b_str(&b, "s.u16"); b_u32(&b, HR_GGUF_UINT16); b_u16(&b, 60000);
    b_str(&b, "s.i16"); b_u32(&b, HR_GGUF_INT16); b_u16(&b, (uint16_t)-30000);
    b_str(&b, "s.u32"); b_u32(&b, HR_GGUF_UINT32); b_u32(&b, 4294967295u);
    b_str(&b, "s.i32"); b_u32(&b, HR_GGUF_INT32); b_u32(&b, (uint32_t)-7);
    b_str(&b, "s.f32"); b_u32(&b, HR_GGUF_FLOAT32); b_f32(&b, 0.25f);
    b_str(&b, "s.bool"); b_u32(&b, HR_GGUF_BOOL); b_u8(&b, 0);
    b_str(&b, "s.str"); b_u32(&b, HR_GGUF_STRING); b_str(&b, "v2 string");
    b_str(&b, "s.u64"); b_u32(&b, HR_GGUF_UINT64); b_u64(&b, 5000000000ull);
    b_str(&b, "s.i64"); b_u32(&b, HR_GGUF_INT64); b_u64(&b, (uint64_t)-5000000000ll);
    b_str(&b, "s.f64"); b_u32(&b, HR_GGUF_FLOAT64); b_f64(&b, 1e-300);
    b_str(&b, "s.strs"); b_u32(&b, HR_GGUF_ARRAY); b_u32(&b, HR_GGUF_STRING); b_u64(&b, 2); b_str(&b, "x"); b_str(&b, "yz");
    b_str(&b, "general.alignment"); b_u32(&b, HR_GGUF_UINT32); b_u32(&b, 16);
    b_str(&b, "t1"); b_u32(&b, 1); b_u64(&b, 4); b_u32(&b, HR_TYPE_F32); b_u64(&b, 16);
    b_str(&b, "t0"); b_u32(&b, 2); b_u64(&b, 2); b_u64(&b, 2); b_u32(&b, HR_TYPE_F16); b_u64(&b, 0);
    b_pad(&b, 16);
    size_t data_at = b.len;
    for (int i = 0; i < 4; i++) b_u16(&b, (uint16_t)(0x3c00 + i)); /* t0 */
    b_pad(&b, 16);
    for (int i = 0; i < 4; i++) b_f32(&b, (float)i); /* t1 */

    hr_gguf *g = open_bytes(b.p, b.len);
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_version(g), 2);
    cr_assert_eq(hr_gguf_alignment(g), 16);
    cr_assert_eq(hr_gguf_data_offset(g), data_at);
    uint32_t u = 0;
    int64_t i = 0;
    float f = 0;
    bool bv = true;
    cr_assert_eq(hr_gguf_get_u32(g, "s.u8", &u, &err), HEARTH_OK); cr_assert_eq(u, 200);
    cr_assert_eq(hr_gguf_get_i64(g, "s.i8", &i, &err), HEARTH_OK); cr_assert_eq(i, -100);
    cr_assert_eq(hr_gguf_get_u32(g, "s.u16", &u, &err), HEARTH_OK); cr_assert_eq(u, 60000);
    cr_assert_eq(hr_gguf_get_i64(g, "s.i16", &i, &err), HEARTH_OK); cr_assert_eq(i, -30000);
    cr_assert_eq(hr_gguf_get_u32(g, "s.u32", &u, &err), HEARTH_OK); cr_assert_eq(u, 4294967295u);
    cr_assert_eq(hr_gguf_get_i64(g, "s.i32", &i, &err), HEARTH_OK); cr_assert_eq(i, -7);
    cr_assert_eq(hr_gguf_get_f32(g, "s.f32", &f, &err), HEARTH_OK); cr_assert_eq(f, 0.25f);
    cr_assert_eq(hr_gguf_get_bool(g, "s.bool", &bv, &err), HEARTH_OK); cr_assert(!bv);
    cr_assert_str_eq(hr_gguf_get_str(g, key_of(g, "s.str")).ptr, "v2 string");
    cr_assert_eq(hr_gguf_get_i64(g, "s.u64", &i, &err), HEARTH_OK); cr_assert_eq(i, 5000000000ll);
    cr_assert_eq(hr_gguf_get_i64(g, "s.i64", &i, &err), HEARTH_OK); cr_assert_eq(i, -5000000000ll);
    cr_assert_eq(hr_gguf_get_f32(g, "s.f64", &f, &err), HEARTH_OK); cr_assert_eq(f, (float)1e-300);
    cr_assert_eq(hr_gguf_kv_type(g, key_of(g, "s.f64")), HR_GGUF_FLOAT64);
    int64_t k = key_of(g, "s.strs");
    cr_assert_str_eq(hr_gguf_arr_str(g, k, 1).ptr, "yz");

    /* integer widths convert with range checks, and errors name the key */
    cr_assert_eq(hr_gguf_get_u32(g, "s.i32", &u, &err), HEARTH_ERR_FORMAT);
    cr_assert(strstr(err.message, "'s.i32'") && strstr(err.message, "-7"), "%s", err.message);
    cr_assert_eq(hr_gguf_get_u32(g, "s.u64", &u, &err), HEARTH_ERR_FORMAT);
    cr_assert(strstr(err.message, "'s.u64'"), "%s", err.message);
    cr_assert_eq(hr_gguf_get_u32(g, "s.str", &u, &err), HEARTH_ERR_FORMAT);
    cr_assert(strstr(err.message, "'s.str'") && strstr(err.message, "string"), "%s", err.message);
    cr_assert_eq(hr_gguf_get_bool(g, "s.u8", &bv, &err), HEARTH_ERR_FORMAT);
    const char *s;
    cr_assert_eq(hr_gguf_get_string(g, "s.u8", &s, &err), HEARTH_ERR_FORMAT);
    cr_assert_eq(hr_gguf_get_f32(g, "s.strs", &f, &err), HEARTH_ERR_FORMAT);
    cr_assert_eq(hr_gguf_get_u32(g, "no.such.key", &u, &err), HEARTH_ERR_MISSING);
    cr_assert(strstr(err.message, "'no.such.key'"), "%s", err.message);
    u = 77;
    cr_assert_eq(hr_gguf_opt_u32(g, "no.such.key", &u, &err), HEARTH_OK);
    cr_assert_eq(u, 77);
    f = 1.5f;
    cr_assert_eq(hr_gguf_opt_f32(g, "no.such.key", &f, &err), HEARTH_OK);
    cr_assert_eq(f, 1.5f);
    cr_assert_eq(hr_gguf_opt_bool(g, "no.such.key", &bv, &err), HEARTH_OK);
    cr_assert_eq(hr_gguf_opt_u32(g, "s.u16", &u, &err), HEARTH_OK);
    cr_assert_eq(u, 60000);
    cr_assert_eq(hr_gguf_opt_bool(g, "s.u16", &bv, &err), HEARTH_ERR_FORMAT);

    /* tensors stored out of order in the data section */
    const hr_gguf_tensor *t0 = hr_gguf_find_tensor(g, "t0"), *t1 = hr_gguf_find_tensor(g, "t1");
    cr_assert_eq(t0->type, HR_TYPE_F16);
    cr_assert_eq(t0->ne[0], 2);
    cr_assert_eq(t0->ne[1], 2);
    cr_assert_eq(t0->ne[2], 1);
    cr_assert_eq(t0->nbytes, 8);
    cr_assert_eq((const uint8_t *)t0->data, b.p + data_at);
    cr_assert_eq((const uint8_t *)t1->data, b.p + data_at + 16);
    float x;
    memcpy(&x, (const uint8_t *)t1->data + 12, 4);
    cr_assert_eq(x, 3.0f);
    hr_gguf_close(g);
    free(b.p);
}

/* ---- files on disk ---- */

Test(gguf, write_file_then_open_maps_it) {
    char path[] = "/tmp/hearth-gguf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_str(w, "general.architecture", "qwen2");
    int32_t ids[3] = {1, 2, 3};
    int64_t ne[1] = {3};
    hr_gguf_add_tensor(w, "ids", HR_TYPE_I32, 1, ne, ids, sizeof ids);
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_write_file(w, path, &err), HEARTH_OK, "%s", err.message);
    hr_gguf_writer_free(w);
    hr_gguf *g = NULL;
    cr_assert_eq(hr_gguf_open(path, &g, &err), HEARTH_OK, "%s", err.message);
    const char *arch;
    cr_assert_eq(hr_gguf_get_string(g, "general.architecture", &arch, &err), HEARTH_OK);
    cr_assert_str_eq(arch, "qwen2");
    cr_assert_eq(memcmp(hr_gguf_find_tensor(g, "ids")->data, ids, sizeof ids), 0);
    cr_assert_eq(hr_gguf_file_size(g) % 32, 0);
    /* rewriting the path while it is mapped leaves the open reader intact */
    w = hr_gguf_writer_new();
    hr_gguf_set_str(w, "general.architecture", "llama");
    cr_assert_eq(hr_gguf_write_file(w, path, &err), HEARTH_OK, "%s", err.message);
    hr_gguf_writer_free(w);
    cr_assert_eq(memcmp(hr_gguf_find_tensor(g, "ids")->data, ids, sizeof ids), 0);
    hr_gguf_close(g);
    cr_assert_eq(hr_gguf_open(path, &g, &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(hr_gguf_n_tensors(g), 0);
    hr_gguf_close(g);
    unlink(path);
    w = hr_gguf_writer_new();
    cr_assert_eq(hr_gguf_write_file(w, "/nonexistent/dir/x.gguf", &err), HEARTH_ERR_IO);
    cr_assert(strstr(err.message, "/nonexistent/dir/x.gguf"), "%s", err.message);
    hr_gguf_writer_free(w);

    cr_assert_eq(hr_gguf_open("/nonexistent/x.gguf", &g, &err), HEARTH_ERR_IO);
    cr_assert_null(g);
    cr_assert(strstr(err.message, "/nonexistent/x.gguf"), "%s", err.message);
    cr_assert_eq(hr_gguf_open("/tmp", &g, &err), HEARTH_ERR_IO);
}

Test(gguf, open_error_names_the_file) {
    char path[] = "/tmp/hearth-gguf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "GGUF\1\0\0\0", 8), 8);
    close(fd);
    hr_gguf *g = NULL;
    hearth_error err = {{0}};
    cr_assert_eq(hr_gguf_open(path, &g, &err), HEARTH_ERR_FORMAT);
    cr_assert(strncmp(err.message, path, strlen(path)) == 0, "%s", err.message);
    cr_assert(strstr(err.message, "version 1"), "%s", err.message);
    unlink(path);
}

Test(gguf, copy_kv_carries_every_key_verbatim) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    hr_gguf_set_u32(w, "a", 1);
    const char *strs[] = {"p", "q"};
    hr_gguf_set_arr_str(w, "b", strs, 2);
    double d[1] = {2.5};
    hr_gguf_set_arr(w, "c", HR_GGUF_FLOAT64, d, 1);
    void *buf1, *buf2;
    size_t len1, len2;
    write_mem(w, &buf1, &len1);
    hr_gguf_writer_free(w);
    hr_gguf *g = open_bytes(buf1, len1);
    hr_gguf_writer *w2 = hr_gguf_writer_new();
    cr_assert_eq(hr_gguf_copy_kv(w2, g), HEARTH_OK);
    write_mem(w2, &buf2, &len2);
    cr_assert_eq(len1, len2);
    cr_assert_eq(memcmp(buf1, buf2, len1), 0);
    hr_gguf_writer_free(w2);
    hr_gguf_close(g);
    free(buf1);
    free(buf2);
}
