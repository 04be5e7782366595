/* Helpers shared by the x86 kernel files (AVX2 + F16C and up). */
#ifndef HR_KERNELS_X86_COMMON_H
#define HR_KERNELS_X86_COMMON_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* Asks for the lines of bytes [p, p + n) into L1: data about to be computed
 * on (the attention kernels' cache rows, whose products are bound by
 * arithmetic; into L2, Nemotron-H-small's 4 attention layers at 16384
 * positions over a Q8_0 cache took 5.30-5.43 ms per token instead of
 * 4.92-5.21). */
static inline void hrx_prefetch_l1(const void *p, size_t n) {
    for (size_t off = 0; off < n; off += 64) _mm_prefetch((const char *)p + off, _MM_HINT_T0);
}

/* The same into L2 only (prefetcht2): weights streamed from DRAM. An L1
 * prefetch holds one of the core's few L1 miss buffers until the line
 * arrives, and a packed q4_K block's 37 lines filled them, stalling the
 * kernel at its prefetch loop. Weights from DRAM, one process per core, ns
 * per block: packed q4_K 1 token 16.4 -> 14.6, 4 tokens 20.7 -> 18.0; q6_K
 * 1 token 17.0 -> 16.5, 4 tokens 24.4 -> 23.1. */
static inline void hrx_prefetch_l2(const void *p, size_t n) {
    for (size_t off = 0; off < n; off += 64) _mm_prefetch((const char *)p + off, _MM_HINT_T2);
}

/* LDTILECFG's 64-byte operand, palette 1 (the AMX kernels: gemm_amx.c, scores_amx.c). */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} hrx_amx_config;

/* The totals of four blocks' 8-lane partial sums, in block order. */
static inline __m128i hrx_hsum4_epi32(__m256i p0, __m256i p1, __m256i p2, __m256i p3) {
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

static inline int hrx_hsum_epi32(__m256i p) {
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    return _mm_cvtsi128_si32(t);
}

/* Four halves to floats in one conversion: per-block scalar conversions
 * (and broadcasting each product) bottleneck the small-block kernels on the
 * shuffle port; four blocks at a time measured about 25% faster. */
static inline __m128 hrx_f16x4(uint16_t a, uint16_t b, uint16_t c, uint16_t d) {
    uint64_t v = (uint64_t)a | (uint64_t)b << 16 | (uint64_t)c << 32 | (uint64_t)d << 48;
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)v));
}

static inline float hrx_hsum_ps128(__m128 v) {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}

/* Kernel skeleton for 32-element blocks: DOT(b) gives block b's 8-lane i32
 * partial sums; the scale of block b is XD(b) * YD(b). Four blocks per step,
 * then the odd ones one at a time. */
#define HRX_DOT32_LOOP(nb, DOT, XD, YD, result)                                                              \
    do {                                                                                                     \
        __m128 acc_ = _mm_setzero_ps();                                                                      \
        float tail_ = 0.0f;                                                                                  \
        int64_t b = 0;                                                                                       \
        for (; b + 4 <= (nb); b += 4) {                                                                      \
            __m128i is_ = hrx_hsum4_epi32(DOT(b), DOT(b + 1), DOT(b + 2), DOT(b + 3));                       \
            __m128 d_ = _mm_mul_ps(hrx_f16x4(XD(b), XD(b + 1), XD(b + 2), XD(b + 3)),                        \
                                   hrx_f16x4(YD(b), YD(b + 1), YD(b + 2), YD(b + 3)));                       \
            acc_ = _mm_fmadd_ps(d_, _mm_cvtepi32_ps(is_), acc_);                                             \
        }                                                                                                    \
        for (; b < (nb); b++) tail_ += _cvtsh_ss(XD(b)) * _cvtsh_ss(YD(b)) * (float)hrx_hsum_epi32(DOT(b)); \
        (result) = hrx_hsum_ps128(acc_) + tail_;                                                             \
    } while (0)

#endif
