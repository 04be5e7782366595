/* ggml's GELU (tanh form) as its CPU backend evaluates it with GGML_GELU_FP16:
 * identity above 10, zero below -10, else a table indexed by the f16 rounding
 * of x holding f16-rounded results (built by hr_gemma_load). */
#ifndef HR_MODELS_GELU_H
#define HR_MODELS_GELU_H

#include "tensor/types.h"

static inline float hr_gelu_f16(const float *tab, float x) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x;
    return tab[hr_f32_to_f16(x)];
}

#endif
