// Host check of the TransR/TransRA projection GEMM kernels (gemm_tiles.cuh projectKernel, projectBackXKernel,
// projectBackMKernel) with no GPU, in every build the launchers can pick: the SIMT tile, the tensor-core element tile in
// 3xTF32 and TF32, one or two blocks per SM, the 16-byte (chunk) tile (ADKG_CUDA_GEMM_TILE=chunk) and the warpgroup
// tile (ADKG_CUDA_GEMM_TILE=wgmma) and its stationary variant (=stationary), none run on a GPU yet. The kernels run as written on emulated thread blocks
// (cuda/test/emu/cuda_runtime.h; mma.sync and wgmma.mma_async emulated from the PTX ISA's layouts, a cp.async copy
// landing only when a wait covers its group, or in the "eager" cases at its issue, and a wgmma reading A and B at its
// wait, or in the "early-read" cases at its issue, so a read before its wait, a split read before it is complete, a wrong wait count, a wrong ring slot or a slot refilled too early gives wrong products), over rows gathered through rowSlot and tiles laid out as CudaEngine::buildPlan does, and are
// compared with the products in double. Prints one JSON line per case; exits 1 when a case is off. Built and run by
// test/cuda-emulation.test.ts.
#include <cuda_runtime.h>  // the emulation (cuda/test/emu)

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "../src/gemm_tiles.cuh"

using namespace adkg_cuda;

namespace {

struct Shape {
  int d, k, R, rowsPerRel, N;
};

struct Problem {
  Shape s;
  std::vector<float> X, M, dP;
  std::vector<int32_t> rowSlot, tileRel, tileCount, mtRel, mtCount;
  std::vector<int64_t> tileRow, mtRow;
  int64_t rows = 0;
};

Problem makeProblem(const Shape& s) {
  Problem p;
  p.s = s;
  std::mt19937 rng(7 + s.d * 3 + s.k);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  p.X.resize((size_t)s.N * s.d);
  for (auto& x : p.X) x = uni(rng);
  p.M.resize((size_t)s.R * s.k * s.d);
  for (auto& x : p.M) x = uni(rng);
  p.rows = (int64_t)s.R * s.rowsPerRel;
  p.rowSlot.resize(p.rows);
  for (auto& x : p.rowSlot) x = (int)(rng() % s.N);
  p.dP.resize((size_t)p.rows * s.k);
  for (auto& x : p.dP) x = uni(rng);
  // Projection tiles of ≤ 128 rows and ∂M pieces of ≤ 70 rows (several per relation, so K-sums span pieces), per relation.
  for (int r = 0; r < s.R; r++) {
    const int64_t r0 = (int64_t)r * s.rowsPerRel;
    for (int t = 0; t < s.rowsPerRel; t += TILE_ROWS) {
      p.tileRel.push_back(r);
      p.tileRow.push_back(r0 + t);
      p.tileCount.push_back(std::min(TILE_ROWS, s.rowsPerRel - t));
    }
    for (int t = 0; t < s.rowsPerRel; t += 70) {
      p.mtRel.push_back(r);
      p.mtRow.push_back(r0 + t);
      p.mtCount.push_back(std::min(70, s.rowsPerRel - t));
    }
  }
  return p;
}

struct Errors {
  double project, backX, backM;
};

// blocks: the stationary tile's persistent grid for P and ∂x (blocks over all tiles; the others a block a tile).
template <int MATH, int MINB, int TILE>
Errors runVariant(const Problem& p, int blocks = 0) {
  const int d = p.s.d, k = p.s.k, T = (int)p.tileRel.size(), TM = (int)p.mtRel.size();
  const size_t dyn = (TILE == TILE_CHUNK        ? mma::chunk::SMEM_BYTES
                      : TILE == TILE_WGMMA      ? mma::wg::SMEM_BYTES
                      : TILE == TILE_STATIONARY ? mma::stationary::SMEM_BYTES
                                                : 0) /
                     sizeof(float);
  const int gridX = TILE == TILE_STATIONARY ? blocks : T;
  std::vector<float> P((size_t)p.rows * k, std::nanf("")), gradX(p.X.size(), 0.f), gradM(p.M.size(), 0.f);
  emu::launch(dim3(gridX, (k + 127) / 128), BLOCK, dyn, [&] {
    projectKernel<MATH, MINB, TILE>(p.X.data(), p.M.data(), p.rowSlot.data(), p.tileRel.data(), p.tileRow.data(),
                                     p.tileCount.data(), 0, d, k, P.data(), T);
  });
  emu::launch(dim3(gridX, (d + 127) / 128), BLOCK, dyn, [&] {
    projectBackXKernel<MATH, MINB, TILE>(p.dP.data(), p.M.data(), p.rowSlot.data(), p.tileRel.data(), p.tileRow.data(),
                                          p.tileCount.data(), d, k, gradX.data(), T);
  });
  emu::launch(dim3(TM, (k + 127) / 128, (d + 127) / 128), BLOCK, dyn, [&] {
    projectBackMKernel<MATH, MINB, TILE>(p.dP.data(), p.X.data(), p.rowSlot.data(), p.mtRel.data(), p.mtRow.data(),
                                          p.mtCount.data(), d, k, gradM.data());
  });
  // The products in double.
  std::vector<double> rP((size_t)p.rows * k, 0), rX(p.X.size(), 0), rM(p.M.size(), 0);
  const int rowsPerRel = p.s.rowsPerRel;
  for (int64_t row = 0; row < p.rows; row++) {
    const int r = (int)(row / rowsPerRel);
    const float* M = &p.M[(size_t)r * k * d];
    const float* x = &p.X[(size_t)p.rowSlot[row] * d];
    const float* g = &p.dP[(size_t)row * k];
    for (int q = 0; q < k; q++) {
      double s = 0;
      for (int i = 0; i < d; i++) {
        s += (double)M[(size_t)q * d + i] * x[i];
        rX[(size_t)p.rowSlot[row] * d + i] += (double)M[(size_t)q * d + i] * g[q];
        rM[((size_t)r * k + q) * d + i] += (double)g[q] * x[i];
      }
      rP[(size_t)row * k + q] = s;
    }
  }
  return {emu::maxRel(rP, P), emu::maxRel(rX, gradX), emu::maxRel(rM, gradM)};
}

bool report(const char* variant, const Shape& s, const Errors& e, double tolerance) {
  const bool ok = e.project < tolerance && e.backX < tolerance && e.backM < tolerance;
  std::printf("{\"variant\":\"%s\",\"d\":%d,\"k\":%d,\"project\":%.3e,\"backX\":%.3e,\"backM\":%.3e,\"tolerance\":%.1e,\"ok\":%s}\n",
              variant, s.d, s.k, e.project, e.backX, e.backM, tolerance, ok ? "true" : "false");
  return ok;
}

}  // namespace

int main() {
  // d = k = 128 (the bench's); d = 16, k = 12 (the battery's: one K-step, zero-filled); d = 132, k = 68 (two column
  // tiles of ∂x and ∂M, k not a multiple of 8).
  const std::vector<Shape> shapes = {{128, 128, 2, 150, 400}, {16, 12, 3, 90, 60}, {132, 68, 1, 140, 300}};
  bool ok = true;
  for (const Shape& s : shapes) {
    const Problem p = makeProblem(s);
    // FP32-level: SIMT and 3xTF32 (~1e-7 relative to each output's scale, summed over up to 140 rows).
    ok &= report("simt x1", s, runVariant<GEMM_SIMT, 1, TILE_ELEMENT>(p), 2e-6);
    ok &= report("simt x2", s, runVariant<GEMM_SIMT, 2, TILE_ELEMENT>(p), 2e-6);
    ok &= report("tf32x3 x1", s, runVariant<GEMM_TF32X3, 1, TILE_ELEMENT>(p), 2e-6);
    ok &= report("tf32x3 x2", s, runVariant<GEMM_TF32X3, 2, TILE_ELEMENT>(p), 2e-6);
    // Plain TF32: about 10 mantissa bits in, a numerics change by design.
    ok &= report("tf32 x1", s, runVariant<GEMM_TF32, 1, TILE_ELEMENT>(p), 3e-3);
    ok &= report("tf32 x2", s, runVariant<GEMM_TF32, 2, TILE_ELEMENT>(p), 3e-3);
    if (s.d % 4 == 0 && s.k % 4 == 0) {  // gemmTileFor()
      ok &= report("tf32x3 chunk x2", s, runVariant<GEMM_TF32X3, 2, TILE_CHUNK>(p), 2e-6);
      ok &= report("tf32x3 chunk x1", s, runVariant<GEMM_TF32X3, 1, TILE_CHUNK>(p), 2e-6);
      ok &= report("tf32 chunk x2", s, runVariant<GEMM_TF32, 2, TILE_CHUNK>(p), 3e-3);
      ok &= report("tf32 chunk x1", s, runVariant<GEMM_TF32, 1, TILE_CHUNK>(p), 3e-3);
      // The warpgroup tile (sm_90a's wgmma.mma_async, emulated from the PTX ISA's layouts): one block per SM only.
      ok &= report("tf32x3 wgmma", s, runVariant<GEMM_TF32X3, 1, TILE_WGMMA>(p), 2e-6);
      ok &= report("tf32 wgmma", s, runVariant<GEMM_TF32, 1, TILE_WGMMA>(p), 3e-3);
      // The stationary tile: a persistent grid of one block (every relation change inside it) and of two (a block
      // starting mid-relation). d = 132 runs P a tile at a time (K past 128), ∂x (k = 68: three K-steps) stationary.
      ok &= report("tf32x3 stationary 1 block", s, runVariant<GEMM_TF32X3, 1, TILE_STATIONARY>(p, 1), 2e-6);
      ok &= report("tf32x3 stationary 2 blocks", s, runVariant<GEMM_TF32X3, 1, TILE_STATIONARY>(p, 2), 2e-6);
      ok &= report("tf32 stationary 2 blocks", s, runVariant<GEMM_TF32, 1, TILE_STATIONARY>(p, 2), 3e-3);
      // Again with every cp.async landing at its issue (the earliest a GPU may land it), so that a ring slot refilled
      // while another warp may still read it shows, as a read before its wait does above.
      emu::eagerCopies = true;
      ok &= report("tf32x3 x2 eager", s, runVariant<GEMM_TF32X3, 2, TILE_ELEMENT>(p), 2e-6);
      ok &= report("tf32x3 chunk x1 eager", s, runVariant<GEMM_TF32X3, 1, TILE_CHUNK>(p), 2e-6);
      ok &= report("tf32x3 wgmma eager", s, runVariant<GEMM_TF32X3, 1, TILE_WGMMA>(p), 2e-6);
      ok &= report("tf32x3 stationary 1 block eager", s, runVariant<GEMM_TF32X3, 1, TILE_STATIONARY>(p, 1), 2e-6);
      ok &= report("tf32x3 stationary 2 blocks eager", s, runVariant<GEMM_TF32X3, 1, TILE_STATIONARY>(p, 2), 2e-6);
      emu::eagerCopies = false;
      // Again with every wgmma reading A and B at its issue (the earliest a GPU may read them), so that a B split some
      // warp has not finished when another multiplies (a missing barrier after the split) shows, on every shape and
      // not only where the epilogue's wait follows the issue at once, as with reads at the wait above.
      emu::eagerWgmma = true;
      ok &= report("tf32x3 wgmma early-read", s, runVariant<GEMM_TF32X3, 1, TILE_WGMMA>(p), 2e-6);
      ok &= report("tf32x3 stationary 1 block early-read", s, runVariant<GEMM_TF32X3, 1, TILE_STATIONARY>(p, 1), 2e-6);
      ok &= report("tf32x3 stationary 2 blocks early-read", s, runVariant<GEMM_TF32X3, 1, TILE_STATIONARY>(p, 2), 2e-6);
      emu::eagerWgmma = false;
    }
  }
  return ok ? 0 : 1;
}
