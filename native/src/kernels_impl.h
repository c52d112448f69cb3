// Kernel implementations. Included once per instruction set; see kernels.h.
#include "kernels.h"
#include "simd.h"

namespace {

float dotK(const float* a, const float* b, int n) { return dot(a, b, n); }

const adkg::KernelTable kTable = {ADKG_ISA_NAME, dotK};

}  // namespace
