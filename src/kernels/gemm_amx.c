/*
 * q4_K x q8_K products on AMX tiles (Intel Advanced Matrix Extensions, from
 * Sapphire Rapids on), over weights repacked at load: the "amx" ISA table is
 * the avx512vnni table plus this file's packing and packed gemm for q4_K (and
 * scores_amx.c's attention scores over a Q8_0 cache).
 *
 * Why: the VNNI kernels spend two 512-bit integer multiplies per 64 weights
 * and token, all on one port. One tile product (TDPBSUD) multiplies 16
 * weight rows over 64 elements with up to 16 activation rows. Measured on
 * Qwen3-0.6B Q4_K_M, two threads: pp512 235 -> 320 tok/s, tg64 37.5 -> 40.5
 * (its q4_K kernel per block and token from cache: 1 token 10.6 -> 6.1 ns,
 * 4 tokens 4.4 -> 2.5 ns). Four sessions decoding together are bound by
 * memory on that machine and barely change.
 *
 * Layout: HR_PACK_ROWS (16) rows make a group, stored block by block. A
 * group's block holds the B operand ready to unpack: for each 64-element
 * chunk j and each 4-element step k, the 16 rows' 4 bytes side by side (low
 * nibbles: sub-block 2j, high nibbles: 2j+1), then the 16 rows' d and dmin
 * and their 6-bit scales and mins already unpacked, as bytes. It is the same
 * size as the stored rows plus 64 bytes per 16 rows and block (2.8%).
 *
 * Products: a tile store costs ~12 cycles whatever its size, and each
 * sub-block's dot needs its own scale, so storing one C tile per sub-block
 * (8 per block) was the bottleneck. Instead each chunk's product stacks its
 * two sub-blocks in the rows of one C tile: A holds, per token, one row with
 * the token's values of sub-block 2j beside zeros and one with zeros beside
 * those of 2j+1 (laid out once per call), B the chunk's 64 weight bytes per
 * row; so 4 stores per block and up to 8 tokens per pass. The 6-bit scales
 * and the mins times the activation group sums are applied in AVX-512
 * registers to 16 rows at once.
 *
 * Float order, for every (row, token): per block, the two exact integer
 * totals sumi = sum(scale * dot) and summ = sum(min * group sum), then
 * acc = fma(d * dy, sumi, acc) and acc = fma(-(dmin * dy), summ, acc), block
 * after block from acc = 0. It does not depend on the token count, so a
 * packed weight gives the same bits batched or alone; it differs from the
 * stored-layout kernels (which sum 8 lanes per block) only in rounding.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/kernels_impl.h"
#include "kernels/x86_common.h"

#define AMX_TOK 8     /* tokens per pass: two C rows each */
#define AMX_SEG 8     /* blocks whose A rows are laid out at once (32 KiB) */
#define AMX_GROUPS 4  /* row groups whose accumulators live across segments */

/* one group's block: offsets of its parts */
#define PQ4_QS 0      /* [chunk 4][k step 8][row 16][4 bytes] */
#define PQ4_D 2048    /* [row 16] f16 */
#define PQ4_DMIN 2080 /* [row 16] f16 */
#define PQ4_SC 2112   /* [sub-block 8][row 16] u8 */
#define PQ4_MN 2240   /* [sub-block pair 4][row 16][2] u8 */
#define PQ4_BYTES 2368
/* Bytes ahead of the block in use asked for from memory (into L2: x86_common.h) */
#define PF_AHEAD (4 * PQ4_BYTES)

/* Tiles 0-1: A (2t rows of 64 bytes), 2-3: B (16 rows of 64 bytes), 4-7: C
 * (2t rows of 16 int32). Consecutive chunks use different tiles, so one
 * chunk's product can run while the previous one is still being stored. */
static void amx_configure(int t) {
    hrx_amx_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 8; i++) {
        c.rows[i] = (uint8_t)(i == 2 || i == 3 ? 16 : 2 * t);
        c.colsb[i] = 64;
    }
    _tile_loadconfig(&c);
}

static void pack_q4_K(int64_t n, const void *w, size_t ws, void *dst) {
    uint8_t *o = dst;
    for (int64_t b = 0; b < n / HR_QK_K; b++, o += PQ4_BYTES) {
        for (int r = 0; r < HR_PACK_ROWS; r++) {
            const hr_block_q4_K *x = (const hr_block_q4_K *)((const uint8_t *)w + (size_t)r * ws) + b;
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 8; k++) memcpy(o + PQ4_QS + j * 512 + k * 64 + r * 4, x->qs + 32 * j + 4 * k, 4);
            memcpy(o + PQ4_D + 2 * r, &x->d, 2);
            memcpy(o + PQ4_DMIN + 2 * r, &x->dmin, 2);
            uint32_t sm[4];
            uint8_t s8[16];
            hr_k4_scales_words(x->scales, sm);
            memcpy(s8, sm, 16); /* scales of sub-blocks 0-7, then their mins */
            for (int s = 0; s < 8; s++) o[PQ4_SC + s * 16 + r] = s8[s];
            for (int p = 0; p < 4; p++) {
                o[PQ4_MN + p * 32 + r * 2] = s8[8 + 2 * p];
                o[PQ4_MN + p * 32 + r * 2 + 1] = s8[8 + 2 * p + 1];
            }
        }
    }
}

/* One chunk's product: C = A . B for the chunk's two sub-blocks, stored to c. */
#define CHUNK_PRODUCT(TA, TB, TC, a, ub, c)                                                                        \
    do {                                                                                                           \
        _tile_loadd(TB, ub, 64);                                                                                   \
        _tile_loadd(TA, a, 64);                                                                                    \
        _tile_zero(TC);                                                                                            \
        _tile_dpbsud(TC, TA, TB);                                                                                  \
        _tile_stored(TC, c, 64);                                                                                   \
    } while (0)

/* The A operand for blocks [b0, b0 + nbs) and t tokens (x: the first token's
 * row): per block and chunk j, 2t rows of 64 bytes: row h*t + i holds token
 * i's 32 values of sub-block 2j + h at bytes 32h.. and zeros beside them, so
 * that one product with the chunk's 64 weight bytes per row gives each
 * sub-block's dot in a C row of its own (2t rows: one tile store per chunk,
 * the costly part, instead of one per sub-block). */
static void build_a(int64_t b0, int nbs, int t, const uint8_t *x, size_t xs, uint8_t *a) {
    const __m256i z = _mm256_setzero_si256();
    for (int bb = 0; bb < nbs; bb++)
        for (int i = 0; i < t; i++) {
            const int8_t *q = ((const hr_block_q8_K *)(x + (size_t)i * xs) + b0 + bb)->qs;
            for (int j = 0; j < 4; j++) {
                uint8_t *r0 = a + (((size_t)bb * 4 + j) * 2 * t + i) * 64, *r1 = r0 + (size_t)t * 64;
                const __m256i lo = _mm256_loadu_si256((const __m256i *)(q + 64 * j));
                const __m256i hi = _mm256_loadu_si256((const __m256i *)(q + 64 * j + 32));
                _mm256_store_si256((__m256i *)r0, lo);
                _mm256_store_si256((__m256i *)(r0 + 32), z);
                _mm256_store_si256((__m256i *)r1, z);
                _mm256_store_si256((__m256i *)(r1 + 32), hi);
            }
        }
}

static inline void unpack_block(const uint8_t *pb, uint8_t (*ub)[1024]) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 8; k++) {
            const __m512i v = _mm512_loadu_si512(pb + PQ4_QS + j * 512 + k * 64);
            _mm512_store_si512(ub[j] + k * 64, _mm512_and_si512(v, m4));
            _mm512_store_si512(ub[j] + 512 + k * 64, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
        }
}

/* The block's 4 chunk products (a: its A rows; cb[j]: 2t rows of 16 int32). */
static inline void block_products(uint8_t (*ub)[1024], const uint8_t *a, int t, int32_t (*cb)[2 * AMX_TOK][16]) {
    const size_t as = (size_t)2 * t * 64;
    CHUNK_PRODUCT(0, 2, 4, a, ub[0], cb[0]);
    CHUNK_PRODUCT(1, 3, 5, a + as, ub[1], cb[1]);
    CHUNK_PRODUCT(0, 2, 6, a + 2 * as, ub[2], cb[2]);
    CHUNK_PRODUCT(1, 3, 7, a + 3 * as, ub[3], cb[3]);
}

/* Scales, mins and the float steps of block b for the t tokens (x: the first token's row). */
static inline void block_combine(const uint8_t *pb, int32_t (*cb)[2 * AMX_TOK][16], int t, const uint8_t *x,
                                 size_t xs, int64_t b, float (*acc)[16]) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m512i sc[8], mn[4];
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(pb + PQ4_D)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(pb + PQ4_DMIN)));
    for (int s = 0; s < 8; s++) sc[s] = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(pb + PQ4_SC + 16 * s)));
    for (int p = 0; p < 4; p++) mn[p] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(pb + PQ4_MN + 32 * p)));
    for (int i = 0; i < t; i++) {
        const hr_block_q8_K *yb = (const hr_block_q8_K *)(x + (size_t)i * xs) + b;
        /* written out: sub-block 2j's dots are C row i of chunk j, 2j+1's row t + i (the
         * compiler keeps a loop over s, with its index arithmetic, rolled: 22% slower at 8 tokens) */
        __m512i sumi = _mm512_mullo_epi32(_mm512_load_si512(cb[0][i]), sc[0]);
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(cb[0][t + i]), sc[1]));
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(cb[1][i]), sc[2]));
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(cb[1][t + i]), sc[3]));
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(cb[2][i]), sc[4]));
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(cb[2][t + i]), sc[5]));
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(cb[3][i]), sc[6]));
        sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(cb[3][t + i]), sc[7]));
        /* the group sums of the 8 sub-blocks as 16-bit pairs (2p, 2p+1) */
        const __m256i g32 = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb->bsums), ones);
        uint32_t gp[4];
        _mm_storeu_si128((__m128i *)gp, _mm256_cvtepi32_epi16(g32));
        __m512i summ = _mm512_madd_epi16(mn[0], _mm512_set1_epi32((int)gp[0]));
        summ = _mm512_add_epi32(summ, _mm512_madd_epi16(mn[1], _mm512_set1_epi32((int)gp[1])));
        summ = _mm512_add_epi32(summ, _mm512_madd_epi16(mn[2], _mm512_set1_epi32((int)gp[2])));
        summ = _mm512_add_epi32(summ, _mm512_madd_epi16(mn[3], _mm512_set1_epi32((int)gp[3])));
        const __m512 dy = _mm512_set1_ps(yb->d);
        __m512 v = _mm512_loadu_ps(acc[i]);
        v = _mm512_fmadd_ps(_mm512_mul_ps(d, dy), _mm512_cvtepi32_ps(sumi), v);
        v = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, dy), _mm512_cvtepi32_ps(summ), v);
        _mm512_storeu_ps(acc[i], v);
    }
}

/* Blocks [b0, b0 + nbs) of one group (wg: its block b0) for t tokens, into
 * acc[tok][row]. Software-pipelined so the tile unit and the vector units
 * overlap: while block b's products run, block b+1 is unpacked and block b-1
 * combined (two buffers of each). */
static void group_blocks(const uint8_t *wg, int64_t b0, int nbs, const uint8_t *a, int t, const uint8_t *x, size_t xs,
                         float (*acc)[16]) {
    _Alignas(64) uint8_t ub[2][4][1024];             /* a block's weights as bytes: B per chunk */
    _Alignas(64) int32_t cb[2][4][2 * AMX_TOK][16]; /* a block's products, per chunk */
    const size_t ablock = (size_t)4 * 2 * t * 64;
    unpack_block(wg, ub[0]);
    for (int b = 0; b < nbs; b++) {
        hrx_prefetch_l2(wg + (size_t)b * PQ4_BYTES + PF_AHEAD, PQ4_BYTES);
        block_products(ub[b & 1], a + (size_t)b * ablock, t, cb[b & 1]);
        if (b + 1 < nbs) unpack_block(wg + (size_t)(b + 1) * PQ4_BYTES, ub[(b + 1) & 1]);
        if (b > 0) block_combine(wg + (size_t)(b - 1) * PQ4_BYTES, cb[(b - 1) & 1], t, x, xs, b0 + b - 1, acc);
    }
    block_combine(wg + (size_t)(nbs - 1) * PQ4_BYTES, cb[(nbs - 1) & 1], t, x, xs, b0 + nbs - 1, acc);
}

static void gemm_packed_q4_K(int64_t n, int nr, int nt, const void *w, const void *x, size_t xs, float *out,
                             size_t os) {
    const int64_t nb = n / HR_QK_K;
    const size_t gbytes = (size_t)nb * PQ4_BYTES;
    _Alignas(64) uint8_t a[AMX_SEG * 4 * 2 * AMX_TOK * 64];
    _Alignas(64) float acc[AMX_GROUPS][AMX_TOK][16];
    int configured = 0;
    for (int g0 = 0; g0 < nr / HR_PACK_ROWS; g0 += AMX_GROUPS) {
        const int ng = nr / HR_PACK_ROWS - g0 < AMX_GROUPS ? nr / HR_PACK_ROWS - g0 : AMX_GROUPS;
        for (int t0 = 0; t0 < nt; t0 += AMX_TOK) {
            const int t = nt - t0 < AMX_TOK ? nt - t0 : AMX_TOK;
            const uint8_t *xt = (const uint8_t *)x + (size_t)t0 * xs;
            if (t != configured) amx_configure(configured = t);
            memset(acc, 0, sizeof acc);
            for (int64_t b0 = 0; b0 < nb; b0 += AMX_SEG) {
                const int nbs = nb - b0 < AMX_SEG ? (int)(nb - b0) : AMX_SEG;
                build_a(b0, nbs, t, xt, xs, a);
                for (int g = 0; g < ng; g++)
                    group_blocks((const uint8_t *)w + (size_t)(g0 + g) * gbytes + (size_t)b0 * PQ4_BYTES, b0, nbs, a, t,
                                 xt, xs, acc[g]);
            }
            for (int g = 0; g < ng; g++)
                for (int i = 0; i < t; i++)
                    memcpy(out + (size_t)(t0 + i) * os + (size_t)(g0 + g) * HR_PACK_ROWS, acc[g][i], sizeof acc[g][i]);
        }
    }
    _tile_release();
}

void hr_gemm_fill_amx(hr_kernels *k) {
    k->pack[HR_TYPE_Q4_K] = pack_q4_K;
    k->packed_block_bytes[HR_TYPE_Q4_K] = PQ4_BYTES;
    k->gemm_packed[HR_TYPE_Q4_K] = gemm_packed_q4_K;
}
