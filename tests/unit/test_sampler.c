/* Sampler: greedy is the argmax, filters keep what they should (checked by
 * which tokens can ever be drawn), draws follow softmax(logits / T) (checked
 * by frequency against the closed form), penalties follow llama.cpp's rule,
 * and a seed reproduces its sequence. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "hearth.h"

static hearth_sampler *mk(hearth_sampler_params p) {
    hearth_sampler *s = NULL;
    hearth_error err;
    cr_assert_eq(hearth_sampler_new(&p, &s, &err), HEARTH_OK, "%s", err.message);
    return s;
}

static hearth_sampler_params plain(float temp) {
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static int32_t draw(hearth_sampler *s, const float *l, int32_t n) {
    int32_t t = -1;
    cr_assert_eq(hearth_sampler_sample(s, l, n, &t, NULL), HEARTH_OK);
    cr_assert(t >= 0 && t < n);
    return t;
}

Test(sampler, greedy_is_argmax) {
    const float l[5] = {0.1f, 2.0f, -1.0f, 1.9f, 2.0f};
    hearth_sampler *s = mk(plain(0.0f));
    cr_assert_eq(draw(s, l, 5), 1); /* first of the tied maxima */
    hearth_sampler_free(s);
}

/* greedy over long vectors (the vectorised scan's lanes and tail), with ties, -inf and NaNs:
 * the first maximum a plain scan finds */
Test(sampler, greedy_matches_a_plain_scan) {
    hearth_sampler *s = mk(plain(0.0f));
    static float l[1003];
    uint32_t r = 12345;
    for (int trial = 0; trial < 400; trial++) {
        const int n = 1 + trial * 5 % 1003;
        for (int i = 0; i < n; i++) {
            r = r * 1664525u + 1013904223u;
            l[i] = (float)((r >> 8) % 64) / 4.0f; /* coarse values: many ties */
            if (trial % 7 == 0 && (r >> 20) % 9 == 0) l[i] = NAN;
            if (trial % 5 == 0 && (r >> 16) % 11 == 0) l[i] = -INFINITY;
        }
        if (trial % 13 == 0) l[0] = NAN;
        int32_t want = 0;
        for (int i = 1; i < n; i++)
            if (l[i] > l[want]) want = i;
        cr_assert_eq(draw(s, l, n), want, "trial %d (n %d)", trial, n);
    }
    hearth_sampler_free(s);
}

Test(sampler, frequencies_follow_softmax_at_temperature) {
    const float l[3] = {1.0f, 0.0f, -1.0f};
    const float T = 0.7f;
    hearth_sampler *s = mk(plain(T));
    int counts[3] = {0};
    const int N = 40000;
    for (int i = 0; i < N; i++) counts[draw(s, l, 3)]++;
    double z = 0, p[3];
    for (int i = 0; i < 3; i++) z += exp(l[i] / T);
    for (int i = 0; i < 3; i++) {
        p[i] = exp(l[i] / T) / z;
        double sd = sqrt(p[i] * (1 - p[i]) / N);
        cr_expect(fabs((double)counts[i] / N - p[i]) < 5 * sd, "token %d: %g vs %g", i, (double)counts[i] / N, p[i]);
    }
    hearth_sampler_free(s);
}

Test(sampler, top_k_top_p_min_p_restrict_the_support) {
    const float l[6] = {3.0f, 2.9f, 2.0f, 0.0f, -1.0f, -5.0f};
    /* softmax: 0.455, 0.412, 0.167, 0.023, 0.008, 0.0002 */
    hearth_sampler_params p = plain(1.0f);
    p.top_k = 2;
    hearth_sampler *s = mk(p);
    for (int i = 0; i < 2000; i++) cr_assert_lt(draw(s, l, 6), 2);
    hearth_sampler_free(s);
    p = plain(1.0f);
    p.top_p = 0.9f; /* 0.455 + 0.412 < 0.9 <= + 0.167: three tokens */
    s = mk(p);
    bool seen[6] = {0};
    for (int i = 0; i < 4000; i++) seen[draw(s, l, 6)] = true;
    cr_assert(seen[0] && seen[1] && seen[2] && !seen[3] && !seen[4] && !seen[5]);
    hearth_sampler_free(s);
    p = plain(1.0f);
    p.min_p = 0.3f; /* keeps p >= 0.3 * 0.455: tokens 0, 1, 2 */
    s = mk(p);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 4000; i++) seen[draw(s, l, 6)] = true;
    cr_assert(seen[0] && seen[1] && seen[2] && !seen[3]);
    hearth_sampler_free(s);
}

Test(sampler, penalties_follow_llama_cpp_rule) {
    /* repeat penalty divides positive logits and multiplies negative ones;
     * frequency and presence subtract count*f + (count > 0)*p. */
    const float l[3] = {2.0f, 1.5f, -0.2f};
    hearth_sampler_params p = plain(0.0f);
    p.repeat_penalty = 1.5f; /* token 0: 2.0 / 1.5 = 1.33 < 1.5 */
    hearth_sampler *s = mk(p);
    cr_assert_eq(draw(s, l, 3), 0);
    hearth_sampler_accept(s, 0);
    cr_assert_eq(draw(s, l, 3), 1);
    hearth_sampler_free(s);
    p = plain(0.0f);
    p.frequency_penalty = 0.2f; /* two occurrences: 2.0 - 0.4 = 1.6 > 1.5; three: 1.4 < 1.5 */
    s = mk(p);
    hearth_sampler_accept(s, 0);
    hearth_sampler_accept(s, 0);
    cr_assert_eq(draw(s, l, 3), 0);
    hearth_sampler_accept(s, 0);
    cr_assert_eq(draw(s, l, 3), 1);
    hearth_sampler_free(s);
    p = plain(0.0f);
    p.presence_penalty = 0.6f; /* once is enough: 1.4 < 1.5 */
    p.penalty_last_n = 2;      /* and it is forgotten after two other tokens */
    s = mk(p);
    hearth_sampler_accept(s, 0);
    cr_assert_eq(draw(s, l, 3), 1);
    hearth_sampler_accept(s, 2);
    hearth_sampler_accept(s, 2);
    cr_assert_eq(draw(s, l, 3), 0);
    hearth_sampler_free(s);
}

Test(sampler, seed_reproduces_and_reset_restarts) {
    float l[50];
    for (int i = 0; i < 50; i++) l[i] = sinf((float)i);
    hearth_sampler_params p = plain(1.0f);
    p.seed = 1234;
    hearth_sampler *a = mk(p), *b = mk(p);
    int32_t first[64];
    bool differs = false;
    for (int i = 0; i < 64; i++) {
        first[i] = draw(a, l, 50);
        cr_assert_eq(first[i], draw(b, l, 50));
    }
    hearth_sampler_reset(a);
    for (int i = 0; i < 64; i++) cr_assert_eq(draw(a, l, 50), first[i]);
    p.seed = 99;
    hearth_sampler *c = mk(p);
    for (int i = 0; i < 64; i++) differs |= draw(c, l, 50) != first[i];
    cr_assert(differs);
    hearth_sampler_free(a);
    hearth_sampler_free(b);
    hearth_sampler_free(c);
}

Test(sampler, bad_parameters_are_errors) {
    hearth_sampler_params p = plain(1.0f);
    p.repeat_penalty = 0.0f;
    hearth_sampler *s = NULL;
    hearth_error err;
    cr_assert_eq(hearth_sampler_new(&p, &s, &err), HEARTH_ERR_INVALID);
    cr_assert_null(s);
    p = plain(NAN);
    cr_assert_eq(hearth_sampler_new(&p, &s, &err), HEARTH_ERR_INVALID);
}
