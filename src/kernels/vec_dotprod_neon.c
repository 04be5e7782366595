/* NEON kernels using the ARMv8.2 dot-product extension (sdot). */
#include <arm_neon.h>

#include "kernels/kernels_impl.h"

void hr_kernels_fill_neon_dotprod(hr_kernels *k) { (void)k; }
