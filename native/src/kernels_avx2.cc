#ifdef ADKG_NO_AVX2_BUILD
#include "kernels.h"
const adkg::KernelTable* adkg::avx2Kernels() { return nullptr; }
#else
#define ADKG_ISA_NAME "avx2+fma"
#include "kernels_impl.h"
const adkg::KernelTable* adkg::avx2Kernels() { return &kTable; }
#endif
