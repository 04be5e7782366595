/* The deterministic PRNG shared by the test-model generators (genmodel,
 * genmodel_hybrid, genmodel_gemma): one definition, so the same seed means
 * the same weights in every generator. Header-only because each tools/NAME.c
 * file is its own program. */
#ifndef HR_GENMODEL_RNG_H
#define HR_GENMODEL_RNG_H

#include <stdint.h>

static inline uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Approximately standard normal: Irwin-Hall sum of four 16-bit uniforms,
 * one PRNG step per sample so that billions of weights stay cheap. */
static inline float gauss(uint64_t *s) {
    uint64_t r = splitmix(s);
    float sum = (float)(r & 0xffff) + (float)((r >> 16) & 0xffff) + (float)((r >> 32) & 0xffff) + (float)(r >> 48);
    return (sum / 65536.0f - 2.0f) * 1.7320508f;
}

/* FNV-1a of a tensor name, to give every tensor its own stream. */
static inline uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

#endif
