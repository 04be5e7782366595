/* Helpers shared by the AVX-512 kernel files (compiled with AVX-512 flags only). */
#ifndef HR_KERNELS_X86_AVX512_H
#define HR_KERNELS_X86_AVX512_H

#include <immintrin.h>

static inline float hr512_f16(uint16_t h) { return _cvtsh_ss(h); }

static inline float hr512_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* i16 lanes [g x 8, g+1 x 8, g+2 x 8, g+3 x 8] out of 16 i16 scales in lanes
 * 0-15: per 128-bit lane, the scale of the 16 quants it multiplied. */
static inline __m512i hr512_scale_quad(__m512i sc16, int g) {
    __m512i idx = _mm512_setr_epi64(0x0001000100010001ll * g, 0x0001000100010001ll * g,
                                    0x0001000100010001ll * (g + 1), 0x0001000100010001ll * (g + 1),
                                    0x0001000100010001ll * (g + 2), 0x0001000100010001ll * (g + 2),
                                    0x0001000100010001ll * (g + 3), 0x0001000100010001ll * (g + 3));
    return _mm512_permutexvar_epi16(idx, sc16);
}

#endif
