// A stand-in for <cuda_runtime.h> that lets plain C++ compile and run CUDA kernel code on the host, for the checks in
// cuda/test/*_emulation_check.cc (-I cuda/test/emu puts it before the real one). Each CUDA thread of a block is a
// fiber (ucontext) on one OS thread, scheduled round-robin in thread order from one barrier to the next, so a run is
// deterministic (atomics land in the same order every time, and two kernels that add the same values in the same
// order give the same bits). __syncthreads, __syncwarp and the warp shuffles are barriers; a barrier some thread never
// reaches leaves no fiber runnable, which the launcher reports as a deadlock (exit 3). Shared memory is one buffer per
// block, dynamic shared memory starts as NaN (a read before a write shows in the results), and every 16-byte access
// through device_common.cuh's ld4/st4 is checked for alignment (exit 4). Only what the checked kernels use is here.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#define ADKG_HOST_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
// CUDA's integer min/max, which device code calls unqualified.
using std::max;
using std::min;
using cudaStream_t = void*;
using cudaError_t = int;

namespace emu {

constexpr int kWarp = 32;
constexpr size_t kStack = 256 * 1024;

// A cp.async copy: n floats from src (nullptr: zeros) to dst, made only when a wait covers its group.
struct AsyncCopy {
  float* dst;
  const float* src;
  int n;
};

struct Fiber {
  ucontext_t ctx;
  std::vector<char> stack;
  bool done = false;
  int waitingOn = -1;  // the barrier group it waits at (0: the block, 1 + w: warp w), -1: runnable
  std::vector<AsyncCopy> open;                 // issued, not yet committed
  std::vector<std::vector<AsyncCopy>> groups;  // committed, oldest first
};

struct Block {
  int threads = 0;
  dim3 index;
  std::vector<Fiber> fibers;
  std::vector<int> arrived;    // per barrier group
  std::vector<double> slots;   // one per thread: what a lane offers in a shuffle
  std::vector<uint32_t> mma;   // six per thread: a lane's mma.sync A and B fragments
  std::vector<float> shared;   // the block's dynamic shared memory
  ucontext_t scheduler;
  int running = -1;
  const std::function<void()>* kernel = nullptr;
};

inline Block* current = nullptr;
inline dim3 bDimValue;

inline dim3 threadIndex() { return {(unsigned)current->running, 0, 0}; }
inline dim3 blockIndex() { return current->index; }

inline void fiberMain() {
  (*current->kernel)();
  current->fibers[current->running].done = true;
  swapcontext(&current->fibers[current->running].ctx, &current->scheduler);
}

// The calling fiber arrives at barrier group g (members [first, first + count)); the last to arrive releases them.
// Then it hands over to the scheduler, which runs the next runnable fiber in thread order.
inline void barrier(int g, int first, int count) {
  Block& b = *current;
  const int t = b.running;
  b.fibers[t].waitingOn = g;
  if (++b.arrived[g] == count) {
    b.arrived[g] = 0;
    for (int i = first; i < first + count; i++) b.fibers[i].waitingOn = -1;
  }
  swapcontext(&b.fibers[t].ctx, &b.scheduler);
}

// Runs kernel() as grid.x × grid.y × grid.z blocks of `threads` threads, one block after another (static __shared__
// arrays are then the block's own), with dynamicFloats floats of dynamic shared memory.
inline void launch(dim3 grid, int threads, size_t dynamicFloats, const std::function<void()>& kernel) {
  bDimValue = {(unsigned)threads, 1, 1};
  for (unsigned bi = 0; bi < grid.x * grid.y * grid.z; bi++) {
    Block b;
    b.threads = threads;
    b.index = {bi % grid.x, bi / grid.x % grid.y, bi / grid.x / grid.y};
    b.kernel = &kernel;
    b.fibers.resize(threads);
    b.arrived.assign(1 + (threads + kWarp - 1) / kWarp, 0);
    b.slots.assign(threads, 0.0);
    b.mma.assign((size_t)threads * 6, 0u);
    b.shared.assign(dynamicFloats + 4, std::nanf(""));
    current = &b;
    for (int t = 0; t < threads; t++) {
      Fiber& f = b.fibers[t];
      f.stack.resize(kStack);
      getcontext(&f.ctx);
      f.ctx.uc_stack.ss_sp = f.stack.data();
      f.ctx.uc_stack.ss_size = f.stack.size();
      f.ctx.uc_link = &b.scheduler;
      makecontext(&f.ctx, fiberMain, 0);
    }
    int finished = 0;
    while (finished < threads) {
      bool ran = false;
      finished = 0;
      for (int t = 0; t < threads; t++) {
        Fiber& f = b.fibers[t];
        if (f.done) {
          finished++;
          continue;
        }
        if (f.waitingOn >= 0) continue;
        b.running = t;
        swapcontext(&b.scheduler, &f.ctx);
        ran = true;
        if (f.done) finished++;
      }
      if (!ran && finished < threads) {
        std::fprintf(stderr, "emulated block %u deadlocked: %d of %d threads finished, the rest wait at barriers\n", bi,
                     finished, threads);
        std::_Exit(3);
      }
    }
    current = nullptr;
  }
}

// A 16-byte access (device_common.cuh ld4/st4) at an address the GPU would fault on: say where, and exit 4.
inline void requireAligned16(const void* p) {
  if (reinterpret_cast<uintptr_t>(p) % 16 != 0) {
    std::fprintf(stderr, "misaligned 16-byte access at %p (block %u.%u.%u, thread %d)\n", p, current->index.x, current->index.y,
                 current->index.z, current->running);
    std::_Exit(4);
  }
}

// cp.async as the PTX ISA orders it: a copy lands only when cp.async.wait_group N (or wait_all) leaves at most N newer
// committed groups pending, so a read of shared memory before its wait sees what was there before (NaN at first, or
// an older K-step) and shows in the results.
inline void copyAsync(float* dst, const float* src, int n) {
  if (n == 4) {
    requireAligned16(dst);
    if (src) requireAligned16(src);
  }
  current->fibers[current->running].open.push_back({dst, src, n});
}
inline void copyAsyncCommit() {
  Fiber& f = current->fibers[current->running];
  f.groups.push_back(std::move(f.open));
  f.open.clear();
}
inline void copyAsyncWait(int pending) {
  Fiber& f = current->fibers[current->running];
  while ((int)f.groups.size() > pending) {
    for (const AsyncCopy& c : f.groups.front())
      for (int i = 0; i < c.n; i++) c.dst[i] = c.src ? c.src[i] : 0.f;
    f.groups.erase(f.groups.begin());
  }
}

// For the checks: the largest |ref − got| over the largest |ref|; infinite where got was never written (NaN).
inline double maxRel(const std::vector<double>& ref, const std::vector<float>& got) {
  double scale = 1e-12, diff = 0;
  for (size_t i = 0; i < ref.size(); i++) {
    scale = std::max(scale, std::fabs(ref[i]));
    diff = std::isnan(got[i]) ? INFINITY : std::max(diff, std::fabs(ref[i] - (double)got[i]));
    if (std::isinf(diff)) break;
  }
  return diff / scale;
}

}  // namespace emu

#define threadIdx (emu::threadIndex())
#define blockIdx (emu::blockIndex())
#define blockDim (emu::bDimValue)
#define ADKG_EMU_ALIGNED16(p) emu::requireAligned16(p)

inline void __syncthreads() { emu::barrier(0, 0, emu::current->threads); }
inline void __syncwarp(unsigned = 0xffffffffu) {
  const int w = emu::current->running / emu::kWarp;
  emu::barrier(1 + w, w * emu::kWarp, emu::kWarp);
}

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int laneMask) {
  emu::Block& b = *emu::current;
  const int t = b.running, base = t - t % emu::kWarp;
  b.slots[t] = (double)v;
  __syncwarp();
  const T other = (T)b.slots[base + ((t % emu::kWarp) ^ laneMask)];
  __syncwarp();
  return other;
}

inline unsigned __float_as_uint(float x) {
  unsigned u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
namespace emu {
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 for the calling thread's warp, with the fragments as the PTX ISA
// lays them out (lane = 4g + t): A a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4); B b0 (t, g), b1 (t + 4, g);
// C c0 (g, 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1). The products of the TF32 values are summed with c in
// double and rounded once (the hardware's order differs; the checks allow for rounding).
inline void mmaSync(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  Block& bl = *current;
  const int t = bl.running, base = t - t % kWarp, lane = t % kWarp;
  uint32_t* mine = &bl.mma[(size_t)t * 6];
  for (int r = 0; r < 4; r++) mine[r] = a[r];
  mine[4] = b[0];
  mine[5] = b[1];
  __syncwarp();
  double A[16][8], B[8][8];
  for (int l = 0; l < kWarp; l++) {
    const uint32_t* f = &bl.mma[(size_t)(base + l) * 6];
    const int g = l / 4, q = l % 4;
    A[g][q] = __uint_as_float(f[0]);
    A[g + 8][q] = __uint_as_float(f[1]);
    A[g][q + 4] = __uint_as_float(f[2]);
    A[g + 8][q + 4] = __uint_as_float(f[3]);
    B[q][g] = __uint_as_float(f[4]);
    B[q + 4][g] = __uint_as_float(f[5]);
  }
  __syncwarp();
  const int g = lane / 4, q = lane % 4;
  const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * q, 2 * q + 1, 2 * q, 2 * q + 1};
  for (int r = 0; r < 4; r++) {
    double s = c[r];
    for (int kk = 0; kk < 8; kk++) s += A[rows[r]][kk] * B[kk][cols[r]];
    c[r] = (float)s;
  }
}
}  // namespace emu

[[noreturn]] inline void __trap() { std::abort(); }

// One fiber runs at a time: plain adds are atomic here.
inline float atomicAdd(float* p, float v) {
  const float old = *p;
  *p = old + v;
  return old;
}
inline double atomicAdd(double* p, double v) {
  const double old = *p;
  *p = old + v;
  return old;
}

// The kernels' dynamic shared memory (device_common.cuh ADKG_DYNAMIC_SHARED): the running block's buffer.
namespace adkg_cuda {
namespace {
[[maybe_unused]] float* dynamicShared() { return emu::current->shared.data(); }
}  // namespace
}  // namespace adkg_cuda
