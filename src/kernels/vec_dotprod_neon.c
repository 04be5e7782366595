/* NEON kernels using the ARMv8.2 dot-product extension (sdot); the kernel
 * bodies are shared with vec_neon.c through vec_neon_impl.h. */
#define HR_NEON_DOTPROD 1
#define NEON_FN(name) vec_dot_##name##_dotprod
#include "kernels/vec_neon_impl.h"

void hr_kernels_fill_neon_dotprod(hr_kernels *k) {
    k->vec_dot[HR_TYPE_Q8_0] = NEON_FN(q8_0);
    k->vec_dot[HR_TYPE_Q4_0] = NEON_FN(q4_0);
    k->vec_dot[HR_TYPE_Q2_K] = NEON_FN(q2_K);
    k->vec_dot[HR_TYPE_Q3_K] = NEON_FN(q3_K);
    k->vec_dot[HR_TYPE_Q4_K] = NEON_FN(q4_K);
    k->vec_dot[HR_TYPE_Q5_K] = NEON_FN(q5_K);
    k->vec_dot[HR_TYPE_Q6_K] = NEON_FN(q6_K);
}
