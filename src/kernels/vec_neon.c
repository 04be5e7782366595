/* NEON kernels (ARMv8 baseline, no dot-product extension). */
#include <arm_neon.h>

#include "kernels/kernels_impl.h"

void hr_kernels_fill_neon(hr_kernels *k) { (void)k; }
