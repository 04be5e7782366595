/*
 * Tiled products for prompt processing (AVX-512 with VNNI): each weight block
 * is unpacked once for several tokens instead of once per (row, token) pair
 * (the K-quants and q8_0: one row against up to GEMM_T tokens; F16: 4 rows x
 * 6 tokens of register accumulators).
 *
 * Every kernel here reproduces, lane for lane, the float operations of the
 * vec_dot kernel the same ISA table uses for that type: integer partial sums
 * are exact whatever the order they are formed in, and the float steps
 * (block scale products, fused multiply-adds, final horizontal sums) happen in
 * the same lanes in the same order. A prompt therefore gives bit-identical
 * logits whether it is evaluated as a batch or token by token, and the tests
 * compare these kernels with vec_dot for equality, not within a tolerance.
 *
 * On CPUs with AMX tiles the "amx" table replaces q4_K's products with
 * gemm_amx.c's, over weights repacked at load: without the repacking, each
 * 16-row group had to be unpacked and the tokens laid out per call, which
 * only tied this kernel at 4 tokens.
 */
#include <immintrin.h>

#include "kernels/kernels_impl.h"
#include "kernels/x86_avx512.h"
#include "kernels/x86_common.h"

#define GEMM_T 8 /* activation rows per pass: their blocks stay in L1 */
/* The first pass over a chunk reads its rows from memory: the row GEMM_PF_AHEAD
 * rows on is asked for while this one is computed. The hardware prefetcher alone
 * leaves the kernel waiting at each block's first load (measured: four sessions
 * decoding together, Qwen3-0.6B Q4_K_M, two threads: 43.5 -> 35.2 ms a step). */
#define GEMM_PF_AHEAD 4
#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __m256i load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* The tile driver: splits nt tokens into passes of at most GEMM_T, and hands
 * ROW(T, row, y, o) one weight row with T activation rows (T rounded up to a
 * multiple of STEP by repeating the last token, whose output o[] is NULL). */
#define GEMM_DRIVER(NAME, WTYPE, YTYPE, STEP, ROW)                                                                \
    static void NAME(int64_t n, int nr, int nt, const void *w, size_t ws, const void *xa, size_t xs,         \
                     float *out, size_t os) {                                                               \
        for (int t0 = 0; t0 < nt; t0 += GEMM_T) {                                                           \
            const int tn = nt - t0 < GEMM_T ? nt - t0 : GEMM_T;                                             \
            const int te = (tn + (STEP)-1) / (STEP) * (STEP);                                               \
            const YTYPE *y[GEMM_T];                                                                         \
            for (int t = 0; t < te; t++)                                                                    \
                y[t] = (const YTYPE *)((const uint8_t *)xa + (size_t)(t0 + (t < tn ? t : tn - 1)) * xs);    \
            for (int r = 0; r < nr; r++) {                                                                  \
                const WTYPE *row = (const WTYPE *)((const uint8_t *)w + (size_t)r * ws);                    \
                if (t0 == 0 && r + GEMM_PF_AHEAD < nr)                                                      \
                    hrx_prefetch_l2((const uint8_t *)w + (size_t)(r + GEMM_PF_AHEAD) * ws,                  \
                                    (size_t)(n / HR_QK_K) * sizeof(WTYPE));                                 \
                float *o[GEMM_T];                                                                           \
                for (int t = 0; t < te; t++) o[t] = t < tn ? out + (size_t)(t0 + t) * os + r : NULL;        \
                switch (te) {                                                                               \
                case 1: ROW(1, n, row, y, o); break;                                                        \
                case 2: ROW(2, n, row, y, o); break;                                                        \
                case 3: ROW(3, n, row, y, o); break;                                                        \
                case 4: ROW(4, n, row, y, o); break;                                                        \
                case 5: ROW(5, n, row, y, o); break;                                                        \
                case 6: ROW(6, n, row, y, o); break;                                                        \
                case 7: ROW(7, n, row, y, o); break;                                                        \
                default: ROW(8, n, row, y, o); break;                                                       \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }

/* ---- q4_K x q8_K: mirrors vec_dot_q4_K of vec_avx2.c ----
 * A 64-element chunk j of a block is one register: the 32 low nibbles
 * (sub-block 2j) in the lower half and the 32 high nibbles (2j+1) in the
 * upper half, which matches 64 consecutive q8_K activations. The AVX2
 * kernel's 8 i32 lanes are the sums of the two halves' lanes. Two tokens
 * share each float register: their 8 lanes each sit side by side. */
static ALWAYS_INLINE void q4k_row(const int T, int64_t n, const hr_block_q4_K *x, const hr_block_q8_K *const *y,
                                  float *const *o) {
    const __m512i m4 = _mm512_set1_epi8(0xF);
    const __m128i dup = _mm_set_epi8(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    __m512i idx[4];
    for (int j = 0; j < 4; j++)
        idx[j] = _mm512_mask_set1_epi16(_mm512_set1_epi16((short)(2 * j)), 0xFFFF0000u, (short)(2 * j + 1));
    __m512 acc[GEMM_T / 2], accm[GEMM_T / 2];
    for (int p = 0; p < T / 2; p++) acc[p] = accm[p] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const hr_block_q4_K *xb = x + b;
        uint32_t sm[4];
        hr_k4_scales_words(xb->scales, sm);
        const __m512i s16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sm[1], (int)sm[0])));
        const __m512i m16 = _mm512_broadcast_i64x4(
            _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_set_epi32(0, 0, (int)sm[3], (int)sm[2]), dup)));
        __m512i sc[4], wq[4];
        HR_UNROLL
        for (int j = 0; j < 4; j++) {
            sc[j] = _mm512_permutexvar_epi16(idx[j], s16);
            __m512i bits = _mm512_broadcast_i64x4(load256(xb->qs + 32 * j));
            wq[j] = _mm512_and_si512(_mm512_mask_srli_epi16(bits, 0xFFFF0000u, bits, 4), m4);
        }
        const float d = hr512_f16(xb->d), dmin = hr512_f16(xb->dmin);
        HR_UNROLL
        for (int p = 0; p < T / 2; p++) {
            const hr_block_q8_K *y0 = y[2 * p] + b, *y1 = y[2 * p + 1] + b;
            const __m512 dy = _mm512_insertf32x8(_mm512_set1_ps(y0->d), _mm256_set1_ps(y1->d), 1);
            const __m512i bs = _mm512_inserti64x4(_mm512_castsi256_si512(load256(y0->bsums)), load256(y1->bsums), 1);
            accm[p] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(-dmin), dy),
                                      _mm512_cvtepi32_ps(_mm512_madd_epi16(bs, m16)), accm[p]);
            __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
            HR_UNROLL
            for (int j = 0; j < 4; j++) {
                s0 = _mm512_dpwssd_epi32(s0, _mm512_maddubs_epi16(wq[j], _mm512_loadu_si512(y0->qs + 64 * j)), sc[j]);
                s1 = _mm512_dpwssd_epi32(s1, _mm512_maddubs_epi16(wq[j], _mm512_loadu_si512(y1->qs + 64 * j)), sc[j]);
            }
            const __m512i sum = _mm512_add_epi32(_mm512_shuffle_i64x2(s0, s1, 0x44), _mm512_shuffle_i64x2(s0, s1, 0xEE));
            acc[p] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(d), dy), _mm512_cvtepi32_ps(sum), acc[p]);
        }
    }
    for (int p = 0; p < T / 2; p++) {
        const __m512 a = _mm512_add_ps(acc[p], accm[p]);
        if (o[2 * p]) *o[2 * p] = hr512_hsum256(_mm512_castps512_ps256(a));
        if (o[2 * p + 1]) *o[2 * p + 1] = hr512_hsum256(_mm512_extractf32x8_ps(a, 1));
    }
}
#define Q4K_ROW(T, n, row, y, o) q4k_row(T, n, row, y, o)
GEMM_DRIVER(gemm_q4_K, hr_block_q4_K, hr_block_q8_K, 2, Q4K_ROW)

/* ---- q6_K x q8_K: mirrors vec_dot_q6_K of vec_avx512.c ---- */
static ALWAYS_INLINE void q6k_row(const int T, int64_t n, const hr_block_q6_K *x, const hr_block_q8_K *const *y,
                                  float *const *o) {
    const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
    const __m512i shl_a = _mm512_setr_epi64(0x0004000400040004, 0x0004000400040004, 0x0004000400040004,
                                            0x0004000400040004, 0x0002000200020002, 0x0002000200020002,
                                            0x0002000200020002, 0x0002000200020002);
    const __m512i shr_b = _mm512_setr_epi64(0, 0, 0, 0, 0x0002000200020002, 0x0002000200020002, 0x0002000200020002,
                                            0x0002000200020002);
    __m512 acc[GEMM_T];
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < n / HR_QK_K; b++) {
        const hr_block_q6_K *xb = x + b;
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)xb->scales));
        const __m512i scz = _mm512_castsi256_si512(sc16);
        __m512i wa[2], wb[2], qa[2], qb[2];
        HR_UNROLL
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512(xb->ql + 64 * h);
            __m512i qh = _mm512_broadcast_i64x4(load256(xb->qh + 32 * h));
            wa[h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl_a), m30));
            wb[h] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                    _mm512_and_si512(_mm512_srlv_epi16(qh, shr_b), m30));
            qa[h] = hr512_scale_quad(scz, 8 * h);
            qb[h] = hr512_scale_quad(scz, 8 * h + 4);
        }
        const float dx = hr512_f16(xb->d);
        HR_UNROLL
        for (int t = 0; t < T; t++) {
            const hr_block_q8_K *yb = y[t] + b;
            const __m256i offset = _mm256_madd_epi16(sc16, load256(yb->bsums));
            __m512i sumi = _mm512_setzero_si512();
            HR_UNROLL
            for (int h = 0; h < 2; h++) {
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(wa[h], _mm512_loadu_si512(yb->qs + 128 * h)), qa[h]);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(wb[h], _mm512_loadu_si512(yb->qs + 128 * h + 64)),
                                           qb[h]);
            }
            sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(dx * yb->d), _mm512_cvtepi32_ps(sumi), acc[t]);
        }
    }
    for (int t = 0; t < T; t++)
        if (o[t]) *o[t] = _mm512_reduce_add_ps(acc[t]);
}
#define Q6K_ROW(T, n, row, y, o) q6k_row(T, n, row, y, o)
GEMM_DRIVER(gemm_q6_K, hr_block_q6_K, hr_block_q8_K, 1, Q6K_ROW)

/* ---- q8_0 x q8_0: mirrors vec_dot_q8_0 of vec_vnni_avx512.c (HRX_DOT32_LOOP) ---- */
static ALWAYS_INLINE __m256i q8_dot(__m256i xabs, __m256i x, const int8_t *yq) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), xabs, _mm256_sign_epi8(load256(yq), x));
}

/* yd[t]: token t's block scales as floats (converted once per pass, not once
 * per row), or NULL to convert them in place. */
static ALWAYS_INLINE void q80_row(const int T, int64_t n, const hr_block_q8_0 *x, const hr_block_q8_0 *const *y,
                                  const float *const *yd, float *const *o) {
    const int64_t nb = n / HR_QK8_0;
    __m128 acc[GEMM_T];
    float tail[GEMM_T];
    for (int t = 0; t < T; t++) {
        acc[t] = _mm_setzero_ps();
        tail[t] = 0.0f;
    }
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        __m256i xv[4], xa[4];
        HR_UNROLL
        for (int k = 0; k < 4; k++) {
            xv[k] = load256(x[b + k].qs);
            xa[k] = _mm256_sign_epi8(xv[k], xv[k]);
        }
        const __m128 xd = hrx_f16x4(x[b].d, x[b + 1].d, x[b + 2].d, x[b + 3].d);
        HR_UNROLL
        for (int t = 0; t < T; t++) {
            const hr_block_q8_0 *yb = y[t] + b;
            __m128i is = hrx_hsum4_epi32(q8_dot(xa[0], xv[0], yb[0].qs), q8_dot(xa[1], xv[1], yb[1].qs),
                                         q8_dot(xa[2], xv[2], yb[2].qs), q8_dot(xa[3], xv[3], yb[3].qs));
            const __m128 ydv = yd ? _mm_loadu_ps(yd[t] + b) : hrx_f16x4(yb[0].d, yb[1].d, yb[2].d, yb[3].d);
            acc[t] = _mm_fmadd_ps(_mm_mul_ps(xd, ydv), _mm_cvtepi32_ps(is), acc[t]);
        }
    }
    for (; b < nb; b++) {
        const __m256i xv = load256(x[b].qs), xa = _mm256_sign_epi8(xv, xv);
        for (int t = 0; t < T; t++)
            tail[t] += _cvtsh_ss(x[b].d) * _cvtsh_ss(y[t][b].d) * (float)hrx_hsum_epi32(q8_dot(xa, xv, y[t][b].qs));
    }
    for (int t = 0; t < T; t++)
        if (o[t]) *o[t] = hrx_hsum_ps128(acc[t]) + tail[t];
}

#define Q80_YD_MAX 512 /* blocks per row whose scales the driver converts up front (rows of 16384) */

static void gemm_q8_0(int64_t n, int nr, int nt, const void *w, size_t ws, const void *xa, size_t xs, float *out,
                      size_t os) {
    const int64_t nb = n / HR_QK8_0;
    float ydbuf[GEMM_T][Q80_YD_MAX];
    for (int t0 = 0; t0 < nt; t0 += GEMM_T) {
        const int tn = nt - t0 < GEMM_T ? nt - t0 : GEMM_T;
        const hr_block_q8_0 *y[GEMM_T];
        const float *yd[GEMM_T];
        for (int t = 0; t < tn; t++) {
            y[t] = (const hr_block_q8_0 *)((const uint8_t *)xa + (size_t)(t0 + t) * xs);
            yd[t] = ydbuf[t];
            for (int64_t b = 0; b < nb && nb <= Q80_YD_MAX; b++) ydbuf[t][b] = _cvtsh_ss(y[t][b].d);
        }
        const float *const *ydp = nb <= Q80_YD_MAX ? yd : NULL;
        for (int r = 0; r < nr; r++) {
            const hr_block_q8_0 *row = (const hr_block_q8_0 *)((const uint8_t *)w + (size_t)r * ws);
            if (t0 == 0 && r + GEMM_PF_AHEAD < nr)
                hrx_prefetch_l2((const uint8_t *)w + (size_t)(r + GEMM_PF_AHEAD) * ws, (size_t)nb * sizeof(hr_block_q8_0));
            float *o[GEMM_T];
            for (int t = 0; t < tn; t++) o[t] = out + (size_t)(t0 + t) * os + r;
            switch (tn) {
            case 1: q80_row(1, n, row, y, ydp, o); break;
            case 2: q80_row(2, n, row, y, ydp, o); break;
            case 3: q80_row(3, n, row, y, ydp, o); break;
            case 4: q80_row(4, n, row, y, ydp, o); break;
            case 5: q80_row(5, n, row, y, ydp, o); break;
            case 6: q80_row(6, n, row, y, ydp, o); break;
            case 7: q80_row(7, n, row, y, ydp, o); break;
            default: q80_row(8, n, row, y, ydp, o); break;
            }
        }
    }
}

/* ---- f16 x f16: mirrors vec_dot_f16 of vec_avx512.c ----
 * One accumulator per (row, token) in element order, as vec_dot_f16 has,
 * which leaves registers for a 4-row x 6-token tile: each widened weight
 * vector serves 6 tokens and each activation vector 4 rows. Activations come
 * as F32 rows of F16-rounded values (f16_widened below). A tile has as many
 * tokens as there are (up to 6); a partial group of rows repeats its last row
 * and drops those results. */
#define F16_NT 6

/* An R-row x T-token tile over the whole row length. */
static ALWAYS_INLINE void f16_tile(const int R, const int T, int64_t n, const hr_f16 *const *x, const float *const *y,
                                   float *out, size_t os, int rn, int tn) {
    __m512 a[8][F16_NT];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) a[r][t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 xv[8];
        HR_UNROLL
        for (int r = 0; r < R; r++) xv[r] = _mm512_cvtph_ps(load256(x[r] + i));
        HR_UNROLL
        for (int t = 0; t < T; t++) {
            const __m512 yv = _mm512_loadu_ps(y[t] + i);
            HR_UNROLL
            for (int r = 0; r < R; r++) a[r][t] = _mm512_fmadd_ps(xv[r], yv, a[r][t]);
        }
    }
    if (i < n) { /* the row's last partial vector, masked */
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 xv[8];
        for (int r = 0; r < R; r++) xv[r] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x[r] + i));
        for (int t = 0; t < T; t++) {
            const __m512 yv = _mm512_maskz_loadu_ps(m, y[t] + i);
            for (int r = 0; r < R; r++) a[r][t] = _mm512_fmadd_ps(xv[r], yv, a[r][t]);
        }
    }
    for (int t = 0; t < tn; t++)
        for (int r = 0; r < rn; r++) out[(size_t)t * os + r] = _mm512_reduce_add_ps(a[r][t]);
}

static void gemm_f16(int64_t n, int nr, int nt, const void *w, size_t ws, const void *xa, size_t xs, float *out,
                     size_t os) {
    for (int t0 = 0; t0 < nt; t0 += F16_NT) {
        /* 1 to 6 tokens: each count has its own tile (attention's 4 queries of a KV head) */
        const int tn = nt - t0 < F16_NT ? nt - t0 : F16_NT;
        /* one token (generation, or a last pass of one): 8 rows give 8 independent FMA chains */
        const int mr = tn == 1 ? 8 : 4;
        const float *y[F16_NT];
        for (int t = 0; t < tn; t++) y[t] = (const float *)((const uint8_t *)xa + (size_t)(t0 + t) * xs);
        for (int r0 = 0; r0 < nr; r0 += mr) {
            const int rn = nr - r0 < mr ? nr - r0 : mr;
            const hr_f16 *x[8];
            for (int r = 0; r < mr; r++)
                x[r] = (const hr_f16 *)((const uint8_t *)w + (size_t)(r0 + (r < rn ? r : rn - 1)) * ws);
            /* the next group of rows while this one is computed, when short rows make it a short hop (longer rows:
             * the hardware prefetcher keeps up, and a burst of a whole group's lines stalls; Llama-3.2-1B F16
             * generation 5.05 vs 4.5 tok/s) */
            if (t0 == 0 && (size_t)mr * (size_t)n * sizeof(hr_f16) <= 16384)
                for (int r = r0 + mr; r < r0 + 2 * mr && r < nr; r++)
                    hrx_prefetch_l1((const uint8_t *)w + (size_t)r * ws, (size_t)n * sizeof(hr_f16));
            float *o = out + (size_t)t0 * os + r0;
            switch (tn) {
            case 1: f16_tile(8, 1, n, x, y, o, os, rn, tn); break;
            case 2: f16_tile(4, 2, n, x, y, o, os, rn, tn); break;
            case 3: f16_tile(4, 3, n, x, y, o, os, rn, tn); break;
            case 4: f16_tile(4, 4, n, x, y, o, os, rn, tn); break;
            case 5: f16_tile(4, 5, n, x, y, o, os, rn, tn); break;
            default: f16_tile(4, F16_NT, n, x, y, o, os, rn, tn); break;
            }
        }
    }
}

/* ---- attention scores over a Q8_0 cache: q8_0 keys x q8_0 queries ----
 * Two blocks per register: a key's bytes offset to unsigned (x + 128) for
 * vpdpbusd, whose accumulator starts at -128 times the sum of the query
 * bytes each lane multiplies, so each lane holds its 4 bytes' exact integer
 * dot; the lanes are scaled by their block's d_x * d_y and summed in float
 * (a row's four queries' lanes in one shuffle tree).
 * vec_dot_q8_0 scales each block's total instead: the same terms, rounded in
 * another order. The queries' registers are built once per call. */
#define SC_T 4  /* queries per pass */
#define SC_P 16 /* block pairs per row at most (rows of 1024 values) */

/* Blocks 2p and 2p+1 of a row of nb as one register of bytes, and their two
 * scales widened in the matching halves (a missing second block: zeros). */
static ALWAYS_INLINE __m512i pair_qs(const hr_block_q8_0 *row, int p, int64_t nb) {
    const __m256i hi = 2 * p + 1 < nb ? load256(row[2 * p + 1].qs) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(row[2 * p].qs)), hi, 1);
}

static ALWAYS_INLINE __m512 pair_d(const hr_block_q8_0 *row, int p, int64_t nb) {
    const short hi = 2 * p + 1 < nb ? (short)row[2 * p + 1].d : 0;
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16((short)row[2 * p].d)));
}

/* The totals of a, b, c and d (16 lanes each), in that order: one shuffle
 * tree for the four instead of a reduction each (a row's four queries). */
static ALWAYS_INLINE __m128 hsum4(__m512 a, __m512 b, __m512 c, __m512 d) {
    /* per 128-bit lane: a0+a2, b0+b2, a1+a3, b1+b3 (and c, d likewise) */
    const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    /* per 128-bit lane: the lane's a, b, c, d partial sums */
    const __m512 abcd = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                                      _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(abcd), _mm512_extractf32x8_ps(abcd, 1));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

static ALWAYS_INLINE void sc_rows(const int T, int np, int nr, const hr_block_q8_0 *w, size_t ws, int64_t nb,
                                  const __m512i (*yq)[SC_P], const __m512i (*yc)[SC_P], const __m512 (*yd)[SC_P],
                                  float *out, size_t os) {
    const __m512i off = _mm512_set1_epi8((char)0x80);
    const int ahead = 16;
    for (int r = 0; r < nr; r++) {
        const hr_block_q8_0 *x = (const hr_block_q8_0 *)((const uint8_t *)w + (size_t)r * ws);
        /* (a row's data, not its stride: a KV cache row holds every head) */
        if (r + ahead < nr) hrx_prefetch_l1((const uint8_t *)w + (size_t)(r + ahead) * ws, (size_t)nb * sizeof *x);
        __m512 acc[SC_T];
        for (int t = 0; t < SC_T; t++) acc[t] = _mm512_setzero_ps();
        for (int p = 0; p < np; p++) {
            const __m512i xq = _mm512_xor_si512(pair_qs(x, p, nb), off);
            const __m512 dx = pair_d(x, p, nb);
            HR_UNROLL
            for (int t = 0; t < T; t++)
                acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dx, yd[t][p]),
                                         _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(yc[t][p], xq, yq[t][p])), acc[t]);
        }
        if (T == 1) { /* one query (no grouped heads): its own reduction is shorter */
            out[r] = _mm512_reduce_add_ps(acc[0]);
            continue;
        }
        float tot[4];
        _mm_storeu_ps(tot, hsum4(acc[0], acc[1], acc[2], acc[3]));
        for (int t = 0; t < T; t++) out[(size_t)t * os + r] = tot[t];
    }
}

void hr_scores_q8_0_avx512vnni(int64_t n, int nr, int nt, const void *w, size_t ws, const void *xa, size_t xs, float *out,
                               size_t os) {
    const int64_t nb = n / HR_QK8_0;
    const int np = (int)((nb + 1) / 2);
    if (np > SC_P) { /* longer rows than attention heads have: the general kernel */
        gemm_q8_0(n, nr, nt, w, ws, xa, xs, out, os);
        return;
    }
    __m512i yq[SC_T][SC_P], yc[SC_T][SC_P];
    __m512 yd[SC_T][SC_P];
    for (int t0 = 0; t0 < nt; t0 += SC_T) {
        const int tn = nt - t0 < SC_T ? nt - t0 : SC_T;
        for (int t = 0; t < tn; t++) {
            const hr_block_q8_0 *y = (const hr_block_q8_0 *)((const uint8_t *)xa + (size_t)(t0 + t) * xs);
            for (int p = 0; p < np; p++) {
                yq[t][p] = pair_qs(y, p, nb);
                yc[t][p] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                            _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), yq[t][p]));
                yd[t][p] = pair_d(y, p, nb);
            }
        }
        float *o = out + (size_t)t0 * os;
        switch (tn) {
        case 1: sc_rows(1, np, nr, w, ws, nb, yq, yc, yd, o, os); break;
        case 2: sc_rows(2, np, nr, w, ws, nb, yq, yc, yd, o, os); break;
        case 3: sc_rows(3, np, nr, w, ws, nb, yq, yc, yd, o, os); break;
        default: sc_rows(4, np, nr, w, ws, nb, yq, yc, yd, o, os); break;
        }
    }
}

/* x rounded to F16 (as quantize_row[F16] rounds it) and widened back. */
static void f16_widened(const float *x, void *vy, int64_t n) {
    float *y = vy;
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(h));
    }
}

void hr_gemm_fill_avx512vnni(hr_kernels *k) {
    k->gemm[HR_TYPE_Q4_K] = gemm_q4_K;
    k->gemm[HR_TYPE_Q6_K] = gemm_q6_K;
    k->gemm[HR_TYPE_Q8_0] = gemm_q8_0;
    k->gemm[HR_TYPE_F16] = gemm_f16;
    k->scores[HR_TYPE_Q8_0] = hr_scores_q8_0_avx512vnni;
    k->gemm_quantize[HR_TYPE_F16] = f16_widened;
    k->gemm_act_type[HR_TYPE_F16] = HR_TYPE_F32;
    k->gemm_one_token[HR_TYPE_F16] = true; /* vec_dot_f16's single FMA chain is latency-bound */
}
