// The projection GEMM kernels (gemm_tiles.cuh) instantiated and launched (gemm_launch.h). cuda/build.js compiles this
// file once per math and kernel, with ADKG_GEMM_MATH (GEMM_*) and ADKG_GEMM_KERNEL (KERNEL_*) set, and those units at
// once; without ADKG_GEMM_KERNEL a unit holds all three kernels of its math, without ADKG_GEMM_MATH all of them (the
// host checks in cuda/test).
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "gemm_launch.h"
#include "gemm_tiles.cuh"

namespace adkg_cuda {

namespace {

// The 16-byte and warpgroup tiles' kernels need more than the 48 KB of static shared memory: allow it, and ask for the
// largest shared-memory carveout so that two 16-byte tiles fit on an SM. Once per kernel and device; a refusal is an
// error here rather than an unexplained "invalid argument" at the next launch check.
void allowLargeSmem(const void* kernel, int bytes) {
  static std::mutex mu;
  static std::set<std::pair<const void*, int>> done;
  int device = 0;
  cudaGetDevice(&device);
  std::lock_guard<std::mutex> lock(mu);
  if (done.count({kernel, device})) return;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (e == cudaSuccess)
    e = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, (int)cudaSharedmemCarveoutMaxShared);
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("cuda backend: the GEMM tile's ") + std::to_string(bytes) +
                             " bytes of shared memory were refused: " + cudaGetErrorString(e));
  done.insert({kernel, device});
}

// KERNEL<MATH, MINB, TILE> with SMEM bytes of dynamic shared memory (over 48 KB: allowed first).
template <int MATH, int KERNEL, int MINB, int TILE>
void launchVariant(const GemmLaunch& l, int smem) {
  if constexpr (KERNEL == KERNEL_PROJECT) {
    if (smem > 0) allowLargeSmem(reinterpret_cast<const void*>(projectKernel<MATH, MINB, TILE>), smem);
    ADKG_LAUNCH(l.grid, BLOCK, smem, l.stream, projectKernel<MATH, MINB, TILE>)(l.a, l.b, l.rowSlot, l.tileRel, l.tileRow,
                                                                               l.tileCount, l.uniformCount, l.d, l.k,
                                                                               l.out, l.tiles);
  } else if constexpr (KERNEL == KERNEL_BACK_X) {
    if (smem > 0) allowLargeSmem(reinterpret_cast<const void*>(projectBackXKernel<MATH, MINB, TILE>), smem);
    ADKG_LAUNCH(l.grid, BLOCK, smem, l.stream, projectBackXKernel<MATH, MINB, TILE>)(l.a, l.b, l.rowSlot, l.tileRel,
                                                                                    l.tileRow, l.tileCount, l.d, l.k,
                                                                                    l.out, l.tiles);
  } else {
    if (smem > 0) allowLargeSmem(reinterpret_cast<const void*>(projectBackMKernel<MATH, MINB, TILE>), smem);
    ADKG_LAUNCH(l.grid, BLOCK, smem, l.stream, projectBackMKernel<MATH, MINB, TILE>)(l.a, l.b, l.rowSlot, l.tileRel,
                                                                                    l.tileRow, l.tileCount, l.d, l.k,
                                                                                    l.out);
  }
}

}  // namespace

// The warpgroup and stationary tiles are built for one block per SM whatever l.blocks says: their 176 and 186 KB of
// shared memory leave room for no second block, and their 64 accumulators a thread would spill under two blocks'
// register cap. The stationary tile's ∂M is the warpgroup tile (projectBackMKernel), so that kernel is compiled once.
// SIMT has the element tile alone (gemmTileFor).
template <int MATH, int KERNEL>
void launchGemm(const GemmLaunch& l) {
  if constexpr (MATH != GEMM_SIMT) {
    if (l.tile == TILE_CHUNK) {
      if (l.blocks == 2) launchVariant<MATH, KERNEL, 2, TILE_CHUNK>(l, mma::chunk::SMEM_BYTES);
      else launchVariant<MATH, KERNEL, 1, TILE_CHUNK>(l, mma::chunk::SMEM_BYTES);
      return;
    }
    if (l.tile == TILE_WGMMA || (l.tile == TILE_STATIONARY && KERNEL == KERNEL_BACK_M)) {
      launchVariant<MATH, KERNEL, 1, TILE_WGMMA>(l, mma::wg::SMEM_BYTES);
      return;
    }
    if constexpr (KERNEL != KERNEL_BACK_M) {
      if (l.tile == TILE_STATIONARY) {
        launchVariant<MATH, KERNEL, 1, TILE_STATIONARY>(l, mma::stationary::SMEM_BYTES);
        return;
      }
    }
  }
  if (l.blocks == 2) launchVariant<MATH, KERNEL, 2, TILE_ELEMENT>(l, 0);
  else launchVariant<MATH, KERNEL, 1, TILE_ELEMENT>(l, 0);
}

#define ADKG_GEMM_ALL_KERNELS(MATH)                                  \
  template void launchGemm<MATH, KERNEL_PROJECT>(const GemmLaunch&); \
  template void launchGemm<MATH, KERNEL_BACK_X>(const GemmLaunch&);  \
  template void launchGemm<MATH, KERNEL_BACK_M>(const GemmLaunch&);
#if defined(ADKG_GEMM_MATH) && defined(ADKG_GEMM_KERNEL)
template void launchGemm<ADKG_GEMM_MATH, ADKG_GEMM_KERNEL>(const GemmLaunch&);
#elif defined(ADKG_GEMM_MATH)
ADKG_GEMM_ALL_KERNELS(ADKG_GEMM_MATH)
#else
ADKG_GEMM_ALL_KERNELS(GEMM_SIMT)
ADKG_GEMM_ALL_KERNELS(GEMM_TF32X3)
ADKG_GEMM_ALL_KERNELS(GEMM_TF32)
#endif

}  // namespace adkg_cuda
