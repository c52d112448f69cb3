// The TransR/TransRA projection GEMM kernels (projectKernel, projectBackXKernel, projectBackMKernel) and their tiles:
// SIMT, tensor-core element, 16-byte (chunk), warpgroup (wgmma) and stationary. Included by gemm_unit.cu, which
// instantiates and launches them (gemm_launch.h), and by the host checks in cuda/test. Internal to cuda/src.
#pragma once
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "device_common.cuh"
#include "kernels.h"
#include "mma_layout.h"

namespace adkg_cuda {
namespace {

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

}  // namespace
}  // namespace adkg_cuda
