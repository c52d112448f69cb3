#include <cstdlib>
#include <cstring>
#include "kernels.h"

namespace adkg {

static const KernelTable* pick() {
  // ADKG_NATIVE_ISA=generic|avx2 caps the kernels (for tests and for comparing them).
  const char* force = std::getenv("ADKG_NATIVE_ISA");
  if (force && std::strcmp(force, "generic") == 0) return genericKernels();
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  bool capAvx2 = force && std::strcmp(force, "avx2") == 0;
  if (!capAvx2 && avx512Kernels() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return avx512Kernels();
  if (avx2Kernels() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2Kernels();
#endif
  return genericKernels();
}

const KernelTable& kernels() {
  static const KernelTable* table = pick();
  return *table;
}

}  // namespace adkg
