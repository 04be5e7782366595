/* Forward pass of the llama family (llama, mistral3, qwen2, qwen3): the
 * differences between them are table facts (rope style, QK-norm, biases,
 * attention temperature). Each step mirrors the ggml op llama.cpp uses, with
 * the same float/double choices, so results agree within rounding. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "models/model_internal.h"
#include "models/moe.h"

static void rmsnorm(const float *x, const float *w, float *y, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

static float yarn_ramp(float low, float high, int i0) {
    const float y = (i0 / 2 - low) / fmaxf(0.001f, high - low);
    return 1 - fminf(1, fmaxf(0, y));
}

/* cos/sin pairs for one position, as ggml_rope_cache_init computes them. */
static void rope_cache(const hr_hparams *hp, const float *freq_factors, int64_t pos, float *cache) {
    const float theta_scale = powf(hp->rope_freq_base, -2.0f / hp->n_rot);
    float theta = (float)pos;
    for (int i0 = 0; i0 < hp->n_rot; i0 += 2) {
        const float ff = freq_factors ? freq_factors[i0 / 2] : 1.0f;
        const float theta_extrap = theta / ff;
        const float theta_interp = hp->rope_freq_scale * theta_extrap;
        float th = theta_interp, mscale = hp->rope_attn_factor;
        if (hp->yarn_ext_factor != 0.0f) {
            const float mix = yarn_ramp(hp->yarn_corr_dims[0], hp->yarn_corr_dims[1], i0) * hp->yarn_ext_factor;
            th = theta_interp * (1 - mix) + theta_extrap * mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / hp->rope_freq_scale);
        }
        cache[i0] = cosf(th) * mscale;
        cache[i0 + 1] = sinf(th) * mscale;
        theta *= theta_scale;
    }
}

static void rope_apply(hr_rope_style style, int n_rot, const float *cache, float *x) {
    const int off = style == HR_ROPE_NORM ? 1 : n_rot / 2;
    for (int i0 = 0; i0 < n_rot; i0 += 2) {
        const int ic = style == HR_ROPE_NORM ? i0 : i0 / 2;
        const float c = cache[i0], s = cache[i0 + 1];
        const float x0 = x[ic], x1 = x[ic + off];
        x[ic] = x0 * c - x1 * s;
        x[ic + off] = x0 * s + x1 * c;
    }
}

void hr_rope_neox(int n_rot, const float *cache, float *x) { rope_apply(HR_ROPE_NEOX, n_rot, cache, x); }

static void add_bias(float *y, const float *b, int n_tok, int64_t n) {
    if (!b) return;
    for (int t = 0; t < n_tok; t++)
        for (int64_t i = 0; i < n; i++) y[(size_t)t * n + i] += b[i];
}

typedef struct {
    hearth_session *s;
    const float *q;            /* n x n_head x head_dim queries */
    float *att;                /* n x n_head x head_dim outputs */
    const uint8_t *kc, *vc;    /* the layer's cached keys and values, n_ctx rows of kv_row_bytes */
    float *scratch;            /* per thread: scratch_stride floats (hr_attention_scratch_floats) */
    size_t scratch_stride;
    int n, pos0;
} attn_job;

/* Queries per unit of attention work (tokens x heads sharing a KV head). */
#define ATT_QMAX 16

/* Query heads per KV head (1 for files without a usable KV head count). */
static int kv_group(const hr_hparams *hp) {
    return hp->n_head_kv > 0 && hp->n_head >= hp->n_head_kv ? hp->n_head / hp->n_head_kv : 1;
}

int hr_llama_att_tokens_per_unit(const hr_hparams *hp) {
    const int tb = ATT_QMAX / kv_group(hp);
    return tb < 1 ? 1 : tb;
}

/* Scores of one query over positions 0..p (of a row npos long) to
 * probabilities, in place, zero beyond p. */
static void softmax_row(const hearth_model *m, const hr_hparams *hp, hr_type kt, float *row, int p, int npos) {
    const float mx = m->kernels.scale_max(row, p + 1, hp->kq_scale);
    m->kernels.scale(row, p + 1, (float)(1.0 / m->kernels.exp_sum(row, p + 1, mx)));
    /* ggml multiplies F16 V by the probabilities rounded to F16 */
    if (kt == HR_TYPE_F16) m->kernels.round_f16(row, p + 1);
    for (int i = p + 1; i < npos; i++) row[i] = 0.0f;
}

/* out[q] += w[q][i] * V row i, for the cache's type. */
static void wsum_kv(const hearth_model *m, hr_type kt, int hd, int nq, int npos, const float *w, size_t ws,
                    const uint8_t *v, size_t vs, float *out, size_t os) {
    if (kt == HR_TYPE_F16) m->kernels.wsum_f16(hd, nq, npos, w, ws, (const hr_f16 *)(const void *)v, vs, out, os);
    else if (kt == HR_TYPE_F32) m->kernels.wsum_f32(hd, nq, npos, w, ws, (const float *)(const void *)v, vs, out, os);
    else m->kernels.wsum_q8_0(hd, nq, npos, w, ws, v, vs, out, os);
}

/* The product of nq queries with cached keys: the scores kernel, else the
 * tiled one for several queries, else NULL (vec_dot per pair). */
static hr_gemm_fn scores_fn(const hearth_model *m, hr_type kt, int nq) {
    if (m->kernels.scores[kt]) return m->kernels.scores[kt];
    return nq > 1 ? m->kernels.gemm[kt] : NULL;
}

/* The row type queries take for the products with cached keys: the tiled
 * kernel's activation layout, or vec_dot's. */
static hr_type query_type(const hearth_model *m, hr_type kt, bool tiled) {
    return tiled ? hr_gemm_act_type(&m->kernels, kt) : hr_type_traits_get(kt)->vec_dot_type;
}

static size_t query_row_bytes(const hearth_model *m, hr_type kt, bool tiled) {
    return hr_row_size(query_type(m, kt, tiled), m->hp.head_dim);
}

static void convert_query(const hearth_model *m, hr_type kt, bool tiled, const float *src, uint8_t *dst) {
    const int hd = m->hp.head_dim;
    const hr_type at = query_type(m, kt, tiled);
    if (at == HR_TYPE_F32 && !(tiled && m->kernels.gemm_quantize[kt])) memcpy(dst, src, (size_t)hd * sizeof(float));
    else if (tiled) hr_gemm_act_quantizer(&m->kernels, kt)(src, dst, hd);
    else m->kernels.quantize_row[at](src, dst, hd);
}

/* A unit of attention work is one KV head and a block of consecutive tokens:
 * the block's queries (its tokens times the heads that share the KV head)
 * get their scores from one tiled product with the cached keys, and their
 * outputs from one pass over the cached values, instead of one pass over the
 * cache per query. Per query the arithmetic is the per-pair one (the tiled
 * kernels are bit-identical to vec_dot), with scores beyond a query's own
 * position zeroed before the value pass. */
static int attn_units(const attn_job *j) {
    const hr_hparams *hp = &j->s->m->hp;
    const int tb = hr_llama_att_tokens_per_unit(hp);
    return (j->n + tb - 1) / tb * hp->n_head_kv;
}

/* Unit it of a job (its blocks in reverse, KV heads inner) on thread ith. */
static void attn_unit(attn_job *j, int it, int ith) {
    hearth_session *s = j->s;
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    const int hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv, group = nh / nkv, dq = nh * hd;
    const int tb = hr_llama_att_tokens_per_unit(hp), nblk = (j->n + tb - 1) / tb;
    const size_t sstride = (size_t)s->n_ctx;
    const hr_type kt = s->kv_type;
    float *scores = j->scratch + (size_t)ith * j->scratch_stride;
    float *acc = scores + (size_t)tb * group * sstride;
    uint8_t *qconv = (uint8_t *)(acc + (size_t)tb * group * hd);
    hr_vec_dot_fn dot = m->kernels.vec_dot[kt];
    const uint8_t *kc = j->kc, *vc = j->vc;
    {
        /* the last blocks see the most positions: hand them out first */
        const int blk = nblk - 1 - it / nkv, kvh = it % nkv;
        const int t0 = blk * tb, tn = j->n - t0 < tb ? j->n - t0 : tb, nq = tn * group;
        const int npos = j->pos0 + t0 + tn;
        const hr_gemm_fn kq = scores_fn(m, kt, nq);
        const bool tiled = kq != NULL;
        const size_t qrow = query_row_bytes(m, kt, tiled);
        for (int q = 0; q < nq; q++)
            convert_query(m, kt, tiled, j->q + (size_t)(t0 + q / group) * dq + (size_t)(kvh * group + q % group) * hd,
                          qconv + (size_t)q * qrow);
        const size_t head_off = hr_row_size(kt, (int64_t)kvh * hd);
        if (tiled) {
            kq(hd, npos, nq, kc + head_off, s->kv_row_bytes, qconv, qrow, scores, sstride);
        } else {
            for (int q = 0; q < nq; q++)
                for (int i = 0; i <= j->pos0 + t0 + q / group; i++)
                    dot(hd, &scores[q * sstride + i], kc + (size_t)i * s->kv_row_bytes + head_off, qconv + (size_t)q * qrow);
        }
        for (int q = 0; q < nq; q++) softmax_row(m, hp, kt, scores + q * sstride, j->pos0 + t0 + q / group, npos);
        memset(acc, 0, (size_t)nq * hd * sizeof *acc);
        wsum_kv(m, kt, hd, nq, npos, scores, sstride, vc + head_off, s->kv_row_bytes, acc, (size_t)hd);
        for (int q = 0; q < nq; q++)
            memcpy(j->att + (size_t)(t0 + q / group) * dq + (size_t)(kvh * group + q % group) * hd, acc + (size_t)q * hd,
                   (size_t)hd * sizeof *acc);
    }
}

/* ---- One token over a long cache, split by position ----
 * The per-head units give one token's attention only n_head_kv units of
 * work (2 for Qwen3.5-2B, so 2 busy threads however many there are), each
 * reading its head's slice of every cache row, a row apart. Split by
 * position instead, every thread has work and reads whole rows: every
 * head's scores for a range of positions, the softmax of each head over all
 * of them, then each range's weighted sum of values into its own partial
 * output; the partials are added in range order. Only that last sum differs
 * from the per-head path (an order of additions). */
#define SPLIT_CHUNKS_MAX 16
#define SPLIT_SUB 512 /* rows per step: every head's slice of them while they are in L2 (shorter steps: more per-call setup) */

typedef struct {
    const hearth_model *m;
    hr_type kt;
    size_t row_bytes;
    const uint8_t *kc, *vc;
    const uint8_t *qconv; /* n_head converted queries of qrow bytes */
    size_t qrow;
    hr_gemm_fn kq; /* NULL: vec_dot per pair */
    float *scores; /* n_head rows of sstride */
    size_t sstride;
    float *part;   /* n_chunks x n_head x head_dim partial outputs */
    int npos, chunk;
} split_job;

/* Positions p0..p1-1 of range c. */
static void range_bounds(const split_job *j, int64_t c, int *p0, int *p1) {
    *p0 = (int)c * j->chunk;
    *p1 = j->npos - *p0 < j->chunk ? j->npos : *p0 + j->chunk;
}

/* Every head's scores for rows r0..r0+rn-1: head h's at sc + h * ss. */
static void rows_scores(const split_job *j, int r0, int rn, float *sc, size_t ss) {
    const hearth_model *m = j->m;
    const int hd = m->hp.head_dim, nkv = m->hp.n_head_kv, group = m->hp.n_head / nkv;
    for (int kvh = 0; kvh < nkv; kvh++) {
        const uint8_t *k = j->kc + (size_t)r0 * j->row_bytes + hr_row_size(j->kt, (int64_t)kvh * hd);
        const uint8_t *qv = j->qconv + (size_t)kvh * group * j->qrow;
        float *s = sc + (size_t)kvh * group * ss;
        if (j->kq) {
            j->kq(hd, rn, group, k, j->row_bytes, qv, j->qrow, s, ss);
            continue;
        }
        for (int g = 0; g < group; g++)
            for (int i = 0; i < rn; i++)
                m->kernels.vec_dot[j->kt](hd, &s[(size_t)g * ss + i], k + (size_t)i * j->row_bytes, qv + (size_t)g * j->qrow);
    }
}

/* out (n_head rows of head_dim) += every head's weights w (head h's at w + h * ws) times rows r0..r0+rn-1's values. */
static void rows_values(const split_job *j, int r0, int rn, const float *w, size_t ws, float *out) {
    const hearth_model *m = j->m;
    const int hd = m->hp.head_dim, nkv = m->hp.n_head_kv, group = m->hp.n_head / nkv;
    for (int kvh = 0; kvh < nkv; kvh++)
        wsum_kv(m, j->kt, hd, group, rn, w + (size_t)kvh * group * ws, ws,
                j->vc + (size_t)r0 * j->row_bytes + hr_row_size(j->kt, (int64_t)kvh * hd), j->row_bytes,
                out + (size_t)kvh * group * hd, (size_t)hd);
}

static void split_scores(void *ctx, int64_t c0, int64_t c1, int ith) {
    (void)ith;
    const split_job *j = ctx;
    for (int64_t c = c0; c < c1; c++) {
        int p0, p1;
        range_bounds(j, c, &p0, &p1);
        for (int r0 = p0; r0 < p1; r0 += SPLIT_SUB)
            rows_scores(j, r0, p1 - r0 < SPLIT_SUB ? p1 - r0 : SPLIT_SUB, j->scores + r0, j->sstride);
    }
}

static void split_softmax(void *ctx, int64_t h0, int64_t h1, int ith) {
    (void)ith;
    const split_job *j = ctx;
    for (int64_t h = h0; h < h1; h++)
        softmax_row(j->m, &j->m->hp, j->kt, j->scores + (size_t)h * j->sstride, j->npos - 1, j->npos);
}

static void split_values(void *ctx, int64_t c0, int64_t c1, int ith) {
    (void)ith;
    const split_job *j = ctx;
    const size_t outs = (size_t)j->m->hp.n_head * j->m->hp.head_dim;
    for (int64_t c = c0; c < c1; c++) {
        int p0, p1;
        range_bounds(j, c, &p0, &p1);
        float *part = j->part + (size_t)c * outs;
        memset(part, 0, outs * sizeof *part);
        for (int r0 = p0; r0 < p1; r0 += SPLIT_SUB)
            rows_values(j, r0, p1 - r0 < SPLIT_SUB ? p1 - r0 : SPLIT_SUB, j->scores + r0, j->sstride, part);
    }
}

/* Q8_0 caches in one pass per range (as llama.cpp's flash attention, which a
 * quantized V cache needs there): each step of FUSED_SUB rows gets its
 * scores, folds them into the running maximum and sum of each head (the
 * head's partial output rescaled when its maximum grows), and adds its
 * values weighted by exp(score - maximum); the ranges are combined at the
 * end. Keys and values of the same rows are read together, and there is no
 * softmax pass over all positions between them. F16 caches keep the
 * three-pass form: ggml rounds the normalised probabilities to F16 before
 * the value product, which needs the total first. */
#define FUSED_SUB 512

/* Range c's state in the fused form, in j->part: n_head x head_dim outputs,
 * then each head's running maximum, then its running sum. */
typedef struct {
    float *acc, *mx, *sum;
} fused_state;

static fused_state fused_state_of(const split_job *j, int64_t c) {
    const int hd = j->m->hp.head_dim, nh = j->m->hp.n_head;
    fused_state f;
    f.acc = j->part + (size_t)c * nh * (hd + 2);
    f.mx = f.acc + (size_t)nh * hd;
    f.sum = f.mx + nh;
    return f;
}

static void split_fused(void *ctx, int64_t c0, int64_t c1, int ith) {
    const split_job *j = ctx;
    const hearth_model *m = j->m;
    const hr_hparams *hp = &m->hp;
    const int hd = hp->head_dim, nh = hp->n_head;
    float *sc = j->scores + (size_t)ith * nh * FUSED_SUB;
    for (int64_t c = c0; c < c1; c++) {
        int p0, p1;
        range_bounds(j, c, &p0, &p1);
        const fused_state f = fused_state_of(j, c);
        float *acc = f.acc, *mx = f.mx, *sum = f.sum;
        memset(acc, 0, (size_t)nh * hd * sizeof *acc);
        for (int h = 0; h < nh; h++) mx[h] = -INFINITY, sum[h] = 0.0f;
        for (int r0 = p0; r0 < p1; r0 += FUSED_SUB) {
            const int rn = p1 - r0 < FUSED_SUB ? p1 - r0 : FUSED_SUB;
            rows_scores(j, r0, rn, sc, FUSED_SUB);
            for (int h = 0; h < nh; h++) {
                float *row = sc + (size_t)h * FUSED_SUB;
                const float bm = m->kernels.scale_max(row, rn, hp->kq_scale);
                if (bm > mx[h]) {
                    if (mx[h] != -INFINITY) {
                        const float f = expf(mx[h] - bm);
                        m->kernels.scale(acc + (size_t)h * hd, hd, f);
                        sum[h] *= f;
                    }
                    mx[h] = bm;
                }
                sum[h] += (float)m->kernels.exp_sum(row, rn, mx[h]);
            }
            rows_values(j, r0, rn, sc, FUSED_SUB, acc);
        }
    }
}

/* att (n_head rows of head_dim) = the fused ranges' outputs, each rescaled
 * to the largest maximum of its head and divided by the head's total. */
static void fused_combine(const split_job *j, int n_chunks, float *att) {
    const int hd = j->m->hp.head_dim, nh = j->m->hp.n_head;
    for (int h = 0; h < nh; h++) {
        float top = -INFINITY, total = 0.0f;
        for (int c = 0; c < n_chunks; c++) {
            const fused_state f = fused_state_of(j, c);
            if (f.mx[h] > top) top = f.mx[h];
        }
        for (int c = 0; c < n_chunks; c++) {
            const fused_state f = fused_state_of(j, c);
            total += f.sum[h] * expf(f.mx[h] - top);
        }
        float *o = att + (size_t)h * hd;
        memset(o, 0, (size_t)hd * sizeof *o);
        for (int c = 0; c < n_chunks; c++) {
            const fused_state f = fused_state_of(j, c);
            const float w = expf(f.mx[h] - top) / total;
            for (int d = 0; d < hd; d++) o[d] += f.acc[(size_t)h * hd + d] * w;
        }
    }
}

/* Floats of scratch the split path needs for n_ctx positions. */
static size_t split_scratch_floats(const hr_hparams *hp, int32_t n_ctx) {
    return (size_t)hp->n_head * ((size_t)n_ctx + 16) + (size_t)(SPLIT_CHUNKS_MAX + 1) * hp->n_head * (hp->head_dim + 2) + 16;
}

/* One token of a job over j->pos0 + 1 positions, its scratch taken as one block. */
static void attn_split(const attn_job *aj) {
    hearth_session *s = aj->s;
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    const int hd = hp->head_dim, nh = hp->n_head, group = kv_group(hp), npos = aj->pos0 + 1;
    int n_chunks = (npos + 255) / 256;
    if (n_chunks > SPLIT_CHUNKS_MAX) n_chunks = SPLIT_CHUNKS_MAX;
    int chunk = (npos + n_chunks - 1) / n_chunks;
    chunk = (chunk + 63) / 64 * 64;
    split_job j = {.m = m, .kt = s->kv_type, .row_bytes = s->kv_row_bytes, .kc = aj->kc, .vc = aj->vc,
                   .kq = scores_fn(m, s->kv_type, group), .scores = aj->scratch,
                   .sstride = ((size_t)npos + 15) / 16 * 16, .npos = npos, .chunk = chunk};
    n_chunks = (npos + chunk - 1) / chunk;
    const bool fused = j.kt == HR_TYPE_Q8_0;
    /* scratch, three passes: all scores, then the ranges' partial outputs, then the queries;
     * fused: the ranges' states, the queries, then each thread's block of scores
     * (nt blocks of n_head x FUSED_SUB fit in nt blocks of scratch: attn_splits) */
    float *after = fused ? aj->scratch : aj->scratch + (size_t)nh * j.sstride;
    j.part = after;
    uint8_t *qconv = (uint8_t *)(after + (size_t)SPLIT_CHUNKS_MAX * nh * (fused ? hd + 2 : hd));
    j.qconv = qconv;
    j.qrow = query_row_bytes(m, j.kt, j.kq != NULL);
    for (int h = 0; h < nh; h++) convert_query(m, j.kt, j.kq != NULL, aj->q + (size_t)h * hd, qconv + (size_t)h * j.qrow);
    if (fused) {
        j.scores = (float *)(void *)qconv + (size_t)nh * hd;
        hr_parallel_for(m->pool, n_chunks, 1, split_fused, &j);
        fused_combine(&j, n_chunks, aj->att);
        return;
    }
    hr_parallel_for(m->pool, n_chunks, 1, split_scores, &j);
    hr_parallel_for(m->pool, nh, 1, split_softmax, &j);
    hr_parallel_for(m->pool, n_chunks, 1, split_values, &j);
    for (int h = 0; h < nh; h++) {
        float *o = aj->att + (size_t)h * hd;
        memcpy(o, j.part + (size_t)h * hd, (size_t)hd * sizeof *o);
        for (int c = 1; c < n_chunks; c++) {
            const float *pc = j.part + ((size_t)c * nh + h) * hd;
            for (int d = 0; d < hd; d++) o[d] += pc[d];
        }
    }
}

/* A single token over at least att_split_min positions, in a context of at
 * least FUSED_SUB positions (the fused form's per-thread scores fit then). */
static bool attn_splits(const attn_job *j) {
    return j->n == 1 && j->pos0 + 1 >= j->s->m->att_split_min && j->s->n_ctx >= FUSED_SUB;
}

/* Several sessions' attention in one hand-out of units (one wake-up and one
 * wait of the pool per layer instead of one per session): unit g counts over
 * the jobs in order. */
typedef struct {
    attn_job *jobs;
    int n_jobs;
} attn_set;

static void attn_range(void *ctx, int64_t g0, int64_t g1, int ith) {
    const attn_set *as = ctx;
    for (int64_t g = g0; g < g1; g++) {
        int it = (int)g, i = 0;
        while (it >= attn_units(&as->jobs[i])) it -= attn_units(&as->jobs[i++]);
        attn_unit(&as->jobs[i], it, ith);
    }
}

/* The jobs that split by position run one after the other, the rest together. */
static void attn_run(const hearth_model *m, attn_job *jobs, int n_jobs) {
    attn_job rest[HR_ATT_MULTI_MAX];
    int n_rest = 0;
    int64_t total = 0;
    for (int i = 0; i < n_jobs; i++) {
        if (attn_splits(&jobs[i])) {
            attn_split(&jobs[i]);
            continue;
        }
        rest[n_rest++] = jobs[i];
        total += attn_units(&jobs[i]);
    }
    if (!n_rest) return;
    attn_set as = {.jobs = rest, .n_jobs = n_rest};
    hr_parallel_for(m->pool, total, 1, attn_range, &as);
}

static void store_kv(hearth_session *s, int layer, int n, int pos0) {
    const hr_hparams *hp = &s->m->hp;
    const int dkv = hp->n_head_kv * hp->head_dim;
    const size_t layer_off = (size_t)layer * s->n_ctx * s->kv_row_bytes;
    for (int t = 0; t < n; t++) {
        uint8_t *kd = s->k_cache + layer_off + (size_t)(pos0 + t) * s->kv_row_bytes;
        uint8_t *vd = s->v_cache + layer_off + (size_t)(pos0 + t) * s->kv_row_bytes;
        const float *ks = s->k + (size_t)t * dkv, *vs = s->v + (size_t)t * dkv;
        if (s->kv_type == HR_TYPE_F32) {
            memcpy(kd, ks, (size_t)dkv * sizeof(float));
            memcpy(vd, vs, (size_t)dkv * sizeof(float));
        } else {
            hr_quantize_row_fn conv = s->m->kernels.quantize_row[s->kv_type];
            conv(ks, kd, dkv);
            conv(vs, vd, dkv);
        }
    }
}

void hr_llama_forward(hearth_session *s, const int32_t *tokens, int n, float *all) {
    const hearth_model *m = s->m;
    const hr_hparams *hp = &m->hp;
    const int d = hp->n_embd, hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv;
    const int dq = nh * hd, dkv = nkv * hd, ff = hp->n_ff, nrot = hp->n_rot;
    const int pos0 = s->n_past;
    const hr_type_traits *et = hr_type_traits_get(m->tok_embd.type);

    for (int t = 0; t < n; t++) {
        et->to_float(m->tok_embd.data + (size_t)tokens[t] * m->tok_embd.row_bytes, s->x + (size_t)t * d, d);
        rope_cache(hp, m->rope_freqs, pos0 + t, s->rope + (size_t)t * nrot);
    }

    for (int il = 0; il < hp->n_layer; il++) {
        const hr_layer *L = &m->layers[il];
        for (int t = 0; t < n; t++) rmsnorm(s->x + (size_t)t * d, L->attn_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
        {
            const hr_weight *w[3] = {&L->wq, &L->wk, &L->wv};
            float *o[3] = {s->q, s->k, s->v};
            hr_matmul(m, &s->mm, 3, w, s->xn, n, o);
        }
        add_bias(s->q, L->bq, n, dq);
        add_bias(s->k, L->bk, n, dkv);
        add_bias(s->v, L->bv, n, dkv);
        for (int t = 0; t < n; t++) {
            const float *rc = s->rope + (size_t)t * nrot;
            for (int h = 0; h < nh; h++) {
                float *qh = s->q + (size_t)t * dq + (size_t)h * hd;
                if (L->q_norm) rmsnorm(qh, L->q_norm, qh, hd, hp->rms_eps);
                rope_apply(m->arch->rope, nrot, rc, qh);
            }
            for (int h = 0; h < nkv; h++) {
                float *kh = s->k + (size_t)t * dkv + (size_t)h * hd;
                if (L->k_norm) rmsnorm(kh, L->k_norm, kh, hd, hp->rms_eps);
                rope_apply(m->arch->rope, nrot, rc, kh);
            }
            if (hp->attn_temp_scale != 0.0f) {
                const float pos = (float)(pos0 + t);
                const float sc = (float)(log(floor(pos / (float)hp->attn_temp_floor) + 1.0) * hp->attn_temp_scale + 1.0);
                float *qt = s->q + (size_t)t * dq;
                for (int i = 0; i < dq; i++) qt[i] *= sc;
            }
        }
        store_kv(s, il, n, pos0);
        hr_llama_attention(s, il, n, pos0);
        {
            const hr_weight *w[1] = {&L->wo};
            float *o[1] = {s->xn};
            hr_matmul(m, &s->mm, 1, w, s->att, n, o);
        }
        add_bias(s->xn, L->bo, n, d);
        for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += s->xn[i];

        for (int t = 0; t < n; t++) rmsnorm(s->x + (size_t)t * d, L->ffn_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
        if (m->moe) {
            /* s->att (n * max(dq, d) floats) is free once the attention output is added */
            hr_moe_forward(m, s->moe, il, s->xn, n, s->att);
            for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += s->att[i];
            continue;
        }
        {
            const hr_weight *w[2] = {&L->gate, &L->up};
            float *o[2] = {s->gate, s->up};
            hr_matmul(m, &s->mm, 2, w, s->xn, n, o);
        }
        add_bias(s->gate, L->gate_b, n, ff);
        add_bias(s->up, L->up_b, n, ff);
        {
            m->kernels.swiglu((int64_t)n * ff, s->gate, s->up);
        }
        {
            const hr_weight *w[1] = {&L->down};
            float *o[1] = {s->xn};
            hr_matmul(m, &s->mm, 1, w, s->gate, n, o);
        }
        add_bias(s->xn, L->down_b, n, d);
        for (size_t i = 0; i < (size_t)n * d; i++) s->x[i] += s->xn[i];
    }
    s->n_past += n;

    const int first = all ? 0 : n - 1, rows = n - first;
    for (int t = first; t < n; t++) rmsnorm(s->x + (size_t)t * d, m->output_norm, s->xn + (size_t)t * d, d, hp->rms_eps);
    const hr_weight *w[1] = {&m->output};
    float *o[1] = {all ? all : s->logits};
    hr_matmul(m, &s->mm, 1, w, s->xn + (size_t)first * d, rows, o);
    add_bias(o[0], m->output_b, rows, hp->n_vocab);
    if (all) memcpy(s->logits, all + (size_t)(n - 1) * hp->n_vocab, (size_t)hp->n_vocab * sizeof(float));
    s->has_logits = true;
}

/* ---- Steps exposed for decoding several sessions in one pass (multi_decode.c) ---- */

void hr_llama_rmsnorm(const float *x, const float *w, float *y, int n, float eps) { rmsnorm(x, w, y, n, eps); }

void hr_llama_rope_cache(const hearth_model *m, int64_t pos, float *cache) { rope_cache(&m->hp, m->rope_freqs, pos, cache); }

void hr_llama_rope_apply(const hearth_model *m, const float *cache, float *x) { rope_apply(m->arch->rope, m->hp.n_rot, cache, x); }

void hr_llama_add_bias(float *y, const float *b, int n_tok, int64_t n) { add_bias(y, b, n_tok, n); }

void hr_llama_store_kv(hearth_session *s, int layer, int n, int pos0) { store_kv(s, layer, n, pos0); }

void hr_attention(hearth_session *s, const float *q, float *att, const uint8_t *kc, const uint8_t *vc, float *scratch,
                  size_t scratch_stride, int n, int pos0) {
    attn_job aj = {.s = s, .q = q, .att = att, .kc = kc, .vc = vc, .scratch = scratch,
                   .scratch_stride = scratch_stride, .n = n, .pos0 = pos0};
    attn_run(s->m, &aj, 1);
}

/* Per thread: a unit's scores, outputs and converted queries; and, the
 * threads' blocks taken as one, at least the split path's. */
size_t hr_attention_scratch_floats(const hr_hparams *hp, int32_t n_ctx) {
    const size_t nq = (size_t)hr_llama_att_tokens_per_unit(hp) * (size_t)kv_group(hp);
    const size_t unit = nq * ((size_t)n_ctx + (size_t)hp->head_dim * 2) + 16, split = split_scratch_floats(hp, n_ctx);
    return unit > split ? unit : split;
}

void hr_llama_attention_multi(hearth_session *const *ss, int layer, const int *cnt, int ns) {
    attn_job jobs[HR_ATT_MULTI_MAX];
    for (int i0 = 0; i0 < ns; i0 += HR_ATT_MULTI_MAX) {
        const int k = ns - i0 < HR_ATT_MULTI_MAX ? ns - i0 : HR_ATT_MULTI_MAX;
        for (int i = 0; i < k; i++) {
            hearth_session *s = ss[i0 + i];
            const size_t layer_off = (size_t)layer * s->n_ctx * s->kv_row_bytes;
            jobs[i] = (attn_job){.s = s, .q = s->q, .att = s->att, .kc = s->k_cache + layer_off,
                                 .vc = s->v_cache + layer_off, .scratch = s->attn_scratch,
                                 .scratch_stride = s->attn_scratch_stride, .n = cnt[i0 + i], .pos0 = s->n_past};
        }
        attn_run(ss[0]->m, jobs, k);
    }
}

void hr_llama_attention(hearth_session *s, int layer, int n, int pos0) {
    const size_t layer_off = (size_t)layer * s->n_ctx * s->kv_row_bytes;
    hr_attention(s, s->q, s->att, s->k_cache + layer_off, s->v_cache + layer_off, s->attn_scratch,
                 s->attn_scratch_stride, n, pos0);
}
