// The kernel table: one implementation per instruction set (kernels_impl.h compiled by kernels_generic.cc
// and kernels_avx2.cc), picked once at load time by dispatch.cc.
#pragma once
#include <cstdint>

namespace adkg {

struct KernelTable {
  const char* isa;
  float (*dot)(const float* a, const float* b, int n);
};

const KernelTable* genericKernels();
const KernelTable* avx2Kernels();  // nullptr when not built for this architecture
const KernelTable& kernels();      // the best one this CPU runs

}  // namespace adkg
