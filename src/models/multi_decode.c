/*
 * Continuous batching: one token for each of several sessions in one forward
 * pass. The matrix products run over all rows at once, so every weight is read
 * once per step instead of once per session; the per-sequence parts (KV store,
 * attention) run on each session's own cache at its own position, with the
 * same code as hr_llama_forward, so each row's result equals a lone eval.
 * Keep the layer loop in step with hr_llama_forward: the serve test compares
 * batched logprobs with lone ones.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "models/model_internal.h"
#include "models/moe.h"

/* Decodes n <= ss[0]->n_batch rows, using ss[0]'s scratch for the batch. */
static void decode_group(hearth_session *const *ss, const int32_t *tokens, int n, float *logits) {
    hearth_session *B = ss[0];
    const hearth_model *m = B->m;
    const hr_hparams *hp = &m->hp;
    const int d = hp->n_embd, hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv;
    const int dq = nh * hd, dkv = nkv * hd, ff = hp->n_ff, nrot = hp->n_rot;
    const hr_type_traits *et = hr_type_traits_get(m->tok_embd.type);

    for (int t = 0; t < n; t++) {
        et->to_float(m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes, B->x + (size_t)t * d, d);
        hr_llama_rope_cache(m, ss[t]->n_past, B->rope + (size_t)t * nrot);
    }
    for (int il = 0; il < hp->n_layer; il++) {
        const hr_layer *L = &m->layers[il];
        for (int t = 0; t < n; t++) hr_llama_rmsnorm(B->x + (size_t)t * d, L->attn_norm, B->xn + (size_t)t * d, d, hp->rms_eps);
        {
            const hr_weight *w[3] = {&L->wq, &L->wk, &L->wv};
            float *o[3] = {B->q, B->k, B->v};
            hr_matmul(m, &B->mm, 3, w, B->xn, n, o);
        }
        hr_llama_add_bias(B->q, L->bq, n, dq);
        hr_llama_add_bias(B->k, L->bk, n, dkv);
        hr_llama_add_bias(B->v, L->bv, n, dkv);
        for (int t = 0; t < n; t++) {
            const float *rc = B->rope + (size_t)t * nrot;
            for (int h = 0; h < nh; h++) {
                float *qh = B->q + (size_t)t * dq + (size_t)h * hd;
                if (L->q_norm) hr_llama_rmsnorm(qh, L->q_norm, qh, hd, hp->rms_eps);
                hr_llama_rope_apply(m, rc, qh);
            }
            for (int h = 0; h < nkv; h++) {
                float *kh = B->k + (size_t)t * dkv + (size_t)h * hd;
                if (L->k_norm) hr_llama_rmsnorm(kh, L->k_norm, kh, hd, hp->rms_eps);
                hr_llama_rope_apply(m, rc, kh);
            }
            if (hp->attn_temp_scale != 0.0f) {
                const float pos = (float)ss[t]->n_past;
                const float sc = (float)(log(floor(pos / (float)hp->attn_temp_floor) + 1.0) * hp->attn_temp_scale + 1.0);
                float *qt = B->q + (size_t)t * dq;
                for (int i = 0; i < dq; i++) qt[i] *= sc;
            }
        }
        for (int t = 0; t < n; t++) {
            hearth_session *S = ss[t];
            /* Row 0 of the batch already is ss[0]'s own row 0; the others move to their session's scratch. */
            if (t > 0) {
                memcpy(S->q, B->q + (size_t)t * dq, (size_t)dq * sizeof(float));
                memcpy(S->k, B->k + (size_t)t * dkv, (size_t)dkv * sizeof(float));
                memcpy(S->v, B->v + (size_t)t * dkv, (size_t)dkv * sizeof(float));
            }
            hr_llama_store_kv(S, il, 1, S->n_past);
            hr_llama_attention(S, il, 1, S->n_past);
            if (t > 0) memcpy(B->att + (size_t)t * dq, S->att, (size_t)dq * sizeof(float));
        }
        {
            const hr_weight *w[1] = {&L->wo};
            float *o[1] = {B->xn};
            hr_matmul(m, &B->mm, 1, w, B->att, n, o);
        }
        hr_llama_add_bias(B->xn, L->bo, n, d);
        for (size_t i = 0; i < (size_t)n * d; i++) B->x[i] += B->xn[i];
        for (int t = 0; t < n; t++) hr_llama_rmsnorm(B->x + (size_t)t * d, L->ffn_norm, B->xn + (size_t)t * d, d, hp->rms_eps);
        if (m->moe) {
            /* as hr_llama_forward: B->att is free once the attention output is added */
            hr_moe_forward(m, B->moe, il, B->xn, n, B->att);
            for (size_t i = 0; i < (size_t)n * d; i++) B->x[i] += B->att[i];
            continue;
        }
        {
            const hr_weight *w[2] = {&L->gate, &L->up};
            float *o[2] = {B->gate, B->up};
            hr_matmul(m, &B->mm, 2, w, B->xn, n, o);
        }
        hr_llama_add_bias(B->gate, L->gate_b, n, ff);
        hr_llama_add_bias(B->up, L->up_b, n, ff);
        {
            m->kernels.swiglu((int64_t)n * ff, B->gate, B->up);
        }
        {
            const hr_weight *w[1] = {&L->down};
            float *o[1] = {B->xn};
            hr_matmul(m, &B->mm, 1, w, B->gate, n, o);
        }
        hr_llama_add_bias(B->xn, L->down_b, n, d);
        for (size_t i = 0; i < (size_t)n * d; i++) B->x[i] += B->xn[i];
    }
    for (int t = 0; t < n; t++) hr_llama_rmsnorm(B->x + (size_t)t * d, m->output_norm, B->xn + (size_t)t * d, d, hp->rms_eps);
    const hr_weight *w[1] = {&m->output};
    float *o[1] = {logits};
    hr_matmul(m, &B->mm, 1, w, B->xn, n, o);
    hr_llama_add_bias(logits, m->output_b, n, hp->n_vocab);
    for (int t = 0; t < n; t++) {
        hearth_session *S = ss[t];
        memcpy(S->logits, logits + (size_t)t * hp->n_vocab, (size_t)hp->n_vocab * sizeof(float));
        S->has_logits = true;
        S->n_past++;
    }
}

hearth_status hearth_sessions_decode(hearth_session *const *ss, const int32_t *tokens, size_t n, hearth_error *err) {
    if (n == 0) return HEARTH_OK;
    if (!ss || !tokens) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_sessions_decode: sessions or tokens is NULL");
    const hearth_model *m = ss[0] ? ss[0]->m : NULL;
    for (size_t i = 0; i < n; i++) {
        if (!ss[i]) return hr_fail(err, HEARTH_ERR_INVALID, "session %zu is NULL", i);
        if (ss[i]->m != m) return hr_fail(err, HEARTH_ERR_INVALID, "session %zu belongs to another model", i);
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return hr_fail(err, HEARTH_ERR_RANGE, "token id %d is out of range (vocabulary size %d)", tokens[i], m->hp.n_vocab);
        if (ss[i]->n_past >= ss[i]->n_ctx)
            return hr_fail(err, HEARTH_ERR_RANGE, "session %zu: context is full (%d positions)", i, ss[i]->n_ctx);
        for (size_t k = 0; k < i; k++)
            if (ss[k] == ss[i]) return hr_fail(err, HEARTH_ERR_INVALID, "session %zu appears twice", i);
    }
    /* The hybrids (Gated DeltaNet, Mamba-2) and Gemma have their own forward passes: one session at a time. */
    if (n == 1 || m->nemotron || m->qwen35 || m->gemma) {
        for (size_t i = 0; i < n; i++) {
            hearth_status st = hearth_session_eval(ss[i], tokens + i, 1, err);
            if (st) return st;
        }
        return HEARTH_OK;
    }
    size_t group = 0;
    for (size_t i = 0; i < n; i++)
        if ((size_t)ss[i]->n_batch > group) group = (size_t)ss[i]->n_batch;
    if (group > n) group = n;
    float *logits = malloc(group * (size_t)m->hp.n_vocab * sizeof(float));
    if (!logits) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for %zu rows of logits", group);
    for (size_t i = 0; i < n;) {
        /* the group's first session lends its scratch: at most its n_batch rows */
        size_t k = n - i < (size_t)ss[i]->n_batch ? n - i : (size_t)ss[i]->n_batch;
        decode_group(ss + i, tokens + i, (int)k, logits);
        i += k;
    }
    free(logits);
    return HEARTH_OK;
}
