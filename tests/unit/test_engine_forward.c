/* The forward pass against an independent naive double-precision transformer
 * (no batching, no KV cache: every prefix recomputed from scratch), on tiny
 * F32 models written with the GGUF writer, one per architecture feature:
 * llama (GQA, llama3 rope factors, untied output), qwen2 (QKV biases, neox
 * rope, tied output), qwen3 (QK-norm), mistral3 (YaRN, attention temperature).
 * Also: batched prompt == token by token, truncate + re-eval, thread counts. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "hearth.h"

enum { V = 40, D = 32, L = 2, H = 4, HKV = 2, HD = 8, FF = 48, NTOK = 11 };

typedef struct {
    const char *arch;
    bool biases, qk_norm, tied, rope_freqs, yarn, attn_temp, neox;
    float base, eps;
    /* weights, row-major [rows][cols] like GGUF (ne0 = cols) */
    float emb[V][D], out[V][D], onorm[D], rfreq[HD / 2];
    float anorm[L][D], fnorm[L][D], wq[L][H * HD][D], wk[L][HKV * HD][D], wv[L][HKV * HD][D], wo[L][D][H * HD];
    float bq[L][H * HD], bk[L][HKV * HD], bv[L][HKV * HD], qn[L][HD], kn[L][HD];
    float wg[L][FF][D], wu[L][FF][D], wd[L][D][FF];
} tmodel;

static uint64_t rng = 88172645463325252ull;
static float rnd(float scale) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return scale * ((float)(rng % 2000001) / 1000000.0f - 1.0f);
}
static void fill(float *p, size_t n, float scale, float offset) {
    for (size_t i = 0; i < n; i++) p[i] = offset + rnd(scale);
}

static void init_model(tmodel *m) {
    fill(&m->emb[0][0], sizeof m->emb / 4, 1.0f, 0);
    fill(&m->out[0][0], sizeof m->out / 4, 0.3f, 0);
    fill(m->onorm, D, 0.2f, 1.0f);
    fill(m->rfreq, HD / 2, 0.5f, 1.5f);
    fill(&m->anorm[0][0], L * D, 0.2f, 1.0f);
    fill(&m->fnorm[0][0], L * D, 0.2f, 1.0f);
    fill(&m->wq[0][0][0], sizeof m->wq / 4, 0.35f, 0);
    fill(&m->wk[0][0][0], sizeof m->wk / 4, 0.35f, 0);
    fill(&m->wv[0][0][0], sizeof m->wv / 4, 0.35f, 0);
    fill(&m->wo[0][0][0], sizeof m->wo / 4, 0.35f, 0);
    fill(&m->bq[0][0], sizeof m->bq / 4, 0.3f, 0);
    fill(&m->bk[0][0], sizeof m->bk / 4, 0.3f, 0);
    fill(&m->bv[0][0], sizeof m->bv / 4, 0.3f, 0);
    fill(&m->qn[0][0], sizeof m->qn / 4, 0.3f, 1.0f);
    fill(&m->kn[0][0], sizeof m->kn / 4, 0.3f, 1.0f);
    fill(&m->wg[0][0][0], sizeof m->wg / 4, 0.35f, 0);
    fill(&m->wu[0][0][0], sizeof m->wu / 4, 0.35f, 0);
    fill(&m->wd[0][0][0], sizeof m->wd / 4, 0.3f, 0);
}

static void add(hr_gguf_writer *w, const char *name, const float *data, int64_t ne0, int64_t ne1) {
    int64_t ne[2] = {ne0, ne1};
    cr_assert_eq(hr_gguf_add_tensor(w, name, HR_TYPE_F32, ne1 > 1 ? 2 : 1, ne, data, (size_t)(ne0 * ne1) * 4), HEARTH_OK);
}

static void write_model(const tmodel *m, const char *path) {
    hr_gguf_writer *w = hr_gguf_writer_new();
    cr_assert(w);
    char k[128];
#define KU(suffix, v) (snprintf(k, sizeof k, "%s." suffix, m->arch), hr_gguf_set_u32(w, k, v))
#define KF(suffix, v) (snprintf(k, sizeof k, "%s." suffix, m->arch), hr_gguf_set_f32(w, k, v))
    hr_gguf_set_str(w, "general.architecture", m->arch);
    KU("context_length", 64);
    KU("embedding_length", D);
    KU("block_count", L);
    KU("feed_forward_length", FF);
    KU("attention.head_count", H);
    KU("attention.head_count_kv", HKV);
    KU("attention.key_length", HD);
    KU("attention.value_length", HD);
    KU("rope.dimension_count", HD);
    KF("attention.layer_norm_rms_epsilon", m->eps);
    KF("rope.freq_base", m->base);
    if (m->yarn) {
        snprintf(k, sizeof k, "%s.rope.scaling.type", m->arch);
        hr_gguf_set_str(w, k, "yarn");
        KF("rope.scaling.factor", 4.0f);
        KU("rope.scaling.original_context_length", 4);
        KF("rope.scaling.yarn_beta_fast", 0.05f);
        KF("rope.scaling.yarn_beta_slow", 0.01f);
    }
    if (m->attn_temp) KF("attention.temperature_scale", 0.25f);
#undef KU
#undef KF
    add(w, "token_embd.weight", &m->emb[0][0], D, V);
    add(w, "output_norm.weight", m->onorm, D, 1);
    if (!m->tied) add(w, "output.weight", &m->out[0][0], D, V);
    if (m->rope_freqs) add(w, "rope_freqs.weight", m->rfreq, HD / 2, 1);
    for (int l = 0; l < L; l++) {
        char n[64];
#define T(suffix, p, a, b) (snprintf(n, sizeof n, "blk.%d." suffix, l), add(w, n, p, a, b))
        T("attn_norm.weight", m->anorm[l], D, 1);
        T("attn_q.weight", &m->wq[l][0][0], D, H * HD);
        T("attn_k.weight", &m->wk[l][0][0], D, HKV * HD);
        T("attn_v.weight", &m->wv[l][0][0], D, HKV * HD);
        T("attn_output.weight", &m->wo[l][0][0], H * HD, D);
        if (m->biases) {
            T("attn_q.bias", m->bq[l], H * HD, 1);
            T("attn_k.bias", m->bk[l], HKV * HD, 1);
            T("attn_v.bias", m->bv[l], HKV * HD, 1);
        }
        if (m->qk_norm) {
            T("attn_q_norm.weight", m->qn[l], HD, 1);
            T("attn_k_norm.weight", m->kn[l], HD, 1);
        }
        T("ffn_norm.weight", m->fnorm[l], D, 1);
        T("ffn_gate.weight", &m->wg[l][0][0], D, FF);
        T("ffn_up.weight", &m->wu[l][0][0], D, FF);
        T("ffn_down.weight", &m->wd[l][0][0], FF, D);
#undef T
    }
    hearth_error err;
    cr_assert_eq(hr_gguf_write_file(w, path, &err), HEARTH_OK, "%s", err.message);
    hr_gguf_writer_free(w);
}

/* ---- naive reference, double precision ---- */

static void rms(const double *x, const float *w, double *y, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double s = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * s * w[i];
}

static void matvec(const float *w, const double *x, double *y, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += (double)w[r * cols + c] * x[c];
        y[r] = s;
    }
}

/* Rotation of one head at position pos (YaRN after the paper / HF, written independently). */
static void rope_ref(const tmodel *m, double *x, int pos) {
    const int n = HD;
    double fscale = m->yarn ? 0.25 : 1.0, mscale = 1.0, low = 0, high = 0;
    if (m->yarn) {
        double orig = 4, bf = 0.05, bs = 0.01; /* ramp over pairs 2..4 */
        low = floor(n * log(orig / (bf * 2 * M_PI)) / (2 * log(m->base)));
        high = ceil(n * log(orig / (bs * 2 * M_PI)) / (2 * log(m->base)));
        if (low < 0) low = 0;
        if (high > n - 1) high = n - 1;
        mscale = 1.0 + 0.1 * log(1.0 / fscale); /* HF get_mscale(factor) */
    }
    for (int i = 0; i < n / 2; i++) {
        double inv = pow(m->base, -2.0 * i / n) / (m->rope_freqs ? m->rfreq[i] : 1.0);
        double extrap = pos * inv, th = extrap * fscale;
        if (m->yarn) {
            double ramp = 1.0 - fmin(1.0, fmax(0.0, (i - low) / fmax(0.001, high - low)));
            th = th * (1 - ramp) + extrap * ramp;
        }
        double c = cos(th) * mscale, s = sin(th) * mscale;
        int a = m->neox ? i : 2 * i, b = m->neox ? i + n / 2 : 2 * i + 1;
        double x0 = x[a], x1 = x[b];
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
    }
}

/* Logits after token t of tokens[0..t], computed from scratch. */
static void ref_logits(const tmodel *m, const int32_t *tok, int t, double *logits) {
    static double x[NTOK][D], xn[D], q[NTOK][H * HD], k[NTOK][HKV * HD], v[NTOK][HKV * HD];
    int n = t + 1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < D; j++) x[i][j] = m->emb[tok[i]][j];
    for (int l = 0; l < L; l++) {
        for (int i = 0; i < n; i++) {
            rms(x[i], m->anorm[l], xn, D, m->eps);
            matvec(&m->wq[l][0][0], xn, q[i], H * HD, D);
            matvec(&m->wk[l][0][0], xn, k[i], HKV * HD, D);
            matvec(&m->wv[l][0][0], xn, v[i], HKV * HD, D);
            for (int j = 0; j < H * HD; j++) q[i][j] += m->biases ? m->bq[l][j] : 0;
            for (int j = 0; j < HKV * HD; j++) k[i][j] += m->biases ? m->bk[l][j] : 0, v[i][j] += m->biases ? m->bv[l][j] : 0;
            for (int h = 0; h < H; h++) {
                if (m->qk_norm) rms(q[i] + h * HD, m->qn[l], q[i] + h * HD, HD, m->eps);
                rope_ref(m, q[i] + h * HD, i);
                if (m->attn_temp) /* llama4-style: 1 + scale * log(floor(pos / orig) + 1) */
                    for (int j = 0; j < HD; j++) q[i][h * HD + j] *= 1.0 + 0.25 * log(floor(i / 4.0) + 1.0);
            }
            for (int h = 0; h < HKV; h++) {
                if (m->qk_norm) rms(k[i] + h * HD, m->kn[l], k[i] + h * HD, HD, m->eps);
                rope_ref(m, k[i] + h * HD, i);
            }
        }
        double att[NTOK][H * HD], o[D];
        for (int i = 0; i < n; i++)
            for (int h = 0; h < H; h++) {
                int kh = h / (H / HKV);
                double sc[NTOK], mx = -1e300, sum = 0;
                for (int j = 0; j <= i; j++) {
                    double s = 0;
                    for (int e = 0; e < HD; e++) s += q[i][h * HD + e] * k[j][kh * HD + e];
                    sc[j] = s / sqrt((double)HD);
                    mx = fmax(mx, sc[j]);
                }
                for (int j = 0; j <= i; j++) sum += (sc[j] = exp(sc[j] - mx));
                for (int e = 0; e < HD; e++) {
                    double a = 0;
                    for (int j = 0; j <= i; j++) a += sc[j] / sum * v[j][kh * HD + e];
                    att[i][h * HD + e] = a;
                }
            }
        for (int i = 0; i < n; i++) {
            matvec(&m->wo[l][0][0], att[i], o, D, H * HD);
            for (int j = 0; j < D; j++) x[i][j] += o[j];
            double g[FF], u[FF];
            rms(x[i], m->fnorm[l], xn, D, m->eps);
            matvec(&m->wg[l][0][0], xn, g, FF, D);
            matvec(&m->wu[l][0][0], xn, u, FF, D);
            for (int j = 0; j < FF; j++) g[j] = g[j] / (1 + exp(-g[j])) * u[j];
            matvec(&m->wd[l][0][0], g, o, D, FF);
            for (int j = 0; j < D; j++) x[i][j] += o[j];
        }
    }
    rms(x[t], m->onorm, xn, D, m->eps);
    matvec(m->tied ? &m->emb[0][0] : &m->out[0][0], xn, logits, V, D);
}

static const int32_t toks[NTOK] = {1, 5, 9, 33, 2, 17, 17, 39, 0, 12, 25};

static void check_arch(tmodel *m, int n_threads) {
    init_model(m);
    char path[] = "/tmp/hearth_engine_test_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    write_model(m, path);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = n_threads;
    hearth_model *hm;
    hearth_error err;
    cr_assert_eq(hearth_model_load(path, &mp, &hm, &err), HEARTH_OK, "%s", err.message);
    unlink(path);
    cr_assert_str_eq(hearth_model_arch(hm), m->arch);
    cr_assert_eq(hearth_model_n_vocab(hm), V);

    hearth_session_params sp = hearth_session_default_params();
    sp.cache_type = HEARTH_CACHE_F32;
    hearth_session *s;
    cr_assert_eq(hearth_session_new(hm, &sp, &s, &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(hearth_session_n_ctx(s), 64);
    static float all[NTOK][V], one[NTOK][V];
    cr_assert_eq(hearth_session_eval_all(s, toks, NTOK, &all[0][0], &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(hearth_session_n_past(s), NTOK);
    double worst = 0;
    for (int t = 0; t < NTOK; t++) {
        double ref[V];
        ref_logits(m, toks, t, ref);
        for (int i = 0; i < V; i++) worst = fmax(worst, fabs(ref[i] - all[t][i]));
    }
    cr_expect_lt(worst, 2e-4, "%s: max |logit - reference| = %g", m->arch, worst);

    /* token by token gives the same logits */
    hearth_session_reset(s);
    for (int t = 0; t < NTOK; t++) {
        cr_assert_eq(hearth_session_eval(s, &toks[t], 1, &err), HEARTH_OK, "%s", err.message);
        memcpy(one[t], hearth_session_logits(s), sizeof one[t]);
    }
    double dbatch = 0;
    for (int t = 0; t < NTOK; t++)
        for (int i = 0; i < V; i++) dbatch = fmax(dbatch, fabs(one[t][i] - all[t][i]));
    cr_expect_lt(dbatch, 1e-5, "%s: batched vs token-by-token differ by %g", m->arch, dbatch);

    /* truncate to a prefix and continue: same as before */
    cr_assert_eq(hearth_session_truncate(s, 4, &err), HEARTH_OK);
    cr_assert_eq(hearth_session_eval(s, toks + 4, NTOK - 4, &err), HEARTH_OK);
    const float *lg = hearth_session_logits(s);
    for (int i = 0; i < V; i++) cr_expect_float_eq(lg[i], one[NTOK - 1][i], 1e-5);
    cr_assert_neq(hearth_session_truncate(s, NTOK + 1, &err), HEARTH_OK);

    /* out-of-range ids are refused and leave the cache alone */
    int32_t bad[2] = {3, V};
    cr_assert_eq(hearth_session_eval(s, bad, 2, &err), HEARTH_ERR_RANGE);
    cr_assert(strstr(err.message, "out of range"));
    cr_assert_eq(hearth_session_n_past(s), NTOK);

    /* Several sessions in one pass (hearth_sessions_eval): a prompt chunk, a
     * longer one and single tokens together give each session exactly what it
     * gets alone. Then a bad token id refuses the whole batch, changing nothing. */
    hearth_session *ss[3];
    for (int i = 0; i < 3; i++) cr_assert_eq(hearth_session_new(hm, &sp, &ss[i], &err), HEARTH_OK, "%s", err.message);
    cr_assert_eq(hearth_session_eval(ss[2], toks, 2, &err), HEARTH_OK);
    const int32_t *tp[3] = {toks, toks + 1, toks + 2};
    size_t cnt[3] = {3, NTOK - 1, 1};
    cr_assert_eq(hearth_sessions_eval(ss, tp, cnt, 3, &err), HEARTH_OK, "%s", err.message);
    const float *want[3] = {NULL, NULL, one[2]};
    hearth_session *lone;
    cr_assert_eq(hearth_session_new(hm, &sp, &lone, &err), HEARTH_OK);
    static float l0[V], l1[V];
    cr_assert_eq(hearth_session_eval(lone, toks, 3, &err), HEARTH_OK);
    memcpy(l0, hearth_session_logits(lone), sizeof l0);
    hearth_session_reset(lone);
    cr_assert_eq(hearth_session_eval(lone, toks + 1, NTOK - 1, &err), HEARTH_OK);
    memcpy(l1, hearth_session_logits(lone), sizeof l1);
    want[0] = l0;
    want[1] = l1;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(hearth_session_n_past(ss[i]), i == 2 ? 3 : (int)cnt[i]);
        cr_assert(!memcmp(hearth_session_logits(ss[i]), want[i], sizeof l0), "%s: session %d of the batch differs from alone",
                  m->arch, i);
    }
    int32_t badtok = V;
    const int32_t *tb[2] = {toks, &badtok};
    size_t cb[2] = {2, 1};
    cr_assert_eq(hearth_sessions_eval(ss, tb, cb, 2, &err), HEARTH_ERR_RANGE);
    cr_assert_eq(hearth_session_n_past(ss[0]), 3);
    hearth_session_free(lone);
    for (int i = 0; i < 3; i++) hearth_session_free(ss[i]);
    hearth_session_free(s);
    hearth_model_free(hm);
}

Test(engine_forward, llama_gqa_rope_freqs_untied) {
    static tmodel m = {.arch = "llama", .rope_freqs = true, .base = 10000, .eps = 1e-5f};
    check_arch(&m, 2);
}

Test(engine_forward, qwen2_biases_neox_tied) {
    static tmodel m = {.arch = "qwen2", .biases = true, .tied = true, .neox = true, .base = 1e6f, .eps = 1e-6f};
    check_arch(&m, 1);
}

Test(engine_forward, qwen3_qk_norm) {
    static tmodel m = {.arch = "qwen3", .qk_norm = true, .neox = true, .base = 1e6f, .eps = 1e-6f};
    check_arch(&m, 2);
}

Test(engine_forward, mistral3_yarn_attn_temperature) {
    static tmodel m = {.arch = "mistral3", .yarn = true, .attn_temp = true, .base = 100, .eps = 1e-5f};
    check_arch(&m, 2);
}
