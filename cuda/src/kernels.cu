// Device kernels of the CUDA KGE engine (see kernels.h). They follow src/kge/backends/backend.ts:
// negatives from the counter RNG, distances with the parameters as they were at the start of the step,
// gradients summed over the batch (atomics into slot-indexed buffers), then a row-sparse optimizer step
// on the touched rows only.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "device_common.cuh"
#include "device_rng.cuh"
#include "kernels.h"
#include "mma_layout.h"

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
// Tiled SIMT GEMM: a 128×128 tile of C = Σ_q A(m,q)·B(q,n) per block, 8×8 per thread, K-steps of 8.
// A thread owns rows {4tm..4tm+3, 64+4tm..} and columns {4tn..4tn+3, 64+4tn..}, so its shared-memory reads
// are 16-byte vectors and the epilogue writes 16-byte vectors; the next K-step's global values are fetched
// while the current one is multiplied (into registers, or with cp.async straight into the other shared buffer
// when the kernel is built for two blocks per SM; two shared buffers, one barrier per step).
// The loaders give each element's address (nullptr: zero); which index runs fastest in memory (QFAST) decides
// how elements are spread over threads so that global reads coalesce.

constexpr int GK = 8;            // K-step
constexpr int GLD = 128 + 4;     // shared row length (16-byte aligned rows)

// The source cp.async names when it stores a zero: a valid global address that src-size 0 leaves unread (a fixed one,
// so that no operand's address has to be kept or loaded for it).
__device__ float zeroFillSource;

// cp.async (sm_80+): a 4-byte global → shared copy that bypasses registers; src nullptr stores a zero.
__device__ __forceinline__ void copyAsync4(float* dst, const float* src) {
#if ADKG_SM80_PTX
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"((unsigned)__cvta_generic_to_shared(dst)),
               "l"(src ? src : &zeroFillSource), "r"(src ? 4 : 0));
#elif defined(ADKG_HOST_EMULATION)
  emu::copyAsync(dst, src, 1);
#else
  *dst = src ? *src : 0.f;
#endif
}
__device__ __forceinline__ void copyAsyncWait() {
#if ADKG_SM80_PTX
  asm volatile("cp.async.wait_all;\n" ::: "memory");
#elif defined(ADKG_HOST_EMULATION)
  emu::copyAsyncCommit();
  emu::copyAsyncWait(0);
#endif
}
// The 16-byte tile's copies (sm_80+; the tile runs only with tensor-core math, which needs sm_80): four floats
// global → shared, L2 only (.cg), src nullptr stores four zeros; groups committed per K-step and waited for by
// count, so that STAGES − 1 K-steps are in flight while one is multiplied.
__device__ __align__(16) float4 zeroFillSource16;
__device__ __forceinline__ void copyAsync16(float* dst, const float* src) {
#if ADKG_SM80_PTX
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"((unsigned)__cvta_generic_to_shared(dst)),
               "l"(src ? src : reinterpret_cast<const float*>(&zeroFillSource16)), "r"(src ? 16 : 0));
#elif defined(ADKG_HOST_EMULATION)
  emu::copyAsync(dst, src, 4);
#else
  *reinterpret_cast<float4*>(dst) = src ? *reinterpret_cast<const float4*>(src) : make_float4(0.f, 0.f, 0.f, 0.f);
#endif
}
__device__ __forceinline__ void copyAsyncCommit() {
#if ADKG_SM80_PTX
  asm volatile("cp.async.commit_group;\n" ::);
#elif defined(ADKG_HOST_EMULATION)
  emu::copyAsyncCommit();
#endif
}
template <int PENDING>
__device__ __forceinline__ void copyAsyncWaitGroup() {
#if ADKG_SM80_PTX
  asm volatile("cp.async.wait_group %0;\n" ::"n"(PENDING) : "memory");
#elif defined(ADKG_HOST_EMULATION)
  emu::copyAsyncWait(PENDING);
#endif
}

// ---- wgmma (sm_90a: the warpgroup tile, ADKG_CUDA_GEMM_TILE=wgmma) -------------------------------------------
// Only the sm_90a machine code carries these (__CUDA_ARCH_FEAT_SM90_ALL); the launchers pick the warpgroup tile only
// on a device of compute capability 9.0 (cuda_engine.cu), and the other builds trap.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ADKG_SM90A_PTX 1
#else
#define ADKG_SM90A_PTX 0
#endif
__device__ __forceinline__ uint32_t sharedAddress(const void* p) {
#if defined(ADKG_HOST_EMULATION)
  return emu::sharedAddress(p);
#else
  return (uint32_t)__cvta_generic_to_shared(p);
#endif
}
// The matrix descriptor of a no-swizzle K-major operand at p (mma_layout.h mma::wg): start, LBO and SBO in 16 bytes.
__device__ __forceinline__ uint64_t wgmmaDescriptor(const float* p) {
  return (uint64_t)((sharedAddress(p) & 0x3FFFF) >> 4) | ((uint64_t)(mma::wg::LBO_BYTES >> 4) << 16) |
         ((uint64_t)(mma::wg::SBO_BYTES >> 4) << 32);
}
// Shared-memory writes made by threads become visible to wgmma's reads (the async proxy) after this and a barrier.
__device__ __forceinline__ void fenceProxyAsync() {
#if ADKG_SM90A_PTX
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmmaFence() {
#if ADKG_SM90A_PTX
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmmaCommit() {
#if ADKG_SM90A_PTX
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#elif defined(ADKG_HOST_EMULATION)
  emu::wgmmaCommit();
#endif
}
template <int PENDING>
__device__ __forceinline__ void wgmmaWait() {
#if ADKG_SM90A_PTX
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(PENDING) : "memory");
#elif defined(ADKG_HOST_EMULATION)
  emu::wgmmaWait(PENDING);
#endif
}
// Ties a register to this point of the program for the compiler (CUTLASS's warpgroup_fence_operand): the fence and
// wait above have no register operands, so without these the compiler could move the A fragments' writes past
// wgmma.fence, or the accumulators' reads before wgmma.wait_group.
__device__ __forceinline__ void registerFence(float& x) {
#if ADKG_SM90A_PTX
  asm volatile("" : "+f"(x)::"memory");
#endif
}
__device__ __forceinline__ void registerFence(uint32_t& x) {
#if ADKG_SM90A_PTX
  asm volatile("" : "+r"(x)::"memory");
#endif
}
// d (64 × 128 of the warpgroup, mma_layout.h mma::wg) += A (registers, this warp's 16 rows × 8) · B (descriptor, 8 × 128).
__device__ __forceinline__ void wgmmaTf32(float (&d)[64], const uint32_t (&a)[4], uint64_t descB) {
#if ADKG_SM90A_PTX
  // scale-d is a predicate (true: accumulate), the A and B scales immediates (1: as they are).
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(1));
#elif defined(ADKG_HOST_EMULATION)
  emu::wgmmaIssue(d, a, descB);
#else
  __trap();  // launchers pick the warpgroup tile only for sm_90a machine code
#endif
}

// One K-step of both operands on its way global → shared. The loaders give each element's address (nullptr: zero).
// Register staging: fetch() loads the next step into registers while the current one is multiplied, stash() stores
// it after. ASYNC: copyTo() issues cp.async straight into the other buffer and settle() waits for it, which frees
// the 2·PER staging registers (the two-blocks-per-SM tiles need them). Each thread moves PER elements of each
// 128 × KS operand, the same elements to the same shared addresses either way.
template <int KS, bool A_QFAST, bool B_QFAST>
struct TileStage {
  static constexpr int PER = 128 * KS / BLOCK;
  float ra[PER], rb[PER];
  template <class LA, class LB>
  __device__ __forceinline__ void fetch(int q0, int Kdim, const LA& loadA, const LB& loadB) {
#pragma unroll
    for (int l = 0; l < PER; l++) {
      const int e = threadIdx.x + BLOCK * l;
      const int am = stageM<KS, A_QFAST>(e), aq = stageQ<KS, A_QFAST>(e);
      const float* pa = q0 + aq < Kdim ? loadA(am, q0 + aq) : nullptr;
      ra[l] = pa ? *pa : 0.f;
      const int bn = stageM<KS, B_QFAST>(e), bq = stageQ<KS, B_QFAST>(e);
      const float* pb = q0 + bq < Kdim ? loadB(q0 + bq, bn) : nullptr;
      rb[l] = pb ? *pb : 0.f;
    }
  }
  template <bool SWIZZLED, int LD, class LA, class LB>
  __device__ __forceinline__ void copyTo(int q0, int Kdim, const LA& loadA, const LB& loadB, float (*As)[LD], float (*Bs)[LD]) {
#pragma unroll
    for (int l = 0; l < PER; l++) {
      const int e = threadIdx.x + BLOCK * l;
      const int am = stageM<KS, A_QFAST>(e), aq = stageQ<KS, A_QFAST>(e);
      const float* pa = q0 + aq < Kdim ? loadA(am, q0 + aq) : nullptr;
      copyAsync4(&As[aq][mma::smemCol<SWIZZLED && A_QFAST>(aq, am)], pa);
      const int bn = stageM<KS, B_QFAST>(e), bq = stageQ<KS, B_QFAST>(e);
      const float* pb = q0 + bq < Kdim ? loadB(q0 + bq, bn) : nullptr;
      copyAsync4(&Bs[bq][mma::smemCol<SWIZZLED && B_QFAST>(bq, bn)], pb);
    }
  }
  __device__ __forceinline__ void settle() { copyAsyncWait(); }
  // SWIZZLED: the q-fastest operands at column mma::smemCol(q, m) instead of m (the tensor-core tile's layout).
  template <bool SWIZZLED = false, int LD>
  __device__ __forceinline__ void stash(float (*As)[LD], float (*Bs)[LD]) {
#pragma unroll
    for (int l = 0; l < PER; l++) {
      const int e = threadIdx.x + BLOCK * l;
      const int am = stageM<KS, A_QFAST>(e), aq = stageQ<KS, A_QFAST>(e);
      As[aq][mma::smemCol<SWIZZLED && A_QFAST>(aq, am)] = ra[l];
      const int bn = stageM<KS, B_QFAST>(e), bq = stageQ<KS, B_QFAST>(e);
      Bs[bq][mma::smemCol<SWIZZLED && B_QFAST>(bq, bn)] = rb[l];
    }
  }
};

template <bool A_QFAST, bool B_QFAST, bool ASYNC, class LA, class LB>
__device__ __forceinline__ void tileGemm(int Kdim, const LA& loadA, const LB& loadB, float (&acc)[8][8]) {
  __shared__ __align__(16) float As[2][GK][GLD];
  __shared__ __align__(16) float Bs[2][GK][GLD];
  const int tid = threadIdx.x, tm = tid / 16, tn = tid % 16;
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
  TileStage<GK, A_QFAST, B_QFAST> stage;
  if constexpr (ASYNC) {
    stage.template copyTo<false>(0, Kdim, loadA, loadB, As[0], Bs[0]);
    stage.settle();
  } else {
    stage.fetch(0, Kdim, loadA, loadB);
    stage.stash(As[0], Bs[0]);
  }
  __syncthreads();
  int buf = 0;
  for (int q0 = 0; q0 < Kdim; q0 += GK) {
    const bool more = q0 + GK < Kdim;
    if constexpr (ASYNC) {
      if (more) stage.template copyTo<false>(q0 + GK, Kdim, loadA, loadB, As[buf ^ 1], Bs[buf ^ 1]);
    } else {
      if (more) stage.fetch(q0 + GK, Kdim, loadA, loadB);
    }
#pragma unroll
    for (int q = 0; q < GK; q++) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][q][4 * tm]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][q][64 + 4 * tm]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][q][4 * tn]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][q][64 + 4 * tn]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if constexpr (ASYNC) {
      if (more) stage.settle();
    } else {
      if (more) stage.stash(As[buf ^ 1], Bs[buf ^ 1]);
    }
    __syncthreads();
    buf ^= 1;
  }
}

// The tile's outputs in 16-byte pieces: out4(m, n, v) gets C[m][n..n+3].
template <bool A_QFAST, bool B_QFAST, bool ASYNC, class LA, class LB, class OUT4>
__device__ __forceinline__ void gemmTile(int Kdim, const LA& loadA, const LB& loadB, const OUT4& out4) {
  float acc[8][8];
  tileGemm<A_QFAST, B_QFAST, ASYNC>(Kdim, loadA, loadB, acc);
  const int tm = threadIdx.x / 16, tn = threadIdx.x % 16;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    const int mm = i < 4 ? 4 * tm + i : 64 + 4 * tm + i - 4;
    out4(mm, 4 * tn, make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    out4(mm, 64 + 4 * tn, make_float4(acc[i][4], acc[i][5], acc[i][6], acc[i][7]));
  }
}

// ---- the same tile on tensor cores (see mma_layout.h for who holds what) -----------------------------
// GEMM_TF32X3 splits every operand x into big = tf32(x) and small = tf32(x − big) and accumulates
// small·big + big·small + big·big: three TF32 products that round like one FP32 product (the small·small
// term is below FP32's last bit), so results stay within FP32 rounding of the SIMT tile. GEMM_TF32 keeps
// only big·big: about 10 mantissa bits per product, a numerics change, for measuring against PyTorch with
// allow_tf32. The loaders, the K-step (16 here) and the epilogue's 16-byte pieces are the SIMT tile's.

constexpr int MK = mma::K_STEP;     // K-step of the tensor-core tile (two k8 instructions)
constexpr int MLD = mma::SMEM_LD;   // shared row length (see mma::smemCol for the bank arithmetic)

// Embedding values are finite (a NaN or infinity already ruins the step), so the cheaper rounding suffices.
__device__ __forceinline__ uint32_t tf32Bits(float x) { return mma::tf32Round(__float_as_uint(x)); }
template <int MATH>
__device__ __forceinline__ void tf32Split(float x, uint32_t& big, uint32_t& small) {
  big = tf32Bits(x);
  if (MATH == GEMM_TF32X3) small = tf32Bits(x - __uint_as_float(big));
}
__device__ __forceinline__ void mma16x8x8(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if ADKG_SM80_PTX
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(ADKG_HOST_EMULATION)
  emu::mmaSync(c, a, b);
#else
  __trap();  // launchers never pick a tensor-core tile below sm_80 (usableGemmMath)
#endif
}

using MmaAcc = float[mma::MI][mma::NJ][4];

// One k8 step of a warp's 64 × 32 piece: aAt(i, r) / bAt(j, r) give the lane's A and B fragment elements (mma_layout.h)
// from whichever shared layout the tile keeps.
template <int MATH, class AF, class BF>
__device__ __forceinline__ void mmaK8(MmaAcc& acc, const AF& aAt, const BF& bAt) {
  uint32_t bBig[mma::NJ][2], bSmall[mma::NJ][2];
#pragma unroll
  for (int j = 0; j < mma::NJ; j++)
#pragma unroll
    for (int r = 0; r < 2; r++) tf32Split<MATH>(bAt(j, r), bBig[j][r], bSmall[j][r]);
#pragma unroll
  for (int i = 0; i < mma::MI; i++) {
    uint32_t aBig[4], aSmall[4];
#pragma unroll
    for (int r = 0; r < 4; r++) tf32Split<MATH>(aAt(i, r), aBig[r], aSmall[r]);
#pragma unroll
    for (int j = 0; j < mma::NJ; j++) {
      if (MATH == GEMM_TF32X3) {
        mma16x8x8(acc[i][j], aSmall, bBig[j]);
        mma16x8x8(acc[i][j], aBig, bSmall[j]);
      }
      mma16x8x8(acc[i][j], aBig, bBig[j]);
    }
  }
}

// Epilogue: swap half of each accumulator with lane ^ 1 (mma_layout.h), then four consecutive columns.
template <class OUT4>
__device__ __forceinline__ void mmaStore(MmaAcc& acc, int lane, int warp, const OUT4& out4) {
#pragma unroll
  for (int i = 0; i < mma::MI; i++)
#pragma unroll
    for (int j = 0; j < mma::NJ; j++) {
      float s0, s1, o[4];
      mma::swapSend(lane, acc[i][j], s0, s1);
      mma::swapOut(lane, acc[i][j], __shfl_xor_sync(0xffffffffu, s0, 1), __shfl_xor_sync(0xffffffffu, s1, 1), o);
      out4(mma::outRow(warp, lane, i), mma::outCol(warp, lane, j), make_float4(o[0], o[1], o[2], o[3]));
    }
}

template <int MATH, bool A_QFAST, bool B_QFAST, bool ASYNC, class LA, class LB, class OUT4>
__device__ __forceinline__ void mmaGemmTile(int Kdim, const LA& loadA, const LB& loadB, const OUT4& out4) {
  __shared__ __align__(16) float As[2][MK][MLD];
  __shared__ __align__(16) float Bs[2][MK][MLD];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  float acc[mma::MI][mma::NJ][4];
#pragma unroll
  for (int i = 0; i < mma::MI; i++)
#pragma unroll
    for (int j = 0; j < mma::NJ; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.f;
  TileStage<MK, A_QFAST, B_QFAST> stage;
  if constexpr (ASYNC) {
    stage.template copyTo<true>(0, Kdim, loadA, loadB, As[0], Bs[0]);
    stage.settle();
  } else {
    stage.fetch(0, Kdim, loadA, loadB);
    stage.template stash<true>(As[0], Bs[0]);
  }
  __syncthreads();
  int buf = 0;
  // The k8 steps below are mmaK8's, written out: through the helper ptxas schedules this measured default differently
  // (SASS compared, session 9). Fold them into mmaK8 when the default is next timed.
  for (int q0 = 0; q0 < Kdim; q0 += MK) {
    const bool more = q0 + MK < Kdim;
    if constexpr (ASYNC) {
      if (more) stage.template copyTo<true>(q0 + MK, Kdim, loadA, loadB, As[buf ^ 1], Bs[buf ^ 1]);
    } else {
      if (more) stage.fetch(q0 + MK, Kdim, loadA, loadB);
    }
#pragma unroll
    for (int kk = 0; kk < MK; kk += 8) {
      uint32_t bBig[mma::NJ][2], bSmall[mma::NJ][2];
#pragma unroll
      for (int j = 0; j < mma::NJ; j++)
#pragma unroll
        for (int r = 0; r < 2; r++)
          tf32Split<MATH>(Bs[buf][kk + mma::bK(lane, r)][mma::bSmemCol<B_QFAST>(warp, lane, j, kk + mma::bK(lane, r))],
                          bBig[j][r], bSmall[j][r]);
#pragma unroll
      for (int i = 0; i < mma::MI; i++) {
        uint32_t aBig[4], aSmall[4];
#pragma unroll
        for (int r = 0; r < 4; r++)
          tf32Split<MATH>(As[buf][kk + mma::aK(lane, r)][mma::aSmemCol<A_QFAST>(warp, lane, i, r, kk + mma::aK(lane, r))],
                          aBig[r], aSmall[r]);
#pragma unroll
        for (int j = 0; j < mma::NJ; j++) {
          if (MATH == GEMM_TF32X3) {
            mma16x8x8(acc[i][j], aSmall, bBig[j]);
            mma16x8x8(acc[i][j], aBig, bSmall[j]);
          }
          mma16x8x8(acc[i][j], aBig, bBig[j]);
        }
      }
    }
    if constexpr (ASYNC) {
      if (more) stage.settle();
    } else {
      if (more) stage.template stash<true>(As[buf ^ 1], Bs[buf ^ 1]);
    }
    __syncthreads();
    buf ^= 1;
  }
  mmaStore(acc, lane, warp, out4);
}

// The 16-byte tile (ADKG_CUDA_GEMM_TILE=chunk; mma_layout.h mma::chunk): the warps, fragments, math and epilogue of
// mmaGemmTile, with operands kept in shared memory as they lie in global memory, staged in 16-byte cp.async pieces,
// STAGES K-steps of KS in a ring. pieceA(m, q) / pieceB(n, q): the address of the piece's first element (A(m, q)
// or B(q, n)), nullptr for zeros; the caller guarantees that a piece is wholly inside or wholly outside (d and
// k multiples of 4), and q beyond Kdim is zero here.
// Issues K-step `step` of both operands into its ring slot (this thread's 16-byte pieces), not committed.
// One operand's K-step from q0 (this thread's 16-byte pieces) into its ring slot dst.
template <bool QFAST, class PIECE>
__device__ __forceinline__ void issuePieces(float* dst, int q0, int Kdim, const PIECE& piece) {
  namespace C = mma::chunk;
#pragma unroll
  for (int l = 0; l < C::PIECES_PER_THREAD; l++) {
    const int p = threadIdx.x + BLOCK * l;
    const int m = C::pieceM<QFAST>(p), q = C::pieceQ<QFAST>(p);
    copyAsync16(dst + C::offset<QFAST>(m, q), q0 + q < Kdim ? piece(m, q0 + q) : nullptr);
  }
}
template <bool A_QFAST, bool B_QFAST, class PA, class PB>
__device__ __forceinline__ void chunkIssue(float* ring, int step, int Kdim, const PA& pieceA, const PB& pieceB) {
  namespace C = mma::chunk;
  float* as = ring + (step % C::STAGES) * 2 * C::OPERAND_FLOATS;
  issuePieces<A_QFAST>(as, step * C::KS, Kdim, pieceA);
  issuePieces<B_QFAST>(as + C::OPERAND_FLOATS, step * C::KS, Kdim, pieceB);
}

template <int MATH, bool A_QFAST, bool B_QFAST, class PA, class PB, class OUT4>
__device__ __forceinline__ void chunkGemmTile(int Kdim, const PA& pieceA, const PB& pieceB, const OUT4& out4) {
  namespace C = mma::chunk;
  ADKG_DYNAMIC_SHARED16(chunkSmem);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  MmaAcc acc;
#pragma unroll
  for (int i = 0; i < mma::MI; i++)
#pragma unroll
    for (int j = 0; j < mma::NJ; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.f;
  const int steps = (Kdim + C::KS - 1) / C::KS;
  auto issue = [&](int step) { chunkIssue<A_QFAST, B_QFAST>(chunkSmem, step, Kdim, pieceA, pieceB); };
#pragma unroll
  for (int s = 0; s < C::STAGES - 1; s++) {
    if (s < steps) issue(s);
    copyAsyncCommit();  // empty groups too, so that the wait below counts K-steps
  }
  for (int step = 0; step < steps; step++) {
    copyAsyncWaitGroup<C::STAGES - 2>();  // this step's pieces have landed (this thread's) ...
    __syncthreads();                      // ... everyone's; and the slot refilled next was multiplied by all
    if (step + C::STAGES - 1 < steps) issue(step + C::STAGES - 1);
    copyAsyncCommit();
    const float* as = chunkSmem + (step % C::STAGES) * 2 * C::OPERAND_FLOATS;
    const float* bs = as + C::OPERAND_FLOATS;
#pragma unroll
    for (int kk = 0; kk < C::KS; kk += 8)
      mmaK8<MATH>(
          acc, [&](int i, int r) { return as[C::offset<A_QFAST>(mma::aRow(warp, lane, i, r), kk + mma::aK(lane, r))]; },
          [&](int j, int r) { return bs[C::offset<B_QFAST>(mma::bCol(warp, lane, j), kk + mma::bK(lane, r))]; });
  }
  mmaStore(acc, lane, warp, out4);
}

// The warpgroup tiles' pieces (wgmmaGemmTile, stationaryGemm). A warp's first row of the block tile: warpgroup w
// holds rows 64w.., warp w mod 4 of it 16 of them.
__device__ __forceinline__ int wgmmaWarpRow() {
  const int warp = threadIdx.x >> 5;
  return 64 * (warp >> 2) + 16 * (warp & 3);
}
using WgmmaFragments = uint32_t[mma::chunk::KS / 8][4];
// This warp's A fragments of one K-step from its ring slot as (rows row0 + g (+8), k 8kk + t (+4)), split into TF32
// parts.
template <int MATH, bool A_QFAST>
__device__ __forceinline__ void wgmmaFragments(const float* as, int row0, WgmmaFragments& big, WgmmaFragments& small) {
  namespace C = mma::chunk;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int kk = 0; kk < C::KS / 8; kk++)
#pragma unroll
    for (int r = 0; r < 4; r++)
      tf32Split<MATH>(as[C::offset<A_QFAST>(row0 + g + ((r & 1) ? 8 : 0), 8 * kk + t + ((r & 2) ? 4 : 0))], big[kk][r],
                      small[kk][r]);
}
// One K-step's wgmma (KS / 8 k8 steps; B's big and small parts through descriptors at the K-step's first k4 group),
// committed as one group; returns once at most this group is pending, so the previous K-step's A registers and B
// buffer are free. The register fences keep the compiler from moving the fragments' writes past wgmma.fence or the
// accumulators' reads before the wait.
template <int MATH>
__device__ __forceinline__ void wgmmaKStep(float (&acc)[64], WgmmaFragments& aBig, WgmmaFragments& aSmall,
                                           uint64_t descBig, uint64_t descSmall) {
  namespace C = mma::chunk;
  namespace W = mma::wg;
#pragma unroll
  for (int i = 0; i < 64; i++) registerFence(acc[i]);
#pragma unroll
  for (int kk = 0; kk < C::KS / 8; kk++)
#pragma unroll
    for (int r = 0; r < 4; r++) {
      registerFence(aBig[kk][r]);
      if (MATH == GEMM_TF32X3) registerFence(aSmall[kk][r]);
    }
  wgmmaFence();
#pragma unroll
  for (int kk = 0; kk < C::KS / 8; kk++) {
    const uint64_t k8 = (uint64_t)((2 * kk * W::LBO_BYTES) >> 4);  // two k4 core-matrix rows per k8 step
    if (MATH == GEMM_TF32X3) {
      wgmmaTf32(acc, aSmall[kk], descBig + k8);
      wgmmaTf32(acc, aBig[kk], descSmall + k8);
    }
    wgmmaTf32(acc, aBig[kk], descBig + k8);
  }
  wgmmaCommit();
  wgmmaWait<1>();
#pragma unroll
  for (int i = 0; i < 64; i++) registerFence(acc[i]);
}
// A 4 × 4 block of B (columns sn .. sn+3, k sq .. sq+3) split into TF32 parts at their places in wgmma's layout
// (mma::wg; sq may run past one K-step, as in the stationary tile). piece4(n, q): B's 16-byte piece there (B_QFAST:
// k q .. q+3 of column n; else columns n .. n+3 at k q).
template <int MATH, bool B_QFAST, class PIECE4>
__device__ __forceinline__ void wgmmaSplitB(const PIECE4& piece4, int sn, int sq, float* bBig, float* bSmall) {
  namespace W = mma::wg;
  float v[4][4];  // [column][k]
  if constexpr (B_QFAST) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const float4 r = piece4(sn + i, sq);
      v[i][0] = r.x, v[i][1] = r.y, v[i][2] = r.z, v[i][3] = r.w;
    }
  } else {
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const float4 r = piece4(sn, sq + j);
      v[0][j] = r.x, v[1][j] = r.y, v[2][j] = r.z, v[3][j] = r.w;
    }
  }
#pragma unroll
  for (int i = 0; i < 4; i++) {
    uint32_t big[4], small[4];
#pragma unroll
    for (int j = 0; j < 4; j++) tf32Split<GEMM_TF32X3>(v[i][j], big[j], small[j]);
    st4(bBig + W::splitOffset(sn + i, sq), make_float4(__uint_as_float(big[0]), __uint_as_float(big[1]),
                                                       __uint_as_float(big[2]), __uint_as_float(big[3])));
    if (MATH == GEMM_TF32X3)
      st4(bSmall + W::splitOffset(sn + i, sq), make_float4(__uint_as_float(small[0]), __uint_as_float(small[1]),
                                                           __uint_as_float(small[2]), __uint_as_float(small[3])));
  }
}
// K-steps 0 .. steps − 1 (at least one) through kStep(buffer, step), the buffer a constant that alternates, so that
// the doubled A fragments stay in registers (a runtime index would move them to local memory).
template <class KSTEP>
__device__ __forceinline__ void wgmmaKSteps(int steps, const KSTEP& kStep) {
  int step = 0;
  do {
    kStep(std::integral_constant<int, 0>(), step);
    if (step + 1 < steps) kStep(std::integral_constant<int, 1>(), step + 1);
    step += 2;
  } while (step < steps);
}
// Epilogue once every group is done: as mmaStore, per n8 piece j of the warp's 16 rows.
template <class OUT4>
__device__ __forceinline__ void wgmmaStore(float (&acc)[64], int row0, const OUT4& out4) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  wgmmaWait<0>();
#pragma unroll
  for (int i = 0; i < 64; i++) registerFence(acc[i]);
#pragma unroll
  for (int j = 0; j < 16; j++) {
    float c[4] = {acc[4 * j], acc[4 * j + 1], acc[4 * j + 2], acc[4 * j + 3]}, s0, s1, o[4];
    mma::swapSend(lane, c, s0, s1);
    mma::swapOut(lane, c, __shfl_xor_sync(0xffffffffu, s0, 1), __shfl_xor_sync(0xffffffffu, s1, 1), o);
    out4(row0 + g + (mma::keepsLowRow(lane) ? 0 : 8), 8 * j + 2 * (t & ~1), make_float4(o[0], o[1], o[2], o[3]));
  }
}

// The warpgroup tile (ADKG_CUDA_GEMM_TILE=wgmma; sm_90a; mma_layout.h mma::wg): the 16-byte tile's ring for both
// operands, then per K-step B split once into TF32 big and small parts in wgmma's K-major layout (a quarter of the
// splits the 16-byte tile makes, where each warp splits what it reads), and each warpgroup's 64 × 128 accumulated by
// wgmma.mma_async from A fragments in registers (split there) and B through its descriptor: 3xTF32 = three wgmma a
// k8 step (small·big, big·small, big·big), TF32 the last alone. The split buffer and the A registers are doubled, so
// that K-step s's split and fragments are made while step s − 1's wgmma run: each step commits one group and waits
// until at most that one is pending (step s − 1's are done, so its buffer and registers may be rewritten at s + 1,
// after the block barrier that starts it).
template <int MATH, bool A_QFAST, bool B_QFAST, class PA, class PB, class OUT4>
__device__ __forceinline__ void wgmmaGemmTile(int Kdim, const PA& pieceA, const PB& pieceB, const OUT4& out4) {
  namespace C = mma::chunk;
  namespace W = mma::wg;
  ADKG_DYNAMIC_SHARED16(smem);
  const int row0 = wgmmaWarpRow();
  float acc[64];
#pragma unroll
  for (int i = 0; i < 64; i++) acc[i] = 0.f;
  // Buffer b: big part at SPLIT_OFFSET + 2b·SPLIT_FLOATS, small part after it.
  const uint64_t desc0 = wgmmaDescriptor(smem + W::SPLIT_OFFSET);
  const uint64_t partStep = (uint64_t)((W::SPLIT_FLOATS * 4) >> 4);  // one part, in the descriptor's 16-byte units
  uint32_t aBig[2][C::KS / 8][4], aSmall[2][C::KS / 8][4];
  // At least one K-step (zeros when Kdim is 0), so that the accumulators reach the epilogue's wait only from a
  // wgmma: a path on which their zeros met it would have ptxas serialise the wgmma (C7515).
  const int steps = (Kdim + C::KS - 1) / C::KS > 0 ? (Kdim + C::KS - 1) / C::KS : 1;
#pragma unroll
  for (int s = 0; s < C::STAGES - 1; s++) {
    if (s < steps) chunkIssue<A_QFAST, B_QFAST>(smem, s, Kdim, pieceA, pieceB);
    copyAsyncCommit();
  }
  // This thread's 4 × 4 block of B in the split: columns 4·(tid mod 32) …, k 4·(tid / 32) … of the K-step.
  const int sn = 4 * (threadIdx.x & 31), sq = 4 * (threadIdx.x >> 5);
  // One K-step into buffer BUF (a constant, so that the doubled A fragments stay in registers, which a runtime index
  // would move to local memory).
  auto kStep = [&](auto bufConstant, int step) {
    constexpr int buf = decltype(bufConstant)::value;
    copyAsyncWaitGroup<C::STAGES - 2>();
    __syncthreads();  // the step's pieces have landed; every thread has waited for step − 2's wgmma (buffer buf)
    if (step + C::STAGES - 1 < steps) chunkIssue<A_QFAST, B_QFAST>(smem, step + C::STAGES - 1, Kdim, pieceA, pieceB);
    copyAsyncCommit();
    const float* as = smem + (step % C::STAGES) * 2 * C::OPERAND_FLOATS;
    const float* bs = as + C::OPERAND_FLOATS;
    float* bBig = smem + W::SPLIT_OFFSET + 2 * buf * W::SPLIT_FLOATS;
    float* bSmall = bBig + W::SPLIT_FLOATS;
    wgmmaSplitB<MATH, B_QFAST>([&](int n, int q) { return ld4(bs + C::offset<B_QFAST>(n, q)); }, sn, sq, bBig, bSmall);
    fenceProxyAsync();
    __syncthreads();  // the split is written (and visible to wgmma) before any warpgroup multiplies
    wgmmaFragments<MATH, A_QFAST>(as, row0, aBig[buf], aSmall[buf]);
    const uint64_t descBig = desc0 + 2 * buf * partStep;
    wgmmaKStep<MATH>(acc, aBig[buf], aSmall[buf], descBig, descBig + partStep);
  };
  wgmmaKSteps(steps, kStep);
  wgmmaStore(acc, row0, out4);
}

// The stationary tile (ADKG_CUDA_GEMM_TILE=stationary; sm_90a; mma_layout.h mma::stationary) for the two GEMMs whose B
// is M_r (P = M_r x and ∂x = M_rᵀ ∂P): the block runs tiles [t0, t1) of `tiles` (a persistent grid, consecutive tiles
// mostly of one relation), keeps M_r's column tile split into TF32 parts in shared memory until a tile of another
// relation comes, and stages A alone in the ring, its K-steps running on from one tile into the next so that a tile
// starts with its A already in flight. The warpgroup tile's fragments, wgmma and epilogue. relOf(t): tile t's
// relation; pieceA(t, m, q); pieceB(rel, n, q): B(q, n)'s piece for relation rel; out4(t, m, n, v).
template <int MATH, bool B_QFAST, class REL, class PA, class PB, class OUT4>
__device__ __forceinline__ void stationaryGemm(int tiles, int Kdim, const REL& relOf, const PA& pieceA, const PB& pieceB,
                                               const OUT4& out4) {
  namespace C = mma::chunk;
  namespace S = mma::stationary;
  const int t0 = (int)((int64_t)blockIdx.x * tiles / gridDim.x);
  const int t1 = (int)((int64_t)(blockIdx.x + 1) * tiles / gridDim.x);
  if (Kdim > S::MAX_K) {
    // M_r's column tile does not fit: the warpgroup tile, one tile after another.
    for (int tile = t0; tile < t1; tile++) {
      if (tile > t0) __syncthreads();  // every thread is done with the last tile's ring and split before they refill
      const int rel = relOf(tile);
      wgmmaGemmTile<MATH, true, B_QFAST>(
          Kdim, [&](int m, int q) { return pieceA(tile, m, q); }, [&](int n, int q) { return pieceB(rel, n, q); },
          [&](int m, int n, float4 v) { out4(tile, m, n, v); });
    }
    return;
  }
  ADKG_DYNAMIC_SHARED16(smem);
  float* bBig = smem + S::B_OFFSET;
  float* bSmall = bBig + S::PART_FLOATS;
  const uint64_t descBig0 = wgmmaDescriptor(bBig), descSmall0 = wgmmaDescriptor(bSmall);
  const uint64_t stepUnits = (uint64_t)(((C::KS / 4) * mma::wg::LBO_BYTES) >> 4);  // a K-step's k4 groups, 16-byte units
  const int row0 = wgmmaWarpRow();
  // At least one K-step (zeros when Kdim is 0), so that the accumulators reach the epilogue's wait only from a
  // wgmma: a path on which their zeros met it would have ptxas serialise the wgmma (C7515).
  const int steps = (Kdim + C::KS - 1) / C::KS > 0 ? (Kdim + C::KS - 1) / C::KS : 1;
  const int64_t U = (int64_t)(t1 - t0) * steps;  // the block's K-steps, tile after tile
  auto ringSlot = [&](int64_t u) { return smem + (int)(u % C::STAGES) * C::OPERAND_FLOATS; };
  auto issue = [&](int64_t u) {
    const int tile = t0 + (int)(u / steps);
    issuePieces<true>(ringSlot(u), (int)(u % steps) * C::KS, Kdim, [&](int m, int q) { return pieceA(tile, m, q); });
  };
#pragma unroll
  for (int s = 0; s < C::STAGES - 1; s++) {
    if (s < U) issue(s);
    copyAsyncCommit();
  }
  float acc[64];
  WgmmaFragments aBig[2], aSmall[2];
  int rel = -1;
  int64_t u = 0;
  for (int tile = t0; tile < t1; tile++) {
#pragma unroll
    for (int i = 0; i < 64; i++) acc[i] = 0.f;
    // K-step `step` of the tile (the block's u) with A registers BUF (a constant, as in wgmmaGemmTile).
    auto kStep = [&](auto bufConstant, int step) {
      constexpr int buf = decltype(bufConstant)::value;
      copyAsyncWaitGroup<C::STAGES - 2>();
      // u's A has landed; every thread has waited for u − 2's wgmma, and at a tile's first step for all of the last
      // tile's (wgmmaStore), so M_r's parts are free to rewrite below.
      __syncthreads();
      if (u + C::STAGES - 1 < U) issue(u + C::STAGES - 1);
      copyAsyncCommit();
      if (step == 0 && relOf(tile) != rel) {
        rel = relOf(tile);
        for (int b = threadIdx.x; b < 32 * steps * (C::KS / 4); b += BLOCK) {
          const int sn = 4 * (b & 31), sq = 4 * (b >> 5);  // zeros for k past Kdim, as the ring's A
          wgmmaSplitB<MATH, B_QFAST>(
              [&](int n, int q) {
                const float* p = q < Kdim ? pieceB(rel, n, q) : nullptr;
                return p ? ld4(p) : make_float4(0.f, 0.f, 0.f, 0.f);
              },
              sn, sq, bBig, bSmall);
        }
        fenceProxyAsync();
        __syncthreads();  // the split is written (and visible to wgmma) before any warpgroup multiplies
      }
      wgmmaFragments<MATH, true>(ringSlot(u), row0, aBig[buf], aSmall[buf]);
      wgmmaKStep<MATH>(acc, aBig[buf], aSmall[buf], descBig0 + step * stepUnits, descSmall0 + step * stepUnits);
      u++;
    };
    wgmmaKSteps(steps, kStep);
    wgmmaStore(acc, row0, [&](int m, int n, float4 v) { out4(tile, m, n, v); });
  }
}

// One entry point for the three GEMM kernels: the SIMT tile, the tensor-core tile, the 16-byte tile (TILE_CHUNK) or
// the warpgroup tile (TILE_WGMMA); the element tiles compiled for two blocks per SM (MINB) stage with cp.async, whose
// freed registers the 128-register cap needs. loadA(m, q) / loadB(q, n) give an element's address, which for the
// 16-byte and warpgroup tiles is its piece's.
template <int MATH, int MINB, int TILE, bool A_QFAST, bool B_QFAST, class LA, class LB, class OUT4>
__device__ __forceinline__ void anyGemmTile(int Kdim, const LA& loadA, const LB& loadB, const OUT4& out4) {
  constexpr bool ASYNC = MINB == 2;
  if constexpr (TILE == TILE_CHUNK)
    chunkGemmTile<MATH, A_QFAST, B_QFAST>(Kdim, loadA, [&](int n, int q) { return loadB(q, n); }, out4);
  else if constexpr (TILE == TILE_WGMMA || TILE == TILE_STATIONARY)  // the stationary tile's other GEMMs
    wgmmaGemmTile<MATH, A_QFAST, B_QFAST>(Kdim, loadA, [&](int n, int q) { return loadB(q, n); }, out4);
  else if constexpr (MATH == GEMM_SIMT)
    gemmTile<A_QFAST, B_QFAST, ASYNC>(Kdim, loadA, loadB, out4);
  else
    mmaGemmTile<MATH, A_QFAST, B_QFAST, ASYNC>(Kdim, loadA, loadB, out4);
}

// dst[0..3] (of a row of length len, at column col) = v, or += v when add: one 16-byte access when the row
// is 16-byte aligned and all four columns exist, else element by element.
__device__ __forceinline__ void put4(float* dst, int col, int len, float4 v, bool add) {
  if ((len & 3) == 0 && col + 3 < len) {
    if (add) {
      if (v.x != 0.f || v.y != 0.f || v.z != 0.f || v.w != 0.f) atomicAdd4(dst, v);
    } else {
      st4(dst, v);
    }
    return;
  }
  for (int j = 0; j < 4 && col + j < len; j++) {
    const float x = at4(v, j);
    if (!add) dst[j] = x;
    else if (x != 0.f) atomicAdd(dst + j, x);
  }
}

// P[row] = M_r x[rowSlot[row]] for the rows of a tile (rowSlot null: slot = row, one M, tiles of TILE_ROWS over
// uniformCount rows). A block a tile, or under the stationary tile a block an SM over all `tiles` tiles (the last
// parameter, so that the other tiles' machine code is what it was before the stationary tile came).
template <int MATH, int MINB, int TILE>
__global__ void __launch_bounds__(BLOCK, MINB) projectKernel(const float* X, const float* proj, const int32_t* rowSlot,
                                                       const int32_t* tileRel, const int64_t* tileRow,
                                                       const int32_t* tileCount, int64_t uniformCount, int d, int k,
                                                       float* P, int tiles) {
  if constexpr (TILE == TILE_STATIONARY) {
    const int n0 = blockIdx.y * 128;
    auto tileAt = [&](int t, int64_t& row0, int& count) {
      row0 = tileRel ? tileRow[t] : (int64_t)t * TILE_ROWS;
      count = tileRel ? tileCount[t] : (int)(uniformCount - row0 < TILE_ROWS ? uniformCount - row0 : TILE_ROWS);
    };
    stationaryGemm<MATH, true>(
        tiles, d, [&](int t) { return tileRel ? tileRel[t] : 0; },
        [&](int t, int mm, int q) -> const float* {
          int64_t row0;
          int count;
          tileAt(t, row0, count);
          if (mm >= count) return nullptr;
          return X + (rowSlot ? rowSlot[row0 + mm] : row0 + mm) * (int64_t)d + q;
        },
        [&](int rel, int nn, int q) -> const float* {
          return n0 + nn < k ? proj + ((int64_t)rel * k + n0 + nn) * d + q : nullptr;
        },
        [&](int t, int mm, int nn, float4 v) {
          int64_t row0;
          int count;
          tileAt(t, row0, count);
          if (mm < count && n0 + nn < k) put4(P + (row0 + mm) * k + n0 + nn, n0 + nn, k, v, false);
        });
  } else {
    int64_t row0;
    int count;
    const float* M;
    if (tileRel) {
      row0 = tileRow[blockIdx.x];
      count = tileCount[blockIdx.x];
      M = proj + (int64_t)tileRel[blockIdx.x] * k * d;
    } else {
      row0 = (int64_t)blockIdx.x * TILE_ROWS;
      count = (int)(uniformCount - row0 < TILE_ROWS ? uniformCount - row0 : TILE_ROWS);
      M = proj;
    }
    const int n0 = blockIdx.y * 128;
    auto loadA = [&](int mm, int q) -> const float* {
      if (mm >= count) return nullptr;
      int64_t slot = rowSlot ? rowSlot[row0 + mm] : row0 + mm;
      return X + slot * d + q;
    };
    auto loadB = [&](int q, int nn) -> const float* { return n0 + nn < k ? M + (int64_t)(n0 + nn) * d + q : nullptr; };
    auto out4 = [&](int mm, int nn, float4 v) {
      if (mm < count && n0 + nn < k) put4(P + (row0 + mm) * k + n0 + nn, n0 + nn, k, v, false);
    };
    anyGemmTile<MATH, MINB, TILE, true, true>(d, loadA, loadB, out4);
  }
}

// ∂x[rowSlot[row]] += M_rᵀ ∂P[row]; blocks (and `tiles`) as projectKernel's.
template <int MATH, int MINB, int TILE>
__global__ void __launch_bounds__(BLOCK, MINB) projectBackXKernel(const float* dP, const float* proj, const int32_t* rowSlot,
                                                            const int32_t* tileRel, const int64_t* tileRow,
                                                            const int32_t* tileCount, int d, int k, float* gradX,
                                                            int tiles) {
  const int n0 = blockIdx.y * 128;
  if constexpr (TILE == TILE_STATIONARY) {
    stationaryGemm<MATH, false>(
        tiles, k, [&](int t) { return tileRel[t]; },
        [&](int t, int mm, int q) -> const float* { return mm < tileCount[t] ? dP + (tileRow[t] + mm) * k + q : nullptr; },
        [&](int rel, int nn, int q) -> const float* {
          return n0 + nn < d ? proj + ((int64_t)rel * k + q) * d + n0 + nn : nullptr;
        },
        [&](int t, int mm, int nn, float4 v) {
          if (mm < tileCount[t] && n0 + nn < d)
            put4(gradX + (int64_t)rowSlot[tileRow[t] + mm] * d + n0 + nn, n0 + nn, d, v, true);
        });
  } else {
    const int64_t row0 = tileRow[blockIdx.x];
    const int count = tileCount[blockIdx.x];
    const float* M = proj + (int64_t)tileRel[blockIdx.x] * k * d;
    auto loadA = [&](int mm, int q) -> const float* { return mm < count ? dP + (row0 + mm) * k + q : nullptr; };
    auto loadB = [&](int q, int nn) -> const float* { return n0 + nn < d ? M + (int64_t)q * d + n0 + nn : nullptr; };
    auto out4 = [&](int mm, int nn, float4 v) {
      if (mm < count && n0 + nn < d) put4(gradX + (int64_t)rowSlot[row0 + mm] * d + n0 + nn, n0 + nn, d, v, true);
    };
    anyGemmTile<MATH, MINB, TILE, true, false>(k, loadA, loadB, out4);
  }
}

// ∂M_r += Σ_rows ∂P[row] x[rowSlot[row]]ᵀ over up to MTILE_ROWS rows of one relation.
template <int MATH, int MINB, int TILE>
__global__ void __launch_bounds__(BLOCK, MINB) projectBackMKernel(const float* dP, const float* X, const int32_t* rowSlot,
                                                            const int32_t* mtRel, const int64_t* mtRow,
                                                            const int32_t* mtCount, int d, int k, float* gradM) {
  const int64_t row0 = mtRow[blockIdx.x];
  const int count = mtCount[blockIdx.x];
  float* dM = gradM + (int64_t)mtRel[blockIdx.x] * k * d;
  const int m0 = blockIdx.y * 128, n0 = blockIdx.z * 128;
  auto loadA = [&](int mm, int q) -> const float* { return m0 + mm < k ? dP + (row0 + q) * k + m0 + mm : nullptr; };
  auto loadB = [&](int q, int nn) -> const float* {
    return n0 + nn < d ? X + (int64_t)rowSlot[row0 + q] * d + n0 + nn : nullptr;
  };
  auto out4 = [&](int mm, int nn, float4 v) {
    if (m0 + mm < k && n0 + nn < d) put4(dM + (int64_t)(m0 + mm) * d + n0 + nn, n0 + nn, d, v, true);
  };
  anyGemmTile<MATH, MINB, TILE, false, false>(count, loadA, loadB, out4);
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

// KERNEL<math, blocks per SM, tile> launched with args for the GemmChoice G (tile: gemmTileFor(), checked against the
// dimensions). The warpgroup and stationary tiles are built for one block per SM whatever G.blocks says: their 176 and
// 186 KB of shared memory leave room for no second block, and their 64 accumulators a thread would spill under two
// blocks' register cap. Launchers of projectKernel and projectBackXKernel size their grids with tileBlocks().
#define ADKG_GEMM_VARIANT(KERNEL, M, B, T, GRID, S, ...)                                                        \
  do {                                                                                                         \
    if (T == TILE_CHUNK) {                                                                                     \
      allowLargeSmem(reinterpret_cast<const void*>(KERNEL<M, B, TILE_CHUNK>), mma::chunk::SMEM_BYTES);          \
      ADKG_LAUNCH(GRID, BLOCK, mma::chunk::SMEM_BYTES, S, KERNEL<M, B, TILE_CHUNK>)(__VA_ARGS__);               \
    } else if (T == TILE_WGMMA) {                                                                              \
      allowLargeSmem(reinterpret_cast<const void*>(KERNEL<M, 1, TILE_WGMMA>), mma::wg::SMEM_BYTES);             \
      ADKG_LAUNCH(GRID, BLOCK, mma::wg::SMEM_BYTES, S, KERNEL<M, 1, TILE_WGMMA>)(__VA_ARGS__);                  \
    } else if (T == TILE_STATIONARY) {                                                                         \
      allowLargeSmem(reinterpret_cast<const void*>(KERNEL<M, 1, TILE_STATIONARY>), mma::stationary::SMEM_BYTES); \
      ADKG_LAUNCH(GRID, BLOCK, mma::stationary::SMEM_BYTES, S, KERNEL<M, 1, TILE_STATIONARY>)(__VA_ARGS__);     \
    } else {                                                                                                   \
      ADKG_LAUNCH(GRID, BLOCK, 0, S, KERNEL<M, B, TILE_ELEMENT>)(__VA_ARGS__);                                  \
    }                                                                                                          \
  } while (0)
#define ADKG_GEMM_CASE(KERNEL, M, G, T, GRID, S, ...)                                                           \
  case M:                                                                                                      \
    if ((G).blocks == 2) ADKG_GEMM_VARIANT(KERNEL, M, 2, T, GRID, S, __VA_ARGS__);                             \
    else ADKG_GEMM_VARIANT(KERNEL, M, 1, T, GRID, S, __VA_ARGS__);                                             \
    break;
#define ADKG_LAUNCH_GEMM(KERNEL, G, D, K, GRID, S, ...)                                                         \
  do {                                                                                                         \
    const int tile = gemmTileFor(G, D, K);                                                                     \
    switch (usableGemmMath((G).math)) {                                                                        \
      ADKG_GEMM_CASE(KERNEL, GEMM_TF32X3, G, tile, GRID, S, __VA_ARGS__)                                       \
      ADKG_GEMM_CASE(KERNEL, GEMM_TF32, G, tile, GRID, S, __VA_ARGS__)                                         \
      default:                                                                                                 \
        if ((G).blocks == 2)                                                                                   \
          ADKG_LAUNCH(GRID, BLOCK, 0, S, KERNEL<GEMM_SIMT, 2, TILE_ELEMENT>)(__VA_ARGS__);                      \
        else                                                                                                   \
          ADKG_LAUNCH(GRID, BLOCK, 0, S, KERNEL<GEMM_SIMT, 1, TILE_ELEMENT>)(__VA_ARGS__);                      \
    }                                                                                                          \
  } while (0)

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
  ADKG_LAUNCH_GEMM(projectKernel, g, d, k, grid, s, X, proj, rowSlot, tileRel, tileRow, tileCount, 0, d, k, P, T);
}

void launchProject(cudaStream_t s, const DevModel& m, const DevPlan& p, const DevBatch& b, GemmChoice g) {
  if (p.T == 0) return;
  const float* X = m.model == MODEL_TRANSRA ? m.composed : m.entity.w;
  dim3 grid(tileBlocks(g, m.d, m.k, p.T), (m.k + 127) / 128);
  ADKG_LAUNCH_GEMM(projectKernel, g, m.d, m.k, grid, s, X, m.projection.w, b.rowSlot, p.tileRel, p.tileRow, p.tileCount, 0, m.d,
                   m.k, b.P, p.T);
}

void launchProjectAll(cudaStream_t s, const float* X, const float* M, int d, int k, int64_t count, float* P, GemmChoice g) {
  if (count == 0) return;
  requireRowAlignment(X, d, "the projected entities' input");
  requireRowAlignment(M, d, "the projection matrix");
  requireRowAlignment(P, k, "the projected entities' output");
  const int tiles = (int)gridFor(count, TILE_ROWS);
  dim3 grid(tileBlocks(g, d, k, tiles), (k + 127) / 128);
  ADKG_LAUNCH_GEMM(projectKernel, g, d, k, grid, s, X, M, nullptr, nullptr, nullptr, nullptr, count, d, k, P, tiles);
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
  ADKG_LAUNCH_GEMM(projectBackXKernel, g, m.d, m.k, gx, s, b.dP, m.projection.w, b.rowSlot, p.tileRel, p.tileRow, p.tileCount, m.d,
                   m.k, m.gradX, p.T);
}

void launchRowOuterSums(cudaStream_t s, const float* L, const float* X, const int32_t* rowSlot, const int32_t* mtRel,
                        const int64_t* mtRow, const int32_t* mtCount, int TM, int d, int m, float* out, GemmChoice g) {
  if (TM == 0) return;
  dim3 gm(TM, (m + 127) / 128, (d + 127) / 128);
  ADKG_LAUNCH_GEMM(projectBackMKernel, g, d, m, gm, s, L, X, rowSlot, mtRel, mtRow, mtCount, d, m, out);
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

}  // namespace adkg_cuda
