/*
 * exp() as llama.cpp's CPU backend computes it in SiLU and softmax: a vector
 * polynomial approximation (from Arm's optimized routines) whose last-bit
 * results differ from libm's expf, and whose AVX-512 and AVX2 forms differ
 * from each other. Quantized activations amplify one-ulp differences (a value
 * rounded to the other side of a quantization step), so the engine uses the
 * form matching the kernels' ISA. Scalar code with fmaf, one lane at a time.
 */
#ifndef HR_MODELS_VEXP_H
#define HR_MODELS_VEXP_H

#include "kernels/kernels.h"

typedef float (*hr_expf_fn)(float);

/* The exp matching ggml on this ISA (libm expf where ggml uses it). */
hr_expf_fn hr_expf_for_isa(hr_isa isa);
/* Lanes that ggml reduces together when summing softmax terms (16, 8, or 1). */
int hr_expf_lanes(hr_isa isa);

#endif
