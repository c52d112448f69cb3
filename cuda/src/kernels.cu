// Device kernels of the CUDA KGE engine (see kernels.h). They follow src/kge/backends/backend.ts:
// negatives from the counter RNG, distances with the parameters as they were at the start of the step,
// gradients summed over the batch (atomics into slot-indexed buffers), then a row-sparse optimizer step
// on the touched rows only. The TransR/TransRA projection GEMMs' kernels are in gemm_tiles.cuh, compiled in
// gemm_unit.cu; their launchers are here.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

#include "device_common.cuh"
#include "device_rng.cuh"
#include "gemm_launch.h"
#include "kernels.h"

namespace adkg_cuda {

namespace {

// ---------------------------------------------------------------------------------------------------
// Negatives (backend.ts "Negatives"): bit-identical to js.

__device__ __forceinline__ bool drawSide(uint32_t sideKey, uint32_t c, int r, int corruption, const double* headProb) {
  double u = toUnitFloat(hash32(sideKey ^ c));
  return corruption == CORRUPT_BERNOULLI ? u < headProb[r] : u < 0.5;
}
__device__ __forceinline__ int32_t drawEntity(uint32_t entKey, uint32_t c, int32_t replaced, int corruption,
                                              const DevSampling& smp) {
  uint32_t u = hash32(entKey ^ c);
  if (corruption != CORRUPT_TYPED) return (int32_t)scaleToInt(u, (double)smp.N);
  int type = smp.entityType[replaced];
  int32_t start = smp.typeOffsets[type], size = smp.typeOffsets[type + 1] - start;
  return smp.typeMembers[start + scaleToInt(u, (double)size)];
}

__global__ void drawIndependentKernel(int32_t* negSlot, uint8_t* negHead, const int32_t* hEnt, const int32_t* rel,
                                      const int32_t* tEnt, int B, int n, uint64_t base, uint32_t sideKey,
                                      uint32_t entKey, int corruption, DevSampling smp) {
  int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (int64_t)B * n) return;
  int64_t b = idx / n;
  int j = (int)(idx % n);
  uint32_t c = (uint32_t)((base + (uint64_t)b) * (uint64_t)n + (uint64_t)j);
  bool head = drawSide(sideKey, c, rel[b], corruption, smp.headProb);
  negHead[idx] = head ? 1 : 0;
  negSlot[idx] = drawEntity(entKey, c, head ? hEnt[b] : tEnt[b], corruption, smp);
}

__global__ void drawSharedKernel(int32_t* negSlot, uint8_t* negHead, const int32_t* hEnt, const int32_t* rel,
                                 const int32_t* tEnt, int chunks, int C, int n, uint64_t base, uint32_t sideKey,
                                 uint32_t entKey, int corruption, DevSampling smp) {
  int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (int64_t)chunks * n) return;
  int64_t chunk = idx / n;
  int j = (int)(idx % n);
  int64_t s = chunk * C;
  uint64_t q = base + (uint64_t)s;
  bool head = drawSide(sideKey, (uint32_t)(q * (uint64_t)n), rel[s], corruption, smp.headProb);
  if (j == 0) negHead[chunk] = head ? 1 : 0;
  uint32_t c = (uint32_t)(q * (uint64_t)n + (uint64_t)j);
  negSlot[idx] = drawEntity(entKey, c, head ? hEnt[s] : tEnt[s], corruption, smp);
}

// ---------------------------------------------------------------------------------------------------
// Index: the loss kernel's vector indices, the projected rows' slots, touched marks.

__global__ void indexKernel(DevModel m, DevPlan p, DevBatch b, int shared) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.B) return;
  const int n = m.n;
  const bool projected = m.model != MODEL_TRANSE;
  int ob = p.order[i];
  int g = p.posGroup[i];
  int w = i - p.gPosStart[g];
  int32_t hs = b.hSlot[ob], ts = b.tSlot[ob];
  m.touched[hs] = 1;
  m.touched[ts] = 1;
  m.relTouched[b.rel[ob]] = 1;
  if (!shared) {
    int64_t base = projected ? p.gRow[g] + (int64_t)w * (2 + n) : 0;
    b.hIdx[i] = projected ? (int32_t)base : hs;
    b.tIdx[i] = projected ? (int32_t)(base + 1) : ts;
    if (projected) {
      b.rowSlot[base] = hs;
      b.rowSlot[base + 1] = ts;
    }
    for (int j = 0; j < n; j++) {
      int32_t ns = b.negSlot[(int64_t)ob * n + j];
      m.touched[ns] = 1;
      b.nHead[(int64_t)i * n + j] = b.negHead[(int64_t)ob * n + j];
      if (projected) {
        b.nIdx[(int64_t)i * n + j] = (int32_t)(base + 2 + j);
        b.rowSlot[base + 2 + j] = ns;
      } else {
        b.nIdx[(int64_t)i * n + j] = ns;
      }
    }
    return;
  }
  int64_t base = projected ? p.gRow[g] : 0;
  b.hIdx[i] = projected ? (int32_t)(base + 2 * w) : hs;
  b.tIdx[i] = projected ? (int32_t)(base + 2 * w + 1) : ts;
  if (projected) {
    b.rowSlot[base + 2 * w] = hs;
    b.rowSlot[base + 2 * w + 1] = ts;
  }
  if (w != 0) return;
  int chunk = p.gChunk[g];
  int P = p.gPosCount[g];
  b.nHead[g] = b.negHead[chunk];
  for (int j = 0; j < n; j++) {
    int32_t ns = b.negSlot[(int64_t)chunk * n + j];
    m.touched[ns] = 1;
    if (projected) {
      int64_t row = base + 2 * P + j;
      b.nIdx[(int64_t)g * n + j] = (int32_t)row;
      b.rowSlot[row] = ns;
    } else {
      b.nIdx[(int64_t)g * n + j] = ns;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// TransRA composition: x_e = ê_e + Σ α_{e,i} ā_{anchorOf[e,i]}, α = softmax over valid slots.

__device__ void composeRow(const DevModel& m, int64_t slot, float* x, float* alphaOut, bool mark) {
  const int lane = threadIdx.x & 31, d = m.d, K = m.K;
  const int32_t* of = m.anchorOf + slot * K;
  const float* lg = m.anchorLogit.w + slot * K;
  double mx = -DBL_MAX, z = 0;
  bool any = false;
  for (int i = 0; i < K; i++)
    if (of[i] >= 0) {
      mx = fmax(mx, (double)lg[i]);
      any = true;
    }
  if (any)
    for (int i = 0; i < K; i++) z += of[i] >= 0 ? exp((double)lg[i] - mx) : 0.0;
  for (int e = lane; e < d; e += WARP) x[e] = m.entity.w[slot * d + e];
  for (int i = 0; i < K; i++) {
    float al = of[i] >= 0 ? (float)(exp((double)lg[i] - mx) / z) : 0.f;
    if (alphaOut && lane == 0) alphaOut[slot * K + i] = al;
    if (of[i] < 0) continue;
    if (mark && lane == 0) m.anchorTouched[of[i]] = 1;
    const float* a = m.anchor.w + (int64_t)of[i] * d;
    for (int e = lane; e < d; e += WARP) x[e] += al * a[e];
  }
}

__global__ void composeKernel(DevModel m) {
  int64_t slot = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP;
  if (slot >= m.capacity || !m.touched[slot]) return;
  composeRow(m, slot, m.composed + slot * m.d, m.alpha, true);
}

__global__ void composeAllKernel(DevModel m, int64_t first, int64_t count, float* out) {
  int64_t i = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP;
  if (i >= count) return;
  composeRow(m, first + i, out + i * m.d, nullptr, false);
}


// ---------------------------------------------------------------------------------------------------
// Loss: one block per segment (positives of one group). Per positive a warp computes dist⁺, the n
// negative distances against a = h + r (tail replaced) or a = t − r (head replaced), the weights and
// the loss, then ∂/∂(h, t, r, negatives) in one more pass. In shared mode the group's negatives and
// their gradients sit in shared memory (a chunk's n rows against all of its positives).

__global__ void __launch_bounds__(BLOCK) lossKernel(LossArgs a) {
  ADKG_DYNAMIC_SHARED(smem);
  const int k = a.k, n = a.n, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int s = blockIdx.x, g = a.segGroup[s], r = a.gRel[g];
  float* rS = smem;
  float* dRS = rS + k;
  float* mine = dRS + k + warp * (4 * k + 2 * n);
  float *aT = mine, *aH = aT + k, *dAT = aH + k, *dAH = dAT + k, *dist = dAH + k, *coef = dist + n;
  float* Y = smem + 2 * k + WARPS * (4 * k + 2 * n);
  float* dY = Y + (int64_t)n * k;
  for (int e = threadIdx.x; e < k; e += BLOCK) {
    rS[e] = a.rel[(int64_t)r * k + e];
    dRS[e] = 0.f;
  }
  if (a.shared && a.negInSmem) {
    for (int64_t x = threadIdx.x; x < (int64_t)n * k; x += BLOCK) {
      int j = (int)(x / k), e = (int)(x % k);
      Y[x] = a.V[(int64_t)a.nIdx[(int64_t)g * n + j] * k + e];
      dY[x] = 0.f;
    }
  }
  __syncthreads();
  const int i0 = a.segStart[s], cnt = a.segCount[s];
  double lossLocal = 0;
  for (int pi = warp; pi < cnt; pi += WARPS) {
    const int i = i0 + pi;
    const float* h = a.V + (int64_t)a.hIdx[i] * k;
    const float* t = a.V + (int64_t)a.tIdx[i] * k;
    float part = 0.f;
    for (int e = lane; e < k; e += WARP) {
      float he = h[e], te = t[e], re = rS[e];
      aT[e] = he + re;
      aH[e] = te - re;
      dAT[e] = 0.f;
      dAH[e] = 0.f;
      part += normTerm(he + re - te, a.norm);
    }
    const float distPos = normFinish(warpSum(part), a.norm);
    __syncwarp();
    auto negRow = [&](int j) -> const float* {
      if (a.shared && a.negInSmem) return Y + (int64_t)j * k;
      int64_t idx = a.shared ? (int64_t)g * n + j : (int64_t)i * n + j;
      return a.V + (int64_t)a.nIdx[idx] * k;
    };
    auto negGrad = [&](int j) -> float* {
      if (a.shared && a.negInSmem) return dY + (int64_t)j * k;
      int64_t idx = a.shared ? (int64_t)g * n + j : (int64_t)i * n + j;
      return a.dV + (int64_t)a.nIdx[idx] * k;
    };
    auto headSide = [&](int j) -> bool { return a.shared ? a.nHead[g] != 0 : a.nHead[(int64_t)i * n + j] != 0; };
    for (int j = 0; j < n; j++) {
      const float* y = negRow(j);
      const float* an = headSide(j) ? aH : aT;
      float p2 = 0.f;
      for (int e = lane; e < k; e += WARP) p2 += normTerm(an[e] - y[e], a.norm);
      p2 = normFinish(warpSum(p2), a.norm);
      if (lane == 0) dist[j] = p2;
    }
    __syncwarp();
    float cPos;
    lossLocal += (double)negativeWeights(a, dist, coef, distPos, false, cPos);
    __syncwarp();
    float* gh = a.dV + (int64_t)a.hIdx[i] * k;
    float* gt = a.dV + (int64_t)a.tIdx[i] * k;
    for (int e = lane; e < k; e += WARP) {
      float at = aT[e], ah = aH[e];
      float gpos = cPos * normGrad(h[e] + rS[e] - t[e], distPos, a.norm);
      float sT = 0.f, sH = 0.f;
      const bool storeNeg = a.exclusive && !a.shared;
      for (int j = 0; j < n; j++) {
        if (coef[j] == 0.f && !storeNeg) continue;
        bool hs = headSide(j);
        float diff = (hs ? ah : at) - negRow(j)[e];
        float gg = coef[j] * normGrad(diff, dist[j], a.norm);
        if (hs) sH += gg;
        else sT += gg;
        if (storeNeg) negGrad(j)[e] = -gg;
        else atomicAdd(negGrad(j) + e, -gg);
      }
      if (a.exclusive) {
        gh[e] = gpos + sT;
        gt[e] = sH - gpos;
      } else {
        atomicAdd(gh + e, gpos + sT);
        atomicAdd(gt + e, sH - gpos);
      }
      atomicAdd(dRS + e, gpos + sT - sH);
    }
    __syncwarp();
  }
  if (lane == 0 && lossLocal != 0) atomicAdd(a.lossAccum, lossLocal * (double)a.invB);
  __syncthreads();
  for (int e = threadIdx.x; e < k; e += BLOCK)
    if (dRS[e] != 0.f) atomicAdd(&a.gradR[(int64_t)r * k + e], dRS[e]);
  if (a.shared && a.negInSmem) {
    for (int64_t x = threadIdx.x; x < (int64_t)n * k; x += BLOCK) {
      int j = (int)(x / k), e = (int)(x % k);
      float* dst = &a.dV[(int64_t)a.nIdx[(int64_t)g * n + j] * k + e];
      if (a.exclusive) *dst = dY[x];
      else if (dY[x] != 0.f) atomicAdd(dst, dY[x]);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Loss with independent negatives, k ≤ 128 and k % 4 == 0: a warp per positive as in lossKernel, but each
// lane owns four consecutive components (one 16-byte load per row), four negatives are in flight at a
// time, 1/dist is taken once per negative, and gradients go out as one 16-byte atomic per lane (sm_90).

__device__ __forceinline__ float sgn(float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f); }
// ∂dist/∂v times c: l1 c·sign(v); l2 v·(c/dist), with cOverDist precomputed (0 when dist = 0).
__device__ __forceinline__ float4 normGrad4(float4 v, float c, float cOverDist, int norm) {
  if (norm == NORM_L1) return make_float4(c * sgn(v.x), c * sgn(v.y), c * sgn(v.z), c * sgn(v.w));
  return scale4(v, cOverDist);
}

__global__ void __launch_bounds__(BLOCK) independentLossKernel(LossArgs a) {
  ADKG_DYNAMIC_SHARED(smem);
  const int k = a.k, n = a.n, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int s = blockIdx.x, g = a.segGroup[s], r = a.gRel[g];
  float* dRS = smem;                         // k
  float* dist = smem + k + warp * 2 * n;     // n per warp
  float* coef = dist + n;                    // n per warp
  for (int e = threadIdx.x; e < k; e += BLOCK) dRS[e] = 0.f;
  __syncthreads();
  const bool on = 4 * lane < k;
  const int e4 = on ? 4 * lane : 0;
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  const float4 r4 = on ? ld4(a.rel + (int64_t)r * k + e4) : zero;
  float4 dr = zero;
  const int i0 = a.segStart[s], cnt = a.segCount[s];
  double lossLocal = 0;
  for (int pi = warp; pi < cnt; pi += WARPS) {
    const int i = i0 + pi;
    const float4 h4 = on ? ld4(a.V + (int64_t)a.hIdx[i] * k + e4) : zero;
    const float4 t4 = on ? ld4(a.V + (int64_t)a.tIdx[i] * k + e4) : zero;
    const float4 aT = add4(h4, r4), aH = sub4(t4, r4), pv = sub4(aT, t4);
    const float distPos = normFinish(warpSum(norm4(pv, a.norm)), a.norm);
    const int32_t* nIdx = a.nIdx + (int64_t)i * n;
    const uint8_t* nHead = a.nHead + (int64_t)i * n;
    float cPos;
    float4 sT = zero, sH = zero;
    if (a.tau == 0.f) {
      // Uniform weights: a negative's coefficient needs only its own distance, so one pass, rows in registers.
      const float w = 1.f / n;
      float lossPart = 0.f, cPosSum = 0.f;
      for (int j0 = 0; j0 < n; j0 += 4) {
        float4 diff[4];
        float part[4];
#pragma unroll
        for (int q = 0; q < 4; q++) {
          const int j = j0 + q;
          diff[q] = zero;
          part[q] = 0.f;
          if (j < n && on) {
            diff[q] = sub4(nHead[j] ? aH : aT, ld4(a.V + (int64_t)nIdx[j] * k + e4));
            part[q] = norm4(diff[q], a.norm);
          }
        }
#pragma unroll
        for (int q = 0; q < 4; q++) part[q] = warpSum(part[q]);
#pragma unroll
        for (int q = 0; q < 4; q++) {
          const int j = j0 + q;
          if (j >= n) break;
          const float dj = normFinish(part[q], a.norm);
          const float c = negativeCoef(a, dj, distPos, w, lossPart, cPosSum) * a.invB;
          if ((c == 0.f && !a.exclusive) || !on) continue;  // exclusive rows are stored, so a zero is written too
          const float4 gg = normGrad4(diff[q], c, dj > 0.f ? c / dj : 0.f, a.norm);
          if (nHead[j]) sH = add4(sH, gg);
          else sT = add4(sT, gg);
          float* gy = a.dV + (int64_t)nIdx[j] * k + e4;
          if (a.exclusive) st4(gy, scale4(gg, -1.f));
          else atomicAdd4(gy, scale4(gg, -1.f));
        }
      }
      positiveTerm(a, distPos, lossPart, cPosSum);
      cPos = cPosSum * a.invB;
      lossLocal += (double)lossPart;
    } else {
      for (int j0 = 0; j0 < n; j0 += 4) {
        float part[4];
#pragma unroll
        for (int q = 0; q < 4; q++) {
          const int j = j0 + q;
          part[q] = 0.f;
          if (j < n && on) part[q] = norm4(sub4(nHead[j] ? aH : aT, ld4(a.V + (int64_t)nIdx[j] * k + e4)), a.norm);
        }
#pragma unroll
        for (int q = 0; q < 4; q++) part[q] = warpSum(part[q]);
        if (lane < 4 && j0 + lane < n) dist[j0 + lane] = normFinish(lane == 0 ? part[0] : lane == 1 ? part[1] : lane == 2 ? part[2] : part[3], a.norm);
      }
      __syncwarp();
      lossLocal += (double)negativeWeights(a, dist, coef, distPos, false, cPos);
      __syncwarp();
      for (int j = 0; j < n; j++) {
        const float c = coef[j];
        if (c == 0.f && !a.exclusive) continue;  // exclusive rows are stored, so a zero is written too
        const bool hs = nHead[j] != 0;
        float* gy = a.dV + (int64_t)nIdx[j] * k + e4;
        if (!on) continue;
        const float4 diff = sub4(hs ? aH : aT, ld4(a.V + (int64_t)nIdx[j] * k + e4));
        const float4 gg = normGrad4(diff, c, dist[j] > 0.f ? c / dist[j] : 0.f, a.norm);
        if (hs) sH = add4(sH, gg);
        else sT = add4(sT, gg);
        if (a.exclusive) st4(gy, scale4(gg, -1.f));
        else atomicAdd4(gy, scale4(gg, -1.f));
      }
    }
    if (on) {
      const float4 gpos = normGrad4(pv, cPos, distPos > 0.f ? cPos / distPos : 0.f, a.norm);
      const float4 vh = add4(gpos, sT), vt = sub4(sH, gpos);
      float* gh = a.dV + (int64_t)a.hIdx[i] * k + e4;
      float* gt = a.dV + (int64_t)a.tIdx[i] * k + e4;
      if (a.exclusive) {
        st4(gh, vh);
        st4(gt, vt);
      } else {
        atomicAdd4(gh, vh);
        atomicAdd4(gt, vt);
      }
      dr = add4(dr, sub4(vh, sH));  // gpos + sT − sH
    }
    __syncwarp();
  }
  if (lane == 0 && lossLocal != 0) atomicAdd(a.lossAccum, lossLocal * (double)a.invB);
  if (on) {
    atomicAdd(&dRS[e4], dr.x);
    atomicAdd(&dRS[e4 + 1], dr.y);
    atomicAdd(&dRS[e4 + 2], dr.z);
    atomicAdd(&dRS[e4 + 3], dr.w);
  }
  __syncthreads();
  for (int e = threadIdx.x; e < k; e += BLOCK)
    if (dRS[e] != 0.f) atomicAdd(&a.gradR[(int64_t)r * k + e], dRS[e]);
}

// ---------------------------------------------------------------------------------------------------
// Loss with shared negatives and the L2 norm, as matrix products: one block per group (positives of one
// relation in one chunk, sharing the chunk's n negatives Y). Per tile of GT positives with queries A
// (a = h + r, or t − r when heads are replaced): D²_ij = ‖a_i − y_j‖² (a GT×n tile over k), the row pass
// turns distances into loss and coefficients C_ij = coef_ij / dist_ij, then ∂a = rowsum(C)∘a − C·Y and
// ∂Y += colsum(C)∘Y − Cᵀ·A, all from shared memory; ∂Y stays in registers across the group's tiles.
// Same arithmetic as lossKernel (which keeps L1, more than 64 negatives and k > 128).

constexpr int GT = 64;             // positives per tile
constexpr int GMAX_N = 64;         // negatives per group (4 column blocks of 16)
constexpr int GMAX_KC = 8;         // k ≤ 16·8 = 128

// dst[j·ld + e] = V[idx[j]·k + e] for j < rows, e < k, by the whole block, with eight loads in flight per thread
// (16-byte ones when k % 4 == 0): a loop of one gather at a time would wait out each load's latency.
__device__ __forceinline__ void loadRowsToSmem(const float* V, const int32_t* idx, int rows, int k, float* dst, int ld) {
  constexpr int INFLIGHT = 8;
  if ((k & 3) == 0) {
    const int k4 = k >> 2, total = rows * k4;
    for (int x0 = threadIdx.x; x0 < total; x0 += BLOCK * INFLIGHT) {
      float4 v[INFLIGHT];
#pragma unroll
      for (int u = 0; u < INFLIGHT; u++) {
        const int x = x0 + BLOCK * u, j = x / k4;
        if (x < total) v[u] = ld4(V + (int64_t)idx[j] * k + 4 * (x - j * k4));
      }
#pragma unroll
      for (int u = 0; u < INFLIGHT; u++) {
        const int x = x0 + BLOCK * u, j = x / k4;
        if (x >= total) break;
        float* d = dst + j * ld + 4 * (x - j * k4);
        if ((ld & 3) == 0) {
          st4(d, v[u]);
        } else {
          d[0] = v[u].x;
          d[1] = v[u].y;
          d[2] = v[u].z;
          d[3] = v[u].w;
        }
      }
    }
    return;
  }
  const int total = rows * k;
  for (int x0 = threadIdx.x; x0 < total; x0 += BLOCK * INFLIGHT) {
    float v[INFLIGHT];
#pragma unroll
    for (int u = 0; u < INFLIGHT; u++) {
      const int x = x0 + BLOCK * u, j = x / k;
      if (x < total) v[u] = V[(int64_t)idx[j] * k + x - j * k];
    }
#pragma unroll
    for (int u = 0; u < INFLIGHT; u++) {
      const int x = x0 + BLOCK * u, j = x / k;
      if (x >= total) break;
      dst[j * ld + x - j * k] = v[u];
    }
  }
}

// VEC (k % 4 == 0): rows of A and Y padded to a multiple of 4 floats instead of k + 1, so that the inner loops read
// shared memory 16 bytes at a time, and a thread's 8 columns of ∂a and ∂Y are two runs of 4 (4·tj… and 64 + 4·tj…)
// instead of tj + 16·c. The padded length over 4 is odd, so the 8 Y rows a quarter-warp reads in the D² tile start on
// distinct groups of 4 banks (conflict-free). Every sum runs in the same order as the scalar variant's, so both give
// the same bits.
__host__ __device__ __forceinline__ int groupLossLd(int k, bool vec) { return vec ? (k % 8 == 0 ? k + 4 : k + 8) : k + 1; }
size_t groupLossSmemFloats(int k, int n, bool vec) {
  const size_t ldk = (size_t)groupLossLd(k, vec);
  return (size_t)2 * k + (size_t)GT * ldk + (size_t)n * ldk + (size_t)GT * (n + 1) + 3 * GT;
}
__device__ __forceinline__ float comp4(float4 v, int c) { return c == 0 ? v.x : c == 1 ? v.y : c == 2 ? v.z : v.w; }

// Two blocks per SM (on sm_90 shared memory allows two at k = 128, n = 64; on sm_80 one): registers capped at 128.
template <bool VEC>
__global__ void __launch_bounds__(BLOCK, 2) groupLossKernel(LossArgs a) {
  ADKG_DYNAMIC_SHARED16(smem);
  const int k = a.k, n = a.n, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int ldk = groupLossLd(k, VEC), ldn = n + 1;
  const int g = blockIdx.x, r = a.gRel[a.segGroup[g]];
  const int grp = a.segGroup[g];
  float* rS = smem;
  float* dRS = rS + k;
  float* As = dRS + k;             // GT × ldk
  float* Ys = As + GT * ldk;       // n × ldk
  float* Cs = Ys + n * ldk;        // GT × ldn
  float* distPos = Cs + GT * ldn;  // GT
  float* rowSum = distPos + GT;    // GT
  float* cPosS = rowSum + GT;      // GT
  for (int e = threadIdx.x; e < k; e += BLOCK) {
    rS[e] = a.rel[(int64_t)r * k + e];
    dRS[e] = 0.f;
  }
  loadRowsToSmem(a.V, a.nIdx + (int64_t)grp * n, n, k, Ys, ldk);
  const bool headSide = a.nHead[grp] != 0;
  const int i0 = a.segStart[g], cnt = a.segCount[g];
  const int tj = threadIdx.x % 16, ti = threadIdx.x / 16;
  // The thread's c-th column of ∂a, ∂Y and ∂r.
  auto colOf = [&](int c) { return VEC ? (c < 4 ? 4 * tj + c : 64 + 4 * tj + c - 4) : tj + 16 * c; };
  const float4 zero4 = make_float4(0.f, 0.f, 0.f, 0.f);
  // The thread's columns of a row (0 past k): with VEC two 16-byte reads, colOf(0..3) and colOf(4..7).
  auto cols = [&](const float* row, float (&out)[GMAX_KC]) {
    if constexpr (VEC) {
      const float4 lo = 4 * tj < k ? ld4(row + 4 * tj) : zero4, hi = 64 + 4 * tj < k ? ld4(row + 64 + 4 * tj) : zero4;
#pragma unroll
      for (int c = 0; c < GMAX_KC; c++) out[c] = comp4(c < 4 ? lo : hi, c & 3);
    } else {
#pragma unroll
      for (int c = 0; c < GMAX_KC; c++) out[c] = colOf(c) < k ? row[colOf(c)] : 0.f;
    }
  };
  float accY[4][GMAX_KC];
  float colSum[4];
#pragma unroll
  for (int q = 0; q < 4; q++) {
    colSum[q] = 0.f;
#pragma unroll
    for (int c = 0; c < GMAX_KC; c++) accY[q][c] = 0.f;
  }
  float drPart[GMAX_KC];
#pragma unroll
  for (int c = 0; c < GMAX_KC; c++) drPart[c] = 0.f;
  double lossLocal = 0;
  __syncthreads();
  for (int t0 = 0; t0 < cnt; t0 += GT) {
    const int rows = min(GT, cnt - t0);
    // Queries and positive distances: a warp per row.
    if ((k & 3) == 0) {
      // Lanes own four consecutive components (k ≤ 128) and QB rows' h and t are in flight at once: the
      // gathers are the latency this pass waits on.
      constexpr int QB = 4;
      const bool on = 4 * lane < k;
      const int e4 = on ? 4 * lane : 0;
      const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
      const float4 r4 = on ? make_float4(rS[e4], rS[e4 + 1], rS[e4 + 2], rS[e4 + 3]) : zero;
      for (int b0 = warp; b0 < GT; b0 += WARPS * QB) {
        float4 hv[QB], tv[QB];
#pragma unroll
        for (int u = 0; u < QB; u++) {
          const int row = b0 + WARPS * u, i = i0 + t0 + row;
          hv[u] = tv[u] = zero;
          if (row < rows && on) {
            hv[u] = ld4(a.V + (int64_t)a.hIdx[i] * k + e4);
            tv[u] = ld4(a.V + (int64_t)a.tIdx[i] * k + e4);
          }
        }
#pragma unroll
        for (int u = 0; u < QB; u++) {
          const int row = b0 + WARPS * u;
          if (row >= GT) break;
          const float4 hr = add4(hv[u], r4), q4 = row < rows ? (headSide ? sub4(tv[u], r4) : hr) : zero;
          const float4 v = sub4(hr, tv[u]);
          if (on) {
            float* dst = As + row * ldk + e4;
            if constexpr (VEC) {
              st4(dst, q4);
            } else {
              dst[0] = q4.x;
              dst[1] = q4.y;
              dst[2] = q4.z;
              dst[3] = q4.w;
            }
          }
          const float part = warpSum(row < rows && on ? v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w : 0.f);
          if (lane == 0) distPos[row] = sqrtf(part);
        }
      }
    } else {
      for (int row = warp; row < GT; row += WARPS) {
        float part = 0.f;
        if (row < rows) {
          const int i = i0 + t0 + row;
          const float* h = a.V + (int64_t)a.hIdx[i] * k;
          const float* t = a.V + (int64_t)a.tIdx[i] * k;
          for (int e = lane; e < k; e += WARP) {
            float he = h[e], te = t[e], re = rS[e];
            As[row * ldk + e] = headSide ? te - re : he + re;
            float v = he + re - te;
            part += v * v;
          }
        } else {
          for (int e = lane; e < k; e += WARP) As[row * ldk + e] = 0.f;
        }
        part = warpSum(part);
        if (lane == 0) distPos[row] = sqrtf(part);
      }
    }
    __syncthreads();
    // D² tile: rows ti + 16·q, columns tj + 16·b.
    {
      float acc[4][4];
#pragma unroll
      for (int q = 0; q < 4; q++)
#pragma unroll
        for (int b = 0; b < 4; b++) acc[q][b] = 0.f;
      if constexpr (VEC) {
        for (int e = 0; e < k; e += 4) {
          float4 av[4], yv[4];
#pragma unroll
          for (int q = 0; q < 4; q++) av[q] = ld4(As + (ti + 16 * q) * ldk + e);
#pragma unroll
          for (int b = 0; b < 4; b++) yv[b] = tj + 16 * b < n ? ld4(Ys + (tj + 16 * b) * ldk + e) : zero4;
#pragma unroll
          for (int x = 0; x < 4; x++)
#pragma unroll
            for (int q = 0; q < 4; q++)
#pragma unroll
              for (int b = 0; b < 4; b++) {
                float v = comp4(av[q], x) - comp4(yv[b], x);
                acc[q][b] = fmaf(v, v, acc[q][b]);
              }
        }
      } else {
        for (int e = 0; e < k; e++) {
          float av[4], yv[4];
#pragma unroll
          for (int q = 0; q < 4; q++) av[q] = As[(ti + 16 * q) * ldk + e];
#pragma unroll
          for (int b = 0; b < 4; b++) yv[b] = tj + 16 * b < n ? Ys[(tj + 16 * b) * ldk + e] : 0.f;
#pragma unroll
          for (int q = 0; q < 4; q++)
#pragma unroll
            for (int b = 0; b < 4; b++) {
              float v = av[q] - yv[b];
              acc[q][b] = fmaf(v, v, acc[q][b]);
            }
        }
      }
#pragma unroll
      for (int q = 0; q < 4; q++)
#pragma unroll
        for (int b = 0; b < 4; b++)
          if (tj + 16 * b < n) Cs[(ti + 16 * q) * ldn + tj + 16 * b] = acc[q][b];
    }
    __syncthreads();
    // Row pass: distances → loss, weights, coefficients C = coef/dist (in place), row sums, cPos.
    for (int row = warp; row < GT; row += WARPS) {
      float* C = Cs + row * ldn;
      if (row >= rows) {
        for (int j = lane; j < n; j += WARP) C[j] = 0.f;
        if (lane == 0) {
          rowSum[row] = 0.f;
          cPosS[row] = 0.f;
        }
        continue;
      }
      for (int j = lane; j < n; j += WARP) C[j] = sqrtf(C[j]);
      __syncwarp();
      const float dp = distPos[row];
      float cPos;
      const float lossPart = negativeWeights(a, C, C, dp, true, cPos);
      __syncwarp();
      float rs = 0.f;
      for (int j = lane; j < n; j += WARP) rs += C[j];
      rs = warpSum(rs);
      if (lane == 0) {
        lossLocal += (double)lossPart;
        rowSum[row] = rs;
        cPosS[row] = dp > 0.f ? cPos / dp : 0.f;  // ∂dist⁺/∂v = v / dist⁺
      }
    }
    __syncthreads();
    // ∂a = rowsum∘a − C·Y and the positives' own term; rows ti + 16·q, columns colOf(c).
    {
      float acc[4][GMAX_KC];
#pragma unroll
      for (int q = 0; q < 4; q++)
#pragma unroll
        for (int c = 0; c < GMAX_KC; c++) acc[q][c] = 0.f;
      for (int j = 0; j < n; j++) {
        float cv[4], yv[GMAX_KC];
#pragma unroll
        for (int q = 0; q < 4; q++) cv[q] = Cs[(ti + 16 * q) * ldn + j];
        cols(Ys + j * ldk, yv);
#pragma unroll
        for (int q = 0; q < 4; q++)
#pragma unroll
          for (int c = 0; c < GMAX_KC; c++) acc[q][c] = fmaf(cv[q], yv[c], acc[q][c]);
      }
      // The rows' indices first, and each row's other-side values before its stores: loads that wait behind
      // stores to dV (which the compiler may not reorder) would serialise their latencies.
      int hI[4], tI[4];
#pragma unroll
      for (int q = 0; q < 4; q++) {
        const int row = ti + 16 * q, i = i0 + t0 + (row < rows ? row : 0);
        hI[q] = a.hIdx[i];
        tI[q] = a.tIdx[i];
      }
#pragma unroll
      for (int q = 0; q < 4; q++) {
        const int row = ti + 16 * q;
        if (row >= rows) continue;
        const float rsum = rowSum[row], cp = cPosS[row];
        float* gh = a.dV + (int64_t)hI[q] * k;
        float* gt = a.dV + (int64_t)tI[q] * k;
        // h + r − t from the query and the other side's row: a − t (tails replaced) or h − a (heads replaced).
        const float* other = a.V + (int64_t)(headSide ? hI[q] : tI[q]) * k;
        float ov[GMAX_KC], avs[GMAX_KC];
        cols(other, ov);
        cols(As + row * ldk, avs);
        float vh[GMAX_KC], vt[GMAX_KC];
#pragma unroll
        for (int c = 0; c < GMAX_KC; c++) {
          const float av = avs[c];
          const float da = rsum * av - acc[q][c];
          const float u = headSide ? ov[c] - av : av - ov[c];
          const float gpos = cp * u;
          vh[c] = headSide ? gpos : gpos + da;
          vt[c] = headSide ? da - gpos : -gpos;
          if (colOf(c) < k) drPart[c] += headSide ? gpos - da : gpos + da;
        }
        if (VEC && a.exclusive) {
#pragma unroll
          for (int h = 0; h < 2; h++) {
            const int e = colOf(4 * h);
            if (e >= k) continue;
            st4(gh + e, make_float4(vh[4 * h], vh[4 * h + 1], vh[4 * h + 2], vh[4 * h + 3]));
            st4(gt + e, make_float4(vt[4 * h], vt[4 * h + 1], vt[4 * h + 2], vt[4 * h + 3]));
          }
        } else {
#pragma unroll
          for (int c = 0; c < GMAX_KC; c++) {
            const int e = colOf(c);
            if (e >= k) continue;
            if (a.exclusive) {
              gh[e] = vh[c];
              gt[e] = vt[c];
            } else {
              atomicAdd(gh + e, vh[c]);
              atomicAdd(gt + e, vt[c]);
            }
          }
        }
      }
    }
    // ∂Y += colsum∘Y − Cᵀ·A (the colsum term is applied once, at the end): rows j = ti + 16·q.
    for (int i = 0; i < rows; i++) {
      float cv[4], av[GMAX_KC];
#pragma unroll
      for (int q = 0; q < 4; q++) cv[q] = ti + 16 * q < n ? Cs[i * ldn + ti + 16 * q] : 0.f;
      cols(As + i * ldk, av);
#pragma unroll
      for (int q = 0; q < 4; q++) {
        colSum[q] += cv[q];
#pragma unroll
        for (int c = 0; c < GMAX_KC; c++) accY[q][c] = fmaf(-cv[q], av[c], accY[q][c]);
      }
    }
    __syncthreads();
  }
  if (lane == 0 && lossLocal != 0) atomicAdd(a.lossAccum, lossLocal * (double)a.invB);
#pragma unroll
  for (int c = 0; c < GMAX_KC; c++)
    if (colOf(c) < k && drPart[c] != 0.f) atomicAdd(&dRS[colOf(c)], drPart[c]);
#pragma unroll
  for (int q = 0; q < 4; q++) {
    const int j = ti + 16 * q;
    if (j >= n) continue;
    float* dst = a.dV + (int64_t)a.nIdx[(int64_t)grp * n + j] * k;
#pragma unroll
    for (int c = 0; c < GMAX_KC; c++) {
      const int e = colOf(c);
      if (e >= k) continue;
      const float v = colSum[q] * Ys[j * ldk + e] + accY[q][c];
      if (a.exclusive) dst[e] = v;
      else if (v != 0.f) atomicAdd(dst + e, v);
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < k; e += BLOCK)
    if (dRS[e] != 0.f) atomicAdd(&a.gradR[(int64_t)r * k + e], dRS[e]);
}

// ---------------------------------------------------------------------------------------------------
// Optimizer steps (backend.ts "Update", step 4–5): warp-cooperative rows, exactly native's arithmetic.

__device__ __forceinline__ float stepOne(float& w, float& s1, float* s2, float g, int kind, float lr, float ib1, float ib2) {
  if (kind == OPT_ADAGRAD) {
    float acc = s1 + g * g;
    s1 = acc;
    w -= lr * g / (sqrtf(acc) + 1e-10f);
  } else {
    float m1 = 0.9f * s1 + 0.1f * g;
    float m2 = 0.999f * *s2 + 0.001f * g * g;
    s1 = m1;
    *s2 = m2;
    w -= lr * (m1 * ib1) / (sqrtf(m2 * ib2) + 1e-8f);
  }
  return w * w;
}

__device__ void stepRow(float* w, float* s1, float* s2, float* g, int len, int kind, float lr, float ib1, float ib2,
                        bool unitBall, bool zeroGrad) {
  const int lane = threadIdx.x & 31;
  float n2 = 0.f;
  if (len % 4 == 0) {
    // 16-byte lanes (rows are 16-byte aligned when len % 4 == 0): the same arithmetic, a quarter of the accesses.
    for (int i = 4 * lane; i < len; i += 4 * WARP) {
      float4 gv = ld4(g + i), wv = ld4(w + i), a1 = ld4(s1 + i);
      float4 a2 = s2 ? ld4(s2 + i) : make_float4(0.f, 0.f, 0.f, 0.f);
      n2 += stepOne(wv.x, a1.x, &a2.x, gv.x, kind, lr, ib1, ib2);
      n2 += stepOne(wv.y, a1.y, &a2.y, gv.y, kind, lr, ib1, ib2);
      n2 += stepOne(wv.z, a1.z, &a2.z, gv.z, kind, lr, ib1, ib2);
      n2 += stepOne(wv.w, a1.w, &a2.w, gv.w, kind, lr, ib1, ib2);
      st4(w + i, wv);
      st4(s1 + i, a1);
      if (s2) st4(s2 + i, a2);
      if (zeroGrad) st4(g + i, make_float4(0.f, 0.f, 0.f, 0.f));
    }
    if (!unitBall) return;
    n2 = warpSum(n2);
    if (n2 > 1.f) {
      float inv = 1.f / sqrtf(n2);
      for (int i = lane; i < len; i += WARP) w[i] *= inv;
    }
    return;
  }
  for (int i = lane; i < len; i += WARP) {
    float gi = g[i];
    float wi = w[i];
    if (kind == OPT_ADAGRAD) {
      float acc = s1[i] + gi * gi;
      s1[i] = acc;
      wi -= lr * gi / (sqrtf(acc) + 1e-10f);
    } else {
      float m1 = 0.9f * s1[i] + 0.1f * gi;
      float m2 = 0.999f * s2[i] + 0.001f * gi * gi;
      s1[i] = m1;
      s2[i] = m2;
      wi -= lr * (m1 * ib1) / (sqrtf(m2 * ib2) + 1e-8f);
    }
    w[i] = wi;
    n2 += wi * wi;
    if (zeroGrad) g[i] = 0.f;
  }
  if (!unitBall) return;
  n2 = warpSum(n2);
  if (n2 > 1.f) {
    float inv = 1.f / sqrtf(n2);
    for (int i = lane; i < len; i += WARP) w[i] *= inv;
  }
}

struct StepArgs {
  DevModel m;
  int entityOptimizer, relationOptimizer;
  float lr, relationLr, ib1, ib2;
  bool unitBall, learnAnchorWeights;
  GradOut out;
  bool toOut;
};

__global__ void entityStepKernel(StepArgs a) {
  const DevModel& m = a.m;
  int64_t slot = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP;
  if (slot >= m.capacity || !m.touched[slot]) return;
  const int lane = threadIdx.x & 31, d = m.d, K = m.K;
  float* u = m.gradX + slot * d;
  if (m.model == MODEL_TRANSRA) {
    const int32_t* of = m.anchorOf + slot * K;
    const float* al = m.alpha + slot * K;
    // ∂ā += α u; ∂λ_i = α_i (ā_i·u − Σ_j α_j ā_j·u). The dots are summed in double, as js and native do:
    // ∂λ is a small difference of near-equal terms, and Adagrad/Adam's first steps follow its sign.
    double mean = 0;
    for (int i = 0; i < K; i++) {
      if (of[i] < 0) continue;
      const float* an = m.anchor.w + (int64_t)of[i] * d;
      float* ga = m.gradA + (int64_t)of[i] * d;
      double dt = 0;
      for (int e = lane; e < d; e += WARP) {
        atomicAdd(ga + e, al[i] * u[e]);
        dt += (double)an[e] * u[e];
      }
      mean += al[i] * warpSumD(dt);
    }
    if (a.learnAnchorWeights) {
      // Lane i owns logit i (K ≤ 32 is checked by the engine).
      float gl = 0.f;
      for (int i = 0; i < K; i++) {
        if (of[i] < 0) continue;
        const float* an = m.anchor.w + (int64_t)of[i] * d;
        double dt = 0;
        for (int e = lane; e < d; e += WARP) dt += (double)an[e] * u[e];
        dt = warpSumD(dt);
        if (lane == i) gl = (float)(al[i] * (dt - mean));
      }
      if (lane < K) {
        if (a.toOut) {
          a.out.anchorLogit[slot * K + lane] = gl;
        } else {
          int64_t x = slot * K + lane;
          float* w = m.anchorLogit.w + x;
          float* s1 = m.anchorLogit.s1 + x;
          if (a.entityOptimizer == OPT_ADAGRAD) {
            float acc = *s1 + gl * gl;
            *s1 = acc;
            *w -= a.lr * gl / (sqrtf(acc) + 1e-10f);
          } else {
            float* s2 = m.anchorLogit.s2 + x;
            float m1 = 0.9f * *s1 + 0.1f * gl;
            float m2 = 0.999f * *s2 + 0.001f * gl * gl;
            *s1 = m1;
            *s2 = m2;
            *w -= a.lr * (m1 * a.ib1) / (sqrtf(m2 * a.ib2) + 1e-8f);
          }
        }
      }
    }
  }
  if (a.toOut) {
    for (int e = lane; e < d; e += WARP) {
      a.out.entity[slot * d + e] = u[e];
      u[e] = 0.f;
    }
  } else {
    stepRow(m.entity.w + slot * d, m.entity.s1 + slot * d, m.entity.s2 ? m.entity.s2 + slot * d : nullptr, u, d,
            a.entityOptimizer, a.lr, a.ib1, a.ib2, a.unitBall, true);
  }
  // Every lane read the mark at the top: a lane running ahead (independent thread scheduling allows it, and the host
  // emulation runs lane 0 first) must not clear it before the others have.
  __syncwarp();
  if (lane == 0) m.touched[slot] = 0;
}

__global__ void anchorStepKernel(StepArgs a) {
  const DevModel& m = a.m;
  int64_t an = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP;
  if (an >= m.A || !m.anchorTouched[an]) return;
  const int lane = threadIdx.x & 31, d = m.d;
  float* g = m.gradA + an * d;
  if (a.toOut) {
    for (int e = lane; e < d; e += WARP) {
      a.out.anchor[an * d + e] = g[e];
      g[e] = 0.f;
    }
  } else {
    stepRow(m.anchor.w + an * d, m.anchor.s1 + an * d, m.anchor.s2 ? m.anchor.s2 + an * d : nullptr, g, d,
            a.entityOptimizer, a.lr, a.ib1, a.ib2, a.unitBall, true);
  }
  __syncwarp();  // as in entityStepKernel: every lane has read the mark
  if (lane == 0) m.anchorTouched[an] = 0;
}

// One block per relation: warp 0 steps the relation row, all warps the projection block (rows of d).
__global__ void __launch_bounds__(BLOCK) relationStepKernel(StepArgs a) {
  const DevModel& m = a.m;
  const int r = blockIdx.x;
  if (!m.relTouched[r]) return;
  const int k = m.k, d = m.d, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (warp == 0) {
    float* g = m.gradR + (int64_t)r * k;
    if (a.toOut) {
      for (int e = lane; e < k; e += WARP) {
        a.out.relation[(int64_t)r * k + e] = g[e];
        g[e] = 0.f;
      }
    } else {
      int64_t o = (int64_t)r * k;
      stepRow(m.relation.w + o, m.relation.s1 + o, m.relation.s2 ? m.relation.s2 + o : nullptr, g, k,
              a.relationOptimizer, a.relationLr, a.ib1, a.ib2, a.unitBall, true);
    }
  }
  if (m.model != MODEL_TRANSE) {
    for (int row = warp; row < k; row += WARPS) {
      int64_t o = ((int64_t)r * k + row) * d;
      float* g = m.gradM + o;
      if (a.toOut) {
        for (int e = lane; e < d; e += WARP) {
          a.out.projection[o + e] = g[e];
          g[e] = 0.f;
        }
      } else {
        stepRow(m.projection.w + o, m.projection.s1 + o, m.projection.s2 ? m.projection.s2 + o : nullptr, g, d,
                a.relationOptimizer, a.relationLr, a.ib1, a.ib2, false, true);
      }
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) m.relTouched[r] = 0;
}

// ---------------------------------------------------------------------------------------------------
// Evaluation distances: out[q][e] = ‖A_q − Y_e‖ over 64×64 tiles, 4×4 per thread.

__global__ void __launch_bounds__(BLOCK) distanceKernel(const float* A, int Q, const float* Y, int64_t count, int k,
                                                        int norm, float* out, int64_t ldOut) {
  __shared__ float As[16][64 + 1];
  __shared__ float Ys[16][64 + 1];
  const int tid = threadIdx.x, tq = tid / 16, te = tid % 16;
  const int q0 = blockIdx.y * 64;
  const int64_t e0 = (int64_t)blockIdx.x * 64;
  float acc[4][4] = {};
  for (int c0 = 0; c0 < k; c0 += 16) {
    for (int l = 0; l < 4; l++) {
      int x = tid + BLOCK * l;
      int row = x / 16, c = x % 16;
      As[c][row] = (q0 + row < Q && c0 + c < k) ? A[(int64_t)(q0 + row) * k + c0 + c] : 0.f;
      Ys[c][row] = (e0 + row < count && c0 + c < k) ? Y[(e0 + row) * k + c0 + c] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int c = 0; c < 16; c++) {
      float av[4], yv[4];
      for (int i = 0; i < 4; i++) av[i] = As[c][tq + 16 * i];
      for (int j = 0; j < 4; j++) yv[j] = Ys[c][te + 16 * j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          float v = av[i] - yv[j];
          acc[i][j] += norm == NORM_L1 ? fabsf(v) : v * v;
        }
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; i++) {
    int q = q0 + tq + 16 * i;
    if (q >= Q) continue;
    for (int j = 0; j < 4; j++) {
      int64_t e = e0 + te + 16 * j;
      if (e < count) out[(int64_t)q * ldOut + e] = norm == NORM_L1 ? acc[i][j] : sqrtf(acc[i][j]);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Staging rows between mapped host tables and device slots (kernels.h StageTables).

// Each thread has INFLIGHT pieces' loads issued before its first store: across the bus a load waits a microsecond or
// more, so a thread with one in flight would leave the link mostly idle. 16-byte pieces where the table's width and
// both pointers allow, else 4-byte ones (anchorOf's int32 rows move as their bits).
template <bool VEC>
__device__ void stageTable(float* host, float* dev, int w, const int32_t* ents, int64_t rows, int64_t slot0,
                           bool toDevice) {
  constexpr int INFLIGHT = 4, UNIT = VEC ? 4 : 1;
  const int per = w / UNIT;
  const int64_t total = rows * per, stride = (int64_t)gridDim.x * BLOCK;
  for (int64_t x0 = (int64_t)blockIdx.x * BLOCK + threadIdx.x; x0 < total; x0 += stride * INFLIGHT) {
    float4 v[INFLIGHT];
    int64_t dst[INFLIGHT];
#pragma unroll
    for (int u = 0; u < INFLIGHT; u++) {
      const int64_t x = x0 + stride * u;
      if (x >= total) break;
      const int64_t i = x / per, c = (x - i * per) * UNIT;
      const int64_t hostOff = (int64_t)ents[i] * w + c, devOff = (slot0 + i) * w + c;
      const float* src = toDevice ? host + hostOff : dev + devOff;
      dst[u] = toDevice ? devOff : hostOff;
      if (VEC) v[u] = ld4(src);
      else v[u].x = *src;
    }
#pragma unroll
    for (int u = 0; u < INFLIGHT; u++) {
      if (x0 + stride * u >= total) break;
      float* p = (toDevice ? dev : host) + dst[u];
      if (VEC) st4(p, v[u]);
      else *p = v[u].x;
    }
  }
}

__global__ void __launch_bounds__(BLOCK) stageRowsKernel(StageTables t, const int32_t* ents, int64_t rows,
                                                         int64_t slot0, int toDevice) {
  for (int a = 0; a < t.count; a++) {
    const int w = t.width[a];
    if ((w & 3) == 0 && (reinterpret_cast<uintptr_t>(t.host[a]) & 15) == 0 &&
        (reinterpret_cast<uintptr_t>(t.dev[a]) & 15) == 0)
      stageTable<true>(t.host[a], t.dev[a], w, ents, rows, slot0, toDevice != 0);
    else
      stageTable<false>(t.host[a], t.dev[a], w, ents, rows, slot0, toDevice != 0);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Launchers (CUDA host code).

void launchDraw(cudaStream_t s, const DevBatch& b, const int32_t* hEnt, const int32_t* tEnt, int B, double offset,
                uint32_t epoch, const DevConfig& c, const DevSampling& smp, int n) {
  const uint32_t sideKey = streamKey(c.seed, negativeStream(epoch, PURPOSE_SIDE));
  const uint32_t entKey = streamKey(c.seed, negativeStream(epoch, PURPOSE_ENTITY));
  const uint64_t base = (uint64_t)(int64_t)offset;
  if (c.sampling == 0) {
    int64_t total = (int64_t)B * n;
    ADKG_LAUNCH(gridFor(total, BLOCK), BLOCK, 0, s, drawIndependentKernel)(b.negSlot, b.negHead, hEnt, b.rel, tEnt, B, n, base,
                                                                 sideKey, entKey, c.corruption, smp);
  } else {
    int chunks = (B + c.chunkSize - 1) / c.chunkSize;
    int64_t total = (int64_t)chunks * n;
    ADKG_LAUNCH(gridFor(total, BLOCK), BLOCK, 0, s, drawSharedKernel)(b.negSlot, b.negHead, hEnt, b.rel, tEnt, chunks,
                                                            c.chunkSize, n, base, sideKey, entKey, c.corruption, smp);
  }
}

void launchIndex(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevConfig& c) {
  ADKG_LAUNCH(gridFor(p.B, BLOCK), BLOCK, 0, s, indexKernel)(m, p, b, c.sampling);
}

void launchCompose(cudaStream_t s, const DevModel& m) {
  ADKG_LAUNCH(gridFor(m.capacity * WARP, BLOCK), BLOCK, 0, s, composeKernel)(m);
}

void launchComposeAll(cudaStream_t s, const DevModel& m, int64_t first, int64_t count, float* out) {
  if (count == 0) return;
  ADKG_LAUNCH(gridFor(count * WARP, BLOCK), BLOCK, 0, s, composeAllKernel)(m, first, count, out);
}

const char* gemmMathName(int math) { return math == GEMM_TF32X3 ? "tf32x3" : math == GEMM_TF32 ? "tf32" : "simt"; }

int gemmMathFromName(const std::string& name) {
  if (name == "simt") return GEMM_SIMT;
  if (name == "tf32x3") return GEMM_TF32X3;
  if (name == "tf32") return GEMM_TF32;
  return -1;
}

int gemmTileFor(GemmChoice g, int d, int k) {
  return usableGemmMath(g.math) != GEMM_SIMT && d % 4 == 0 && k % 4 == 0 ? g.tile : TILE_ELEMENT;
}

int gemmTileFromName(const std::string& name) {
  if (name == "element") return TILE_ELEMENT;
  if (name == "chunk") return TILE_CHUNK;
  if (name == "wgmma") return TILE_WGMMA;
  if (name == "stationary") return TILE_STATIONARY;
  return -1;
}

const char* gemmTileName(int tile) {
  return tile == TILE_CHUNK ? "chunk" : tile == TILE_WGMMA ? "wgmma" : tile == TILE_STATIONARY ? "stationary" : "element";
}

// Blocks along x for `tiles` tiles of P or ∂x: one a tile, or under the stationary tile one an SM (a persistent grid).
int tileBlocks(GemmChoice g, int d, int k, int tiles) {
  return gemmTileFor(g, d, k) == TILE_STATIONARY ? std::max(1, std::min(tiles, g.sms)) : tiles;
}

int usableGemmMath(int math) {
#if defined(ADKG_CUDA_MIN_CC) && ADKG_CUDA_MIN_CC < 80
  return GEMM_SIMT;
#else
  return math;
#endif
}

namespace {

// The projection GEMM KERNEL (gemm_launch.h) under g: its math, tile (for l.d, l.k) and blocks per SM.
template <int KERNEL>
void launchGemmFor(GemmChoice g, GemmLaunch l) {
  l.tile = gemmTileFor(g, l.d, l.k);
  l.blocks = g.blocks;
  switch (usableGemmMath(g.math)) {
    case GEMM_TF32X3:
      launchGemm<GEMM_TF32X3, KERNEL>(l);
      break;
    case GEMM_TF32:
      launchGemm<GEMM_TF32, KERNEL>(l);
      break;
    default:
      launchGemm<GEMM_SIMT, KERNEL>(l);
  }
}

// A GemmLaunch of the tiles' or ∂M pieces' rows (gemm_launch.h).
GemmLaunch gemmLaunch(dim3 grid, cudaStream_t s, const float* a, const float* b, const int32_t* rowSlot,
                      const int32_t* tileRel, const int64_t* tileRow, const int32_t* tileCount, int d, int k, float* out,
                      int tiles) {
  GemmLaunch l;
  l.grid = grid;
  l.stream = s;
  l.a = a;
  l.b = b;
  l.rowSlot = rowSlot;
  l.tileRel = tileRel;
  l.tileRow = tileRow;
  l.tileCount = tileCount;
  l.d = d;
  l.k = k;
  l.out = out;
  l.tiles = tiles;
  return l;
}

}  // namespace

// The callers of the two evaluation launchers below pass pointers into larger buffers. The tiles move rows whose length
// is a multiple of 4 in 16-byte pieces, so such a row's base must be 16-byte aligned: say so here instead of a
// misaligned-address fault (what scoreAll's projected block hit before 35da8a1).
void requireRowAlignment(const void* p, int len, const char* what) {
  if (len % 4 == 0 && reinterpret_cast<uintptr_t>(p) % 16 != 0)
    throw std::runtime_error(std::string("cuda backend: ") + what + " is not 16-byte aligned (internal error)");
}

void launchProjectTiles(cudaStream_t s, const float* X, const float* proj, const int32_t* rowSlot,
                        const int32_t* tileRel, const int64_t* tileRow, const int32_t* tileCount, int T, int d, int k,
                        float* P, GemmChoice g) {
  if (T == 0) return;
  requireRowAlignment(X, d, "the projected rows' input");
  requireRowAlignment(P, k, "the projected rows' output");
  dim3 grid(tileBlocks(g, d, k, T), (k + 127) / 128);
  launchGemmFor<KERNEL_PROJECT>(g, gemmLaunch(grid, s, X, proj, rowSlot, tileRel, tileRow, tileCount, d, k, P, T));
}

void launchProject(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, GemmChoice g) {
  if (p.T == 0) return;
  const float* X = m.model == MODEL_TRANSRA ? m.composed : m.entity.w;
  dim3 grid(tileBlocks(g, m.d, m.k, p.T), (m.k + 127) / 128);
  launchGemmFor<KERNEL_PROJECT>(g, gemmLaunch(grid, s, X, m.projection.w, b.rowSlot, p.tileRel, p.tileRow, p.tileCount, m.d,
                                               m.k, b.P, p.T));
}

void launchProjectAll(cudaStream_t s, const float* X, const float* M, int d, int k, int64_t count, float* P, GemmChoice g) {
  if (count == 0) return;
  requireRowAlignment(X, d, "the projected entities' input");
  requireRowAlignment(M, d, "the projection matrix");
  requireRowAlignment(P, k, "the projected entities' output");
  const int tiles = (int)gridFor(count, TILE_ROWS);
  dim3 grid(tileBlocks(g, d, k, tiles), (k + 127) / 128);
  GemmLaunch l = gemmLaunch(grid, s, X, M, nullptr, nullptr, nullptr, nullptr, d, k, P, tiles);
  l.uniformCount = count;
  launchGemmFor<KERNEL_PROJECT>(g, l);
}

// ADKG_CUDA_NO_TILED_LOSS=1 sends every step through lossKernel (an A/B switch); read once, not per step.
namespace {
bool tiledLoss() {
  static const bool on = !std::getenv("ADKG_CUDA_NO_TILED_LOSS");
  return on;
}
}  // namespace

int groupLossVariant(const DevModel& m, const DevConfig& c, size_t sharedLimit) {
  const bool vec = m.k % 4 == 0 && c.vecSharedLoss;
  const size_t groupBytes = sizeof(float) * groupLossSmemFloats(m.k, m.n, vec);
  if (!(c.sampling && c.norm == NORM_L2 && m.n <= GMAX_N && m.k <= 16 * GMAX_KC && groupBytes <= sharedLimit && tiledLoss()))
    return -1;
  return vec ? 1 : 0;
}

int launchLoss(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevConfig& c,
               size_t sharedLimit, bool dryRun) {
  LossArgs a;
  const bool projected = m.model != MODEL_TRANSE;
  a.V = projected ? b.P : m.entity.w;
  a.dV = projected ? b.dP : m.gradX;
  a.rel = m.relation.w;
  a.gradR = m.gradR;
  a.segGroup = p.segGroup;
  a.segStart = p.segStart;
  a.segCount = p.segCount;
  a.gRel = p.gRel;
  a.hIdx = b.hIdx;
  a.tIdx = b.tIdx;
  a.nIdx = b.nIdx;
  a.nHead = b.nHead;
  a.k = m.k;
  a.n = m.n;
  a.shared = c.sampling;
  a.loss = c.loss;
  a.norm = c.norm;
  a.margin = c.margin;
  a.tau = c.tau;
  a.invB = 1.f / (float)p.B;
  a.lossAccum = m.lossAccum;
  // Shared negatives with the L2 norm: the tiled kernel (matrix products from shared memory).
  const int group = groupLossVariant(m, c, sharedLimit);
  const bool vec = group == 1;
  const size_t groupBytes = sizeof(float) * groupLossSmemFloats(m.k, m.n, vec);
  if (group >= 0) {
    a.negInSmem = 1;
    a.exclusive = projected;  // projected rows belong to one group; entity slots may repeat (TransE)
    if (dryRun || p.S == 0) return a.exclusive ? 1 : 0;
    if (vec) {
      cudaFuncSetAttribute(groupLossKernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)groupBytes);
      ADKG_LAUNCH(p.S, BLOCK, groupBytes, s, groupLossKernel<true>)(a);
    } else {
      cudaFuncSetAttribute(groupLossKernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)groupBytes);
      ADKG_LAUNCH(p.S, BLOCK, groupBytes, s, groupLossKernel<false>)(a);
    }
    return a.exclusive ? 1 : 0;
  }
  // Independent negatives, k ≤ 128 in 16-byte lanes: the vectorised kernel.
  const size_t indepBytes = sizeof(float) * ((size_t)m.k + (size_t)WARPS * 2 * m.n);
  if (!c.sampling && m.k % 4 == 0 && m.k <= 128 && indepBytes <= sharedLimit && tiledLoss()) {
    a.negInSmem = 0;
    a.exclusive = projected;  // every projected row belongs to one positive
    if (dryRun || p.S == 0) return a.exclusive ? 1 : 0;
    cudaFuncSetAttribute(independentLossKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)indepBytes);
    ADKG_LAUNCH(p.S, BLOCK, indepBytes, s, independentLossKernel)(a);
    return a.exclusive ? 1 : 0;
  }
  size_t base = sizeof(float) * ((size_t)2 * m.k + (size_t)WARPS * (4 * m.k + 2 * m.n));
  size_t withY = base + sizeof(float) * 2 * (size_t)m.n * m.k;
  a.negInSmem = c.sampling && withY <= sharedLimit;
  a.exclusive = projected && (!c.sampling || a.negInSmem);
  size_t bytes = a.negInSmem ? withY : base;
  if (bytes > sharedLimit) return -1;
  if (dryRun) return a.exclusive ? 1 : 0;
  if (p.S == 0) return a.exclusive ? 1 : 0;
  cudaFuncSetAttribute(lossKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
  ADKG_LAUNCH(p.S, BLOCK, bytes, s, lossKernel)(a);
  return a.exclusive ? 1 : 0;
}

void launchProjectBackX(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, GemmChoice g) {
  if (p.T == 0) return;
  dim3 gx(tileBlocks(g, m.d, m.k, p.T), (m.d + 127) / 128);
  launchGemmFor<KERNEL_BACK_X>(g, gemmLaunch(gx, s, b.dP, m.projection.w, b.rowSlot, p.tileRel, p.tileRow, p.tileCount, m.d,
                                              m.k, m.gradX, p.T));
}

void launchRowOuterSums(cudaStream_t s, const float* L, const float* X, const int32_t* rowSlot, const int32_t* mtRel,
                        const int64_t* mtRow, const int32_t* mtCount, int TM, int d, int m, float* out, GemmChoice g) {
  if (TM == 0) return;
  dim3 gm(TM, (m + 127) / 128, (d + 127) / 128);
  launchGemmFor<KERNEL_BACK_M>(g, gemmLaunch(gm, s, L, X, rowSlot, mtRel, mtRow, mtCount, d, m, out, 0));
}

void launchProjectBackM(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, GemmChoice g) {
  const float* X = m.model == MODEL_TRANSRA ? m.composed : m.entity.w;
  launchRowOuterSums(s, b.dP, X, b.rowSlot, p.mtRel, p.mtRow, p.mtCount, p.TM, m.d, m.k, m.gradM, g);
}

void launchStep(cudaStream_t s, const DevModel& m, const DevConfig& c, double bc1, double bc2, const GradOut* gradOut) {
  StepArgs a;
  a.m = m;
  a.entityOptimizer = c.entityOptimizer;
  a.relationOptimizer = c.relationOptimizer;
  a.lr = c.lr;
  a.relationLr = c.relationLr;
  a.ib1 = (float)(1.0 / bc1);
  a.ib2 = (float)(1.0 / bc2);
  a.unitBall = c.unitBall;
  a.learnAnchorWeights = c.learnAnchorWeights;
  a.toOut = gradOut != nullptr;
  if (gradOut) a.out = *gradOut;
  ADKG_LAUNCH(gridFor(m.capacity * WARP, BLOCK), BLOCK, 0, s, entityStepKernel)(a);
  if (m.model == MODEL_TRANSRA && m.A > 0) ADKG_LAUNCH(gridFor((int64_t)m.A * WARP, BLOCK), BLOCK, 0, s, anchorStepKernel)(a);
  ADKG_LAUNCH(m.R, BLOCK, 0, s, relationStepKernel)(a);
}

void launchDistances(cudaStream_t s, const float* A, int Q, const float* Y, int64_t count, int k, int norm, float* out,
                     int64_t ldOut) {
  if (Q == 0 || count == 0) return;
  dim3 grid(gridFor(count, 64), (Q + 63) / 64);
  ADKG_LAUNCH(grid, BLOCK, 0, s, distanceKernel)(A, Q, Y, count, k, norm, out, ldOut);
}

void launchStageRows(cudaStream_t s, const StageTables& t, const int32_t* ents, int64_t rows, int64_t slot0,
                     bool toDevice, int smCount) {
  if (rows == 0 || t.count == 0) return;
  int widest = 0;
  for (int a = 0; a < t.count; a++) widest = std::max(widest, t.width[a]);
  // One wave of resident blocks (4 of 256 an SM at the kernel's 60 registers: ~8 MB of loads in flight on an H200,
  // far above the ~0.1 MB the bus's bandwidth-latency product needs), fewer for a small batch.
  const unsigned grid = std::max(1u, std::min<unsigned>(gridFor(rows * ((widest + 3) / 4), BLOCK), 4u * (unsigned)smCount));
  ADKG_LAUNCH(grid, BLOCK, 0, s, stageRowsKernel)(t, ents, rows, slot0, toDevice ? 1 : 0);
}

}  // namespace adkg_cuda
