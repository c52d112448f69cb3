// Device helpers shared by the kernels of the CUDA engine (kernels.cu, gram.cu): warp reductions, 16-byte row
// access, the loss functions' terms. Internal to cuda/src; each translation unit gets its own copy (anonymous
// namespace), so no relocatable device code is needed.
#pragma once
#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>

#include "kernels.h"

namespace adkg_cuda {
namespace {

constexpr int WARP = 32;
constexpr int BLOCK = 256;
constexpr int WARPS = BLOCK / WARP;

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warpSumD(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// ∂dist/∂v_i for one element: l1 sign(v) (sign(0) = 0), l2 v/dist (0 when dist = 0).
__device__ __forceinline__ float normGrad(float v, float dist, int norm) {
  if (norm == NORM_L1) return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f);
  return dist > 0.f ? v / dist : 0.f;
}
__device__ __forceinline__ float normTerm(float v, int norm) { return norm == NORM_L1 ? fabsf(v) : v * v; }
__device__ __forceinline__ float normFinish(float s, int norm) { return norm == NORM_L1 ? s : sqrtf(s); }

__device__ __forceinline__ float softplusf(float x) { return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x))); }
__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

// The block's dynamic shared memory as `float name[]` (ADKG_DYNAMIC_SHARED16: declared 16-byte aligned), and inline PTX
// only where it can run (ADKG_SM80_PTX: sm_80 and up). The host emulation of the kernels (cuda/test/emu, used by
// cuda/test/*_emulation_check.cc) defines ADKG_HOST_EMULATION and gives its own dynamicShared(), and takes the plain
// C++ branches. Preprocessor only: the device code is what it was.
#ifndef ADKG_HOST_EMULATION
#define ADKG_DYNAMIC_SHARED(name) extern __shared__ float name[]
#define ADKG_DYNAMIC_SHARED16(name) extern __shared__ __align__(16) float name[]
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define ADKG_SM80_PTX 1
#else
#define ADKG_SM80_PTX 0
#endif
#else
#define ADKG_DYNAMIC_SHARED(name) float* name = dynamicShared()
#define ADKG_DYNAMIC_SHARED16(name) float* name = dynamicShared()
#define ADKG_SM80_PTX 0
#endif

// kernel<<<grid, block, smem, stream>>>(args) is written ADKG_LAUNCH(grid, block, smem, stream, kernel)(args), so that the
// host emulation (cuda/test/emu/runtime_api.h) can run the launchers too; on the GPU it is the same tokens.
#ifndef ADKG_LAUNCH
#define ADKG_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<grid, block, smem, stream>>>
#endif

inline unsigned gridFor(int64_t items, int perBlock) { return (unsigned)((items + perBlock - 1) / perBlock); }

__device__ __forceinline__ void atomicAdd4(float* p, float4 v) {
#if __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float4*>(p), v);
#else
  atomicAdd(p, v.x);
  atomicAdd(p + 1, v.y);
  atomicAdd(p + 2, v.z);
  atomicAdd(p + 3, v.w);
#endif
}
#ifndef ADKG_EMU_ALIGNED16
#define ADKG_EMU_ALIGNED16(p)  // the host emulation checks each 16-byte access's alignment here
#endif
__device__ __forceinline__ float4 ld4(const float* p) {
  ADKG_EMU_ALIGNED16(p);
  return *reinterpret_cast<const float4*>(p);
}
__device__ __forceinline__ void st4(float* p, float4 v) {
  ADKG_EMU_ALIGNED16(p);
  *reinterpret_cast<float4*>(p) = v;
}
__device__ __forceinline__ float at4(float4 v, int j) { return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w; }
__device__ __forceinline__ float4 add4(float4 a, float4 b) { return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w); }
__device__ __forceinline__ float4 sub4(float4 a, float4 b) { return make_float4(a.x - b.x, a.y - b.y, a.z - b.z, a.w - b.w); }
__device__ __forceinline__ float4 scale4(float4 a, float s) { return make_float4(a.x * s, a.y * s, a.z * s, a.w * s); }
__device__ __forceinline__ float norm4(float4 v, int norm) {
  return norm == NORM_L1 ? fabsf(v.x) + fabsf(v.y) + fabsf(v.z) + fabsf(v.w) : v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
}

// ---------------------------------------------------------------------------------------------------
// The loss kernels' arguments and the loss terms (src/kge/backends/backend.ts "Loss").

struct LossArgs {
  const float* V;      // vectors: entity table (TransE) or projected rows
  float* dV;           // their gradients
  const float* rel;    // R × k
  float* gradR;
  const int32_t *segGroup, *segStart, *segCount, *gRel;
  const int32_t *hIdx, *tIdx, *nIdx;
  const uint8_t* nHead;
  int k, n, shared, negInSmem, loss, norm;
  // Projected rows are written by one warp (h, t; independent negatives) or one block (shared
  // negatives) only, so plain stores replace atomics and ∂P needs no zeroing.
  int exclusive;
  float margin, tau, invB;
  double* lossAccum;
};

// ∂ℓ/∂dist_j of one negative with weight w (before the 1/B): adds its loss to lossPart and, for the margin loss, its
// share of ∂ℓ/∂dist⁺ to cPos.
__device__ __forceinline__ float negativeCoef(const LossArgs& a, float dj, float distPos, float w, float& lossPart,
                                              float& cPos) {
  if (a.loss == LOSS_MARGIN) {
    const float x = a.margin + distPos - dj;
    if (x > 0.f) {
      lossPart += w * x;
      cPos += w;
    }
    return x > 0.f ? -w : 0.f;
  }
  const float x = a.margin - dj;
  lossPart += 0.5f * w * softplusf(x);
  return -0.5f * w * sigmoidf(x);
}
// The positive's own term (softplus loss; the margin loss has none): its loss, and cPos = ∂ℓ/∂dist⁺.
__device__ __forceinline__ void positiveTerm(const LossArgs& a, float distPos, float& lossPart, float& cPos) {
  if (a.loss == LOSS_SOFTPLUS) {
    lossPart += 0.5f * softplusf(distPos - a.margin);
    cPos = 0.5f * sigmoidf(distPos - a.margin);
  }
}

// (negativeWeights keeps its own copy of negativeCoef's arithmetic, written as before: the shared-negatives loss
// kernels' machine code stays what bench/kge-gpu measured.)
// The weights and loss of one positive's n negatives, lanes over j: weights 1/n, or softmax(−τ·dist⁻) held
// constant; coef[j] = ∂ℓ/∂dist_j · invB (divided by dist_j when overDist: the L2 matrix-product form; 0 when
// dist_j = 0); coef may alias dist. Returns the warp's loss (the positive's included); cPos = ∂ℓ/∂dist⁺ · invB.
__device__ float negativeWeights(const LossArgs& a, const float* dist, float* coef, float distPos, bool overDist,
                                 float& cPosOut) {
  const int lane = threadIdx.x & 31, n = a.n;
  float mx = -FLT_MAX;
  if (a.tau != 0.f)
    for (int j = lane; j < n; j += WARP) mx = fmaxf(mx, -a.tau * dist[j]);
  mx = warpMax(mx);
  float z = 0.f;
  if (a.tau != 0.f)
    for (int j = lane; j < n; j += WARP) z += expf(-a.tau * dist[j] - mx);
  z = warpSum(z);
  float lossPart = 0.f, cPos = 0.f;
  for (int j = lane; j < n; j += WARP) {
    const float dj = dist[j];
    float w = a.tau != 0.f ? expf(-a.tau * dj - mx) / z : 1.f / n;
    float c;
    if (a.loss == LOSS_MARGIN) {
      float x = a.margin + distPos - dj;
      if (x > 0.f) {
        lossPart += w * x;
        cPos += w;
        c = -w;
      } else {
        c = 0.f;
      }
    } else {
      float x = a.margin - dj;
      lossPart += 0.5f * w * softplusf(x);
      c = -0.5f * w * sigmoidf(x);
    }
    coef[j] = overDist ? (dj > 0.f ? c * a.invB / dj : 0.f) : c * a.invB;
  }
  lossPart = warpSum(lossPart);
  cPos = warpSum(cPos);
  if (a.loss == LOSS_SOFTPLUS) {
    lossPart += 0.5f * softplusf(distPos - a.margin);
    cPos = 0.5f * sigmoidf(distPos - a.margin);
  }
  cPosOut = cPos * a.invB;
  return lossPart;
}

}  // namespace
}  // namespace adkg_cuda
