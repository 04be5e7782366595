/* The gated delta rule over a chunk of tokens in its parallel (WY / UT
 * transform) form, as used for prompts; decoding keeps the per-token update
 * in qwen35.c. With M the state at the chunk start (rows: value dimensions),
 * G_t the cumulative log decay inside the chunk and beta_t the write strength,
 * the per-token rule M_t = e^{g_t} M_{t-1} + u_t k_t^T with
 * u_t = beta_t (v_t - e^{g_t} M_{t-1} k_t) unrolls to
 *   u_t + sum_{s<t} beta_t e^{G_t - G_s} (k_t . k_s) u_s = beta_t (v_t - e^{G_t} M k_t),
 * a unit lower-triangular system solved by forward substitution, then
 *   o_t   = scale (e^{G_t} M q_t + sum_{s<=t} e^{G_t - G_s} (k_s . q_t) u_s),
 *   M_end = e^{G_c} M + sum_s e^{G_c - G_s} u_s k_s^T.
 * The state is read twice and written once per chunk instead of four passes per
 * token, and decays only enter as differences G_t - G_s <= 0, so nothing
 * overflows however strong the decay. */
#include <math.h>

#include "models/hybrid_internal.h"

size_t hr_gdn_chunk_ws_floats(int D) { return 2 * (size_t)HR_GDN_CHUNK * (size_t)D + HR_GDN_CHUNK; }

void hr_gdn_chunk(hr_vec_dot_fn dot, int D, int c, const hr_gdn_io *io, float scale, float *S, float *ws) {
    float *U = ws, *MQ = U + (size_t)HR_GDN_CHUNK * D, *G = MQ + (size_t)HR_GDN_CHUNK * D;
#define Q(t) (io->q + (size_t)(t) * io->stride)
#define K(t) (io->k + (size_t)(t) * io->stride)
#define V(t) (io->v + (size_t)(t) * io->stride)
#define BETA(t) (io->beta[(size_t)(t) * io->gstride])
    float acc = 0.0f;
    for (int t = 0; t < c; t++) G[t] = acc += io->g[(size_t)t * io->gstride];
    /* M k_t and M q_t for every token, one state row at a time */
    for (int r = 0; r < D; r++) {
        const float *Mr = S + (size_t)r * D;
        for (int t = 0; t < c; t++) {
            dot(D, &U[(size_t)t * D + r], Mr, K(t));
            dot(D, &MQ[(size_t)t * D + r], Mr, Q(t));
        }
    }
    for (int t = 0; t < c; t++) {
        float *u = U + (size_t)t * D;
        const float *v = V(t), b = BETA(t), e = expf(G[t]);
        for (int r = 0; r < D; r++) u[r] = b * (v[r] - e * u[r]);
        for (int s = 0; s < t; s++) {
            float kk;
            dot(D, &kk, K(t), K(s));
            const float a = b * expf(G[t] - G[s]) * kk;
            const float *us = U + (size_t)s * D;
            for (int r = 0; r < D; r++) u[r] -= a * us[r];
        }
    }
    for (int t = 0; t < c; t++) {
        float *o = io->out + (size_t)t * io->out_stride;
        const float *mq = MQ + (size_t)t * D, e = expf(G[t]);
        for (int r = 0; r < D; r++) o[r] = e * mq[r];
        for (int s = 0; s <= t; s++) {
            float kq;
            dot(D, &kq, K(s), Q(t));
            const float w = expf(G[t] - G[s]) * kq;
            const float *us = U + (size_t)s * D;
            for (int r = 0; r < D; r++) o[r] += w * us[r];
        }
        for (int r = 0; r < D; r++) o[r] *= scale;
    }
    const float gl = G[c - 1], el = expf(gl);
    for (int s = 0; s < c; s++) G[s] = expf(gl - G[s]); /* now the weight of u_s in the final state */
    for (int r = 0; r < D; r++) {
        float *Mr = S + (size_t)r * D;
        for (int i = 0; i < D; i++) Mr[i] *= el;
        for (int s = 0; s < c; s++) {
            const float w = G[s] * U[(size_t)s * D + r];
            const float *k = K(s);
            for (int i = 0; i < D; i++) Mr[i] += w * k[i];
        }
    }
#undef Q
#undef K
#undef V
#undef BETA
}
