/*
 * Accessors over a validated GGUF file. Out-of-range indices and wrong types
 * give neutral answers (NULL, 0, HR_GGUF_TYPE_COUNT) rather than crashing, so
 * a caller walking a file it did not write can never read out of bounds.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "gguf/gguf_internal.h"

size_t hr_gguf_type_size(uint32_t type) {
    switch (type) {
    case HR_GGUF_UINT8: case HR_GGUF_INT8: case HR_GGUF_BOOL: return 1;
    case HR_GGUF_UINT16: case HR_GGUF_INT16: return 2;
    case HR_GGUF_UINT32: case HR_GGUF_INT32: case HR_GGUF_FLOAT32: return 4;
    case HR_GGUF_UINT64: case HR_GGUF_INT64: case HR_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

const char *hr_gguf_type_name(uint32_t type) {
    static const char *const names[HR_GGUF_TYPE_COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64",
    };
    return type < HR_GGUF_TYPE_COUNT ? names[type] : "unknown";
}

uint32_t hr_gguf_version(const hr_gguf *g) { return g->version; }
size_t hr_gguf_alignment(const hr_gguf *g) { return g->alignment; }
size_t hr_gguf_file_size(const hr_gguf *g) { return g->size; }
size_t hr_gguf_data_offset(const hr_gguf *g) { return g->data_offset; }

int64_t hr_gguf_n_kv(const hr_gguf *g) { return g->n_kv; }

static int cmp_key(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const hr_gguf_name_index *)elem)->name);
}

static int64_t find_in(const hr_gguf_name_index *ix, int64_t n, const char *name) {
    if (!name || n <= 0) return -1;
    const hr_gguf_name_index *e = bsearch(name, ix, (size_t)n, sizeof *ix, cmp_key);
    return e ? e->idx : -1;
}

int64_t hr_gguf_find_key(const hr_gguf *g, const char *key) { return find_in(g->kv_index, g->n_kv, key); }

static const hr_gguf_kv *kv_at(const hr_gguf *g, int64_t i) { return i >= 0 && i < g->n_kv ? &g->kvs[i] : NULL; }

const char *hr_gguf_key(const hr_gguf *g, int64_t i) {
    const hr_gguf_kv *kv = kv_at(g, i);
    return kv ? kv->key : NULL;
}

hr_gguf_type hr_gguf_kv_type(const hr_gguf *g, int64_t i) {
    const hr_gguf_kv *kv = kv_at(g, i);
    return kv ? kv->type : HR_GGUF_TYPE_COUNT;
}

hr_gguf_type hr_gguf_arr_type(const hr_gguf *g, int64_t i) {
    const hr_gguf_kv *kv = kv_at(g, i);
    return kv ? kv->arr_type : HR_GGUF_TYPE_COUNT;
}

uint64_t hr_gguf_arr_len(const hr_gguf *g, int64_t i) {
    const hr_gguf_kv *kv = kv_at(g, i);
    return kv && kv->type == HR_GGUF_ARRAY ? kv->arr_len : 0;
}

const void *hr_gguf_arr_data(const hr_gguf *g, int64_t i) {
    const hr_gguf_kv *kv = kv_at(g, i);
    if (!kv || kv->type != HR_GGUF_ARRAY || kv->arr_type == HR_GGUF_STRING) return NULL;
    return kv->data;
}

hr_gguf_str hr_gguf_arr_str(const hr_gguf *g, int64_t i, uint64_t j) {
    const hr_gguf_kv *kv = kv_at(g, i);
    if (!kv || kv->type != HR_GGUF_ARRAY || kv->arr_type != HR_GGUF_STRING || j >= kv->arr_len)
        return (hr_gguf_str){NULL, 0};
    return kv->strs[j];
}

hr_gguf_str hr_gguf_get_str(const hr_gguf *g, int64_t i) {
    const hr_gguf_kv *kv = kv_at(g, i);
    if (!kv || kv->type != HR_GGUF_STRING) return (hr_gguf_str){NULL, 0};
    return kv->str;
}

/* ---- typed getters ---- */

/* An integer value of any width, as sign + magnitude so every width compares exactly. */
typedef struct intval {
    bool neg;
    uint64_t mag;
} intval;

static bool read_int(const hr_gguf_kv *kv, intval *v) {
    const uint8_t *p = kv->data;
    int64_t s;
    switch (kv->type) {
    case HR_GGUF_UINT8: *v = (intval){false, p[0]}; return true;
    case HR_GGUF_UINT16: *v = (intval){false, hr_le16(p)}; return true;
    case HR_GGUF_UINT32: *v = (intval){false, hr_le32(p)}; return true;
    case HR_GGUF_UINT64: *v = (intval){false, hr_le64(p)}; return true;
    case HR_GGUF_INT8: s = (int8_t)p[0]; break;
    case HR_GGUF_INT16: s = (int16_t)hr_le16(p); break;
    case HR_GGUF_INT32: s = (int32_t)hr_le32(p); break;
    case HR_GGUF_INT64: s = (int64_t)hr_le64(p); break;
    default: return false;
    }
    *v = s < 0 ? (intval){true, (uint64_t)0 - (uint64_t)s} : (intval){false, (uint64_t)s};
    return true;
}

static hearth_status lookup(const hr_gguf *g, const char *key, const hr_gguf_kv **kv, hearth_error *err) {
    *kv = kv_at(g, hr_gguf_find_key(g, key));
    if (!*kv) return hr_fail(err, HEARTH_ERR_MISSING, "missing key '%s'", key ? key : "(null)");
    return HEARTH_OK;
}

static hearth_status wrong_type(const hr_gguf_kv *kv, const char *want, hearth_error *err) {
    hr_fail(err, HEARTH_ERR_FORMAT, "key '%s' has type %s, expected %s", kv->key, hr_gguf_type_name(kv->type), want);
    hr_gguf_oneline(err);
    return HEARTH_ERR_FORMAT;
}

static hearth_status out_of_range(const hr_gguf_kv *kv, intval v, const char *want, hearth_error *err) {
    hr_fail(err, HEARTH_ERR_FORMAT, "key '%s' value %s%" PRIu64 " is out of range for %s", kv->key, v.neg ? "-" : "",
            v.mag, want);
    hr_gguf_oneline(err);
    return HEARTH_ERR_FORMAT;
}

hearth_status hr_gguf_get_u32(const hr_gguf *g, const char *key, uint32_t *out, hearth_error *err) {
    const hr_gguf_kv *kv;
    intval v;
    if (lookup(g, key, &kv, err) != HEARTH_OK) return HEARTH_ERR_MISSING;
    if (!read_int(kv, &v)) return wrong_type(kv, "an integer", err);
    if (v.neg || v.mag > UINT32_MAX) return out_of_range(kv, v, "uint32", err);
    *out = (uint32_t)v.mag;
    return HEARTH_OK;
}

hearth_status hr_gguf_get_i64(const hr_gguf *g, const char *key, int64_t *out, hearth_error *err) {
    const hr_gguf_kv *kv;
    intval v;
    if (lookup(g, key, &kv, err) != HEARTH_OK) return HEARTH_ERR_MISSING;
    if (!read_int(kv, &v)) return wrong_type(kv, "an integer", err);
    if (!v.neg && v.mag > (uint64_t)INT64_MAX) return out_of_range(kv, v, "int64", err);
    *out = v.neg ? (int64_t)(0 - v.mag) : (int64_t)v.mag;
    return HEARTH_OK;
}

hearth_status hr_gguf_get_f32(const hr_gguf *g, const char *key, float *out, hearth_error *err) {
    const hr_gguf_kv *kv;
    intval v;
    if (lookup(g, key, &kv, err) != HEARTH_OK) return HEARTH_ERR_MISSING;
    if (kv->type == HR_GGUF_FLOAT32) {
        uint32_t bits = hr_le32(kv->data);
        memcpy(out, &bits, sizeof *out);
        return HEARTH_OK;
    }
    if (kv->type == HR_GGUF_FLOAT64) {
        uint64_t bits = hr_le64(kv->data);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isfinite(d) && fabs(d) > FLT_MAX) {
            hr_fail(err, HEARTH_ERR_FORMAT, "key '%s' value %g is out of range for float32", kv->key, d);
            hr_gguf_oneline(err);
            return HEARTH_ERR_FORMAT;
        }
        *out = (float)d;
        return HEARTH_OK;
    }
    if (read_int(kv, &v)) {
        *out = v.neg ? -(float)v.mag : (float)v.mag;
        return HEARTH_OK;
    }
    return wrong_type(kv, "a number", err);
}

hearth_status hr_gguf_get_bool(const hr_gguf *g, const char *key, bool *out, hearth_error *err) {
    const hr_gguf_kv *kv;
    if (lookup(g, key, &kv, err) != HEARTH_OK) return HEARTH_ERR_MISSING;
    if (kv->type != HR_GGUF_BOOL) return wrong_type(kv, "bool", err);
    *out = kv->data[0] != 0;
    return HEARTH_OK;
}

hearth_status hr_gguf_get_string(const hr_gguf *g, const char *key, const char **out, hearth_error *err) {
    const hr_gguf_kv *kv;
    if (lookup(g, key, &kv, err) != HEARTH_OK) return HEARTH_ERR_MISSING;
    if (kv->type != HR_GGUF_STRING) return wrong_type(kv, "string", err);
    *out = kv->str.ptr;
    return HEARTH_OK;
}

hearth_status hr_gguf_opt_u32(const hr_gguf *g, const char *key, uint32_t *out, hearth_error *err) {
    return hr_gguf_find_key(g, key) < 0 ? HEARTH_OK : hr_gguf_get_u32(g, key, out, err);
}

hearth_status hr_gguf_opt_f32(const hr_gguf *g, const char *key, float *out, hearth_error *err) {
    return hr_gguf_find_key(g, key) < 0 ? HEARTH_OK : hr_gguf_get_f32(g, key, out, err);
}

hearth_status hr_gguf_opt_bool(const hr_gguf *g, const char *key, bool *out, hearth_error *err) {
    return hr_gguf_find_key(g, key) < 0 ? HEARTH_OK : hr_gguf_get_bool(g, key, out, err);
}

/* ---- tensors ---- */

int64_t hr_gguf_n_tensors(const hr_gguf *g) { return g->n_tensors; }

const hr_gguf_tensor *hr_gguf_tensor_at(const hr_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const hr_gguf_tensor *hr_gguf_find_tensor(const hr_gguf *g, const char *name) {
    return hr_gguf_tensor_at(g, find_in(g->tensor_index, g->n_tensors, name));
}
