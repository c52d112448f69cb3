#ifdef ADKG_NO_AVX2_BUILD
#include "kernels.h"
const adkg::KernelTable* adkg::avx512Kernels() { return nullptr; }
#else
#define ADKG_ISA_NAME "avx512"
#define ADKG_LANES 16
#include "kernels_impl.h"
const adkg::KernelTable* adkg::avx512Kernels() { return &kTable; }
#endif
