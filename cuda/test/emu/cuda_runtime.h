// A stand-in for <cuda_runtime.h> that lets plain C++ compile and run CUDA code on the host: the kernel checks in
// cuda/test/*_emulation_check.cc, and the whole engine (cuda/build.js --emulation builds kernels, launchers, host code
// and addon as written with g++; runtime_api.h is the runtime's side). -I cuda/test/emu puts it before the real one.
// Each CUDA thread of a block is a fiber on one OS thread; the first runnable one in thread order (or from the last:
// reverseOrder) runs until its next barrier, so a run is deterministic (atomics land in the same order every time,
// and two kernels that add the same values in the same order give the same bits). __syncthreads, __syncwarp and the
// warp shuffles are barriers; a barrier some thread never reaches leaves no fiber runnable, which the launcher
// reports as a deadlock (fault 3). Shared memory is one buffer per block, dynamic shared memory starts as NaN (a read
// before a write shows in the results), and every 16-byte access through device_common.cuh's ld4/st4 is checked for
// alignment (fault 4). Only what the engine uses is here.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#define ADKG_HOST_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Static shared arrays: one per kernel and OS thread (fibers of a block share their thread; engines on two threads do
// not). Unlike dynamic shared memory they keep what the last block left (not NaN), so a read before a write of them
// is not caught.
#define __shared__ static thread_local
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

// What a GPU would fault on (exitCode 4: a misaligned 16-byte access) or hang at (3: a barrier some thread never
// reaches). The kernel checks exit with that code and the message; the emulated engine (ADKG_EMU_ENGINE, cuda/build.js
// --emulation) fails the launch instead, and the runtime reports it as a CUDA error (runtime_api.h), so that a test
// fails with the message rather than taking the test runner down.
struct Fault {
  int exitCode;
  std::string what;
};
[[noreturn]] inline void fault(int exitCode, const std::string& what) {
#ifdef ADKG_EMU_ENGINE
  throw Fault{exitCode, what};
#else
  std::fprintf(stderr, "%s\n", what.c_str());
  std::_Exit(exitCode);
#endif
}

// A cp.async copy: n floats from src (nullptr: zeros) to dst, made only when a wait covers its group.
struct AsyncCopy {
  float* dst;
  const float* src;
  int n;
};

// A fiber's saved context. On x86-64 a switch saves the callee-saved registers and the FP control words on the
// stack and swaps stack pointers (emuSwitch below): swapcontext would also make a signal-mask system call per switch,
// which made the engine's battery several times slower. Elsewhere, ucontext.
#if defined(__x86_64__)
extern "C" void emuSwitch(void** saveSp, void* loadSp);
// Weak, so that the translation units including this header share one copy.
asm(R"(
  .pushsection .text
  .weak emuSwitch
  .type emuSwitch, @function
emuSwitch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size emuSwitch, .-emuSwitch
  .popsection
)");
struct Context {
  void* sp = nullptr;
};
inline void switchContext(Context& from, Context& to) { emuSwitch(&from.sp, to.sp); }
// A context that, switched to, calls entry() on the given stack (entry must never return).
inline void makeContext(Context& c, char* stack, size_t size, void (*entry)()) {
  auto* top = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t(15)));
  uint32_t mxcsr;
  uint16_t fpucw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  top[-1] = 0;                                    // entry's return address: none (rsp ≡ 8 mod 16 at its first instruction)
  top[-2] = reinterpret_cast<uint64_t>(entry);    // where emuSwitch's ret goes
  for (int i = 3; i <= 8; i++) top[-i] = 0;       // rbp, rbx, r12–r15
  top[-9] = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
  c.sp = top - 9;
}
#else
struct Context {
  ucontext_t uc;
};
inline void switchContext(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
inline void makeContext(Context& c, char* stack, size_t size, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
#endif

// A wgmma.mma_async a thread issued: where its warp's lanes keep their A fragments, B's descriptor, and the
// accumulators it adds into when a wait covers its group. By default A and B are read then, as late as the hardware may
// read them, so A registers or a B buffer rewritten before the wait show in the results; with eagerWgmma they are read
// at the issue (into a, b), the earliest, so a B buffer some warp has not yet finished writing (a missing barrier
// before the multiply) shows instead.
struct WgmmaOp {
  float* acc;
  const uint32_t* lanesA[32];
  uint64_t desc;
  bool read = false;  // a and b hold the operands (eagerWgmma)
  float a[16][8];   // TF32 or FP32 values: exact in float
  float b[8][128];
};

struct Fiber {
  Context ctx;
  bool done = false;
  std::vector<WgmmaOp> wgOpen;                 // issued, not yet committed
  std::vector<std::vector<WgmmaOp>> wgGroups;  // committed, oldest first
  int waitingOn = -1;  // the barrier group it waits at (0: the block, 1 + w: warp w), -1: runnable
  std::vector<AsyncCopy> open;                 // issued, not yet committed
  std::vector<std::vector<AsyncCopy>> groups;  // committed, oldest first
};

struct Block {
  int threads = 0;
  dim3 index;
  std::vector<Fiber> fibers;
  std::vector<int> arrived;    // per barrier group
  std::vector<uint64_t> runnable;  // bit t: thread t is neither finished nor waiting at a barrier
  // Two sets (alternate calls), so that one barrier suffices: a lane writes a set again only two calls later, after
  // every lane has passed the barrier between, and so has read it.
  std::vector<double> slots;   // 2 × one per thread: what a lane offers in a shuffle
  std::vector<uint32_t> mma;   // 2 × six per thread: a lane's mma.sync A and B fragments
  std::vector<uint8_t> shflSet, mmaSet;  // per thread: the set its next shuffle / mma uses
  std::vector<const uint32_t*> wgA;      // 2 × one per thread: where a lane's wgmma A fragments are
  std::vector<float> shared;   // the block's dynamic shared memory
  Context scheduler;
  Fault fault;
  bool faulted = false;
  int running = -1;
  const std::function<void()>* kernel = nullptr;
};

// Blocks, and the threads of a block, run in index order, or (reverseOrder) from the last: both are orders a GPU may
// take, and a race one hides the other can show (the addon's emulationOrder sets it for the engine tests).
inline std::atomic<bool> reverseOrder{false};
inline thread_local Block* current = nullptr;
inline thread_local dim3 bDimValue;
inline thread_local dim3 gDimValue;

// Fiber stacks, kept for the next block (a launch of thousands of blocks allocates them once per OS thread).
inline char* fiberStack(int t) {
  static thread_local std::vector<std::unique_ptr<char[]>> pool;
  while ((int)pool.size() <= t) pool.emplace_back(new char[kStack]);
  return pool[t].get();
}

inline dim3 threadIndex() { return {(unsigned)current->running, 0, 0}; }
inline dim3 blockIndex() { return current->index; }

inline void fiberMain() {
  try {
    (*current->kernel)();
  } catch (const Fault& f) {
    current->fault = f;
    current->faulted = true;
  }
  current->fibers[current->running].done = true;
  switchContext(current->fibers[current->running].ctx, current->scheduler);
  std::abort();  // a finished fiber is never switched to
}

// The calling fiber arrives at barrier group g (members [first, first + count)); the last to arrive releases them.
// Then it hands over to the scheduler, which runs the next runnable fiber in thread order.
inline void barrier(int g, int first, int count) {
  Block& b = *current;
  const int t = b.running;
  b.fibers[t].waitingOn = g;
  b.runnable[t >> 6] &= ~(1ull << (t & 63));
  if (++b.arrived[g] == count) {
    b.arrived[g] = 0;
    for (int i = first; i < first + count; i++) {
      b.fibers[i].waitingOn = -1;
      b.runnable[i >> 6] |= 1ull << (i & 63);
    }
  }
  switchContext(b.fibers[t].ctx, b.scheduler);
}

// Runs kernel() as grid.x × grid.y × grid.z blocks of `threads` threads, one block after another (static __shared__
// arrays are then the block's own), with dynamicFloats floats of dynamic shared memory.
inline void launch(dim3 grid, int threads, size_t dynamicFloats, const std::function<void()>& kernel) {
  bDimValue = {(unsigned)threads, 1, 1};
  gDimValue = grid;
  const bool reverse = reverseOrder;
  const unsigned blocks = grid.x * grid.y * grid.z;
  for (unsigned bn = 0; bn < blocks; bn++) {
    const unsigned bi = reverse ? blocks - 1 - bn : bn;
    Block b;
    b.threads = threads;
    b.index = {bi % grid.x, bi / grid.x % grid.y, bi / grid.x / grid.y};
    b.kernel = &kernel;
    b.fibers.resize(threads);
    b.arrived.assign(1 + (threads + kWarp - 1) / kWarp + (threads + 127) / 128, 0);  // block, warps, warpgroups
    b.slots.assign(2 * threads, 0.0);
    b.mma.assign((size_t)threads * 12, 0u);
    b.shflSet.assign(threads, 0);
    b.mmaSet.assign(threads, 0);
    b.wgA.assign(2 * threads, nullptr);
    b.shared.assign(dynamicFloats + 4, std::nanf(""));
    current = &b;
    for (int t = 0; t < threads; t++) {
      Fiber& f = b.fibers[t];
      makeContext(f.ctx, fiberStack(t), kStack, fiberMain);
    }
    // The scheduler always resumes the first runnable thread (the last, in reverse order): a warp or warpgroup that a
    // barrier releases runs ahead of the others as far as it can, so a read of what another warp writes with no
    // block barrier between shows; within a warp, lane 0 (31) runs first to the next barrier.
    b.runnable.assign((threads + 63) / 64, 0);
    for (int t = 0; t < threads; t++) b.runnable[t >> 6] |= 1ull << (t & 63);
    int finished = 0;
    while (finished < threads) {
      int t = -1;
      if (!reverse) {
        for (size_t w = 0; w < b.runnable.size() && t < 0; w++)
          if (b.runnable[w]) t = (int)(64 * w) + __builtin_ctzll(b.runnable[w]);
      } else {
        for (size_t w = b.runnable.size(); w-- > 0 && t < 0;)
          if (b.runnable[w]) t = (int)(64 * w) + 63 - __builtin_clzll(b.runnable[w]);
      }
      if (t < 0) {
        current = nullptr;
        fault(3, "emulated block " + std::to_string(bi) + " deadlocked: " + std::to_string(finished) + " of " +
                     std::to_string(threads) + " threads finished, the rest wait at barriers");
      }
      Fiber& f = b.fibers[t];
      b.running = t;
      switchContext(b.scheduler, f.ctx);
      if (f.done) {
        finished++;
        b.runnable[t >> 6] &= ~(1ull << (t & 63));
      }
      if (b.faulted) {  // the block's other fibers are abandoned where they stand (their stacks are reused)
        current = nullptr;
        throw b.fault;
      }
    }
    current = nullptr;
  }
}

// A 16-byte access (device_common.cuh ld4/st4) at an address the GPU would fault on: say where (fault 4).
inline void requireAligned16(const void* p) {
  if (reinterpret_cast<uintptr_t>(p) % 16 != 0) {
    char what[160];
    std::snprintf(what, sizeof(what), "misaligned 16-byte access at %p (block %u.%u.%u, thread %d)", p, current->index.x,
                  current->index.y, current->index.z, current->running);
    fault(4, what);
  }
}

// cp.async as the PTX ISA orders it: a copy may land any time between its issue and the cp.async.wait_group N (or
// wait_all) that leaves at most N newer committed groups pending. By default it lands at that wait, the latest it may,
// so a read of shared memory before its wait sees what was there before (NaN at first, or an older K-step) and shows in
// the results; with eagerCopies it lands at its issue, the earliest, so a copy into a slot that another thread may
// still be reading (a missing barrier before a ring slot is refilled) shows instead.
inline std::atomic<bool> eagerCopies{false};
inline void copyAsync(float* dst, const float* src, int n) {
  if (n == 4) {
    requireAligned16(dst);
    if (src) requireAligned16(src);
  }
  if (eagerCopies) {
    for (int i = 0; i < n; i++) dst[i] = src ? src[i] : 0.f;
    return;
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
#define gridDim (emu::gDimValue)
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
  double* set = b.slots.data() + (size_t)b.shflSet[t] * b.threads;
  b.shflSet[t] ^= 1;
  set[t] = (double)v;
  __syncwarp();
  return (T)set[base + ((t % emu::kWarp) ^ laneMask)];
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
  uint32_t* set = bl.mma.data() + (size_t)bl.mmaSet[t] * bl.threads * 6;
  bl.mmaSet[t] ^= 1;
  uint32_t* mine = set + (size_t)t * 6;
  for (int r = 0; r < 4; r++) mine[r] = a[r];
  mine[4] = b[0];
  mine[5] = b[1];
  __syncwarp();
  // Element (row, kk) of A is register (row ≥ 8) + 2·(kk ≥ 4) of lane 4·(row mod 8) + kk mod 4; (kk, col) of B is
  // register 4 + (kk ≥ 4) of lane 4·col + kk mod 4.
  auto aAt = [&](int row, int kk) { return (double)__uint_as_float(set[(size_t)(base + 4 * (row & 7) + (kk & 3)) * 6 + (row >> 3) + 2 * (kk >> 2)]); };
  auto bAt = [&](int kk, int col) { return (double)__uint_as_float(set[(size_t)(base + 4 * col + (kk & 3)) * 6 + 4 + (kk >> 2)]); };
  const int g = lane / 4, q = lane % 4;
  const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * q, 2 * q + 1, 2 * q, 2 * q + 1};
  for (int r = 0; r < 4; r++) {
    double s = c[r];
    for (int kk = 0; kk < 8; kk++) s += aAt(rows[r], kk) * bAt(kk, cols[r]);
    c[r] = (float)s;
  }
}
}  // namespace emu

// A trap is a fault (a kernel error the engine reports), not the end of the process.
[[noreturn]] inline void __trap() { emu::fault(3, "__trap() in an emulated kernel"); }

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

#include "runtime_api.h"  // the runtime's host API and the launch syntax, for the engine's launchers and host code

namespace emu {
// A shared-memory address as the GPU's 32-bit shared window sees it: here, the offset into the block's dynamic shared
// memory (the only shared memory wgmma descriptors point into).
inline uint32_t sharedAddress(const void* p) {
  return (uint32_t)(static_cast<const char*>(p) - reinterpret_cast<const char*>(current->shared.data()));
}

// Reads op's A (16 × 8, from the lanes' registers as they are now: a0 (g, t), a1 (g + 8, t), a2 (g, t + 4),
// a3 (g + 8, t + 4)) and B (8 × 128, through the descriptor, from the block's shared memory as it is now).
inline void wgmmaReadOperands(WgmmaOp& op) {
  Block& bl = *current;
  const char* smem = reinterpret_cast<const char*>(bl.shared.data());
  const size_t start = (op.desc & 0x3FFF) << 4, lbo = ((op.desc >> 16) & 0x3FFF) << 4, sbo = ((op.desc >> 32) & 0x3FFF) << 4;
  for (int k = 0; k < 8; k++)
    for (int n = 0; n < 128; n++) {
      const size_t at = start + (k / 4) * lbo + (n / 8) * sbo + (n % 8) * 16 + (k % 4) * 4;
      if (at + 4 > bl.shared.size() * 4) fault(4, "wgmma descriptor reads past the block's shared memory");
      float v;
      std::memcpy(&v, smem + at, 4);
      op.b[k][n] = __uint_as_float(__float_as_uint(v) & 0xffffe000u);  // TF32: the low 13 bits are not read
    }
  for (int l = 0; l < kWarp; l++) {
    const uint32_t* f = op.lanesA[l];
    const int lg = l / 4, lq = l % 4;
    op.a[lg][lq] = __uint_as_float(f[0]);
    op.a[lg + 8][lq] = __uint_as_float(f[1]);
    op.a[lg][lq + 4] = __uint_as_float(f[2]);
    op.a[lg + 8][lq + 4] = __uint_as_float(f[3]);
  }
  op.read = true;
}

// Reads at the issue (eagerWgmma) or at the wait (default): see WgmmaOp.
inline std::atomic<bool> eagerWgmma{false};

// wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 with A in registers, as the PTX ISA lays it out: the warpgroup's
// four warps take rows 16w..16w + 15 of the 64, A fragments as mma.m16n8k8's, d[4j + r] as its C fragment for columns
// 8j..8j + 7; B (8 × 128, K-major, no swizzle) through the descriptor: start address, leading byte offset (between
// core matrices along k) and stride byte offset (along n), each in 16 bytes, in bits 0–13, 16–29 and 32–45; a
// core matrix is 8 columns n × 4 k, 16 bytes a column. Issue is a warpgroup barrier (a warp that skips it deadlocks).
// The accumulators change at the wait that covers the instruction.
inline void wgmmaIssue(float* acc, const uint32_t (&a)[4], uint64_t desc) {
  Block& bl = *current;
  const int t = bl.running, base = t - t % kWarp, wg = t / 128;
  if ((desc >> 62) != 0) fault(4, "wgmma descriptor with a swizzle mode (the emulation knows the no-swizzle layout only)");
  const uint32_t** set = bl.wgA.data() + (size_t)bl.mmaSet[t] * bl.threads;
  bl.mmaSet[t] ^= 1;
  set[t] = a;
  barrier(1 + (bl.threads + kWarp - 1) / kWarp + wg, wg * 128, 128);
  WgmmaOp op;
  op.acc = acc;
  op.desc = desc;
  for (int l = 0; l < kWarp; l++) op.lanesA[l] = set[base + l];
  if (eagerWgmma) wgmmaReadOperands(op);
  bl.fibers[t].wgOpen.push_back(op);
}
inline void wgmmaCommit() {
  Fiber& f = current->fibers[current->running];
  f.wgGroups.push_back(std::move(f.wgOpen));
  f.wgOpen.clear();
}
inline void wgmmaWait(int pending) {
  Block& bl = *current;
  Fiber& f = bl.fibers[bl.running];
  const int lane = bl.running % kWarp, g = lane / 4, q = lane % 4;
  while ((int)f.wgGroups.size() > pending) {
    for (WgmmaOp& op : f.wgGroups.front()) {
      if (!op.read) wgmmaReadOperands(op);
      for (int j = 0; j < 16; j++)
        for (int r = 0; r < 4; r++) {
          const int row = g + (r >= 2 ? 8 : 0), col = 8 * j + 2 * q + (r & 1);
          double s = op.acc[4 * j + r];
          for (int k = 0; k < 8; k++) s += (double)op.a[row][k] * op.b[k][col];
          op.acc[4 * j + r] = (float)s;
        }
    }
    f.wgGroups.erase(f.wgGroups.begin());
  }
}
}  // namespace emu
