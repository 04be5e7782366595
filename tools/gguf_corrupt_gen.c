/*
 * Writes the corrupt-GGUF corpus (tests/data/gguf-corrupt/) and its MANIFEST:
 * one line per file, "NAME<TAB>words the reader's error must contain".
 * Every file is a small valid GGUF with one defect, assembled byte by byte
 * from the format description so it does not depend on hearth's writer.
 *
 * With a second directory it also writes the valid base there as valid.gguf
 * (a fuzzing seed).
 *
 *   build/gguf_corrupt_gen tests/data/gguf-corrupt fuzz/corpus/gguf
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/gguf_bytes.h"

enum { T_U32 = 4, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9 };
enum { F32 = 0, Q4_0 = 2 };

static void kv_str(bytes *b, const char *key, const char *v) {
    b_str(b, key);
    b_u32(b, T_STRING);
    b_str(b, v);
}
static void kv_strs(bytes *b, const char *key) {
    b_str(b, key);
    b_u32(b, T_ARRAY);
    b_u32(b, T_STRING);
    b_u64(b, 3);
    b_str(b, "<s>");
    b_str(b, "</s>");
    b_str(b, "hello");
}
static void tinfo(bytes *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, uint64_t offset) {
    b_str(b, name);
    b_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) b_u64(b, (uint64_t)ne[d]);
    b_u32(b, type);
    b_u64(b, offset);
}

/* The valid base: 3 keys, tensors a (f32 [8]) at 0 and b (f32 [4,2]) at 32. */
typedef struct spec {
    uint32_t version;
    uint64_t n_tensors, n_kv;
    uint32_t align_type;   /* type of general.alignment */
    uint32_t align;
    int64_t b_ne[4];
    uint32_t b_dims, b_type;
    uint64_t b_offset;
    const char *b_name;
    size_t data_bytes;
} spec;

static spec base(void) {
    return (spec){.version = 3, .n_tensors = 2, .n_kv = 3, .align_type = T_U32, .align = 32,
                  .b_ne = {4, 2, 1, 1}, .b_dims = 2, .b_type = F32, .b_offset = 32, .b_name = "b", .data_bytes = 64};
}

/* Offsets of interesting places, for truncations. */
typedef struct marks {
    size_t mid_key, mid_value, mid_array, mid_info, data;
} marks;

static bytes build(spec s, marks *m) {
    bytes b = {0};
    marks mk;
    b_header(&b, s.version, s.n_tensors, s.n_kv);
    kv_str(&b, "general.architecture", "llama");
    b_str(&b, "general.alignment");
    b_u32(&b, s.align_type);
    mk.mid_value = b.len + 2;
    if (s.align_type == T_STRING) b_str(&b, "32");
    else b_u32(&b, s.align);
    mk.mid_key = b.len + 18;
    mk.mid_array = b.len + 78; /* inside the third string, "hello" */
    kv_strs(&b, "tokenizer.ggml.tokens");
    int64_t a_ne[1] = {8};
    tinfo(&b, "a", 1, a_ne, F32, 0);
    mk.mid_info = b.len + 12;
    tinfo(&b, s.b_name, s.b_dims, s.b_ne, s.b_type, s.b_offset);
    b_pad(&b, 32);
    mk.data = b.len;
    for (size_t i = 0; i < s.data_bytes; i++) b_u8(&b, (uint8_t)i);
    if (m) *m = mk;
    return b;
}

static FILE *manifest;
static const char *dir;

static void emit(const char *name, const bytes *b, size_t len, const char *words) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    fprintf(manifest, "%s.gguf\t%s\n", name, words);
}

static void emit_spec(const char *name, spec s, const char *words) {
    bytes b = build(s, NULL);
    emit(name, &b, b.len, words);
    free(b.p);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s DIR [SEED_DIR]\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    char mpath[1024];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST", dir);
    manifest = fopen(mpath, "w");
    if (!manifest) {
        perror(mpath);
        return 1;
    }
    spec s;
    marks m;
    bytes ok = build(base(), &m);

    /* header */
    bytes b = {0};
    b_raw(&b, ok.p, ok.len);
    memcpy(b.p, "GGML", 4);
    emit("bad_magic", &b, b.len, "bad magic at byte offset 0");
    free(b.p);
    s = base(), s.version = 1, emit_spec("version_1", s, "version 1 at byte offset 4");
    s = base(), s.version = 99, emit_spec("version_99", s, "unsupported GGUF version 99 at byte offset 4");
    s = base(), s.version = 0x03000000, emit_spec("big_endian", s, "big-endian");
    s = base(), s.n_tensors = (uint64_t)1 << 62, emit_spec("huge_n_tensors", s, "n_tensors 4611686018427387904 at byte offset 8 is too large");
    s = base(), s.n_kv = 0xffffffffffffffffull, emit_spec("huge_n_kv", s, "n_kv 18446744073709551615 at byte offset 16 is too large");
    s = base(), s.n_kv = 40, emit_spec("n_kv_too_large", s, "n_kv 40 at byte offset 16 is too large");
    s = base(), s.n_kv = 4, emit_spec("n_kv_off_by_one", s, "empty tensor name at byte offset");

    /* truncations at several points */
    emit("empty", &ok, 0, "truncated header at byte offset 0");
    emit("truncated_header", &ok, 10, "truncated header at byte offset 8");
    emit("truncated_in_key", &ok, m.mid_key, "truncated key at byte offset 102 (length 21 exceeds remaining 10 bytes)");
    emit("truncated_early", &ok, 40, "n_tensors 2 at byte offset 8 is too large for the 16 bytes that follow the header");
    emit("truncated_in_value", &ok, m.mid_value, "truncated value of key 'general.alignment' at byte offset 98 (need 4 bytes, 2 remain)");
    emit("truncated_in_array", &ok, m.mid_array, "truncated value of key 'tokenizer.ggml.tokens' at byte offset 170 (length 5 exceeds remaining 2 bytes)");
    emit("truncated_in_tensor_info", &ok, m.mid_info, "truncated info of tensor 'b' at byte offset 225");
    emit("truncated_before_data", &ok, m.data - 10, "data section at byte offset 288 starts beyond the end of the file");
    emit("truncated_in_data", &ok, m.data + 40, "tensor 'b' data (offset 32, end 64, 32 bytes) lies outside");

    /* lengths larger than the file */
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_u64(&b, 0xffffffffu);
    b_raw(&b, "general.name", 12);
    b_raw(&b, "\x08\0\0\0\x05", 5);
    emit("huge_key_length", &b, b.len, "truncated key at byte offset 24 (length 4294967295 exceeds remaining 17 bytes)");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.name");
    b_u32(&b, T_STRING);
    b_u64(&b, 0x7fffffffffffffffull);
    b_raw(&b, "abc", 3);
    emit("huge_string_length", &b, b.len, "truncated value of key 'general.name' at byte offset 48 (length 9223372036854775807 exceeds remaining 3 bytes)");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "tokenizer.ggml.scores");
    b_u32(&b, T_ARRAY);
    b_u32(&b, 6);
    b_u64(&b, (uint64_t)1 << 61);
    b_u32(&b, 0);
    emit("huge_array_length", &b, b.len, "array length 2305843009213693952 of key 'tokenizer.ggml.scores' at byte offset 61 exceeds remaining 4 bytes");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "tokenizer.ggml.tokens");
    b_u32(&b, T_ARRAY);
    b_u32(&b, T_STRING);
    b_u64(&b, 1000000000);
    b_str(&b, "x");
    emit("huge_string_array_length", &b, b.len, "array length 1000000000 of key 'tokenizer.ggml.tokens'");
    free(b.p);

    /* metadata values */
    s = base(), s.align = 0, emit_spec("alignment_zero", s, "bad alignment: general.alignment 0");
    s = base(), s.align = 48, emit_spec("alignment_not_power_of_two", s, "bad alignment: general.alignment 48");
    s = base(), s.align_type = T_STRING, emit_spec("alignment_is_string", s, "general.alignment at byte offset 98 has type string");
    b = (bytes){0};
    b_header(&b, 3, 0, 2);
    kv_str(&b, "general.name", "x");
    kv_str(&b, "general.name", "y");
    emit("duplicate_key", &b, b.len, "duplicate key 'general.name' at byte offset 57");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, 13);
    b_u32(&b, 0);
    emit("unknown_value_type", &b, b.len, "unknown value type 13 for key 'k' at byte offset 33");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, T_ARRAY);
    b_u32(&b, T_ARRAY);
    b_u64(&b, 1);
    b_u32(&b, 4);
    b_u64(&b, 0);
    emit("nested_array", &b, b.len, "nested array in key 'k' at byte offset 37");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, T_ARRAY);
    b_u32(&b, 77);
    b_u64(&b, 1);
    b_u32(&b, 4);
    emit("unknown_array_type", &b, b.len, "unknown array element type 77");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "tokenizer.ggml.add_bos_token");
    b_u32(&b, T_BOOL);
    b_u8(&b, 2);
    emit("invalid_bool", &b, b.len, "invalid bool value 2 for key 'tokenizer.ggml.add_bos_token' at byte offset 64");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_u64(&b, 0);
    b_u32(&b, T_U32);
    b_u32(&b, 1);
    emit("empty_key", &b, b.len, "empty key at byte offset 24");
    free(b.p);
    b = (bytes){0};
    b_header(&b, 3, 0, 1);
    b_u64(&b, 3);
    b_raw(&b, "a\0b", 3);
    b_u32(&b, T_U32);
    b_u32(&b, 1);
    emit("key_with_nul", &b, b.len, "key at byte offset 24 contains a NUL byte");
    free(b.p);

    /* tensor infos */
    s = base(), s.b_dims = 0, emit_spec("n_dims_zero", s, "tensor 'b' has 0 dimensions (n_dims must be 1 to 4) at byte offset 225");
    s = base(), s.b_dims = 5, emit_spec("n_dims_five", s, "tensor 'b' has 5 dimensions (n_dims must be 1 to 4)");
    s = base(), s.b_ne[1] = 0, emit_spec("dim_zero", s, "tensor 'b' dimension 1 is 0 (must be >= 1)");
    s = base(), s.b_ne[0] = -4, emit_spec("dim_negative", s, "tensor 'b' dimension 0 is -4");
    s = base(), s.b_dims = 4, s.b_ne[0] = 1 << 20, s.b_ne[1] = 1 << 20, s.b_ne[2] = 1 << 20, s.b_ne[3] = 1 << 20;
    emit_spec("dim_overflow", s, "tensor 'b' element count overflows");
    s = base(), s.b_dims = 2, s.b_ne[0] = (int64_t)1 << 31, s.b_ne[1] = (int64_t)1 << 31, s.b_type = 3 /* q4_1: 20 bytes per 32 */;
    emit_spec("huge_tensor", s, "tensor 'b' data (offset 32, end");
    s = base(), s.b_type = 99, emit_spec("unknown_tensor_type", s, "tensor 'b' has unknown type 99 at byte offset 245");
    s = base(), s.b_type = Q4_0, s.b_ne[0] = 33, s.b_ne[1] = 1, emit_spec("row_not_block_multiple", s, "row length 33, not a multiple of the block size 32");
    s = base(), s.b_name = "a", emit_spec("duplicate_tensor_name", s, "duplicate tensor name 'a' at byte offset 216 (first at byte offset 183)");
    s = base(), s.b_offset = 16, emit_spec("tensor_offset_misaligned", s, "tensor 'b' data offset 16 at byte offset 249 is not a multiple of the alignment 32");
    s = base(), s.b_offset = 4096, emit_spec("tensor_offset_out_of_file", s, "tensor 'b' data (offset 4096, end 4128, 32 bytes) lies outside");
    s = base(), s.b_offset = 0xffffffffffffffe0ull, emit_spec("tensor_offset_wraps", s, "lies outside the file");
    s = base(), s.b_offset = 0, emit_spec("overlapping_tensors", s, "tensors 'a' and 'b' overlap");
    s = base(), s.b_ne[0] = 16, s.b_ne[1] = 1, s.b_offset = 0, emit_spec("tensor_contains_other", s, "tensors 'a' and 'b' overlap: data [0, 32) and [0, 64)");

    if (fclose(manifest) != 0) return 1;
    if (argc == 3) {
        char vpath[1024];
        snprintf(vpath, sizeof vpath, "%s/valid.gguf", argv[2]);
        FILE *f = fopen(vpath, "wb");
        if (!f || fwrite(ok.p, 1, ok.len, f) != ok.len || fclose(f) != 0) {
            perror(vpath);
            return 1;
        }
    }
    free(ok.p);
    return 0;
}
