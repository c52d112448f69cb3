// The Gram form of TransR/TransRA with independent negatives and the L2 norm (kernels.h "Gram form", opt-in through
// EngineOptions::gram). With G_r = M_rᵀM_r, w_r = M_rᵀr_r and ρ_r = ‖r_r‖², a pair (a, y) with u = a − y and
// σ = +1 (tail replaced, and the positive: a = h, y = t) or σ = −1 (head replaced: a = t) has
//   s = ‖M_r u + σ r_r‖² = uᵀG_r u + 2σ w_rᵀu + ρ_r = A − 2·yᵀc + yᵀz_y,
// A = aᵀz_a + 2σ w_rᵀa + ρ_r, c = z_a + σ w_r, z_x = G_r x,
// and, with κ = ∂ℓ/∂dist / dist,
//   ∂u = κ (G_r u + σ w_r) = κ (c − z_y)          (so ∂x needs no GEMM: the direct form's backward-x is gone)
//   ∂G_r = ½ Σ κ u uᵀ,  ∂w_r = Σ κ σ u,  ∂ρ_r = ½ Σ κ,
// which give ∂M_r = M_r·sym(S) + r_r bᵀ and ∂r_r = M_r b + K r_r with S = Σ κ u uᵀ, b = Σ κ σ u, K = Σ κ over the
// negatives' pairs (the positive's share is taken directly, below).
// S is summed over projected rows as Σ q xᵀ (q_y = −κu for a negative's row, q_a = Σ κu over a's pairs), the
// direct form's ∂M GEMM with d-long left rows.
// The positive pair is always taken straight from M_r (e⁺ = M_r(h − t) + r_r: once trained its Gram value cancels,
// and so would M_r·S + r bᵀ for its ∂M): its ∂M share goes through E = ±κ⁺e⁺ on the h and t rows, its ∂r share
// is Σ κ⁺e⁺. A negative whose s cancels (s < GRAM_DIRECT_BELOW·Â: hard negatives) has its distance and ∂x recomputed
// straight from M_r too, but keeps its ∂M/∂r share in S, b and K (rare; their ∂M loses digits as ‖r‖/dist).
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "device_common.cuh"
#include "kernels.h"

namespace adkg_cuda {

namespace {

// Below this share of Â = ‖M_r a‖² + ‖r‖² (which bounds every term of A = ‖M_r a + σr‖², so that A's own
// cancellation is caught too) the Gram value of s has lost too many bits: s is then taken straight from M_r. At or
// above it, the Gram value's error is at most ~30 times the rounding of its terms, whether ‖M_r y‖² is near Â or far
// from it: about 1e-6 relative. Not caught: an x with much of its length in M_r's null space (k < d), where
// xᵀG_r x is small against ‖x‖·‖G_r x‖; such pairs keep the Gram value's absolute error.
constexpr float GRAM_DIRECT_BELOW = 0.5f;

__device__ __forceinline__ float dot4(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }
__device__ __forceinline__ float4 fma4(float4 a, float s, float4 c) {
  return make_float4(fmaf(a.x, s, c.x), fmaf(a.y, s, c.y), fmaf(a.z, s, c.z), fmaf(a.w, s, c.w));
}

// C (m × n, both ≤ 128) = Σ_q A(i, q)·B(q, j) by one block in FP32 FMA: 16 × 16 threads of 8 × 8 outputs, q in steps of
// 32 through shared memory. The relation-sized products of the Gram form (G_r = M_rᵀM_r, M_r·sym(S)), d³ each; every
// output's sum runs over q in order, so G_r comes out bitwise symmetric.
template <class LA, class LB, class OUT>
__device__ void blockGemm128(int m, int n, int K, const LA& loadA, const LB& loadB, const OUT& out) {
  constexpr int QS = 32;
  __shared__ float As[QS][128], Bs[QS][128];
  const int ti = threadIdx.x / 16, tj = threadIdx.x % 16;
  float acc[8][8];
#pragma unroll
  for (int u = 0; u < 8; u++)
#pragma unroll
    for (int v = 0; v < 8; v++) acc[u][v] = 0.f;
  for (int q0 = 0; q0 < K; q0 += QS) {
    __syncthreads();  // the previous step's reads are done
    for (int x = threadIdx.x; x < QS * 128; x += BLOCK) {
      const int q = x / 128, i = x % 128;
      As[q][i] = q0 + q < K && i < m ? loadA(i, q0 + q) : 0.f;
      Bs[q][i] = q0 + q < K && i < n ? loadB(q0 + q, i) : 0.f;
    }
    __syncthreads();
#pragma unroll 4
    for (int q = 0; q < QS; q++) {
      float a[8], b[8];
#pragma unroll
      for (int u = 0; u < 8; u++) {
        a[u] = As[q][ti + 16 * u];
        b[u] = Bs[q][tj + 16 * u];
      }
#pragma unroll
      for (int u = 0; u < 8; u++)
#pragma unroll
        for (int v = 0; v < 8; v++) acc[u][v] = fmaf(a[u], b[v], acc[u][v]);
    }
  }
#pragma unroll
  for (int u = 0; u < 8; u++)
#pragma unroll
    for (int v = 0; v < 8; v++) {
      const int i = ti + 16 * u, j = tj + 16 * v;
      if (i < m && j < n) out(i, j, acc[u][v]);
    }
}

// The relation of a per-relation block (blockIdx.x): its M_r and r_r, and whether this step touches it.
struct RelationBlock {
  int r, d, k;
  bool touched;
  const float* M;
  const float* rr;
  __device__ explicit RelationBlock(const DevModel& m)
      : r(blockIdx.x), d(m.d), k(m.k), touched(m.relTouched[blockIdx.x] != 0),
        M(m.projection.w + (int64_t)blockIdx.x * m.k * m.d), rr(m.relation.w + (int64_t)blockIdx.x * m.k) {}
};

// Per touched relation: G_r, w_r, ρ_r from the step's parameters, and S_r, b_r, K_r zeroed for the loss and the S GEMM
// to add into.
__global__ void __launch_bounds__(BLOCK) gramPrepareKernel(DevModel m, DevGram g) {
  const RelationBlock rb(m);
  if (!rb.touched) return;
  const int r = rb.r, d = rb.d, k = rb.k;
  const float *M = rb.M, *rr = rb.rr;
  for (int x = threadIdx.x; x < d * d; x += BLOCK) g.S[(int64_t)r * d * d + x] = 0.f;
  for (int i = threadIdx.x; i < d; i += BLOCK) {
    float s = 0.f;
    for (int q = 0; q < k; q++) s = fmaf(M[(int64_t)q * d + i], rr[q], s);
    g.w[(int64_t)r * d + i] = s;
    g.b[(int64_t)r * d + i] = 0.f;
  }
  if (threadIdx.x < WARP) {
    float s = 0.f;
    for (int q = threadIdx.x; q < k; q += WARP) s = fmaf(rr[q], rr[q], s);
    s = warpSum(s);
    if (threadIdx.x == 0) {
      g.rho[r] = s;
      g.K[r] = 0.f;
    }
  }
  float* G = g.G + (int64_t)r * d * d;
  blockGemm128(
      d, d, k, [&](int i, int q) { return M[(int64_t)q * d + i]; }, [&](int q, int j) { return M[(int64_t)q * d + j]; },
      [&](int i, int j, float v) { G[(int64_t)i * d + j] = v; });
}

// Per touched relation: ∂M_r += M_r·sym(S_r) + r_r b_rᵀ and ∂r_r += M_r b_r + K_r r_r. The loss kernel (∂r) and the E
// GEMM (∂M) added theirs before this kernel starts (same stream), and one block owns a relation: plain adds.
__global__ void __launch_bounds__(BLOCK) gramFinishKernel(DevModel m, DevGram g) {
  const RelationBlock rb(m);
  if (!rb.touched) return;
  const int r = rb.r, d = rb.d, k = rb.k;
  const float *M = rb.M, *rr = rb.rr;
  const float* S = g.S + (int64_t)r * d * d;
  const float* b = g.b + (int64_t)r * d;
  const float K = g.K[r];
  float* dM = m.gradM + (int64_t)r * k * d;
  for (int m0 = 0; m0 < k; m0 += 128) {
    const int rows = k - m0 < 128 ? k - m0 : 128;
    blockGemm128(
        rows, d, d, [&](int i, int j) { return M[(int64_t)(m0 + i) * d + j]; },
        [&](int j, int c) { return 0.5f * (S[(int64_t)j * d + c] + S[(int64_t)c * d + j]); },
        [&](int i, int c, float v) { dM[(int64_t)(m0 + i) * d + c] += v + rr[m0 + i] * b[c]; });
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int q = warp; q < k; q += WARPS) {
    float s = 0.f;
    for (int i = lane; i < d; i += WARP) s = fmaf(M[(int64_t)q * d + i], b[i], s);
    s = warpSum(s);
    if (lane == 0) m.gradR[(int64_t)r * k + q] += s + K * rr[q];
  }
}

struct GramLossArgs {
  LossArgs l;              // segments, indices (projected rows), loss settings; l.V / l.dV unused
  const float* X;          // entity rows by slot (TransRA: composed)
  const int32_t* rowSlot;  // slot of each projected row
  float* gradX;            // ∂L/∂x by slot
  const float* proj;       // R × k × d: M_r, for pairs recomputed directly
  int d;
  DevGram g;
};

// s = ‖e‖², e = M_r u + σ r_r, and g = M_rᵀe (this lane's four components) straight from M_r, for the positive and a
// pair whose Gram value cancels. Lanes over d, a warp sum per row of M_r. eOut (or nullptr): e is stored there, e_q by
// lane q % 32 (which alone reads it back).
__device__ float directPair(const GramLossArgs& a, int r, float4 u4, float sigma, bool on, float4& g4,
                            float* eOut = nullptr) {
  const int d = a.d, k = a.l.k, lane = threadIdx.x & 31;
  const float* M = a.proj + (int64_t)r * k * d + 4 * lane;
  const float* rr = a.l.rel + (int64_t)r * k;
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  float s = 0.f;
  g4 = zero;
  for (int q = 0; q < k; q++) {
    const float4 m4 = on ? ld4(M + (int64_t)q * d) : zero;
    const float e = warpSum(dot4(m4, u4)) + sigma * rr[q];
    if (eOut && lane == (q & (WARP - 1))) eOut[q] = e;
    s = fmaf(e, e, s);
    g4 = fma4(m4, e, g4);
  }
  return s;
}

// One pair: s from its Gram value sGram = A − 2·yᵀc + yᵀz_y, or straight from M_r where that cancels (against Â);
// g = G_r u + σw_r.
__device__ __forceinline__ float gramPair(const GramLossArgs& a, int r, float sGram, float Ahat, float4 u4, float4 c4,
                                          float4 zy4, float sigma, bool on, float4& g4) {
  if (sGram >= GRAM_DIRECT_BELOW * Ahat) {  // false for NaN too
    g4 = sub4(c4, zy4);
    return sGram;
  }
  return directPair(a, r, u4, sigma, on, g4);
}

// One block per loss segment, a warp per positive, each lane four consecutive components of d (d ≤ 128, d % 4 == 0),
// as independentLossKernel; reads x and z = G_r x of every row and writes ∂x (by slot), the rows' q and the positives'
// E rows and slots.
__global__ void __launch_bounds__(BLOCK, 2) gramLossKernel(GramLossArgs a) {
  ADKG_DYNAMIC_SHARED(smem);
  const LossArgs& l = a.l;
  const int d = a.d, k = l.k, n = l.n, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int s = blockIdx.x, r = l.gRel[l.segGroup[s]];
  float* bS = smem;            // d: the block's Σ κσu (negatives)
  float* kS = smem + d;        // 1: its Σ κ (negatives)
  float* dRS = smem + d + 1;   // k: its Σ κ⁺e⁺ (positives)
  for (int e = threadIdx.x; e < d + 1 + k; e += BLOCK) smem[e] = 0.f;
  __syncthreads();
  const bool on = 4 * lane < d;
  const int e4 = on ? 4 * lane : 0;
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  const float4 w4 = on ? ld4(a.g.w + (int64_t)r * d + e4) : zero;
  const float rho = a.g.rho[r];
  auto xRow = [&](int32_t row) { return ld4(a.X + (int64_t)a.rowSlot[row] * d + e4); };
  auto zRow = [&](int32_t row) { return ld4(a.g.Z + (int64_t)row * d + e4); };
  float4 bAcc = zero;
  float kAcc = 0.f;
  double lossLocal = 0;
  const int i0 = l.segStart[s], cnt = l.segCount[s];
  for (int pi = warp; pi < cnt; pi += WARPS) {
    const int i = i0 + pi;
    const int32_t hRow = l.hIdx[i], tRow = l.tIdx[i];
    const float4 h4 = on ? xRow(hRow) : zero, t4 = on ? xRow(tRow) : zero;
    const float4 zh4 = on ? zRow(hRow) : zero, zt4 = on ? zRow(tRow) : zero;
    const float4 cT = add4(zh4, w4), cH = sub4(zt4, w4);  // c for a = h (σ = +1) and a = t (σ = −1)
    // A = Â + 2σ wᵀa with Â = aᵀz_a + ρ (the fallback test's scale).
    const float AhT = warpSum(dot4(h4, zh4)) + rho, AhH = warpSum(dot4(t4, zt4)) + rho;
    const float AT = AhT + 2.f * warpSum(dot4(h4, w4)), AH = AhH - 2.f * warpSum(dot4(t4, w4));
    // The positive, straight from M_r; e⁺ into h's E row (scaled by ±κ⁺ below).
    const float4 uP = sub4(h4, t4);
    float* eH = a.g.E + (int64_t)2 * i * k;
    float4 gP;
    const float distPos = sqrtf(directPair(a, r, uP, 1.f, on, gP, eH));
    const int32_t* nIdx = l.nIdx + (int64_t)i * n;
    const uint8_t* nHead = l.nHead + (int64_t)i * n;
    float4 dH = zero, dT = zero, qH = zero, qT = zero;  // ∂L/∂h, ∂L/∂t and their rows' q
    // A negative's share: ∂u = κg to a (h or t) and −κg to y; q_a += κu, q_y = −κu (stored: every row's q is
    // written by this warp only, zeros included); b += κσu, K += κ.
    auto apply = [&](int j, float kap, float4 u4, float4 g4, bool headSide) {
      const float4 gu = scale4(g4, kap), qu = scale4(u4, kap);
      if (headSide) {
        dT = add4(dT, gu);
        qT = add4(qT, qu);
        bAcc = sub4(bAcc, qu);
      } else {
        dH = add4(dH, gu);
        qH = add4(qH, qu);
        bAcc = add4(bAcc, qu);
      }
      kAcc += kap;
      if (!on) return;
      const int32_t row = nIdx[j];
      st4(a.g.Q + (int64_t)row * d + e4, scale4(qu, -1.f));
      if (kap != 0.f) atomicAdd4(a.gradX + (int64_t)a.rowSlot[row] * d + e4, scale4(gu, -1.f));
    };
    float cPos;
    if (l.tau == 0.f) {
      // Uniform weights: one pass, four negatives in flight, rows in registers.
      const float wgt = 1.f / n;
      float lossPart = 0.f, cPosSum = 0.f;
      for (int j0 = 0; j0 < n; j0 += 4) {
        float4 y4[4], zy4[4];
        float part[4];
        bool hs[4];
#pragma unroll
        for (int q = 0; q < 4; q++) {
          const int j = j0 + q;
          y4[q] = zy4[q] = zero;
          part[q] = 0.f;
          hs[q] = j < n && nHead[j] != 0;
          if (j < n && on) {
            y4[q] = xRow(nIdx[j]);
            zy4[q] = zRow(nIdx[j]);
            part[q] = dot4(y4[q], sub4(zy4[q], scale4(hs[q] ? cH : cT, 2.f)));
          }
        }
#pragma unroll
        for (int q = 0; q < 4; q++) part[q] = warpSum(part[q]);
#pragma unroll
        for (int q = 0; q < 4; q++) {
          const int j = j0 + q;
          if (j >= n) break;
          const float4 u4 = sub4(hs[q] ? t4 : h4, y4[q]);
          float4 g4;
          const float sj = gramPair(a, r, (hs[q] ? AH : AT) + part[q], hs[q] ? AhH : AhT, u4, hs[q] ? cH : cT, zy4[q],
                                    hs[q] ? -1.f : 1.f, on, g4);
          const float dj = sqrtf(fmaxf(sj, 0.f));
          const float c = negativeCoef(l, dj, distPos, wgt, lossPart, cPosSum) * l.invB;
          apply(j, dj > 0.f ? c / dj : 0.f, u4, g4, hs[q]);
        }
      }
      positiveTerm(l, distPos, lossPart, cPosSum);
      cPos = cPosSum * l.invB;
      lossLocal += (double)lossPart;
    } else {
      // Adversarial weights need every distance first: pass 1 keeps them (and which pairs went direct) in shared
      // memory, pass 2 applies the weights.
      float* dist = smem + d + 1 + k + warp * 3 * n;
      float* coef = dist + n;
      float* viaM = coef + n;
      for (int j = 0; j < n; j++) {
        const bool hs = nHead[j] != 0;
        const float4 y4 = on ? xRow(nIdx[j]) : zero, zy4 = on ? zRow(nIdx[j]) : zero;
        const float Ahat = hs ? AhH : AhT;
        const float sGram = (hs ? AH : AT) + warpSum(dot4(y4, sub4(zy4, scale4(hs ? cH : cT, 2.f))));
        float4 g4;
        const float sj = gramPair(a, r, sGram, Ahat, sub4(hs ? t4 : h4, y4), hs ? cH : cT, zy4, hs ? -1.f : 1.f, on, g4);
        if (lane == 0) {
          dist[j] = sqrtf(fmaxf(sj, 0.f));
          viaM[j] = sGram >= GRAM_DIRECT_BELOW * Ahat ? 0.f : 1.f;
        }
      }
      __syncwarp();
      lossLocal += (double)negativeWeights(l, dist, coef, distPos, false, cPos);
      __syncwarp();
      for (int j = 0; j < n; j++) {
        const float dj = dist[j];
        const bool hs = nHead[j] != 0;
        const float4 u4 = sub4(hs ? t4 : h4, on ? xRow(nIdx[j]) : zero);
        float4 g4;
        if (viaM[j] != 0.f) directPair(a, r, u4, hs ? -1.f : 1.f, on, g4);
        else g4 = sub4(hs ? cH : cT, on ? zRow(nIdx[j]) : zero);
        apply(j, dj > 0.f ? coef[j] / dj : 0.f, u4, g4, hs);
      }
      __syncwarp();
    }
    // The positive pair (a = h, y = t, σ = +1): ∂x from g⁺ = M_rᵀe⁺, its ∂M share as E rows κ⁺e⁺ (h) and −κ⁺e⁺ (t)
    // with their slots, its ∂r share κ⁺e⁺; then h's and t's rows.
    const float kP = distPos > 0.f ? cPos / distPos : 0.f;
    const float4 guP = scale4(gP, kP);
    dH = add4(dH, guP);
    dT = sub4(dT, guP);
    for (int q = lane; q < k; q += WARP) {  // the entries this lane stored in directPair
      const float v = kP * eH[q];
      eH[q] = v;
      eH[k + q] = -v;
      if (v != 0.f) atomicAdd(&dRS[q], v);
    }
    if (lane == 0) {
      a.g.eSlot[2 * i] = a.rowSlot[hRow];
      a.g.eSlot[2 * i + 1] = a.rowSlot[tRow];
    }
    if (on) {
      atomicAdd4(a.gradX + (int64_t)a.rowSlot[hRow] * d + e4, dH);
      atomicAdd4(a.gradX + (int64_t)a.rowSlot[tRow] * d + e4, dT);
      st4(a.g.Q + (int64_t)hRow * d + e4, qH);
      st4(a.g.Q + (int64_t)tRow * d + e4, qT);
    }
  }
  if (lane == 0 && lossLocal != 0) atomicAdd(l.lossAccum, lossLocal * (double)l.invB);
  if (on) {
    atomicAdd(&bS[e4], bAcc.x);
    atomicAdd(&bS[e4 + 1], bAcc.y);
    atomicAdd(&bS[e4 + 2], bAcc.z);
    atomicAdd(&bS[e4 + 3], bAcc.w);
  }
  if (lane == 0) atomicAdd(kS, kAcc);
  __syncthreads();
  for (int e = threadIdx.x; e < d; e += BLOCK)
    if (bS[e] != 0.f) atomicAdd(&a.g.b[(int64_t)r * d + e], bS[e]);
  for (int q = threadIdx.x; q < k; q += BLOCK)
    if (dRS[q] != 0.f) atomicAdd(&l.gradR[(int64_t)r * k + q], dRS[q]);
  if (threadIdx.x == 0 && kS[0] != 0.f) atomicAdd(&a.g.K[r], kS[0]);
}

size_t gramLossBytes(int d, int k, int n) { return sizeof(float) * ((size_t)d + 1 + k + (size_t)WARPS * 3 * n); }

}  // namespace

// ---- launchers (host code)
bool gramApplies(const DevModel& m, const DevConfig& c, size_t sharedLimit) {
  return m.model != MODEL_TRANSE && !c.sampling && c.norm == NORM_L2 && m.d % 4 == 0 && m.d <= 128 &&
         gramLossBytes(m.d, m.k, m.n) <= sharedLimit;
}

void launchGramPrepare(cudaStream_t s, const DevModel& m, const DevGram& g) {
  ADKG_LAUNCH(m.R, BLOCK, 0, s, gramPrepareKernel)(m, g);
}

void launchGramProject(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevGram& g,
                       GemmChoice gc) {
  const float* X = m.model == MODEL_TRANSRA ? m.composed : m.entity.w;
  launchProjectTiles(s, X, g.G, b.rowSlot, p.tileRel, p.tileRow, p.tileCount, p.T, m.d, m.d, g.Z, gc);
}

void launchGramLoss(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevConfig& c,
                    const DevGram& g) {
  if (p.S == 0) return;
  GramLossArgs a;
  a.l.V = nullptr;
  a.l.dV = nullptr;
  a.l.rel = m.relation.w;
  a.l.gradR = m.gradR;
  a.l.segGroup = p.segGroup;
  a.l.segStart = p.segStart;
  a.l.segCount = p.segCount;
  a.l.gRel = p.gRel;
  a.l.hIdx = b.hIdx;
  a.l.tIdx = b.tIdx;
  a.l.nIdx = b.nIdx;
  a.l.nHead = b.nHead;
  a.l.k = m.k;
  a.l.n = m.n;
  a.l.shared = 0;
  a.l.negInSmem = 0;
  a.l.loss = c.loss;
  a.l.norm = c.norm;
  a.l.exclusive = 1;
  a.l.margin = c.margin;
  a.l.tau = c.tau;
  a.l.invB = 1.f / (float)p.B;
  a.l.lossAccum = m.lossAccum;
  a.X = m.model == MODEL_TRANSRA ? m.composed : m.entity.w;
  a.rowSlot = b.rowSlot;
  a.gradX = m.gradX;
  a.proj = m.projection.w;
  a.d = m.d;
  a.g = g;
  const size_t bytes = gramLossBytes(m.d, m.k, m.n);
  cudaFuncSetAttribute(gramLossKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
  ADKG_LAUNCH(p.S, BLOCK, bytes, s, gramLossKernel)(a);
}

void launchGramBackward(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, const DevGram& g,
                        GemmChoice gc) {
  const float* X = m.model == MODEL_TRANSRA ? m.composed : m.entity.w;
  launchRowOuterSums(s, g.E, X, g.eSlot, p.pairRel, p.pairRow, p.pairCount, p.TP, m.d, m.k, m.gradM, gc);
  launchRowOuterSums(s, g.Q, X, b.rowSlot, p.mtRel, p.mtRow, p.mtCount, p.TM, m.d, m.d, g.S, gc);
  ADKG_LAUNCH(m.R, BLOCK, 0, s, gramFinishKernel)(m, g);
}

}  // namespace adkg_cuda
