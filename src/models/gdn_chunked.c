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
 * The state is read and written once per chunk instead of four passes per
 * token, and decays only enter as differences G_t - G_s <= 0, so nothing
 * overflows however strong the decay. */
#include <math.h>

#include "models/hybrid_internal.h"

size_t hr_gdn_chunk_ws_floats(int D) { return 2 * (size_t)HR_GDN_CHUNK * (size_t)D + 3 * HR_GDN_CHUNK; }

/* Every sum below is a dot product on the vector kernels: the chunk's u and k are
 * kept transposed (one row per dimension, one column per token) so that sums
 * over tokens are contiguous too. */
void hr_gdn_chunk(hr_vec_dot_fn dot, int D, int c, const hr_gdn_io *io, float scale, float *S, float *ws) {
    float *Ut = ws, *Kt = Ut + (size_t)HR_GDN_CHUNK * D, *w = Kt + (size_t)HR_GDN_CHUNK * D;
    float *G = w + HR_GDN_CHUNK, *cu = G + HR_GDN_CHUNK;
#define Q(t) (io->q + (size_t)(t) * io->stride)
#define K(t) (io->k + (size_t)(t) * io->stride)
#define V(t) (io->v + (size_t)(t) * io->stride)
#define O(t) (io->out + (size_t)(t) * io->out_stride)
#define BETA(t) (io->beta[(size_t)(t) * io->gstride])
#define UT(r) (Ut + (size_t)(r) * HR_GDN_CHUNK)
#define KT(i) (Kt + (size_t)(i) * HR_GDN_CHUNK)
    float acc = 0.0f;
    for (int t = 0; t < c; t++) G[t] = acc += io->g[(size_t)t * io->gstride];
    for (int t = 0; t < c; t++)
        for (int i = 0; i < D; i++) KT(i)[t] = K(t)[i];
    /* M k_t and M q_t, one state row at a time; the right-hand side of the system */
    for (int r = 0; r < D; r++) {
        const float *Mr = S + (size_t)r * D;
        for (int t = 0; t < c; t++) {
            float mk, mq;
            dot(D, &mk, Mr, K(t));
            dot(D, &mq, Mr, Q(t));
            const float e = expf(G[t]);
            UT(r)[t] = BETA(t) * (V(t)[r] - e * mk);
            O(t)[r] = e * mq;
        }
    }
    /* forward substitution: column t of U once the columns before it are final */
    for (int t = 1; t < c; t++) {
        for (int s = 0; s < t; s++) {
            float kk;
            dot(D, &kk, K(t), K(s));
            w[s] = BETA(t) * expf(G[t] - G[s]) * kk;
        }
        for (int r = 0; r < D; r++) {
            float sum;
            dot(t, &sum, w, UT(r));
            UT(r)[t] -= sum;
        }
    }
    for (int t = 0; t < c; t++) {
        for (int s = 0; s <= t; s++) {
            float kq;
            dot(D, &kq, K(s), Q(t));
            w[s] = expf(G[t] - G[s]) * kq;
        }
        float *o = O(t);
        for (int r = 0; r < D; r++) {
            float sum;
            dot(t + 1, &sum, w, UT(r));
            o[r] = (o[r] + sum) * scale;
        }
    }
    const float el = expf(G[c - 1]);
    for (int s = 0; s < c; s++) w[s] = expf(G[c - 1] - G[s]); /* weight of u_s k_s^T in the new state */
    for (int r = 0; r < D; r++) {
        float *Mr = S + (size_t)r * D;
        for (int s = 0; s < c; s++) cu[s] = w[s] * UT(r)[s];
        for (int i = 0; i < D; i++) {
            float sum;
            dot(c, &sum, cu, KT(i));
            Mr[i] = el * Mr[i] + sum;
        }
    }
#undef Q
#undef K
#undef V
#undef O
#undef BETA
#undef UT
#undef KT
}
