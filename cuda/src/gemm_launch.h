// Launching the projection GEMM kernels (gemm_tiles.cuh) from kernels.cu's launchers. The kernels are compiled in
// gemm_unit.cu, one unit per math and kernel (cuda/build.js), so that nvcc builds them at once on as many cores as
// there are: in one unit with the rest of kernels.cu they were a ~3-minute compile on one core. Internal to cuda/src.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels.h"

namespace adkg_cuda {

enum { KERNEL_PROJECT = 0, KERNEL_BACK_X = 1, KERNEL_BACK_M = 2 };

// One launch of a projection GEMM kernel: its grid, stream, tile (gemmTileFor) and blocks per SM (GemmChoice), and the
// kernel's arguments:
//   KERNEL_PROJECT  P[row] = M_r x[rowSlot[row]]        a X, b the projections, out P, tiles; tileRel null: one M over
//                                                      uniformCount rows (projectKernel)
//   KERNEL_BACK_X   ∂x[rowSlot[row]] += M_rᵀ ∂P[row]     a ∂P, b the projections, out ∂x, tiles (projectBackXKernel)
//   KERNEL_BACK_M   ∂M_r += Σ ∂P[row] x[rowSlot[row]]ᵀ   a ∂P, b X, tileRel/tileRow/tileCount the ∂M pieces, out ∂M
//                                                      (projectBackMKernel)
struct GemmLaunch {
  dim3 grid;
  cudaStream_t stream = nullptr;
  int tile = TILE_ELEMENT;
  int blocks = 2;
  const float* a = nullptr;
  const float* b = nullptr;
  const int32_t* rowSlot = nullptr;
  const int32_t* tileRel = nullptr;
  const int64_t* tileRow = nullptr;
  const int32_t* tileCount = nullptr;
  int64_t uniformCount = 0;
  int d = 0, k = 0;
  float* out = nullptr;
  int tiles = 0;
};

// KERNEL (KERNEL_*) in math MATH (GEMM_*), as l says; defined and instantiated in gemm_unit.cu.
template <int MATH, int KERNEL>
void launchGemm(const GemmLaunch& l);

}  // namespace adkg_cuda
