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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "models/model_internal.h"
#include "models/moe.h"

/* Appends cnt[i] tokens (toks, session after session) to each of the ns
 * sessions ss[0..ns), rows = their sum <= ss[0]->n_batch, in one pass over
 * the weights using ss[0]'s scratch; each session's attention runs on its own
 * cache over its own rows. logits: room for ns rows (each session's last);
 * pos: room for the rows' positions. */
static void decode_group(hearth_session *const *ss, const int32_t *toks, const int *cnt, int ns, int32_t *pos,
                         float *logits) {
    hearth_session *B = ss[0];
    const hearth_model *m = B->m;
    const hr_hparams *hp = &m->hp;
    const int d = hp->n_embd, hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv;
    const int dq = nh * hd, dkv = nkv * hd, ff = hp->n_ff, nrot = hp->n_rot;
    const hr_type_traits *et = hr_type_traits_get(m->tok_embd.type);
    int n = 0;
    for (int i = 0; i < ns; i++) n += cnt[i];
    /* the position of each row: its session's next positions */
    for (int i = 0, t = 0; i < ns; i++)
        for (int k = 0; k < cnt[i]; k++, t++) pos[t] = ss[i]->n_past + k;

    for (int t = 0; t < n; t++) {
        et->to_float(m->tok_embd.data + (size_t)toks[t] * m->tok_embd.row_bytes, B->x + (size_t)t * d, d);
        hr_llama_rope_cache(m, pos[t], B->rope + (size_t)t * nrot);
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
                const float p = (float)pos[t];
                const float sc = (float)(log(floor(p / (float)hp->attn_temp_floor) + 1.0) * hp->attn_temp_scale + 1.0);
                float *qt = B->q + (size_t)t * dq;
                for (int i = 0; i < dq; i++) qt[i] *= sc;
            }
        }
        for (int i = 0, r0 = 0; i < ns; r0 += cnt[i], i++) {
            hearth_session *S = ss[i];
            const size_t c = (size_t)cnt[i];
            /* The first session's rows already are its own scratch rows; the others move to theirs. */
            if (i > 0) {
                memcpy(S->q, B->q + (size_t)r0 * dq, c * dq * sizeof(float));
                memcpy(S->k, B->k + (size_t)r0 * dkv, c * dkv * sizeof(float));
                memcpy(S->v, B->v + (size_t)r0 * dkv, c * dkv * sizeof(float));
            }
            hr_llama_store_kv(S, il, cnt[i], S->n_past);
        }
        hr_llama_attention_multi(ss, il, cnt, ns);
        for (int i = 1, r0 = cnt[0]; i < ns; r0 += cnt[i], i++)
            memcpy(B->att + (size_t)r0 * dq, ss[i]->att, (size_t)cnt[i] * dq * sizeof(float));
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
    /* logits only for each session's last row */
    for (int i = 0, last = -1; i < ns; i++) {
        last += cnt[i];
        hr_llama_rmsnorm(B->x + (size_t)last * d, m->output_norm, B->xn + (size_t)i * d, d, hp->rms_eps);
    }
    const hr_weight *w[1] = {&m->output};
    float *o[1] = {logits};
    hr_matmul(m, &B->mm, 1, w, B->xn, ns, o);
    hr_llama_add_bias(logits, m->output_b, ns, hp->n_vocab);
    for (int i = 0; i < ns; i++) {
        hearth_session *S = ss[i];
        memcpy(S->logits, logits + (size_t)i * hp->n_vocab, (size_t)hp->n_vocab * sizeof(float));
        S->has_logits = true;
        S->n_past += cnt[i];
    }
}

hearth_status hearth_sessions_eval(hearth_session *const *ss, const int32_t *const *tokens, const size_t *counts, size_t n,
                                  hearth_error *err) {
    if (n == 0) return HEARTH_OK;
    if (!ss || !tokens || !counts) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_sessions_eval: a NULL argument");
    const hearth_model *m = ss[0] ? ss[0]->m : NULL;
    size_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ss[i]) return hr_fail(err, HEARTH_ERR_INVALID, "session %zu is NULL", i);
        if (ss[i]->m != m) return hr_fail(err, HEARTH_ERR_INVALID, "session %zu belongs to another model", i);
        if (counts[i] == 0 || !tokens[i]) return hr_fail(err, HEARTH_ERR_INVALID, "session %zu: no tokens", i);
        if (counts[i] > (size_t)(ss[i]->n_ctx - ss[i]->n_past))
            return hr_fail(err, HEARTH_ERR_RANGE, "session %zu: %zu tokens do not fit its context (%d of %d positions used)", i,
                           counts[i], ss[i]->n_past, ss[i]->n_ctx);
        for (size_t k = 0; k < counts[i]; k++)
            if (tokens[i][k] < 0 || tokens[i][k] >= m->hp.n_vocab)
                return hr_fail(err, HEARTH_ERR_RANGE, "token id %d is out of range (vocabulary size %d)", tokens[i][k],
                               m->hp.n_vocab);
        for (size_t k = 0; k < i; k++)
            if (ss[k] == ss[i]) return hr_fail(err, HEARTH_ERR_INVALID, "session %zu appears twice", i);
        rows += counts[i];
    }
    /* The hybrids (Gated DeltaNet, Mamba-2) and Gemma have their own forward passes, and a lone session
     * gains nothing: one session at a time. So do sessions with more tokens than a batch holds. */
    bool batched = n > 1 && !m->nemotron && !m->qwen35 && !m->gemma;
    for (size_t i = 0; i < n && batched; i++) batched = counts[i] <= (size_t)ss[i]->n_batch;
    if (!batched) {
        for (size_t i = 0; i < n; i++) {
            hearth_status st = hearth_session_eval(ss[i], tokens[i], counts[i], err);
            if (st) return st;
        }
        return HEARTH_OK;
    }
    int32_t *flat = malloc(rows * sizeof *flat), *pos = malloc(rows * sizeof *pos);
    int *cnt = malloc(n * sizeof *cnt);
    float *logits = malloc(n * (size_t)m->hp.n_vocab * sizeof(float));
    if (!flat || !pos || !cnt || !logits) {
        free(flat);
        free(pos);
        free(cnt);
        free(logits);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for a batch of %zu sessions", n);
    }
    for (size_t i = 0, r = 0; i < n; i++) {
        memcpy(flat + r, tokens[i], counts[i] * sizeof *flat);
        r += counts[i];
        cnt[i] = (int)counts[i];
    }
    /* Groups of whole sessions: the group's first session lends its scratch, so at most its n_batch rows. */
    for (size_t i = 0, r = 0; i < n;) {
        size_t k = 0, g = 0;
        while (i + k < n && g + counts[i + k] <= (size_t)ss[i]->n_batch) g += counts[i + k++];
        decode_group(ss + i, flat + r, cnt + i, (int)k, pos, logits);
        i += k;
        r += g;
    }
    free(flat);
    free(pos);
    free(cnt);
    free(logits);
    return HEARTH_OK;
}

hearth_status hearth_sessions_decode(hearth_session *const *ss, const int32_t *tokens, size_t n, hearth_error *err) {
    if (n == 0) return HEARTH_OK;
    if (!ss || !tokens) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_sessions_decode: sessions or tokens is NULL");
    const int32_t **tp = malloc(n * sizeof *tp);
    size_t *ones = malloc(n * sizeof *ones);
    hearth_status st;
    if (!tp || !ones) {
        st = hr_fail(err, HEARTH_ERR_NOMEM, "out of memory for %zu sessions", n);
    } else {
        for (size_t i = 0; i < n; i++) {
            tp[i] = tokens + i;
            ones[i] = 1;
        }
        st = hearth_sessions_eval(ss, tp, ones, n, err);
    }
    free(tp);
    free(ones);
    return st;
}
