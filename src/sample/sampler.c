/* Sampling chain in llama.cpp's default order: penalties, top-k, top-p,
 * min-p, temperature, then a draw from the resulting distribution. The PRNG
 * (xoshiro256**) lives in the sampler, so equal seeds give equal outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "hearth.h"

typedef struct {
    int32_t id;
    float logit;
} cand;

struct hearth_sampler {
    hearth_sampler_params p;
    uint64_t rng[4];
    int32_t *hist; /* ring buffer of the last penalty_last_n tokens */
    int32_t hist_n, hist_pos;
    cand *cands;
    int32_t cap;
    float *probs;
    int32_t *counts; /* per vocabulary id, sized on first use */
    int32_t counts_n;
};

hearth_sampler_params hearth_sampler_default_params(void) {
    return (hearth_sampler_params){.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
                                   .repeat_penalty = 1.0f, .frequency_penalty = 0.0f, .presence_penalty = 0.0f,
                                   .penalty_last_n = 64, .seed = 42};
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(uint64_t *s) {
    const uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static double next_uniform(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1.0p-53; }

void hearth_sampler_reset(hearth_sampler *s) {
    if (!s) return;
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    s->hist_n = s->hist_pos = 0;
}

hearth_status hearth_sampler_new(const hearth_sampler_params *params, hearth_sampler **out, hearth_error *err) {
    if (!out) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_sampler_new: out is NULL");
    *out = NULL;
    hearth_sampler_params p = params ? *params : hearth_sampler_default_params();
    if (!isfinite(p.temperature) || !isfinite(p.top_p) || !isfinite(p.min_p) || !isfinite(p.repeat_penalty) ||
        !isfinite(p.frequency_penalty) || !isfinite(p.presence_penalty))
        return hr_fail(err, HEARTH_ERR_INVALID, "sampler parameters must be finite numbers");
    if (p.top_p < 0 || p.min_p > 1) return hr_fail(err, HEARTH_ERR_INVALID, "top-p must be >= 0 and min-p <= 1");
    if (p.repeat_penalty <= 0) return hr_fail(err, HEARTH_ERR_INVALID, "repeat penalty must be positive");
    if (p.penalty_last_n < 0 || p.penalty_last_n > (1 << 20))
        return hr_fail(err, HEARTH_ERR_INVALID, "penalty window %d out of range", p.penalty_last_n);
    hearth_sampler *s = calloc(1, sizeof *s);
    if (!s) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    s->p = p;
    if (p.penalty_last_n > 0 && !(s->hist = malloc((size_t)p.penalty_last_n * sizeof *s->hist))) {
        free(s);
        return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
    }
    hearth_sampler_reset(s);
    *out = s;
    return HEARTH_OK;
}

void hearth_sampler_free(hearth_sampler *s) {
    if (!s) return;
    free(s->hist);
    free(s->cands);
    free(s->probs);
    free(s->counts);
    free(s);
}

void hearth_sampler_accept(hearth_sampler *s, int32_t token) {
    if (!s || s->p.penalty_last_n <= 0) return;
    s->hist[s->hist_pos] = token;
    s->hist_pos = (s->hist_pos + 1) % s->p.penalty_last_n;
    if (s->hist_n < s->p.penalty_last_n) s->hist_n++;
}

static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Softmax of the first n candidates (sorted descending) into s->probs. */
static void softmax(hearth_sampler *s, int32_t n) {
    double sum = 0;
    const float mx = s->cands[0].logit;
    for (int32_t i = 0; i < n; i++) sum += (s->probs[i] = expf(s->cands[i].logit - mx));
    for (int32_t i = 0; i < n; i++) s->probs[i] = (float)(s->probs[i] / sum);
}

/* The index of the first largest logit (NaNs never win; 0 when nothing beats
 * logits[0]), as a sequential scan finds it: the maximum from eight
 * independent running maxima (a sequential scan is one long dependency
 * chain: 0.4 ms over a 152K vocabulary), then its first position. */
static int32_t first_argmax(const float *x, int32_t n) {
    float m[8];
    for (int k = 0; k < 8; k++) m[k] = x[0];
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    float mx = m[0];
    for (int k = 1; k < 8; k++) mx = m[k] > mx ? m[k] : mx;
    for (i = 0; i < n; i++)
        if (x[i] == mx) return i;
    return 0; /* logits[0] is NaN: nothing compares greater */
}

hearth_status hearth_sampler_sample(hearth_sampler *s, const float *logits, int32_t n_vocab, int32_t *out,
                                    hearth_error *err) {
    if (!s || !logits || !out || n_vocab <= 0) return hr_fail(err, HEARTH_ERR_INVALID, "hearth_sampler_sample: bad arguments");
    const hearth_sampler_params *p = &s->p;
    const bool penalize = s->hist_n > 0 && (p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f);
    if (p->temperature <= 0.0f && !penalize) {
        /* greedy without penalties: the first maximum, as the candidate path below picks it, without copying
         * the vocabulary into candidates (a server samples every slot between two forward passes) */
        *out = first_argmax(logits, n_vocab);
        return HEARTH_OK;
    }
    if (s->cap < n_vocab) {
        cand *c = realloc(s->cands, (size_t)n_vocab * sizeof *c);
        if (c) s->cands = c;
        float *pr = c ? realloc(s->probs, (size_t)n_vocab * sizeof *pr) : NULL;
        if (pr) s->probs = pr;
        if (!c || !pr) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
        s->cap = n_vocab;
    }
    for (int32_t i = 0; i < n_vocab; i++) s->cands[i] = (cand){i, logits[i]};

    if (penalize) {
        if (s->counts_n < n_vocab) {
            int32_t *c = realloc(s->counts, (size_t)n_vocab * sizeof *c);
            if (!c) return hr_fail(err, HEARTH_ERR_NOMEM, "out of memory");
            s->counts = c;
            s->counts_n = n_vocab;
        }
        for (int32_t i = 0; i < s->hist_n; i++)
            if (s->hist[i] >= 0 && s->hist[i] < n_vocab) s->counts[s->hist[i]] = 0;
        for (int32_t i = 0; i < s->hist_n; i++)
            if (s->hist[i] >= 0 && s->hist[i] < n_vocab) s->counts[s->hist[i]]++;
        for (int32_t i = 0; i < s->hist_n; i++) {
            int32_t id = s->hist[i];
            if (id < 0 || id >= n_vocab || s->counts[id] == 0) continue; /* each id once */
            float *l = &s->cands[id].logit;
            if (*l <= 0) *l *= p->repeat_penalty;
            else *l /= p->repeat_penalty;
            *l -= (float)s->counts[id] * p->frequency_penalty + (s->counts[id] > 0 ? p->presence_penalty : 0.0f);
            s->counts[id] = 0;
        }
    }

    if (p->temperature <= 0.0f) {
        int32_t best = 0;
        for (int32_t i = 1; i < n_vocab; i++)
            if (s->cands[i].logit > s->cands[best].logit) best = i;
        *out = s->cands[best].id;
        return HEARTH_OK;
    }

    int32_t n = n_vocab;
    if (p->top_k > 0 && p->top_k < n) {
        /* Partial selection: keep the k best at the front, then sort them. */
        int32_t k = p->top_k;
        qsort(s->cands, (size_t)k, sizeof *s->cands, cmp_cand);
        for (int32_t i = k; i < n; i++) {
            if (cmp_cand(&s->cands[i], &s->cands[k - 1]) >= 0) continue;
            int32_t j = k - 1;
            cand c = s->cands[i];
            while (j > 0 && cmp_cand(&c, &s->cands[j - 1]) < 0) {
                s->cands[j] = s->cands[j - 1];
                j--;
            }
            s->cands[j] = c;
        }
        n = k;
    } else {
        qsort(s->cands, (size_t)n, sizeof *s->cands, cmp_cand);
    }
    if (p->top_p < 1.0f) {
        softmax(s, n);
        double cum = 0;
        int32_t keep = n;
        for (int32_t i = 0; i < n; i++) {
            cum += s->probs[i];
            if (cum >= p->top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (p->min_p > 0.0f) {
        const float thresh = s->cands[0].logit + logf(p->min_p);
        int32_t keep = 1;
        while (keep < n && s->cands[keep].logit >= thresh) keep++;
        n = keep;
    }
    for (int32_t i = 0; i < n; i++) s->cands[i].logit /= p->temperature;
    softmax(s, n);
    double r = next_uniform(s->rng), cum = 0;
    int32_t pick = n - 1;
    for (int32_t i = 0; i < n; i++) {
        cum += s->probs[i];
        if (r < cum) {
            pick = i;
            break;
        }
    }
    *out = s->cands[pick].id;
    return HEARTH_OK;
}
