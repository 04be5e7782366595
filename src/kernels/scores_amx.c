/*
 * Attention scores over a Q8_0 cache on AMX tiles: one token's grouped
 * queries (the n_head / n_head_kv that share a KV head, 4 for Qwen3.5,
 * Nemotron-H and Llama 3.2) against 16 cached keys per tile product.
 *
 * Why: generating after a long context reads every cached key, and the VNNI
 * kernel (hr_scores_q8_0_avx512vnni, gemm_vnni_avx512.c) spends four vector
 * operations per query and 64 key values (a dot, a conversion, a scale
 * product and an accumulation) plus a shuffle tree per key; from DRAM that
 * arithmetic does not overlap the loads, and Nemotron-H-small's attention at
 * 16K positions over a Q8_0 cache read it at ~5 GB/s per core. Here one
 * TDPBSSD gives one block's exact integer dots for 16 keys and the 4
 * queries, and the block scales are applied in AVX-512 registers to 16 keys
 * at once.
 *
 * Operands, per block b of the head: A = the 16 keys' 32 quantized values
 * (tile rows a cache row apart), B = the queries' 32 values of block b laid
 * out as TDPBSSD takes them (row k: each query's values 4k..4k+3), C = 16
 * keys x 4 queries of int32, stored and converted.
 *
 * Float order, for every (key, query): acc = fma(dot_b, d_key_b * d_query_b,
 * acc), block after block from 0; the integer dots are exact. It differs from
 * the VNNI kernel (which sums 8 lanes per block) only in rounding. The keys
 * past the last full group of 16 take the VNNI kernel, so a key's bits depend
 * on where the call's rows end; the same call, batched or alone, gives the
 * same bits.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels_impl.h"
#include "kernels/x86_common.h"

#define SCA_T 4   /* queries: one tile product's C columns */
#define SCA_NB 16 /* blocks per row at most (heads of 512 values) */

/* Tile 0: C (16 keys x 4 int32), 1: A (16 keys x 32 bytes), 2: B (8 rows of 4 queries x 4 bytes). */
static void configure(void) {
    hrx_amx_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    c.rows[0] = 16, c.colsb[0] = SCA_T * 4;
    c.rows[1] = 16, c.colsb[1] = HR_QK8_0;
    c.rows[2] = HR_QK8_0 / 4, c.colsb[2] = SCA_T * 4;
    _tile_loadconfig(&c);
}

static void scores_q8_0_amx(int64_t n, int nr, int nt, const void *w, size_t ws, const void *xa, size_t xs, float *out,
                            size_t os) {
    const int64_t nb = n / HR_QK8_0;
    const int ng = nr / 16;
    /* (the scales are gathered with 32-bit offsets of up to 15 rows) */
    if (nt != SCA_T || nb > SCA_NB || ng == 0 || ws > (size_t)INT32_MAX / 16) {
        hr_scores_q8_0_avx512vnni(n, nr, nt, w, ws, xa, xs, out, os);
        return;
    }
    /* B of each block, and its query scales in the lanes of C's layout (lane 4i + t: key i, query t) */
    _Alignas(64) int8_t bq[SCA_NB][HR_QK8_0 / 4][SCA_T * 4];
    _Alignas(64) float dyv[SCA_NB][16];
    for (int t = 0; t < SCA_T; t++) {
        const hr_block_q8_0 *y = (const hr_block_q8_0 *)((const uint8_t *)xa + (size_t)t * xs);
        for (int64_t b = 0; b < nb; b++) {
            for (int k = 0; k < HR_QK8_0 / 4; k++) memcpy(&bq[b][k][4 * t], y[b].qs + 4 * k, 4);
            const float d = _cvtsh_ss(y[b].d);
            for (int i = 0; i < 4; i++) dyv[b][4 * i + t] = d;
        }
    }
    /* lane l of C's register k holds key 4k + l / 4: where that key's scale sits among the 16 */
    __m512i key_of[4];
    for (int k = 0; k < 4; k++)
        key_of[k] = _mm512_set_epi32(4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 2, 4 * k + 2, 4 * k + 2,
                                     4 * k + 2, 4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k, 4 * k, 4 * k, 4 * k);
    /* byte offsets of the 16 keys' rows, for the gather of their block scales */
    const __m512i row_off = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                               _mm512_set1_epi32((int)ws));
    /* query t of 8 keys from two of the registers (lane 4i + t of register k is key 4k + i): lane l takes
     * key l % 8 of the pair, from the first register for keys 0-3 and the second (indices 16-31) for 4-7 */
    __m512i pick[SCA_T];
    for (int t = 0; t < SCA_T; t++) {
        int32_t idx[16];
        for (int l = 0; l < 16; l++) idx[l] = 4 * (l % 4) + t + (l % 8 >= 4 ? 16 : 0);
        pick[t] = _mm512_loadu_si512(idx);
    }
    _Alignas(64) int32_t c[16 * SCA_T];
    configure();
    for (int g = 0; g < ng; g++) {
        const uint8_t *rows = (const uint8_t *)w + (size_t)g * 16 * ws;
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = rows + (size_t)b * sizeof(hr_block_q8_0);
            /* the next 16 keys, a few rows per block (a burst of all their lines stalls on the fill buffers) */
            if (g + 1 < ng)
                for (int r = (int)b; r < 16; r += (int)nb)
                    hrx_prefetch_l1(rows + (size_t)(16 + r) * ws, (size_t)nb * sizeof(hr_block_q8_0));
            _tile_loadd(2, bq[b], SCA_T * 4);
            _tile_loadd(1, blk + offsetof(hr_block_q8_0, qs), (long)ws);
            _tile_zero(0);
            _tile_dpbssd(0, 1, 2);
            _tile_stored(0, c, SCA_T * 4);
            /* the 16 keys' scales of block b: the low half of a 4-byte gather at each block's start */
            const __m512 dx = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(row_off, blk, 1)));
            const __m512 dy = _mm512_load_ps(dyv[b]);
            HR_UNROLL
            for (int k = 0; k < 4; k++) {
                const __m512 s = _mm512_mul_ps(_mm512_permutexvar_ps(key_of[k], dx), dy);
                acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * k)), s, acc[k]);
            }
        }
        /* out[t][16g + key]: keys 0-7 from registers 0-1, 8-15 from 2-3 */
        for (int t = 0; t < SCA_T; t++) {
            const __m512 lo = _mm512_permutex2var_ps(acc[0], pick[t], acc[1]);
            const __m512 hi = _mm512_permutex2var_ps(acc[2], pick[t], acc[3]);
            const __m512 v = _mm512_mask_blend_ps(0xFF00, lo, hi);
            _mm512_storeu_ps(out + (size_t)t * os + (size_t)g * 16, v);
        }
    }
    _tile_release();
    if (nr > ng * 16)
        hr_scores_q8_0_avx512vnni(n, nr - ng * 16, nt, (const uint8_t *)w + (size_t)ng * 16 * ws, ws, xa, xs,
                                  out + (size_t)ng * 16, os);
}

void hr_scores_fill_amx(hr_kernels *k) { k->scores[HR_TYPE_Q8_0] = scores_q8_0_amx; }
