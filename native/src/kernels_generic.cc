#define ADKG_ISA_NAME "generic"
#define ADKG_LANES 4
#include "kernels_impl.h"
const adkg::KernelTable* adkg::genericKernels() { return &kTable; }
