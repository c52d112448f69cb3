#define ADKG_ISA_NAME "generic"
#include "kernels_impl.h"
const adkg::KernelTable* adkg::genericKernels() { return &kTable; }
