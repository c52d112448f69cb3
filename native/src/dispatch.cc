#include <cstdlib>
#include <cstring>
#include "kernels.h"

namespace adkg {

static const KernelTable* pick() {
  // ADKG_NATIVE_ISA=generic forces the portable kernels (for tests and for comparing the two).
  const char* force = std::getenv("ADKG_NATIVE_ISA");
  if (force && std::strcmp(force, "generic") == 0) return genericKernels();
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (avx2Kernels() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2Kernels();
#endif
  return genericKernels();
}

const KernelTable& kernels() {
  static const KernelTable* table = pick();
  return *table;
}

}  // namespace adkg
