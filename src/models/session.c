/* Sessions: the KV cache of one sequence and the scratch of the forward pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "common/error.h"
#include "models/model_internal.h"
#include "models/moe.h"
#include "models/nemotron_h.h"
#include "models/qwen35.h"
#include "models/gemma.h"
#include "models/hybrid_internal.h"

/* Large buffers read end to end at every step (the KV cache): 2 MiB aligned and
 * marked for transparent huge pages, so that a pass over a 16K-token cache does
 * not take a TLB miss every few rows. Freed with free(). */
void *hr_alloc_huge(size_t n) {
    const size_t huge = (size_t)2 << 20;
    if (n < huge) return malloc(n);
    const size_t rounded = (n + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, rounded);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

hr_type hr_cache_hr_type(hearth_cache_type t) {
    switch (t) {
    case HEARTH_CACHE_F32: return HR_TYPE_F32;
    case HEARTH_CACHE_Q8_0: return HR_TYPE_Q8_0;
    case HEARTH_CACHE_F16: break;
    }
    return HR_TYPE_F16;
}

bool hearth_cache_type_from_name(const char *name, hearth_cache_type *out) {
    if (!name) return false;
    if (!strcasecmp(name, "f16")) *out = HEARTH_CACHE_F16;
    else if (!strcasecmp(name, "q8_0")) *out = HEARTH_CACHE_Q8_0;
    else if (!strcasecmp(name, "f32")) *out = HEARTH_CACHE_F32;
    else return false;
    return true;
}

const char *hearth_cache_type_name(hearth_cache_type t) { return hr_type_name(hr_cache_hr_type(t)); }

uint64_t hearth_model_kv_bytes(const hearth_model *m, int32_t n_ctx, hearth_cache_type t) {
    if (!m || n_ctx <= 0) return 0;
    const hr_hparams *hp = &m->hp;
    if (m->gemma) return hr_gemma_kv_bytes(m, n_ctx, hearth_session_default_params().n_batch, t);
    uint64_t row = hr_row_size(hr_cache_hr_type(t), (int64_t)hp->n_head_kv * hp->head_dim);
    if (row == 0) /* q8_0 needs whole blocks: rounded up for the estimate */
        row = (uint64_t)((hp->n_head_kv * hp->head_dim + HR_QK8_0 - 1) / HR_QK8_0) * sizeof(hr_block_q8_0);
    return 2ull * (uint64_t)hr_model_kv_layers(m) * (uint64_t)n_ctx * row;
}

/* MemAvailable from /proc/meminfo in bytes; 0 when unknown. */
static uint64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

hearth_session_params hearth_session_default_params(void) {
    return (hearth_session_params){.n_ctx = 0, .cache_type = HEARTH_CACHE_F16, .n_batch = 256};
}

static size_t scratch_bytes(const hearth_model *m, int32_t n_batch, int32_t n_ctx, size_t *attn_stride) {
    const hr_hparams *hp = &m->hp;
    size_t nb = (size_t)n_batch;
    size_t d = (size_t)hp->n_embd, dq = (size_t)hp->n_head * hp->head_dim, dkv = (size_t)hp->n_head_kv * hp->head_dim;
    *attn_stride = hr_attention_scratch_floats(hp, n_ctx);
    return nb * (3 * d + dq * 2 + dkv * 2 + 2 * (size_t)hp->n_ff + (size_t)hp->n_rot) * sizeof(float);
}

hearth_status hearth_session_new(hearth_model *m, const hearth_session_params *params, hearth_session **out,
                                 hearth_error *err) {
    if (!out) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_session_new: out is NULL");
    *out = NULL;
    if (!m) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_session_new: model is NULL");
    hearth_session_params p = params ? *params : hearth_session_default_params();
    const hr_hparams *hp = &m->hp;
    if (p.cache_type != HEARTH_CACHE_F16 && p.cache_type != HEARTH_CACHE_Q8_0 && p.cache_type != HEARTH_CACHE_F32)
        return hr_fail(err, HEARTH_ERR_INVALID, "unknown cache type %d", (int)p.cache_type);
    hr_type kt = hr_cache_hr_type(p.cache_type);
    if (p.cache_type == HEARTH_CACHE_Q8_0 && hp->head_dim % HR_QK8_0)
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "cache type q8_0 needs a head size that is a multiple of 32 (this model: %d)",
                       hp->head_dim);
    hr_type vdt = hr_type_traits_get(kt)->vec_dot_type;
    if (!m->kernels.vec_dot[kt] || !m->kernels.quantize_row[kt] || !m->kernels.quantize_row[vdt])
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED, "cache type %s is not supported by the %s kernels",
                       hr_type_name(kt), m->kernels.isa_name);
    if (p.n_batch <= 0) p.n_batch = 256;
    if (p.n_batch > 4096) p.n_batch = 4096;

    uint64_t avail = mem_available();
    const int32_t max_ctx = 1 << 24;
    if (p.n_ctx > max_ctx) return hr_fail(err, HEARTH_ERR_RANGE, "context length %d is too large (at most %d)", p.n_ctx, max_ctx);
    if (p.n_ctx > 0) {
        uint64_t need = hearth_model_kv_bytes(m, p.n_ctx, p.cache_type);
        if (avail && need > avail)
            return hr_fail(err, HEARTH_ERR_NOMEM,
                           "context length %d needs %.1f MiB of %s KV cache, more than the %.1f MiB of memory available",
                           p.n_ctx, need / 1048576.0, hr_type_name(kt), avail / 1048576.0);
    } else {
        p.n_ctx = hp->n_ctx_train < max_ctx ? hp->n_ctx_train : max_ctx;
        /* Leave half of the available memory for the weights' pages and everything else. */
        int32_t ctx = p.n_ctx;
        while (avail && ctx > 256 && hearth_model_kv_bytes(m, ctx, p.cache_type) > avail / 2) ctx /= 2;
        if (ctx != p.n_ctx) {
            fprintf(stderr, "hearth: warning: context reduced from %d to %d to fit the available memory (%.0f MiB)\n",
                    p.n_ctx, ctx, avail / 1048576.0);
            p.n_ctx = ctx;
        }
    }
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;

    hearth_session *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    s->m = m;
    s->n_ctx = p.n_ctx;
    s->n_batch = p.n_batch;
    s->cache_type = p.cache_type;
    s->kv_type = kt;
    s->kv_row_bytes = hr_row_size(kt, (int64_t)hp->n_head_kv * hp->head_dim);
    /* gemma models keep their own per-layer KV (s->gemma) */
    size_t kv = m->gemma ? 0 : (size_t)hr_model_kv_layers(m) * (size_t)s->n_ctx * s->kv_row_bytes;
    s->k_cache = hr_alloc_huge(kv ? kv : 1); /* a model may have no attention layer */
    s->v_cache = hr_alloc_huge(kv ? kv : 1);
    size_t sb = scratch_bytes(m, s->n_batch, s->n_ctx, &s->attn_scratch_stride);
    float *scratch = malloc(sb);
    int nt = hr_threadpool_n_threads(m->pool);
    s->attn_scratch = malloc((size_t)nt * s->attn_scratch_stride * sizeof(float));
    s->logits = malloc((size_t)hp->n_vocab * sizeof(float));
    int64_t max_in = hp->n_embd;
    if (hp->n_ff > max_in) max_in = hp->n_ff;
    if ((int64_t)hp->n_head * hp->head_dim > max_in) max_in = (int64_t)hp->n_head * hp->head_dim;
    s->mm.cap = hr_mm_scratch_bytes(s->n_batch, max_in);
    bool ok = (!kv || (s->k_cache && s->v_cache)) && scratch && s->attn_scratch && s->logits;
    for (int i = 0; i < HR_MM_MAX_W; i++) ok = ok && (s->mm.buf[i] = malloc(s->mm.cap)) != NULL;
    if (!ok) {
        free(scratch);
        hearth_session_free(s);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for a context of %d tokens", p.n_ctx);
    }
    size_t nb = (size_t)s->n_batch, d = (size_t)hp->n_embd, dq = (size_t)hp->n_head * hp->head_dim,
           dkv = (size_t)hp->n_head_kv * hp->head_dim, ff = (size_t)hp->n_ff;
    float *cur = scratch;
    s->x = cur; cur += nb * d;
    s->xn = cur; cur += nb * d;
    s->att = cur; cur += nb * (dq > d ? dq : d);
    s->q = cur; cur += nb * dq;
    s->k = cur; cur += nb * dkv;
    s->v = cur; cur += nb * dkv;
    s->gate = cur; cur += nb * ff;
    s->up = cur; cur += nb * ff;
    s->rope = cur;
    if (m->moe || m->qwen35 || m->nemotron || m->gemma) {
        hearth_status st = HEARTH_OK;
        if (m->gemma) st = hr_gemma_session_init(s, err);
        if (!st && m->moe) st = hr_moe_scratch_new(m, s->n_batch, &s->moe, err);
        if (!st && (m->qwen35 || m->nemotron)) st = hr_qwen35_session_new(s, err);
        if (st) {
            hearth_session_free(s);
            return st;
        }
    }
    *out = s;
    return HEARTH_OK;
}

void hearth_session_free(hearth_session *s) {
    if (!s) return;
    free(s->k_cache);
    free(s->v_cache);
    hr_gemma_state_free(s->gemma);
    free(s->x); /* start of the scratch block */
    free(s->attn_scratch);
    free(s->logits);
    for (int i = 0; i < HR_MM_MAX_W; i++) free(s->mm.buf[i]);
    hr_moe_scratch_free(s->moe);
    hr_qwen35_session_free(s->qwen35);
    free(s);
}

int32_t hearth_session_n_ctx(const hearth_session *s) { return s ? s->n_ctx : 0; }
int32_t hearth_session_n_past(const hearth_session *s) { return s ? s->n_past : 0; }
const float *hearth_session_logits(const hearth_session *s) { return s && s->has_logits ? s->logits : NULL; }

static hearth_status eval_impl(hearth_session *s, const int32_t *tokens, size_t n, float *all, hearth_error *err) {
    if (!s) return hr_fail(err, HEARTH_ERR_INVALID, "session is NULL");
    if (n == 0) return HEARTH_OK;
    if (!tokens) return hr_fail(err, HEARTH_ERR_INVALID, "tokens is NULL");
    const int32_t nv = s->m->hp.n_vocab;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= nv)
            return hr_fail(err, HEARTH_ERR_RANGE, "token id %d is out of range (vocabulary size %d)", tokens[i], nv);
    if (n > (size_t)(s->n_ctx - s->n_past))
        return hr_fail(err, HEARTH_ERR_RANGE, "context is full: %d of %d positions used, %zu more needed", s->n_past,
                       s->n_ctx, n);
    /* Hybrids snapshot their recurrent state a few tokens before the end of a
     * multi-token eval and at its end, for prefix reuse (models/hybrid_state.c). */
    size_t tail = s->qwen35 && n > 1 ? (n > HR_HY_CKPT_TAIL ? HR_HY_CKPT_TAIL : n - 1) : 0;
    size_t split[2] = {n - tail, n};
    for (size_t i = 0, part = 0; part < 2; part++) {
        for (; i < split[part];) {
            size_t rem = split[part] - i;
            int nb = (int)(rem < (size_t)s->n_batch ? rem : (size_t)s->n_batch);
            float *out = all ? all + i * (size_t)nv : NULL;
            if (s->m->gemma) hr_gemma_forward(s, tokens + i, nb, out);
            else if (s->m->nemotron) hr_nemotron_h_forward(s, tokens + i, nb, out);
            else if (s->qwen35) hr_qwen35_forward(s, tokens + i, nb, out);
            else hr_llama_forward(s, tokens + i, nb, out);
            i += (size_t)nb;
        }
        if (tail) hr_hy_checkpoint(s);
    }
    return HEARTH_OK;
}

hearth_status hearth_session_eval(hearth_session *s, const int32_t *tokens, size_t n, hearth_error *err) {
    return eval_impl(s, tokens, n, NULL, err);
}

hearth_status hearth_session_eval_all(hearth_session *s, const int32_t *tokens, size_t n, float *logits,
                                      hearth_error *err) {
    if (!logits) return hr_fail(err, HEARTH_ERR_INVALID, "logits is NULL");
    return eval_impl(s, tokens, n, logits, err);
}

hearth_status hearth_session_truncate(hearth_session *s, int32_t n_keep, hearth_error *err) {
    if (!s) return hr_fail(err, HEARTH_ERR_INVALID, "session is NULL");
    if (n_keep < 0 || n_keep > s->n_past)
        return hr_fail(err, HEARTH_ERR_RANGE, "cannot keep %d positions: the cache holds %d", n_keep, s->n_past);
    if (s->m->gemma && !hr_gemma_can_truncate(s, n_keep))
        return hr_fail(err, HEARTH_ERR_RANGE,
                       "cannot keep %d positions: the sliding-window layers no longer hold the positions before it", n_keep);
    /* A recurrent state cannot be rewound: only restored from a snapshot. */
    if (s->qwen35 && !hr_hy_restore(s, n_keep))
        return hr_fail(err, HEARTH_ERR_UNSUPPORTED,
                       "cannot keep %d of %d positions: this model's recurrent state cannot be rewound there "
                       "(hearth_session_reusable says how much can be kept)",
                       n_keep, s->n_past);
    s->n_past = n_keep;
    s->has_logits = false;
    return HEARTH_OK;
}

int32_t hearth_session_reusable(const hearth_session *s, int32_t n_keep) {
    if (!s || n_keep <= 0) return 0;
    if (n_keep > s->n_past) n_keep = s->n_past;
    if (s->m->gemma && !hr_gemma_can_truncate(s, n_keep)) return 0;
    if (s->qwen35) return hr_hy_reusable(s, n_keep);
    return n_keep;
}

void hearth_session_reset(hearth_session *s) {
    if (!s) return;
    s->n_past = 0;
    s->has_logits = false;
    hr_qwen35_session_reset(s->qwen35);
}
