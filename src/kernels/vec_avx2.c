/* AVX2 + FMA + F16C kernels. */
#include <immintrin.h>

#include "kernels/kernels_impl.h"

void hr_kernels_fill_avx2(hr_kernels *k) { (void)k; }
