/* AVX-512 VNNI kernels: int8 dot products with vpdpbusd. */
#include <immintrin.h>

#include "kernels/kernels_impl.h"

void hr_kernels_fill_avx512vnni(hr_kernels *k) { (void)k; }
