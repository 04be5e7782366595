/* AVX-512 F/BW/DQ/VL kernels (built without VNNI, see mk/kernels.mk). */
#include <immintrin.h>

#include "kernels/kernels_impl.h"

void hr_kernels_fill_avx512(hr_kernels *k) { (void)k; }
